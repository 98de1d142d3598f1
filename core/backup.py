"""Database backups: a consistent copy of the live database, and restoring one.

SQLite uses its online backup API (a consistent snapshot while the server keeps writing);
PostgreSQL uses `pg_dump --format=custom` and `pg_restore --clean`. A restore first checks that
the file is a SkyPatrol backup (a SQLite database or a pg_dump archive holding `alembic_version`)
and refuses anything else before touching the database; after it, the migrations bring an older
backup up to date. The server also takes backups on its own (`backup_interval_h`, keeping the
newest `backup_keep`) into `<data_dir>/backups`.
"""

from __future__ import annotations

import logging
import shutil
import sqlite3
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from core.db import Database, _normalise_url
from core.errors import BadInput, Unavailable

log = logging.getLogger(__name__)
PG_DUMP_MAGIC = b"PGDMP"


def _sqlite_path(url: str) -> Path:
    path = url.split("///", 1)[1] if "///" in url else ""
    if not path or path == ":memory:":
        raise BadInput("an in-memory SQLite database cannot be backed up or restored")
    return Path(path)


def _libpq_url(url: str) -> str:
    return "postgresql://" + _normalise_url(url).split("://", 1)[1]


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise Unavailable(f"{name} is not installed (PostgreSQL client tools are needed for PostgreSQL backups)")
    return path


def default_backup_name(url: str, at: datetime | None = None) -> str:
    stamp = (at or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    return f"skypatrol-{stamp}." + ("db" if url.startswith("sqlite") else "dump")


def backup_database(url: str, dest: Path) -> Path:
    """Write a consistent backup of the database at `url` to `dest` (created; never overwritten)."""
    url = _normalise_url(url)
    dest = Path(dest)
    if dest.exists():
        raise BadInput(f"{dest} exists already; backups never overwrite a file")
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(dest.name + ".partial")
    try:
        if url.startswith("sqlite"):
            src_path = _sqlite_path(url)
            if not src_path.is_file():
                raise BadInput(f"no database at {src_path}")
            src = sqlite3.connect(f"file:{src_path}?mode=ro", uri=True)
            dst = sqlite3.connect(partial)
            try:
                src.backup(dst)
                dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
            finally:
                dst.close()
                src.close()
        else:
            res = subprocess.run([_tool("pg_dump"), "--format=custom", "--no-owner", f"--file={partial}",
                                  f"--dbname={_libpq_url(url)}"], capture_output=True, text=True, timeout=3600)
            if res.returncode != 0:
                raise Unavailable(f"pg_dump failed: {res.stderr.strip()[-500:]}")
        partial.replace(dest)
    finally:
        partial.unlink(missing_ok=True)
    return dest


def _check_sqlite_backup(path: Path) -> None:
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            ok = con.execute("PRAGMA integrity_check").fetchone()[0]
            rev = con.execute("SELECT version_num FROM alembic_version").fetchone()
        finally:
            con.close()
    except sqlite3.DatabaseError as exc:
        raise BadInput(f"{path} is not a SkyPatrol SQLite backup: {exc}") from None
    if ok != "ok":
        raise BadInput(f"{path} is damaged: {ok}")
    if rev is None:
        raise BadInput(f"{path} is not a SkyPatrol SQLite backup: no schema revision")


def restore_database(url: str, src: Path) -> None:
    """Replace the database at `url` with the backup `src`, then apply the migrations."""
    url = _normalise_url(url)
    src = Path(src)
    if not src.is_file():
        raise BadInput(f"no backup file at {src}")
    if url.startswith("sqlite"):
        _check_sqlite_backup(src)
        target = _sqlite_path(url)
        target.parent.mkdir(parents=True, exist_ok=True)
        source = sqlite3.connect(f"file:{src}?mode=ro", uri=True)
        dest = sqlite3.connect(target, timeout=30)
        try:
            source.backup(dest)  # one transaction on the destination: all of it or none
        finally:
            dest.close()
            source.close()
    else:
        with src.open("rb") as f:
            if f.read(5) != PG_DUMP_MAGIC:
                raise BadInput(f"{src} is not a pg_dump archive (custom format)")
        listing = subprocess.run([_tool("pg_restore"), "--list", str(src)], capture_output=True, text=True, timeout=600)
        if listing.returncode != 0 or "alembic_version" not in listing.stdout:
            raise BadInput(f"{src} is not a SkyPatrol PostgreSQL backup")
        res = subprocess.run([_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--single-transaction",
                              f"--dbname={_libpq_url(url)}", str(src)], capture_output=True, text=True, timeout=3600)
        if res.returncode != 0:
            raise Unavailable(f"pg_restore failed (the database is unchanged): {res.stderr.strip()[-500:]}")
    db = Database(url)
    try:
        db.upgrade()
    finally:
        db.dispose()


def prune_backups(folder: Path, keep: int) -> list[Path]:
    """Delete all but the newest `keep` backups in `folder`; returns what was deleted."""
    backups = sorted(p for p in folder.glob("skypatrol-*") if p.suffix in (".db", ".dump"))
    doomed = backups[:-keep] if keep > 0 else backups
    for p in doomed:
        p.unlink(missing_ok=True)
    return doomed
