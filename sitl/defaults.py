"""Defaults of the simulated fleet. The site bundle (sites/jinshan) will supply docks later;
until then every default home derives from DEFAULT_HOME."""

from __future__ import annotations

import math

# Jinshan District, Shanghai: latitude, longitude (deg), ground altitude AMSL (m).
DEFAULT_HOME: tuple[float, float, float] = (30.7410, 121.3420, 4.0)
DEFAULT_BASE_PORT = 14540
DEFAULT_HOME_SPACING_M = 5.0  # vehicles stand this far apart, in rows of DEFAULT_HOMES_PER_ROW
DEFAULT_HOMES_PER_ROW = 10


def offset_home(home: tuple[float, float, float], east_m: float, north_m: float) -> tuple[float, float, float]:
    lat, lon, alt = home
    return (
        lat + math.degrees(north_m / 6378137.0),
        lon + math.degrees(east_m / (6378137.0 * math.cos(math.radians(lat)))),
        alt,
    )


def default_homes(count: int, origin: tuple[float, float, float] = DEFAULT_HOME) -> list[tuple[float, float, float]]:
    """`count` homes a few metres apart, row by row east then north of `origin`."""
    return [
        offset_home(
            origin,
            (i % DEFAULT_HOMES_PER_ROW) * DEFAULT_HOME_SPACING_M,
            (i // DEFAULT_HOMES_PER_ROW) * DEFAULT_HOME_SPACING_M,
        )
        for i in range(count)
    ]
