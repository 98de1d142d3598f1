"""Console map under load: 100 drones reporting at 5 Hz over the event stream, in headless Chromium.

A `skypatrol serve` gets 100 drones' telemetry (5 Hz each: one ingest batch of 100 events every
200 ms, so every report goes the real way: API -> event bus -> SSE -> the page's handler -> map).
The console's map (canvas: one offscreen base, drones drawn per frame) is measured for frame rate
(requestAnimationFrame frames counted by the map's own loop) and page memory (JS heap after a forced
GC, DOM nodes) over `SKYPATROL_BENCH_CONSOLE_S` seconds (default 600). The naive peer is the same
page with one SVG element per drone moved on every frame (`?markers=dom`), measured for
`SKYPATROL_BENCH_CONSOLE_PEER_S` (default 120) in the same run.

    python -m benchmarks console                                # 10 minutes (+ 2 for the peer)
    SKYPATROL_BENCH_CONSOLE_S=120 python -m benchmarks console  # a short run
"""

from __future__ import annotations

import itertools
import math
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
DRONES = 100
RATE_HZ = 5.0
SAMPLE_S = 10.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, tmp: Path) -> None:
        self.token = "sp_bench_console_" + secrets.token_hex(6)
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("SKYPATROL_")}
        env.update({"SKYPATROL_DATA_DIR": str(tmp), "SKYPATROL_ADMIN_TOKEN": self.token,
                    "SKYPATROL_DATABASE_URL": f"sqlite:///{tmp / 'bench.db'}", "SKYPATROL_FLEET__ENABLED": "false"})
        self.log = open(tmp / "server.log", "wb")  # the child keeps its own descriptor
        self.proc = subprocess.Popen([sys.executable, "-m", "skypatrol", "serve", "--port", str(self.port)],
                                     env=env, cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/readyz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.2)
        raise RuntimeError("server did not start")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


class Publisher(threading.Thread):
    """100 drones flying circles around the site, each reporting at 5 Hz (one batch per tick)."""

    def __init__(self, url: str, token: str) -> None:
        super().__init__(daemon=True)
        self.http = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=10)
        self.stop_event = threading.Event()
        self.sent = 0
        self.late = 0

    def batch(self, t: float) -> list[dict[str, Any]]:
        lat0, lon0 = 30.7416, 121.3415
        now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        out = []
        for i in range(DRONES):
            r = 150 + 12 * (i % 50)
            a = 0.05 * t + 2 * math.pi * i / DRONES
            out.append({"specversion": "1.0", "id": uuid.uuid4().hex, "source": "urn:skypatrol:bench-console",
                        "type": "skypatrol.telemetry.v1", "subject": f"bench-{i:03d}", "time": now,
                        "data": {"drone_id": f"bench-{i:03d}", "lat": lat0 + r * math.sin(a) / 111320,
                                 "lon": lon0 + r * math.cos(a) / (111320 * math.cos(math.radians(lat0))),
                                 "alt_rel_m": 60.0, "heading_deg": (math.degrees(-a) + 360) % 360,
                                 "battery_remaining": 0.9 - (i % 60) / 100, "flight_mode": "mission",
                                 "in_air": True, "state": "airborne", "connected": True, "last_seen_s": 0.1}})
        return out

    def run(self) -> None:
        t0 = time.monotonic()
        tick = 0
        while not self.stop_event.is_set():
            due = t0 + tick / RATE_HZ
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            else:
                self.late += 1
            try:
                self.http.post("/api/v1/events", json=self.batch(time.monotonic() - t0)).raise_for_status()
                self.sent += DRONES
            except httpx.HTTPError:
                pass
            tick += 1


def _measure(browser: Any, url: str, token: str, mode: str, duration_s: float) -> dict[str, Any]:
    page = browser.new_page(viewport={"width": 1440, "height": 880})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.add_init_script(f"localStorage.setItem('skypatrol.token', {token!r});"
                         " localStorage.setItem('skypatrol.lang', 'en');")
    page.goto(f"{url}/?markers={mode}#map")
    page.wait_for_function("window.skypatrol && window.skypatrol.ready", timeout=60_000)
    page.wait_for_function(f"window.skypatrol.map.drones.size >= {DRONES}", timeout=60_000)
    page.wait_for_timeout(30_000)  # warm-up: trails fill (120 points at 5 Hz), JIT settles
    cdp = page.context.new_cdp_session(page)
    cdp.send("Performance.enable")

    def sample() -> dict[str, float]:
        page.evaluate("window.gc && window.gc()")
        m = {x["name"]: x["value"] for x in cdp.send("Performance.getMetrics")["metrics"]}
        s = page.evaluate("({frames: window.skypatrol.map.frames, tel: window.skypatrol.stats.telemetry,"
                          " t: performance.now()})")
        return {"heap_mb": m["JSHeapUsedSize"] / 1e6, "nodes": m["Nodes"], **s}

    samples = [sample()]
    end = time.monotonic() + duration_s
    while time.monotonic() < end:
        time.sleep(min(SAMPLE_S, max(0.0, end - time.monotonic())))
        samples.append(sample())
    page.close()
    fps = [(b["frames"] - a["frames"]) / ((b["t"] - a["t"]) / 1000) for a, b in itertools.pairwise(samples)]
    tel = (samples[-1]["tel"] - samples[0]["tel"]) / ((samples[-1]["t"] - samples[0]["t"]) / 1000)
    minutes = (samples[-1]["t"] - samples[0]["t"]) / 60000
    # Heap growth: the slope of a least-squares line through the GC'd samples, per minute.
    xs = [(s["t"] - samples[0]["t"]) / 60000 for s in samples]
    ys = [s["heap_mb"] for s in samples]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / max(1e-9, sum((x - mx) ** 2 for x in xs))
    return {"fps_mean": sum(fps) / len(fps), "fps_min": min(fps), "heap_start_mb": ys[0], "heap_end_mb": ys[-1],
            "heap_max_mb": max(ys), "heap_slope_mb_min": slope, "nodes_start": samples[0]["nodes"],
            "nodes_end": samples[-1]["nodes"], "telemetry_per_s": tel, "minutes": minutes, "errors": errors}


def run() -> list[dict[str, Any]]:
    from playwright.sync_api import sync_playwright

    chromium = os.environ.get("SKYPATROL_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(chromium).is_file():
        raise RuntimeError("the console benchmark needs Debian's chromium (apt-get install chromium)")
    duration = float(os.environ.get("SKYPATROL_BENCH_CONSOLE_S", "600"))
    peer_duration = min(duration, float(os.environ.get("SKYPATROL_BENCH_CONSOLE_PEER_S", "120")))
    with tempfile.TemporaryDirectory(prefix="bench-console-") as tmp:
        server = Server(Path(tmp))
        pub = Publisher(server.url, server.token)
        pub.start()
        try:
            with sync_playwright() as p:
                args = ["--no-sandbox", "--disable-dev-shm-usage", "--js-flags=--expose-gc",
                        "--enable-precise-memory-info"]
                browser = p.chromium.launch(executable_path=chromium, args=args)
                ours = _measure(browser, server.url, server.token, "canvas", duration)
                peer = _measure(browser, server.url, server.token, "dom", peer_duration)
                browser.close()
        finally:
            pub.stop_event.set()
            pub.join(5)
            server.stop()
    note = (f"{DRONES} drones x {RATE_HZ:g} Hz over SSE ({ours['telemetry_per_s']:.0f} reports/s reached the page); "
            f"{ours['minutes']:.1f} min; peer: one SVG element per drone, {peer['minutes']:.1f} min")
    return [
        {"name": "map frame rate, 100 drones at 5 Hz (mean)", "value": round(ours["fps_mean"], 1), "unit": "fps",
         "baseline": round(peer["fps_mean"], 1), "goal": ">= 30", "note": note},
        {"name": "map frame rate, worst 10 s window", "value": round(ours["fps_min"], 1), "unit": "fps",
         "baseline": round(peer["fps_min"], 1), "goal": ">= 30",
         "note": "requestAnimationFrame frames of the map loop"},
        {"name": "JS heap after GC, start -> end", "value": f"{ours['heap_start_mb']:.1f} -> {ours['heap_end_mb']:.1f}",
         "unit": "MB", "baseline": f"{peer['heap_start_mb']:.1f} -> {peer['heap_end_mb']:.1f}", "goal": "flat",
         "note": f"max {ours['heap_max_mb']:.1f} MB"},
        {"name": "JS heap growth (least-squares slope)", "value": round(ours["heap_slope_mb_min"], 3),
         "unit": "MB/min", "baseline": round(peer["heap_slope_mb_min"], 3), "goal": "~0",
         "note": "heap sampled every 10 s after a forced GC"},
        {"name": "DOM nodes, start -> end", "value": f"{ours['nodes_start']:.0f} -> {ours['nodes_end']:.0f}",
         "unit": "nodes", "baseline": f"{peer['nodes_start']:.0f} -> {peer['nodes_end']:.0f}", "goal": "flat",
         "note": f"page errors: {len(ours['errors']) + len(peer['errors'])}; late publisher ticks: {pub.late}"},
    ]


if __name__ == "__main__":
    for row in run():
        print(row)
