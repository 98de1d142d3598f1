"""A small default world near Jinshan (30.7416 N, 121.3415 E): two crossing roads, an unpermitted
road-works site (cones, barriers, an excavation, an excavator) on the east-west road, a small
permitted site on the north-south road, and muck trucks driving west on a timetable."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from sitl.world.model import DEFAULT_SIZES, Area, Road, StaticObject, TruckRoute, World

JINSHAN = (30.7416, 121.3415, 4.0)
DEFAULT_FIRST_DEPARTURE = datetime(2025, 3, 3, 2, 0, tzinfo=UTC).timestamp()  # 10:00 in Shanghai


def _obj(oid: str, kind: str, e: float, n: float, heading: float, site: str) -> StaticObject:
    L, W, H = DEFAULT_SIZES[kind]
    return StaticObject(oid, kind, e, n, heading, L, W, H, site)


def default_world(first_departure: float = DEFAULT_FIRST_DEPARTURE, every_s: float = 60.0, count: int = 60) -> World:
    w = World(*JINSHAN)
    w.roads = [
        Road("ew", np.array([[-250.0, 0.0], [250.0, 0.0]]), 14.0, 4),
        Road("ns", np.array([[60.0, -250.0], [60.0, 250.0]]), 10.0, 2),
    ]
    # Site s1: the north lane of the east-west road closed over ~40 m.
    objs = [_obj(f"s1-cone-{i + 1}", "traffic_cone", -62.0 + 3.0 * i, 1.6, 0.0, "s1") for i in range(14)]
    objs += [_obj("s1-barrier-1", "barrier", -64.0, 3.3, 0.0, "s1"),
             _obj("s1-barrier-2", "barrier", -64.0, 6.0, 0.0, "s1"),
             _obj("s1-barrier-3", "barrier", -20.0, 4.5, 0.0, "s1"),
             _obj("s1-excavator", "excavator", -42.0, 12.0, 80.0, "s1")]
    # Site s2: a short permitted closure on the north-south road.
    objs += [_obj(f"s2-cone-{i + 1}", "traffic_cone", 62.5, 60.0 + 3.0 * i, 0.0, "s2") for i in range(6)]
    objs += [_obj("s2-barrier-1", "barrier", 63.0, 57.5, 90.0, "s2")]
    w.objects = objs
    w.areas = [
        Area("s1", "road_works", np.array([[-66.0, 0.5], [-18.0, 0.5], [-18.0, 16.0], [-66.0, 16.0]]), "s1", False),
        Area("s1-dig", "excavation", np.array([[-56.0, 2.6], [-28.0, 2.6], [-28.0, 6.4], [-56.0, 6.4]]), "s1"),
        Area("s2", "road_works", np.array([[60.5, 55.0], [66.0, 55.0], [66.0, 78.0], [60.5, 78.0]]), "s2", True),
    ]
    w.routes = [TruckRoute("m1", "muck_truck", np.array([[250.0, -3.5], [-250.0, -3.5]]), 8.0,
                           tuple(first_departure + k * every_s for k in range(count)))]
    return w
