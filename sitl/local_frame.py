"""WGS84 <-> local east/north/up around one origin, for the simulator's inner loop.

A tangent-plane approximation with the WGS84 radii of curvature at the origin: sub-centimetre
over the few kilometres a patrol flies, and cheap enough to run hundreds of times per step
(pymap3d's exact ECEF route costs ~50x more per call).
"""

from __future__ import annotations

import math

_A = 6378137.0  # WGS84 semi-major axis, m
_E2 = 6.69437999014e-3  # WGS84 first eccentricity squared


class LocalFrame:
    def __init__(self, lat0_deg: float, lon0_deg: float, alt0_m: float) -> None:
        self.lat0_deg = lat0_deg
        self.lon0_deg = lon0_deg
        self.alt0_m = alt0_m
        phi = math.radians(lat0_deg)
        s = math.sin(phi)
        w = math.sqrt(1.0 - _E2 * s * s)
        meridian_m = _A * (1.0 - _E2) / (w * w * w)  # M: north-south radius of curvature
        normal_m = _A / w  # N: east-west radius of curvature
        self._m_per_deg_lat = math.radians(1.0) * meridian_m
        self._m_per_deg_lon = math.radians(1.0) * normal_m * math.cos(phi)

    def geodetic2enu(self, lat_deg: float, lon_deg: float, alt_m: float) -> tuple[float, float, float]:
        return (
            (lon_deg - self.lon0_deg) * self._m_per_deg_lon,
            (lat_deg - self.lat0_deg) * self._m_per_deg_lat,
            alt_m - self.alt0_m,
        )

    def enu2geodetic(self, east_m: float, north_m: float, up_m: float) -> tuple[float, float, float]:
        return (
            self.lat0_deg + north_m / self._m_per_deg_lat,
            self.lon0_deg + east_m / self._m_per_deg_lon,
            self.alt0_m + up_m,
        )
