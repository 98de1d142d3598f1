"""Road-works sites in the server's database (migration 0006): the same site seen on the next patrol
updates its row; on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, inspect, select

from core.db import Database
from core.models import RoadWorksSite
from inference.aggregate.aggregator import ROAD_WORKS, Aggregator
from inference.aggregate.store import DatabaseSiteStore
from tests.inference.test_aggregate import FRAME, T, patrol


def test_site_updated_on_the_next_patrol_in_the_database(db_url: str, tmp_path: Path) -> None:
    db = Database(db_url)
    db.upgrade()
    assert "road_works_sites" in inspect(db.engine).get_table_names()
    store = DatabaseSiteStore(db)
    first = patrol(Aggregator(FRAME, mission_id="m1", site_store=store), T)
    assert [p.type for p in first] == [ROAD_WORKS] and first[0].data["new"]
    site_id = first[0].data["site_id"]
    # The next day's patrol, through another store object (another process would do the same).
    second = patrol(Aggregator(FRAME, mission_id="m2", site_store=DatabaseSiteStore(Database(db_url))), T + 86400,
                    shift=1.0)
    d = second[0].data
    assert d["site_id"] == site_id and not d["new"] and d["patrols"] == 2
    # A site elsewhere is a new row beside it.
    third = patrol(Aggregator(FRAME, mission_id="m3", site_store=store), T + 2 * 86400, shift=400.0)
    assert third[0].data["new"] and third[0].data["site_id"] != site_id
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(RoadWorksSite)) == 2
        row = s.get(RoadWorksSite, site_id)
        assert row is not None and row.patrols == 2 and row.last_mission_id == "m2"
        assert abs(row.first_seen.timestamp() - T) < 5
        assert row.last_seen.timestamp() > T + 86400 and row.objects == {"traffic_cone": 8, "barrier": 1}
        assert abs(row.centroid_lat - FRAME.lat0_deg) < 0.001
    assert {s["site_id"] for s in store.load()} == {site_id, third[0].data["site_id"]}


def test_sites_listed_by_the_api(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from core.auth import create_token
    from core.settings import Settings
    from skypatrol.app import create_app

    app = create_app(Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'sp.db'}", retention_days={}))
    with TestClient(app) as c:
        with app.state.db.session() as s:
            _, token = create_token(s, "t-viewer", "viewer")
        assert c.get("/api/v1/road-works/sites", headers={"Authorization": f"Bearer {token}"}).json() == []
        patrol(Aggregator(FRAME, mission_id="m1", site_store=DatabaseSiteStore(app.state.db)), T)
        sites = c.get("/api/v1/road-works/sites", headers={"Authorization": f"Bearer {token}"}).json()
        assert len(sites) == 1 and sites[0]["patrols"] == 1 and sites[0]["last_mission_id"] == "m1"
        assert sites[0]["geometry"]["type"] == "Polygon"
        assert c.get("/api/v1/road-works/sites").status_code == 401
