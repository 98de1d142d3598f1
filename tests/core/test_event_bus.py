"""The bus: publish returns after commit; subscribers get every event once, in order."""

from __future__ import annotations

import asyncio

import pytest

from core.db import Database
from core.errors import BadInput
from core.events import EventBus


@pytest.fixture
async def bus(db_url: str):
    db = Database(db_url)
    db.upgrade()
    b = EventBus(db, tail_size=50, poll_interval_s=0.2)
    await b.start()
    yield b
    await b.stop()
    db.dispose()


async def _collect(sub, n: int, timeout: float = 20.0) -> list:  # type: ignore[no-untyped-def]
    out: list = []
    deadline = asyncio.get_running_loop().time() + timeout
    while len(out) < n and asyncio.get_running_loop().time() < deadline:
        out += await sub.next_batch(wait_s=0.5)
    return out


async def test_replay_then_live_without_gap_or_duplicate(bus: EventBus) -> None:
    for i in range(30):
        await bus.publish("skypatrol.test.v1", {"i": i})
    sub = bus.subscribe(after=10)

    async def more() -> None:
        for i in range(30, 230):
            await bus.publish("skypatrol.test.v1", {"i": i})

    task = asyncio.create_task(more())
    got = await _collect(sub, 220)
    await task
    assert [e.seq for e in got] == list(range(11, 231))


async def test_slow_subscriber_past_the_tail_reads_the_store(bus: EventBus) -> None:
    sub = bus.subscribe(after=0)
    await asyncio.gather(*[bus.publish("skypatrol.test.v1", {"i": i}) for i in range(500)])
    assert len(bus._tail) <= 100  # the tail was trimmed: the first events come from the store
    got = await _collect(sub, 500)
    assert [e.seq for e in got] == list(range(1, 501))


async def test_filters_by_type_and_subject(bus: EventBus) -> None:
    for i in range(20):
        await bus.publish("skypatrol.mission.progress.v1" if i % 2 else "skypatrol.test.v1", {"i": i},
                          subject=f"m{i % 4}")
    sub = bus.subscribe(after=0, types=["skypatrol.mission.progress.v1"], subject="m1")
    got = await _collect(sub, 5, timeout=3)
    assert [e.data["i"] for e in got] == [1, 5, 9, 13, 17]
    page = await bus.read(0, 100, ["skypatrol.mission.progress.v1"], "m3")
    assert [e.data["i"] for e in page] == [3, 7, 11, 15, 19]


async def test_live_only_events_reach_subscribers_and_are_not_stored(bus: EventBus) -> None:
    sub = bus.subscribe()
    await bus.publish("skypatrol.telemetry.v1", {"alt": 10}, subject="d1", live_only=True)
    stored = await bus.publish("skypatrol.mission.started.v1", {}, subject="m1")
    got = await _collect(sub, 2, timeout=3)
    assert [(e.type, e.seq) for e in got] == [("skypatrol.telemetry.v1", None),
                                               ("skypatrol.mission.started.v1", stored.seq)]
    assert [e.seq for e in await bus.read(0, 10)] == [stored.seq]


async def test_events_written_by_another_process_are_picked_up(bus: EventBus, db_url: str) -> None:
    from core.events import EventStore, make_event

    sub = bus.subscribe()
    other = EventStore(Database(db_url))
    other.append([make_event("skypatrol.test.v1", {"from": "elsewhere"}, source="other")])
    got = await _collect(sub, 1, timeout=5)
    assert got and got[0].data == {"from": "elsewhere"}


async def test_invalid_type_and_unserialisable_data_are_refused(bus: EventBus) -> None:
    with pytest.raises(BadInput, match="dotted and versioned"):
        await bus.publish("NotAType", {})
    with pytest.raises(BadInput, match="not JSON"):
        await bus.publish("skypatrol.test.v1", {"x": object()})
    with pytest.raises(BadInput, match="not JSON"):
        await bus.publish("skypatrol.test.v1", {"x": float("nan")})
