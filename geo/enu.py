"""WGS84 geodetic <-> local East-North-Up (metres) around an origin, numpy-vectorised."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pymap3d
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]

# WGS84
_A = 6378137.0
_F = 1 / 298.257223563
_B = _A * (1 - _F)
_E2 = _F * (2 - _F)
_EP2 = _E2 / (1 - _E2)


def geodetic2enu(
    lat_deg: ArrayLike,
    lon_deg: ArrayLike,
    alt_m: ArrayLike,
    lat0_deg: float,
    lon0_deg: float,
    alt0_m: float = 0.0,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Geodetic (degrees, metres above the ellipsoid) to ENU metres around the origin."""
    e, n, u = pymap3d.geodetic2enu(
        np.asarray(lat_deg, dtype=float),
        np.asarray(lon_deg, dtype=float),
        np.asarray(alt_m, dtype=float),
        lat0_deg,
        lon0_deg,
        alt0_m,
    )
    return np.asarray(e, dtype=float), np.asarray(n, dtype=float), np.asarray(u, dtype=float)


def enu2geodetic(
    east_m: ArrayLike,
    north_m: ArrayLike,
    up_m: ArrayLike,
    lat0_deg: float,
    lon0_deg: float,
    alt0_m: float = 0.0,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """ENU metres around the origin to geodetic (degrees, metres above the ellipsoid)."""
    lat, lon, alt = pymap3d.enu2geodetic(
        np.asarray(east_m, dtype=float),
        np.asarray(north_m, dtype=float),
        np.asarray(up_m, dtype=float),
        lat0_deg,
        lon0_deg,
        alt0_m,
    )
    return np.asarray(lat, dtype=float), np.asarray(lon, dtype=float), np.asarray(alt, dtype=float)


@dataclass(frozen=True, slots=True)
class LocalFrame:
    """A local tangent-plane frame: the origin every metric computation of one job shares.

    Horizontal work ignores the up axis: a point is projected with its height set to the
    origin's, so east/north do not depend on altitude.
    """

    lat0_deg: float
    lon0_deg: float
    alt0_m: float = 0.0

    def geodetic2en(self, lat_deg: ArrayLike, lon_deg: ArrayLike) -> tuple[FloatArray, FloatArray]:
        lat, lon = np.asarray(lat_deg, dtype=float), np.asarray(lon_deg, dtype=float)
        e, n, _ = _ecef2enu(*_geodetic2ecef(lat, lon, self.alt0_m), _rotation(*self._origin()))
        return e, n

    def en2geodetic(self, east_m: ArrayLike, north_m: ArrayLike) -> tuple[FloatArray, FloatArray]:
        e = np.asarray(east_m, dtype=float)
        n = np.asarray(north_m, dtype=float)
        # The inverse of `geodetic2en`: points on the ellipsoid surface at the origin's height
        # have a small negative `up` far from the origin; solve for it by two refinements.
        rot = _rotation(*self._origin())
        lat, lon = _ecef2latlon(*_enu2ecef(e, n, np.zeros(e.shape), rot))
        for _ in range(2):
            _, _, u = _ecef2enu(*_geodetic2ecef(lat, lon, self.alt0_m), rot)
            lat, lon = _ecef2latlon(*_enu2ecef(e, n, u, rot))
        return lat, lon

    def _origin(self) -> tuple[float, float, float]:
        return (self.lat0_deg, self.lon0_deg, self.alt0_m)


# The frame's own conversions: the same ellipsoid formulas as pymap3d (geodetic <-> ECEF, a fixed
# rotation to ENU), with the rotation computed once per origin and no per-call checks; they agree
# with pymap3d to well below a micrometre and cost a fraction on small arrays.


@lru_cache(maxsize=64)
def _rotation(lat0_deg: float, lon0_deg: float, alt0_m: float) -> tuple[FloatArray, tuple[float, float, float]]:
    """Rows: east, north, up unit vectors in ECEF; and the origin in ECEF."""
    lat, lon = np.radians(lat0_deg), np.radians(lon0_deg)
    sl, cl, sp, cp = np.sin(lon), np.cos(lon), np.sin(lat), np.cos(lat)
    rot = np.array([[-sl, cl, 0.0], [-sp * cl, -sp * sl, cp], [cp * cl, cp * sl, sp]])
    x, y, z = _geodetic2ecef(np.array(lat0_deg), np.array(lon0_deg), alt0_m)
    return rot, (float(x), float(y), float(z))


def _geodetic2ecef(lat_deg: FloatArray, lon_deg: FloatArray, alt_m: float) -> tuple[FloatArray, FloatArray, FloatArray]:
    lat, lon = np.radians(lat_deg), np.radians(lon_deg)
    sp, cp = np.sin(lat), np.cos(lat)
    n = _A / np.sqrt(1 - _E2 * sp * sp)
    return (n + alt_m) * cp * np.cos(lon), (n + alt_m) * cp * np.sin(lon), (n * (1 - _E2) + alt_m) * sp


def _ecef2enu(
    x: FloatArray, y: FloatArray, z: FloatArray, frame: tuple[FloatArray, tuple[float, float, float]]
) -> tuple[FloatArray, FloatArray, FloatArray]:
    rot, (x0, y0, z0) = frame
    dx, dy, dz = x - x0, y - y0, z - z0
    return (
        rot[0, 0] * dx + rot[0, 1] * dy,
        rot[1, 0] * dx + rot[1, 1] * dy + rot[1, 2] * dz,
        rot[2, 0] * dx + rot[2, 1] * dy + rot[2, 2] * dz,
    )


def _enu2ecef(
    e: FloatArray, n: FloatArray, u: FloatArray, frame: tuple[FloatArray, tuple[float, float, float]]
) -> tuple[FloatArray, FloatArray, FloatArray]:
    rot, (x0, y0, z0) = frame
    return (
        x0 + rot[0, 0] * e + rot[1, 0] * n + rot[2, 0] * u,
        y0 + rot[0, 1] * e + rot[1, 1] * n + rot[2, 1] * u,
        z0 + rot[1, 2] * n + rot[2, 2] * u,
    )


def _ecef2latlon(x: FloatArray, y: FloatArray, z: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Bowring's method, iterated twice: exact to far below a micrometre near the surface."""
    p = np.hypot(x, y)
    beta = np.arctan2(z, (1 - _F) * p)
    for _ in range(2):
        sb, cb = np.sin(beta), np.cos(beta)
        lat = np.arctan2(z + _EP2 * _B * sb**3, p - _E2 * _A * cb**3)
        beta = np.arctan2((1 - _F) * np.sin(lat), np.cos(lat))
    return np.degrees(lat), np.degrees(np.arctan2(y, x))
