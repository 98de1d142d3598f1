"""Shared fixtures: databases (SQLite and PostgreSQL), the app, a real server process, services.

Services (PostgreSQL, Mosquitto) are real. Where one is missing the tests that need it skip with
a reason, except under SKYPATROL_REQUIRE_SERVICES=1 (CI), where that is a failure.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED_TESTDATA = ROOT.parent / "shared" / "testdata"
PG_ADMIN_URL = os.environ.get("SKYPATROL_TEST_PG", "postgresql://127.0.0.1:5432/test")
REQUIRE_SERVICES = os.environ.get("SKYPATROL_REQUIRE_SERVICES") == "1"


def service_missing(reason: str) -> None:
    """Skip (developer machine) or fail (CI) when a required service is absent."""
    if REQUIRE_SERVICES:
        pytest.fail(f"required service missing: {reason}", pytrace=False)
    pytest.skip(reason)


def wait_for(predicate, timeout_s: float = 10.0, what: str = "condition", poll_s: float = 0.05):  # type: ignore[no-untyped-def]
    """Poll `predicate` until it returns something truthy (returned) or `timeout_s` passes."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(poll_s)
    raise AssertionError(f"timed out after {timeout_s:g} s waiting for {what}")


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pg_available() -> str | None:
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
        return None
    except Exception as exc:
        return f"PostgreSQL not reachable at {PG_ADMIN_URL}: {exc}"


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, dropped at the end."""
    why = pg_available()
    if why:
        service_missing(why)
    import psycopg

    name = f"skypatrol_test_{os.getpid()}_{secrets.token_hex(3)}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def fresh_pg_url(pg_url: str) -> Iterator[str]:
    """An empty PostgreSQL database per test (for tests that count rows from zero)."""
    import psycopg

    name = f"skypatrol_t_{secrets.token_hex(4)}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Every storage test runs on both SQLite and PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'skypatrol.db'}"
    return request.getfixturevalue("fresh_pg_url")


@pytest.fixture
def settings(tmp_path: Path, db_url: str):  # type: ignore[no-untyped-def]
    from core.settings import Settings

    return Settings(data_dir=tmp_path, database_url=db_url, retention_days={})


@pytest.fixture
def client(settings):  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from skypatrol.app import create_app

    app = create_app(settings)
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def tokens(client) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """One token per role, created in the app's database."""
    from core.auth import create_token

    out = {}
    with client.app.state.db.session() as s:
        for role in ("viewer", "pilot", "admin"):
            _, out[role] = create_token(s, f"test-{role}", role)
    return out


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class ServerProcess:
    """`skypatrol serve` as a real process on a free port."""

    def __init__(self, env: dict[str, str], port: int, log_path: Path) -> None:
        self.env = env
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 30.0) -> ServerProcess:
        with open(self.log_path, "ab") as log:  # the child keeps its own descriptor
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "skypatrol", "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                env=self.env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
            )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log_path.read_text()[-2000:]}")
            try:
                if httpx.get(self.url + "/readyz", timeout=1.0).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server not ready: {self.log_path.read_text()[-2000:]}")

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator:
    """Start real server processes; all are stopped at the end of the test."""
    started: list[ServerProcess] = []

    def make(db_url: str, admin_token: str, extra_env: dict[str, str] | None = None,
             port: int | None = None) -> ServerProcess:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SKYPATROL_")}
        env.update({
            "SKYPATROL_DATA_DIR": str(tmp_path / "data"),
            "SKYPATROL_DATABASE_URL": db_url,
            "SKYPATROL_ADMIN_TOKEN": admin_token,
            "PYTHONUNBUFFERED": "1",
        })
        env.update(extra_env or {})
        sp = ServerProcess(env, port or free_port(), tmp_path / f"server-{len(started)}.log")
        started.append(sp)
        return sp

    yield make
    for sp in started:
        sp.stop()


@pytest.fixture(scope="session")
def mosquitto_bin() -> str:
    path = shutil.which("mosquitto") or ("/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None)
    if not path:
        service_missing("mosquitto binary not installed")
    return path  # type: ignore[return-value]
