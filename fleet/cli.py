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
