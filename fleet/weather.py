"""The weather gate: conditions from a provider, limits per drone model, reasons when a run may not fly.

A provider answers for a place and time. The default reads the configuration (what the duty
officer or the simulated world sets); a real service (the district's weather station, CMA data)
plugs in behind the same protocol.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

from core.settings import WeatherLimits, WeatherSettings


@dataclass(frozen=True, slots=True)
class Weather:
    wind_m_s: float
    gust_m_s: float
    precipitation_mm_h: float
    visibility_m: float
    source: str = "configuration"


@runtime_checkable
class WeatherProvider(Protocol):
    def conditions(self, lat: float, lon: float, at: datetime) -> Weather: ...


class ConfiguredWeather:
    def __init__(self, settings: WeatherSettings) -> None:
        self.settings = settings

    def conditions(self, lat: float, lon: float, at: datetime) -> Weather:
        s = self.settings
        return Weather(s.wind_m_s, s.gust_m_s, s.precipitation_mm_h, s.visibility_m)


def limits_for(settings: WeatherSettings, model: str | None) -> WeatherLimits:
    return settings.limits.get(model or "*") or settings.limits.get("*") or WeatherLimits()


def gate(w: Weather, limits: WeatherLimits) -> list[str]:
    """Why the weather forbids the flight; empty when it may fly."""
    reasons = []
    if w.wind_m_s > limits.max_wind_m_s:
        reasons.append(f"wind {w.wind_m_s:.1f} m/s above {limits.max_wind_m_s:.1f}")
    if w.gust_m_s > limits.max_gust_m_s:
        reasons.append(f"gusts {w.gust_m_s:.1f} m/s above {limits.max_gust_m_s:.1f}")
    if w.precipitation_mm_h > limits.max_precipitation_mm_h:
        reasons.append(f"precipitation {w.precipitation_mm_h:.1f} mm/h above {limits.max_precipitation_mm_h:.1f}")
    if w.visibility_m < limits.min_visibility_m:
        reasons.append(f"visibility {w.visibility_m:.0f} m below {limits.min_visibility_m:.0f}")
    return reasons
