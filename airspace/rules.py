"""Rules that hold everywhere, beside the zones: China's true-height limits per drone class and a
site's own distance limits.

Interim Regulations on the Flight Management of Unmanned Aircraft (in force 2024-01-01): suitable
airspace for light and small drones is below 120 m true height, for micro drones below 50 m;
medium and large drones fly only in airspace they apply for (their limits come from zones and
authorisations, so no global cap here).

The limits are configurable per class: a mapping (class -> metres, or None for no cap) laid over
the defaults above, from `SKYPATROL_AIRSPACE_HEIGHT_LIMITS_M` (JSON `{"micro": 40}` or
`micro=40,light=100`; `none` removes a cap), or given to `CheckOptions(height_limits_m=...)`.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache

from airspace.terrain import DemProvider
from core.errors import BadInput

HEIGHT_LIMITS_ENV = "SKYPATROL_AIRSPACE_HEIGHT_LIMITS_M"


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


def height_limits(overrides: Mapping[str, float | None] | None = None) -> dict[DroneClass, float | None]:
    """The defaults with `overrides` laid over them; keys are drone class names (any case)."""
    return {**DEFAULT_HEIGHT_LIMITS_M, **_checked(overrides or {})}


def _checked(overrides: Mapping[str, float | None]) -> dict[DroneClass, float | None]:
    limits: dict[DroneClass, float | None] = {}
    for key, value in overrides.items():
        try:
            cls = DroneClass(str(key).strip().lower())
        except ValueError:
            names = ", ".join(c.value for c in DroneClass)
            raise BadInput(f"height limit for unknown drone class {key!r} (one of {names})") from None
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
                raise BadInput(f"height limit for {cls.value} drones must be a positive number of metres or none")
            value = float(value)
        limits[cls] = value
    return limits


def parse_height_limits(text: str) -> dict[str, float | None]:
    """`{"micro": 40, "medium": null}` or `micro=40,medium=none` -> {class name: metres or None}."""
    text = text.strip()
    if not text:
        return {}
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise BadInput(f"height limits: not valid JSON ({exc.msg})") from None
        if not isinstance(data, dict):
            raise BadInput("height limits: expected an object of drone class -> metres")
        return data
    out: dict[str, float | None] = {}
    for part in text.split(","):
        key, sep, value = part.partition("=")
        if not sep or not key.strip():
            raise BadInput(f"height limits: expected CLASS=METRES, got {part.strip()!r}")
        value = value.strip().lower()
        if value in {"none", "null", "off", ""}:
            out[key.strip()] = None
            continue
        try:
            out[key.strip()] = float(value)
        except ValueError:
            raise BadInput(f"height limits: {value!r} for {key.strip()} is not a number of metres") from None
    return out


def configured_height_limits(extra: Mapping[str, float | None] | None = None) -> dict[DroneClass, float | None]:
    """The limits in force: defaults, then the environment's configuration, then `extra`."""
    return {**dict(_env_limits(os.environ.get(HEIGHT_LIMITS_ENV, ""))), **_checked(extra or {})}


@lru_cache(maxsize=8)
def _env_limits(text: str) -> tuple[tuple[DroneClass, float | None], ...]:
    try:
        return tuple(height_limits(parse_height_limits(text)).items())
    except BadInput as exc:
        raise BadInput(f"{HEIGHT_LIMITS_ENV}: {exc}") from None


@dataclass(frozen=True)
class CheckOptions:
    """What a check applies beside the zones. Site rules are off unless set.

    `height_limits_m` defaults to the configured limits; a mapping given is laid over the
    defaults (so `{"micro": 40}` changes the micro class only)."""

    drone_class: DroneClass = DroneClass.LIGHT
    height_limits_m: Mapping[DroneClass, float | None] = field(default_factory=configured_height_limits)
    authorisations: frozenset[str] = frozenset()  # zone ids the plan holds an authorisation for
    min_distance_from_zones_m: float | None = None  # site rule: keep this far from restrictive zones
    max_distance_from_home_m: float | None = None  # site rule: stay within this radius of home
    dem: DemProvider | None = None  # None: flat terrain at the home's height

    def __post_init__(self) -> None:
        object.__setattr__(self, "drone_class", DroneClass(self.drone_class))
        object.__setattr__(self, "height_limits_m", height_limits(self.height_limits_m))

    @property
    def max_height_agl_m(self) -> float | None:
        return self.height_limits_m.get(self.drone_class)
