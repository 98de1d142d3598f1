"""Database backups: a consistent copy while writes go on, a restore that brings the data back,
and files that are not backups refused before the database is touched — SQLite and PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core.backup import backup_database, prune_backups, restore_database
from core.db import Database
from core.errors import BadInput
from core.models import Drone
from tests.conftest import ROOT


def count(url: str) -> int:
    db = Database(url)
    try:
        with db.session() as s:
            return s.execute(select(func.count()).select_from(Drone)).scalar_one()
    finally:
        db.dispose()


def add_drones(url: str, ids: range, prefix: str = "d") -> None:
    db = Database(url)
    try:
        for i in ids:
            with db.session() as s:
                s.add(Drone(id=f"{prefix}{i}", name=f"drone {i}", state="offline"))
    finally:
        db.dispose()


def cli(url: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SKYPATROL_")}
    env.update(SKYPATROL_DATABASE_URL=url, SKYPATROL_DATA_DIR=str(tmp_path / "data"))
    return subprocess.run([sys.executable, "-m", "skypatrol", "db", *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def test_backup_while_writing_then_restore_brings_the_data_back(db_url: str, tmp_path: Path) -> None:
    if db_url.startswith("postgresql") and not Path("/usr/bin/pg_dump").exists():
        pytest.skip("pg_dump not installed")
    db = Database(db_url)
    db.upgrade()
    db.dispose()
    add_drones(db_url, range(20))
    writer = threading.Thread(target=add_drones, args=(db_url, range(20, 120)))
    writer.start()  # the backup is taken while another connection keeps writing
    res = cli(db_url, tmp_path, "backup")
    writer.join()
    assert res.returncode == 0, res.stderr
    backup = Path(res.stdout.strip())
    assert backup.parent == tmp_path / "data" / "backups" and backup.is_file()
    assert count(db_url) == 120

    # Refusals touch nothing: no --yes, a file that is not a backup, a missing file.
    assert cli(db_url, tmp_path, "restore", str(backup)).returncode == 2
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database at all" * 100)
    bad = cli(db_url, tmp_path, "restore", str(junk), "--yes")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and "junk.db" in bad.stderr
    assert cli(db_url, tmp_path, "restore", str(tmp_path / "nope.db"), "--yes").returncode == 2
    assert count(db_url) == 120

    add_drones(db_url, range(10), prefix="late")  # written after the backup: gone after the restore
    snapshot = count(db_url) - 10
    res = cli(db_url, tmp_path, "restore", str(backup), "--yes")
    assert res.returncode == 0, res.stderr
    restored = count(db_url)
    assert 20 <= restored <= 120 and restored <= snapshot  # a consistent point during the writes
    db = Database(db_url)
    with db.session() as s:
        ids = set(s.execute(select(Drone.id)).scalars())
    db.dispose()
    # consistent: the drones present are exactly the first `restored` ones written, none after
    assert ids == {f"d{i}" for i in range(restored)}


def test_backups_never_overwrite_and_are_pruned_to_the_newest(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    Database(url).upgrade()
    first = backup_database(url, tmp_path / "b" / "skypatrol-20260101T000000Z.db")
    with pytest.raises(BadInput, match="never overwrite"):
        backup_database(url, first)
    for stamp in ("20260102T000000Z", "20260103T000000Z"):
        backup_database(url, tmp_path / "b" / f"skypatrol-{stamp}.db")
    gone = prune_backups(tmp_path / "b", keep=2)
    assert [p.name for p in gone] == ["skypatrol-20260101T000000Z.db"]
    with pytest.raises(BadInput, match="in-memory"):
        restore_database("sqlite://", tmp_path / "b" / "skypatrol-20260103T000000Z.db")
