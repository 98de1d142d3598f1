"""`skypatrol infer`: offline inference on a recorded flight, CloudEvents one per line.

    skypatrol infer VIDEO --telemetry LOG --camera CAMERA.json -o EVENTS.jsonl
        [--video-start ISO] [--time-offset-s S] [--model MODEL.onnx --class-map MAP.json]
        [--dem DEM.tif]

VIDEO is a video file, an image folder or a stream URL. Without `--model` SkyPatrol's own aerial
detector (shipped in `inference/models/`) runs with the colour cues beside it; `--colour-only`
(or a missing model file) leaves the colour and size rules alone (cones, barriers, excavation,
machinery, earth-loaded trucks).

Detections are placed on flat ground at the home's height unless `--dem` gives a terrain model (a
single-band GeoTIFF in WGS 84 latitude/longitude, as `airspace.terrain.GeoTiffDem` reads). A
flight wholly off the DEM is refused; ground off its edge within a flight is not guessed: those
detections are not placed, and the frames are counted (`frames_off_dem`) and reported.
"""

from __future__ import annotations

import asyncio
import json
import math
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, TextIO

import typer

from core.errors import BadInput
from core.events import Event, make_event

app = typer.Typer(help="Offline inference on a recorded flight: video + telemetry -> events (JSON lines).",
                  add_completion=False, subcommand_metavar="")

SOURCE = "skypatrol/inference"


class JsonlSink:
    """An EventSink writing each event as one CloudEvents JSON line."""

    def __init__(self, out: TextIO, source: str = SOURCE) -> None:
        self.out = out
        self.source = source
        self.count = 0

    async def publish(self, type: str, data: Any = None, *, subject: str | None = None,
                      live_only: bool = False) -> Event:
        e = make_event(type, data, subject=subject, source=self.source)
        self.out.write(e.to_json() + "\n")
        self.out.flush()
        self.count += 1
        return e


def _parse_start(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise BadInput(f"--video-start {text!r} is not an ISO 8601 time") from None
    if dt.tzinfo is None:
        raise BadInput(f"--video-start {text!r} needs a time zone (Z or +08:00)")
    return dt.timestamp()


# A callback, not a command, so that `skypatrol infer VIDEO ...` needs no sub-command name; options
# may follow the positional argument.
@app.callback(invoke_without_command=True, context_settings={"allow_interspersed_args": True})
def infer(
    video: Annotated[str, typer.Argument(help="Video file, image folder, or RTSP/HTTP URL.")],
    telemetry: Annotated[Path, typer.Option("--telemetry", help="Flight log: .tlog, .csv or DJI .SRT.")],
    camera: Annotated[Path, typer.Option("--camera", help="Camera file (JSON, the shared schema).")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Events out, one CloudEvent per line.")],
    video_start: Annotated[str | None, typer.Option("--video-start", help="ISO time of the first frame "
                                                    "(default: the first telemetry sample).")] = None,
    time_offset_s: Annotated[float, typer.Option("--time-offset-s", help="Added to frame times to reach "
                                                 "telemetry time.")] = 0.0,
    model: Annotated[Path | None, typer.Option("--model", help="YOLO-family ONNX detector.")] = None,
    class_map: Annotated[Path | None, typer.Option("--class-map", help="JSON {model class: SkyPatrol label}.")] = None,
    conf: Annotated[float | None, typer.Option("--conf", help="Detector score threshold "
                                               "(default 0.25 for --model, 0.45 for the own model).")] = None,
    colour_only: Annotated[bool, typer.Option("--colour-only", help="No model: colour and size rules "
                                              "only.")] = False,
    verify: Annotated[bool, typer.Option("--verify", help="The own model's vehicle labels settled by the crop "
                                         "classifier (slower; see docs/inference.md).")] = False,
    permits: Annotated[Path | None, typer.Option("--permits", help="GeoJSON register of permitted works.")] = None,
    routes: Annotated[Path | None, typer.Option("--routes", help="GeoJSON approved muck-truck routes.")] = None,
    data_dir: Annotated[Path | None, typer.Option("--data-dir", help="Evidence images and the site store "
                                                  "(default: the configured data dir).")] = None,
    mission: Annotated[str | None, typer.Option("--mission", help="Mission id carried by the events.")] = None,
    drone: Annotated[str | None, typer.Option("--drone", help="Drone id carried by the events.")] = None,
    home_amsl: Annotated[float | None, typer.Option("--home-amsl", help="Ground height at home, m AMSL.")] = None,
    srt_timezone: Annotated[str, typer.Option("--srt-timezone",
                                              help="Time zone of DJI .SRT clocks.")] = "Asia/Shanghai",
    every_n: Annotated[int, typer.Option("--every-n", help="Process one frame in N.")] = 1,
    fixed_mount: Annotated[bool, typer.Option("--fixed-mount", help="Camera fixed to the airframe "
                                              "(default: a stabilised gimbal).")] = False,
    dem: Annotated[Path | None, typer.Option("--dem", help="Terrain: a single-band WGS 84 GeoTIFF DEM "
                                             "(default: flat ground at the home's height).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a run summary as JSON.")] = False,
) -> None:
    """Detect road works and muck trucks on a recorded flight and write the events."""
    from inference.aggregate.aggregator import Aggregator
    from inference.aggregate.evidence import EvidenceStore
    from inference.aggregate.permits import PermitRegister
    from inference.aggregate.routes import RouteRules
    from inference.aggregate.store import JsonFileSiteStore
    from inference.camera import load_camera_file
    from inference.dem import DemGround, OffDemCounter, check_flight_on_dem, home_amsl_from_dem, load_dem
    from inference.detectors import CombinedDetector, Detector
    from inference.detectors.colour import ColourDetector
    from inference.pipeline import Pipeline, run_pipeline
    from inference.sources import open_source
    from inference.telemetry import load_telemetry

    if (model is None) != (class_map is None):
        raise BadInput("--model and --class-map go together")
    if every_n < 1:
        raise BadInput("--every-n must be at least 1")
    if not math.isfinite(time_offset_s):
        raise BadInput("--time-offset-s must be finite")
    ground = DemGround(load_dem(dem)) if dem is not None else None
    cam = load_camera_file(camera)
    track = load_telemetry(telemetry, srt_timezone=srt_timezone)
    if ground is not None:
        check_flight_on_dem(ground, track)
        if home_amsl is None:
            home_amsl = home_amsl_from_dem(ground, track, hint="; give --home-amsl (ground height at home)")
    start = _parse_start(video_start)
    if start is None:
        start = track.start
    if conf is not None and not 0.0 < conf < 1.0:
        raise BadInput("--conf must be between 0 and 1")
    if verify and (model is not None or colour_only):
        raise BadInput("--verify settles the own model's labels: not with --model or --colour-only")
    detector: Detector
    if model is not None and class_map is not None:
        from inference.detectors.yolo_onnx import YoloOnnxDetector

        detector = CombinedDetector(YoloOnnxDetector(model, class_map, conf_threshold=conf or 0.25),
                                    ColourDetector())
    else:
        from inference.detectors.own import DEFAULT_CONF, default_detector

        detector = default_detector(conf_threshold=conf or DEFAULT_CONF, use_model=not colour_only, verify=verify)
    if data_dir is None:
        from core.settings import get_settings

        data_dir = Path(get_settings().data_dir)
    evidence = EvidenceStore(data_dir / "evidence")
    store = JsonFileSiteStore(data_dir / "inference" / "sites.json")
    source = open_source(video, start=start, every_n=every_n)

    def make_aggregator(frame):  # type: ignore[no-untyped-def]
        return Aggregator(frame, mission_id=mission, drone_id=drone, site_store=store, evidence=evidence,
                          permits=PermitRegister.from_geojson(permits, frame) if permits else None,
                          routes=RouteRules.from_geojson(routes, frame) if routes else None)

    off_dem = OffDemCounter(ground) if ground is not None else None
    pipeline = Pipeline(camera=cam, detector=detector, aggregator_factory=make_aggregator, poses=track,
                        home_amsl_m=home_amsl, terrain=ground, stabilised=not fixed_mount,
                        time_offset_s=time_offset_s, on_frame=off_dem)
    try:
        out = output.open("w", encoding="utf-8")
    except OSError as exc:
        raise BadInput(f"{output}: cannot write ({exc})") from None
    with out:
        stats = asyncio.run(run_pipeline(source, pipeline, JsonlSink(out)))
    if stats.frames == 0:
        raise BadInput(f"{video}: no frames read")
    if stats.frames_without_pose == stats.frames:
        raise BadInput("no frame falls within the telemetry's time span (check --video-start / --time-offset-s)")
    summary = {"frames": stats.frames, "frames_without_pose": stats.frames_without_pose,
               "detections": stats.placed, "events": stats.published, "by_type": stats.by_type,
               "fps": round(stats.fps, 2), "output": str(output), "detector": _describe(detector)}
    if off_dem is not None:
        summary |= {"dem": str(dem), "frames_off_dem": off_dem.frames}
        warning = off_dem.warning(stats.frames - stats.frames_without_pose)
        if warning:
            typer.echo(f"skypatrol: warning: {warning}", err=True)
    if as_json:
        typer.echo(json.dumps(summary))
    else:
        typer.echo(f"{stats.frames} frames, {stats.published} events -> {output}")


def _describe(detector: object) -> str:
    from inference.detectors.own import ModelWithCues

    if isinstance(detector, ModelWithCues):
        from inference.detectors.verifier import VerifiedDetector

        if isinstance(detector.model, VerifiedDetector):
            return "own model + crop classifier + colour cues"
        return "own model + colour cues"
    return "model + colour cues" if type(detector).__name__ == "CombinedDetector" else "colour cues"
