"""`make screenshots`: the console's main screens as PNGs in docs/screenshots/.

Starts `skypatrol run` (time-scaled) in a temporary folder, flies the site's corridor patrol on all
three drones, and drives Debian's headless chromium through the console with Playwright (the dev
extra). The detection card and the alert in the event feed are sample events (with a drawn
evidence image) posted by this script through the ingest API, so the screen shows them whatever
the simulated patrol finds in its first minute.

    python -m skypatrol.console.screenshots [--out docs/screenshots] [--chromium /usr/bin/chromium]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
ADMIN = "sp_screenshots_admin"
AREA = [(30.7335, 121.3480), (30.7335, 121.3525), (30.7355, 121.3525), (30.7355, 121.3480)]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_main_job(data_dir: Path, sim_speed: float = 4.0) -> tuple[subprocess.Popen[bytes], str]:
    from sitl.ports import free_udp_base

    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SKYPATROL_")}
    env.update({"SKYPATROL_DATA_DIR": str(data_dir), "SKYPATROL_ADMIN_TOKEN": ADMIN,
                "SKYPATROL_HUB_PORT": str(_free_port()), "SKYPATROL_SIM_BASE_PORT": str(free_udp_base(3))})
    log = open(data_dir / "run.log", "wb")  # the child keeps its own descriptor
    proc = subprocess.Popen([sys.executable, "-m", "skypatrol", "run", "--port", str(port), "--sim-speed",
                             str(sim_speed)], env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    h = {"Authorization": f"Bearer {ADMIN}"}
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"skypatrol run exited; see {data_dir / 'run.log'}")
        try:
            plans = httpx.get(url + "/api/v1/plans", headers=h).json()
            drones = httpx.get(url + "/api/v1/drones", headers=h).json()
            if len(plans) >= 2 and sum(d["state"] == "idle" for d in drones) == 3:
                return proc, url
        except (httpx.TransportError, ValueError, TypeError):
            pass
        time.sleep(0.5)
    proc.kill()
    raise SystemExit("skypatrol run did not become ready")


def _sample_detection(url: str, h: dict[str, str], run_id: str) -> None:
    """A sample muck-truck detection with a drawn evidence image and an alert, for the feed's screenshot."""
    import cv2
    import numpy as np

    img = np.full((240, 360, 3), (90, 110, 100), np.uint8)
    cv2.rectangle(img, (0, 100), (360, 150), (70, 70, 70), -1)
    cv2.rectangle(img, (150, 108), (215, 140), (40, 90, 160), -1)
    cv2.rectangle(img, (140, 104), (225, 146), (0, 0, 255), 2)
    cv2.putText(img, "sample", (8, 22), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 1)
    _, png = cv2.imencode(".png", img)
    ev = httpx.post(url + "/api/v1/evidence", content=png.tobytes(), headers={**h, "Content-Type": "image/png"}).json()
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    line = [[121.3440, 30.74157], [121.3425, 30.74158], [121.3410, 30.74159]]
    httpx.post(url + "/api/v1/events", headers=h, json={
        "specversion": "1.0", "id": uuid.uuid4().hex, "source": "urn:skypatrol:screenshots",
        "type": "skypatrol.detection.muck_truck.v1", "subject": run_id, "time": now,
        "data": {"track_id": "sample-1", "geometry": {"type": "LineString", "coordinates": line},
                 "heading_deg": 270.0, "speed_mps": 8.1, "mission_id": run_id, "drone_id": "js-01",
                 "evidence": [{"kind": "crop", "name": ev["name"], "sha256": ev["sha256"]}]}}).raise_for_status()
    httpx.post(url + "/api/v1/events", headers=h, json={
        "specversion": "1.0", "id": uuid.uuid4().hex, "source": "urn:skypatrol:screenshots",
        "type": "skypatrol.alert.muck_truck_off_route.v1", "subject": "sample-1", "time": now,
        "data": {"track_id": "sample-1", "geometry": {"type": "LineString", "coordinates": line},
                 "route_id": "m1", "off_route_m": 42.0, "off_route_fraction": 0.6}}).raise_for_status()


def take(out: Path, chromium: str) -> list[Path]:
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    shots: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="skypatrol-shots-") as tmp:
        proc, url = start_main_job(Path(tmp))
        h = {"Authorization": f"Bearer {ADMIN}"}
        try:
            plans = httpx.get(url + "/api/v1/plans", headers=h).json()
            plan = next(p for p in plans if p["name"].startswith("Longhang"))
            runs = []
            for _ in range(3):  # a little apart, so the map shows three drones along the road
                runs.append(httpx.post(url + "/api/v1/missions", headers=h, json={"plan_id": plan["id"]}).json()["id"])
                time.sleep(8)
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-dev-shm-usage"])
                page = browser.new_page(viewport={"width": 1440, "height": 880})

                def shot(name: str) -> None:
                    path = out / f"{name}.png"
                    page.screenshot(path=str(path))
                    shots.append(path)

                page.goto(url + "/")
                page.wait_for_selector("#login[open]")
                page.fill("#token", ADMIN)
                shot("login")
                page.click("#login-submit")
                page.wait_for_function("window.skypatrol && window.skypatrol.ready")
                page.wait_for_function("""() => [...window.skypatrol.state.drones.values()]
                    .filter((d) => d.tel && d.tel.in_air && d.tel.alt_rel_m > 30).length >= 3""", timeout=180_000)
                page.evaluate("window.skypatrol.map.fit([[121.321, 30.735], [121.356, 30.748]])")
                page.wait_for_timeout(6000)  # trails grow
                shot("map-fleet")
                page.click("button[data-view=plan]")
                page.evaluate("window.skypatrol.map.fit([[121.338, 30.730], [121.358, 30.745]])")
                page.click("button[data-draw=polygon]")
                for lat, lon in AREA:
                    x, y = page.evaluate(f"window.skypatrol.map.pagePoint({lat}, {lon})")
                    page.mouse.click(x, y)
                page.click("#draw-finish")
                page.click("#plan-preview")
                page.wait_for_selector("#stats-table")
                page.click("#plan-check")
                page.wait_for_selector("#plan-violations .violation")
                shot("plan-editor-violation")
                page.click("button[data-view=runs]")
                page.wait_for_selector("#runs-list tr[data-run]")
                page.click(f"#runs-list tr[data-run='{runs[0]}']")
                page.wait_for_selector("#run-state")
                page.wait_for_timeout(1500)
                shot("runs-schedules")
                page.click("button[data-view=events]")
                _sample_detection(url, h, runs[0])
                page.wait_for_selector(".event-card.detection")
                page.wait_for_selector(".alert-row")
                page.wait_for_timeout(500)
                shot("events")
                page.click("#lang")
                page.click("button[data-view=plan]")
                page.click("#draw-clear")
                page.click("button[data-view=map]")
                page.evaluate("window.skypatrol.map.fit([[121.321, 30.735], [121.356, 30.748]])")
                page.wait_for_timeout(1000)
                shot("map-fleet-en")
                browser.close()
        finally:
            proc.terminate()
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
    return shots


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    ap.add_argument("--chromium", default=os.environ.get("SKYPATROL_CHROMIUM") or shutil.which("chromium")
                    or "/usr/bin/chromium")
    args = ap.parse_args(argv)
    if not Path(args.chromium).is_file():
        print(f"no chromium at {args.chromium} (apt-get install chromium)", file=sys.stderr)
        return 2
    for path in take(args.out, args.chromium):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
