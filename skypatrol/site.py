"""The site bundle (`sites/<name>/`): loaded into an empty database by the main job."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from airspace.formats import read_zone_file
from airspace.store import ZoneStore
from core.errors import BadInput
from core.models import Drone, Zone

SITES_DIR = Path(__file__).resolve().parent.parent / "sites"
DEFAULT_SITE = "jinshan"


@dataclass(frozen=True)
class Site:
    path: Path
    doc: dict[str, Any]

    @property
    def id(self) -> str:
        return str(self.doc["id"])

    @property
    def docks(self) -> list[dict[str, Any]]:
        return list(self.doc.get("docks", []))

    @property
    def drones(self) -> list[dict[str, Any]]:
        return list(self.doc.get("drones", []))

    def file(self, key: str) -> Path:
        return self.path / str(self.doc[key])


def load_site(name_or_path: str = DEFAULT_SITE) -> Site:
    path = Path(name_or_path)
    if not path.is_dir():
        path = SITES_DIR / name_or_path
    manifest = path / "site.json"
    if not manifest.is_file():
        raise BadInput(f"site {name_or_path!r} not found (no {manifest})")
    try:
        doc = json.loads(manifest.read_text())
    except json.JSONDecodeError as exc:
        raise BadInput(f"{manifest}: not JSON: {exc}") from None
    return Site(path, doc)


def seed_site(session: Session, site: Site, base_port: int = 14540) -> dict[str, int]:
    """Import the site's zones and drones into an empty database; never overwrite what is there."""
    added = {"zones": 0, "drones": 0}
    if session.execute(select(func.count()).select_from(Zone)).scalar_one() == 0:
        zones = read_zone_file(site.file("zones"))
        added["zones"] = ZoneStore(session).put_many(zones, source=f"site:{site.id}")
    if session.execute(select(func.count()).select_from(Drone)).scalar_one() == 0:
        docks = {d["id"]: d for d in site.docks}
        for i, d in enumerate(site.drones):
            dock = docks.get(d.get("dock", ""), {})
            session.add(Drone(id=d["id"], name=d["name"], model=d.get("model"),
                              registration_no=d.get("registration_no"),
                              connection_url=f"udpin://0.0.0.0:{base_port + i}", dock=d.get("dock"),
                              home_lat=dock.get("lat"), home_lon=dock.get("lon"),
                              home_alt_amsl_m=dock.get("alt_amsl_m"), state="offline"))
            added["drones"] += 1
    return added
