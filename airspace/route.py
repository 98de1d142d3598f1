"""A route as the checks see it: home on the ground, then the positions flown, each tied to the
mission item (its 0-based position in the file) it comes from.

DO_JUMP (param1: the target's sequence number, 1-based as in QGC `.plan` doJumpIds and `.waypoints`
files, where 0 is home; param2: the repeat count, 0 = never) makes the vehicle fly from the last
position before the jump back to the target: that leg is added after the route's own legs, as a
separate piece (`Route.unflown_legs` names the gap leading to it, which is not flown).
`Route.timeline` gives the order in which the points are flown, jumps and their repeats unrolled,
so that intent volumes are timed as the vehicle flies them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from core.errors import BadInput

# MAVLink frames (common.xml MAV_FRAME) and the one command the route needs besides positions.
FRAMES_AMSL = frozenset({0, 5})
FRAMES_RELATIVE = frozenset({3, 6})
FRAMES_TERRAIN = frozenset({10, 11})
CMD_RETURN_TO_LAUNCH = 20
CMD_DO_JUMP = 177


@dataclass(frozen=True, slots=True)
class RoutePoint:
    lat: float
    lon: float
    alt_rel_m: float  # above home
    item_index: int | None  # the mission item this point belongs to; None for home
    is_item_position: bool = True  # False where the point is implied (home, the end of an RTL leg)


@dataclass(frozen=True, slots=True)
class Route:
    """Legs run between consecutive points (leg k: point k to point k + 1); `points[0]` is home on
    the ground. Legs listed in `unflown_legs` only join separate pieces and are not checked."""

    points: tuple[RoutePoint, ...]
    unflown_legs: tuple[int, ...] = ()
    # Indexes into `points` in the order they are flown (DO_JUMP repeats unrolled); empty: the
    # points in order, skipping the unflown legs.
    timeline: tuple[int, ...] = ()

    def flown_legs(self) -> list[tuple[int, int]]:
        """(from, to) point indexes of the legs in the order they are flown."""
        if self.timeline:
            return list(zip(self.timeline, self.timeline[1:], strict=False))
        unflown = set(self.unflown_legs)
        return [(k, k + 1) for k in range(len(self.points) - 1) if k not in unflown]

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
    param1: float
    param2: float
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
    jumps: list[tuple[RoutePoint, RoutePoint]] = []  # (from, to) legs flown by DO_JUMP items
    for i, item in enumerate(items):
        if item.command == CMD_RETURN_TO_LAUNCH:
            points.append(RoutePoint(home_lat, home_lon, points[-1].alt_rel_m, i, False))
        elif item.is_positional:
            points.append(RoutePoint(item.lat, item.lon, _alt_rel_m(item, i, home_amsl_m), i))
        elif item.command == CMD_DO_JUMP:
            leg = _jump_leg(items, i, points[-1], home_amsl_m)
            if leg is not None:
                jumps.append(leg)
    unflown = []
    sequential = len(points)
    for start, end in jumps:
        unflown.append(len(points) - 1)
        points += [start, end]
    timeline = _timeline(items, points[:sequential]) if jumps else ()
    return Route(tuple(points), tuple(unflown), timeline)


MAX_TIMELINE_LEGS = 100_000


def _timeline(items: Sequence[_Item], points: Sequence[RoutePoint]) -> tuple[int, ...]:
    """The sequential points in the order the vehicle flies them, executing the items as an
    autopilot does: each DO_JUMP is taken `param2` times (a negative count, "repeat for ever", is
    unrolled once), then the mission goes on after it."""
    point_of = {p.item_index: k for k, p in enumerate(points) if p.item_index is not None}
    order = [0]
    jumps_left: dict[int, int] = {}
    i = 0
    while i < len(items):
        item = items[i]
        if i in point_of:
            order.append(point_of[i])
            if len(order) > MAX_TIMELINE_LEGS:
                raise BadInput(f"the DO_JUMP repeats make a flight of more than {MAX_TIMELINE_LEGS} legs")
        elif item.command == CMD_DO_JUMP and math.isfinite(item.param1) and math.isfinite(item.param2):
            left = jumps_left.setdefault(i, 1 if item.param2 < 0 else int(item.param2))
            if left > 0:
                jumps_left[i] = left - 1
                i = round(item.param1) - 1
                continue
        i += 1
    return tuple(order)


def _jump_leg(
    items: Sequence[_Item], index: int, before: RoutePoint, home_amsl_m: float
) -> tuple[RoutePoint, RoutePoint] | None:
    """The leg a DO_JUMP at `index` adds: from the position before it to the first position at or
    after its target (the jump's end is named by the DO_JUMP item itself). None when the jump is
    never taken or leads nowhere that has a position."""
    item = items[index]
    param1, param2 = item.param1, item.param2
    if not (math.isfinite(param1) and math.isfinite(param2)) or param2 == 0:
        return None
    target = round(param1) - 1  # sequence numbers count from 1
    if not 0 <= target < len(items) or target == index:
        raise BadInput(f"mission item {index}: DO_JUMP to sequence number {param1:g}, which is not an item of the plan")
    landing = next((k for k in range(target, len(items)) if items[k].is_positional), None)
    if landing is None or landing == index:
        return None
    to = items[landing]
    start = RoutePoint(before.lat, before.lon, before.alt_rel_m, before.item_index, False)
    end = RoutePoint(to.lat, to.lon, _alt_rel_m(to, landing, home_amsl_m), index, False)
    return start, end


def _alt_rel_m(item: _Item, index: int, home_amsl_m: float) -> float:
    if item.frame in FRAMES_AMSL:
        return item.alt - home_amsl_m
    if item.frame in FRAMES_RELATIVE or item.frame in FRAMES_TERRAIN:
        return item.alt
    raise BadInput(f"mission item {index}: frame {item.frame} has no altitude reference the check understands")
