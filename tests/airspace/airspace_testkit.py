"""Builders for zones and routes laid out in metres around a test origin (Jinshan, Shanghai)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from airspace.model import Zone
from airspace.route import Route
from geo import LocalFrame

ORIGIN = LocalFrame(30.7416, 121.3415)
HOME_AMSL_M = 4.0
ROOT_DIR = Path(__file__).resolve().parents[2]
TESTDATA = ROOT_DIR.parent / "shared" / "testdata"


def shared_file(*parts: str) -> Path:
    path = TESTDATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared test data not found: {path}")
    return path


def lonlat(e: float, n: float) -> tuple[float, float]:
    lat, lon = ORIGIN.en2geodetic(e, n)
    return (float(lon), float(lat))


def latlon(e: float, n: float) -> tuple[float, float]:
    lon, lat = lonlat(e, n)
    return (lat, lon)


def square_ring(e0: float, n0: float, e1: float, n1: float) -> list[tuple[float, float]]:
    return [lonlat(e0, n0), lonlat(e1, n0), lonlat(e1, n1), lonlat(e0, n1), lonlat(e0, n0)]


def volume(shape: dict[str, Any], lower: float | None = None, upper: float | None = None, **kw: Any) -> dict[str, Any]:
    return {"shape": shape, "lower": lower, "upper": upper, **kw}


def square(e0: float, n0: float, e1: float, n1: float, holes: list[list[tuple[float, float]]] | None = None):  # type: ignore[no-untyped-def]
    return {"type": "Polygon", "rings": [square_ring(e0, n0, e1, n1), *(holes or [])]}


def circle(e: float, n: float, radius_m: float) -> dict[str, Any]:
    return {"type": "Circle", "center": lonlat(e, n), "radius_m": radius_m}


def zone(zone_id: str, restriction: str, *volumes: dict[str, Any], **kw: Any) -> Zone:
    return Zone.model_validate({"id": zone_id, "name": zone_id, "restriction": restriction, "volumes": volumes, **kw})


def route(*waypoints: tuple[float, float, float], home: tuple[float, float] = (0.0, 0.0)) -> Route:
    """Home at ENU `home` on the ground, then (east, north, alt_rel_m) waypoints as items 0.."""
    return Route.from_waypoints(*latlon(*home), [(*latlon(e, n), alt) for e, n, alt in waypoints])
