"""Operational intent volumes from a route, and 4D geometry between intents and zones."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta

import numpy as np
import shapely

from airspace.authority import IntentVolume
from airspace.route import Route
from geo import LocalFrame, geometry_enu2geodetic


def intent_volumes(
    route: Route,
    home_amsl_m: float,
    start: datetime,
    speed_m_s: float = 8.0,
    climb_m_s: float = 3.0,
    lateral_buffer_m: float = 30.0,
    vertical_buffer_m: float = 10.0,
    time_buffer_s: float = 120.0,
) -> list[IntentVolume]:
    """One volume per leg flown, in flight order (DO_JUMP repeats unrolled): the leg buffered
    horizontally, its altitudes padded, and the time it is expected to be flown (from the speeds)
    widened by `time_buffer_s` on each side."""
    frame = LocalFrame(route.home.lat, route.home.lon)
    lat = np.array([p.lat for p in route.points])
    lon = np.array([p.lon for p in route.points])
    e, n = frame.geodetic2en(lat, lon)
    alt = np.array([p.alt_rel_m for p in route.points]) + home_amsl_m
    volumes = []
    t = start
    pad = timedelta(seconds=time_buffer_s)
    for a, b in route.flown_legs():
        horizontal = math.hypot(e[b] - e[a], n[b] - n[a])
        duration = max(horizontal / speed_m_s, abs(alt[b] - alt[a]) / climb_m_s, 1.0)
        if horizontal > 0:
            leg = shapely.LineString([(e[a], n[a]), (e[b], n[b])])
        else:
            leg = shapely.Point(e[a], n[a])
        outline = geometry_enu2geodetic(leg.buffer(lateral_buffer_m, quad_segs=4), frame)
        ring = [(float(x), float(y)) for x, y in outline.exterior.coords]
        volumes.append(
            IntentVolume(
                outline=ring,
                alt_lower_amsl_m=float(min(alt[a], alt[b]) - vertical_buffer_m),
                alt_upper_amsl_m=float(max(alt[a], alt[b]) + vertical_buffer_m),
                time_start=t - pad,
                time_end=t + timedelta(seconds=duration) + pad,
            )
        )
        t += timedelta(seconds=duration)
    return volumes


def outline_polygon(volume: IntentVolume) -> shapely.Polygon:
    return shapely.Polygon(volume.outline)


def volumes_conflict(a: IntentVolume, b: IntentVolume) -> bool:
    """Do two 4D volumes overlap in time, altitude and area?"""
    if a.time_end <= b.time_start or b.time_end <= a.time_start:
        return False
    if a.alt_upper_amsl_m < b.alt_lower_amsl_m or b.alt_upper_amsl_m < a.alt_lower_amsl_m:
        return False
    overlap = outline_polygon(a).intersection(outline_polygon(b))
    return not overlap.is_empty and overlap.area > 0


def intents_conflict(a: Sequence[IntentVolume], b: Sequence[IntentVolume]) -> bool:
    return any(volumes_conflict(x, y) for x in a for y in b)


def position_conforms(volumes: Sequence[IntentVolume], lat: float, lon: float, alt_amsl_m: float, at: datetime) -> bool:
    """Is the position inside one of the volumes at that time?"""
    point = shapely.Point(lon, lat)
    return any(
        v.time_start <= at <= v.time_end
        and v.alt_lower_amsl_m <= alt_amsl_m <= v.alt_upper_amsl_m
        and outline_polygon(v).covers(point)
        for v in volumes
    )
