"""The register of permitted road works: a GeoJSON FeatureCollection of (Multi)Polygons.

Feature properties: `permit_id` (or `id`), optional `valid_from` / `valid_until` (ISO 8601 with a
zone). A site counts as permitted when a permit valid at the time covers at least half of it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from core.errors import BadInput
from geo import LocalFrame, geometry_geodetic2enu


def read_feature_collection(source: str | Path | dict[str, Any], what: str) -> dict[str, Any]:
    if isinstance(source, dict):
        data = source
        where = what
    else:
        where = str(source)
        try:
            data = json.loads(Path(source).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise BadInput(f"{where}: {what} file not found") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise BadInput(f"{where}: not GeoJSON ({exc})") from None
    if (not isinstance(data, dict) or data.get("type") != "FeatureCollection"
            or not isinstance(data.get("features"), list)):
        raise BadInput(f"{where}: {what} must be a GeoJSON FeatureCollection")
    return data


def _time(v: Any, where: str) -> float | None:
    if v is None:
        return None
    try:
        dt = datetime.fromisoformat(str(v).replace("Z", "+00:00"))
    except ValueError:
        raise BadInput(f"{where}: {v!r} is not an ISO 8601 time") from None
    if dt.tzinfo is None:
        raise BadInput(f"{where}: {v!r} has no time zone")
    return dt.timestamp()


@dataclass(frozen=True, slots=True)
class Permit:
    permit_id: str
    area_enu: BaseGeometry
    valid_from: float | None
    valid_until: float | None

    def valid_at(self, t: float) -> bool:
        return (self.valid_from is None or t >= self.valid_from) and (self.valid_until is None or t <= self.valid_until)


class PermitRegister:
    def __init__(self, permits: list[Permit]) -> None:
        self.permits = permits

    @classmethod
    def from_geojson(cls, source: str | Path | dict[str, Any], frame: LocalFrame) -> PermitRegister:
        data = read_feature_collection(source, "permit register")
        permits = []
        for i, f in enumerate(data["features"]):
            where = f"permit register feature {i}"
            try:
                geom = shape(f["geometry"])
            except (KeyError, TypeError, ValueError, AttributeError, shapely.errors.GEOSException) as exc:
                raise BadInput(f"{where}: bad geometry ({exc})") from None
            if geom.geom_type not in ("Polygon", "MultiPolygon") or not geom.is_valid:
                raise BadInput(f"{where}: a permit area is a valid Polygon or MultiPolygon")
            props = f.get("properties") or {}
            pid = str(props.get("permit_id", props.get("id", f"permit-{i + 1}")))
            permits.append(Permit(pid, geometry_geodetic2enu(geom, frame), _time(props.get("valid_from"), where),
                                  _time(props.get("valid_until"), where)))
        return cls(permits)

    def covering_permit(self, site_enu: BaseGeometry, t: float, min_cover: float = 0.5) -> str | None:
        area = site_enu.area
        for p in self.permits:
            if not p.valid_at(t) or not p.area_enu.intersects(site_enu):
                continue
            if area <= 0 or p.area_enu.intersection(site_enu).area / area >= min_cover:
                return p.permit_id
        return None
