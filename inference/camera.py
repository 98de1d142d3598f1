"""The camera file (DESIGN.md schema, shared with planning) read for inference.

`{"name", "width", "height", "fx", "fy", "cx", "cy", "dist": [k1, k2, p1, p2, k3], "sensor_w_mm",
"sensor_h_mm", "focal_mm", "gimbal_pitch_deg"}`. Pixel intrinsics follow from the sensor and focal
fields when absent; `gimbal_pitch_deg` (-90 = nadir) is the fixed gimbal when the log has none.
Kept separate from `missions.camera` because inference must not import missions.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from core.errors import BadInput


@dataclass(frozen=True, slots=True)
class CameraModel:
    name: str
    width: int
    height: int
    fx: float
    fy: float
    cx: float
    cy: float
    dist: tuple[float, float, float, float, float] = (0.0, 0.0, 0.0, 0.0, 0.0)
    gimbal_pitch_deg: float = -90.0
    sensor_w_mm: float | None = None
    sensor_h_mm: float | None = None
    focal_mm: float | None = None

    @property
    def K(self) -> NDArray[np.float64]:
        return np.array([[self.fx, 0.0, self.cx], [0.0, self.fy, self.cy], [0.0, 0.0, 1.0]])

    @property
    def dist_array(self) -> NDArray[np.float64]:
        return np.asarray(self.dist, dtype=float)

    @property
    def has_distortion(self) -> bool:
        return any(d != 0.0 for d in self.dist)

    def scaled_to(self, width: int, height: int) -> CameraModel:
        """The same lens on a resized image (video decoded at another size than calibrated)."""
        if (width, height) == (self.width, self.height):
            return self
        sx, sy = width / self.width, height / self.height
        return replace(self, width=width, height=height, fx=self.fx * sx, fy=self.fy * sy,
                       cx=self.cx * sx, cy=self.cy * sy)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"name": self.name, "width": self.width, "height": self.height, "fx": self.fx,
                             "fy": self.fy, "cx": self.cx, "cy": self.cy, "dist": list(self.dist),
                             "gimbal_pitch_deg": self.gimbal_pitch_deg}
        for k in ("sensor_w_mm", "sensor_h_mm", "focal_mm"):
            if getattr(self, k) is not None:
                d[k] = getattr(self, k)
        return d


def camera_from_fov(name: str, width: int, height: int, hfov_deg: float,
                    gimbal_pitch_deg: float = -90.0) -> CameraModel:
    """A distortion-free camera with square pixels and the given horizontal field of view."""
    f = width / 2.0 / math.tan(math.radians(hfov_deg) / 2.0)
    return CameraModel(name=name, width=width, height=height, fx=f, fy=f, cx=width / 2.0, cy=height / 2.0,
                       gimbal_pitch_deg=gimbal_pitch_deg)


def camera_from_dict(data: Any, source: str = "camera") -> CameraModel:
    """Validate one camera object; BadInput names the first broken field."""
    if not isinstance(data, dict):
        raise BadInput(f"{source}: a camera file holds one JSON object")

    def num(key: str, *, required: bool = False, positive: bool = False) -> float | None:
        v = data.get(key)
        if v is None:
            if required:
                raise BadInput(f"{source}: camera field {key!r} is missing")
            return None
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            raise BadInput(f"{source}: camera field {key!r} must be a finite number, got {v!r}")
        if positive and v <= 0:
            raise BadInput(f"{source}: camera field {key!r} must be positive, got {v}")
        return float(v)

    width, height = num("width", required=True, positive=True), num("height", required=True, positive=True)
    assert width is not None and height is not None
    if width != int(width) or height != int(height):
        raise BadInput(f"{source}: camera width and height are whole pixels")
    sensor_w, sensor_h = num("sensor_w_mm", positive=True), num("sensor_h_mm", positive=True)
    focal = num("focal_mm", positive=True)
    fx, fy = num("fx", positive=True), num("fy", positive=True)
    if fx is None:
        if sensor_w is None or focal is None:
            raise BadInput(f"{source}: camera needs fx or both sensor_w_mm and focal_mm")
        fx = focal * width / sensor_w
    if fy is None:
        if sensor_h is not None and focal is not None:
            fy = focal * height / sensor_h
        else:
            fy = fx  # square pixels
    cx, cy = num("cx"), num("cy")
    dist_raw = data.get("dist", [0.0] * 5)
    if dist_raw is None:
        dist_raw = [0.0] * 5
    if (not isinstance(dist_raw, list) or len(dist_raw) not in (4, 5)
            or not all(isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x) for x in dist_raw)):
        raise BadInput(f"{source}: camera field 'dist' must be [k1, k2, p1, p2, k3] numbers")
    dist = tuple(float(x) for x in [*dist_raw, 0.0][:5])
    pitch = num("gimbal_pitch_deg")
    if pitch is not None and not -180.0 <= pitch <= 180.0:
        raise BadInput(f"{source}: gimbal_pitch_deg must be in [-180, 180], got {pitch}")
    name = data.get("name", "camera")
    if not isinstance(name, str):
        raise BadInput(f"{source}: camera field 'name' must be a string")
    return CameraModel(name=name, width=int(width), height=int(height), fx=fx, fy=fy,
                       cx=width / 2.0 if cx is None else cx, cy=height / 2.0 if cy is None else cy,
                       dist=dist,  # type: ignore[arg-type]
                       gimbal_pitch_deg=-90.0 if pitch is None else pitch,
                       sensor_w_mm=sensor_w, sensor_h_mm=sensor_h, focal_mm=focal)


def load_camera_file(path: str | Path) -> CameraModel:
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BadInput(f"{p}: camera file not found") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadInput(f"{p}: not a camera JSON file ({exc})") from None
    return camera_from_dict(data, str(p))
