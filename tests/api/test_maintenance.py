"""Wear and maintenance per drone over the API: counters, service due, records that reset them."""

from __future__ import annotations

from core.models import Drone
from tests.conftest import auth


def test_maintenance_records_reset_the_counters_they_name(client, tokens) -> None:  # type: ignore[no-untyped-def]
    pilot, viewer = auth(tokens["pilot"]), auth(tokens["viewer"])
    assert client.post("/api/v1/drones", json={"id": "js-09", "name": "Jinshan 9"}, headers=pilot).status_code == 201
    m = client.get("/api/v1/drones/js-09/maintenance", headers=viewer).json()
    assert (m["flights_total"], m["flight_h_total"], m["battery_cycles"], m["service_due"]) == (0, 0.0, 0.0, False)
    assert m["service_interval_h"] == 50.0 and m["records"] == []

    with client.app.state.db.session() as s:  # as the dispatcher counts after flights
        d = s.get(Drone, "js-09")
        assert d is not None
        d.flights_total, d.flight_s_total, d.flight_s_since_service, d.battery_cycles = 120, 200 * 3600, 51 * 3600, 87.5
    m = client.get("/api/v1/drones/js-09/maintenance", headers=viewer).json()
    assert m["service_due"] is True and m["flight_h_since_service"] == 51.0
    drone = client.get("/api/v1/drones/js-09", headers=viewer).json()
    assert (drone["flights_total"], drone["flight_h_total"], drone["battery_cycles"]) == (120, 200.0, 87.5)

    assert client.post("/api/v1/drones/js-09/maintenance", json={"kind": "service"}, headers=viewer).status_code == 403
    bad = client.post("/api/v1/drones/js-09/maintenance", json={"kind": "polish"}, headers=pilot)
    assert bad.status_code == 422 and "kind" in bad.json()["error"]["message"]
    assert client.post("/api/v1/drones/nope/maintenance", json={"kind": "service"}, headers=pilot).status_code == 404

    r = client.post("/api/v1/drones/js-09/maintenance", json={"kind": "service", "note": "50 h check"}, headers=pilot)
    assert r.status_code == 201
    m = r.json()
    assert m["service_due"] is False and m["flight_h_since_service"] == 0.0 and m["last_service_at"]
    assert m["battery_cycles"] == 87.5 and m["flight_h_total"] == 200.0  # a service leaves the rest alone
    m = client.post("/api/v1/drones/js-09/maintenance", json={"kind": "battery_replaced"}, headers=pilot).json()
    assert m["battery_cycles"] == 0.0
    assert [(r["kind"], r["battery_cycles_at"], r["by"]) for r in m["records"]] == [
        ("battery_replaced", 87.5, "test-pilot"), ("service", 87.5, "test-pilot")]
    audit = client.get("/api/v1/audit", params={"target_type": "drone"}, headers=auth(tokens["admin"])).json()
    assert [a["action"] for a in audit][-2:] == ["drone.maintenance.service", "drone.maintenance.battery_replaced"]
