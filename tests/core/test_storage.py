"""Storage on both SQLite and PostgreSQL: migrations, the gapless event log, retention."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import inspect, select

from core.db import Database, current_revision
from core.events import EventStore, make_event
from core.models import Event as EventRow

TABLES = {"drones", "zones", "plans", "missions", "schedules", "events", "users", "tokens", "audit_log",
          "stream_cursors"}


def _db(url: str) -> Database:
    db = Database(url)
    db.upgrade()
    return db


def test_migrations_create_every_table_and_are_idempotent(db_url: str) -> None:
    db = _db(db_url)
    db.upgrade()  # a second run changes nothing
    assert TABLES <= set(inspect(db.engine).get_table_names())
    assert current_revision(db.engine) is not None
    db.dispose()


def test_sqlite_runs_in_wal_with_foreign_keys(tmp_path) -> None:
    db = _db(f"sqlite:///{tmp_path / 'x.db'}")
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    db.dispose()


def test_append_assigns_gapless_seq_in_order(db_url: str) -> None:
    store = EventStore(_db(db_url))
    a = store.append([make_event("skypatrol.test.v1", {"i": i}, source="t") for i in range(5)])
    b = store.append([make_event("skypatrol.test.v1", {"i": i}, source="t") for i in range(5, 8)])
    assert [e.seq for e in a + b] == list(range(1, 9))
    got = store.read(0, 100)
    assert [e.seq for e in got] == list(range(1, 9))
    assert [e.data["i"] for e in got] == list(range(8))


def test_same_source_and_id_is_stored_once(db_url: str) -> None:
    store = EventStore(_db(db_url))
    e = make_event("skypatrol.test.v1", {"x": 1}, source="edge-1", id="abc")
    first = store.append([e])[0]
    again = store.append([make_event("skypatrol.test.v1", {"x": 2}, source="edge-1", id="abc")])[0]
    other = store.append([make_event("skypatrol.test.v1", {"x": 3}, source="edge-2", id="abc")])[0]
    assert again.seq == first.seq and again.data == {"x": 1}
    assert other.seq == first.seq + 1
    assert len(store.read(0, 100)) == 2


def test_concurrent_writers_never_duplicate_or_skip_seq(db_url: str) -> None:
    """Two independent engines (as two processes would be) appending at once."""
    _db(db_url).dispose()
    stores = [EventStore(Database(db_url)) for _ in range(2)]
    errors: list[BaseException] = []

    def write(store: EventStore, tag: str) -> None:
        try:
            for i in range(40):
                store.append([make_event("skypatrol.test.v1", {"i": i}, source=tag) for _ in range(3)])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(s, f"w{n}")) for n, s in enumerate(stores)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    seqs = [e.seq for e in stores[0].read(0, 10_000)]
    assert seqs == list(range(1, 241))


def test_retention_drops_only_listed_types_past_their_age(db_url: str) -> None:
    store = EventStore(_db(db_url))
    old = datetime.now(UTC) - timedelta(days=10)
    store.append([
        make_event("skypatrol.telemetry.v1", {}, source="t", time=old),
        make_event("skypatrol.telemetry.v1", {}, source="t"),
        make_event("skypatrol.mission.completed.v1", {}, source="t", time=old),
        make_event("skypatrol.detection.muck_truck.v1", {}, source="t", time=old),
    ])
    removed = store.apply_retention({"skypatrol.telemetry.v1": 7})
    assert removed == 1
    kept = [e.type for e in store.read(0, 10)]
    assert kept == ["skypatrol.telemetry.v1", "skypatrol.mission.completed.v1",
                    "skypatrol.detection.muck_truck.v1"]


def test_time_round_trips_in_utc(db_url: str) -> None:
    store = EventStore(_db(db_url))
    t = datetime(2026, 5, 1, 8, 30, 15, 123456, tzinfo=UTC)
    store.append([make_event("skypatrol.test.v1", None, source="t", time=t)])
    e = store.read(0, 1)[0]
    assert e.time == t
    assert '"time":"2026-05-01T08:30:15.123456Z"' in e.to_json()
    with store.db.engine.connect() as conn:
        assert conn.execute(select(EventRow.data)).scalar() is None


def test_bad_database_url_is_a_clear_error() -> None:
    from core.errors import BadInput

    with pytest.raises(BadInput, match="database URL"):
        Database("nosuchdb://x")
