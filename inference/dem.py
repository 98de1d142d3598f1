"""A DEM as the ground the georeferencer places detections on (`skypatrol infer --dem`, `skypatrol
edge --dem`): the raster's edge made explicit (ground off it is not guessed), a DEM refused when the
flight lies off it, and the home's height taken from it where a log gives heights above home only."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike, NDArray

from core.errors import BadInput

if TYPE_CHECKING:
    from airspace.terrain import GeoTiffDem
    from inference.telemetry import PoseTrack
    from inference.types import Frame, GeoDetection, Pose


class DemGround:
    """A DEM as the georeferencer's terrain (`dem.elevation_amsl_m`), with its edge made explicit.

    Where the raster has no height (off its edge, or next to a no-data sample) the ground is NaN:
    the ray finds no ground and the detection is not placed. The miss is remembered (`take_missed`)
    and `on_first_miss` is told once, so a flight leaving the DEM is reported rather than stopped
    part-way, and never quietly placed on flat ground instead.
    """

    def __init__(self, dem: GeoTiffDem, *, on_first_miss: Callable[[str], None] | None = None) -> None:
        self.dem = dem
        rows, cols = dem.heights.shape
        self.south_deg, self.north_deg = dem.lat0 - (rows - 1) * dem.dlat, dem.lat0
        self.west_deg, self.east_deg = dem.lon0, dem.lon0 + (cols - 1) * dem.dlon
        self.on_first_miss = on_first_miss
        self._missed = False
        self._told = False

    @property
    def bounds_text(self) -> str:
        return (f"lat {self.south_deg:.6f}..{self.north_deg:.6f}, "
                f"lon {self.west_deg:.6f}..{self.east_deg:.6f}")

    def covers(self, lat_deg: ArrayLike, lon_deg: ArrayLike) -> NDArray[np.bool_]:
        lat, lon = np.asarray(lat_deg, dtype=float), np.asarray(lon_deg, dtype=float)
        return (lat >= self.south_deg) & (lat <= self.north_deg) & (lon >= self.west_deg) & (lon <= self.east_deg)

    def __call__(self, lat_deg: ArrayLike, lon_deg: ArrayLike) -> NDArray[np.float64]:
        lat, lon = np.asarray(lat_deg, dtype=float), np.asarray(lon_deg, dtype=float)
        flat_lat, flat_lon = lat.ravel(), lon.ravel()
        out = np.full(flat_lat.shape, np.nan)
        inside = np.flatnonzero(self.covers(flat_lat, flat_lon))  # NaN (a ray that already missed) is never inside
        if len(inside):
            try:
                out[inside] = self.dem.elevation_amsl_m(flat_lat[inside], flat_lon[inside])
            except BadInput:  # a no-data sample near some of them (or the very edge): point by point
                for k in inside:
                    try:
                        out[k] = float(self.dem.elevation_amsl_m(flat_lat[k], flat_lon[k]))
                    except BadInput:
                        pass
        if np.any(np.isnan(out) & np.isfinite(flat_lat) & np.isfinite(flat_lon)):
            self._missed = True
            if not self._told and self.on_first_miss is not None:
                self._told = True
                self.on_first_miss(f"DEM {self.dem.path.name} ({self.bounds_text}) has no ground for part of "
                                   "the view; detections there are not placed")
        return out.reshape(lat.shape)

    def take_missed(self) -> bool:
        """Whether some ground was off the DEM since the last call."""
        missed, self._missed = self._missed, False
        return missed


class OffDemCounter:
    """The pipeline's frame hook counting frames whose ground was partly off the DEM (the drone's
    own position, or a detection's)."""

    def __init__(self, ground: DemGround) -> None:
        self.ground = ground
        self.frames = 0

    def __call__(self, frame: Frame, pose: Pose, placed: list[GeoDetection]) -> None:
        missed = self.ground.take_missed()
        if missed or not self.ground.covers(pose.lat_deg, pose.lon_deg):
            self.frames += 1

    def warning(self, frames_with_pose: int) -> str | None:
        """What to tell the user at the end of a run, if any frame saw ground off the DEM."""
        if not self.frames:
            return None
        return (f"{self.frames} of {frames_with_pose} frames saw ground off the DEM {self.ground.dem.path.name} "
                f"({self.ground.bounds_text}); detections there were not placed")


def load_dem(path: Path) -> GeoTiffDem:
    """`--dem`: the GeoTIFF read, or BadInput naming the file and what is wrong with it."""
    from airspace.terrain import GeoTiffDem

    try:
        return GeoTiffDem(path)
    except BadInput as exc:
        raise BadInput(f"--dem: {exc.message}") from None
    except Exception as exc:  # tags present but unusable (wrong types or counts)
        raise BadInput(f"--dem: DEM {path}: unusable GeoTIFF georeferencing ({type(exc).__name__}: {exc})") from None


def check_flight_on_dem(ground: DemGround, track: PoseTrack) -> None:
    """Refuse a DEM that no telemetry position lies on (a wrong tile, most likely)."""
    lat = np.asarray(track.position.values.get("lat_deg", np.zeros(0)), dtype=float)
    lon = np.asarray(track.position.values.get("lon_deg", np.zeros(0)), dtype=float)
    known = np.isfinite(lat) & np.isfinite(lon)
    if not known.any() or ground.covers(lat[known], lon[known]).any():
        return
    lat, lon = lat[known], lon[known]
    raise BadInput(f"--dem: DEM {ground.dem.path} covers {ground.bounds_text}; the flight "
                   f"(lat {lat.min():.6f}..{lat.max():.6f}, lon {lon.min():.6f}..{lon.max():.6f}) lies outside it")


def home_amsl_from_dem(ground: DemGround, track: PoseTrack, *, hint: str = "") -> float | None:
    """The home's height from the DEM where the log gives heights above home only (no home altitude,
    no AMSL altitude); without it the camera's height above sea level, which the DEM's ground is
    compared with, is unknown. Home is where the log says, else its first position if the drone is
    on the ground there. None where the log gives AMSL heights itself."""
    if track.home is not None and math.isfinite(track.home[2]):
        return None
    values = track.position.values
    amsl = values.get("alt_amsl_m")
    if amsl is not None and np.isfinite(amsl).any():
        return None
    nan = np.full(len(track.position), np.nan)
    lat, lon, rel = (np.asarray(values.get(k, nan), dtype=float) for k in ("lat_deg", "lon_deg", "alt_rel_m"))
    first = np.flatnonzero(np.isfinite(lat) & np.isfinite(lon))
    if track.home is not None:
        at = (track.home[0], track.home[1])
    elif len(first) and abs(rel[first[0]]) < 2.0:
        at = (float(lat[first[0]]), float(lon[first[0]]))
    else:
        raise BadInput(f"--dem: the log gives heights above home only and does not say where home is, so "
                       f"the camera's height above the DEM's ground is unknown{hint}")
    try:
        return float(ground.dem.elevation_amsl_m(at[0], at[1]))
    except BadInput:
        raise BadInput(f"--dem: the log gives heights above home only and DEM {ground.dem.path.name} has no "
                       f"ground at home ({at[0]:.6f}, {at[1]:.6f}){hint}") from None
