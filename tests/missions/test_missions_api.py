"""`/api/v1/plans`: previews need viewer, saving needs pilot and is audited."""

from __future__ import annotations

import json

import pytest
from planning_kit import ll

from core.models import AuditLog


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _square(size: float = 400) -> dict:
    ring = [list(ll(0, 0)), list(ll(size, 0)), list(ll(size, size)), list(ll(0, size)), list(ll(0, 0))]
    return {"type": "Polygon", "coordinates": [ring]}


SURVEY = {
    "area": _square(),
    "alt_m": 60,
    "camera": {"name": "dji-phantom4-rtk"},
    "fleet": {"drones": 2, "endurance_min": 10},
}


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_preview_needs_viewer_and_returns_sorties(client, tokens) -> None:  # type: ignore[no-untyped-def]
    assert client.post("/api/v1/plans/preview/survey", json=SURVEY).status_code == 401
    r = client.post("/api/v1/plans/preview/survey", json=SURVEY, headers=auth(tokens["viewer"]))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["covered_m2"] >= 0.99 * body["plannable_m2"] and len(body["sorties"]) >= 2
    first = body["sorties"][0]["plan"]["mission"]["items"]
    assert first[0]["command"] == 22 and first[-1]["command"] == 20


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_preview_points_and_corridor(client, tokens) -> None:  # type: ignore[no-untyped-def]
    h = auth(tokens["viewer"])
    pts = {
        "points": [
            {"lat": ll(100, 0)[1], "lon": ll(100, 0)[0], "action": "orbit", "radius_m": 10},
            {"lat": ll(0, 100)[1], "lon": ll(0, 100)[0], "action": "hover"},
        ]
    }
    r = client.post("/api/v1/plans/preview/points", json=pts, headers=h)
    assert r.status_code == 200 and any(i["command"] == 18 for i in r.json()["sorties"][0]["plan"]["mission"]["items"])
    line = {"type": "LineString", "coordinates": [list(ll(0, 0)), list(ll(500, 0))]}
    r = client.post("/api/v1/plans/preview/corridor", json={"line": line, "width_m": 80, "gsd_cm": 1.5}, headers=h)
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_bad_requests_are_422_with_the_common_error_shape(client, tokens) -> None:  # type: ignore[no-untyped-def]
    h = auth(tokens["viewer"])
    r = client.post("/api/v1/plans/preview/survey", json={**SURVEY, "alt_m": None}, headers=h)
    assert r.status_code == 422 and "error" in r.json()
    r = client.post("/api/v1/plans/preview/survey", json={**SURVEY, "alt_m": 500}, headers=h)
    assert r.status_code == 422 and "ceiling" in r.json()["error"]["message"]
    bad = {**SURVEY, "area": {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [0, 0]]]}}
    assert client.post("/api/v1/plans/preview/survey", json=bad, headers=h).status_code == 422


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_saving_needs_pilot_is_audited_and_exports(client, tokens) -> None:  # type: ignore[no-untyped-def]
    body = {"name": "north field", "survey": SURVEY}
    assert client.post("/api/v1/plans", json=body, headers=auth(tokens["viewer"])).status_code == 403
    r = client.post("/api/v1/plans", json=body, headers=auth(tokens["pilot"]))
    assert r.status_code == 201, r.text
    plan_id = r.json()["id"]
    listed = client.get("/api/v1/plans", headers=auth(tokens["viewer"])).json()
    assert [p["id"] for p in listed] == [plan_id] and listed[0]["sorties"] >= 2
    wp = client.get(f"/api/v1/plans/{plan_id}/sorties/1?format=waypoints", headers=auth(tokens["viewer"]))
    assert wp.status_code == 200 and wp.text.startswith("QGC WPL 110")
    kml = client.get(f"/api/v1/plans/{plan_id}/sorties/1?format=kml", headers=auth(tokens["viewer"]))
    assert kml.status_code == 422 and "KML cannot carry" in kml.json()["error"]["message"]
    assert client.get(f"/api/v1/plans/{plan_id}/sorties/9", headers=auth(tokens["viewer"])).status_code == 404
    with client.app.state.db.session() as s:
        actions = [a.action for a in s.query(AuditLog).all()]
    assert "plan.create" in actions
    assert client.delete(f"/api/v1/plans/{plan_id}", headers=auth(tokens["viewer"])).status_code == 403
    assert client.delete(f"/api/v1/plans/{plan_id}", headers=auth(tokens["pilot"])).status_code == 204
    assert client.get(f"/api/v1/plans/{plan_id}", headers=auth(tokens["viewer"])).status_code == 404


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_importing_a_qgc_plan_document(client, tokens, tmp_path) -> None:  # type: ignore[no-untyped-def]
    doc = {
        "fileType": "Plan",
        "mission": {
            "items": [{"type": "SimpleItem", "command": 22, "frame": 3, "params": [0, 0, 0, None, 30.74, 121.34, 30]}],
            "plannedHomePosition": [30.74, 121.34, 4],
        },
    }
    r = client.post("/api/v1/plans", json={"name": "imported", "mission": doc}, headers=auth(tokens["pilot"]))
    assert r.status_code == 201
    broken = {"fileType": "Plan", "mission": {"items": [{"type": "SimpleItem", "command": "x"}]}}
    r = client.post("/api/v1/plans", json={"name": "bad", "mission": broken}, headers=auth(tokens["pilot"]))
    assert r.status_code == 422 and "command" in json.dumps(r.json())


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_preview_with_zones_cuts_them_out_and_ceiling_is_bad_input(client, tokens) -> None:  # type: ignore[no-untyped-def]
    body = {**SURVEY, "alt_m": 130, "fleet": {"drones": 1}}
    r = client.post("/api/v1/plans/preview/survey", json=body, headers=auth(tokens["viewer"]))
    assert r.status_code == 422  # above the drone's 120 m ceiling: bad input
    ring = [list(ll(100, 100)), list(ll(200, 100)), list(ll(200, 200)), list(ll(100, 200)), list(ll(100, 100))]
    zones = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"id": "z1", "restriction": "PROHIBITED"},
                "geometry": {"type": "Polygon", "coordinates": [ring]},
            }
        ],
    }
    body = {**SURVEY, "airspace": {"zones": zones, "margin_m": 5}}
    r = client.post("/api/v1/plans/preview/survey", json=body, headers=auth(tokens["viewer"]))
    assert r.status_code == 200, r.text
    assert r.json()["not_covered_m2"] > 10000 and r.json()["notes"][0].startswith("not covered:")


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_absurd_requests_are_bad_input_not_server_errors(client, tokens) -> None:  # type: ignore[no-untyped-def]
    h = auth(tokens["viewer"])
    far = {**SURVEY, "area": {"type": "Polygon", "coordinates": [[[0, 0], [500, 0], [500, 1], [0, 0]]]}}
    r = client.post("/api/v1/plans/preview/survey", json=far, headers=h)
    assert r.status_code == 422 and "longitude, latitude" in r.json()["error"]["message"]
    tiny = {**SURVEY, "spacing_m": 0.0001}
    r = client.post("/api/v1/plans/preview/survey", json=tiny, headers=h)
    assert r.status_code == 422 and "too many" in r.json()["error"]["message"]
    junk = {**SURVEY, "area": {"type": "Polygon", "coordinates": "x"}}
    assert client.post("/api/v1/plans/preview/survey", json=junk, headers=h).status_code == 422
