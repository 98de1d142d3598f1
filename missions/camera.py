"""Camera models (the DESIGN camera file schema), a small built-in catalogue, and GSD maths.

Nadir pinhole geometry: ground sample distance GSD = sensor_w_mm * alt / (focal_mm * width_px);
the ground footprint across track is sensor_w_mm / focal_mm * alt and along track
sensor_h_mm / focal_mm * alt (the long side across the flight direction, as survey tools fly).
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError, model_validator

from core.errors import BadInput


class Camera(BaseModel):
    """One camera, in the schema shared by planning and inference."""

    name: str
    width: int = Field(gt=0)  # pixels
    height: int = Field(gt=0)
    sensor_w_mm: float = Field(gt=0)
    sensor_h_mm: float = Field(gt=0)
    focal_mm: float = Field(gt=0)
    fx: float | None = None
    fy: float | None = None
    cx: float | None = None
    cy: float | None = None
    dist: list[float] = Field(default_factory=lambda: [0.0, 0.0, 0.0, 0.0, 0.0])
    gimbal_pitch_deg: float = -90.0

    @model_validator(mode="after")
    def _intrinsics_from_sensor(self) -> Camera:
        if self.fx is None:
            self.fx = self.focal_mm * self.width / self.sensor_w_mm
        if self.fy is None:
            self.fy = self.focal_mm * self.height / self.sensor_h_mm
        if self.cx is None:
            self.cx = self.width / 2.0
        if self.cy is None:
            self.cy = self.height / 2.0
        return self

    # --- nadir geometry -------------------------------------------------------------------
    def gsd_cm(self, alt_m: float) -> float:
        """Ground sample distance (cm/pixel) at `alt_m` above the ground, nadir."""
        return 100.0 * self.sensor_w_mm * alt_m / (self.focal_mm * self.width)

    def alt_for_gsd_m(self, gsd_cm: float) -> float:
        if gsd_cm <= 0:
            raise BadInput(f"GSD must be positive, got {gsd_cm} cm")
        return gsd_cm / 100.0 * self.focal_mm * self.width / self.sensor_w_mm

    def footprint_m(self, alt_m: float) -> tuple[float, float]:
        """(across-track width, along-track height) of the nadir image on the ground, metres."""
        return (self.sensor_w_mm * alt_m / self.focal_mm, self.sensor_h_mm * alt_m / self.focal_mm)

    def lane_spacing_m(self, alt_m: float, side_overlap: float) -> float:
        return self.footprint_m(alt_m)[0] * (1.0 - _fraction(side_overlap, "side overlap"))

    def trigger_distance_m(self, alt_m: float, front_overlap: float) -> float:
        return self.footprint_m(alt_m)[1] * (1.0 - _fraction(front_overlap, "front overlap"))


def _fraction(value: float, what: str) -> float:
    """Overlaps may be given as 0.75 or 75 (%)."""
    f = value / 100.0 if value > 1.0 else value
    if not 0.0 <= f < 1.0:
        raise BadInput(f"{what} must be in [0, 100) %, got {value}")
    return f


# Manufacturer figures (sensor size, focal length, image size).
CATALOGUE: dict[str, Camera] = {
    c.name: c
    for c in (
        Camera(name="dji-phantom4-rtk", width=5472, height=3648, sensor_w_mm=13.2, sensor_h_mm=8.8, focal_mm=8.8),
        Camera(name="dji-mavic3e", width=5280, height=3956, sensor_w_mm=17.3, sensor_h_mm=13.0, focal_mm=12.29),
        Camera(name="dji-m30t-wide", width=4000, height=3000, sensor_w_mm=6.4, sensor_h_mm=4.8, focal_mm=4.5),
        Camera(
            name="dji-zenmuse-p1-35mm",
            width=8192,
            height=5460,
            sensor_w_mm=35.9,
            sensor_h_mm=24.0,
            focal_mm=35.0,
        ),
        Camera(name="sony-rx1r-ii", width=7952, height=5304, sensor_w_mm=35.9, sensor_h_mm=24.0, focal_mm=35.0),
    )
}
DEFAULT_CAMERA = "dji-mavic3e"


def camera_from_dict(data: dict, source: str = "camera") -> Camera:
    try:
        return Camera.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(root)"
        raise BadInput(f"{source}: bad camera field {where}: {first['msg']}") from None


def load_camera(name_or_path: str | None) -> Camera:
    """A catalogue name, or a JSON file in the camera schema; None gives the default camera."""
    if name_or_path is None:
        return CATALOGUE[DEFAULT_CAMERA]
    if name_or_path in CATALOGUE:
        return CATALOGUE[name_or_path]
    path = Path(name_or_path)
    if not path.exists():
        raise BadInput(f"unknown camera {name_or_path!r}: not a file and not one of {', '.join(sorted(CATALOGUE))}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadInput(f"{path}: not a camera JSON file ({exc})") from None
    if not isinstance(data, dict):
        raise BadInput(f"{path}: a camera file holds one JSON object")
    return camera_from_dict(data, str(path))
