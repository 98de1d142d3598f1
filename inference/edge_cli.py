"""`skypatrol edge`: the inspection pipeline live, next to the camera, sending to a server.

    skypatrol edge --source STREAM --drone ID --camera CAMERA.json (--mavlink URL | --telemetry LOG)
        [--server URL --token TOKEN] [--mission ID] [--model MODEL.onnx --class-map MAP.json]
        [--dem DEM.tif] [--data-dir DIR] [--every-n N] [--max-frames N] [--drain-s S]

`--dem` places detections on the terrain of a single-band WGS 84 GeoTIFF instead of flat ground at
the home's height, as `skypatrol infer --dem` does; ground off the DEM's edge is reported (a warning
on stderr, `frames_off_dem` in the summary) and its detections are not placed.
"""

from __future__ import annotations

import asyncio
import json
import signal
from pathlib import Path
from typing import Annotated

import typer

from core.errors import BadInput

app = typer.Typer(help="Run the inspection pipeline next to the camera and send events to a server.",
                  no_args_is_help=True, add_completion=False)


@app.callback(invoke_without_command=True)
def edge(
    source: Annotated[str, typer.Option("--source", help="Video stream (RTSP/HTTP), file or image folder.")],
    drone: Annotated[str, typer.Option("--drone", help="Drone id carried by the events.")],
    camera: Annotated[Path, typer.Option("--camera", help="Camera file (JSON, the shared schema).")],
    server: Annotated[str, typer.Option("--server", envvar="SKYPATROL_SERVER", help="SkyPatrol server URL")]
    = "http://127.0.0.1:8000",
    token: Annotated[str | None, typer.Option("--token", envvar="SKYPATROL_TOKEN", help="pilot token")] = None,
    mavlink: Annotated[str | None, typer.Option("--mavlink", help="Live pose from MAVLink, e.g. udpin:0.0.0.0:14550")]
    = None,
    telemetry: Annotated[Path | None, typer.Option("--telemetry", help="Pose from a log (.tlog, .csv, .SRT).")] = None,
    mission: Annotated[str | None, typer.Option("--mission", help="Mission id carried by the events.")] = None,
    model: Annotated[Path | None, typer.Option("--model", help="YOLO-family ONNX detector.")] = None,
    class_map: Annotated[Path | None, typer.Option("--class-map", help="JSON {model class: label}.")] = None,
    data_dir: Annotated[Path, typer.Option("--data-dir", help="Outbox, evidence and site store on this device.")]
    = Path("var/edge"),
    every_n: Annotated[int, typer.Option("--every-n", min=1, help="Process one frame in N.")] = 1,
    max_frames: Annotated[int | None, typer.Option("--max-frames", min=1, help="Stop after N frames.")] = None,
    drain_s: Annotated[float, typer.Option("--drain-s", help="At the end, wait this long to deliver.")] = 30.0,
    dem: Annotated[Path | None, typer.Option("--dem", help="Terrain: a single-band WGS 84 GeoTIFF DEM "
                                             "(default: flat ground at the home's height).")] = None,
) -> None:
    """Detect road works and muck trucks on a live stream; deliver events and evidence to the server."""
    from inference.aggregate.aggregator import Aggregator
    from inference.aggregate.evidence import EvidenceStore
    from inference.aggregate.store import JsonFileSiteStore
    from inference.camera import load_camera_file
    from inference.dem import DemGround, OffDemCounter, check_flight_on_dem, home_amsl_from_dem, load_dem
    from inference.detectors import CombinedDetector, Detector
    from inference.detectors.colour import ColourDetector
    from inference.detectors.own import default_detector
    from inference.edge import OutboxSink
    from inference.pipeline import Pipeline
    from inference.sources import open_source
    from inference.telemetry import load_telemetry
    from inference.telemetry.live import LivePoseFeed

    if (mavlink is None) == (telemetry is None):
        raise BadInput("give exactly one pose source: --mavlink URL or --telemetry LOG")
    if (model is None) != (class_map is None):
        raise BadInput("--model and --class-map go together")
    ground: DemGround | None = None
    if dem is not None:  # live, so ground off the DEM is said at once, not only in the summary
        ground = DemGround(load_dem(dem), on_first_miss=lambda msg: typer.echo(f"skypatrol: warning: {msg}", err=True))
    cam = load_camera_file(camera)
    home_amsl: float | None = None
    feed: LivePoseFeed | None = None
    if mavlink is not None:
        feed = LivePoseFeed()
        feed.start_mavlink(mavlink)
        poses = feed
    else:
        assert telemetry is not None
        poses = load_telemetry(telemetry)
        if ground is not None:
            check_flight_on_dem(ground, poses)
            home_amsl = home_amsl_from_dem(ground, poses, hint="; use a log with heights above sea level")
    detector: Detector = default_detector()  # the shipped model with its colour cues, as `skypatrol infer`
    if model is not None and class_map is not None:
        from inference.detectors.yolo_onnx import YoloOnnxDetector

        detector = CombinedDetector(YoloOnnxDetector(model, class_map), ColourDetector())
    evidence = EvidenceStore(data_dir / "evidence")
    store = JsonFileSiteStore(data_dir / "sites.json")
    sink = OutboxSink(server, token or "", data_dir / "outbox.sqlite", data_dir / "evidence",
                      source=f"urn:skypatrol:edge:{drone}")
    start = getattr(poses, "start", None) if telemetry is not None else None
    frames = open_source(source, start=start, every_n=every_n)

    def make_aggregator(frame):  # type: ignore[no-untyped-def]
        return Aggregator(frame, mission_id=mission, drone_id=drone, site_store=store, evidence=evidence)

    off_dem = OffDemCounter(ground) if ground is not None else None
    pipeline = Pipeline(camera=cam, detector=detector, aggregator_factory=make_aggregator, poses=poses,  # type: ignore[arg-type]
                        home_amsl_m=home_amsl, terrain=ground, on_frame=off_dem)

    async def main() -> dict:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        delivery = asyncio.create_task(sink.run(stop))
        n = 0
        try:
            for frame in frames:
                for p in await asyncio.to_thread(pipeline.process, frame):
                    await sink.publish(p.type, p.data, subject=p.subject)
                n += 1
                if stop.is_set() or (max_frames is not None and n >= max_frames):
                    break
            for p in pipeline.finish():
                await sink.publish(p.type, p.data, subject=p.subject)
        finally:
            stop.set()
            await delivery
            delivered = await sink.drain(drain_s)
            await sink.close()
            if feed is not None:
                feed.stop()
        return {"frames": n, "events": pipeline.stats.published, "delivered": sink.delivered,
                "pending": 0 if delivered else None, "last_error": sink.last_error,
                **({"dem": str(dem), "frames_off_dem": off_dem.frames} if off_dem is not None else {})}

    summary = asyncio.run(main())
    typer.echo(json.dumps(summary))
    if summary["pending"] is None:
        raise typer.Exit(1)
