"""The `skypatrol` command line.

Exit codes (shared/DESIGN.md): 0 success or clear, 1 the answer is "no", 2 bad input or usage
(one line on stderr, never a traceback).
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer

try:  # Typer carries its own copy of Click's exceptions
    from typer._click import exceptions as cx
except ImportError:  # pragma: no cover - older Typer on top of Click
    from click import exceptions as cx  # type: ignore[no-redef]

from core.errors import BadInput, SkyPatrolError

app = typer.Typer(
    name="skypatrol",
    help="SkyPatrol: city drone patrols end to end.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
token_app = typer.Typer(help="Bearer tokens.", no_args_is_help=True)
events_app = typer.Typer(help="The event stream.", no_args_is_help=True)
db_app = typer.Typer(help="The database.", no_args_is_help=True)
app.add_typer(token_app, name="token")
app.add_typer(events_app, name="events")
app.add_typer(db_app, name="db")

# Domain sub-apps: (module, attribute, command name), mounted when the module exists.
DOMAIN_APPS = (
    ("airspace.cli", "app", "airspace"),
    ("airspace.hub.cli", "hub_app", "hub"),
    ("missions.cli", "app", "plan"),
    ("sitl.cli", "app", "sim"),
    ("fleet.cli", "drone_app", "drone"),
    ("fleet.cli", "schedule_app", "schedule"),
    ("skypatrol.alerts_cli", "alert_app", "alert"),
    ("inference.cli", "app", "infer"),
    ("inference.edge_cli", "app", "edge"),
)

ServerOpt = Annotated[str, typer.Option("--server", envvar="SKYPATROL_SERVER",
                                        help="SkyPatrol server URL")]
TokenOpt = Annotated[str | None, typer.Option("--token", envvar="SKYPATROL_TOKEN", help="bearer token")]


def _settings():  # type: ignore[no-untyped-def]
    from core.settings import get_settings

    return get_settings()


@app.callback()
def root(
    config: Annotated[Path | None, typer.Option("--config", help="TOML config file (or SKYPATROL_CONFIG)")] = None,
) -> None:
    if config is not None:
        os.environ["SKYPATROL_CONFIG"] = str(config)
        from core.settings import get_settings

        get_settings.cache_clear()


def _serve(host: str | None, port: int | None, banner_token: str | None = None, settings=None,  # type: ignore[no-untyped-def]
           extra_apps: list[tuple[object, int]] | None = None, after_start=None, quiet: bool = False) -> int:
    """Serve the API (and any extra apps, each on its own port) until interrupted."""
    import asyncio
    import contextlib

    import uvicorn

    from skypatrol.app import create_app

    settings = settings or _settings()
    host = host or settings.host
    port = port or settings.port
    application = create_app(settings)
    if banner_token:
        print(f"SkyPatrol on http://{host}:{port}  (admin token: {banner_token})", flush=True)
    # quiet: stdout is for the job's own output (`run --json`), so the server logs warnings only, to stderr.
    level = "warning" if quiet else "info"
    servers = [uvicorn.Server(uvicorn.Config(application, host=host, port=port, log_level=level, access_log=not quiet,
                                             timeout_graceful_shutdown=10, ws="websockets-sansio"))]
    class _Companion(uvicorn.Server):
        """A server that leaves signals to the main one and stops when it does."""

        @contextlib.contextmanager
        def capture_signals(self):  # type: ignore[no-untyped-def, override]
            yield

    for extra, extra_port in extra_apps or []:
        servers.append(_Companion(uvicorn.Config(extra, host="127.0.0.1", port=extra_port, log_config=None,
                                                 access_log=False,
                                                 lifespan="off")))
    code = 0
    if len(servers) == 1 and after_start is None:
        servers[0].run()
    else:
        async def serve_all() -> int:
            tasks = [asyncio.create_task(s.serve()) for s in servers[1:]]

            async def companion() -> int:
                while not servers[0].started:
                    if main.done():
                        return 1
                    await asyncio.sleep(0.05)
                try:
                    return await after_start(f"http://{host}:{port}")
                finally:
                    servers[0].should_exit = True  # the job is done: shut the server down

            main = asyncio.create_task(servers[0].serve())  # handles SIGINT/SIGTERM; the others follow
            job = asyncio.create_task(companion()) if after_start is not None else None
            try:
                await main
            finally:
                for s in servers[1:]:
                    s.should_exit = True
                await asyncio.gather(*tasks, return_exceptions=True)
            if job is None:
                return 0
            if not job.done():
                job.cancel()
                return 1
            return job.result() if job.exception() is None else _job_failed(job.exception())

        code = asyncio.run(serve_all())
    if not servers[0].started:
        raise SystemExit(1)
    return code


def _job_failed(exc: BaseException | None) -> int:
    message = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
    print(f"skypatrol: error: {message}", file=sys.stderr)
    return 1


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="bind address (default from config)")] = None,
    port: Annotated[int | None, typer.Option(min=1, max=65535, help="port (default from config)")] = None,
) -> None:
    """Run the production server from the config file and SKYPATROL_* variables."""
    _serve(host, port)


def _run_main(host: str | None, port: int | None, site_name: str, *, headless: bool = False,
              until_complete: bool = False, as_json: bool = False, patrol: str | None = None,
              sim_speed: float | None = None, simulate: bool = True, timeout_s: float = 1800.0) -> None:
    import asyncio

    from core.auth import create_token
    from core.db import session_scope
    from skypatrol.main_job import CameraOptions, Driver, start_simulator, stop_simulator
    from skypatrol.site import load_site, seed_site

    if until_complete and not headless:
        raise BadInput("--until-complete goes with --headless")
    settings = _settings()
    site = load_site(site_name)
    patrol_ids = [p["id"] for p in site.doc.get("patrols", [])]
    patrol = patrol or (patrol_ids[0] if patrol_ids else None)
    if until_complete and patrol not in patrol_ids:
        raise BadInput(f"site {site.id} has no patrol {patrol!r} (one of: {', '.join(patrol_ids)})")
    speed = sim_speed if sim_speed is not None else (10.0 if headless else 1.0)
    if speed <= 0:
        raise BadInput("--sim-speed must be positive")
    token = settings.admin_token
    with session_scope(settings) as s:
        added = seed_site(s, site, base_port=settings.sim_base_port)
        if not token:
            _, token = create_token(s, "run-admin", "admin")
    say = (lambda *a: print(*a, file=sys.stderr, flush=True)) if as_json else (lambda *a: print(*a, flush=True))
    if any(added.values()):
        say(f"site {site.id}: imported {added['zones']} zones and {added['drones']} drones")
    # The main job files with SkyPatrol's reference East China UAV hub, served beside the API.
    from airspace.hub.cli import build_app

    hub = build_app(str(settings.data_dir / "hub.db"), [site.file("zones")], None, timezone=settings.site_timezone)
    run_settings = settings.model_copy(update={"authority": "hub", "site": site_name,
                                               "hub_url": f"http://127.0.0.1:{settings.hub_port}"})
    say(f"reference hub on http://127.0.0.1:{settings.hub_port}")
    cameras = CameraOptions.from_settings(settings.sim_cameras)
    sim = start_simulator(site, settings.sim_base_port, speed, cameras=cameras) if simulate else None
    if sim is not None:
        say(f"simulated fleet: {len(site.drones)} drones at {speed:g}x, MAVLink from udp port {settings.sim_base_port}")

    async def job(url: str) -> int:
        driver = Driver(url, token or "")
        try:
            await driver.start_cameras(site, sim, settings.data_dir)  # edge workers on the drones' cameras
            plans = await driver.ensure_patrols(site)
            if not until_complete:
                say(f"default patrols planned: {', '.join(plans)}")
                await asyncio.Event().wait()  # serve until interrupted
            await driver.wait_fleet_ready(1, 120)
            report = await driver.fly(plans[patrol], timeout_s)
        finally:
            await driver.close()
        if as_json:
            print(json.dumps(report), flush=True)
        else:
            print(f"run {report['run_id']}: {report['state']}"
                  + (f" ({report['reason']})" if report.get("reason") else "")
                  + f"; drone {report['drone_id']}, {report['distance_m']:.0f} m"
                  + (f" in {report['duration_s']:.0f} s" if report.get("duration_s") else ""), flush=True)
        return 0 if report["state"] == "completed" else 1

    try:
        code = _serve(host, port, banner_token=None if as_json else token, settings=run_settings,
                      extra_apps=[(hub, settings.hub_port)], after_start=job, quiet=as_json)
    finally:
        if sim is not None:
            stop_simulator(sim)
    if code:
        raise SystemExit(code)


@app.command()
def run(
    host: Annotated[str | None, typer.Option(help="bind address")] = None,
    port: Annotated[int | None, typer.Option(min=1, max=65535, help="port")] = None,
    site: Annotated[str, typer.Option(help="site bundle name (sites/NAME) or folder")] = "jinshan",
    headless: Annotated[bool, typer.Option("--headless", help="no console; for CI and demos")] = False,
    until_complete: Annotated[bool, typer.Option("--until-complete", help="fly one patrol, report, exit")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print the run report as JSON")] = False,
    patrol: Annotated[str | None, typer.Option(help="which of the site's patrols (default: the first)")] = None,
    sim_speed: Annotated[float | None, typer.Option(help="simulated time per wall second (default 1; 10 headless)")]
    = None,
    timeout_s: Annotated[float, typer.Option(min=10, help="give up on the headless run after this long")] = 1800.0,
) -> None:
    """The main job: the site, a simulated fleet, the reference hub, the API and the event stream.

    An admin token is printed (or taken from SKYPATROL_ADMIN_TOKEN). With `--headless --until-complete`
    it flies one patrol end to end and exits: 0 completed, 1 otherwise, 2 bad input.
    """
    _run_main(host, port, site, headless=headless, until_complete=until_complete, as_json=as_json, patrol=patrol,
              sim_speed=sim_speed, timeout_s=timeout_s)


@app.command("demo", hidden=True)
def demo(
    host: Annotated[str | None, typer.Option()] = None,
    port: Annotated[int | None, typer.Option(min=1, max=65535)] = None,
    site: Annotated[str, typer.Option()] = "jinshan",
) -> None:
    """Alias of `run`."""
    _run_main(host, port, site)


@token_app.command("create")
def token_create(
    name: Annotated[str, typer.Option("--name", help="who or what uses the token")],
    role: Annotated[str, typer.Option("--role", help="viewer, pilot or admin")] = "pilot",
    expires_in_days: Annotated[float | None, typer.Option(min=0.001, help="expiry")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Create a token in the configured database and print it once."""
    from core.auth import check_role, create_token
    from core.db import session_scope

    check_role(role)
    expires = datetime.now(UTC) + timedelta(days=expires_in_days) if expires_in_days else None
    with session_scope(_settings()) as s:
        row, secret = create_token(s, name, role, expires_at=expires)
        out = {"id": row.id, "name": row.name, "role": row.role, "token": secret,
               "expires_at": expires.isoformat() if expires else None}
    print(json.dumps(out) if as_json else secret)


@token_app.command("list")
def token_list() -> None:
    """List tokens (never their secrets)."""
    from sqlalchemy import select

    from core.db import session_scope
    from core.models import Token

    with session_scope(_settings()) as s:
        for t in s.execute(select(Token).order_by(Token.created_at)).scalars():
            state = "revoked" if t.revoked_at else "active"
            print(f"{t.id}\t{t.role}\t{state}\t{t.name}")


@token_app.command("revoke")
def token_revoke(token_id: Annotated[str, typer.Argument(help="token id (from `token list`)")]) -> None:
    """Revoke a token."""
    from core.db import session_scope
    from core.errors import NotFound
    from core.models import Token

    with session_scope(_settings()) as s:
        row = s.get(Token, token_id)
        if row is None:
            raise NotFound(f"token {token_id} not found")
        row.revoked_at = row.revoked_at or datetime.now(UTC)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply the database migrations."""
    from core.db import Database, current_revision

    db = Database.from_settings(_settings())
    try:
        db.upgrade()
        print(f"database at revision {current_revision(db.engine)}")
    finally:
        db.dispose()


@db_app.command("backup")
def db_backup(
    output: Annotated[Path | None, typer.Option("-o", "--output", help="backup file (default: in <data_dir>/backups)")]
    = None,
) -> None:
    """Back the database up (a consistent copy, safe while the server runs); prints the file."""
    from core.backup import backup_database, default_backup_name

    settings = _settings()
    url = settings.resolved_database_url
    dest = output or settings.data_dir / "backups" / default_backup_name(url)
    print(backup_database(url, dest))


@db_app.command("restore")
def db_restore(
    backup: Annotated[Path, typer.Argument(help="a file written by `skypatrol db backup`")],
    yes: Annotated[bool, typer.Option("--yes", help="confirm: the database is replaced by the backup")] = False,
) -> None:
    """Replace the database with a backup (stop the server first), then apply the migrations."""
    from core.backup import restore_database

    if not yes:
        raise BadInput("restoring replaces the whole database; pass --yes to confirm")
    restore_database(_settings().resolved_database_url, backup)
    print(f"restored {backup}")


@events_app.command("tail")
def events_tail(
    server: ServerOpt = "http://127.0.0.1:8000",
    token: TokenOpt = None,
    after: Annotated[int | None, typer.Option(min=0, help="replay events after this seq first")] = None,
    type_: Annotated[list[str] | None, typer.Option("--type", help="filter by type (repeatable)")] = None,
    subject: Annotated[str | None, typer.Option(help="filter by subject")] = None,
    count: Annotated[int | None, typer.Option(min=1, help="stop after this many events")] = None,
) -> None:
    """Follow the event stream (SSE), one JSON event per line; reconnects without gaps."""
    import httpx

    if not token:
        raise BadInput("no token: pass --token or set SKYPATROL_TOKEN")
    params: list[tuple[str, str | int]] = [("type", t) for t in (type_ or [])]
    if subject:
        params.append(("subject", subject))
    last: int | None = after
    seen = 0
    failures = 0
    while True:
        headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
        if last is not None:
            headers["Last-Event-ID"] = str(last)
        try:
            with httpx.stream("GET", server.rstrip("/") + "/api/v1/events/stream", params=params,
                              headers=headers, timeout=httpx.Timeout(10.0, read=60.0)) as resp:
                if resp.status_code in (401, 403):
                    raise BadInput(f"server refused the token ({resp.status_code})")
                if resp.status_code != 200:
                    raise BadInput(f"server answered {resp.status_code}: {resp.read().decode()[:200]}")
                failures = 0
                event_id: str | None = None
                for line in resp.iter_lines():
                    if line.startswith("id: "):
                        event_id = line[4:]
                    elif line.startswith("data: "):
                        print(line[6:], flush=True)
                        if event_id is not None:
                            last = int(event_id)
                        event_id = None
                        seen += 1
                        if count is not None and seen >= count:
                            return
        except (httpx.TransportError, httpx.RemoteProtocolError) as exc:
            failures += 1
            if failures > 30:
                raise SkyPatrolError(f"cannot reach {server}: {exc}") from None
            time.sleep(min(5.0, 0.5 * failures))


def _mount_domain_apps() -> None:
    for module, attr, name in DOMAIN_APPS:
        if importlib.util.find_spec(module.rsplit(".", 1)[0]) is None:
            continue
        if importlib.util.find_spec(module) is None:
            continue
        sub = getattr(importlib.import_module(module), attr, None)
        if sub is not None:
            app.add_typer(sub, name=name)


def main(argv: list[str] | None = None) -> None:
    """Entry point: one line on stderr and exit 2 for bad input, never a traceback."""
    args = sys.argv[1:] if argv is None else argv
    code = 0
    try:
        _mount_domain_apps()
        command = typer.main.get_command(app)
        result = command.main(args=args, prog_name="skypatrol", standalone_mode=False)
        code = result if isinstance(result, int) else 0
    except typer.Exit as exc:
        code = exc.exit_code
    except typer.Abort:
        print("skypatrol: aborted", file=sys.stderr)
        code = 130
    except cx.NoArgsIsHelpError as exc:
        print(exc.format_message(), file=sys.stderr)
        code = 2
    except cx.UsageError as exc:
        print(f"skypatrol: error: {exc.format_message()}", file=sys.stderr)
        code = 2
    except cx.ClickException as exc:
        print(f"skypatrol: error: {exc.format_message()}", file=sys.stderr)
        code = exc.exit_code or 2
    except SkyPatrolError as exc:
        print(f"skypatrol: error: {exc.message}", file=sys.stderr)
        code = exc.exit_code
    except KeyboardInterrupt:
        code = 130
    except Exception as exc:
        if os.environ.get("SKYPATROL_DEBUG"):
            raise
        print(f"skypatrol: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        code = 1
    sys.stdout.flush()
    raise SystemExit(code)
