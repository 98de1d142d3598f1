"""WGS84 geodetic <-> local East-North-Up (metres) around an origin, numpy-vectorised."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pymap3d
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]


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
        lat = np.asarray(lat_deg, dtype=float)
        e, n, _ = geodetic2enu(lat, lon_deg, np.full(lat.shape, self.alt0_m), *self._origin())
        return e, n

    def en2geodetic(self, east_m: ArrayLike, north_m: ArrayLike) -> tuple[FloatArray, FloatArray]:
        e = np.asarray(east_m, dtype=float)
        # The inverse of `geodetic2en`: points on the ellipsoid surface at the origin's height
        # have a small negative `up` far from the origin; solve for it by one refinement.
        lat, lon, _ = enu2geodetic(e, north_m, np.zeros(e.shape), *self._origin())
        for _ in range(2):
            _, _, u = geodetic2enu(lat, lon, np.full(e.shape, self.alt0_m), *self._origin())
            lat, lon, _ = enu2geodetic(e, north_m, u, *self._origin())
        return lat, lon

    def _origin(self) -> tuple[float, float, float]:
        return (self.lat0_deg, self.lon0_deg, self.alt0_m)
