"""Where road-works sites persist between patrols: an interface, an in-memory store, a JSON file
(in the data dir, for `skypatrol infer` and edge devices) and the server's database
(`DatabaseSiteStore`, table `road_works_sites`, migration 0006)."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from core.errors import BadInput


class SiteStore(Protocol):
    def load(self) -> list[dict[str, Any]]: ...

    def save(self, sites: list[dict[str, Any]]) -> None: ...


class InMemorySiteStore:
    def __init__(self, sites: list[dict[str, Any]] | None = None) -> None:
        self.sites: list[dict[str, Any]] = [dict(s) for s in sites or []]

    def load(self) -> list[dict[str, Any]]:
        return [dict(s) for s in self.sites]

    def save(self, sites: list[dict[str, Any]]) -> None:
        self.sites = [dict(s) for s in sites]


class JsonFileSiteStore:
    """`{"sites": [...]}` in one file, replaced atomically on save."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def load(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise BadInput(f"{self.path}: broken site store ({exc})") from None
        sites = data.get("sites") if isinstance(data, dict) else None
        if not isinstance(sites, list):
            raise BadInput(f"{self.path}: a site store holds {{\"sites\": [...]}}")
        return sites

    def save(self, sites: list[dict[str, Any]]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(json.dumps({"sites": sites}, indent=1, sort_keys=True), encoding="utf-8")
        os.replace(tmp, self.path)


class DatabaseSiteStore:
    """The sites in the server's database: `save` upserts each site by `site_id` (a site seen again
    updates its row; sites of other patrols are left as they are)."""

    def __init__(self, db: Any) -> None:
        self.db = db  # core.db.Database

    def load(self) -> list[dict[str, Any]]:
        from sqlalchemy import select

        from core.models import RoadWorksSite

        with self.db.session() as s:
            return [dict(r.doc) for r in s.execute(select(RoadWorksSite).order_by(RoadWorksSite.site_id)).scalars()]

    def save(self, sites: list[dict[str, Any]]) -> None:
        from shapely.geometry import shape

        from core.models import RoadWorksSite

        with self.db.session() as s:
            for site in sites:
                centre = shape(site["geometry"]).centroid
                row = s.get(RoadWorksSite, site["site_id"]) or RoadWorksSite(site_id=site["site_id"])
                row.geometry = site["geometry"]
                row.centroid_lat, row.centroid_lon = float(centre.y), float(centre.x)
                row.first_seen = _utc(site["first_seen"])
                row.last_seen = _utc(site["last_seen"])
                row.patrols = int(site.get("patrols", 1))
                row.objects = site.get("objects")
                row.last_mission_id = site.get("last_mission_id")
                row.doc = json.loads(json.dumps(site))
                s.add(row)


def _utc(t: float) -> datetime:
    return datetime.fromtimestamp(float(t), UTC)
