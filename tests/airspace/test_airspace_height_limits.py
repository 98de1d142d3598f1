"""Configured true-height limits per drone class: honoured by check_route, the CLI, the API and the
authority's filing rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from airspace_testkit import HOME_AMSL_M, latlon, route
from test_airspace_cli import AT, plan_file, runner, zones_file

from airspace.check import check_route
from airspace.cli import app
from airspace.hub.policy import FilingPolicy, assess
from airspace.index import ZoneIndex
from airspace.intent import intent_volumes
from airspace.rules import (
    DEFAULT_HEIGHT_LIMITS_M,
    HEIGHT_LIMITS_ENV,
    CheckOptions,
    DroneClass,
    configured_height_limits,
    parse_height_limits,
)
from core.errors import BadInput
from tests.conftest import auth

WHEN = datetime(2025, 3, 3, 10, 0, tzinfo=UTC)


def heights(options: CheckOptions, alt: float) -> list[str]:
    r = route((0, 0, alt), (500, 0, alt))
    return [v.kind for v in check_route(r, WHEN, HOME_AMSL_M, ZoneIndex([]), options).violations]


def test_defaults_are_the_interim_regulations() -> None:
    assert DEFAULT_HEIGHT_LIMITS_M == {"micro": 50.0, "light": 120.0, "small": 120.0, "medium": None, "large": None}
    assert heights(CheckOptions(drone_class=DroneClass.MICRO), 55) == ["height_rule"]
    assert heights(CheckOptions(drone_class=DroneClass.MICRO), 50) == []
    assert heights(CheckOptions(drone_class=DroneClass.SMALL), 125) == ["height_rule"]
    assert heights(CheckOptions(drone_class=DroneClass.LARGE), 500) == []


def test_a_partial_mapping_changes_only_its_classes() -> None:
    options = CheckOptions(drone_class=DroneClass.LIGHT, height_limits_m={"micro": 30})  # type: ignore[dict-item]
    assert options.height_limits_m[DroneClass.MICRO] == 30.0
    assert options.max_height_agl_m == 120.0  # light keeps its default, not "no limit"
    assert heights(options, 125) == ["height_rule"]
    assert heights(CheckOptions(drone_class=DroneClass.MICRO, height_limits_m={"MICRO": 30}), 40) == ["height_rule"]  # type: ignore[dict-item]
    assert heights(CheckOptions(drone_class=DroneClass.LIGHT, height_limits_m={"light": None}), 400) == []  # type: ignore[dict-item]
    with pytest.raises(BadInput, match="unknown drone class 'heavy'"):
        CheckOptions(height_limits_m={"heavy": 10})  # type: ignore[dict-item]
    with pytest.raises(BadInput, match="positive"):
        CheckOptions(height_limits_m={"micro": -5})  # type: ignore[dict-item]


def test_configuration_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert parse_height_limits('{"micro": 40, "medium": null}') == {"micro": 40, "medium": None}
    assert parse_height_limits("micro=40, medium=none") == {"micro": 40.0, "medium": None}
    monkeypatch.setenv(HEIGHT_LIMITS_ENV, "light=100,medium=300")
    assert configured_height_limits()[DroneClass.LIGHT] == 100.0
    assert configured_height_limits()[DroneClass.MICRO] == 50.0
    assert configured_height_limits({"light": 90})[DroneClass.LIGHT] == 90.0  # a flag over the configuration
    assert heights(CheckOptions(), 110) == ["height_rule"]  # the default options use the configuration
    assert heights(CheckOptions(drone_class=DroneClass.MEDIUM), 310) == ["height_rule"]
    monkeypatch.setenv(HEIGHT_LIMITS_ENV, "light=tall")
    with pytest.raises(BadInput, match=HEIGHT_LIMITS_ENV):
        CheckOptions()


def test_cli_drone_class_configuration_and_flag(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plan = plan_file(tmp_path, (0, -800, 60), (500, -800, 110), rtl=False)  # well away from the zones
    base = ["check", str(plan), "--zones", str(zones_file(tmp_path)), "--at", AT, "--json"]
    assert runner.invoke(app, base).exit_code == 0  # light: 120 m
    res = runner.invoke(app, [*base, "--drone-class", "micro"])
    assert res.exit_code == 1 and '"height_rule"' in res.stdout
    monkeypatch.setenv(HEIGHT_LIMITS_ENV, "light=100")
    res = runner.invoke(app, base)
    assert res.exit_code == 1 and "100 m true-height limit for light drones" in res.stdout
    assert runner.invoke(app, [*base, "--height-limit", "light=150"]).exit_code == 0
    assert runner.invoke(app, [*base, "--drone-class", "micro", "--height-limit", "micro=120"]).exit_code == 0
    res = runner.invoke(app, [*base, "--height-limit", "heavy=10"])
    assert res.exit_code == 2 and "unknown drone class" in res.output


def test_api_uses_the_servers_configuration(client, tokens, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    home, far = latlon(0, 0), latlon(500, 0)
    body = {
        "route": {
            "home_lat": home[0],
            "home_lon": home[1],
            "waypoints": [{"lat": far[0], "lon": far[1], "alt_rel_m": 60}],
        },
        "at": "2025-03-03T10:00:00Z",
        "home_amsl_m": 4.0,
    }
    viewer = auth(tokens["viewer"])
    assert client.post("/api/v1/airspace/check", json=body, headers=viewer).json()["clear"] is True
    out = client.post("/api/v1/airspace/check", json={**body, "drone_class": "micro"}, headers=viewer).json()
    assert [v["kind"] for v in out["violations"]] == ["height_rule"]
    monkeypatch.setenv(HEIGHT_LIMITS_ENV, "light=40")
    out = client.post("/api/v1/airspace/check", json=body, headers=viewer).json()
    assert [(v["kind"], v["alt_rel_m"]) for v in out["violations"]] == [("height_rule", 40.0)]


def test_filing_policy_uses_the_configured_limits() -> None:
    from airspace.authority import IntentRequest

    vols = intent_volumes(route((0, 0, 100), (500, 0, 100)), HOME_AMSL_M, WHEN + timedelta(days=2))
    req = IntentRequest(operator_id="op", drone_id="d", home_amsl_m=HOME_AMSL_M, volumes=vols)
    index = ZoneIndex([])
    assert assess(req, index, FilingPolicy().height_limits_m) == (False, [])
    assert assess(req, index, FilingPolicy(height_limits_m={DroneClass.LIGHT: 60.0}).height_limits_m)[0] is True
