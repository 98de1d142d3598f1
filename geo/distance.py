"""Distances and bearings on the WGS84 ellipsoid (Vincenty, via pymap3d)."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from pymap3d import vincenty

from geo.enu import FloatArray


def distance_m(
    lat1_deg: ArrayLike, lon1_deg: ArrayLike, lat2_deg: ArrayLike, lon2_deg: ArrayLike
) -> FloatArray:
    """Geodesic distance in metres between two points (or arrays of points)."""
    dist, _ = vincenty.vdist(*_as_arrays(lat1_deg, lon1_deg, lat2_deg, lon2_deg))
    return np.asarray(dist, dtype=float)


def bearing_deg(
    lat1_deg: ArrayLike, lon1_deg: ArrayLike, lat2_deg: ArrayLike, lon2_deg: ArrayLike
) -> FloatArray:
    """Initial bearing from point 1 to point 2, degrees clockwise from true north in [0, 360)."""
    _, az = vincenty.vdist(*_as_arrays(lat1_deg, lon1_deg, lat2_deg, lon2_deg))
    return np.mod(np.asarray(az, dtype=float), 360.0)


def destination_geodetic(
    lat_deg: ArrayLike, lon_deg: ArrayLike, distance_m: ArrayLike, bearing_deg: ArrayLike
) -> tuple[FloatArray, FloatArray]:
    """The point reached after `distance_m` along the geodesic leaving at `bearing_deg`."""
    lat, lon = vincenty.vreckon(
        np.asarray(lat_deg, dtype=float),
        np.asarray(lon_deg, dtype=float),
        np.asarray(distance_m, dtype=float),
        np.asarray(bearing_deg, dtype=float),
    )
    return np.asarray(lat, dtype=float), np.asarray(lon, dtype=float)


def _as_arrays(*values: ArrayLike) -> tuple[FloatArray, ...]:
    return tuple(np.asarray(v, dtype=float) for v in values)
