"""WGS84 <-> local east/north/up around one origin, scalar and exact, for the simulator's inner loop.

East/north are the origin's tangent-plane coordinates (through ECEF, as pymap3d computes them);
up is the altitude difference to the origin, so the simulated ground (up = 0) keeps the origin's
altitude everywhere - the same convention as geo.enu.LocalFrame. Pure `math` on scalars: a few
microseconds a call, where the numpy route costs tens, and the simulator converts thousands of
positions per second. Cross-checked against pymap3d in tests/sitl/test_sitl_units.py.
"""

from __future__ import annotations

import math

_A = 6378137.0  # WGS84 semi-major axis, m
_F = 1 / 298.257223563
_E2 = _F * (2 - _F)


def _ecef(lat_rad: float, lon_rad: float, alt_m: float) -> tuple[float, float, float]:
    s, c = math.sin(lat_rad), math.cos(lat_rad)
    n = _A / math.sqrt(1.0 - _E2 * s * s)
    return ((n + alt_m) * c * math.cos(lon_rad), (n + alt_m) * c * math.sin(lon_rad), (n * (1 - _E2) + alt_m) * s)


class LocalFrame:
    def __init__(self, lat0_deg: float, lon0_deg: float, alt0_m: float) -> None:
        self.lat0_deg = lat0_deg
        self.lon0_deg = lon0_deg
        self.alt0_m = alt0_m
        phi, lam = math.radians(lat0_deg), math.radians(lon0_deg)
        self._sp, self._cp = math.sin(phi), math.cos(phi)
        self._sl, self._cl = math.sin(lam), math.cos(lam)
        self._x0, self._y0, self._z0 = _ecef(phi, lam, alt0_m)

    def geodetic2enu(self, lat_deg: float, lon_deg: float, alt_m: float) -> tuple[float, float, float]:
        x, y, z = _ecef(math.radians(lat_deg), math.radians(lon_deg), self.alt0_m)
        dx, dy, dz = x - self._x0, y - self._y0, z - self._z0
        east = -self._sl * dx + self._cl * dy
        north = -self._sp * self._cl * dx - self._sp * self._sl * dy + self._cp * dz
        return east, north, alt_m - self.alt0_m

    def enu2geodetic(self, east_m: float, north_m: float, up_m: float) -> tuple[float, float, float]:
        sp, cp, sl, cl = self._sp, self._cp, self._sl, self._cl
        x = self._x0 - sl * east_m - sp * cl * north_m
        y = self._y0 + cl * east_m - sp * sl * north_m
        z = self._z0 + cp * north_m
        # ECEF -> latitude: fixed-point iteration, sub-millimetre after three rounds near the ground.
        p = math.hypot(x, y)
        lat = math.atan2(z, p * (1.0 - _E2))
        for _ in range(3):
            s = math.sin(lat)
            n = _A / math.sqrt(1.0 - _E2 * s * s)
            h = p / math.cos(lat) - n
            lat = math.atan2(z, p * (1.0 - _E2 * n / (n + h)))
        return math.degrees(lat), math.degrees(math.atan2(y, x)), self.alt0_m + up_m
