"""Fleet split: ordered work into sorties that fit a battery (reserve kept), assigned to drones
so the last one lands as early as possible (makespan).

The work comes as an ordered list of units (lanes, passes, points). Sorties are contiguous runs
of it: for k sorties the run lengths are balanced by bisection on the longest sortie, sorties
go to drones longest-first onto whichever drone would finish it soonest (LPT, with a battery swap
between a drone's sorties), and the k with the smallest makespan wins.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from core.errors import BadInput
from missions.drone import DroneModel
from missions.types import Home, PathNode, WorkUnit


@dataclass(slots=True)
class DroneSpec:
    home: Home
    model: DroneModel
    home_enu: tuple[float, float] = (0.0, 0.0)


@dataclass(slots=True)
class Assignment:
    drone: int
    units: list[int]  # indexes into the work units, in flying order
    duration_s: float
    start_s: float


def unit_length_m(u: WorkUnit) -> float:
    return sum(math.dist(a.xy, b.xy) for a, b in zip(u.nodes, u.nodes[1:], strict=False))


def split_long_units(units: list[WorkUnit], drones: list[DroneSpec], alt_m: float) -> list[WorkUnit]:
    """Cut lanes that one battery cannot fly into pieces that it can (triggers kept): pieces
    are taken greedily along the lane, each as long as flying it alone from the farthest-off
    home still fits."""
    usable = min(d.model.usable_s for d in drones)
    speed = min(d.model.cruise_speed_m_s for d in drones)
    fixed = max(alt_m / d.model.climb_m_s + alt_m / d.model.descent_m_s + 4 * d.model.turn_s for d in drones)
    homes = [d.home_enu for d in drones]

    def fits(nodes: list[PathNode], work_s: float) -> bool:
        inner = sum(math.dist(p.xy, q.xy) for p, q in itertools.pairwise(nodes))
        out_back = max(math.dist(h, nodes[0].xy) + math.dist(nodes[-1].xy, h) for h in homes)
        return (inner + out_back) / speed + fixed + work_s <= usable

    out: list[WorkUnit] = []
    for u in units:
        kinds = [n.kind for n in u.nodes]
        if fits(u.nodes, u.work_s) or "lane_start" not in kinds or "lane_end" not in kinds:
            out.append(u)  # what still does not fit is reported by split_work
            continue
        s, e = u.nodes[kinds.index("lane_start")], u.nodes[kinds.index("lane_end")]

        t0 = 0.0
        length = max(math.dist(s.xy, e.xy), 1e-9)
        while t0 < 1.0:
            if fits(_lane_piece(u, t0, 1.0), 0.0):
                t1 = 1.0
            else:
                lo, hi = t0, 1.0
                while (hi - lo) * length > 1.0:
                    mid = 0.5 * (lo + hi)
                    lo, hi = (mid, hi) if fits(_lane_piece(u, t0, mid), 0.0) else (lo, mid)
                if (lo - t0) * length < 10.0:
                    raise BadInput("part of the area is too far from every home for one battery (with reserve)")
                t1 = lo
            out.append(WorkUnit(nodes=_lane_piece(u, t0, t1)))
            t0 = t1
    return out


def _lane_piece(u: WorkUnit, t0: float, t1: float) -> list[PathNode]:
    """The part [t0, t1] (fractions) of a lane unit, with its turnarounds at the lane's ends."""
    kinds = [n.kind for n in u.nodes]
    s, e = u.nodes[kinds.index("lane_start")], u.nodes[kinds.index("lane_end")]

    def at(t: float, kind: str, trig: float | None) -> PathNode:
        return PathNode(s.e_m + t * (e.e_m - s.e_m), s.n_m + t * (e.n_m - s.n_m), s.alt_m, kind, trigger_m=trig)

    nodes = [at(t0, "lane_start", s.trigger_m), at(t1, "lane_end", e.trigger_m)]
    if t0 == 0.0 and kinds[0] == "turnaround":
        nodes.insert(0, u.nodes[0])
    if t1 == 1.0 and kinds[-1] == "turnaround":
        nodes.append(u.nodes[-1])
    return nodes


class _Costs:
    """Sortie durations of contiguous runs, in O(1) per run from prefix sums."""

    def __init__(self, units: list[WorkUnit], drones: list[DroneSpec], alt_m: float) -> None:
        self.n = len(units)
        self.speed = np.array([d.model.cruise_speed_m_s for d in drones])
        self.fixed = np.array([alt_m / d.model.climb_m_s + alt_m / d.model.descent_m_s for d in drones])
        self.turn = np.array([d.model.turn_s for d in drones])
        self.usable = np.array([d.model.usable_s for d in drones])
        lengths = np.array([unit_length_m(u) for u in units])
        junction = np.array([math.dist(a.end, b.start) for a, b in itertools.pairwise(units)] + [0.0])
        self.cum_len = np.concatenate([[0.0], np.cumsum(lengths)])
        self.cum_junc = np.concatenate([[0.0], np.cumsum(junction)])
        self.cum_work = np.concatenate([[0.0], np.cumsum([u.work_s for u in units])])
        self.cum_nodes = np.concatenate([[0.0], np.cumsum([len(u.nodes) for u in units])])
        homes = np.array([d.home_enu for d in drones])
        starts = np.array([u.start for u in units])
        ends = np.array([u.end for u in units])
        self.to_start = np.linalg.norm(starts[None, :, :] - homes[:, None, :], axis=2)  # drone x unit
        self.from_end = np.linalg.norm(ends[None, :, :] - homes[:, None, :], axis=2)

    def run_s(self, a: int, b: int) -> np.ndarray:
        """Duration of units a..b (inclusive) for every drone."""
        dist = (
            self.to_start[:, a]
            + self.cum_len[b + 1]
            - self.cum_len[a]
            + self.cum_junc[b]
            - self.cum_junc[a]
            + self.from_end[:, b]
        )
        turns = self.cum_nodes[b + 1] - self.cum_nodes[a]
        return dist / self.speed + self.fixed + self.cum_work[b + 1] - self.cum_work[a] + turns * self.turn

    def fits(self, a: int, b: int, cap_s: float) -> bool:
        t = self.run_s(a, b)
        return bool(np.all(t <= np.minimum(self.usable, cap_s)))


def _greedy(costs: _Costs, cap_s: float) -> list[tuple[int, int]] | None:
    """Contiguous runs, each as long as it fits (all of a run's prefixes evaluated at once)."""
    limit = np.minimum(costs.usable, cap_s)[:, None]
    runs, a = [], 0
    while a < costs.n:
        b = np.arange(a, costs.n)
        dist = (
            costs.to_start[:, a : a + 1]
            + costs.cum_len[b + 1]
            - costs.cum_len[a]
            + costs.cum_junc[b]
            - costs.cum_junc[a]
            + costs.from_end[:, b]
        )
        t = (
            dist / costs.speed[:, None]
            + costs.fixed[:, None]
            + (costs.cum_work[b + 1] - costs.cum_work[a])
            + (costs.cum_nodes[b + 1] - costs.cum_nodes[a]) * costs.turn[:, None]
        )
        ok = np.all(t <= limit, axis=0)
        if not ok[0]:
            return None
        bad = np.flatnonzero(~ok)
        end = a + (int(bad[0]) - 1 if len(bad) else len(ok) - 1)
        runs.append((a, end))
        a = end + 1
    return runs


def _balanced(costs: _Costs, k: int, hi: float) -> list[tuple[int, int]] | None:
    lo_cap, hi_cap = 0.0, hi
    best = _greedy(costs, hi_cap)
    if best is None:
        return None
    while hi_cap - lo_cap > 0.5:  # half a second is as fine as durations are worth
        mid = 0.5 * (lo_cap + hi_cap)
        runs = _greedy(costs, mid)
        if runs is not None and len(runs) <= k:
            best, hi_cap = runs, mid
        else:
            lo_cap = mid
    return best


def _assign(costs: _Costs, runs: list[tuple[int, int]], n_drones: int, swap_s: float) -> tuple[float, list[Assignment]]:
    durs = [costs.run_s(a, b) for a, b in runs]
    finish = np.zeros(n_drones)
    used = np.zeros(n_drones, dtype=bool)
    out = []
    for r in sorted(range(len(runs)), key=lambda r: -float(durs[r].min())):
        start = finish + np.where(used, swap_s, 0.0)
        d = int(np.argmin(start + durs[r]))
        out.append(
            Assignment(
                drone=d,
                units=list(range(runs[r][0], runs[r][1] + 1)),
                duration_s=float(durs[r][d]),
                start_s=float(start[d]),
            )
        )
        finish[d] = start[d] + durs[r][d]
        used[d] = True
    return float(finish.max()), sorted(out, key=lambda a: (a.drone, a.start_s))


def split_work(
    units: list[WorkUnit],
    drones: list[DroneSpec],
    alt_m: float,
    swap_s: float = 300.0,
    cap_scale: float = 1.0,
) -> list[Assignment]:
    """`cap_scale` < 1 leaves room when later stages (detours) lengthen the sorties."""
    if not units:
        raise BadInput("nothing to fly: the pattern produced no work")
    if not drones:
        raise BadInput("no drones given")
    costs = _Costs(units, drones, alt_m)
    costs.usable = costs.usable * cap_scale
    usable = float(costs.usable.min())
    minimal = _greedy(costs, usable)
    if minimal is None:
        bad = next(a for a in range(costs.n) if not costs.fits(a, a, usable))
        raise BadInput(f"work item {bad + 1} cannot be flown within one battery (with reserve) from any home")
    best: tuple[float, list[Assignment]] | None = None
    for k in range(len(minimal), len(minimal) + 2 * len(drones) + 1):
        runs = _balanced(costs, k, usable)
        if runs is None:
            continue
        result = _assign(costs, runs, len(drones), swap_s)
        if best is None or result[0] < best[0] - 1e-6:
            best = result
        if k > costs.n:
            break
    assert best is not None
    return best[1]
