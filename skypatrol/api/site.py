"""The site the server patrols, for map clients: its facts (origin, docks, time zone, base-map
configuration) and its layers as one GeoJSON document (roads, docks, zones with whether each is in
force at a given time, world features). The console draws its offline vector base map from these.

Read by any role (viewer). The site bundle is the `site` setting (a name under `sites/` or a
folder; default `jinshan`; `skypatrol run --site` sets it). A deployment with a map server sets
`console.tile_url` (`SKYPATROL_CONSOLE__TILE_URL`: an XYZ template, `{z}/{x}/{y}`),
`console.tile_gcj02` when its tiles are GCJ-02 (Chinese base maps), and `console.tile_attribution`.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel
from sqlalchemy.orm import Session

from airspace.formats import zones_to_geojson
from airspace.model import as_utc
from airspace.store import ZoneStore
from core.auth import Principal, require_role
from core.db import get_session
from core.errors import BadInput
from skypatrol.site import DEFAULT_SITE, Site, load_site

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1/site", tags=["site"])


class TileConfig(BaseModel):
    url: str | None
    gcj02: bool
    attribution: str | None


class SiteInfo(BaseModel):
    id: str
    name: str
    name_zh: str | None
    timezone: str
    origin: dict[str, float]
    docks: list[dict[str, Any]]
    tiles: TileConfig
    cameras: list[str]
    drone_models: list[str]


def site_name(request: Request) -> str:
    return getattr(request.app.state.settings, "site", None) or DEFAULT_SITE


@lru_cache(maxsize=4)
def _site(name: str) -> Site:
    return load_site(name)


def tile_config(request: Request) -> TileConfig:
    console = request.app.state.settings.console
    return TileConfig(url=console.tile_url, gcj02=console.tile_gcj02, attribution=console.tile_attribution)


@router.get("", response_model=SiteInfo, summary="The site: origin, docks, time zone, base-map configuration")
def site_info(request: Request, _: Principal = Depends(require_role("viewer"))) -> SiteInfo:
    from missions.camera import CATALOGUE as CAMERAS
    from missions.drone import CATALOGUE as DRONES

    site = _site(site_name(request))
    doc = site.doc
    return SiteInfo(id=site.id, name=str(doc.get("name", site.id)), name_zh=doc.get("name_zh"),
                    timezone=str(doc.get("timezone", "Asia/Shanghai")), origin=dict(doc.get("origin", {})),
                    docks=site.docks, tiles=tile_config(request), cameras=sorted(CAMERAS), drone_models=sorted(DRONES))


def _feature(geometry: dict[str, Any], layer: str, props: dict[str, Any]) -> dict[str, Any]:
    return {"type": "Feature", "geometry": geometry, "properties": {"layer": layer, **props}}


def _world_features(site: Site) -> list[dict[str, Any]]:
    """The site's world (the simulator's scene: road-works areas, truck routes), when there is one."""
    try:
        from sitl.world.model import load_world, world_to_geojson

        if "world" in site.doc:
            world = load_world(site.file("world"))
        else:
            from sitl.world.default import default_world

            world = default_world()
        doc = world_to_geojson(world)
    except Exception:  # the base map is drawn without the world rather than not at all
        log.warning("site %s: no world features", site.id, exc_info=True)
        return []
    keep = ("road", "road_works", "excavation", "truck_route")
    return [_feature(f["geometry"], "world", f["properties"]) for f in doc["features"]
            if f["properties"].get("kind") in keep]


@lru_cache(maxsize=4)
def _static_layers(name: str) -> str:
    site = _site(name)
    feats: list[dict[str, Any]] = []
    roads = json.loads(site.file("roads").read_text(encoding="utf-8")) if "roads" in site.doc else {"features": []}
    for f in roads.get("features", []):
        feats.append(_feature(f["geometry"], "road", f.get("properties") or {}))
    for d in site.docks:
        feats.append(_feature({"type": "Point", "coordinates": [d["lon"], d["lat"]]}, "dock",
                              {"id": d["id"], "name": d.get("name", d["id"])}))
    feats += _world_features(site)
    return json.dumps(feats)


@router.get("/layers", summary="The site's map layers as GeoJSON: roads, docks, zones (in force at `at`), world")
def site_layers(request: Request,
                at: datetime | None = Query(None, description="when zones are judged in force (default: now)"),
                session: Session = Depends(get_session),
                _: Principal = Depends(require_role("viewer"))) -> dict[str, Any]:
    when = as_utc(at) if at else datetime.now(UTC)
    feats: list[dict[str, Any]] = json.loads(_static_layers(site_name(request)))
    zones = ZoneStore(session).list()
    try:
        in_force = {z.id: z.applies(when) for z in zones}
    except (OverflowError, ValueError) as exc:  # a time at the ends of the calendar
        raise BadInput(f"at: cannot judge zones at {at!r} ({exc})") from None
    for f in zones_to_geojson(zones)["features"]:
        props = f["properties"]
        props["active"] = in_force.get(props["id"], True)
        feats.append(_feature(f["geometry"], "zone", props))
    return {"type": "FeatureCollection", "at": when.isoformat().replace("+00:00", "Z"), "features": feats}
