"""Area survey: boustrophedon lanes over a polygon with holes, camera-aware.

Pipeline (one stage per module): camera maths (camera) -> no-fly cut-outs (airspace_aware) ->
sweep angle (sweep_angle) -> decomposition into cells (decomposition) -> lane order and
turnarounds (route) -> sorties and transit (sorties, transit, assemble) -> items (itemize).
"""

from __future__ import annotations

import shapely
from shapely.geometry import LineString, MultiPolygon, Polygon
from shapely.ops import unary_union

from core.errors import BadInput
from geo import LocalFrame, geometry_enu2geodetic, geometry_geodetic2enu
from missions.airspace_aware import AirspaceContext, no_fly_enu
from missions.assemble import SWAP_S, assemble, locate_drones, totals
from missions.camera import Camera
from missions.decomposition import as_polygons
from missions.itemize import ItemOptions
from missions.route import lane_units, order_cells
from missions.sorties import DroneSpec, split_long_units
from missions.sweep_angle import best_sweep_angle, cells_at
from missions.transit import Obstacles
from missions.types import PlanResult

ALT_TOL_M = 1e-6


def resolve_altitude(camera: Camera, alt_m: float | None, gsd_cm: float | None, max_alt_m: float) -> float:
    if (alt_m is None) == (gsd_cm is None):
        raise BadInput("give exactly one of the altitude (--alt-m) and the ground sample distance (--gsd-cm)")
    alt = alt_m if alt_m is not None else camera.alt_for_gsd_m(gsd_cm)  # type: ignore[arg-type]
    if alt <= 0:
        raise BadInput(f"altitude must be positive, got {alt} m")
    if alt > max_alt_m + ALT_TOL_M:
        raise BadInput(
            f"altitude {alt:.1f} m is above the drone's ceiling of {max_alt_m:.0f} m"
            + (f" (GSD {gsd_cm} cm needs it)" if gsd_cm is not None else "")
        )
    return alt


def plan_survey(
    area: Polygon | MultiPolygon,
    drones: list[DroneSpec],
    *,
    camera: Camera,
    alt_m: float | None = None,
    gsd_cm: float | None = None,
    front_overlap: float = 75.0,
    side_overlap: float = 65.0,
    spacing_m: float | None = None,
    trigger_m: float | None = None,
    angle_deg: float | None = None,
    turnaround_m: float = 5.0,
    airspace: AirspaceContext | None = None,
    items: ItemOptions | None = None,
    swap_s: float = SWAP_S,
) -> PlanResult:
    """Plan a survey of `area` (lon/lat, holes allowed) with the given drones."""
    if not drones:
        raise BadInput("no drones given")
    model = drones[0].model
    alt = resolve_altitude(camera, alt_m, gsd_cm, min(d.model.max_alt_m for d in drones))
    spacing = spacing_m if spacing_m is not None else camera.lane_spacing_m(alt, side_overlap)
    trigger = trigger_m if trigger_m is not None else camera.trigger_distance_m(alt, front_overlap)
    if spacing <= 0 or trigger <= 0:
        raise BadInput("lane spacing and trigger distance must be positive")
    c = area.centroid
    frame = LocalFrame(c.y, c.x)
    field = geometry_geodetic2enu(area, frame)
    no_fly = no_fly_enu(airspace, frame, alt) if airspace is not None else None
    obstacles = Obstacles(no_fly)
    plannable = field.difference(no_fly) if no_fly is not None else field
    plannable = unary_union([p for p in as_polygons(plannable) if p.area > 1.0])
    if plannable.is_empty:
        raise BadInput("nothing to survey: the whole area lies in no-fly zones")
    holes = unary_union([Polygon(r) for p in as_polygons(field) for r in p.interiors])
    blocked = unary_union([g for g in (holes, no_fly) if g is not None and not g.is_empty]) or None
    if blocked is not None and blocked.is_empty:
        blocked = None
    turn_penalty = model.turn_s * model.cruise_speed_m_s
    if angle_deg is None:
        angle, cells = best_sweep_angle(plannable, blocked, spacing, turnaround_m, turn_penalty)
    else:
        angle = angle_deg % 180.0
        cells = cells_at(plannable, blocked, angle, spacing)
    if not cells:
        raise BadInput("the area is too small for a single lane at this spacing")
    drones = locate_drones(drones, frame, obstacles)
    ordered = order_cells(cells, drones[0].home_enu, angle)
    units = lane_units(ordered, angle, alt, trigger, turnaround_m)
    if obstacles:  # a turnaround point inside a no-fly zone is dropped (the lane end is outside)
        for u in units:
            u.nodes = [n for n in u.nodes if n.kind != "turnaround" or not obstacles.contains(n.xy)]
    units = split_long_units(units, drones, alt)
    sorties = assemble(units, drones, frame, alt, obstacles, items or ItemOptions(), airspace, swap_s)
    lanes = [LineString([n.xy for n in u.nodes if n.kind in ("lane_start", "lane_end")]) for u in units]
    footprint_w = camera.footprint_m(alt)[0]
    covered = shapely.union_all([ln.buffer(footprint_w / 2.0) for ln in lanes]).intersection(plannable)
    st = totals(sorties)
    st.area_m2 = field.area
    st.plannable_m2 = plannable.area
    st.covered_m2 = covered.area
    st.not_covered_m2 = max(field.area - plannable.area, 0.0)
    st.gsd_cm, st.alt_m, st.spacing_m, st.trigger_m, st.angle_deg = (
        camera.gsd_cm(alt),
        alt,
        spacing,
        trigger,
        angle,
    )
    notes = []
    if no_fly is not None and airspace is not None and st.not_covered_m2 > 0.5:
        margin = airspace.margin_m
        notes.append(f"not covered: {st.not_covered_m2:.0f} m² in no-fly zones (with {margin:g} m margin)")
    lanes_ll = [[(y, x) for x, y in geometry_enu2geodetic(ln, frame).coords] for ln in lanes]
    return PlanResult(sorties=sorties, stats=st, lanes=lanes_ll, notes=notes)
