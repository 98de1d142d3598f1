"""The values passed between stages: frames, poses, pixel detections, ground detections."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

# SkyPatrol's detection labels (the class map of any detector resolves to these).
LABELS: tuple[str, ...] = (
    "muck_truck",
    "truck",
    "car",
    "bus",
    "traffic_cone",
    "barrier",
    "excavator",
    "excavation",
)
VEHICLE_LABELS = frozenset({"muck_truck", "truck", "car", "bus"})
ROAD_WORKS_LABELS = frozenset({"traffic_cone", "barrier", "excavator", "excavation"})


@dataclass(frozen=True, slots=True)
class Pose:
    """Where the camera was and where it looked, at one instant.

    Angles in degrees. Vehicle attitude is aerospace ZYX: `yaw_deg` clockwise from true north,
    `pitch_deg` nose up positive, `roll_deg` right wing down positive. Gimbal angles use the same
    convention for the camera's optical axis: `gimbal_pitch_deg = -90` looks straight down.
    `gimbal_yaw_deg` is relative to the vehicle heading unless `gimbal_yaw_absolute`.
    NaN means "not known" (a gimbal angle then comes from the camera file).
    """

    t: float  # unix seconds (UTC)
    lat_deg: float
    lon_deg: float
    alt_rel_m: float = float("nan")  # above home / take-off
    alt_amsl_m: float = float("nan")
    yaw_deg: float = 0.0
    pitch_deg: float = 0.0
    roll_deg: float = 0.0
    gimbal_yaw_deg: float = float("nan")
    gimbal_pitch_deg: float = float("nan")
    gimbal_roll_deg: float = float("nan")
    gimbal_yaw_absolute: bool = False


@dataclass(slots=True)
class Frame:
    """One image (BGR, uint8) with its time; the simulated camera also attaches its exact pose."""

    image: NDArray[np.uint8]
    t: float  # unix seconds (UTC)
    index: int
    pose: Pose | None = None
    # Video position in seconds (for sources that have one); telemetry keyed by video time (DJI .SRT) uses it.
    position_s: float | None = None
    truth: object | None = None  # ground truth from a simulator, passed through untouched


@dataclass(frozen=True, slots=True)
class Detection:
    """A detector's output in pixels: box (x1, y1, x2, y2), SkyPatrol label, score in [0, 1].

    `footprint_px` optionally holds the object's rotated outline (4 x 2 pixel corners), which
    metric size rules prefer over the axis-aligned box (a truck at 45 degrees fills a square box).
    `candidate`: a weak box, under the detector's own threshold, that counts only where another cue
    confirms it (the pipeline's motion cue, `inference.motion`); dropped otherwise.
    """

    box: tuple[float, float, float, float]
    label: str
    score: float
    footprint_px: NDArray[np.float64] | None = field(default=None, compare=False)
    # The cue a rule-based detector saw ("orange", "earth", "yellow"); rules resolve it by metric size.
    cue: str | None = None
    candidate: bool = False


@dataclass(slots=True)
class GeoDetection:
    """A detection placed on the ground: WGS84 position, local east/north, size and uncertainty."""

    detection: Detection
    label: str
    score: float
    t: float
    frame_index: int
    lat_deg: float
    lon_deg: float
    east_m: float  # in the job's local frame
    north_m: float
    sigma_m: float  # 1-sigma horizontal position uncertainty
    length_m: float = float("nan")  # ground size of the footprint (long side, short side)
    width_m: float = float("nan")
    range_m: float = float("nan")  # slant range camera -> ground point
    load: str | None = None  # a load seen on a heavy vehicle: "earth" (uncovered) or "tarp" (covered)
    # The cotangent of the line of sight's elevation (a standing thing of height H seen obliquely
    # stretches H * view_cot along the sight), and how much of that falls along the footprint's long
    # and short sides (|cos| of the angle between each side and the sight).
    view_cot: float = float("nan")
    sight_cos_long: float = float("nan")
    sight_cos_short: float = float("nan")
