"""Drone performance model: speeds, rates, endurance with reserve, altitude ceiling."""

from __future__ import annotations

from pydantic import BaseModel, Field


class DroneModel(BaseModel):
    name: str = "generic-quad"
    cruise_speed_m_s: float = Field(10.0, gt=0)
    climb_m_s: float = Field(3.0, gt=0)
    descent_m_s: float = Field(2.0, gt=0)
    endurance_min: float = Field(30.0, gt=0)
    reserve_fraction: float = Field(0.2, ge=0, lt=1)  # kept back for landing and wind
    max_alt_m: float = Field(120.0, gt=0)  # above take-off (CAAC 120 m rule)
    turn_s: float = Field(2.0, ge=0)  # stop-and-turn time at a sharp corner (multirotor)

    @property
    def usable_s(self) -> float:
        """Seconds of flight one battery gives before the reserve."""
        return self.endurance_min * 60.0 * (1.0 - self.reserve_fraction)


CATALOGUE: dict[str, DroneModel] = {
    d.name: d
    for d in (
        DroneModel(),
        DroneModel(name="dji-m30t", cruise_speed_m_s=12.0, climb_m_s=6.0, descent_m_s=5.0, endurance_min=41),
        DroneModel(name="dji-mavic3e", cruise_speed_m_s=12.0, climb_m_s=6.0, descent_m_s=6.0, endurance_min=45),
        DroneModel(name="dji-phantom4-rtk", cruise_speed_m_s=10.0, climb_m_s=5.0, descent_m_s=3.0, endurance_min=30),
    )
}
