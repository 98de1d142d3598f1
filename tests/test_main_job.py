"""`skypatrol run`: the main job starts with the default site loaded, once."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from sitl.ports import free_udp_base
from tests.conftest import ROOT, free_port

TOKEN = "sp_main_job_admin"


def _env(data_dir: Path, hub_port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SKYPATROL_")}
    env.update({"SKYPATROL_DATA_DIR": str(data_dir), "SKYPATROL_ADMIN_TOKEN": TOKEN,
                "SKYPATROL_HUB_PORT": str(hub_port), "SKYPATROL_SIM_BASE_PORT": str(free_udp_base(3))})
    return env


def _run_once(data_dir: Path) -> tuple[list[dict], list[dict], str]:
    port = free_port()
    hub_port = free_port()
    env = _env(data_dir, hub_port)
    proc = subprocess.Popen([sys.executable, "-m", "skypatrol", "run", "--port", str(port)], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    h = {"Authorization": f"Bearer {TOKEN}"}
    try:
        for _ in range(300):
            try:
                if httpx.get(url + "/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        drones = httpx.get(url + "/api/v1/drones", headers=h).json()
        zones = httpx.get(url + "/api/v1/zones", headers=h).json()
        # The main job files with its embedded reference hub, which publishes the site's zones.
        hub_zones = httpx.get(f"http://127.0.0.1:{hub_port}/v1/zones").json()["zones"]
        assert "JS-P-001" in {z["id"] for z in hub_zones}
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=20)
    return drones, zones, out


def test_run_loads_the_site_once_and_shuts_down_cleanly(tmp_path: Path) -> None:
    drones, zones, out = _run_once(tmp_path)
    assert [d["id"] for d in drones] == ["js-01", "js-02", "js-03"]
    base = int(drones[0]["connection_url"].rsplit(":", 1)[1])
    assert [d["connection_url"] for d in drones] == [f"udpin://0.0.0.0:{base + i}" for i in range(3)]
    assert all(d["registration_no"] and d["home"]["alt_amsl_m"] == 4.0 for d in drones)
    zone_ids = {z["id"] for z in (zones if isinstance(zones, list) else zones.get("zones", []))}
    assert "JS-P-001" in zone_ids
    assert "imported 5 zones and 3 drones" in out and "Traceback" not in out
    assert "Application shutdown complete" in out
    time.sleep(0.5)
    leftover = subprocess.run(["pgrep", "-f", f"sitl --drones 3 --base-port {base}"], capture_output=True, text=True)
    assert leftover.stdout.strip() == "", "the simulated fleet outlived the main job"
    drones2, _, out2 = _run_once(tmp_path)  # a restart keeps what is there and adds nothing
    assert [d["id"] for d in drones2] == ["js-01", "js-02", "js-03"] and "imported" not in out2


def test_headless_main_job_flies_one_patrol_end_to_end(tmp_path: Path) -> None:
    """`skypatrol run --headless --until-complete --json`: the site's patrol planned through the API,
    filed with the reference hub, flown by a simulated drone over MAVSDK, reported; exit 0."""
    env = _env(tmp_path, free_port())
    r = subprocess.run([sys.executable, "-m", "skypatrol", "run", "--headless", "--until-complete", "--json",
                        "--patrol", "industrial-road-daily", "--port", str(free_port())],
                       env=env, cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert r.returncode == 0, r.stderr[-3000:]
    report = __import__("json").loads(r.stdout)  # stdout is exactly the report
    assert report["state"] == "completed" and report["drone_id"] in ("js-01", "js-02", "js-03")
    assert [t["type"].split(".")[2] for t in report["timeline"]] == [
        "scheduled", "planning", "filing", "approved", "assigned", "uploading", "started", "returning", "completed"]
    assert report["distance_m"] > 1000 and len(report["track"]) >= 5 and report["intent_id"]
    assert "Traceback" not in r.stderr
    # The run's flight log: the drone's own MAVLink as a .tlog that pymavlink and `infer` read.
    from pymavlink import mavutil

    from geo import distance_m
    from inference.telemetry import load_telemetry

    tlog = tmp_path / "flightlogs" / f"{report['run_id']}.tlog"
    log = mavutil.mavlink_connection(str(tlog), dialect="common")
    seen: dict[str, int] = {}
    while (m := log.recv_match()) is not None:
        seen[m.get_type()] = seen.get(m.get_type(), 0) + 1
    assert {"HEARTBEAT", "GLOBAL_POSITION_INT", "ATTITUDE", "MISSION_CURRENT", "MISSION_ITEM_REACHED"} <= set(seen)
    assert "BAD_DATA" not in seen
    track = load_telemetry(tlog)
    lat, lon = track.position.values["lat_deg"], track.position.values["lon_deg"]
    far = max(distance_m(lat[0], lon[0], a, b) for a, b in zip(lat, lon, strict=True))
    assert far > 300 and track.end - track.start > 10  # it saw the patrol, not just the pad


def test_headless_main_job_bad_input_exits_2(tmp_path: Path) -> None:
    env = _env(tmp_path, free_port())
    r = subprocess.run([sys.executable, "-m", "skypatrol", "run", "--headless", "--until-complete",
                        "--patrol", "nowhere"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "no patrol 'nowhere'" in r.stderr and "Traceback" not in r.stderr
