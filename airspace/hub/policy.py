"""The authority's filing rules, as pure functions: deadlines, zones touched, the height rule.

CAAC practice: a flight that needs an airspace authorisation (controlled airspace, restricted
zones, above the true-height limit, medium and large drones) is applied for by 12:00 the day
before (local time); emergency missions (rescue, disaster response) by 30 minutes before. A
light or small drone's flight wholly in suitable airspace is filed for reporting and accepted at
once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import shapely

from airspace.authority import IntentRequest, IntentVolume, Reason
from airspace.index import ZoneIndex
from airspace.model import AUTHORISABLE, Restriction
from airspace.rules import DroneClass, configured_height_limits, height_limits

ZONE_TIME_STEP = timedelta(minutes=5)
VOLUME_PAD_M = 10.0  # intent volumes are padded vertically; the height rule allows for that


@dataclass(frozen=True)
class FilingPolicy:
    timezone: str = "Asia/Shanghai"
    controlled_deadline_local: time = time(12, 0)  # on the day before the flight
    emergency_lead: timedelta = timedelta(minutes=30)
    auto_approve: bool = True  # on-time filings needing authorisation: accept (else leave pending)
    # True-height limit per drone class (None: no flight without authorisation); the configured ones.
    height_limits_m: Mapping[DroneClass, float | None] = field(default_factory=configured_height_limits)

    def __post_init__(self) -> None:
        object.__setattr__(self, "height_limits_m", height_limits(self.height_limits_m))

    def deadline(self, request: IntentRequest, needs_authorisation: bool) -> datetime:
        start = request.time_start
        if not needs_authorisation:
            return request.time_end  # filed for reporting: any time before the flight is over
        if request.emergency:
            return start - self.emergency_lead
        tz = ZoneInfo(self.timezone)
        day_before = start.astimezone(tz).date() - timedelta(days=1)
        return datetime.combine(day_before, self.controlled_deadline_local, tzinfo=tz)


@dataclass(frozen=True)
class ZoneFinding:
    zone_id: str
    restriction: Restriction


def zones_touched(request: IntentRequest, index: ZoneIndex) -> list[ZoneFinding]:
    """Zones (in force at some time in a volume's window) whose volumes a 4D intent volume enters."""
    if not len(index):
        return []
    found: dict[str, ZoneFinding] = {}
    for volume in request.volumes:
        outline = shapely.Polygon(volume.outline)
        lon, lat = np.asarray(outline.exterior.coords).T
        if not index.near(lat, lon).any():
            continue
        e, n = index.frame.geodetic2en(lat, lon)
        candidates = index.tree.query(shapely.Polygon(np.column_stack([e, n])), predicate="intersects")
        for vi in candidates:
            zone = index.zones[index.volume_zone[vi]]
            if zone.id in found or not _band_overlaps(index, int(vi), volume, request.home_amsl_m):
                continue
            if _applies_during(index, int(vi), volume):
                found[zone.id] = ZoneFinding(zone.id, zone.restriction)
    return sorted(found.values(), key=lambda f: f.zone_id)


def _band_overlaps(index: ZoneIndex, vi: int, volume: IntentVolume, ground_amsl_m: float) -> bool:
    lo = index.lower_m[vi] + (ground_amsl_m if index.lower_agl[vi] else 0.0)
    hi = index.upper_m[vi] + (ground_amsl_m if index.upper_agl[vi] else 0.0)
    return volume.alt_lower_amsl_m <= hi and lo <= volume.alt_upper_amsl_m


def _applies_during(index: ZoneIndex, vi: int, volume: IntentVolume) -> bool:
    t = volume.time_start
    while t < volume.time_end:
        if index.volumes_active(np.array([vi]), t)[0]:
            return True
        t += ZONE_TIME_STEP
    return bool(index.volumes_active(np.array([vi]), volume.time_end)[0])


def crossed_restrictions(request: IntentRequest, index: ZoneIndex) -> list[Reason]:
    """Zones of `index` the filed flight may not enter as filed: prohibited ones, and those needing
    an authorisation the filing does not carry. Height rules play no part: a new restriction
    withdraws only the flights that touch it."""
    out = []
    for f in zones_touched(request, index):
        if f.restriction is Restriction.PROHIBITED or (
            f.restriction in AUTHORISABLE and f.zone_id not in request.authorisations
        ):
            out.append(Reason(code="restriction_added", message=f"crosses new restriction {f.zone_id!r}"))
    return out


def assess(
    request: IntentRequest, index: ZoneIndex, height_limits_m: Mapping[DroneClass, float | None] | None = None
) -> tuple[bool, list[Reason]]:
    """(needs authorisation, reasons that forbid the flight outright)."""
    needs, refusals = False, []
    for f in zones_touched(request, index):
        if f.restriction is Restriction.PROHIBITED:
            refusals.append(Reason(code="prohibited_zone", message=f"enters prohibited zone {f.zone_id!r}"))
        elif f.restriction in AUTHORISABLE and f.zone_id not in request.authorisations:
            needs = True
    limit = (height_limits_m if height_limits_m is not None else configured_height_limits()).get(request.drone_class)
    if limit is None:
        needs = True  # medium and large drones fly only in airspace applied for
    elif any(v.alt_upper_amsl_m - request.home_amsl_m > limit + VOLUME_PAD_M for v in request.volumes):
        needs = True  # above the suitable airspace's true-height limit
    return needs, refusals
