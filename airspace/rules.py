"""Rules that hold everywhere, beside the zones: China's true-height limits per drone class and a
site's own distance limits.

Interim Regulations on the Flight Management of Unmanned Aircraft (in force 2024-01-01): suitable
airspace for light and small drones is below 120 m true height, for micro drones below 50 m;
medium and large drones fly only in airspace they apply for (their limits come from zones and
authorisations, so no global cap here).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from airspace.terrain import DemProvider


class DroneClass(StrEnum):
    MICRO = "micro"
    LIGHT = "light"
    SMALL = "small"
    MEDIUM = "medium"
    LARGE = "large"


DEFAULT_HEIGHT_LIMITS_M: Mapping[DroneClass, float | None] = {
    DroneClass.MICRO: 50.0,
    DroneClass.LIGHT: 120.0,
    DroneClass.SMALL: 120.0,
    DroneClass.MEDIUM: None,
    DroneClass.LARGE: None,
}


@dataclass(frozen=True)
class CheckOptions:
    """What a check applies beside the zones. Site rules are off unless set."""

    drone_class: DroneClass = DroneClass.LIGHT
    height_limits_m: Mapping[DroneClass, float | None] = field(default_factory=lambda: dict(DEFAULT_HEIGHT_LIMITS_M))
    authorisations: frozenset[str] = frozenset()  # zone ids the plan holds an authorisation for
    min_distance_from_zones_m: float | None = None  # site rule: keep this far from restrictive zones
    max_distance_from_home_m: float | None = None  # site rule: stay within this radius of home
    dem: DemProvider | None = None  # None: flat terrain at the home's height

    @property
    def max_height_agl_m(self) -> float | None:
        return self.height_limits_m.get(self.drone_class)
