"""Typed values passed between the planning stages (all metric, in a local ENU frame)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from missions.items import MissionPlan


@dataclass(frozen=True, slots=True)
class Orbit:
    radius_m: float
    turns: float = 1.0
    clockwise: bool = True


@dataclass(slots=True)
class PathNode:
    """A point the drone flies to, with what it does there."""

    e_m: float
    n_m: float
    alt_m: float  # above home
    kind: str = "transit"  # transit | turnaround | lane_start | lane_end | target
    trigger_m: float | None = None  # start (>0) or stop (0) distance triggering here
    hold_s: float = 0.0
    orbit: Orbit | None = None
    gimbal: tuple[float, float] | None = None  # (pitch, yaw) degrees; pitch -90 = nadir
    photo: bool = False
    yaw_deg: float = math.nan  # heading at the node; NaN leaves it to the vehicle

    @property
    def xy(self) -> tuple[float, float]:
        return (self.e_m, self.n_m)


@dataclass(slots=True)
class WorkUnit:
    """An indivisible piece of work (a lane with its turnarounds, a pass, an inspection point)."""

    nodes: list[PathNode]
    work_s: float = 0.0  # time spent inside the unit beyond straight flight (hover, orbit)

    @property
    def start(self) -> tuple[float, float]:
        return self.nodes[0].xy

    @property
    def end(self) -> tuple[float, float]:
        return self.nodes[-1].xy


@dataclass(slots=True)
class Home:
    name: str
    lat: float
    lon: float
    alt_amsl_m: float | None = None


@dataclass(slots=True)
class SortieStats:
    length_m: float = 0.0
    duration_s: float = 0.0
    photos: int = 0
    battery_pct: float = 0.0  # of the full battery, reserve included in the 100 %


@dataclass(slots=True)
class Sortie:
    drone: int  # index into the drones given
    home: Home
    nodes: list[PathNode]
    plan: MissionPlan = field(default_factory=MissionPlan)
    stats: SortieStats = field(default_factory=SortieStats)
    start_s: float = 0.0  # when it takes off, counted from the first take-off


@dataclass(slots=True)
class PlanStats:
    length_m: float = 0.0
    duration_s: float = 0.0  # sum over sorties
    makespan_s: float = 0.0  # when the last drone lands
    photos: int = 0
    area_m2: float = 0.0  # the area asked for
    plannable_m2: float = 0.0  # after no-fly cut-outs
    covered_m2: float = 0.0
    not_covered_m2: float = 0.0  # cut out by no-fly zones
    gsd_cm: float | None = None
    alt_m: float | None = None
    spacing_m: float | None = None
    trigger_m: float | None = None
    angle_deg: float | None = None
    sorties: int = 0


@dataclass(slots=True)
class PlanResult:
    sorties: list[Sortie]
    stats: PlanStats
    lanes: list[list[tuple[float, float]]] = field(default_factory=list)  # lat/lon of imaging lanes
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        s = self.stats
        parts = [
            f"length {s.length_m / 1000:.2f} km",
            f"duration {s.duration_s / 60:.1f} min",
            f"makespan {s.makespan_s / 60:.1f} min",
            f"photos {s.photos}",
        ]
        if s.area_m2:
            parts.append(f"coverage {s.covered_m2:.0f} m² of {s.plannable_m2:.0f} m² plannable")
            parts.append(f"not covered: {s.not_covered_m2:.0f} m²")
        if s.gsd_cm is not None:
            parts.append(f"GSD {s.gsd_cm:.2f} cm/px at {s.alt_m:.1f} m")
        parts.append(f"sorties {len(self.sorties)}")
        lines = ["; ".join(parts)]
        for k, so in enumerate(self.sorties, start=1):
            lines.append(
                f"  sortie {k}: drone {so.drone + 1} from {so.home.name}, "
                f"{so.stats.length_m / 1000:.2f} km, {so.stats.duration_s / 60:.1f} min, "
                f"{so.stats.photos} photos, battery {so.stats.battery_pct:.0f} %"
            )
        return "\n".join(lines + [f"  note: {n}" for n in self.notes])
