"""The simulated camera: the same pinhole + distortion model and attitude conventions as
inference's georeferencer (written again here: sitl imports only geo).

World: local ENU metres around the world origin, `up` above the (flat) ground. Camera
orientation in the earth frame, aerospace ZYX: `yaw_deg` clockwise from north, `pitch_deg` up
positive (-90 looks straight down), `roll_deg` right side down. Camera axes are OpenCV's
(x right, y down, z along the optical axis).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]
_ENU_FROM_NED = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, -1.0]])
_FRD_FROM_CV = np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])


@dataclass(frozen=True, slots=True)
class SimCamera:
    width: int
    height: int
    fx: float
    fy: float
    cx: float
    cy: float
    dist: tuple[float, float, float, float, float] = (0.0, 0.0, 0.0, 0.0, 0.0)

    @classmethod
    def from_hfov(cls, width: int, height: int, hfov_deg: float,
                  dist: tuple[float, float, float, float, float] = (0.0, 0.0, 0.0, 0.0, 0.0)) -> SimCamera:
        f = width / 2.0 / math.tan(math.radians(hfov_deg) / 2.0)
        return cls(width, height, f, f, width / 2.0, height / 2.0, dist)

    @property
    def K(self) -> FloatArray:
        return np.array([[self.fx, 0.0, self.cx], [0.0, self.fy, self.cy], [0.0, 0.0, 1.0]])

    def to_camera_file(self, name: str = "sitl-camera", gimbal_pitch_deg: float = -90.0) -> dict[str, object]:
        """This camera in the shared camera file schema."""
        return {"name": name, "width": self.width, "height": self.height, "fx": self.fx, "fy": self.fy,
                "cx": self.cx, "cy": self.cy, "dist": list(self.dist), "gimbal_pitch_deg": gimbal_pitch_deg}


@dataclass(frozen=True, slots=True)
class CameraPose:
    east_m: float
    north_m: float
    up_m: float  # above the ground
    yaw_deg: float = 0.0
    pitch_deg: float = -90.0
    roll_deg: float = 0.0

    @property
    def position(self) -> FloatArray:
        return np.array([self.east_m, self.north_m, self.up_m])


def rotation_enu_from_cv(yaw_deg: float, pitch_deg: float, roll_deg: float) -> FloatArray:
    y, p, r = (math.radians(a) for a in (yaw_deg, pitch_deg, roll_deg))
    cy, sy, cp, sp, cr, sr = math.cos(y), math.sin(y), math.cos(p), math.sin(p), math.cos(r), math.sin(r)
    rz = np.array([[cy, -sy, 0.0], [sy, cy, 0.0], [0.0, 0.0, 1.0]])
    ry = np.array([[cp, 0.0, sp], [0.0, 1.0, 0.0], [-sp, 0.0, cp]])
    rx = np.array([[1.0, 0.0, 0.0], [0.0, cr, -sr], [0.0, sr, cr]])
    return _ENU_FROM_NED @ (rz @ ry @ rx) @ _FRD_FROM_CV


def project_points(camera: SimCamera, pose: CameraPose, points_enu: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """(N, 3) ENU points -> (N, 2) pixels and (N,) depth along the optical axis (<= 0: behind)."""
    pts = np.asarray(points_enu, dtype=float).reshape(-1, 3)
    r = rotation_enu_from_cv(pose.yaw_deg, pose.pitch_deg, pose.roll_deg)
    cam = (pts - pose.position) @ r  # ENU -> camera: R^T applied to row vectors
    depth = cam[:, 2]
    safe = np.where(depth > 1e-6, depth, np.nan)
    xn, yn = cam[:, 0] / safe, cam[:, 1] / safe
    if any(d != 0.0 for d in camera.dist):
        k1, k2, p1, p2, k3 = camera.dist
        r2 = xn * xn + yn * yn
        radial = 1 + k1 * r2 + k2 * r2 * r2 + k3 * r2**3
        xd = xn * radial + 2 * p1 * xn * yn + p2 * (r2 + 2 * xn * xn)
        yd = yn * radial + p1 * (r2 + 2 * yn * yn) + 2 * p2 * xn * yn
        xn, yn = xd, yd
    return np.column_stack([camera.fx * xn + camera.cx, camera.fy * yn + camera.cy]), depth


def pixel_rays_cv(camera: SimCamera) -> FloatArray:
    """Unit rays (H*W, 3) in the camera frame through every pixel centre, distortion removed."""
    u, v = np.meshgrid(np.arange(camera.width, dtype=np.float64) + 0.5,
                       np.arange(camera.height, dtype=np.float64) + 0.5)
    pts = np.column_stack([u.ravel(), v.ravel()])
    if any(d != 0.0 for d in camera.dist):
        norm = cv2.undistortPoints(pts.reshape(-1, 1, 2), camera.K, np.asarray(camera.dist)).reshape(-1, 2)
    else:
        norm = np.column_stack([(pts[:, 0] - camera.cx) / camera.fx, (pts[:, 1] - camera.cy) / camera.fy])
    rays = np.column_stack([norm, np.ones(len(norm))])
    return rays / np.linalg.norm(rays, axis=1, keepdims=True)
