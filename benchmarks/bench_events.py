"""Event stream: batched ingest vs one row per transaction; SSE fan-out vs REST polling."""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

from core.db import Database
from core.events import EventBus, EventStore, make_event

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN = os.environ.get("SKYPATROL_TEST_PG", "postgresql://127.0.0.1:5432/test")


def _events(n: int, tag: str) -> list:
    return [make_event("skypatrol.telemetry.v1", {"lat": 30.74 + i * 1e-6, "lon": 121.34, "alt_rel_m": 60.0,
                                                  "battery": 0.8}, subject=f"drone-{i % 10}", source=tag)
            for i in range(n)]


def _naive_rate(db: Database, n: int) -> float:
    store = EventStore(db)
    evs = _events(n, "naive")
    t = time.perf_counter()
    for e in evs:
        store.append([e])  # one transaction per event
    return n / (time.perf_counter() - t)


async def _bus_rate(db: Database, n: int) -> float:
    bus = EventBus(db)
    await bus.start()
    evs = _events(n, "bus")
    t = time.perf_counter()
    # Many producers publishing at once (as under load): the writer batches them.
    chunks = [evs[i:i + 100] for i in range(0, n, 100)]
    await asyncio.gather(*(bus.publish_events(c) for c in chunks))
    rate = n / (time.perf_counter() - t)
    await bus.stop()
    return rate


def _ingest(url: str, label: str, n: int, n_naive: int, goal: str) -> list[dict]:
    db = Database(url)
    db.upgrade()
    naive = _naive_rate(db, n_naive)
    batched = asyncio.run(_bus_rate(db, n))
    db.dispose()
    return [{"name": f"ingest into {label} (bus.publish, batched)", "value": batched, "unit": "events/s",
             "baseline": naive, "goal": goal,
             "note": f"{n} events; baseline: one row per transaction, {n_naive} events"}]


def _pg_database() -> tuple[str | None, str]:
    try:
        import psycopg

        name = f"skypatrol_bench_{secrets.token_hex(3)}"
        with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3) as c:
            c.execute(f'CREATE DATABASE "{name}"')
        return PG_ADMIN.rsplit("/", 1)[0] + "/" + name, name
    except Exception as exc:
        return None, str(exc)


def _drop_pg(name: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# -- SSE fan-out ---------------------------------------------------------------------------

def _start_server(tmp: Path, token: str) -> tuple[object, str]:
    import subprocess

    sys.path.insert(0, str(ROOT))
    from tests.conftest import free_port

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SKYPATROL_")}
    env.update({"SKYPATROL_DATA_DIR": str(tmp), "SKYPATROL_ADMIN_TOKEN": token,
                "SKYPATROL_DATABASE_URL": f"sqlite:///{tmp / 'fanout.db'}"})
    proc = subprocess.Popen([sys.executable, "-m", "skypatrol", "serve", "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(url + "/readyz", timeout=1).status_code == 200:
                return proc, url
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError("server did not start")


async def _publisher(url: str, token: str, rate: int, seconds: float) -> int:
    """Publish `rate` events/s in 20 ms batches, each stamped with its send time."""
    sent = 0
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=10) as c:
        t0 = time.perf_counter()
        tick = 0.02
        per_tick = max(1, int(rate * tick))
        while time.perf_counter() - t0 < seconds:
            now = time.time()
            body = [{"specversion": "1.0", "id": secrets.token_hex(8), "source": "bench",
                     "type": "skypatrol.bench.v1", "data": {"t": now}} for _ in range(per_tick)]
            await c.post(url + "/api/v1/events", json=body)
            sent += per_tick
            next_t = t0 + (sent / rate)
            await asyncio.sleep(max(0.0, next_t - time.perf_counter()))
    return sent


def _publish_process(url: str, token: str, rate: int, seconds: float, out: object) -> None:
    out.value = asyncio.run(_publisher(url, token, rate, seconds))  # type: ignore[attr-defined]


async def _publish_elsewhere(url: str, token: str, rate: int, seconds: float) -> int:
    """The publisher in its own process, so 100 subscribers' parsing does not slow it down."""
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    out = ctx.Value("i", 0)
    p = ctx.Process(target=_publish_process, args=(url, token, rate, seconds, out))
    p.start()
    await asyncio.to_thread(p.join)
    return int(out.value)


def _t_of(payload: str) -> float:
    i = payload.index('"t":') + 4
    j = payload.index("}", i)
    return float(payload[i:j])


_T_RE = re.compile(rb'"data":\{"t":([0-9.]+)\}')


async def _sse_subscriber(url: str, token: str, lat: list[float], ready: asyncio.Event, stop: asyncio.Event,
                          counter: list[int]) -> None:
    """A lean SSE client on a raw socket: the measuring side must not be the bottleneck."""
    host, port = url.split("//", 1)[1].split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write((f"GET /api/v1/events/stream?type=skypatrol.bench.v1 HTTP/1.1\r\nHost: {host}\r\n"
                  f"Authorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n").encode())
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    assert b" 200 " in head.split(b"\r\n", 1)[0], head
    counter[0] += 1
    if counter[0] >= counter[1]:
        ready.set()
    try:
        while not stop.is_set():
            chunk = await reader.read(65536)
            if not chunk:
                break
            now = time.time()
            lat.extend(now - float(m) for m in _T_RE.findall(chunk))
    finally:
        writer.close()


async def _poll_subscriber(url: str, token: str, lat: list[float], stop: asyncio.Event, interval: float,
                           start_after: int) -> None:
    after = start_after
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=10) as c:
        while not stop.is_set():
            r = await c.get(url + "/api/v1/events", params={"after": after, "limit": 1000,
                                                           "type": "skypatrol.bench.v1"})
            now = time.time()
            page = r.json()
            for e in page["events"]:
                lat.append(now - e["data"]["t"])
            after = page["next_after"]
            await asyncio.sleep(interval)


def _p(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    return statistics.quantiles(values, n=1000)[int(q * 1000) - 1] if len(values) > 10 else max(values)


async def _fanout(url: str, token: str, subscribers: int, rate: int, seconds: float) -> tuple[list[float], int]:
    lat: list[float] = []
    ready, stop = asyncio.Event(), asyncio.Event()
    counter = [0, subscribers]
    subs = [asyncio.create_task(_sse_subscriber(url, token, lat, ready, stop, counter)) for _ in range(subscribers)]
    await asyncio.wait_for(ready.wait(), 60)
    await asyncio.sleep(0.5)
    sent = await _publish_elsewhere(url, token, rate, seconds)
    await asyncio.sleep(1.0)
    stop.set()
    for s in subs:
        s.cancel()
    await asyncio.gather(*subs, return_exceptions=True)
    return lat, sent


async def _polling(url: str, token: str, subscribers: int, rate: int, seconds: float) -> tuple[list[float], int]:
    lat: list[float] = []
    stop = asyncio.Event()
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"}) as c:
        last = (await c.get(url + "/readyz")).json()["last_seq"]
    subs = [asyncio.create_task(_poll_subscriber(url, token, lat, stop, 0.1, last)) for _ in range(subscribers)]
    sent = await _publish_elsewhere(url, token, rate, seconds)
    await asyncio.sleep(1.0)
    stop.set()
    await asyncio.gather(*subs, return_exceptions=True)
    return lat, sent


def _fanout_rows(seconds: float = 10.0) -> list[dict]:
    token = "sp_bench_" + secrets.token_hex(8)
    with tempfile.TemporaryDirectory() as d:
        proc, url = _start_server(Path(d), token)
        try:
            lat, sent = asyncio.run(_fanout(url, token, 100, 1000, seconds))
            plat, psent = asyncio.run(_polling(url, token, 100, 1000, seconds))
        finally:
            proc.terminate()  # type: ignore[attr-defined]
            proc.wait(15)  # type: ignore[attr-defined]
    p99, p50 = _p(lat, 0.99) * 1000, _p(lat, 0.5) * 1000
    pp99 = _p(plat, 0.99) * 1000
    return [
        {"name": "SSE fan-out p99 publish-to-receive (100 subscribers, 1,000 events/s)", "value": p99,
         "unit": "ms", "baseline": pp99, "goal": "< 100 ms",
         "note": f"p50 {p50:.1f} ms; publisher reached {sent / seconds:,.0f} events/s; {len(lat)} deliveries "
                 f"of {sent * 100} expected; baseline: 100 clients polling GET /api/v1/events every 100 ms "
                 f"({psent / seconds:,.0f} events/s published, {len(plat)} deliveries of {psent * 100})"},
    ]


def run() -> list[dict]:
    rows: list[dict] = []
    with tempfile.TemporaryDirectory() as d:
        rows += _ingest(f"sqlite:///{Path(d) / 'bench.db'}", "SQLite", 100_000, 2_000, ">= 20,000 events/s")
    url, name = _pg_database()
    if url:
        try:
            rows += _ingest(url, "PostgreSQL", 50_000, 1_000, ">= 5,000 events/s")
        finally:
            _drop_pg(name)
    else:
        rows.append({"name": "ingest into PostgreSQL", "value": "skipped", "unit": "", "note": name})
    rows += _fanout_rows()
    return rows
