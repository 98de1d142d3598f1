"""Airspace-aware stage: no-fly volumes from `airspace` become obstacles (cut out of coverage,
flown around), and the finished plan must pass `airspace.check_route`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import shapely
from shapely.geometry.base import BaseGeometry
from shapely.ops import unary_union

from airspace import CheckOptions, Restriction, Zone, ZoneIndex, check_route, route_from_mission
from airspace.model import AUTHORISABLE, VerticalReference
from core.errors import Refused
from geo import LocalFrame
from missions.items import MissionPlan


@dataclass(frozen=True)
class AirspaceContext:
    zones: Sequence[Zone] = ()
    at: datetime = field(default_factory=lambda: datetime.now(UTC))
    authorisations: frozenset[str] = frozenset()
    margin_m: float = 10.0  # kept clear of no-fly volumes
    home_amsl_m: float = 0.0
    options: CheckOptions | None = None

    def check_options(self) -> CheckOptions:
        base = self.options or CheckOptions()
        if self.authorisations:
            from dataclasses import replace

            base = replace(base, authorisations=base.authorisations | self.authorisations)
        return base


def _blocking(zone: Zone, ctx: AirspaceContext) -> bool:
    if zone.restriction is Restriction.PROHIBITED:
        return True
    return zone.restriction in AUTHORISABLE and zone.id not in ctx.check_options().authorisations


def no_fly_enu(ctx: AirspaceContext, frame: LocalFrame, max_alt_m: float) -> BaseGeometry | None:
    """Horizontal shapes of blocking volumes in force at `ctx.at` whose vertical band reaches the
    flight band [0, max_alt_m] above home, grown by the margin; None when there are none."""
    if not ctx.zones:
        return None
    index = ZoneIndex(list(ctx.zones), frame=frame)
    shapes = []
    for vi, vol in enumerate(index.volumes):
        zone = index.zones[index.volume_zone[vi]]
        if not _blocking(zone, ctx) or not zone.volume_applies(vol, ctx.at):
            continue
        lower, upper = vol.lower_m, vol.upper_m
        offset = ctx.home_amsl_m if VerticalReference.AMSL == vol.lower_reference else 0.0
        if lower is not None and lower - offset > max_alt_m + ctx.margin_m:
            continue  # the whole volume is above us
        offset = ctx.home_amsl_m if VerticalReference.AMSL == vol.upper_reference else 0.0
        if upper is not None and upper - offset < 0:
            continue
        shapes.append(index.polygons[vi])
    if not shapes:
        return None
    return shapely.buffer(unary_union(shapes), ctx.margin_m, quad_segs=4)


def require_clear(plan: MissionPlan, ctx: AirspaceContext, what: str) -> None:
    """Raise `Refused` naming the first violation when the plan does not pass the check."""
    home_amsl = plan.home_alt_amsl_m if plan.home_alt_amsl_m is not None else ctx.home_amsl_m
    index = ZoneIndex(list(ctx.zones))
    result = check_route(route_from_mission(plan, home_amsl), ctx.at, home_amsl, index, ctx.check_options())
    if not result.clear:
        v = result.violations[0]
        where = f"item {v.waypoint_index}" if v.waypoint_index is not None else f"leg {v.segment_index}"
        zone = f" zone {v.zone_id!r} ({v.restriction.value})" if v.zone_id and v.restriction else ""
        more = f" (and {len(result.violations) - 1} more)" if len(result.violations) > 1 else ""
        raise Refused(f"{what}: {where} violates{zone}: {v.detail}{more}", details=result.to_json())
