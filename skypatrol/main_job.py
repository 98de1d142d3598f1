"""The main job's moving parts beside the server: the simulated fleet at the site's docks, the
default patrols (planned and scheduled through the API, as a pilot would), and the headless run
that flies one patrol and reports it."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from typing import Any

import httpx

from core.errors import BadInput, Unavailable
from skypatrol.site import Site

TERMINAL = ("completed", "rejected", "aborted", "failed", "missed")


def start_simulator(site: Site, base_port: int, speed: float, seed: int = 1) -> subprocess.Popen[str]:
    """`skypatrol sim` for the site's drones, one per dock, as a separate process on the wire."""
    docks = {d["id"]: d for d in site.docks}
    homes = []
    for d in site.drones:
        dock = docks.get(d.get("dock", ""), site.docks[0] if site.docks else None)
        if dock is None:
            raise BadInput(f"site {site.id}: drone {d['id']} has no dock")
        homes += ["--home", f"{dock['lat']},{dock['lon']},{dock.get('alt_amsl_m', 0.0)}"]
    cmd = [sys.executable, "-m", "sitl", "--drones", str(len(site.drones)), "--base-port", str(base_port),
           "--speed-factor", str(speed), "--seed", str(seed), *homes]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            preexec_fn=_die_with_parent if sys.platform == "linux" else None)
    assert proc.stdout is not None
    deadline = time.monotonic() + 30
    lines = 0
    while lines < len(site.drones) and time.monotonic() < deadline:
        if not proc.stdout.readline():
            break
        lines += 1
    if lines < len(site.drones):
        proc.kill()
        raise Unavailable("the simulated fleet did not start")
    return proc


def _die_with_parent() -> None:
    """In the child: the kernel sends SIGTERM when the main job ends, however it ends (even kill -9),
    so the simulated fleet never outlives it."""
    import ctypes
    import signal

    pr_set_pdeathsig = 1
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def stop_simulator(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def _road(site: Site, road_id: str) -> dict[str, Any]:
    roads = json.loads(site.file("roads").read_text())
    for f in roads["features"]:
        if f["properties"]["id"] == road_id:
            return f["geometry"]
    raise BadInput(f"site {site.id}: no road {road_id!r}")


def patrol_request(site: Site, patrol: dict[str, Any]) -> dict[str, Any]:
    """The `POST /api/v1/plans` body for one of the site's default patrols."""
    if patrol.get("pattern") != "corridor":
        raise BadInput(f"site {site.id}: patrol {patrol['id']} has an unknown pattern {patrol.get('pattern')!r}")
    dock = site.docks[0]
    zones = json.loads(site.file("zones").read_text())
    return {"name": patrol["name"], "corridor": {
        "line": _road(site, patrol["road"]), "width_m": patrol["width_m"], "alt_m": patrol["alt_m"],
        "fleet": {"homes": [{"name": dock["id"], "lat": dock["lat"], "lon": dock["lon"],
                             "alt_amsl_m": dock.get("alt_amsl_m")}]},
        "airspace": {"zones": zones}}}


class Driver:
    """The main job's client of its own API (the same calls a pilot's tools make)."""

    def __init__(self, url: str, token: str) -> None:
        self.http = httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60)

    async def call(self, method: str, path: str, **kw: Any) -> Any:
        r = await self.http.request(method, path, **kw)
        if r.status_code >= 400:
            try:
                message = r.json()["error"]["message"]
            except Exception:
                message = r.text[:300]
            raise Unavailable(f"{method} {path}: {r.status_code} {message}")
        return r.json() if r.content else None

    async def ensure_patrols(self, site: Site) -> dict[str, str]:
        """Plan the site's default patrols once (and their schedules); patrol id -> plan id."""
        existing = {p["name"]: p["id"] for p in await self.call("GET", "/api/v1/plans")}
        schedules = {s["name"] for s in await self.call("GET", "/api/v1/schedules")}
        out = {}
        for patrol in site.doc.get("patrols", []):
            plan_id = existing.get(patrol["name"])
            if plan_id is None:
                plan_id = (await self.call("POST", "/api/v1/plans", json=patrol_request(site, patrol)))["id"]
            out[patrol["id"]] = plan_id
            sched = patrol.get("schedule")
            if sched and patrol["name"] not in schedules:
                tz = site.doc.get("timezone", "Asia/Shanghai")
                body = {"name": patrol["name"], "plan_id": plan_id, "timezone": tz, **sched}
                await self.call("POST", "/api/v1/schedules", json=body)
        return out

    async def wait_fleet_ready(self, count: int, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            drones = await self.call("GET", "/api/v1/drones")
            if sum(d["state"] == "idle" for d in drones) >= count:
                return
            await asyncio.sleep(0.5)
        raise Unavailable("the fleet did not become ready in time")

    async def fly(self, plan_id: str, timeout_s: float) -> dict[str, Any]:
        run = await self.call("POST", "/api/v1/missions", json={"plan_id": plan_id})
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            run = await self.call("GET", f"/api/v1/missions/{run['id']}")
            if run["state"] in TERMINAL:
                break
            await asyncio.sleep(0.5)
        return await self.call("GET", f"/api/v1/missions/{run['id']}/report")

    async def close(self) -> None:
        await self.http.aclose()
