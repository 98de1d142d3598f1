"""`skypatrol airspace ...`: check a route against zones, import and export zones.

Exit codes: 0 clear / done, 1 violations found, 2 bad input (one line on stderr).
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from airspace.check import RouteCheck, check_route
from airspace.formats import read_zone_file, zones_to_geojson
from airspace.route import route_from_mission
from airspace.rules import (
    HEIGHT_LIMITS_ENV,
    CheckOptions,
    DroneClass,
    configured_height_limits,
    parse_height_limits,
)
from airspace.store import MemoryZoneStore
from airspace.terrain import GeoTiffDem
from core.errors import BadInput, SkyPatrolError

app = typer.Typer(help="Airspace: check routes against zones; import and export zones.", no_args_is_help=True)

F = TypeVar("F", bound=Callable[..., Any])


def _reports_errors(fn: F) -> F:
    """Turn product errors into one line on stderr and their exit code, never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except SkyPatrolError as exc:
            print(f"skypatrol: error: {exc.message}", file=sys.stderr)
            raise typer.Exit(exc.exit_code) from None

    return wrapper  # type: ignore[return-value]


def parse_at(value: str | None) -> datetime:
    if value is None:
        return datetime.now(UTC)
    try:
        at = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise BadInput(f"--at {value!r} is not an ISO 8601 time") from None
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def _read_route_plan(path: Path) -> Any:
    # The mission file readers live in missions/formats (the one place that reads plans); imported
    # here, at the command, so the airspace library itself never depends on missions.
    if path.suffix.lower() != ".plan":
        raise BadInput(f"{path}: route must be a QGroundControl .plan file")
    from missions.formats.qgc_plan import read_plan

    return read_plan(path)


@app.command("check")
@_reports_errors
def check_command(
    route: Annotated[Path, typer.Argument(help="the route: a QGroundControl .plan")],
    zones: Annotated[
        Path | None,
        typer.Option("--zones", help="zone file (ED-269, ED-318, GeoJSON); default: the database"),
    ] = None,
    at: Annotated[str | None, typer.Option("--at", help="time of flight, ISO 8601 (default now, UTC)")] = None,
    home_amsl: Annotated[
        float | None,
        typer.Option("--home-amsl", help="home altitude AMSL in metres (default: the plan's, else 0)"),
    ] = None,
    authorisation: Annotated[
        list[str] | None,
        typer.Option("--authorisation", help="a zone id the flight is authorised for (repeatable)"),
    ] = None,
    drone_class: Annotated[DroneClass, typer.Option("--drone-class", help="drone class for the height rule")] = (
        DroneClass.LIGHT
    ),
    height_limit: Annotated[
        list[str] | None,
        typer.Option(
            "--height-limit",
            help=f"CLASS=METRES (or CLASS=none), over the configured limits ({HEIGHT_LIMITS_ENV}); repeatable",
        ),
    ] = None,
    max_distance_from_home: Annotated[
        float | None, typer.Option("--max-distance-from-home", help="site rule: metres from home")
    ] = None,
    min_distance_from_zones: Annotated[
        float | None,
        typer.Option("--min-distance-from-zones", help="site rule: metres from restrictive zones"),
    ] = None,
    dem: Annotated[
        Path | None, typer.Option("--dem", help="terrain: a GeoTIFF DEM in WGS 84 (default: flat at the home's height)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable result on stdout")] = False,
) -> None:
    """Check a route against zones and the height rule: exit 0 clear, 1 violations, 2 bad input."""
    when = parse_at(at)
    plan = _read_route_plan(route)
    home = home_amsl if home_amsl is not None else (plan.home_alt_amsl_m or 0.0)
    index = MemoryZoneStore(read_zone_file(zones)).index() if zones is not None else _database_index()
    options = CheckOptions(
        drone_class=drone_class,
        height_limits_m=configured_height_limits(parse_height_limits(",".join(height_limit or ()))),
        authorisations=frozenset(authorisation or ()),
        max_distance_from_home_m=max_distance_from_home,
        min_distance_from_zones_m=min_distance_from_zones,
        dem=GeoTiffDem(dem) if dem is not None else None,
    )
    result = check_route(route_from_mission(plan, home), when, home, index, options)
    if as_json:
        print(json.dumps(result.to_json()))
    else:
        _print_result(result)
    raise typer.Exit(0 if result.clear else 1)


def _print_result(result: RouteCheck) -> None:
    if result.clear:
        print("clear: no violations")
    for v in result.violations:
        where = f"waypoint {v.waypoint_index}" if v.waypoint_index is not None else f"leg to item {v.segment_index}"
        print(f"{where}: {v.detail} at {v.lat:.7f}, {v.lon:.7f}, {v.alt_rel_m:.1f} m above home")
    for n in result.notices:
        print(f"note: passes through {n.restriction.value if n.restriction else ''} zone {n.zone_id!r}")


def _database_index() -> Any:
    from airspace.store import ZoneStore
    from core.db import session_scope

    with session_scope() as session:
        return ZoneStore(session).index()


@app.command("import")
@_reports_errors
def import_command(
    file: Annotated[Path, typer.Argument(help="zone file: ED-269 JSON, ED-318 GeoJSON or GeoJSON")],
    replace: Annotated[bool, typer.Option("--replace", help="also delete stored zones the file lacks")] = False,
) -> None:
    """Import zones into the database: the whole file or nothing."""
    from airspace.store import ZoneStore
    from core.audit import record
    from core.auth import Principal
    from core.db import session_scope

    zones = read_zone_file(file)
    with session_scope() as session:
        store = ZoneStore(session)
        removed = store.delete_all_except(z.id for z in zones) if replace else []
        count = store.put_many(zones, source=file.name)
        record(
            session,
            Principal(name="cli", role="admin"),
            "zones.import",
            "zone",
            [z.id for z in zones],
            {"file": str(file), "removed": removed},
        )
    print(f"imported {count} zones from {file}" + (f", removed {len(removed)}" if removed else ""))


@app.command("export")
@_reports_errors
def export_command(
    output: Annotated[Path, typer.Option("-o", "--output", help="GeoJSON file to write")],
) -> None:
    """Export the database's zones as GeoJSON (the format `import` reads back)."""
    from airspace.store import ZoneStore
    from core.db import session_scope

    with session_scope() as session:
        zones = ZoneStore(session).list()
    try:
        output.write_text(json.dumps(zones_to_geojson(zones), ensure_ascii=False, indent=1), encoding="utf-8")
    except OSError as exc:
        raise BadInput(f"{output}: cannot be written ({exc.strerror})") from None
    print(f"exported {len(zones)} zones to {output}")


@app.command("list")
@_reports_errors
def list_command(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List the database's zones."""
    from airspace.store import ZoneStore
    from core.db import session_scope

    with session_scope() as session:
        zones = ZoneStore(session).list()
    if as_json:
        print(json.dumps([{"id": z.id, "name": z.name, "restriction": z.restriction.value} for z in zones]))
    else:
        for z in zones:
            print(f"{z.id}\t{z.restriction.value}\t{z.name}")
