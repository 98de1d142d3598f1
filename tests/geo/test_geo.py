"""geo cross-checked against independent implementations: a spherical haversine written here
and, where installed, PROJ's geodesic and ECEF transforms (pyproj)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely

import geo

JINSHAN = (30.7416, 121.3415)


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    r = 6_371_008.8
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(a))


def spherical_bearing_deg(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2, dl = math.radians(lat1), math.radians(lat2), math.radians(lon2 - lon1)
    y = math.sin(dl) * math.cos(p2)
    x = math.cos(p1) * math.sin(p2) - math.sin(p1) * math.cos(p2) * math.cos(dl)
    return math.degrees(math.atan2(y, x)) % 360


@pytest.mark.parametrize(
    ("lat2", "lon2"),
    [(30.75, 121.35), (30.5, 121.9), (31.23, 121.47), (39.9, 116.4), (-33.9, 151.2)],
)
def test_distance_and_bearing_agree_with_haversine(lat2: float, lon2: float) -> None:
    d = float(geo.distance_m(*JINSHAN, lat2, lon2))
    h = haversine_m(*JINSHAN, lat2, lon2)
    assert d == pytest.approx(h, rel=0.006)  # ellipsoid vs sphere differ by < 0.6 %
    b = float(geo.bearing_deg(*JINSHAN, lat2, lon2))
    sb = spherical_bearing_deg(*JINSHAN, lat2, lon2)
    assert abs((b - sb + 180) % 360 - 180) < 0.5


def test_distance_and_bearing_agree_with_proj_geodesic() -> None:
    pyproj = pytest.importorskip("pyproj", reason="pyproj (independent geodesic) not installed")
    g = pyproj.Geod(ellps="WGS84")
    rng = np.random.default_rng(1)
    lat2 = JINSHAN[0] + rng.uniform(-2, 2, 50)
    lon2 = JINSHAN[1] + rng.uniform(-2, 2, 50)
    lat1 = np.full(50, JINSHAN[0])
    lon1 = np.full(50, JINSHAN[1])
    az, _, dist = g.inv(lon1, lat1, lon2, lat2)
    np.testing.assert_allclose(geo.distance_m(lat1, lon1, lat2, lon2), dist, rtol=0, atol=0.01)
    np.testing.assert_allclose(geo.bearing_deg(lat1, lon1, lat2, lon2), np.mod(az, 360), atol=1e-6)


def test_destination_inverts_distance_and_bearing() -> None:
    lat, lon = geo.destination_geodetic(*JINSHAN, 2500.0, 63.0)
    assert float(geo.distance_m(*JINSHAN, lat, lon)) == pytest.approx(2500.0, abs=1e-3)
    assert float(geo.bearing_deg(*JINSHAN, lat, lon)) == pytest.approx(63.0, abs=1e-6)


def test_enu_agrees_with_proj_ecef() -> None:
    pyproj = pytest.importorskip("pyproj", reason="pyproj (independent ECEF transform) not installed")
    to_ecef = pyproj.Transformer.from_crs("EPSG:4979", "EPSG:4978", always_xy=True)
    lat0, lon0, h0 = 30.7416, 121.3415, 4.0
    lat = np.array([30.75, 30.70, 30.8])
    lon = np.array([121.35, 121.30, 121.2])
    h = np.array([100.0, 0.0, 50.0])
    x, y, z = to_ecef.transform(lon, lat, h)
    x0, y0, z0 = to_ecef.transform(lon0, lat0, h0)
    p, l0 = math.radians(lat0), math.radians(lon0)
    d = np.vstack([x - x0, y - y0, z - z0])
    rot = np.array(
        [
            [-math.sin(l0), math.cos(l0), 0],
            [-math.sin(p) * math.cos(l0), -math.sin(p) * math.sin(l0), math.cos(p)],
            [math.cos(p) * math.cos(l0), math.cos(p) * math.sin(l0), math.sin(p)],
        ]
    )
    expected = rot @ d
    e, n, u = geo.geodetic2enu(lat, lon, h, lat0, lon0, h0)
    np.testing.assert_allclose(np.vstack([e, n, u]), expected, atol=1e-3)


def test_enu_round_trip_vectorised() -> None:
    rng = np.random.default_rng(2)
    lat = 30.7 + rng.uniform(-0.3, 0.3, 1000)
    lon = 121.3 + rng.uniform(-0.3, 0.3, 1000)
    alt = rng.uniform(0, 500, 1000)
    e, n, u = geo.geodetic2enu(lat, lon, alt, *JINSHAN, 0.0)
    assert e.shape == (1000,)
    lat2, lon2, alt2 = geo.enu2geodetic(e, n, u, *JINSHAN, 0.0)
    np.testing.assert_allclose(lat2, lat, atol=1e-9)
    np.testing.assert_allclose(lon2, lon, atol=1e-9)
    np.testing.assert_allclose(alt2, alt, atol=1e-6)


def test_local_frame_horizontal_round_trip_and_distance() -> None:
    frame = geo.LocalFrame(*JINSHAN)
    lat, lon = geo.destination_geodetic(*JINSHAN, np.array([1000.0, 20000.0]), np.array([0.0, 90.0]))
    e, n = frame.geodetic2en(lat, lon)
    # East/north distances match the geodesic to well under a metre at city scale.
    assert math.hypot(e[0], n[0]) == pytest.approx(1000.0, abs=0.05)
    assert math.hypot(e[1], n[1]) == pytest.approx(20000.0, abs=0.5)
    lat2, lon2 = frame.en2geodetic(e, n)
    np.testing.assert_allclose(lat2, lat, atol=1e-9)
    np.testing.assert_allclose(lon2, lon, atol=1e-9)


def test_polygon_conversion_round_trip_keeps_holes() -> None:
    frame = geo.LocalFrame(*JINSHAN)
    shell = [(121.33, 30.73), (121.35, 30.73), (121.35, 30.75), (121.33, 30.75)]
    hole = [(121.335, 30.735), (121.345, 30.735), (121.345, 30.745), (121.335, 30.745)]
    poly = shapely.Polygon(shell, [hole])
    enu = geo.polygon_geodetic2enu(poly, frame)
    assert len(enu.interiors) == 1
    # ~1.92 km x 2.22 km minus ~0.96 km x 1.11 km
    assert enu.area == pytest.approx(1914.7 * 2217.3 - 957.3 * 1108.7, rel=0.01)
    back = geo.polygon_enu2geodetic(enu, frame)
    np.testing.assert_allclose(shapely.get_coordinates(back), shapely.get_coordinates(poly), atol=1e-9)


def test_circle_enu_contains_the_true_circle() -> None:
    c = geo.circle_enu(10.0, -5.0, 300.0)
    angles = np.linspace(0, 2 * np.pi, 721)
    pts = shapely.points(10 + 300 * np.cos(angles), -5 + 300 * np.sin(angles))
    assert shapely.covers(c, pts).all()
    assert c.area == pytest.approx(math.pi * 300**2, rel=0.001)
