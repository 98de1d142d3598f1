"""HTTP API: zones (pilot reads, admin changes, every change audited) and the route check."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Body, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from airspace.check import check_route
from airspace.formats import parse_zones, zones_to_geojson
from airspace.model import Zone, as_utc
from airspace.route import Route, RoutePoint, route_from_mission
from airspace.rules import CheckOptions, DroneClass, configured_height_limits
from airspace.store import MemoryZoneStore, ZoneStore
from airspace.terrain import configured_dem
from core import audit
from core.auth import Principal, require_role
from core.db import get_session
from core.errors import BadInput, Conflict

router = APIRouter(tags=["airspace"])


class ZoneSummary(BaseModel):
    id: str
    name: str
    restriction: str


class ImportResult(BaseModel):
    imported: int
    ids: list[str]


class Waypoint(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    alt_rel_m: float = Field(ge=-1000, le=20_000)


class RouteIn(BaseModel):
    """A route as waypoints (items 0..) after a take-off from `home` on the ground."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    home_lat: float = Field(ge=-90, le=90)
    home_lon: float = Field(ge=-180, le=180)
    waypoints: list[Waypoint] = Field(min_length=1, max_length=20_000)
    return_home: bool = False


class CheckRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    route: RouteIn | None = None
    plan: dict[str, Any] | None = Field(default=None, description="a QGroundControl .plan document")
    at: datetime | None = None
    home_amsl_m: float | None = Field(default=None, ge=-500, le=9000)
    authorisations: list[str] = Field(default_factory=list)
    drone_class: DroneClass = DroneClass.LIGHT
    max_distance_from_home_m: float | None = Field(default=None, gt=0, le=1_000_000)
    min_distance_from_zones_m: float | None = Field(default=None, gt=0, le=100_000)
    zones: dict[str, Any] | None = Field(default=None, description="a zone document to check against instead")


class ViolationOut(BaseModel):
    zone_id: str | None
    restriction: str | None
    kind: str
    waypoint_index: int | None
    segment_index: int | None
    lat: float
    lon: float
    alt_rel_m: float
    alt_amsl_m: float
    detail: str


class CheckResult(BaseModel):
    clear: bool
    violations: list[ViolationOut]


@router.get("/api/v1/zones", response_model=list[ZoneSummary])
def list_zones(
    session: Session = Depends(get_session), _: Principal = Depends(require_role("pilot"))
) -> list[ZoneSummary]:
    return [ZoneSummary(id=z.id, name=z.name, restriction=z.restriction.value) for z in ZoneStore(session).list()]


@router.get("/api/v1/zones.geojson")
def export_zones(
    session: Session = Depends(get_session), _: Principal = Depends(require_role("pilot"))
) -> dict[str, Any]:
    return zones_to_geojson(ZoneStore(session).list())


@router.post("/api/v1/zones/import", response_model=ImportResult)
def import_zones(
    document: dict[str, Any] = Body(..., description="ED-269 JSON, ED-318 GeoJSON or GeoJSON zones"),
    session: Session = Depends(get_session),
    principal: Principal = Depends(require_role("admin")),
) -> ImportResult:
    zones = parse_zones(document, "zone document")
    count = ZoneStore(session).put_many(zones, source="api")
    ids = [z.id for z in zones]
    audit.record(session, principal, "zones.import", "zone", ids)
    return ImportResult(imported=count, ids=ids)


@router.get("/api/v1/zones/{zone_id}", response_model=Zone)
def get_zone(
    zone_id: str, session: Session = Depends(get_session), _: Principal = Depends(require_role("pilot"))
) -> Zone:
    return ZoneStore(session).get(zone_id)


@router.post("/api/v1/zones", response_model=Zone, status_code=201)
def create_zone(
    zone: Zone, session: Session = Depends(get_session), principal: Principal = Depends(require_role("admin"))
) -> Zone:
    store = ZoneStore(session)
    if store.exists(zone.id):
        raise Conflict(f"zone {zone.id!r} exists")
    store.put(zone, source="api")
    audit.record(session, principal, "zone.create", "zone", zone.id, {"restriction": zone.restriction.value})
    return zone


@router.put("/api/v1/zones/{zone_id}", response_model=Zone)
def replace_zone(
    zone_id: str,
    zone: Zone,
    session: Session = Depends(get_session),
    principal: Principal = Depends(require_role("admin")),
) -> Zone:
    if zone.id != zone_id:
        raise BadInput(f"the body's id {zone.id!r} is not {zone_id!r}")
    store = ZoneStore(session)
    store.get(zone_id)
    store.put(zone, source="api")
    audit.record(session, principal, "zone.update", "zone", zone_id, {"restriction": zone.restriction.value})
    return zone


@router.delete("/api/v1/zones/{zone_id}", status_code=204)
def delete_zone(
    zone_id: str, session: Session = Depends(get_session), principal: Principal = Depends(require_role("admin"))
) -> Response:
    ZoneStore(session).delete(zone_id)
    audit.record(session, principal, "zone.delete", "zone", zone_id)
    return Response(status_code=204)


@router.post("/api/v1/airspace/check", response_model=CheckResult)
def check(
    request: Request, body: CheckRequest, session: Session = Depends(get_session),
    _: Principal = Depends(require_role("viewer")),
) -> CheckResult:
    """Check a route (waypoints or a QGC plan) against the stored zones, or the zones given."""
    if (body.route is None) == (body.plan is None):
        raise BadInput("give exactly one of route and plan")
    home_amsl = body.home_amsl_m
    if body.plan is not None:
        from missions.formats.qgc_plan import read_plan  # the one .plan reader lives in missions/formats

        plan = read_plan(json.dumps(body.plan))
        home_amsl = home_amsl if home_amsl is not None else (plan.home_alt_amsl_m or 0.0)
        route = route_from_mission(plan, home_amsl)
    else:
        assert body.route is not None
        home_amsl = home_amsl if home_amsl is not None else 0.0
        route = _route(body.route)
    index = MemoryZoneStore(parse_zones(body.zones, "zones")).index() if body.zones else ZoneStore(session).index()
    options = CheckOptions(
        drone_class=body.drone_class,
        height_limits_m=configured_height_limits(),  # the server's configuration; not the caller's to relax
        authorisations=frozenset(body.authorisations),
        max_distance_from_home_m=body.max_distance_from_home_m,
        min_distance_from_zones_m=body.min_distance_from_zones_m,
        dem=configured_dem(request.app.state.settings),
    )
    at = as_utc(body.at) if body.at else datetime.now(UTC)
    return CheckResult.model_validate(check_route(route, at, home_amsl, index, options).to_json())


def _route(r: RouteIn) -> Route:
    pts = [RoutePoint(r.home_lat, r.home_lon, 0.0, None, False)]
    pts += [RoutePoint(w.lat, w.lon, w.alt_rel_m, i) for i, w in enumerate(r.waypoints)]
    if r.return_home:
        pts.append(RoutePoint(r.home_lat, r.home_lon, pts[-1].alt_rel_m, len(r.waypoints), False))
    return Route(tuple(pts))
