"""Aggregation: sites persist across patrols, permits, approved routes and hours, evidence."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from core.errors import BadInput
from geo import LocalFrame
from inference.aggregate.aggregator import (
    MUCK_TRUCK,
    OFF_HOURS,
    OFF_ROUTE,
    ROAD_WORKS,
    UNPERMITTED,
    Aggregator,
)
from inference.aggregate.evidence import EvidenceStore
from inference.aggregate.permits import PermitRegister
from inference.aggregate.routes import RouteRules
from inference.aggregate.store import JsonFileSiteStore
from inference.tracker import GroundTracker
from inference.types import Detection, GeoDetection

FRAME = LocalFrame(30.7416, 121.3415)
T = datetime(2025, 3, 3, 2, 0, tzinfo=UTC).timestamp()  # 10:00 in Shanghai


def gd(label: str, e: float, n: float, t: float, score: float = 0.9, index: int = 0,
       size: tuple[float, float] = (0.5, 0.5)) -> GeoDetection:
    lat, lon = FRAME.en2geodetic(np.array([e]), np.array([n]))
    return GeoDetection(Detection((10, 10, 20, 20), label, score), label, score, t, index, float(lat[0]),
                        float(lon[0]), e, n, 1.0, *size, 50.0)


def lonlat_ring(e0: float, n0: float, e1: float, n1: float) -> list[list[float]]:
    e = np.array([e0, e1, e1, e0, e0])
    n = np.array([n0, n0, n1, n1, n0])
    lat, lon = FRAME.en2geodetic(e, n)
    return [[float(x), float(y)] for x, y in zip(lon, lat, strict=True)]


def patrol(agg: Aggregator, t0: float, shift: float = 0.0) -> list:
    image = np.full((60, 80, 3), 90, np.uint8)
    for k in range(3):  # three sightings of each object
        agg.observe_static([gd("traffic_cone", -60 + 3 * i + shift, 1.6, t0 + k, index=k) for i in range(8)]
                           + [gd("barrier", -64 + shift, 4.0, t0 + k, index=k)], image)
    return agg.finish()


def test_site_updated_not_duplicated_on_the_next_patrol(tmp_path: Path) -> None:
    store = JsonFileSiteStore(tmp_path / "sites.json")
    evidence = EvidenceStore(tmp_path / "evidence")
    first = patrol(Aggregator(FRAME, mission_id="m1", drone_id="d1", site_store=store, evidence=evidence), T)
    assert [p.type for p in first] == [ROAD_WORKS]
    d1 = first[0].data
    assert d1["new"] and d1["patrols"] == 1 and d1["objects"] == {"traffic_cone": 8, "barrier": 1}
    assert d1["geometry"]["type"] == "Polygon" and d1["mission_id"] == "m1" and first[0].subject == "d1"
    # Evidence: the crop and the full frame, named by the sha256 of their bytes.
    assert {e["kind"] for e in d1["evidence"]} == {"crop", "frame"}
    for e in d1["evidence"]:
        data = (tmp_path / "evidence" / e["name"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == e["sha256"] == e["name"].split(".")[0]
    # Next day the works moved 2 m: the same site, updated.
    second = patrol(Aggregator(FRAME, mission_id="m2", site_store=store, evidence=evidence), T + 86400, shift=2.0)
    d2 = second[0].data
    assert d2["site_id"] == d1["site_id"] and not d2["new"] and d2["patrols"] == 2
    assert d2["first_seen"] == d1["first_seen"] and d2["last_seen"] > d1["last_seen"]
    assert len(store.load()) == 1
    # Far away: a new site.
    third = patrol(Aggregator(FRAME, site_store=store), T + 2 * 86400, shift=500.0)
    assert third[0].data["new"] and len(store.load()) == 2


def test_unpermitted_alert_only_without_a_valid_permit(tmp_path: Path) -> None:
    permit = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"permit_id": "P-7", "valid_until": "2025-12-31T00:00:00Z"},
         "geometry": {"type": "Polygon", "coordinates": [lonlat_ring(-80, -10, -20, 20)]}}]}
    covered = patrol(Aggregator(FRAME, permits=PermitRegister.from_geojson(permit, FRAME)), T)
    assert [p.type for p in covered] == [ROAD_WORKS] and covered[0].data["permit_id"] == "P-7"
    expired = patrol(Aggregator(FRAME, permits=PermitRegister.from_geojson(permit, FRAME)), T + 400 * 86400)
    assert [p.type for p in expired] == [ROAD_WORKS, UNPERMITTED]
    assert expired[1].data["site_id"] == expired[0].data["site_id"]
    with pytest.raises(BadInput, match="FeatureCollection"):
        PermitRegister.from_geojson({"type": "Feature"}, FRAME)


def truck_track(n_north: float, t0: float):  # type: ignore[no-untyped-def]
    tracker = GroundTracker()
    for k in range(60):
        tracker.update(t0 + k * 0.5, [gd("muck_truck", -100 + 4 * k, n_north, t0 + k * 0.5, index=k,
                                         size=(10.5, 2.5))])
    return tracker.flush()[0]


def routes_geojson(hours: list[str]) -> dict:
    lat, lon = FRAME.en2geodetic(np.array([-200.0, 200.0]), np.array([-3.5, -3.5]))
    return {"type": "FeatureCollection", "timezone": "Asia/Shanghai", "hours": hours, "features": [
        {"type": "Feature", "properties": {"id": "R1", "buffer_m": 15},
         "geometry": {"type": "LineString", "coordinates": [[float(lon[0]), float(lat[0])],
                                                            [float(lon[1]), float(lat[1])]]}}]}


def test_muck_truck_on_route_in_hours_off_route_and_off_hours() -> None:
    rules = RouteRules.from_geojson(routes_geojson(["09:00-17:00"]), FRAME)
    agg = Aggregator(FRAME, mission_id="m1", routes=rules)
    ok = agg.track_ended(truck_track(-3.5, T))
    assert [p.type for p in ok] == [MUCK_TRUCK]
    data = ok[0].data
    assert data["route_id"] == "R1" and data["speed_mps"] == pytest.approx(8.0, rel=0.05)
    assert data["heading_deg"] == pytest.approx(90.0, abs=1.0) and data["geometry"]["type"] == "LineString"
    assert data["entry"]["time"] == "2025-03-03T02:00:00Z" and len(data["times"]) == 60
    off = agg.track_ended(truck_track(80.0, T))
    assert [p.type for p in off] == [MUCK_TRUCK, OFF_ROUTE]
    assert off[1].data["off_route_m"] > 200
    night_only = RouteRules.from_geojson(routes_geojson(["22:00-06:00"]), FRAME)
    late = Aggregator(FRAME, routes=night_only).track_ended(truck_track(-3.5, T))
    assert [p.type for p in late] == [MUCK_TRUCK, OFF_HOURS]
    assert late[1].data["local_time"].startswith("2025-03-03T10:00")
    with pytest.raises(BadInput, match="HH:MM"):
        RouteRules.from_geojson(routes_geojson(["9 to 5"]), FRAME)


def test_one_truck_seen_as_two_tracks_is_reported_once() -> None:
    agg = Aggregator(FRAME, mission_id="m1")
    first = agg.track_ended(truck_track(-3.5, T))
    # The same truck's shadow or a part tracked beside it, 5 m off, over the same time: no second report.
    assert [p.type for p in first] == [MUCK_TRUCK]
    assert agg.track_ended(truck_track(1.5, T)) == [] and agg.duplicate_tracks == 1
    # Picked up again after a gap where its motion carries it: the same truck.
    again = GroundTracker()
    for k in range(20):
        t = T + 32 + k * 0.5  # the first track ended at T + 29.5 at east 136 m, driving 8 m/s east
        again.update(t, [gd("muck_truck", 136 + 8 * (t - T - 29.5), -3.5, t, index=k, size=(10.5, 2.5))])
    assert agg.track_ended(again.flush()[0]) == [] and agg.duplicate_tracks == 2
    # Another truck 25 m behind, or in the lane opposite at 10 m, is reported.
    assert [p.type for p in agg.track_ended(truck_track(-3.5, T + 25 / 8))] == [MUCK_TRUCK]
    assert [p.type for p in agg.track_ended(truck_track(-13.5, T))] == [MUCK_TRUCK]
