"""Shapely geometries between WGS84 (x = longitude, y = latitude, GeoJSON order) and a local frame.

Every vertex is converted; edges stay straight in the target frame, which is what a drone flying
between two waypoints does closely enough at city scale.
"""

from __future__ import annotations

import math

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from geo.enu import LocalFrame


def geometry_geodetic2enu(geom: BaseGeometry, frame: LocalFrame) -> BaseGeometry:
    """Any shapely geometry in lon/lat degrees to the frame's east/north metres."""
    return _transform(geom, lambda lon, lat: frame.geodetic2en(lat, lon))


def geometry_enu2geodetic(geom: BaseGeometry, frame: LocalFrame) -> BaseGeometry:
    """Any shapely geometry in east/north metres to lon/lat degrees."""

    def to_lonlat(e: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        lat, lon = frame.en2geodetic(e, n)
        return lon, lat

    return _transform(geom, to_lonlat)


def polygon_geodetic2enu(polygon: shapely.Polygon, frame: LocalFrame) -> shapely.Polygon:
    return geometry_geodetic2enu(polygon, frame)  # type: ignore[return-value]


def polygon_enu2geodetic(polygon: shapely.Polygon, frame: LocalFrame) -> shapely.Polygon:
    return geometry_enu2geodetic(polygon, frame)  # type: ignore[return-value]


def linestring_geodetic2enu(
    lat_deg: np.ndarray, lon_deg: np.ndarray, frame: LocalFrame
) -> shapely.LineString:
    e, n = frame.geodetic2en(lat_deg, lon_deg)
    return shapely.LineString(np.column_stack([e, n]))


def circle_enu(east_m: float, north_m: float, radius_m: float, segments: int = 128) -> shapely.Polygon:
    """A polygon that contains the circle: vertices sit just outside it, so tests stay conservative."""
    circumscribed_m = radius_m / math.cos(math.pi / segments)
    return shapely.Point(east_m, north_m).buffer(circumscribed_m, quad_segs=segments // 4)


def _transform(geom: BaseGeometry, fn) -> BaseGeometry:  # type: ignore[no-untyped-def]
    coords = shapely.get_coordinates(geom)
    if len(coords) == 0:
        return geom
    x, y = fn(coords[:, 0], coords[:, 1])
    return shapely.set_coordinates(geom, np.column_stack([x, y]))
