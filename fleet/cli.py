"""`skypatrol drone ...`: the fleet on a running server (`--server`, `--token`)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from core.client import ApiClient
from core.errors import BadInput

drone_app = typer.Typer(help="Drones on a running server.", no_args_is_help=True)

ServerOpt = Annotated[str, typer.Option("--server", envvar="SKYPATROL_SERVER", help="server URL")]
TokenOpt = Annotated[str | None, typer.Option("--token", envvar="SKYPATROL_TOKEN", help="bearer token")]
DEFAULT_SERVER = "http://127.0.0.1:8000"


def _home(value: str | None) -> dict | None:
    if value is None:
        return None
    parts = value.split(",")
    try:
        nums = [float(p) for p in parts]
    except ValueError:
        raise BadInput(f"--home must be LAT,LON[,ALT_AMSL_M], got {value!r}") from None
    if len(nums) not in (2, 3):
        raise BadInput(f"--home must be LAT,LON[,ALT_AMSL_M], got {value!r}")
    home = {"lat": nums[0], "lon": nums[1]}
    if len(nums) == 3:
        home["alt_amsl_m"] = nums[2]
    return home


@drone_app.command("list")
def drone_list(server: ServerOpt = DEFAULT_SERVER, token: TokenOpt = None,
               as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List drones and their states."""
    drones = ApiClient(server, token).get("/api/v1/drones")
    if as_json:
        print(json.dumps(drones))
        return
    for d in drones:
        print(f"{d['id']}\t{d['state']}\t{d['name']}\t{d.get('connection_url') or ''}")


@drone_app.command("add")
def drone_add(
    drone_id: Annotated[str, typer.Argument(help="drone id (lower-case slug)")],
    name: Annotated[str | None, typer.Option(help="display name (default: the id)")] = None,
    url: Annotated[str | None, typer.Option("--url", help="MAVSDK connection, e.g. udpin://0.0.0.0:14540")] = None,
    model: Annotated[str | None, typer.Option(help="airframe model")] = None,
    registration: Annotated[str | None, typer.Option(help="CAAC real-name registration number")] = None,
    home: Annotated[str | None, typer.Option(help="LAT,LON[,ALT_AMSL_M]")] = None,
    dock: Annotated[str | None, typer.Option(help="dock name")] = None,
    server: ServerOpt = DEFAULT_SERVER,
    token: TokenOpt = None,
) -> None:
    """Add a drone to the fleet."""
    body = {"id": drone_id, "name": name or drone_id, "model": model, "registration_no": registration,
            "connection_url": url, "home": _home(home), "dock": dock}
    d = ApiClient(server, token).post("/api/v1/drones", json={k: v for k, v in body.items() if v is not None})
    print(json.dumps(d))


@drone_app.command("rm")
def drone_rm(drone_id: Annotated[str, typer.Argument()], server: ServerOpt = DEFAULT_SERVER,
             token: TokenOpt = None) -> None:
    """Remove a drone (refused while it flies)."""
    ApiClient(server, token).delete(f"/api/v1/drones/{drone_id}")


def _drone_command(drone_id: str, command: str, server: str, token: str | None) -> None:
    out = ApiClient(server, token).post(f"/api/v1/drones/{drone_id}/commands/{command}")
    print(json.dumps(out))


@drone_app.command("rtl")
def drone_rtl(drone_id: Annotated[str, typer.Argument()], server: ServerOpt = DEFAULT_SERVER,
              token: TokenOpt = None) -> None:
    """Send a flying drone home (exit 1 with the reason when refused)."""
    _drone_command(drone_id, "rtl", server, token)


@drone_app.command("land")
def drone_land(drone_id: Annotated[str, typer.Argument()], server: ServerOpt = DEFAULT_SERVER,
               token: TokenOpt = None) -> None:
    """Land a drone where it is."""
    _drone_command(drone_id, "land", server, token)


@drone_app.command("pause")
def drone_pause(drone_id: Annotated[str, typer.Argument()], server: ServerOpt = DEFAULT_SERVER,
                token: TokenOpt = None) -> None:
    """Pause a drone's mission: it holds where it is."""
    _drone_command(drone_id, "pause", server, token)


@drone_app.command("resume")
def drone_resume(drone_id: Annotated[str, typer.Argument()], server: ServerOpt = DEFAULT_SERVER,
                 token: TokenOpt = None) -> None:
    """Resume a paused mission from its current item."""
    _drone_command(drone_id, "resume", server, token)


@drone_app.command("hold")
def drone_hold(drone_id: Annotated[str, typer.Argument()], server: ServerOpt = DEFAULT_SERVER,
               token: TokenOpt = None) -> None:
    """Hold a flying drone where it is (a mission keeps its current item)."""
    _drone_command(drone_id, "hold", server, token)


@drone_app.command("kill")
def drone_kill(drone_id: Annotated[str, typer.Argument()], server: ServerOpt = DEFAULT_SERVER,
               token: TokenOpt = None) -> None:
    """Stop a drone's motors at once, wherever it is: the last resort (it falls if flying)."""
    _drone_command(drone_id, "kill", server, token)


@drone_app.command("telemetry")
def drone_telemetry(drone_id: Annotated[str, typer.Argument()], server: ServerOpt = DEFAULT_SERVER,
                    token: TokenOpt = None) -> None:
    """The drone's latest telemetry and state, as JSON."""
    print(json.dumps(ApiClient(server, token).get(f"/api/v1/drones/{drone_id}/telemetry")))


schedule_app = typer.Typer(help="Schedules on a running server.", no_args_is_help=True)


@schedule_app.command("add")
def schedule_add(
    name: Annotated[str, typer.Option(help="schedule name")],
    plan: Annotated[str | None, typer.Option(help="stored plan id to fly")] = None,
    at: Annotated[str | None, typer.Option(help="once at ISO date-time (site time when naive)")] = None,
    daily: Annotated[str | None, typer.Option(help="daily at HH:MM")] = None,
    cron: Annotated[str | None, typer.Option(help="crontab 'm h dom mon dow'")] = None,
    tz: Annotated[str, typer.Option("--tz", help="time zone")] = "Asia/Shanghai",
    end_date: Annotated[str | None, typer.Option(help="last day (YYYY-MM-DD)")] = None,
    grace_s: Annotated[int, typer.Option(min=1, help="misfire grace period, seconds")] = 600,
    approval: Annotated[bool, typer.Option("--approval", help="needs a pilot's approval")] = False,
    server: ServerOpt = DEFAULT_SERVER,
    token: TokenOpt = None,
) -> None:
    """Add a one-off (--at), daily (--daily) or cron (--cron) schedule."""
    kinds = [k for k, v in (("once", at), ("daily", daily), ("cron", cron)) if v]
    if len(kinds) != 1:
        raise BadInput("give exactly one of --at, --daily or --cron")
    body = {"name": name, "plan_id": plan, "kind": kinds[0], "at": at, "time_of_day": daily, "cron": cron,
            "timezone": tz, "end_date": end_date, "misfire_grace_s": grace_s, "requires_approval": approval}
    out = ApiClient(server, token).post("/api/v1/schedules", json={k: v for k, v in body.items() if v is not None})
    print(json.dumps(out))


@schedule_app.command("list")
def schedule_list(server: ServerOpt = DEFAULT_SERVER, token: TokenOpt = None,
                  as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List schedules with their next run."""
    rows = ApiClient(server, token).get("/api/v1/schedules")
    if as_json:
        print(json.dumps(rows))
        return
    for r in rows:
        nxt = r["next_runs"][0] if r["next_runs"] else "-"
        print(f"{r['id']}\t{'active' if r['enabled'] else 'paused'}\t{r['kind']}\t{nxt}\t{r['name']}")


def _schedule_action(schedule_id: str, action: str, server: str, token: str | None) -> None:
    client = ApiClient(server, token)
    if action == "rm":
        client.delete(f"/api/v1/schedules/{schedule_id}")
    else:
        client.post(f"/api/v1/schedules/{schedule_id}/{action}")


@schedule_app.command("pause")
def schedule_pause(schedule_id: Annotated[str, typer.Argument()], server: ServerOpt = DEFAULT_SERVER,
                   token: TokenOpt = None) -> None:
    """Pause a schedule."""
    _schedule_action(schedule_id, "pause", server, token)


@schedule_app.command("resume")
def schedule_resume(schedule_id: Annotated[str, typer.Argument()], server: ServerOpt = DEFAULT_SERVER,
                    token: TokenOpt = None) -> None:
    """Resume a paused schedule."""
    _schedule_action(schedule_id, "resume", server, token)


@schedule_app.command("rm")
def schedule_rm(schedule_id: Annotated[str, typer.Argument()], server: ServerOpt = DEFAULT_SERVER,
                token: TokenOpt = None) -> None:
    """Delete a schedule."""
    _schedule_action(schedule_id, "rm", server, token)


@drone_app.command("return-all")
def drone_return_all(server: ServerOpt = DEFAULT_SERVER, token: TokenOpt = None) -> None:
    """All return home: every flying drone is sent RTL."""
    out = ApiClient(server, token).post("/api/v1/fleet/return-home")
    for drone_id, result in sorted(out["results"].items()):
        print(f"{drone_id}\t{result}")


@drone_app.command("maintenance")
def drone_maintenance(
    drone_id: Annotated[str, typer.Argument()],
    record: Annotated[str | None, typer.Option(
        "--record", help="record: service, battery_replaced, repair, inspection, firmware, propellers, other")] = None,
    note: Annotated[str | None, typer.Option(help="what was done")] = None,
    server: ServerOpt = DEFAULT_SERVER, token: TokenOpt = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Show a drone's flights, flight hours, battery cycles and service state; or record maintenance."""
    client = ApiClient(server, token)
    path = f"/api/v1/drones/{drone_id}/maintenance"
    m = client.post(path, json={"kind": record, "note": note}) if record else client.get(path)
    if as_json:
        print(json.dumps(m))
        return
    due = "SERVICE DUE" if m["service_due"] else "ok"
    print(f"{m['drone_id']}\t{m['flights_total']} flights\t{m['flight_h_total']:.1f} h\t"
          f"{m['flight_h_since_service']:.1f} h since service\t{m['battery_cycles']:.1f} battery cycles\t{due}")
