"""`/api/v1/plans`: compute-only previews (role viewer) and stored plans (saving needs pilot)."""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

from fastapi import APIRouter, Depends, Response
from shapely.geometry import LineString, shape
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.audit import record
from core.auth import Principal, require_role
from core.db import get_session
from core.errors import BadInput, NotFound
from core.models import Plan
from missions.airspace_aware import AirspaceContext
from missions.camera import camera_from_dict, load_camera
from missions.drone import CATALOGUE as DRONES
from missions.formats.convert import mission_text
from missions.formats.qgc_plan import parse_plan_document, plan_document
from missions.inputs import area_from_geometries, check_lonlat
from missions.itemize import ItemOptions
from missions.schemas import (
    AirspaceIn,
    CorridorIn,
    FleetIn,
    ImagingIn,
    PlanCreate,
    PlanOut,
    PointsIn,
    SortieOut,
    StoredPlan,
    StoredPlanSummary,
    SurveyIn,
)
from missions.sorties import DroneSpec
from missions.types import Home, PlanResult

router = APIRouter(prefix="/api/v1/plans", tags=["plans"])

MEDIA = {
    "plan": "application/json",
    "waypoints": "text/plain",
    "geojson": "application/geo+json",
    "kml": "application/vnd.google-earth.kml+xml",
}


def _geometry(doc: dict[str, Any], what: str) -> Any:
    geom = doc.get("geometry") if doc.get("type") == "Feature" else doc
    try:
        g = shape(geom)
    except Exception as exc:  # shapely raises many kinds for malformed GeoJSON; all mean bad input
        raise BadInput(f"{what}: not a GeoJSON geometry ({exc.__class__.__name__})") from None
    check_lonlat(g, what)
    return g


def _fleet(f: FleetIn, default: tuple[float, float]) -> tuple[list[DroneSpec], ItemOptions]:
    if f.drone not in DRONES:
        raise BadInput(f"unknown drone {f.drone!r}: one of {', '.join(sorted(DRONES))}")
    update = {k: v for k, v in (("endurance_min", f.endurance_min), ("cruise_speed_m_s", f.cruise_speed_m_s)) if v}
    model = DRONES[f.drone].model_copy(update=update)
    homes = [Home(h.name, h.lat, h.lon, h.alt_amsl_m) for h in f.homes] or [Home("home", *default)]
    drones = [DroneSpec(homes[k % len(homes)], model) for k in range(f.drones)]
    land = (f.land_at.name, f.land_at.lat, f.land_at.lon) if f.land_at else None
    return drones, ItemOptions(land_at=land, gimbal_command=f.gimbal)


def _airspace(a: AirspaceIn | None) -> AirspaceContext | None:
    if a is None or a.zones is None:
        return None
    from airspace import parse_zones

    ctx = AirspaceContext(
        zones=parse_zones(a.zones, "zones"), authorisations=frozenset(a.authorisations), margin_m=a.margin_m
    )
    return ctx if a.at is None else replace(ctx, at=a.at)


def _camera(req: ImagingIn):  # type: ignore[no-untyped-def]
    if req.camera.custom is not None:
        return camera_from_dict(req.camera.custom, "camera")
    return load_camera(req.camera.name) if req.camera.name else load_camera(None)


def _imaging(req: ImagingIn) -> dict[str, Any]:
    return {
        "camera": _camera(req),
        "alt_m": req.alt_m,
        "gsd_cm": req.gsd_cm,
        "front_overlap": req.front_overlap,
        "side_overlap": req.side_overlap,
        "spacing_m": req.spacing_m,
        "trigger_m": req.trigger_m,
        "turnaround_m": req.turnaround_m,
    }


def run_survey(req: SurveyIn) -> PlanResult:
    from missions.survey import plan_survey

    area = area_from_geometries([_geometry(req.area, "area")], "area")
    first = area.exterior.coords[0] if hasattr(area, "exterior") else area.geoms[0].exterior.coords[0]
    drones, items = _fleet(req.fleet, (first[1], first[0]))
    return plan_survey(
        area, drones, angle_deg=req.angle_deg, airspace=_airspace(req.airspace), items=items, **_imaging(req)
    )


def run_corridor(req: CorridorIn) -> PlanResult:
    from missions.corridor import plan_corridor

    line = _geometry(req.line, "line")
    if not isinstance(line, LineString):
        raise BadInput("line: expected a GeoJSON LineString")
    drones, items = _fleet(req.fleet, (line.coords[0][1], line.coords[0][0]))
    return plan_corridor(
        line, drones, width_m=req.width_m, airspace=_airspace(req.airspace), items=items, **_imaging(req)
    )


def run_points(req: PointsIn) -> PlanResult:
    from missions.inspection import plan_points

    drones, items = _fleet(req.fleet, (req.points[0].lat, req.points[0].lon))
    return plan_points(req.points, drones, airspace=_airspace(req.airspace), items=items)


def plan_out(result: PlanResult) -> PlanOut:
    s = result.stats
    return PlanOut(
        length_m=s.length_m,
        duration_s=s.duration_s,
        makespan_s=s.makespan_s,
        photos=s.photos,
        area_m2=s.area_m2,
        plannable_m2=s.plannable_m2,
        covered_m2=s.covered_m2,
        not_covered_m2=s.not_covered_m2,
        gsd_cm=s.gsd_cm,
        alt_m=s.alt_m,
        spacing_m=s.spacing_m,
        trigger_m=s.trigger_m,
        angle_deg=s.angle_deg,
        notes=result.notes,
        sorties=[
            SortieOut(
                drone=so.drone + 1,
                home=so.home.name,
                start_s=so.start_s,
                length_m=so.stats.length_m,
                duration_s=so.stats.duration_s,
                photos=so.stats.photos,
                battery_pct=so.stats.battery_pct,
                items=len(so.plan.items),
                plan=plan_document(so.plan),
            )
            for so in result.sorties
        ],
    )


@router.post("/preview/survey", response_model=PlanOut)
def preview_survey(body: SurveyIn, _: Principal = Depends(require_role("viewer"))) -> PlanOut:
    """Plan an area survey without storing it."""
    return plan_out(run_survey(body))


@router.post("/preview/corridor", response_model=PlanOut)
def preview_corridor(body: CorridorIn, _: Principal = Depends(require_role("viewer"))) -> PlanOut:
    """Plan a corridor patrol without storing it."""
    return plan_out(run_corridor(body))


@router.post("/preview/points", response_model=PlanOut)
def preview_points(body: PointsIn, _: Principal = Depends(require_role("viewer"))) -> PlanOut:
    """Plan an inspection-point mission without storing it."""
    return plan_out(run_points(body))


@router.post("", response_model=StoredPlan, status_code=201)
def create_plan(
    body: PlanCreate, principal: Principal = Depends(require_role("pilot")), session: Session = Depends(get_session)
) -> StoredPlan:
    """Plan (or import a QGC .plan document) and store it; audited."""
    if body.mission is not None:
        parse_plan_document(body.mission, "mission")  # refuse what the fleet could not fly
        doc: dict[str, Any] = {"kind": "mission", "sorties": [{"plan": body.mission}]}
    else:
        kind = next(k for k in ("survey", "corridor", "points") if getattr(body, k) is not None)
        runner = {"survey": run_survey, "corridor": run_corridor, "points": run_points}[kind]
        req = getattr(body, kind)
        out = plan_out(runner(req))
        doc = {"kind": kind, "request": req.model_dump(mode="json"), **out.model_dump(mode="json")}
    row = Plan(id=uuid.uuid4().hex, name=body.name, doc=doc, created_by=principal.name)
    session.add(row)
    session.flush()
    record(
        session,
        principal,
        "plan.create",
        "plan",
        row.id,
        {"name": body.name, "kind": doc["kind"], "sorties": len(doc["sorties"])},
    )
    return StoredPlan(id=row.id, name=row.name, created_at=row.created_at, created_by=row.created_by, doc=row.doc)


@router.get("", response_model=list[StoredPlanSummary])
def list_plans(
    _: Principal = Depends(require_role("viewer")), session: Session = Depends(get_session)
) -> list[StoredPlanSummary]:
    rows = session.scalars(select(Plan).order_by(Plan.created_at.desc())).all()
    return [
        StoredPlanSummary(
            id=r.id,
            name=r.name,
            created_at=r.created_at,
            created_by=r.created_by,
            sorties=len(r.doc.get("sorties", [])),
        )
        for r in rows
    ]


def _get(session: Session, plan_id: str) -> Plan:
    row = session.get(Plan, plan_id)
    if row is None:
        raise NotFound(f"plan {plan_id!r} not found")
    return row


@router.get("/{plan_id}", response_model=StoredPlan)
def get_plan(
    plan_id: str, _: Principal = Depends(require_role("viewer")), session: Session = Depends(get_session)
) -> StoredPlan:
    row = _get(session, plan_id)
    return StoredPlan(id=row.id, name=row.name, created_at=row.created_at, created_by=row.created_by, doc=row.doc)


@router.get("/{plan_id}/sorties/{number}")
def export_sortie(
    plan_id: str,
    number: int,
    format: str = "plan",
    lossy: bool = False,
    _: Principal = Depends(require_role("viewer")),
    session: Session = Depends(get_session),
) -> Response:
    """One sortie (1-based) as .plan, .waypoints, .geojson or .kml."""
    if format not in MEDIA:
        raise BadInput(f"format must be one of {', '.join(MEDIA)}")
    sorties = _get(session, plan_id).doc.get("sorties", [])
    if not 1 <= number <= len(sorties):
        raise NotFound(f"plan {plan_id!r} has no sortie {number}")
    plan = parse_plan_document(sorties[number - 1]["plan"], f"plan {plan_id} sortie {number}")
    return Response(mission_text(plan, format, lossy), media_type=MEDIA[format])


@router.delete("/{plan_id}", status_code=204)
def delete_plan(
    plan_id: str, principal: Principal = Depends(require_role("pilot")), session: Session = Depends(get_session)
) -> Response:
    row = _get(session, plan_id)
    session.delete(row)
    record(session, principal, "plan.delete", "plan", plan_id, {"name": row.name})
    return Response(status_code=204)
