"""API schemas for plan requests and answers (pydantic, separate from the ORM rows)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from missions.inputs import InspectionPoint


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class HomeIn(_Body):
    name: str = "home"
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    alt_amsl_m: float | None = None


class FleetIn(_Body):
    drones: int = Field(1, ge=1, le=50)
    homes: list[HomeIn] = Field(default_factory=list, description="Homes/docks, shared round-robin by the drones")
    drone: str = "generic-quad"
    endurance_min: float | None = Field(None, gt=0)
    cruise_speed_m_s: float | None = Field(None, gt=0)
    land_at: HomeIn | None = Field(None, description="Land here instead of returning to launch")
    gimbal: Literal["mount", "manager"] = "mount"


class AirspaceIn(_Body):
    zones: dict[str, Any] | None = Field(None, description="A zone document (ED-269, ED-318 or GeoJSON)")
    at: datetime | None = None
    authorisations: list[str] = Field(default_factory=list)
    margin_m: float = Field(10.0, ge=0)


class CameraIn(_Body):
    name: str | None = Field(None, description="Catalogue name")
    custom: dict[str, Any] | None = Field(None, description="A camera in the DESIGN camera schema")


class ImagingIn(_Body):
    alt_m: float | None = Field(None, gt=0)
    gsd_cm: float | None = Field(None, gt=0)
    camera: CameraIn = Field(default_factory=CameraIn)
    front_overlap: float = Field(75.0, ge=0, lt=100)
    side_overlap: float = Field(65.0, ge=0, lt=100)
    spacing_m: float | None = Field(None, gt=0)
    trigger_m: float | None = Field(None, gt=0)
    turnaround_m: float = Field(5.0, ge=0)

    @model_validator(mode="after")
    def _one_height(self) -> ImagingIn:
        if (self.alt_m is None) == (self.gsd_cm is None):
            raise ValueError("give exactly one of alt_m and gsd_cm")
        return self


class SurveyIn(ImagingIn):
    area: dict[str, Any] = Field(description="GeoJSON Polygon/MultiPolygon geometry or Feature (holes allowed)")
    angle_deg: float | None = None
    fleet: FleetIn = Field(default_factory=FleetIn)
    airspace: AirspaceIn | None = None


class CorridorIn(ImagingIn):
    line: dict[str, Any] = Field(description="GeoJSON LineString geometry or Feature")
    width_m: float = Field(gt=0)
    fleet: FleetIn = Field(default_factory=FleetIn)
    airspace: AirspaceIn | None = None


class PointsIn(_Body):
    points: list[InspectionPoint] = Field(min_length=1)
    fleet: FleetIn = Field(default_factory=FleetIn)
    airspace: AirspaceIn | None = None


class PlanCreate(_Body):
    name: str = Field(min_length=1, max_length=255)
    survey: SurveyIn | None = None
    corridor: CorridorIn | None = None
    points: PointsIn | None = None
    mission: dict[str, Any] | None = Field(None, description="An existing QGC .plan document to store as is")

    @model_validator(mode="after")
    def _exactly_one(self) -> PlanCreate:
        given = [k for k in ("survey", "corridor", "points", "mission") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of survey, corridor, points, mission")
        return self


class SortieOut(BaseModel):
    drone: int
    home: str
    start_s: float
    length_m: float
    duration_s: float
    photos: int
    battery_pct: float
    items: int
    plan: dict[str, Any] = Field(description="The sortie as a QGC .plan document")


class PlanOut(BaseModel):
    length_m: float
    duration_s: float
    makespan_s: float
    photos: int
    area_m2: float
    plannable_m2: float
    covered_m2: float
    not_covered_m2: float
    gsd_cm: float | None
    alt_m: float | None
    spacing_m: float | None
    trigger_m: float | None
    angle_deg: float | None
    notes: list[str]
    sorties: list[SortieOut]


class StoredPlan(BaseModel):
    id: str
    name: str
    created_at: datetime
    created_by: str | None
    doc: dict[str, Any]


class StoredPlanSummary(BaseModel):
    id: str
    name: str
    created_at: datetime
    created_by: str | None
    sorties: int
