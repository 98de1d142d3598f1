"""Turns ground detections and finished tracks into the events a city acts on.

Events (DESIGN.md catalogue), each with a GeoJSON `geometry`, `confidence`, the site or track
id, `mission_id`, `drone_id` and `evidence` (content-addressed image names):
- `skypatrol.detection.road_works.v1` per site seen on this patrol (new or updated);
- `skypatrol.alert.road_works_unpermitted.v1` for a site no valid permit covers;
- `skypatrol.detection.muck_truck.v1` per finished muck-truck track (timed polyline);
- `skypatrol.alert.muck_truck_off_route.v1` / `skypatrol.alert.muck_truck_off_hours.v1`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
from numpy.typing import NDArray

from core.events import format_time
from geo import LocalFrame, geometry_enu2geodetic
from inference.aggregate.evidence import EvidenceRef, EvidenceStore, crop_box
from inference.aggregate.permits import PermitRegister
from inference.aggregate.routes import RouteRules
from inference.aggregate.sites import (
    SiteConfig,
    StaticObject,
    StaticObjectMap,
    cluster_sites,
    match_site,
    site_record,
)
from inference.aggregate.store import InMemorySiteStore, SiteStore
from inference.tracker import Track, TrackSummary, summarise
from inference.types import GeoDetection

ROAD_WORKS = "skypatrol.detection.road_works.v1"
MUCK_TRUCK = "skypatrol.detection.muck_truck.v1"
UNPERMITTED = "skypatrol.alert.road_works_unpermitted.v1"
OFF_ROUTE = "skypatrol.alert.muck_truck_off_route.v1"
OFF_HOURS = "skypatrol.alert.muck_truck_off_hours.v1"


@dataclass(frozen=True, slots=True)
class Publication:
    type: str
    data: dict[str, Any]
    subject: str | None = None


@dataclass(frozen=True, slots=True)
class AggregatorConfig:
    sites: SiteConfig = field(default_factory=SiteConfig)
    truck_labels: frozenset[str] = frozenset({"muck_truck"})
    min_track_points: int = 5
    min_track_duration_s: float = 1.0
    # A truck track that runs with one already reported (within `same_vehicle_m` at the same times, or
    # where that one's motion carries it within `same_vehicle_gap_s`) is the same truck seen again.
    same_vehicle_m: float = 8.0
    same_vehicle_gap_s: float = 6.0


def iso(t: float) -> str:
    return format_time(datetime.fromtimestamp(t, UTC))


class Aggregator:
    def __init__(self, frame: LocalFrame, *, mission_id: str | None = None, drone_id: str | None = None,
                 site_store: SiteStore | None = None, evidence: EvidenceStore | None = None,
                 permits: PermitRegister | None = None, routes: RouteRules | None = None,
                 config: AggregatorConfig | None = None) -> None:
        self.frame = frame
        self.mission_id = mission_id
        self.drone_id = drone_id
        self.site_store = site_store or InMemorySiteStore()
        self.evidence = evidence
        self.permits = permits
        self.routes = routes
        self.config = config or AggregatorConfig()
        self.static = StaticObjectMap()
        # Best view per static object / track: (crop copy, frame reference).
        self._static_views: dict[int, tuple[NDArray[np.uint8], NDArray[np.uint8]]] = {}
        self._track_views: dict[int, tuple[NDArray[np.uint8], NDArray[np.uint8]]] = {}
        self.summaries: list[TrackSummary] = []
        self._reported: list[tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]] = []
        self.duplicate_tracks = 0

    @property
    def subject(self) -> str | None:
        return self.drone_id or self.mission_id

    def _common(self) -> dict[str, Any]:
        return {"mission_id": self.mission_id, "drone_id": self.drone_id}

    # -- observation -----------------------------------------------------------------------
    def observe_static(self, detections: list[GeoDetection], image: NDArray[np.uint8] | None) -> None:
        for gd in detections:
            obj = self.static.add(gd)
            if obj.best is gd and image is not None and self.evidence is not None:
                self._static_views[id(obj)] = (crop_box(image, gd.detection.box), image)

    def observe_tracks(self, tracks: list[Track], frame_index: int, image: NDArray[np.uint8] | None) -> None:
        if image is None or self.evidence is None:
            return
        for tr in tracks:
            if tr.best is not None and tr.best.frame_index == frame_index:
                self._track_views[tr.id] = (crop_box(image, tr.best.detection.box), image)

    def forget_track(self, track_id: int) -> None:
        """A track merged into another (the tracker's `merged`): its views are not kept for evidence."""
        self._track_views.pop(track_id, None)

    def _store_views(self, view: tuple[NDArray[np.uint8], NDArray[np.uint8]] | None) -> list[dict[str, Any]]:
        if view is None or self.evidence is None:
            return []
        crop, full = view
        refs: list[EvidenceRef] = [self.evidence.put_image(crop, "crop"), self.evidence.put_image(full, "frame")]
        return [r.to_json() for r in refs]

    # -- tracks ----------------------------------------------------------------------------
    def track_ended(self, track: Track) -> list[Publication]:
        view = self._track_views.pop(track.id, None)
        if track.label not in self.config.truck_labels or len(track.points) < self.config.min_track_points:
            return []
        s = summarise(track)
        if s.times[-1] - s.times[0] < self.config.min_track_duration_s:
            return []
        pts = sorted(track.points, key=lambda p: p.t)
        path = (np.array([p.t for p in pts]), np.array([p.east_m for p in pts]), np.array([p.north_m for p in pts]))
        if any(self._same_vehicle(path, seen) for seen in self._reported):
            self.duplicate_tracks += 1
            return []
        self._reported.append(path)
        self.summaries.append(s)
        track_id = f"{self.mission_id or 'run'}-track-{track.id}"
        line = {"type": "LineString", "coordinates": [[round(lo, 7), round(la, 7)] for la, lo in zip(s.lats, s.lons,
                                                                                                   strict=True)]}
        if len(line["coordinates"]) == 1:
            line = {"type": "Point", "coordinates": line["coordinates"][0]}
        evidence = self._store_views(view)
        data: dict[str, Any] = {
            "track_id": track_id,
            "label": s.label,
            "geometry": line,
            "times": [iso(t) for t in s.times],
            "first_seen": iso(s.times[0]),
            "last_seen": iso(s.times[-1]),
            "entry": {"lat": round(s.lats[0], 7), "lon": round(s.lons[0], 7), "time": iso(s.times[0])},
            "exit": {"lat": round(s.lats[-1], 7), "lon": round(s.lons[-1], 7), "time": iso(s.times[-1])},
            "speed_mps": round(s.speed_mps, 2),
            "max_speed_mps": round(s.max_speed_mps, 2),
            "heading_deg": round(s.heading_deg, 1),
            "length_m": round(s.length_m, 1),
            "confidence": round(s.score, 3),
            "uncertainty_m": round(s.sigma_m, 2),
            "evidence": evidence,
            **self._common(),
        }
        pubs = [Publication(MUCK_TRUCK, data, self.subject)]
        if self.routes is not None:
            pts = sorted(track.points, key=lambda p: p.t)
            verdict = self.routes.check([p.t for p in pts], [p.east_m for p in pts], [p.north_m for p in pts])
            if verdict is not None:
                data["route_id"] = verdict.route_id
                base = {"track_id": track_id, "geometry": line, "confidence": data["confidence"],
                        "first_seen": data["first_seen"], "last_seen": data["last_seen"], "evidence": evidence,
                        "route_id": verdict.route_id, **self._common()}
                if verdict.off_route:
                    pubs.append(Publication(OFF_ROUTE, {**base, "off_route_m": round(verdict.off_route_m, 1),
                                                        "off_route_fraction": round(verdict.off_route_fraction, 3)},
                                            self.subject))
                if verdict.off_hours:
                    pubs.append(Publication(OFF_HOURS, {**base, "local_time": verdict.local_time}, self.subject))
        return pubs

    def _same_vehicle(self, a: tuple[NDArray[np.float64], ...], b: tuple[NDArray[np.float64], ...]) -> bool:
        """Whether two timed ground paths are one vehicle: close where they overlap in time, else the
        earlier one's mean velocity over its last seconds carries it to the later one's start."""
        (ta, ea, na), (tb, eb, nb) = a, b
        lo, hi = max(ta[0], tb[0]), min(ta[-1], tb[-1])
        cfg = self.config
        if hi - lo >= 0.5:
            ts = np.linspace(lo, hi, 8)
            d = np.hypot(np.interp(ts, ta, ea) - np.interp(ts, tb, eb), np.interp(ts, ta, na) - np.interp(ts, tb, nb))
            return float(np.median(d)) <= cfg.same_vehicle_m
        (t1, e1, n1), (t2, e2, n2) = (b, a) if tb[0] <= ta[0] else (a, b)
        gap = t2[0] - t1[-1]
        if not -0.5 < gap <= cfg.same_vehicle_gap_s:
            return False
        k = t1 >= t1[-1] - 2.0
        dt = float(t1[k][-1] - t1[k][0])
        ve = float(e1[k][-1] - e1[k][0]) / dt if dt > 0 else 0.0
        vn = float(n1[k][-1] - n1[k][0]) / dt if dt > 0 else 0.0
        pe, pn = e1[-1] + ve * max(gap, 0.0), n1[-1] + vn * max(gap, 0.0)
        return float(np.hypot(pe - e2[0], pn - n2[0])) <= cfg.same_vehicle_m

    # -- sites -----------------------------------------------------------------------------
    def finish(self) -> list[Publication]:
        """Form this patrol's sites, update the store, and return the site events and alerts."""
        stored = self.site_store.load()
        by_id = {s["site_id"]: s for s in stored}
        pubs: list[Publication] = []
        for obs in cluster_sites(self.static.objects, self.config.sites):
            previous = match_site(obs, list(by_id.values()), self.frame, self.config.sites)
            rec = site_record(obs, self.frame, previous, mission_id=self.mission_id)
            by_id[rec["site_id"]] = rec
            best_obj = max(obs.objects, key=lambda o: (o.best.score, -o.best.range_m))
            evidence = self._store_views(self._static_views.get(id(best_obj)))
            centroid = geometry_enu2geodetic(obs.polygon_enu.centroid, self.frame)
            permit = self.permits.covering_permit(obs.polygon_enu, obs.last_t) if self.permits else None
            data: dict[str, Any] = {
                "site_id": rec["site_id"],
                "geometry": rec["geometry"],
                "centroid": {"lat": round(centroid.y, 7), "lon": round(centroid.x, 7)},
                "confidence": round(obs.confidence, 3),
                "first_seen": iso(rec["first_seen"]),
                "last_seen": iso(rec["last_seen"]),
                "patrols": rec["patrols"],
                "new": previous is None,
                "objects": rec["objects"],
                "area_m2": round(obs.polygon_enu.area, 1),
                "uncertainty_m": round(float(np.median([o.best.sigma_m for o in obs.objects])), 2),
                "permit_id": permit,
                "evidence": evidence,
                **self._common(),
            }
            pubs.append(Publication(ROAD_WORKS, data, self.subject))
            if self.permits is not None and permit is None:
                pubs.append(Publication(UNPERMITTED, {
                    "site_id": rec["site_id"], "geometry": rec["geometry"], "confidence": data["confidence"],
                    "first_seen": data["first_seen"], "last_seen": data["last_seen"], "objects": rec["objects"],
                    "evidence": evidence, **self._common()}, self.subject))
        self.site_store.save(list(by_id.values()))
        return pubs

    def static_positions(self) -> list[StaticObject]:
        return [o for o in self.static.objects if o.sightings >= self.config.sites.min_sightings]

