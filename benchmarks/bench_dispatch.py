"""Dispatching: latency from trigger to take-off command (airspace wait excluded), and concurrent
runs on one 2-core machine with simulated drones; beside dispatching the same runs one at a time."""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
N_CONCURRENT = 50
N_SEQUENTIAL = 5
SPEED = 5.0


async def _setup(tmp: Path, n: int):  # type: ignore[no-untyped-def]
    sys.path.insert(0, str(ROOT))
    from airspace.local_authority import LocalAuthority
    from core.db import Database
    from core.events import EventBus
    from core.models import Drone
    from core.settings import FleetSettings
    from fleet.dispatcher import Dispatcher
    from fleet.manager import FleetManager
    from tests.fleet.simfleet import start_sim

    sim = start_sim(n, SPEED)
    db = Database(f"sqlite:///{tmp / 'dispatch.db'}")
    db.upgrade()
    with db.session() as s:
        for i in range(n):
            s.add(Drone(id=f"b{i:03d}", name=f"b{i}", connection_url=sim.url(i + 1), state="offline"))
    bus = EventBus(db)
    await bus.start()
    manager = FleetManager(db, bus, FleetSettings(landed_idle_after_s=1.0, telemetry_live=False))
    await manager.start()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if all(link.link_up and link.sm.state.value == "idle" and link.tel.battery is not None
               for link in manager.links.values()) and len(manager.links) == n:
            break
        await asyncio.sleep(0.5)
    dispatcher = Dispatcher(db, bus, manager, LocalAuthority())
    return sim, db, bus, manager, dispatcher


def _plan_id(db, home: tuple[float, float]) -> str:  # type: ignore[no-untyped-def]
    from core.models import Plan as PlanRow
    from missions.formats.qgc_plan import plan_document
    from tests.fleet.simfleet import Plan

    plan = Plan(*home).takeoff(10).waypoint(20, 0, 10).rtl().plan
    pid = uuid.uuid4().hex
    with db.session() as s:
        s.add(PlanRow(id=pid, name="bench", doc={"sorties": [{"plan": plan_document(plan)}]}))
    return pid


def _new_runs(db, plan_id: str, k: int) -> list[str]:  # type: ignore[no-untyped-def]
    from core.models import Mission

    ids = [f"bench-{uuid.uuid4().hex[:8]}" for _ in range(k)]
    with db.session() as s:
        for rid in ids:
            s.add(Mission(id=rid, plan_id=plan_id, state="scheduled"))
    return ids


def _latencies(bus, run_ids: list[str]) -> list[float]:  # type: ignore[no-untyped-def]
    """trigger -> take-off command, minus the time spent filing (the airspace wait)."""
    out = []
    rows = bus.store.read(0, 1_000_000, None, None)
    by_run: dict[str, dict[str, float]] = {}
    for e in rows:
        if e.subject in run_ids and e.type.startswith("skypatrol.mission."):
            by_run.setdefault(e.subject, {}).setdefault(e.type.split(".")[2], e.time.timestamp())
    for t in by_run.values():
        if {"planning", "started", "filing", "approved"} <= set(t):
            out.append((t["started"] - t["planning"]) - (t["approved"] - t["filing"]))
    return out


async def _run_batch(dispatcher, run_ids: list[str], concurrent: bool) -> float:  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    if concurrent:
        for rid in run_ids:
            dispatcher.submit(rid)
        await asyncio.gather(*(dispatcher.wait(rid) for rid in run_ids))
    else:
        for rid in run_ids:
            dispatcher.submit(rid)
            await dispatcher.wait(rid)
    return time.perf_counter() - t0


async def _bench() -> list[dict]:
    import resource

    from core.models import Mission

    with tempfile.TemporaryDirectory() as d:
        sim, db, bus, manager, dispatcher = await _setup(Path(d), N_CONCURRENT)
        try:
            home = sim.home(1)
            plan_id = _plan_id(db, home)
            seq_ids = _new_runs(db, plan_id, N_SEQUENTIAL)
            seq_s = await _run_batch(dispatcher, seq_ids, concurrent=False)
            await asyncio.sleep(2.0)  # all back to idle
            cpu0 = resource.getrusage(resource.RUSAGE_SELF)
            conc_ids = _new_runs(db, plan_id, N_CONCURRENT)
            conc_s = await _run_batch(dispatcher, conc_ids, concurrent=True)
            cpu1 = resource.getrusage(resource.RUSAGE_SELF)
            with db.session() as s:
                states = [s.get(Mission, r).state for r in conc_ids]
            lat = _latencies(bus, conc_ids)
            seq_lat = _latencies(bus, seq_ids)
        finally:
            await dispatcher.stop()
            await manager.stop()
            await bus.stop()
            from tests.fleet.simfleet import stop_sim

            stop_sim(sim)
    completed = states.count("completed")
    cpu = (cpu1.ru_utime + cpu1.ru_stime) - (cpu0.ru_utime + cpu0.ru_stime)
    return [
        {"name": f"concurrent runs completed ({N_CONCURRENT} simulated drones, one run each)", "value": completed,
         "unit": "runs", "goal": ">= 50",
         "note": f"{N_CONCURRENT} runs in {conc_s:.0f} s wall at sim speed {SPEED:g}; platform CPU {cpu:.1f} s"},
        {"name": "throughput, all at once vs one at a time", "value": N_CONCURRENT / conc_s * 60, "unit": "runs/min",
         "baseline": N_SEQUENTIAL / seq_s * 60, "note": f"baseline: {N_SEQUENTIAL} runs dispatched sequentially"},
        {"name": "dispatch latency p50 (trigger -> take-off command, filing excluded)",
         "value": statistics.median(lat) * 1000 if lat else float("nan"), "unit": "ms",
         "baseline": statistics.median(seq_lat) * 1000 if seq_lat else None,
         "note": f"p95 {statistics.quantiles(lat, n=20)[-1] * 1000:.0f} ms with {N_CONCURRENT} at once; "
                 "baseline: one run at a time" if len(lat) > 2 else "too few runs"},
    ]


def run() -> list[dict]:
    return asyncio.run(_bench())
