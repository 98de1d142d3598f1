"""`skypatrol hub serve`: the reference East China UAV hub."""

from __future__ import annotations

import sys
from datetime import time
from pathlib import Path
from typing import Annotated

import typer

from core.errors import BadInput, SkyPatrolError

hub_app = typer.Typer(help="The reference East China UAV hub.", no_args_is_help=True)


@hub_app.callback()
def hub_callback() -> None:
    """The reference East China UAV hub (its own database and port)."""


@hub_app.command("serve")
def serve_command(
    host: Annotated[str, typer.Option("--host", envvar="SKYPATROL_HUB_HOST")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", envvar="SKYPATROL_HUB_PORT")] = 8600,
    db: Annotated[
        str | None, typer.Option("--db", envvar="SKYPATROL_HUB_DB", help="database URL or SQLite file")
    ] = None,
    zones: Annotated[list[Path] | None, typer.Option("--zones", help="zone file to publish (repeatable)")] = None,
    admin_token: Annotated[
        str | None,
        typer.Option("--admin-token", envvar="SKYPATROL_HUB_ADMIN_TOKEN", help="the hub operator's token"),
    ] = None,
    deadline: Annotated[
        str,
        typer.Option("--deadline", help="local time on the day before, for flights needing authorisation"),
    ] = "12:00",
    emergency_lead_min: Annotated[float, typer.Option("--emergency-lead-min")] = 30.0,
    timezone: Annotated[str, typer.Option("--timezone")] = "Asia/Shanghai",
    review: Annotated[
        bool, typer.Option("--review", help="leave on-time filings needing authorisation pending")
    ] = False,
) -> None:
    """Run the hub until interrupted."""
    try:
        app = build_app(db, zones or [], admin_token, deadline, emergency_lead_min, timezone, review)
    except SkyPatrolError as exc:
        print(f"skypatrol: error: {exc.message}", file=sys.stderr)
        raise typer.Exit(exc.exit_code) from None
    import uvicorn

    uvicorn.run(app, host=host, port=port, log_level="warning")


def build_app(
    db: str | None,
    zone_files: list[Path],
    admin_token: str | None,
    deadline: str = "12:00",
    emergency_lead_min: float = 30.0,
    timezone: str = "Asia/Shanghai",
    review: bool = False,
):  # type: ignore[no-untyped-def]
    from datetime import timedelta
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from airspace.formats import read_zone_file
    from airspace.hub.engine import AuthorityEngine
    from airspace.hub.policy import FilingPolicy
    from airspace.hub.server import create_hub_app

    try:
        hh, mm = (int(x) for x in deadline.split(":"))
        deadline_time = time(hh, mm)
    except ValueError:
        raise BadInput(f"--deadline {deadline!r} is not HH:MM") from None
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise BadInput(f"--timezone {timezone!r} is not a known time zone") from None
    url = db or "sqlite:///var/hub.db"
    if "://" not in url:
        Path(url).parent.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{url}"
    policy = FilingPolicy(
        timezone=timezone,
        controlled_deadline_local=deadline_time,
        emergency_lead=timedelta(minutes=emergency_lead_min),
        auto_approve=not review,
    )
    engine = AuthorityEngine(url, policy)
    for path in zone_files:
        engine.publish_zones(read_zone_file(path))
    return create_hub_app(engine, admin_token)
