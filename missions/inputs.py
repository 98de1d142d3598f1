"""Inputs: survey areas (polygons with holes), corridor lines and inspection points from GeoJSON,
KML (QGroundControl's polygon KML included) or API payloads, always as (lon, lat) geometries."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import numpy as np
import shapely
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from shapely.geometry import LineString, MultiPolygon, Point, Polygon, shape
from shapely.geometry.base import BaseGeometry
from shapely.ops import linemerge, unary_union

from core.errors import BadInput
from missions.formats.geojson import features_of, load_geojson
from missions.formats.kml import parse_kml


class InspectionPoint(BaseModel):
    """A place to look at: hover, orbit or take a photo, with the gimbal set for it."""

    model_config = ConfigDict(allow_inf_nan=False)

    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    alt_m: float = Field(30.0, gt=0, le=10000)  # flying height above home
    action: Literal["hover", "orbit", "photo"] = "photo"
    name: str = ""
    hover_s: float = Field(5.0, ge=0, le=3600)
    radius_m: float = Field(15.0, gt=0, le=1000)
    turns: float = Field(1.0, gt=0, le=100)
    clockwise: bool = True
    gimbal_pitch_deg: float = Field(-45.0, ge=-90, le=30)
    yaw_deg: float | None = None  # heading to face; None leaves it to the vehicle


def _geometries(path: str | Path) -> tuple[list[tuple[BaseGeometry, dict[str, Any]]], str]:
    suffix = Path(path).suffix.lower()
    if suffix == ".kml":
        marks, source = parse_kml(Path(path))
        return [(g, {"name": pm.name, **pm.data}) for pm in marks for g in pm.geometries], source
    if suffix in (".geojson", ".json"):
        doc, source = load_geojson(Path(path))
        out = []
        for k, f in enumerate(features_of(doc, source)):
            if f.get("geometry") is None:
                continue
            try:
                g = shape(f["geometry"])
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                raise BadInput(f"{source}: feature {k + 1}: bad geometry ({exc})") from None
            out.append((g, f.get("properties") or {}))
        return out, source
    raise BadInput(f"{path}: unknown input format {suffix!r} (use .geojson or .kml)")


def check_lonlat(g: BaseGeometry, source: str) -> None:
    """Coordinates must be finite longitudes/latitudes (GeoJSON order)."""
    if g.is_empty:
        raise BadInput(f"{source}: empty geometry")
    xy = shapely.get_coordinates(g)
    if not np.all(np.isfinite(xy)) or np.any(np.abs(xy[:, 0]) > 180) or np.any(np.abs(xy[:, 1]) > 90):
        raise BadInput(f"{source}: coordinates must be longitude, latitude in degrees")


def _flat2d(g: BaseGeometry) -> BaseGeometry:
    from shapely import force_2d

    return force_2d(g)


def area_from_geometries(geoms: list[BaseGeometry], source: str) -> Polygon | MultiPolygon:
    polys = []
    for g in geoms:
        g = _flat2d(g)
        if isinstance(g, Polygon):
            polys.append(g)
        elif isinstance(g, MultiPolygon):
            polys.extend(g.geoms)
    if not polys:
        raise BadInput(f"{source}: no polygon to survey")
    for k, p in enumerate(polys, start=1):
        check_lonlat(p, f"{source}: polygon {k}")
        if not p.is_valid:
            from shapely.validation import explain_validity

            raise BadInput(f"{source}: polygon {k} is not valid ({explain_validity(p)})")
        if p.area == 0:
            raise BadInput(f"{source}: polygon {k} has no area")
    return polys[0] if len(polys) == 1 else unary_union(polys)  # type: ignore[return-value]


def read_area(path: str | Path) -> Polygon | MultiPolygon:
    geoms, source = _geometries(path)
    return area_from_geometries([g for g, _ in geoms], source)


def read_line(path: str | Path) -> LineString:
    geoms, source = _geometries(path)
    lines = [_flat2d(g) for g, _ in geoms if isinstance(g, LineString)]
    if not lines:
        raise BadInput(f"{source}: no LineString (road centre line) found")
    for line in lines:
        check_lonlat(line, source)
    if len(lines) == 1:
        return lines[0]
    merged = linemerge(lines)
    if not isinstance(merged, LineString):
        raise BadInput(f"{source}: the {len(lines)} lines do not join into one road centre line")
    return merged


def points_from_dicts(rows: list[dict[str, Any]], source: str) -> list[InspectionPoint]:
    out = []
    for k, row in enumerate(rows, start=1):
        try:
            out.append(InspectionPoint.model_validate(row))
        except ValidationError as exc:
            e = exc.errors()[0]
            raise BadInput(f"{source}: point {k}: {'.'.join(map(str, e['loc']))}: {e['msg']}") from None
    if not out:
        raise BadInput(f"{source}: no inspection points")
    return out


def read_points(path: str | Path) -> list[InspectionPoint]:
    """Point features; properties name the action (`action`, `alt_m`, `hover_s`, `radius_m`,
    `turns`, `clockwise`, `gimbal_pitch_deg`, `yaw_deg`, `name`)."""
    geoms, source = _geometries(path)
    rows = []
    for g, props in geoms:
        if isinstance(g, Point):
            row = {k: v for k, v in props.items() if k in InspectionPoint.model_fields and v not in ("", None)}
            if g.has_z and "alt_m" not in row and g.z > 0:
                row["alt_m"] = g.z
            rows.append({**row, "lat": g.y, "lon": g.x})
    return points_from_dicts(rows, source)
