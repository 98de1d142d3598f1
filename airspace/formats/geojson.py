"""Plain GeoJSON zones: SkyPatrol's own exchange format, and what `airspace export` writes.

A FeatureCollection; each Feature is one volume of a zone. Properties:

| property | meaning |
|---|---|
| `id` (or the Feature's `id`) | zone identifier (required); features sharing it are one zone |
| `name` | display name |
| `restriction` | `PROHIBITED`, `REQ_AUTHORISATION`, `CONDITIONAL` or `NO_RESTRICTION` (required) |
| `reasons`, `message`, `restriction_conditions`, `country` | information |
| `authority` | a name, or a list of objects (`name`, `service`, `email`, `phone`, `site_url`, ...) |
| `lower`, `upper` | vertical limits (null: ground / unlimited) |
| `lower_reference`, `upper_reference` | `AGL` (default), `AMSL` or `WGS84` |
| `unit` | `M` (default) or `FT` |
| `radius_m` | with a Point geometry: a circle of that radius |
| `applicability` | list of `{"start", "end", "schedule": [...]}`, UTC ISO 8601; absent: always |

| `volume_applicability` | the same, for this volume only |

A schedule entry is `{"days": ["MON", ...] or ["ANY"], "start_time": "HH:MM", "end_time": "HH:MM"}`.

Geometry: Polygon (holes allowed), MultiPolygon (one volume per polygon) or Point with `radius_m`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from airspace.formats import _common as c
from airspace.model import CircleShape, Volume, Zone


def looks_like_geojson_zones(doc: Any) -> bool:
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        return False
    features = doc.get("features")
    return isinstance(features, list) and any(
        isinstance(f, dict) and isinstance(f.get("properties"), dict) and "restriction" in f["properties"]
        for f in features
    )


def zones_from_geojson(doc: dict[str, Any], source: str = "GeoJSON file") -> list[Zone]:
    return c.zones_from_items(doc.get("features"), source, zone_from_feature)


def zone_from_feature(feature: dict[str, Any]) -> Zone:
    props = feature.get("properties")
    if not isinstance(props, dict):
        raise c.FeatureProblem("properties are missing")
    ident = c.identifier(props.get("id", feature.get("id")))
    geometry = feature.get("geometry")
    if not isinstance(geometry, dict) or not geometry:
        raise c.FeatureProblem("geometry is missing or empty")
    unit = c.length_unit(props.get("unit"))
    lower = c.number_or_none(props.get("lower"), "lower")
    upper = c.number_or_none(props.get("upper"), "upper")
    lower_ref = c.vertical_reference(props.get("lower_reference"), "lower_reference")
    upper_ref = c.vertical_reference(props.get("upper_reference"), "upper_reference")
    c.check_band(lower, lower_ref, upper, upper_ref)
    if geometry.get("type") == "Point":
        shapes: list[Any] = [c.circle_shape(geometry.get("coordinates"), props.get("radius_m"), c.LengthUnit.M)]
    else:
        shapes = c.geojson_shapes(geometry)
    volume_periods = c.applicability(props["volume_applicability"]) if "volume_applicability" in props else None
    volumes = [
        Volume(
            shape=s,
            lower=lower,
            lower_reference=lower_ref,
            upper=upper,
            upper_reference=upper_ref,
            unit=unit,
            applicability=volume_periods,
        )
        for s in shapes
    ]
    return Zone(
        id=ident,
        name=c.text_of(props.get("name")) or ident,
        restriction=c.restriction(props.get("restriction")),
        reasons=c.strings_of(props.get("reasons")),
        message=c.text_of(props.get("message")),
        restriction_conditions=c.text_of(props.get("restriction_conditions")),
        country=c.text_of(props.get("country")),
        authority=c.authorities(props.get("authority")),
        volumes=volumes,
        applicability=c.applicability(props.get("applicability")),
    )


def zones_to_geojson(zones: Iterable[Zone]) -> dict[str, Any]:
    """One Feature per volume, zone fields repeated; reads back with `zones_from_geojson`."""
    features = []
    for zone in zones:
        base = zone.model_dump(mode="json", exclude={"volumes", "id"})
        for volume in zone.volumes:
            props: dict[str, Any] = {"id": zone.id, **base}
            props.update(volume.model_dump(mode="json", exclude={"shape", "applicability"}))
            if volume.applicability is not None:
                props["volume_applicability"] = [a.model_dump(mode="json") for a in volume.applicability]
            shape = volume.shape
            if isinstance(shape, CircleShape):
                geometry: dict[str, Any] = {"type": "Point", "coordinates": list(shape.center)}
                props["radius_m"] = shape.radius_m
            else:
                geometry = {"type": "Polygon", "coordinates": [[list(p) for p in r] for r in shape.rings]}
            features.append({"type": "Feature", "id": zone.id, "geometry": geometry, "properties": props})
    return {"type": "FeatureCollection", "features": features}
