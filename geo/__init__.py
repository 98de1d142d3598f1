"""The one geodesy module everything shares: WGS84 <-> local ENU, shapely conversions, distances.

Names follow pymap3d (`source2target`), units are in the names, and every function accepts numpy
arrays as well as scalars. Metric work happens in a local East-North-Up frame around an origin.
"""

from geo.distance import bearing_deg, destination_geodetic, distance_m
from geo.enu import LocalFrame, enu2geodetic, geodetic2enu
from geo.shapes import (
    circle_enu,
    geometry_enu2geodetic,
    geometry_geodetic2enu,
    linestring_geodetic2enu,
    polygon_enu2geodetic,
    polygon_geodetic2enu,
)

__all__ = [
    "LocalFrame",
    "bearing_deg",
    "circle_enu",
    "destination_geodetic",
    "distance_m",
    "enu2geodetic",
    "geodetic2enu",
    "geometry_enu2geodetic",
    "geometry_geodetic2enu",
    "linestring_geodetic2enu",
    "polygon_enu2geodetic",
    "polygon_geodetic2enu",
]
