"""Where road-works sites persist between patrols: an interface, an in-memory store and a JSON
file (in the data dir). A database-backed store implements the same two methods."""

from __future__ import annotations

import json
import os
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
