"""Georeferencing: pixel -> ray (pinhole + distortion) -> rotate by gimbal and vehicle -> ground.

Frames, all explicit:
- camera: OpenCV (x right in the image, y down, z along the optical axis);
- camera body "FRD": forward = optical axis, right = image x, down = image y;
- vehicle body FRD, and the world as NED (north, east, down) for the attitude maths, turned into
  ENU (east, north, up) for positions, as everywhere else in SkyPatrol.
Attitudes are aerospace ZYX (yaw about down, then pitch, then roll):
R_ned_from_frd = Rz(yaw) @ Ry(pitch) @ Rx(roll).

Gimbal: a stabilised gimbal (the default, as on DJI and most survey drones) holds its pitch and
roll in the earth frame, so only the vehicle yaw reaches the camera: camera = (vehicle yaw +
gimbal yaw, gimbal pitch, gimbal roll). A fixed mount (`stabilised=False`) composes the full
vehicle attitude with the mount angles.

Ground: flat at home height, or a terrain provider `elevation_amsl_m(lat, lon)` (numpy arrays in,
metres above mean sea level out), intersected by fixed-point iteration.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
import pymap3d
from numpy.typing import ArrayLike, NDArray

from geo import LocalFrame
from inference.camera import CameraModel
from inference.types import Pose

FloatArray = NDArray[np.float64]
TerrainProvider = Callable[[FloatArray, FloatArray], ArrayLike]

# NED -> ENU is a fixed axis swap.
_ENU_FROM_NED = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, -1.0]])
# OpenCV camera axes expressed in camera-body FRD: x(right) -> R, y(down) -> D, z(optical) -> F.
_FRD_FROM_CV = np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
MAX_RANGE_M = 5000.0


def rotation_ned_from_frd(yaw_deg: float, pitch_deg: float, roll_deg: float) -> FloatArray:
    """Aerospace ZYX rotation: body FRD vectors into NED."""
    y, p, r = (math.radians(a) for a in (yaw_deg, pitch_deg, roll_deg))
    cy, sy, cp, sp, cr, sr = math.cos(y), math.sin(y), math.cos(p), math.sin(p), math.cos(r), math.sin(r)
    rz = np.array([[cy, -sy, 0.0], [sy, cy, 0.0], [0.0, 0.0, 1.0]])
    ry = np.array([[cp, 0.0, sp], [0.0, 1.0, 0.0], [-sp, 0.0, cp]])
    rx = np.array([[1.0, 0.0, 0.0], [0.0, cr, -sr], [0.0, sr, cr]])
    return rz @ ry @ rx


def camera_angles_deg(pose: Pose, camera: CameraModel, *, stabilised: bool = True) -> tuple[float, float, float]:
    """(yaw, pitch, roll) of the camera in the earth frame for a stabilised gimbal."""
    g_pitch = camera.gimbal_pitch_deg if math.isnan(pose.gimbal_pitch_deg) else pose.gimbal_pitch_deg
    g_roll = 0.0 if math.isnan(pose.gimbal_roll_deg) else pose.gimbal_roll_deg
    g_yaw = 0.0 if math.isnan(pose.gimbal_yaw_deg) else pose.gimbal_yaw_deg
    yaw = g_yaw if pose.gimbal_yaw_absolute else pose.yaw_deg + g_yaw
    return yaw, g_pitch, g_roll


def rotation_enu_from_cv(pose: Pose, camera: CameraModel, *, stabilised: bool = True) -> FloatArray:
    """Rotation taking OpenCV camera-frame vectors into ENU."""
    if stabilised:
        r_ned = rotation_ned_from_frd(*camera_angles_deg(pose, camera))
    else:
        g_pitch = camera.gimbal_pitch_deg if math.isnan(pose.gimbal_pitch_deg) else pose.gimbal_pitch_deg
        g_roll = 0.0 if math.isnan(pose.gimbal_roll_deg) else pose.gimbal_roll_deg
        g_yaw = 0.0 if math.isnan(pose.gimbal_yaw_deg) else pose.gimbal_yaw_deg
        r_body = rotation_ned_from_frd(pose.yaw_deg, pose.pitch_deg, pose.roll_deg)
        r_ned = r_body @ rotation_ned_from_frd(g_yaw, g_pitch, g_roll)
    return _ENU_FROM_NED @ r_ned @ _FRD_FROM_CV


def pixels_to_rays_cv(camera: CameraModel, pts_px: ArrayLike) -> FloatArray:
    """(N, 2) pixel coordinates -> (N, 3) unit rays in the OpenCV camera frame (distortion removed)."""
    pts = np.asarray(pts_px, dtype=np.float64).reshape(-1, 2)
    if len(pts) == 0:
        return np.zeros((0, 3))
    if camera.has_distortion:
        norm = cv2.undistortPoints(pts.reshape(-1, 1, 2), camera.K, camera.dist_array).reshape(-1, 2)
    else:
        norm = np.column_stack([(pts[:, 0] - camera.cx) / camera.fx, (pts[:, 1] - camera.cy) / camera.fy])
    rays = np.column_stack([norm, np.ones(len(norm))])
    return rays / np.linalg.norm(rays, axis=1, keepdims=True)


@dataclass(frozen=True, slots=True)
class PoseNoise:
    """1-sigma errors the uncertainty estimate assumes (first-order propagation)."""

    position_m: float = 2.0  # GNSS horizontal
    attitude_deg: float = 1.0  # combined vehicle + gimbal
    altitude_m: float = 1.0
    pixel: float = 2.0  # detection box centre


@dataclass(slots=True)
class GroundPoints:
    """Vectorised result of `Georeferencer.locate`; NaN where a ray misses the ground."""

    lat_deg: FloatArray
    lon_deg: FloatArray
    east_m: FloatArray  # job frame
    north_m: FloatArray
    range_m: FloatArray
    sigma_m: FloatArray


class Georeferencer:
    """Places pixels of one camera on the ground around a job's local frame."""

    def __init__(self, camera: CameraModel, frame: LocalFrame, *, home_amsl_m: float = 0.0,
                 terrain: TerrainProvider | None = None, noise: PoseNoise | None = None,
                 stabilised: bool = True) -> None:
        self.camera = camera
        self.frame = frame
        self.home_amsl_m = home_amsl_m
        self.terrain = terrain
        self.noise = noise or PoseNoise()
        self.stabilised = stabilised

    def camera_height_m(self, pose: Pose) -> float:
        """Height of the camera above the flat ground at home."""
        if not math.isnan(pose.alt_rel_m):
            return pose.alt_rel_m
        if not math.isnan(pose.alt_amsl_m):
            return pose.alt_amsl_m - self.home_amsl_m
        raise ValueError("pose has neither alt_rel_m nor alt_amsl_m")

    def camera_amsl_m(self, pose: Pose) -> float:
        if not math.isnan(pose.alt_amsl_m):
            return pose.alt_amsl_m
        return self.home_amsl_m + pose.alt_rel_m

    def locate(self, pose: Pose, pts_px: ArrayLike, above_ground_m: ArrayLike = 0.0) -> GroundPoints:
        """Ground positions of pixels; `above_ground_m` lifts the target plane (the visible top of
        a truck sits ~3 m up, and in oblique views that shifts its ground point)."""
        rays_cv = pixels_to_rays_cv(self.camera, pts_px)
        d = rays_cv @ rotation_enu_from_cv(pose, self.camera, stabilised=self.stabilised).T  # (N, 3) ENU
        down = -d[:, 2]
        valid = down > 1e-6
        lift = np.broadcast_to(np.asarray(above_ground_m, dtype=float), (len(d),))
        safe_down = np.where(valid, down, np.nan)
        if self.terrain is None:
            h = np.full(len(d), self.camera_height_m(pose))
            t = (h - lift) / safe_down
        else:
            cam_amsl = self.camera_amsl_m(pose)
            ground = np.full(len(d), float(np.asarray(self.terrain(np.array([pose.lat_deg]),
                                                                    np.array([pose.lon_deg])))[0]))
            t = (cam_amsl - ground - lift) / safe_down
            for _ in range(6):
                e, n = t * d[:, 0], t * d[:, 1]
                lat, lon, _ = pymap3d.enu2geodetic(e, n, np.zeros_like(e), pose.lat_deg, pose.lon_deg, 0.0)
                ground = np.asarray(self.terrain(np.asarray(lat), np.asarray(lon)), dtype=float)
                t = (cam_amsl - ground - lift) / safe_down
            h = cam_amsl - ground
        t = np.where((t > 0) & (t < MAX_RANGE_M), t, np.nan)
        e, n = t * d[:, 0], t * d[:, 1]
        lat, lon, _ = pymap3d.enu2geodetic(e, n, np.zeros_like(e), pose.lat_deg, pose.lon_deg, 0.0)
        lat, lon = np.asarray(lat, dtype=float), np.asarray(lon, dtype=float)
        ej, nj = self.frame.geodetic2en(lat, lon)
        # First-order uncertainty: GNSS, attitude (grows with h / cos^2 of the off-nadir angle),
        # altitude (grows with tan), pixel noise (grows with slant range / focal length).
        cos_a = np.clip(down, 1e-3, 1.0)
        tan_a = np.sqrt(np.clip(1.0 - cos_a**2, 0.0, None)) / cos_a
        att = math.radians(self.noise.attitude_deg)
        sigma = np.sqrt(self.noise.position_m**2 + (att * h / cos_a**2) ** 2
                        + (self.noise.altitude_m * tan_a) ** 2
                        + (self.noise.pixel * t / self.camera.fx) ** 2)
        return GroundPoints(lat, lon, ej, nj, t, np.where(np.isnan(t), np.nan, sigma))

    def footprint_size_m(self, pose: Pose, corners_px: ArrayLike, above_ground_m: float = 0.0) -> tuple[float, float]:
        """(long side, short side) on the ground of a 4-corner pixel outline (rotated rectangle)."""
        g = self.locate(pose, corners_px, above_ground_m)
        pts = np.column_stack([g.east_m, g.north_m])
        if np.isnan(pts).any():
            return float("nan"), float("nan")
        (_, _), (w, h), _ = cv2.minAreaRect(pts.astype(np.float32))
        return float(max(w, h)), float(min(w, h))

    def gsd_m(self, pose: Pose) -> float:
        """Ground sample distance at the image centre (metres per pixel)."""
        c = self.camera
        g = self.locate(pose, [[c.cx, c.cy], [c.cx + 1.0, c.cy]])
        return float(math.hypot(g.east_m[1] - g.east_m[0], g.north_m[1] - g.north_m[0]))
