"""Path planning and output: split work into sorties, connect everything with transit legs that
go around obstacles, turn each sortie into mission items and statistics, check the airspace."""

from __future__ import annotations

from dataclasses import replace

from core.errors import BadInput
from geo import LocalFrame
from missions.airspace_aware import AirspaceContext, require_clear
from missions.itemize import ItemOptions, path_items
from missions.sorties import Assignment, DroneSpec, split_work
from missions.stats import path_metrics
from missions.transit import Obstacles
from missions.types import PathNode, PlanStats, Sortie, WorkUnit

SWAP_S = 300.0  # battery swap between two sorties of one drone


def locate_drones(drones: list[DroneSpec], frame: LocalFrame, obstacles: Obstacles) -> list[DroneSpec]:
    out = []
    for d in drones:
        e, n = frame.geodetic2en(d.home.lat, d.home.lon)
        xy = (float(e), float(n))
        if obstacles.contains(xy):
            raise BadInput(f"home {d.home.name!r} lies inside a no-fly zone")
        out.append(replace(d, home_enu=xy))
    return out


def connect(
    start: tuple[float, float],
    nodes: list[PathNode],
    end: tuple[float, float],
    alt_m: float,
    obstacles: Obstacles,
) -> list[PathNode]:
    """Insert transit corners wherever a straight leg would cross an obstacle."""
    if not obstacles:
        return list(nodes)
    out: list[PathNode] = []
    prev = start
    for node in nodes:
        for x, y in obstacles.path(prev, node.xy):
            out.append(PathNode(x, y, max(alt_m, node.alt_m), kind="transit"))
        out.append(node)
        prev = node.xy
    for x, y in obstacles.path(prev, end):
        out.append(PathNode(x, y, out[-1].alt_m if out else alt_m, kind="transit"))
    return out


def assemble(
    units: list[WorkUnit],
    drones: list[DroneSpec],
    frame: LocalFrame,
    alt_m: float,
    obstacles: Obstacles,
    opts: ItemOptions,
    airspace: AirspaceContext | None,
    swap_s: float = SWAP_S,
    assignments: list[Assignment] | None = None,
) -> list[Sortie]:
    """`assignments`, when given, fixes the sorties (a solver upstream made them)."""
    land_xy = None
    if opts.land_at is not None:
        e, n = frame.geodetic2en(opts.land_at[1], opts.land_at[2])
        land_xy = (float(e), float(n))
    scale = 1.0
    for _attempt in range(4):
        plan = assignments if assignments is not None else split_work(units, drones, alt_m, swap_s, scale)
        sorties = []
        over = 0.0
        for a in plan:
            d = drones[a.drone]
            nodes = [n for i in a.units for n in units[i].nodes]
            nodes = connect(d.home_enu, nodes, land_xy or d.home_enu, alt_m, obstacles)
            stats = path_metrics(d.home_enu, nodes, d.model, land_xy)
            over = max(over, stats.duration_s / d.model.usable_s)
            sorties.append(Sortie(drone=a.drone, home=d.home, nodes=nodes, stats=stats, start_s=a.start_s))
        if over <= 1.0 + 1e-9:
            break
        if assignments is not None:
            raise BadInput("the detours around no-fly zones make a sortie longer than one battery allows")
        scale /= over * 1.02
    else:
        raise BadInput("the detours around no-fly zones make a sortie longer than one battery allows")
    _retime(sorties, swap_s)
    for k, s in enumerate(sorties, start=1):
        s.plan = path_items(s.home, s.nodes, frame, replace(opts, speed_m_s=drones[s.drone].model.cruise_speed_m_s))
        # Always checked: without zones the height rule still applies.
        ctx = airspace or AirspaceContext()
        require_clear(s.plan, replace(ctx, home_amsl_m=s.home.alt_amsl_m or ctx.home_amsl_m), f"sortie {k}")
    return sorties


def _retime(sorties: list[Sortie], swap_s: float) -> None:
    """Start times from the final durations: each drone flies its sorties back to back."""
    finish: dict[int, float] = {}
    for s in sorted(sorties, key=lambda s: (s.drone, s.start_s)):
        s.start_s = finish[s.drone] + swap_s if s.drone in finish else 0.0
        finish[s.drone] = s.start_s + s.stats.duration_s


def totals(sorties: list[Sortie]) -> PlanStats:
    st = PlanStats()
    st.length_m = sum(s.stats.length_m for s in sorties)
    st.duration_s = sum(s.stats.duration_s for s in sorties)
    st.makespan_s = max((s.start_s + s.stats.duration_s for s in sorties), default=0.0)
    st.photos = sum(s.stats.photos for s in sorties)
    st.sorties = len(sorties)
    return st
