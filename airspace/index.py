"""Zones prepared for checking: every volume projected once into a local metric frame and
indexed in an STRtree, with its vertical band as flat numpy arrays."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import cached_property

import numpy as np
import shapely
from numpy.typing import NDArray

from airspace.clip import PolygonEdges
from airspace.model import CircleShape, PolygonShape, VerticalReference, Volume, Zone
from geo import LocalFrame

CIRCLE_SEGMENTS = 64


class ZoneIndex:
    """Volumes of many zones in one local frame (by default centred on the zones' extent).

    A tangent-plane frame keeps inside/outside exact for points and bends straight legs by
    centimetres at city scale; zone sets spanning countries are still checked correctly, only
    less precisely far from the origin.
    """

    def __init__(self, zones: Sequence[Zone], frame: LocalFrame | None = None) -> None:
        self.zones: tuple[Zone, ...] = tuple(zones)
        self.frame = frame or _centre_frame(self.zones)
        volumes = [(zi, v) for zi, z in enumerate(self.zones) for v in z.volumes]
        self.volumes: tuple[Volume, ...] = tuple(v for _, v in volumes)
        self.volume_zone: NDArray[np.intp] = np.array([zi for zi, _ in volumes], dtype=np.intp)
        self.lower_m = np.array([-np.inf if v.lower_m is None else v.lower_m for v in self.volumes], dtype=float)
        self.upper_m = np.array([np.inf if v.upper_m is None else v.upper_m for v in self.volumes], dtype=float)
        self.lower_agl = np.array([v.lower_reference is VerticalReference.AGL for v in self.volumes], dtype=bool)
        self.upper_agl = np.array([v.upper_reference is VerticalReference.AGL for v in self.volumes], dtype=bool)
        self.polygons: NDArray[np.object_] = _project(self.volumes, self.frame)
        self.bounds_lonlat = _bounds_lonlat(self.volumes)
        self.tree = shapely.STRtree(self.polygons)
        self.edges = PolygonEdges.of(self.polygons)
        # Volumes without any time limit never need their schedule evaluated.
        self._timeless = np.array(
            [v.applicability is None and not self.zones[zi].applicability for zi, v in volumes], dtype=bool
        )
        self._blocking: dict[frozenset[str], NDArray[np.bool_]] = {}
        self._details: dict[int, str] = {}
        self._buffered: dict[float, tuple[NDArray[np.object_], shapely.STRtree, PolygonEdges]] = {}

    def near(
        self, lat_deg: NDArray[np.float64], lon_deg: NDArray[np.float64], margin_m: float = 0.0
    ) -> NDArray[np.bool_]:
        """Which points lie within the zones' geographic extent (projecting far-away points into
        this frame would be meaningless)."""
        lon_min, lat_min, lon_max, lat_max = self.bounds_lonlat
        pad = (margin_m + 1000.0) / 111_000.0  # a kilometre beyond the extent, in degrees of latitude
        pad_lon = pad / max(np.cos(np.radians(max(abs(lat_min), abs(lat_max)) + pad)), 0.01)
        return (
            (lat_deg >= lat_min - pad)
            & (lat_deg <= lat_max + pad)
            & (lon_deg >= lon_min - pad_lon)
            & (lon_deg <= lon_max + pad_lon)
        )

    def covers(self, lat_deg: NDArray[np.float64], lon_deg: NDArray[np.float64], margin_m: float = 0.0) -> bool:
        """Does the extent of these points (a route's) reach the zones' extent?"""
        lon_min, lat_min, lon_max, lat_max = self.bounds_lonlat
        pad = (margin_m + 1000.0) / 111_000.0
        pad_lon = pad / max(np.cos(np.radians(max(abs(lat_min), abs(lat_max)) + pad)), 0.01)
        return bool(
            lat_deg.max() >= lat_min - pad
            and lat_deg.min() <= lat_max + pad
            and lon_deg.max() >= lon_min - pad_lon
            and lon_deg.min() <= lon_max + pad_lon
        )

    def __len__(self) -> int:
        return len(self.zones)

    @cached_property
    def zone_ids(self) -> NDArray[np.str_]:
        return np.array([z.id for z in self.zones], dtype=str)

    @cached_property
    def zone_restrictions(self) -> NDArray[np.str_]:
        return np.array([z.restriction.value for z in self.zones], dtype=str)

    def blocking(self, authorisations: frozenset[str]) -> NDArray[np.bool_]:
        """Per zone: does entering it stop a flight holding these authorisations? (Kept per set of
        authorisations; the array is shared, do not modify it.)"""
        found = self._blocking.get(authorisations)
        if found is None:
            r = self.zone_restrictions
            authorisable = (r == "REQ_AUTHORISATION") | (r == "CONDITIONAL")
            held = np.isin(self.zone_ids, list(authorisations)) if authorisations else np.zeros(len(r), bool)
            found = (r == "PROHIBITED") | (authorisable & ~held)
            found.flags.writeable = False
            if len(self._blocking) < 64:
                self._blocking[authorisations] = found
        return found

    def zone_detail(self, zone_index: int) -> str:
        """What a violation of this zone says about it (made once per zone)."""
        text = self._details.get(zone_index)
        if text is None:
            z = self.zones[zone_index]
            bands = sorted({_band_text(v) for v in z.volumes})
            text = f"inside {z.restriction.value} zone {z.id!r} ({z.name}), {'; '.join(bands)}"
            self._details[zone_index] = text
        return text

    def volumes_active(self, volume_indexes: NDArray[np.intp], at: datetime) -> NDArray[np.bool_]:
        """Which of the given volumes are in force at `at` (schedules evaluated once per volume)."""
        active = self._timeless[volume_indexes].copy()
        todo = np.unique(volume_indexes[~active])
        if len(todo):
            ok = {int(vi): self.zones[self.volume_zone[vi]].volume_applies(self.volumes[vi], at) for vi in todo}
            rest = np.flatnonzero(~active)
            active[rest] = [ok[int(vi)] for vi in volume_indexes[rest]]
        return active

    def buffered(self, distance_m: float) -> tuple[NDArray[np.object_], shapely.STRtree, PolygonEdges]:
        """Volumes grown by `distance_m` (for distance-from-zone rules), built once per distance."""
        if distance_m not in self._buffered:
            grown = shapely.buffer(self.polygons, distance_m, quad_segs=8)
            self._buffered[distance_m] = (grown, shapely.STRtree(grown), PolygonEdges.of(grown))
        return self._buffered[distance_m]


def _band_text(v: Volume) -> str:
    lo = "ground" if v.lower_m is None else f"{v.lower_m:g} m {v.lower_reference.value}"
    hi = "unlimited" if v.upper_m is None else f"{v.upper_m:g} m {v.upper_reference.value}"
    return f"{lo} to {hi}"


def _centre_frame(zones: Sequence[Zone]) -> LocalFrame:
    coords = [
        p
        for z in zones
        for v in z.volumes
        for p in ([v.shape.center] if isinstance(v.shape, CircleShape) else v.shape.rings[0])
    ]
    if not coords:
        return LocalFrame(0.0, 0.0)
    arr = np.asarray(coords, dtype=float)
    lon0 = float((arr[:, 0].min() + arr[:, 0].max()) / 2)
    lat0 = float((arr[:, 1].min() + arr[:, 1].max()) / 2)
    return LocalFrame(lat0, lon0)


def _bounds_lonlat(volumes: Sequence[Volume]) -> tuple[float, float, float, float]:
    """(lon_min, lat_min, lon_max, lat_max) of all volumes, circles by their radius."""
    if not volumes:
        return (0.0, 0.0, 0.0, 0.0)
    boxes = []
    for v in volumes:
        if isinstance(v.shape, CircleShape):
            lon, lat = v.shape.center
            dlat = v.shape.radius_m / 111_000.0
            dlon = dlat / max(np.cos(np.radians(min(abs(lat) + dlat, 89.9))), 0.01)
            boxes.append((lon - dlon, lat - dlat, lon + dlon, lat + dlat))
        else:
            ring = np.asarray(v.shape.rings[0])
            boxes.append((ring[:, 0].min(), ring[:, 1].min(), ring[:, 0].max(), ring[:, 1].max()))
    b = np.asarray(boxes)
    return (float(b[:, 0].min()), float(b[:, 1].min()), float(b[:, 2].max()), float(b[:, 3].max()))


def _project(volumes: Sequence[Volume], frame: LocalFrame) -> NDArray[np.object_]:
    out = np.empty(len(volumes), dtype=object)
    poly_idx = [i for i, v in enumerate(volumes) if isinstance(v.shape, PolygonShape)]
    circ_idx = [i for i, v in enumerate(volumes) if isinstance(v.shape, CircleShape)]
    if poly_idx:
        lonlat = np.array(
            [shapely.Polygon(volumes[i].shape.rings[0], volumes[i].shape.rings[1:]) for i in poly_idx],  # type: ignore[union-attr]
            dtype=object,
        )
        coords = shapely.get_coordinates(lonlat)
        e, n = frame.geodetic2en(coords[:, 1], coords[:, 0])
        out[poly_idx] = shapely.set_coordinates(lonlat, np.column_stack([e, n]))
    if circ_idx:
        centres = np.array([volumes[i].shape.center for i in circ_idx], dtype=float)  # type: ignore[union-attr]
        radii = np.array([volumes[i].shape.radius_m for i in circ_idx], dtype=float)  # type: ignore[union-attr]
        e, n = frame.geodetic2en(centres[:, 1], centres[:, 0])
        # Vertices just outside the true circle, so the polygon contains it.
        grown = radii / np.cos(np.pi / CIRCLE_SEGMENTS)
        out[circ_idx] = shapely.buffer(shapely.points(e, n), grown, quad_segs=CIRCLE_SEGMENTS // 4)
    return out
