"""The zones API and POST /api/v1/airspace/check through the real app (roles, audit, errors)."""

from __future__ import annotations

import json

import pytest
from airspace_testkit import latlon, shared_file, square, volume, zone
from sqlalchemy import select

from tests.conftest import auth

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def nfz() -> dict:  # type: ignore[type-arg]
    return zone("NFZ-API", "PROHIBITED", volume(square(400, -50, 500, 50), upper=120)).model_dump(mode="json")


def test_zone_crud_roles_and_audit(client, tokens) -> None:  # type: ignore[no-untyped-def]
    admin, pilot, viewer = auth(tokens["admin"]), auth(tokens["pilot"]), auth(tokens["viewer"])
    assert client.post("/api/v1/zones", json=nfz(), headers=pilot).status_code == 403
    res = client.post("/api/v1/zones", json=nfz(), headers=admin)
    assert res.status_code == 201, res.text
    assert client.post("/api/v1/zones", json=nfz(), headers=admin).status_code == 409
    assert client.get("/api/v1/zones", headers=viewer).status_code == 403
    assert client.get("/api/v1/zones", headers=pilot).json() == [
        {"id": "NFZ-API", "name": "NFZ-API", "restriction": "PROHIBITED"}
    ]
    assert client.get("/api/v1/zones/NFZ-API", headers=pilot).json() == nfz()
    changed = {**nfz(), "restriction": "CONDITIONAL"}
    assert client.put("/api/v1/zones/NFZ-API", json=changed, headers=admin).status_code == 200
    assert client.put("/api/v1/zones/OTHER", json=changed, headers=admin).status_code == 422
    assert client.get("/api/v1/zones/NFZ-API", headers=pilot).json()["restriction"] == "CONDITIONAL"
    bad = {**nfz(), "volumes": [{"shape": {"type": "Polygon", "rings": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}}]}
    res = client.post("/api/v1/zones", json={**bad, "id": "BOWTIE"}, headers=admin)
    assert res.status_code == 422 and "Self-intersection" in res.text
    assert client.delete("/api/v1/zones/NFZ-API", headers=admin).status_code == 204
    res = client.get("/api/v1/zones/NFZ-API", headers=pilot)
    assert res.status_code == 404 and res.json()["error"]["code"] == "not_found"

    from core.models import AuditLog

    with client.app.state.db.session() as s:
        actions = [r.action for r in s.execute(select(AuditLog).order_by(AuditLog.id)).scalars()]
    assert [a for a in actions if a.startswith("zone")] == ["zone.create", "zone.update", "zone.delete"]


def test_import_real_file_and_check(client, tokens) -> None:  # type: ignore[no-untyped-def]
    admin, viewer = auth(tokens["admin"]), auth(tokens["viewer"])
    doc = json.loads(shared_file("airspace", "interuss_cis_sample_ed318.json").read_text())
    res = client.post("/api/v1/zones/import", json=doc, headers=admin)
    assert res.status_code == 200 and res.json()["imported"] == 3
    broken = {"UASZoneList": [{"identifier": "X", "restriction": "PROHIBITED", "geometry": []}]}
    res = client.post("/api/v1/zones/import", json=broken, headers=admin)
    assert res.status_code == 422 and "feature 0 ('X')" in res.json()["error"]["message"]
    assert client.post("/api/v1/zones", json=nfz(), headers=admin).status_code == 201
    exported = client.get("/api/v1/zones.geojson", headers=auth(tokens["pilot"])).json()
    assert len(exported["features"]) == 4

    home = latlon(0, 0)
    body = {
        "route": {
            "home_lat": home[0],
            "home_lon": home[1],
            "waypoints": [
                {"lat": home[0], "lon": home[1], "alt_rel_m": 30},
                {"lat": latlon(1000, 0)[0], "lon": latlon(1000, 0)[1], "alt_rel_m": 30},
            ],
        },
        "at": "2025-03-03T10:00:00Z",
        "home_amsl_m": 4.0,
    }
    res = client.post("/api/v1/airspace/check", json=body, headers=viewer)
    assert res.status_code == 200, res.text
    out = res.json()
    assert out["clear"] is False
    assert [(v["zone_id"], v["segment_index"], v["kind"]) for v in out["violations"]] == [("NFZ-API", 1, "zone")]
    # Against a zone document given inline instead of the stored zones:
    inline = {"type": "FeatureCollection", "features": []}
    res = client.post("/api/v1/airspace/check", json={**body, "zones": inline}, headers=viewer)
    assert res.status_code == 422
    plan = json.loads(shared_file("interop", "mavsdk_qgroundcontrol_sample.plan").read_text())
    res = client.post("/api/v1/airspace/check", json={"plan": plan}, headers=viewer)
    assert res.status_code == 200 and res.json() == {"clear": True, "violations": []}
    assert client.post("/api/v1/airspace/check", json={}, headers=viewer).status_code == 422
    assert client.post("/api/v1/airspace/check", json=body).status_code == 401
