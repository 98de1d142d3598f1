"""A running `skypatrol run` (one per module) and Debian's headless Chromium driven by Playwright.

Playwright's Python package carries its own driver; the browser is the system's `chromium`
(`SKYPATROL_CHROMIUM` to point elsewhere), never one a test tool downloads. Where chromium or
Playwright is missing the browser tests skip, except under SKYPATROL_REQUIRE_SERVICES=1 (CI).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from sitl.ports import free_udp_base
from tests.conftest import ROOT, free_port, service_missing

ADMIN = "sp_console_test_admin"


def chromium_path() -> str | None:
    explicit = os.environ.get("SKYPATROL_CHROMIUM")
    if explicit:
        return explicit if Path(explicit).is_file() else None
    for name in ("/usr/bin/chromium", "/usr/bin/chromium-browser"):
        if Path(name).is_file():
            return name
    return shutil.which("chromium")


class MainJob:
    def __init__(self, url: str, proc: subprocess.Popen[str], log: Path) -> None:
        self.url = url
        self.proc = proc
        self.log = log
        self.http = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {ADMIN}"}, timeout=30)

    def get(self, path: str):  # type: ignore[no-untyped-def]
        r = self.http.get(path)
        r.raise_for_status()
        return r.json()


def start_main_job(data_dir: Path, sim_speed: float = 4.0) -> MainJob:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SKYPATROL_")}
    env.update({"SKYPATROL_DATA_DIR": str(data_dir), "SKYPATROL_ADMIN_TOKEN": ADMIN,
                "SKYPATROL_HUB_PORT": str(free_port()), "SKYPATROL_SIM_BASE_PORT": str(free_udp_base(3)),
                "PYTHONUNBUFFERED": "1"})
    log = data_dir / "run.log"
    data_dir.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "skypatrol", "run", "--port", str(port),
                                 "--sim-speed", str(sim_speed)], env=env, cwd=ROOT, stdout=out,
                                stderr=subprocess.STDOUT, text=True)
    job = MainJob(f"http://127.0.0.1:{port}", proc, log)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"skypatrol run exited: {log.read_text()[-3000:]}")
        try:
            plans = job.get("/api/v1/plans")
            drones = job.get("/api/v1/drones")
            if len(plans) >= 2 and sum(d["state"] == "idle" for d in drones) == 3:
                return job
        except (httpx.TransportError, httpx.HTTPStatusError):
            pass
        time.sleep(0.3)
    stop_main_job(job)
    raise RuntimeError(f"skypatrol run not ready: {log.read_text()[-3000:]}")


def stop_main_job(job: MainJob) -> None:
    job.http.close()
    if job.proc.poll() is None:
        job.proc.terminate()
        try:
            job.proc.wait(20)
        except subprocess.TimeoutExpired:
            job.proc.kill()
            job.proc.wait(5)


@pytest.fixture(scope="module")
def chromium() -> Iterator:  # type: ignore[type-arg]
    path = chromium_path()
    if path is None:
        service_missing("Debian's chromium is not installed (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        service_missing("the playwright package is not installed (pip install -e '.[dev]')")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=path, args=["--no-sandbox", "--disable-dev-shm-usage"])
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="module")
def main_job(tmp_path_factory: pytest.TempPathFactory, chromium) -> Iterator[MainJob]:  # type: ignore[no-untyped-def]
    job = start_main_job(tmp_path_factory.mktemp("console-run"))
    try:
        yield job
    finally:
        stop_main_job(job)


class PageErrors(list):  # type: ignore[type-arg]
    """Console errors and uncaught exceptions a page logged."""


def watch(page) -> PageErrors:  # type: ignore[no-untyped-def]
    errors = PageErrors()
    page.on("console", lambda m: errors.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
    page.on("requestfailed", lambda r: errors.append(f"request failed: {r.url} {r.failure}")
            if "/events/stream" not in r.url else None)
    return errors
