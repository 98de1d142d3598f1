"""Zone stores: the database table (`core.models.Zone`, the zone document as JSON) and an
in-memory set for files. Both hand out a `ZoneIndex` ready for checks."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from airspace.index import ZoneIndex
from airspace.model import Zone
from core.errors import NotFound
from core.models import Zone as ZoneRow


class ZoneSource(Protocol):
    def list(self) -> list[Zone]: ...

    def index(self) -> ZoneIndex: ...


class MemoryZoneStore:
    """Zones held in memory (a file checked from the command line, tests, the embedded hub)."""

    def __init__(self, zones: Iterable[Zone] = ()) -> None:
        self._zones: dict[str, Zone] = {}
        self._index: ZoneIndex | None = None
        self._lock = threading.Lock()
        self.put_many(zones)

    def list(self) -> list[Zone]:
        return sorted(self._zones.values(), key=lambda z: z.id)

    def get(self, zone_id: str) -> Zone:
        try:
            return self._zones[zone_id]
        except KeyError:
            raise NotFound(f"no zone {zone_id!r}") from None

    def put(self, zone: Zone) -> None:
        self.put_many([zone])

    def put_many(self, zones: Iterable[Zone]) -> None:
        with self._lock:
            for z in zones:
                self._zones[z.id] = z
            self._index = None

    def delete(self, zone_id: str) -> None:
        with self._lock:
            if self._zones.pop(zone_id, None) is None:
                raise NotFound(f"no zone {zone_id!r}")
            self._index = None

    def index(self) -> ZoneIndex:
        with self._lock:
            if self._index is None:
                self._index = ZoneIndex(self.list())
            return self._index


# The index of the database's zones, rebuilt when the table changes (count or latest update).
_db_index_cache: dict[str, tuple[tuple[int, datetime | None], ZoneIndex]] = {}
_db_index_lock = threading.Lock()


class ZoneStore:
    """Zones in the database, one row per zone, the full zone document in `doc`."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def list(self) -> list[Zone]:
        rows = self.session.execute(select(ZoneRow).order_by(ZoneRow.id)).scalars()
        return [Zone.model_validate(r.doc) for r in rows]

    def get(self, zone_id: str) -> Zone:
        row = self.session.get(ZoneRow, zone_id)
        if row is None:
            raise NotFound(f"no zone {zone_id!r}")
        return Zone.model_validate(row.doc)

    def exists(self, zone_id: str) -> bool:
        return self.session.get(ZoneRow, zone_id) is not None

    def put(self, zone: Zone, source: str | None = None) -> None:
        self.put_many([zone], source)

    def put_many(self, zones: Iterable[Zone], source: str | None = None) -> int:
        """Insert or replace zones by id; returns how many were written."""
        count = 0
        now = datetime.now(UTC)
        for zone in zones:
            doc = zone.model_dump(mode="json")
            row = self.session.get(ZoneRow, zone.id)
            if row is None:
                self.session.add(
                    ZoneRow(
                        id=zone.id,
                        name=zone.name[:255],
                        restriction=zone.restriction.value,
                        doc=doc,
                        source=source,
                        updated_at=now,
                    )
                )
            else:
                row.name, row.restriction, row.doc, row.updated_at = (
                    zone.name[:255],
                    zone.restriction.value,
                    doc,
                    now,
                )
                if source is not None:
                    row.source = source
            count += 1
        self.session.flush()
        return count

    def delete(self, zone_id: str) -> None:
        row = self.session.get(ZoneRow, zone_id)
        if row is None:
            raise NotFound(f"no zone {zone_id!r}")
        self.session.delete(row)
        self.session.flush()

    def delete_all_except(self, keep_ids: Iterable[str]) -> list[str]:
        keep = set(keep_ids)
        gone = [zid for zid in self.session.execute(select(ZoneRow.id)).scalars() if zid not in keep]
        for zid in gone:
            self.session.delete(self.session.get(ZoneRow, zid))
        self.session.flush()
        return gone

    def index(self) -> ZoneIndex:
        stamp = tuple(self.session.execute(select(func.count(ZoneRow.id), func.max(ZoneRow.updated_at))).one())
        key = str(self.session.get_bind().url)
        with _db_index_lock:
            cached = _db_index_cache.get(key)
            if cached and cached[0] == stamp:
                return cached[1]
        index = ZoneIndex(self.list())
        with _db_index_lock:
            _db_index_cache[key] = (stamp, index)  # type: ignore[assignment]
        return index
