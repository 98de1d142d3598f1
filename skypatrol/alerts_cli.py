"""`skypatrol alert ...`: the duty officers' alerts on a running server (`--server`, `--token`)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from core.client import ApiClient

alert_app = typer.Typer(help="Alerts on a running server: list, acknowledge, assign, close, reopen.",
                        no_args_is_help=True)

ServerOpt = Annotated[str, typer.Option("--server", envvar="SKYPATROL_SERVER", help="server URL")]
TokenOpt = Annotated[str | None, typer.Option("--token", envvar="SKYPATROL_TOKEN", help="bearer token")]
NoteOpt = Annotated[str | None, typer.Option("--note", help="a note kept with the alert")]
JsonOpt = Annotated[bool, typer.Option("--json", help="machine-readable output")]
DEFAULT_SERVER = "http://127.0.0.1:8000"


@alert_app.command("list")
def alert_list(
    status: Annotated[str | None, typer.Option(help="open, acknowledged, assigned or closed")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 100,
    server: ServerOpt = DEFAULT_SERVER, token: TokenOpt = None, as_json: JsonOpt = False,
) -> None:
    """Alerts, newest first."""
    params: dict[str, str | int] = {"limit": limit}
    if status:
        params["status"] = status
    alerts = ApiClient(server, token).get("/api/v1/alerts", params=params)
    if as_json:
        print(json.dumps(alerts))
        return
    for a in alerts:
        print(f"{a['id']}\t{a['status']}\t{a['type']}\t{a['subject'] or ''}\t{a['assignee'] or ''}")


def _act(action: str, alert_id: str, server: str, token: str | None, as_json: bool, **body: str | None) -> None:
    a = ApiClient(server, token).post(f"/api/v1/alerts/{alert_id}/{action}",
                                      json={k: v for k, v in body.items() if v is not None})
    print(json.dumps(a) if as_json else f"{a['id']}\t{a['status']}")


@alert_app.command("ack")
def alert_ack(alert_id: str, note: NoteOpt = None, server: ServerOpt = DEFAULT_SERVER, token: TokenOpt = None,
              as_json: JsonOpt = False) -> None:
    """Acknowledge an open alert."""
    _act("acknowledge", alert_id, server, token, as_json, note=note)


@alert_app.command("assign")
def alert_assign(alert_id: str, assignee: str, note: NoteOpt = None, server: ServerOpt = DEFAULT_SERVER,
                 token: TokenOpt = None, as_json: JsonOpt = False) -> None:
    """Assign an alert to someone who will act on it."""
    _act("assign", alert_id, server, token, as_json, assignee=assignee, note=note)


@alert_app.command("close")
def alert_close(alert_id: str, note: NoteOpt = None, server: ServerOpt = DEFAULT_SERVER, token: TokenOpt = None,
                as_json: JsonOpt = False) -> None:
    """Close an alert (the note says how it was resolved)."""
    _act("close", alert_id, server, token, as_json, note=note)


@alert_app.command("reopen")
def alert_reopen(alert_id: str, note: NoteOpt = None, server: ServerOpt = DEFAULT_SERVER, token: TokenOpt = None,
                 as_json: JsonOpt = False) -> None:
    """Reopen a closed alert."""
    _act("reopen", alert_id, server, token, as_json, note=note)
