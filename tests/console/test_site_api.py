"""The site API the console draws its offline base map from, and the console's static files."""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import auth

STATIC = Path(__file__).resolve().parents[2] / "skypatrol" / "console" / "static"


def _seed(client) -> None:  # type: ignore[no-untyped-def]
    from skypatrol.site import load_site, seed_site

    with client.app.state.db.session() as s:
        seed_site(s, load_site("jinshan"))


def test_site_facts_and_layers_for_a_viewer(client, tokens) -> None:  # type: ignore[no-untyped-def]
    _seed(client)
    assert client.get("/api/v1/site").status_code == 401
    assert client.get("/api/v1/site/layers").status_code == 401
    site = client.get("/api/v1/site", headers=auth(tokens["viewer"])).json()
    assert site["id"] == "jinshan" and site["timezone"] == "Asia/Shanghai"
    assert len(site["docks"]) == 3 and site["tiles"] == {"url": None, "gcj02": False, "attribution": None}
    assert "dji-mavic3e" in site["cameras"]
    doc = client.get("/api/v1/site/layers", headers=auth(tokens["viewer"])).json()
    layers = {f["properties"]["layer"] for f in doc["features"]}
    assert {"road", "dock", "zone"} <= layers
    zones = {f["properties"]["id"]: f for f in doc["features"] if f["properties"]["layer"] == "zone"}
    assert zones["JS-P-001"]["properties"]["restriction"] == "PROHIBITED"
    assert zones["JS-A-002"]["geometry"]["type"] == "Point" and zones["JS-A-002"]["properties"]["radius_m"] == 150


def test_zones_in_force_follow_their_schedule(client, tokens) -> None:  # type: ignore[no-untyped-def]
    _seed(client)
    h = auth(tokens["viewer"])

    def school(at: str) -> bool:
        doc = client.get("/api/v1/site/layers", params={"at": at}, headers=h).json()
        return next(f for f in doc["features"] if f["properties"].get("id") == "JS-C-003")["properties"]["active"]

    # The sample zone's periods are in UTC, as ED-269's are: weekdays 07:00-17:30.
    assert school("2026-11-25T10:00:00Z") is True  # a Wednesday
    assert school("2026-11-25T20:00:00Z") is False
    assert school("2026-11-28T10:00:00Z") is False  # a Saturday


def test_tile_configuration_from_the_environment(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from core.settings import load_settings
    from skypatrol.app import create_app

    monkeypatch.setenv("SKYPATROL_CONSOLE__TILE_URL", "http://tiles.local/{z}/{x}/{y}.png")
    monkeypatch.setenv("SKYPATROL_CONSOLE__TILE_GCJ02", "true")
    settings = load_settings(data_dir=tmp_path, admin_token="sp_tiles_admin_token", fleet={"enabled": False})
    with TestClient(create_app(settings)) as client:
        tiles = client.get("/api/v1/site", headers=auth("sp_tiles_admin_token")).json()["tiles"]
    assert tiles["url"].endswith("{z}/{x}/{y}.png") and tiles["gcj02"] is True


def test_console_page_and_modules_are_served_without_a_token(client) -> None:  # type: ignore[no-untyped-def]
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert '<script type="module" src="/console/app.js">' in page.text
    for name in ("app.js", "map.js", "api.js", "i18n.js", "formats.js", "gcj02.js", "style.css", "icon.svg"):
        r = client.get(f"/console/{name}")
        assert r.status_code == 200, name
    assert "javascript" in client.get("/console/app.js").headers["content-type"]
    # The console's routes are not API routes: they stay out of the OpenAPI document.
    assert "/" not in client.app.openapi()["paths"]


def test_the_console_needs_nothing_from_the_internet() -> None:
    for path in STATIC.rglob("*"):
        if path.suffix in (".js", ".html", ".css"):
            text = path.read_text(encoding="utf-8")
            assert not re.search(r"""(src|href)=["']https?://""", text), path
            assert not re.search(r"""from\s+["']https?://""", text), path
            assert not re.search(r"""import\(["']https?://""", text), path
