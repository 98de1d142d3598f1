"""Failsafes the platform owns, as pure functions of telemetry and configuration.

The vehicle keeps its own (PX4's link-loss, low-battery and geofence actions, set on connect);
these act earlier or on knowledge the vehicle lacks: the charge needed to get home against the
wind, and the zones of the airspace database ahead of the drone. Durations here are the vehicle's
(flight) seconds, never wall-clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np

from airspace.check import check_positions
from airspace.index import ZoneIndex
from core.settings import FleetSettings
from fleet.vehicle.types import Position, VelocityNed
from geo import distance_m, enu2geodetic


def distance_home_m(position: Position, home_lat_deg: float, home_lon_deg: float) -> float:
    return float(distance_m(position.lat_deg, position.lon_deg, home_lat_deg, home_lon_deg))


def return_time_s(distance_m_: float, alt_rel_m: float, s: FleetSettings) -> float:
    """Flight time home: the distance at the return speed less a full headwind, then the descent."""
    ground_speed = max(s.return_speed_m_s - s.wind_m_s, 1.0)
    return distance_m_ / ground_speed + max(alt_rel_m, 0.0) / max(s.descent_speed_m_s, 0.1)


def battery_reserve(distance_m_: float, alt_rel_m: float, s: FleetSettings) -> float:
    """The fraction of a full battery needed to get home, margin included."""
    return return_time_s(distance_m_, alt_rel_m, s) / s.endurance_s + s.battery_margin


@dataclass(frozen=True, slots=True)
class PredictedBreach:
    zone_id: str
    restriction: str
    in_s: float  # flight seconds ahead at the current velocity
    lat_deg: float
    lon_deg: float
    alt_amsl_m: float
    detail: str

    def to_json(self) -> dict[str, object]:
        return {"zone_id": self.zone_id, "restriction": self.restriction, "in_s": round(self.in_s, 1),
                "lat": round(self.lat_deg, 7), "lon": round(self.lon_deg, 7),
                "alt_amsl_m": round(self.alt_amsl_m, 1), "detail": self.detail}


def predicted_track(position: Position, velocity: VelocityNed, horizon_s: float,
                    step_s: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Times and positions (lat, lon, alt AMSL) from now to the horizon at constant velocity."""
    t = np.arange(0.0, horizon_s + 1e-9, step_s)
    lat, lon, alt = enu2geodetic(velocity.east_m_s * t, velocity.north_m_s * t, -velocity.down_m_s * t,
                                 position.lat_deg, position.lon_deg, position.alt_amsl_m)
    return t, lat, lon, alt


def predict_breach(position: Position, velocity: VelocityNed, home_amsl_m: float, index: ZoneIndex | None,
                   at: datetime, horizon_s: float, step_s: float) -> PredictedBreach | None:
    """The first blocking zone (in force at `at`) the drone enters within the horizon, or None."""
    if index is None or len(index) == 0:
        return None
    t, lat, lon, alt = predicted_track(position, velocity, horizon_s, step_s)
    found = check_positions(lat, lon, alt, at, home_amsl_m, index)
    if len(found.zone_position) == 0:
        return None
    k = int(np.argmin(found.zone_position))
    i, z = int(found.zone_position[k]), int(found.zone_index[k])
    zone = index.zones[z]
    return PredictedBreach(zone.id, zone.restriction.value, float(t[i]), float(lat[i]), float(lon[i]),
                           float(alt[i]), index.zone_detail(z))
