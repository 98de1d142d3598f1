"""Database engine, sessions and migrations (SQLAlchemy 2 + Alembic).

SQLite (the default, a file in the data directory) runs in WAL mode with foreign keys on;
PostgreSQL is chosen by URL. Migrations are applied at start and by `skypatrol db upgrade`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import Request
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from core.errors import BadInput, Unavailable
from core.models import Base

if TYPE_CHECKING:
    from core.settings import Settings

__all__ = ["Base", "Database", "get_session", "make_engine", "session_scope", "upgrade"]

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def _normalise_url(url: str) -> str:
    # One driver for PostgreSQL: psycopg 3.
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def make_engine(url: str, sqlite_synchronous: str = "NORMAL") -> Engine:
    url = _normalise_url(url)
    try:
        if url.startswith("sqlite"):
            path = url.split("///", 1)[1] if "///" in url else ""
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

            @event.listens_for(engine, "connect")
            def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
                cur = dbapi_conn.cursor()
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute("PRAGMA foreign_keys=ON")
                cur.execute(f"PRAGMA synchronous={sqlite_synchronous}")
                cur.execute("PRAGMA busy_timeout=30000")
                cur.close()

            return engine
        return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)
    except ArgumentError as exc:
        raise BadInput(f"invalid database URL {url!r}: {exc}") from None
    except ModuleNotFoundError as exc:
        raise BadInput(f"no driver for database URL {url!r}: {exc.name}") from None


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply Alembic migrations up to `revision` on `engine`."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    try:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
    except OperationalError as exc:
        raise Unavailable(f"database unreachable: {exc.orig}") from None


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        try:
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        except Exception:
            return None


class Database:
    """The engine and session factory of one running SkyPatrol."""

    def __init__(self, url: str, sqlite_synchronous: str = "NORMAL") -> None:
        self.url = _normalise_url(url)
        self.engine = make_engine(url, sqlite_synchronous)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> Database:
        return cls(settings.resolved_database_url, settings.sqlite_synchronous)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def upgrade(self) -> None:
        upgrade(self.engine)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session committed on success and rolled back on error."""
        s = self.sessions()
        try:
            yield s
            s.commit()
        except BaseException:
            s.rollback()
            raise
        finally:
            s.close()

    def ping(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return True
        except Exception:
            return False

    def dispose(self) -> None:
        self.engine.dispose()


@contextmanager
def session_scope(settings: Settings | None = None) -> Iterator[Session]:
    """A committed session on the configured database (for CLI commands and scripts)."""
    from core.settings import get_settings

    db = Database.from_settings(settings or get_settings())
    try:
        db.upgrade()
        with db.session() as s:
            yield s
    finally:
        db.dispose()


def get_session(request: Request) -> Iterator[Session]:
    """FastAPI dependency: one session per request, committed when the handler returns."""
    db: Database = request.app.state.db
    with db.session() as s:
        yield s
