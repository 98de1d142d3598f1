"""Inspection points: hover, orbit or photo at each target with the gimbal set; the visiting
order from the tour solver, the points shared among drones to finish soonest (makespan).

Ordering (for one drone or many): one giant tour (tour.solve_tour), cut into sorties that fit
the battery (sorties.split_work), then improved: points move from the drone that lands last to
wherever they cost least (relocate), and each sortie's own tour is re-optimised with 2-opt.
"""

from __future__ import annotations

import math
import time

import numpy as np

from core.errors import BadInput
from geo import LocalFrame
from missions.airspace_aware import AirspaceContext, no_fly_enu
from missions.assemble import SWAP_S, assemble, locate_drones, totals
from missions.inputs import InspectionPoint
from missions.itemize import ItemOptions
from missions.sorties import Assignment, DroneSpec, split_work
from missions.tour import distance_matrix, or_opt, solve_tour, two_opt
from missions.transit import Obstacles
from missions.types import Orbit, PathNode, PlanResult, WorkUnit

PHOTO_SETTLE_S = 2.0  # hold still for a sharp picture
ORBIT_SPEED_M_S = 5.0


def target_node(p: InspectionPoint, e: float, n: float) -> PathNode:
    yaw = math.nan if p.yaw_deg is None else p.yaw_deg
    node = PathNode(
        e,
        n,
        p.alt_m,
        kind="target",
        gimbal=(p.gimbal_pitch_deg, 0.0 if p.yaw_deg is None else p.yaw_deg),
        yaw_deg=yaw,
    )
    if p.action == "hover":
        node.hold_s = p.hover_s
    elif p.action == "orbit":
        node.orbit = Orbit(p.radius_m, p.turns, p.clockwise)
    else:
        node.hold_s = PHOTO_SETTLE_S
        node.photo = True
    return node


def unit_work_s(node: PathNode, speed: float) -> float:
    t = node.hold_s
    if node.orbit is not None:
        t += 2 * math.pi * node.orbit.radius_m * node.orbit.turns / min(speed, ORBIT_SPEED_M_S)
    return t


class _Fleet:
    """Sortie durations over a distance matrix [homes..., points...]."""

    def __init__(self, xy: np.ndarray, drones: list[DroneSpec], work: np.ndarray, alt_m: float) -> None:
        self.h = len(drones)
        self.d = distance_matrix(xy)
        self.work = work
        self.speed = np.array([dr.model.cruise_speed_m_s for dr in drones])
        self.fixed = np.array([alt_m / dr.model.climb_m_s + alt_m / dr.model.descent_m_s for dr in drones])
        self.turn = np.array([dr.model.turn_s for dr in drones])
        self.usable = np.array([dr.model.usable_s for dr in drones])

    def duration(self, drone: int, seq: list[int]) -> float:
        if not seq:
            return 0.0
        path = [drone, *(self.h + p for p in seq), drone]
        length = float(self.d[path[:-1], path[1:]].sum())
        return (
            length / self.speed[drone] + self.fixed[drone] + float(self.work[seq].sum()) + len(seq) * self.turn[drone]
        )

    def tour(self, drone: int, seq: list[int], deadline: float) -> list[int]:
        if len(seq) < 3:
            return seq
        nodes = [drone, *(self.h + p for p in seq)]
        sub = self.d[np.ix_(nodes, nodes)]
        order = or_opt(sub, two_opt(sub, list(range(len(nodes))), deadline), deadline)
        order = two_opt(sub, order, deadline)
        z = order.index(0)
        order = order[z:] + order[:z]
        return [seq[k - 1] for k in order[1:]]


def improve(assign: list[Assignment], fleet: _Fleet, swap_s: float, budget_s: float) -> list[Assignment]:
    """Relocate points away from the drone that lands last while that lands it earlier."""
    deadline = time.perf_counter() + budget_s
    seqs = [list(a.units) for a in assign]
    owner = [a.drone for a in assign]
    dur = [fleet.duration(owner[k], s) for k, s in enumerate(seqs)]

    def finish(drone: int) -> float:
        ks = [k for k in range(len(seqs)) if owner[k] == drone and seqs[k]]
        return sum(dur[k] for k in ks) + swap_s * max(len(ks) - 1, 0)

    for k in range(len(seqs)):
        seqs[k] = fleet.tour(owner[k], seqs[k], deadline)
        dur[k] = fleet.duration(owner[k], seqs[k])
    while time.perf_counter() < deadline:
        finishes = np.array([finish(dr) for dr in range(fleet.h)])
        worst = int(np.argmax(finishes))
        best = None
        for k in (k for k in range(len(seqs)) if owner[k] == worst):
            for pos, p in enumerate(seqs[k]):
                rest = seqs[k][:pos] + seqs[k][pos + 1 :]
                new_k = fleet.duration(worst, rest)
                for j in range(len(seqs)):
                    if j == k:
                        continue
                    dr = owner[j]
                    cyc = [dr, *(fleet.h + q for q in seqs[j]), dr]
                    a, b = np.array(cyc[:-1]), np.array(cyc[1:])
                    pt = fleet.h + p
                    delta = fleet.d[a, pt] + fleet.d[pt, b] - fleet.d[a, b]
                    at = int(np.argmin(delta))
                    new_j = dur[j] + (
                        float(delta[at]) / fleet.speed[dr]
                        + fleet.work[p]
                        + fleet.turn[dr]
                        + (fleet.fixed[dr] if not seqs[j] else 0.0)
                    )
                    if new_j > fleet.usable[dr]:
                        continue
                    f_worst = finishes[worst] - dur[k] + new_k
                    f_dr = finishes[dr] - dur[j] + new_j if dr != worst else f_worst - dur[j] + new_j
                    others = np.delete(finishes, [worst, dr]) if dr != worst else np.delete(finishes, [worst])
                    peak = max(f_worst, f_dr, float(others.max()) if len(others) else 0.0)
                    if peak < finishes[worst] - 1e-6 and (best is None or peak < best[0]):
                        best = (peak, k, pos, j, at)
        if best is None:
            break
        _, k, pos, j, at = best
        p = seqs[k].pop(pos)
        seqs[j].insert(at, p)
        for m in (k, j):
            seqs[m] = fleet.tour(owner[m], seqs[m], deadline)
            dur[m] = fleet.duration(owner[m], seqs[m])
    out = [Assignment(owner[k], seqs[k], dur[k], 0.0) for k in range(len(seqs)) if seqs[k]]
    return sorted(out, key=lambda a: (a.drone, -a.duration_s))


def makespan_s(assign: list[Assignment], fleet: _Fleet, swap_s: float) -> float:
    finish: dict[int, float] = {}
    for a in assign:
        finish[a.drone] = finish.get(a.drone, -swap_s) + swap_s + fleet.duration(a.drone, a.units)
    return max(finish.values(), default=0.0)


def _finishes(seqs: list[list[int]], owner: list[int], fleet: _Fleet, swap_s: float) -> np.ndarray:
    out = np.zeros(fleet.h)
    used = np.zeros(fleet.h, dtype=int)
    for k, seq in enumerate(seqs):
        if seq:
            out[owner[k]] += fleet.duration(owner[k], seq)
            used[owner[k]] += 1
    return out + swap_s * np.maximum(used - 1, 0)


def ruin_and_recreate(
    assign: list[Assignment], fleet: _Fleet, swap_s: float, deadline: float, rng: np.random.Generator, size: int = 12
) -> list[Assignment]:
    """Large neighbourhood search: take out a few neighbouring points, put each back where it
    raises the latest landing least (then the added distance), keep the result when the
    makespan (then the total) is no worse."""
    seqs = [list(a.units) for a in assign]
    owner = [a.drone for a in assign]
    n = len(fleet.work)
    pts_xy = fleet.d[fleet.h :, fleet.h :]

    def score(sq: list[list[int]]) -> tuple[float, float]:
        f = _finishes(sq, owner, fleet, swap_s)
        return float(f.max()), float(f.sum())

    best = score(seqs)
    while time.perf_counter() < deadline:
        seed_pt = int(rng.integers(n))
        removed = [int(p) for p in np.argsort(pts_xy[seed_pt])[: min(size, n)]]
        gone = set(removed)
        trial = [[p for p in sq if p not in gone] for sq in seqs]
        rng.shuffle(removed)
        ok = True
        for p in removed:
            fin = _finishes(trial, owner, fleet, swap_s)
            choice = None
            for j, sq in enumerate(trial):
                dr = owner[j]
                cyc = [dr, *(fleet.h + q for q in sq), dr]
                a_, b_ = np.array(cyc[:-1]), np.array(cyc[1:])
                pt = fleet.h + p
                delta = fleet.d[a_, pt] + fleet.d[pt, b_] - fleet.d[a_, b_]
                at = int(np.argmin(delta))
                add = (
                    float(delta[at]) / fleet.speed[dr]
                    + fleet.work[p]
                    + fleet.turn[dr]
                    + (0.0 if sq else fleet.fixed[dr])
                )
                if fleet.duration(dr, sq) + add > fleet.usable[dr]:
                    continue
                peak = max(float(fin.max()), fin[dr] + add)
                key = (peak, add)
                if choice is None or key < choice[0]:
                    choice = (key, j, at)
            if choice is None:
                ok = False
                break
            trial[choice[1]].insert(choice[2], p)
        if not ok:
            continue
        for j in range(len(trial)):
            trial[j] = fleet.tour(owner[j], trial[j], deadline)
        sc = score(trial)
        if sc <= best:
            best, seqs = sc, trial
    out = [Assignment(owner[k], seqs[k], fleet.duration(owner[k], seqs[k]), 0.0) for k in range(len(seqs)) if seqs[k]]
    return sorted(out, key=lambda a: (a.drone, -a.duration_s))


def order_points(
    xy: np.ndarray,
    work: np.ndarray,
    drones: list[DroneSpec],
    alt_m: float,
    swap_s: float = SWAP_S,
    budget_s: float = 0.7,
    seed: int = 0,
) -> list[Assignment]:
    """Sorties over the points (indexes into xy), ready for the drones: a giant tour, split to
    fit the batteries, relocations for the makespan, then ruin-and-recreate until the budget."""
    deadline = time.perf_counter() + budget_s
    rng = np.random.default_rng(seed)
    homes = np.array([d.home_enu for d in drones])
    dist = distance_matrix(np.vstack([homes[:1], xy]))
    fleet = _Fleet(np.vstack([homes, xy]), drones, work, alt_m)
    tour = solve_tour(dist, 0, time_budget_s=budget_s * 0.25)
    order = [k - 1 for k in tour[1:]]
    units = [WorkUnit(nodes=[PathNode(float(xy[k, 0]), float(xy[k, 1]), alt_m)], work_s=float(work[k])) for k in order]
    split = split_work(units, drones, alt_m, swap_s)
    assign = [Assignment(a.drone, [order[u] for u in a.units], a.duration_s, a.start_s) for a in split]
    assign = improve(assign, fleet, swap_s, budget_s * 0.25)
    return ruin_and_recreate(assign, fleet, swap_s, deadline, rng)


def plan_points(
    points: list[InspectionPoint],
    drones: list[DroneSpec],
    *,
    airspace: AirspaceContext | None = None,
    items: ItemOptions | None = None,
    swap_s: float = SWAP_S,
    budget_s: float = 0.6,
) -> PlanResult:
    if not points:
        raise BadInput("no inspection points")
    if not drones:
        raise BadInput("no drones given")
    ceiling = min(d.model.max_alt_m for d in drones)
    for k, p in enumerate(points, start=1):
        if p.alt_m > ceiling:
            raise BadInput(f"point {k} {p.name!r}: altitude {p.alt_m} m is above the drone ceiling {ceiling:.0f} m")
    lat0 = float(np.mean([p.lat for p in points]))
    lon0 = float(np.mean([p.lon for p in points]))
    frame = LocalFrame(lat0, lon0)
    alt = max(p.alt_m for p in points)
    no_fly = no_fly_enu(airspace, frame, alt) if airspace is not None else None
    obstacles = Obstacles(no_fly)
    e, n = frame.geodetic2en([p.lat for p in points], [p.lon for p in points])
    notes = []
    keep = []
    for k, p in enumerate(points):
        if obstacles.contains((float(e[k]), float(n[k]))):
            notes.append(f"point {k + 1} {p.name!r} lies in a no-fly zone: not visited")
        else:
            keep.append(k)
    if not keep:
        raise BadInput("every inspection point lies in a no-fly zone")
    drones = locate_drones(drones, frame, obstacles)
    speed = drones[0].model.cruise_speed_m_s
    nodes = [target_node(points[k], float(e[k]), float(n[k])) for k in keep]
    work = np.array([unit_work_s(nd, speed) for nd in nodes])
    xy = np.array([nd.xy for nd in nodes])
    assign = order_points(xy, work, drones, alt, swap_s, budget_s)
    units = [WorkUnit(nodes=[nd], work_s=float(work[k])) for k, nd in enumerate(nodes)]
    sorties = assemble(
        units, drones, frame, alt, obstacles, items or ItemOptions(), airspace, swap_s, assignments=assign
    )
    st = totals(sorties)
    return PlanResult(sorties=sorties, stats=st, notes=notes)
