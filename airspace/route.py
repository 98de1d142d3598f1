"""A route as the checks see it: home on the ground, then the positions flown, each tied to the
mission item (its 0-based position in the file) it comes from."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from core.errors import BadInput

# MAVLink frames (common.xml MAV_FRAME) and the one command the route needs besides positions.
FRAMES_AMSL = frozenset({0, 5})
FRAMES_RELATIVE = frozenset({3, 6})
FRAMES_TERRAIN = frozenset({10, 11})
CMD_RETURN_TO_LAUNCH = 20


@dataclass(frozen=True, slots=True)
class RoutePoint:
    lat: float
    lon: float
    alt_rel_m: float  # above home
    item_index: int | None  # the mission item this point belongs to; None for home
    is_item_position: bool = True  # False where the point is implied (home, the end of an RTL leg)


@dataclass(frozen=True, slots=True)
class Route:
    """Legs run between consecutive points; `points[0]` is home on the ground."""

    points: tuple[RoutePoint, ...]

    @property
    def home(self) -> RoutePoint:
        return self.points[0]

    @classmethod
    def from_waypoints(cls, home_lat: float, home_lon: float, waypoints: Sequence[tuple[float, float, float]]) -> Route:
        """Home, then (lat, lon, alt_rel_m) waypoints indexed 0.."""
        pts = [RoutePoint(home_lat, home_lon, 0.0, None, False)]
        pts += [RoutePoint(lat, lon, alt, i) for i, (lat, lon, alt) in enumerate(waypoints)]
        return cls(tuple(pts))


class _Item(Protocol):
    command: int
    frame: int
    lat: float
    lon: float
    alt: float

    @property
    def is_positional(self) -> bool: ...


def route_from_mission(plan: Any, home_amsl_m: float) -> Route:
    """Legs of a mission plan (`missions.items.MissionPlan` or alike): the climb from the ground at
    home to the first positional item, then item to item; an RTL item adds the leg back home.
    Altitudes in AMSL frames are made relative with `home_amsl_m`; terrain-frame altitudes are
    taken as above the home's ground (flat terrain)."""
    items: Sequence[_Item] = plan.items
    positional = [i for i, it in enumerate(items) if it.is_positional]
    if not positional:
        raise BadInput("the plan has no positional mission items")
    home_lat = plan.home_lat if plan.home_lat is not None else items[positional[0]].lat
    home_lon = plan.home_lon if plan.home_lon is not None else items[positional[0]].lon
    points = [RoutePoint(home_lat, home_lon, 0.0, None, False)]
    for i, item in enumerate(items):
        if item.command == CMD_RETURN_TO_LAUNCH:
            points.append(RoutePoint(home_lat, home_lon, points[-1].alt_rel_m, i, False))
        elif item.is_positional:
            points.append(RoutePoint(item.lat, item.lon, _alt_rel_m(item, i, home_amsl_m), i))
    return Route(tuple(points))


def _alt_rel_m(item: _Item, index: int, home_amsl_m: float) -> float:
    if item.frame in FRAMES_AMSL:
        return item.alt - home_amsl_m
    if item.frame in FRAMES_RELATIVE or item.frame in FRAMES_TERRAIN:
        return item.alt
    raise BadInput(f"mission item {index}: frame {item.frame} has no altitude reference the check understands")
