"""`skypatrol sim`: the simulated fleet as a process (mounted by skypatrol/cli.py)."""

from __future__ import annotations

import asyncio
import contextlib
import math
import signal
import sys

import typer

from core.errors import BadInput
from sitl.defaults import DEFAULT_BASE_PORT

app = typer.Typer(
    help="Multi-vehicle MAVLink simulator (PX4 dialect).", add_completion=False, pretty_exceptions_enable=False
)

MAX_DRONES = 255  # MAVLink system ids are 1..255


def _bad_input(message: str) -> BadInput:
    return BadInput(message)


def parse_home(text: str) -> tuple[float, float, float]:
    """ "LAT,LON[,ALT]" -> (lat, lon, alt AMSL); ValueError with a readable message otherwise."""
    parts = [p.strip() for p in text.split(",")]
    if len(parts) not in (2, 3):
        raise ValueError(f"--home {text!r}: expected LAT,LON[,ALT]")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise ValueError(f"--home {text!r}: not numbers") from None
    if not all(math.isfinite(v) for v in values):
        raise ValueError(f"--home {text!r}: not finite")
    lat, lon = values[0], values[1]
    alt = values[2] if len(values) == 3 else 0.0
    if not -90.0 <= lat <= 90.0 or not -180.0 <= lon <= 180.0:
        raise ValueError(f"--home {text!r}: latitude must be in [-90, 90] and longitude in [-180, 180]")
    return (lat, lon, alt)


@app.callback(invoke_without_command=True)
def sim(
    ctx: typer.Context,
    drones: int = typer.Option(1, "--drones", "-n", help="Number of vehicles (system ids 1..N)."),
    base_port: int = typer.Option(DEFAULT_BASE_PORT, "--base-port", help="Vehicle i sends to 127.0.0.1:P+i."),
    home: list[str] = typer.Option(
        [], "--home", help="LAT,LON[,ALT] of vehicle i (repeat per vehicle; the rest stand a few m apart)."
    ),
    speed_factor: float = typer.Option(1.0, "--speed-factor", help="Simulated time runs K times wall time."),
    seed: int = typer.Option(0, "--seed", help="Seed of every random draw (wind, GPS noise)."),
    control_port: int | None = typer.Option(
        None, "--control-port", help="Fault-injection endpoint on 127.0.0.1 (0: any free port)."
    ),
    camera_port: int | None = typer.Option(
        None, "--camera-port", help="Serve each drone's camera as MJPEG over HTTP on 127.0.0.1 (0: any free port)."
    ),
    world: str = typer.Option("default", "--world", help="World the cameras see: a world file or 'default'."),
    camera_fps: float = typer.Option(2.0, "--camera-fps", help="Camera frames per simulated second."),
    camera_size: str = typer.Option("480x270", "--camera-size", help="Camera frame size WIDTHxHEIGHT."),
    camera_pitch: float = typer.Option(-90.0, "--camera-pitch", help="Gimbal pitch, degrees (-90 nadir)."),
) -> None:
    """Run N simulated PX4 vehicles until stopped; print one MAVSDK connection URL per vehicle."""
    if ctx.invoked_subcommand is not None:
        return
    if not 1 <= drones <= MAX_DRONES:
        raise _bad_input(f"--drones must be between 1 and {MAX_DRONES}")
    if not 1024 <= base_port <= 65535 - drones + 1:
        raise _bad_input(f"--base-port must leave room for {drones} ports below 65536 (and be >= 1024)")
    if not (math.isfinite(speed_factor) and 0.1 <= speed_factor <= 100.0):
        raise _bad_input("--speed-factor must be between 0.1 and 100")
    if len(home) > drones:
        raise _bad_input(f"{len(home)} --home values for {drones} drone(s)")
    if control_port is not None and not 0 <= control_port <= 65535:
        raise _bad_input("--control-port must be between 0 and 65535")
    cameras = None
    if camera_port is not None:
        cameras = _camera_setup(camera_port, world, camera_fps, camera_size, camera_pitch)
    try:
        homes = [parse_home(h) for h in home]
    except ValueError as exc:
        raise _bad_input(str(exc)) from None

    from sitl.simulator import FleetSimulator, SimConfig

    config = SimConfig(drones=drones, base_port=base_port, homes=homes, speed_factor=speed_factor, seed=seed)
    try:
        asyncio.run(_serve(FleetSimulator(config), control_port, cameras))
    except OSError as exc:
        raise _bad_input(f"cannot open sockets: {exc}") from None


def _camera_setup(port: int, world: str, fps: float, size: str, pitch: float) -> tuple[int, object, object]:
    import time

    from sitl.camera_stream import CameraConfig
    from sitl.world import default_world, load_world

    if not 0 <= port <= 65535:
        raise _bad_input("--camera-port must be between 0 and 65535")
    try:
        width, height = (int(v) for v in size.lower().split("x"))
    except ValueError:
        raise _bad_input(f"--camera-size {size!r}: expected WIDTHxHEIGHT") from None
    if not (32 <= width <= 4096 and 32 <= height <= 4096 and 0.1 <= fps <= 30 and -90 <= pitch <= 0):
        raise _bad_input("--camera-size 32-4096 per side, --camera-fps 0.1-30, --camera-pitch -90..0")
    try:
        # The default world's muck trucks run every 45 s from a few seconds after start, for a day.
        w = default_world(time.time() + 5.0, 45.0, 1920) if world == "default" else load_world(world)
    except (OSError, ValueError) as exc:
        raise _bad_input(str(exc)) from None
    return port, w, CameraConfig(width=width, height=height, fps=fps, gimbal_pitch_deg=pitch)


async def _serve(sim: FleetSimulator, control_port: int | None,  # type: ignore[name-defined] # noqa: F821
                 cameras: tuple[int, object, object] | None = None) -> None:
    from sitl.control import serve_control

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    control = None
    if control_port is not None:
        control, port = await serve_control(sim, control_port)
        print(f"control: udp://127.0.0.1:{port}", file=sys.stderr, flush=True)
    await sim.start()
    camera_server = None
    if cameras is not None:
        from sitl.camera_stream import CameraStreamServer

        cam_port, world, cam_config = cameras
        camera_server = CameraStreamServer(sim, world, cam_config)  # type: ignore[arg-type]
        bound = await camera_server.start("127.0.0.1", cam_port)
        print(f"cameras: http://127.0.0.1:{bound}/cameras", file=sys.stderr, flush=True)
    for url in sim.connection_urls():
        print(url)
    sys.stdout.flush()
    try:
        await stop.wait()
    finally:
        if camera_server is not None:
            await camera_server.close()
        await sim.stop()
        if control is not None:
            control.close()


@app.command("render")
def render(
    world: str = typer.Option("default", "--world", help="World file (GeoJSON, sitl/world/model.py) or 'default'."),
    plan: str = typer.Option(..., "--plan", help="Flight: QGC .plan, .waypoints, or a GeoJSON LineString."),
    out: str = typer.Option(..., "-o", "--out", help="Video to write (.mp4 or .avi)."),
    telemetry: str = typer.Option(..., "--telemetry", help="Telemetry to write: pose .csv or MAVLink .tlog."),
    camera: str | None = typer.Option(None, "--camera", help="Camera file to write (default VIDEO.camera.json)."),
    truth: str | None = typer.Option(None, "--truth", help="Ground truth JSONL (default VIDEO.truth.jsonl)."),
    start: str | None = typer.Option(None, "--start", help="Start time, ISO 8601 (default: first truck departure)."),
    width: int = typer.Option(640, "--width"),
    height: int = typer.Option(360, "--height"),
    fps: float = typer.Option(10.0, "--fps"),
    hfov_deg: float = typer.Option(60.0, "--hfov", help="Horizontal field of view, degrees."),
    speed_mps: float = typer.Option(8.0, "--speed", help="Ground speed along the plan, m/s."),
    gimbal_pitch_deg: float = typer.Option(-90.0, "--gimbal-pitch", help="-90 is nadir."),
    duration_s: float | None = typer.Option(None, "--duration", help="Stop after this many seconds."),
    seed: int = typer.Option(0, "--seed", help="Seed of the rendering noise."),
    json_out: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Render a recorded synthetic flight: video, telemetry, camera file and ground truth."""
    import json
    from datetime import datetime
    from pathlib import Path

    from sitl.flight_render import PlanError, read_plan_waypoints, render_recorded_flight
    from sitl.world import default_world, load_world

    if not (64 <= width <= 4096 and 64 <= height <= 4096):
        raise _bad_input("--width and --height must be between 64 and 4096")
    if not (0.5 <= fps <= 60 and 0.5 <= speed_mps <= 40 and 10 <= hfov_deg <= 150 and -90 <= gimbal_pitch_deg <= 0):
        raise _bad_input("--fps 0.5-60, --speed 0.5-40 m/s, --hfov 10-150 deg and --gimbal-pitch -90..0")
    try:
        w = default_world() if world == "default" else load_world(world)
        waypoints = read_plan_waypoints(plan)
    except (OSError, ValueError) as exc:
        raise _bad_input(str(exc)) from None
    if start is not None:
        try:
            t0 = datetime.fromisoformat(start.replace("Z", "+00:00"))
        except ValueError:
            raise _bad_input(f"--start {start!r}: not an ISO 8601 time") from None
        if t0.tzinfo is None:
            raise _bad_input(f"--start {start!r}: give a time zone (e.g. Z)")
        start_t = t0.timestamp()
    else:
        deps = [d for r in w.routes for d in r.departures]
        start_t = min(deps) if deps else 1_741_000_000.0
    video = Path(out)
    try:
        summary = render_recorded_flight(
            w, waypoints, video=video, telemetry=Path(telemetry),
            camera_file=Path(camera) if camera else video.with_suffix(".camera.json"),
            truth=Path(truth) if truth else video.with_suffix(".truth.jsonl"), start_t=start_t, width=width,
            height=height, fps=fps, hfov_deg=hfov_deg, speed_mps=speed_mps, gimbal_pitch_deg=gimbal_pitch_deg,
            max_duration_s=duration_s, seed=seed)
    except PlanError as exc:
        raise _bad_input(str(exc)) from None
    except OSError as exc:
        raise _bad_input(f"cannot write the flight: {exc}") from None
    if json_out:
        print(json.dumps(summary))
    else:
        print(f"{summary['frames']} frames ({summary['duration_s']} s) -> {summary['video']}, "
              f"{summary['telemetry']}, {summary['camera']}, {summary['truth']}")


def main(argv: list[str] | None = None) -> None:
    """`python -m sitl`: the same exit codes as `skypatrol sim` (2 and one stderr line for bad input)."""
    try:
        from typer._click import exceptions as cx
    except ImportError:  # pragma: no cover - older Typer on top of Click
        from click import exceptions as cx  # type: ignore[no-redef]

    code = 0
    try:
        typer.main.get_command(app).main(args=argv, prog_name="python -m sitl", standalone_mode=False)
    except typer.Exit as exc:
        code = exc.exit_code
    except cx.ClickException as exc:
        print(f"sitl: error: {exc.format_message()}", file=sys.stderr)
        code = 2
    except BadInput as exc:
        print(f"sitl: error: {exc.message}", file=sys.stderr)
        code = 2
    except KeyboardInterrupt:
        code = 130
    raise SystemExit(code)
