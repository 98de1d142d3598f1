"""Corridor patrol along a road centre line: parallel passes (offsets of the line) so the
camera footprints cover the corridor width, flown back and forth, triggering by distance."""

from __future__ import annotations

import math

import numpy as np
import shapely
from shapely.geometry import LineString, MultiLineString
from shapely.ops import substring

from core.errors import BadInput
from geo import LocalFrame, geometry_enu2geodetic, geometry_geodetic2enu
from missions.airspace_aware import AirspaceContext, no_fly_enu
from missions.assemble import SWAP_S, assemble, locate_drones, totals
from missions.camera import Camera
from missions.itemize import ItemOptions
from missions.sorties import DroneSpec
from missions.survey import resolve_altitude
from missions.transit import Obstacles
from missions.types import PathNode, PlanResult, WorkUnit

MAX_PASSES = 200


def pass_offsets_m(width_m: float, footprint_w_m: float, max_spacing_m: float) -> list[float]:
    """Offsets (left positive) of the passes: the fewest whose footprints, at most
    `max_spacing_m` apart, cover the width; centred on the line."""
    if width_m <= footprint_w_m:
        return [0.0]
    n = math.ceil((width_m - footprint_w_m) / max_spacing_m - 1e-9) + 1
    if n > MAX_PASSES:
        raise BadInput(f"{n} passes to cover {width_m:g} m is too many (at most {MAX_PASSES}); is it an area?")
    step = (width_m - footprint_w_m) / (n - 1)
    return [(k - (n - 1) / 2.0) * step for k in range(n)]


def _parts(g: shapely.Geometry) -> list[LineString]:
    if isinstance(g, LineString):
        return [] if g.is_empty else [g]
    if isinstance(g, MultiLineString):
        return [p for p in g.geoms if not p.is_empty]
    return [p for p in shapely.get_parts(g) if isinstance(p, LineString) and not p.is_empty]


def _extend(line: LineString, d: float) -> LineString:
    c = np.asarray(line.coords)
    if d <= 0 or len(c) < 2:
        return line
    a = c[0] - c[1]
    b = c[-1] - c[-2]
    a = a / (np.linalg.norm(a) or 1.0)
    b = b / (np.linalg.norm(b) or 1.0)
    return LineString([c[0] + a * d, *c, c[-1] + b * d])


def plan_corridor(
    line: LineString,
    drones: list[DroneSpec],
    *,
    width_m: float,
    camera: Camera,
    alt_m: float | None = None,
    gsd_cm: float | None = None,
    front_overlap: float = 75.0,
    side_overlap: float = 65.0,
    spacing_m: float | None = None,
    trigger_m: float | None = None,
    turnaround_m: float = 5.0,
    piece_m: float = 1000.0,
    airspace: AirspaceContext | None = None,
    items: ItemOptions | None = None,
    swap_s: float = SWAP_S,
) -> PlanResult:
    if width_m <= 0:
        raise BadInput(f"corridor width must be positive, got {width_m} m")
    if not drones:
        raise BadInput("no drones given")
    alt = resolve_altitude(camera, alt_m, gsd_cm, min(d.model.max_alt_m for d in drones))
    fw = camera.footprint_m(alt)[0]
    spacing = spacing_m if spacing_m is not None else camera.lane_spacing_m(alt, side_overlap)
    trigger = trigger_m if trigger_m is not None else camera.trigger_distance_m(alt, front_overlap)
    c = line.centroid
    frame = LocalFrame(c.y, c.x)
    centre = geometry_geodetic2enu(line, frame)
    if centre.length < 1.0:
        raise BadInput("the corridor line is shorter than 1 m")
    corridor = centre.buffer(width_m / 2.0, cap_style="flat")
    no_fly = no_fly_enu(airspace, frame, alt) if airspace is not None else None
    obstacles = Obstacles(no_fly)
    units: list[WorkUnit] = []
    passes: list[LineString] = []
    for k, off in enumerate(pass_offsets_m(width_m, fw, spacing)):
        parts = _parts(centre.offset_curve(off, join_style="mitre", mitre_limit=3.0)) if off else [centre]
        for p in parts:
            p = LineString(p.coords[::-1]) if k % 2 else p
            pieces = _parts(p.difference(no_fly)) if no_fly is not None else [p]
            for piece in pieces:
                n_sub = max(1, math.ceil(piece.length / piece_m))
                for j in range(n_sub):
                    sub = substring(piece, piece.length * j / n_sub, piece.length * (j + 1) / n_sub)
                    passes.append(sub)
                    nodes = [PathNode(x, y, alt, kind="lane") for x, y in sub.coords]
                    nodes[0].kind, nodes[0].trigger_m = "lane_start", trigger
                    nodes[-1].kind, nodes[-1].trigger_m = "lane_end", 0.0
                    if turnaround_m > 0:
                        ext = _extend(sub, turnaround_m).coords
                        if j == 0:
                            nodes.insert(0, PathNode(*ext[0], alt, kind="turnaround"))
                        if j == n_sub - 1:
                            nodes.append(PathNode(*ext[-1], alt, kind="turnaround"))
                    if obstacles:
                        nodes = [n for n in nodes if n.kind != "turnaround" or not obstacles.contains(n.xy)]
                    units.append(WorkUnit(nodes=nodes))
    if not units:
        raise BadInput("nothing to fly: the whole corridor lies in no-fly zones")
    drones = locate_drones(drones, frame, obstacles)
    sorties = assemble(units, drones, frame, alt, obstacles, items or ItemOptions(), airspace, swap_s)
    plannable = corridor.difference(no_fly) if no_fly is not None else corridor
    covered = shapely.union_all([p.buffer(fw / 2.0) for p in passes]).intersection(plannable)
    st = totals(sorties)
    st.area_m2, st.plannable_m2, st.covered_m2 = corridor.area, plannable.area, covered.area
    st.not_covered_m2 = max(corridor.area - plannable.area, 0.0)
    st.gsd_cm, st.alt_m, st.spacing_m, st.trigger_m = camera.gsd_cm(alt), alt, spacing, trigger
    lanes_ll = [[(y, x) for x, y in geometry_enu2geodetic(p, frame).coords] for p in passes]
    notes = [f"not covered: {st.not_covered_m2:.0f} m² inside no-fly zones"] if st.not_covered_m2 > 0.5 else []
    return PlanResult(sorties=sorties, stats=st, lanes=lanes_ll, notes=notes)
