"""A recorded synthetic flight: a plan flown over a world, rendered as video plus telemetry and truth.

`render_recorded_flight` flies the plan's positional items as a polyline at a constant ground speed
(altitude interpolated between items, heading along the leg, a stabilised gimbal at a fixed pitch),
renders each frame with `sitl.world.render.Renderer` and writes:
- the video (`.mp4`: mp4v, `.avi`: MJPG);
- the telemetry, as `skypatrol infer` reads it: a pose CSV (`time,lat,lon,alt_rel_m,alt_amsl_m,yaw_deg,
  pitch_deg,roll_deg,gimbal_yaw_deg,gimbal_pitch_deg,gimbal_roll_deg,video_s`) or a MAVLink `.tlog`
  (HOME_POSITION, GLOBAL_POSITION_INT, ATTITUDE, MOUNT_ORIENTATION), by the file's suffix;
- the camera file (the shared schema) and the ground truth, one JSON line per frame (`frame`, `t`,
  `video_s`, the camera pose, and per visible object its label, id, lat/lon and pixel box).
The video starts at the first telemetry sample, so `skypatrol infer VIDEO --telemetry LOG --camera
CAMERA` needs no time options. Plans: QGroundControl `.plan`, QGC WPL `.waypoints`/`.txt`, or a GeoJSON
LineString (the simulator reads them itself: `sitl` imports only `geo`).
"""

from __future__ import annotations

import csv
import json
import math
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from sitl.world.camera import CameraPose, SimCamera
from sitl.world.model import World
from sitl.world.render import Renderer

# MAVLink commands whose params 5-7 are a position (NAV_WAYPOINT, LOITER_*, LAND, TAKEOFF, SPLINE).
_POSITIONAL = {16, 17, 18, 19, 21, 22, 31, 82}


class PlanError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Waypoint:
    lat_deg: float
    lon_deg: float
    alt_rel_m: float


def read_plan_waypoints(path: str | Path) -> list[Waypoint]:
    """The positional items of a plan, in order (altitudes above home)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PlanError(f"{p}: cannot read the plan ({exc})") from None
    if text.lstrip().startswith("QGC WPL"):
        out = []
        for line in text.splitlines()[1:]:
            f = line.split("\t") if "\t" in line else line.split()
            if len(f) < 12:
                continue
            index, cmd = int(f[0]), int(f[3])
            lat, lon, alt = float(f[8]), float(f[9]), float(f[10])
            if index == 0 or cmd not in _POSITIONAL or (lat == 0.0 and lon == 0.0):
                continue  # item 0 is home
            out.append(Waypoint(lat, lon, alt))
        return _checked(out, p)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PlanError(f"{p}: neither a QGC plan, a WPL file nor GeoJSON ({exc})") from None
    if isinstance(data, dict) and isinstance(data.get("mission"), dict):
        items = data["mission"].get("items") or []
        out = []
        for it in items:
            if not isinstance(it, dict) or it.get("type") != "SimpleItem":
                continue
            params = it.get("params") or []
            if it.get("command") not in _POSITIONAL or len(params) < 7 or params[4] is None:
                continue
            lat, lon = float(params[4]), float(params[5])
            if lat == 0.0 and lon == 0.0:
                continue
            out.append(Waypoint(lat, lon, float(params[6] or 0.0)))
        return _checked(out, p)
    geom = data
    if isinstance(data, dict) and data.get("type") == "FeatureCollection":
        geom = next((f.get("geometry") for f in data.get("features", []) if (f.get("geometry") or {}).get("type")
                     == "LineString"), None)
    elif isinstance(data, dict) and data.get("type") == "Feature":
        geom = data.get("geometry")
    if isinstance(geom, dict) and geom.get("type") == "LineString":
        return _checked([Waypoint(float(c[1]), float(c[0]), float(c[2]) if len(c) > 2 else math.nan)
                         for c in geom["coordinates"]], p)
    raise PlanError(f"{p}: no mission items or LineString in the file")


def _checked(wps: list[Waypoint], p: Path) -> list[Waypoint]:
    if len(wps) < 2:
        raise PlanError(f"{p}: a flight needs at least two positional items, found {len(wps)}")
    return wps


@dataclass(frozen=True, slots=True)
class FlightSample:
    t: float
    video_s: float
    lat_deg: float
    lon_deg: float
    alt_rel_m: float
    yaw_deg: float
    camera: CameraPose


def fly_plan(world: World, waypoints: list[Waypoint], *, start_t: float, fps: float, speed_mps: float,
             gimbal_pitch_deg: float, default_alt_m: float = 80.0, max_duration_s: float | None = None
             ) -> list[FlightSample]:
    """Samples at `fps` along the waypoints' polyline at `speed_mps` (altitude interpolated)."""
    e, n = world.frame.geodetic2en(np.array([w.lat_deg for w in waypoints]), np.array([w.lon_deg for w in waypoints]))
    alt = np.array([w.alt_rel_m if math.isfinite(w.alt_rel_m) else default_alt_m for w in waypoints])
    seg = np.hypot(np.diff(e), np.diff(n))
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    total_s = float(cum[-1]) / speed_mps
    if max_duration_s is not None:
        total_s = min(total_s, max_duration_s)
    out = []
    for k in range(int(total_s * fps) + 1):
        s = min(k / fps * speed_mps, float(cum[-1]))
        i = int(np.clip(np.searchsorted(cum, s, side="right") - 1, 0, len(seg) - 1))
        while seg[i] <= 0 and i > 0:
            i -= 1
        f = (s - cum[i]) / seg[i] if seg[i] > 0 else 0.0
        pe, pn = e[i] + f * (e[i + 1] - e[i]), n[i] + f * (n[i + 1] - n[i])
        up = float(alt[i] + f * (alt[i + 1] - alt[i]))
        yaw = math.degrees(math.atan2(e[i + 1] - e[i], n[i + 1] - n[i])) % 360.0
        lat, lon = world.frame.en2geodetic(np.array([pe]), np.array([pn]))
        out.append(FlightSample(start_t + k / fps, k / fps, float(lat[0]), float(lon[0]), up, yaw,
                                CameraPose(float(pe), float(pn), up, yaw, gimbal_pitch_deg, 0.0)))
    return out


def render_recorded_flight(world: World, waypoints: list[Waypoint], *, video: Path, telemetry: Path,
                           camera_file: Path, truth: Path, start_t: float, width: int = 640, height: int = 360,
                           fps: float = 10.0, hfov_deg: float = 60.0, speed_mps: float = 8.0,
                           gimbal_pitch_deg: float = -90.0, max_duration_s: float | None = None,
                           seed: int = 0) -> dict[str, Any]:
    """Render the flight and write video, telemetry, camera file and truth; returns a summary."""
    cam = SimCamera.from_hfov(width, height, hfov_deg)
    samples = fly_plan(world, waypoints, start_t=start_t, fps=fps, speed_mps=speed_mps,
                       gimbal_pitch_deg=gimbal_pitch_deg, max_duration_s=max_duration_s)
    fourcc = "mp4v" if video.suffix.lower() in (".mp4", ".m4v", ".mov") else "MJPG"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*fourcc), fps, (width, height))
    if not writer.isOpened():
        raise PlanError(f"{video}: OpenCV cannot write this video (use .avi or .mp4)")
    renderer = Renderer(world, cam, seed=seed)
    seen: dict[str, str] = {}
    try:
        with truth.open("w", encoding="utf-8") as tf:
            for k, s in enumerate(samples):
                frame = renderer.render(s.camera, s.t)
                writer.write(frame.image)
                for o in frame.objects:
                    seen[o.id] = o.label
                tf.write(json.dumps({
                    "frame": k, "t": s.t, "video_s": s.video_s,
                    "camera": {"lat": s.lat_deg, "lon": s.lon_deg, "alt_rel_m": s.alt_rel_m, "yaw_deg": s.yaw_deg,
                               "gimbal_pitch_deg": gimbal_pitch_deg},
                    "objects": [{"id": o.id, "label": o.label, "lat": round(o.lat_deg, 8), "lon": round(o.lon_deg, 8),
                                 "box": [round(v, 1) for v in o.box], "visible_fraction": round(o.visible_fraction, 3)}
                                for o in frame.objects]}) + "\n")
    finally:
        writer.release()
    home_amsl = world.alt0_amsl_m
    if telemetry.suffix.lower() == ".tlog":
        _write_tlog(telemetry, samples, world, gimbal_pitch_deg)
    else:
        with telemetry.open("w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(["time", "lat", "lon", "alt_rel_m", "alt_amsl_m", "yaw_deg", "pitch_deg", "roll_deg",
                        "gimbal_yaw_deg", "gimbal_pitch_deg", "gimbal_roll_deg", "video_s"])
            for s in samples:
                w.writerow([f"{s.t:.3f}", f"{s.lat_deg:.8f}", f"{s.lon_deg:.8f}", f"{s.alt_rel_m:.2f}",
                            f"{s.alt_rel_m + home_amsl:.2f}", f"{s.yaw_deg:.2f}", "0", "0", "0",
                            f"{gimbal_pitch_deg:.2f}", "0", f"{s.video_s:.3f}"])
    camera_file.write_text(json.dumps(cam.to_camera_file("sitl-camera", gimbal_pitch_deg), indent=1) + "\n",
                           encoding="utf-8")
    counts: dict[str, int] = {}
    for label in seen.values():
        counts[label] = counts.get(label, 0) + 1
    return {"frames": len(samples), "duration_s": round(len(samples) / fps, 2), "width": width, "height": height,
            "fps": fps, "video": str(video), "telemetry": str(telemetry), "camera": str(camera_file),
            "truth": str(truth), "objects_seen": counts}


def _write_tlog(path: Path, samples: list[FlightSample], world: World, gimbal_pitch_deg: float) -> None:
    from pymavlink.dialects.v20 import ardupilotmega as mavlink2

    mav = mavlink2.MAVLink(None, srcSystem=1, srcComponent=1)
    t0 = samples[0].t

    def put(f: Any, t: float, msg: Any) -> None:
        f.write(struct.pack(">Q", round(t * 1e6)) + msg.pack(mav))

    with path.open("wb") as f:
        put(f, t0 - 1.0, mav.home_position_encode(round(world.lat0_deg * 1e7), round(world.lon0_deg * 1e7),
                                                  round(world.alt0_amsl_m * 1000), 0.0, 0.0, 0.0,
                                                  [1.0, 0.0, 0.0, 0.0], 0.0, 0.0, 0.0))
        for s in samples:
            boot = int((s.t - t0) * 1000) & 0xFFFFFFFF
            put(f, s.t, mav.global_position_int_encode(
                boot, round(s.lat_deg * 1e7), round(s.lon_deg * 1e7), round((s.alt_rel_m + world.alt0_amsl_m) * 1000),
                round(s.alt_rel_m * 1000), 0, 0, 0, round(s.yaw_deg * 100) % 36000))
            put(f, s.t, mav.attitude_encode(boot, 0.0, 0.0, math.radians(s.yaw_deg), 0.0, 0.0, 0.0))
            put(f, s.t, mav.mount_orientation_encode(boot, 0.0, gimbal_pitch_deg, 0.0, math.nan))
