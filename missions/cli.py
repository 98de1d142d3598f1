"""`skypatrol plan ...`: survey, corridor and inspection-point missions, and format conversion.

Exit codes (DESIGN.md): 0 planned/converted, 1 refused by the airspace check, 2 bad input;
errors are one line on stderr, never a traceback.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from functools import wraps
from pathlib import Path
from typing import Annotated, Any

import typer

from core.errors import BadInput, SkyPatrolError
from missions.airspace_aware import AirspaceContext
from missions.camera import load_camera
from missions.drone import CATALOGUE as DRONES
from missions.drone import DroneModel
from missions.formats.convert import convert as convert_files
from missions.formats.convert import format_of, write_mission
from missions.itemize import ItemOptions
from missions.sorties import DroneSpec
from missions.types import Home, PlanResult

app = typer.Typer(help="Plan patrol missions and convert mission files.", no_args_is_help=True)


def _guard(fn: Callable[..., None]) -> Callable[..., None]:
    @wraps(fn)
    def run(*args: Any, **kwargs: Any) -> None:
        try:
            fn(*args, **kwargs)
        except SkyPatrolError as exc:
            typer.echo(f"error: {exc.message}", err=True)
            raise typer.Exit(exc.exit_code or 2) from None

    return run


def _latlon(text: str, what: str) -> tuple[float, float]:
    try:
        lat, lon = (float(v) for v in text.split(",")[:2])
    except ValueError:
        raise BadInput(f"{what} must be LAT,LON, got {text!r}") from None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise BadInput(f"{what} {text!r} is out of range")
    return lat, lon


def _fleet(
    homes: list[str],
    n: int,
    endurance_min: float | None,
    drone: str,
    speed: float | None,
    default_home: tuple[float, float],
) -> list[DroneSpec]:
    if n < 1:
        raise BadInput(f"--drones must be at least 1, got {n}")
    if drone not in DRONES:
        raise BadInput(f"unknown drone {drone!r}: one of {', '.join(sorted(DRONES))}")
    model: DroneModel = DRONES[drone]
    update: dict[str, float] = {}
    if endurance_min is not None:
        if endurance_min <= 0:
            raise BadInput("--endurance-min must be positive")
        update["endurance_min"] = endurance_min
    if speed is not None:
        if speed <= 0:
            raise BadInput("--speed-m-s must be positive")
        update["cruise_speed_m_s"] = speed
    model = model.model_copy(update=update)
    spots = [_latlon(h, "--home") for h in homes or []] or [default_home]
    return [DroneSpec(Home(f"home-{k % len(spots) + 1}", *spots[k % len(spots)]), model) for k in range(n)]


def _airspace(zones: Path | None, at: str | None, auth: list[str] | None, margin: float) -> AirspaceContext | None:
    if zones is None:
        return None
    from airspace import read_zone_file

    when = datetime.now(UTC)
    if at:
        try:
            when = datetime.fromisoformat(at)
        except ValueError:
            raise BadInput(f"--at must be an ISO 8601 time, got {at!r}") from None
    return AirspaceContext(zones=read_zone_file(zones), at=when, authorisations=frozenset(auth or ()), margin_m=margin)


def _items(land_at: str | None, gimbal: str) -> ItemOptions:
    if gimbal not in ("mount", "manager"):
        raise BadInput("--gimbal must be 'mount' or 'manager'")
    land = None
    if land_at:
        name, _, rest = land_at.partition(":")
        if not rest:
            raise BadInput("--land-at must be NAME:LAT,LON")
        land = (name, *_latlon(rest, "--land-at"))
    return ItemOptions(land_at=land, gimbal_command=gimbal)  # type: ignore[arg-type]


def sortie_paths(out: Path, count: int) -> list[Path]:
    if count == 1:
        return [out]
    return [out.with_name(f"{out.stem}-{k}{out.suffix}") for k in range(1, count + 1)]


def _emit(result: PlanResult, out: Path, as_json: bool, lossy: bool) -> None:
    format_of(out)
    paths = sortie_paths(out, len(result.sorties))
    for path, sortie in zip(paths, result.sorties, strict=True):
        write_mission(sortie.plan, path, lossy=lossy)
    if as_json:
        typer.echo(json.dumps(summary_json(result, paths), indent=1))
    else:
        typer.echo(result.summary())
        typer.echo("wrote " + ", ".join(str(p) for p in paths))


def summary_json(result: PlanResult, paths: list[Path] | None = None) -> dict[str, Any]:
    s = result.stats
    return {
        "length_m": round(s.length_m, 1),
        "duration_s": round(s.duration_s, 1),
        "makespan_s": round(s.makespan_s, 1),
        "photos": s.photos,
        "area_m2": round(s.area_m2, 1),
        "plannable_m2": round(s.plannable_m2, 1),
        "covered_m2": round(s.covered_m2, 1),
        "not_covered_m2": round(s.not_covered_m2, 1),
        "gsd_cm": s.gsd_cm,
        "alt_m": s.alt_m,
        "spacing_m": s.spacing_m,
        "trigger_m": s.trigger_m,
        "angle_deg": s.angle_deg,
        "notes": result.notes,
        "sorties": [
            {
                "drone": so.drone + 1,
                "home": so.home.name,
                "start_s": round(so.start_s, 1),
                "length_m": round(so.stats.length_m, 1),
                "duration_s": round(so.stats.duration_s, 1),
                "photos": so.stats.photos,
                "battery_pct": round(so.stats.battery_pct, 1),
                "items": len(so.plan.items),
                **({"file": str(paths[k])} if paths else {}),
            }
            for k, so in enumerate(result.sorties)
        ],
    }


Out = Annotated[Path, typer.Option("-o", "--out", help="Output mission file (.plan, .waypoints, .geojson, .kml)")]
Alt = Annotated[float | None, typer.Option("--alt-m", help="Flying height above home, metres")]
Gsd = Annotated[float | None, typer.Option("--gsd-cm", help="Target ground sample distance, cm/pixel")]
Cam = Annotated[str | None, typer.Option("--camera", help="Catalogue name or camera JSON file")]
Front = Annotated[float, typer.Option("--front-overlap", help="Front overlap, % (or fraction)")]
Side = Annotated[float, typer.Option("--side-overlap", help="Side overlap, % (or fraction)")]
Spacing = Annotated[float | None, typer.Option("--spacing-m", help="Lane spacing instead of the side overlap")]
Trigger = Annotated[float | None, typer.Option("--trigger-m", help="Trigger distance instead of the front overlap")]
Turn = Annotated[float, typer.Option("--turnaround-m", help="Run-in/run-out beyond each lane end")]
Zones = Annotated[Path | None, typer.Option("--zones", help="Zone file (ED-269, ED-318 or GeoJSON)")]
At = Annotated[str | None, typer.Option("--at", help="When the flight happens (ISO 8601; default now)")]
Auth = Annotated[list[str] | None, typer.Option("--authorisation", help="Zone id the flight is authorised for")]
Margin = Annotated[float, typer.Option("--margin-m", help="Distance kept from no-fly volumes")]
Drones = Annotated[int, typer.Option("--drones", help="Number of drones sharing the work")]
Endurance = Annotated[float | None, typer.Option("--endurance-min", help="Battery endurance, minutes")]
Drone = Annotated[str, typer.Option("--drone", help=f"Drone model: {', '.join(sorted(DRONES))}")]
Speed = Annotated[float | None, typer.Option("--speed-m-s", help="Cruise speed")]
Homes = Annotated[list[str] | None, typer.Option("--home", help="Home/dock LAT,LON (repeat for several)")]
Land = Annotated[str | None, typer.Option("--land-at", help="Land at NAME:LAT,LON instead of returning home")]
Gimbal = Annotated[str, typer.Option("--gimbal", help="mount (DO_MOUNT_CONTROL) or manager (gimbal v2)")]
Json = Annotated[bool, typer.Option("--json", help="Machine-readable summary on stdout")]
Lossy = Annotated[bool, typer.Option("--lossy", help="Write KML even though it drops items without a position")]


@app.command()
@_guard
def survey(
    area: Annotated[Path, typer.Argument(help="Area: GeoJSON or KML polygon(s), holes allowed")],
    out: Out,
    alt_m: Alt = None,
    gsd_cm: Gsd = None,
    camera: Cam = None,
    front_overlap: Front = 75.0,
    side_overlap: Side = 65.0,
    spacing_m: Spacing = None,
    trigger_m: Trigger = None,
    angle: Annotated[float | None, typer.Option("--angle", help="Lane bearing, degrees from north")] = None,
    turnaround_m: Turn = 5.0,
    zones: Zones = None,
    at: At = None,
    authorisation: Auth = None,
    margin_m: Margin = 10.0,
    drones: Drones = 1,
    endurance_min: Endurance = None,
    drone: Drone = "generic-quad",
    speed_m_s: Speed = None,
    home: Homes = None,
    land_at: Land = None,
    gimbal: Gimbal = "mount",
    json_out: Json = False,
    lossy: Lossy = False,
) -> None:
    """Survey an area with boustrophedon lanes."""
    from missions.inputs import read_area
    from missions.survey import plan_survey

    shape = read_area(area)
    first = shape.exterior.coords[0] if hasattr(shape, "exterior") else shape.geoms[0].exterior.coords[0]
    fleet = _fleet(home, drones, endurance_min, drone, speed_m_s, (first[1], first[0]))
    result = plan_survey(
        shape,
        fleet,
        camera=load_camera(camera),
        alt_m=alt_m,
        gsd_cm=gsd_cm,
        front_overlap=front_overlap,
        side_overlap=side_overlap,
        spacing_m=spacing_m,
        trigger_m=trigger_m,
        angle_deg=angle,
        turnaround_m=turnaround_m,
        airspace=_airspace(zones, at, authorisation, margin_m),
        items=_items(land_at, gimbal),
    )
    _emit(result, out, json_out, lossy)


@app.command()
@_guard
def corridor(
    line: Annotated[Path, typer.Argument(help="Road centre line: GeoJSON or KML LineString")],
    out: Out,
    width_m: Annotated[float, typer.Option("--width-m", help="Corridor width to cover")],
    alt_m: Alt = None,
    gsd_cm: Gsd = None,
    camera: Cam = None,
    front_overlap: Front = 75.0,
    side_overlap: Side = 65.0,
    spacing_m: Spacing = None,
    trigger_m: Trigger = None,
    turnaround_m: Turn = 5.0,
    zones: Zones = None,
    at: At = None,
    authorisation: Auth = None,
    margin_m: Margin = 10.0,
    drones: Drones = 1,
    endurance_min: Endurance = None,
    drone: Drone = "generic-quad",
    speed_m_s: Speed = None,
    home: Homes = None,
    land_at: Land = None,
    gimbal: Gimbal = "mount",
    json_out: Json = False,
    lossy: Lossy = False,
) -> None:
    """Patrol a corridor along a road with offset passes."""
    from missions.corridor import plan_corridor
    from missions.inputs import read_line

    road = read_line(line)
    fleet = _fleet(home, drones, endurance_min, drone, speed_m_s, (road.coords[0][1], road.coords[0][0]))
    result = plan_corridor(
        road,
        fleet,
        width_m=width_m,
        camera=load_camera(camera),
        alt_m=alt_m,
        gsd_cm=gsd_cm,
        front_overlap=front_overlap,
        side_overlap=side_overlap,
        spacing_m=spacing_m,
        trigger_m=trigger_m,
        turnaround_m=turnaround_m,
        airspace=_airspace(zones, at, authorisation, margin_m),
        items=_items(land_at, gimbal),
    )
    _emit(result, out, json_out, lossy)


@app.command()
@_guard
def points(
    points_file: Annotated[Path, typer.Argument(help="Points: GeoJSON or KML Points with action properties")],
    out: Out,
    zones: Zones = None,
    at: At = None,
    authorisation: Auth = None,
    margin_m: Margin = 10.0,
    drones: Drones = 1,
    endurance_min: Endurance = None,
    drone: Drone = "generic-quad",
    speed_m_s: Speed = None,
    home: Homes = None,
    land_at: Land = None,
    gimbal: Gimbal = "mount",
    json_out: Json = False,
    lossy: Lossy = False,
) -> None:
    """Visit inspection points (hover, orbit or photo) in a solved order."""
    from missions.inputs import read_points
    from missions.inspection import plan_points

    pts = read_points(points_file)
    fleet = _fleet(home, drones, endurance_min, drone, speed_m_s, (pts[0].lat, pts[0].lon))
    result = plan_points(
        pts, fleet, airspace=_airspace(zones, at, authorisation, margin_m), items=_items(land_at, gimbal)
    )
    _emit(result, out, json_out, lossy)


@app.command()
@_guard
def convert(
    src: Annotated[Path, typer.Argument(help="Input mission file")],
    dst: Annotated[Path, typer.Argument(help="Output mission file (format from the suffix)")],
    lossy: Annotated[bool, typer.Option("--lossy", help="Drop what the target cannot carry")] = False,
) -> None:
    """Convert between .plan, .waypoints/.txt, .geojson and .kml."""
    plan = convert_files(src, dst, lossy=lossy)
    typer.echo(
        f"{src} -> {dst}: {len(plan.items)} items, {len(plan.fence_polygons) + len(plan.fence_circles)} "
        f"fence shapes, {len(plan.rally_points)} rally points"
    )


def main() -> None:  # pragma: no cover - for `python -m missions.cli`
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
    sys.exit(0)
