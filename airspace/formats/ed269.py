"""EUROCAE ED-269 UAS geographical zones (JSON).

Publishers put the zones under `UASZoneList` or under `features` (each entry a zone object, not
a GeoJSON Feature); schedules come as `schedule` or `dailyPeriod`; limits may be numbers,
strings or null; many fields are sometimes a string and sometimes a list.
"""

from __future__ import annotations

from typing import Any

from airspace.formats import _common as c
from airspace.model import Volume, Zone


def looks_like_ed269(doc: Any) -> bool:
    if not isinstance(doc, dict):
        return False
    if isinstance(doc.get("UASZoneList"), list):
        return True
    features = doc.get("features")
    if not isinstance(features, list) or not features or doc.get("type") == "FeatureCollection":
        return False
    first = features[0]
    return isinstance(first, dict) and first.get("type") != "Feature" and "geometry" in first


def zones_from_ed269(doc: dict[str, Any], source: str = "ED-269 file") -> list[Zone]:
    return c.zones_from_items(doc.get("UASZoneList", doc.get("features")), source, zone_from_ed269,
                              missing="no zones under UASZoneList or features")


def zone_from_ed269(raw: dict[str, Any]) -> Zone:
    ident = c.identifier(raw.get("identifier", raw.get("id")))
    # Some publishers put the restriction in `type` (as ED-318 does) and the variant nowhere.
    restriction_value = raw.get("restriction")
    if restriction_value is None and str(raw.get("type", "")).upper() not in ("COMMON", "CUSTOMIZED", ""):
        restriction_value = raw.get("type")
    geometries = c.as_list(raw.get("geometry"))
    if not geometries:
        raise c.FeatureProblem("geometry is missing or empty")
    volumes = [v for i, g in enumerate(geometries) for v in _volumes(g, f"geometry {i}")]
    return Zone(
        id=ident,
        name=c.text_of(raw.get("name")) or ident,
        restriction=c.restriction(restriction_value),
        reasons=c.strings_of(raw.get("reason")),
        message=c.text_of(raw.get("message")),
        restriction_conditions=c.text_of(raw.get("restrictionConditions")),
        country=c.text_of(raw.get("country")),
        authority=c.authorities(raw.get("zoneAuthority")),
        volumes=volumes,
        applicability=c.applicability(raw.get("applicability")),
    )


def _volumes(g: Any, what: str) -> list[Volume]:
    if not isinstance(g, dict):
        raise c.FeatureProblem(f"{what} is not an object")
    unit = c.length_unit(g.get("uomDimensions"))
    lower = c.number_or_none(g.get("lowerLimit"), f"{what} lower limit")
    upper = c.number_or_none(g.get("upperLimit"), f"{what} upper limit")
    lower_ref = c.vertical_reference(g.get("lowerVerticalReference"), f"{what} lower reference")
    upper_ref = c.vertical_reference(g.get("upperVerticalReference"), f"{what} upper reference")
    c.check_band(lower, lower_ref, upper, upper_ref)
    projection = g.get("horizontalProjection")
    if not isinstance(projection, dict) or not projection:
        raise c.FeatureProblem(f"{what} has no horizontalProjection")
    if str(projection.get("type", "")).lower() == "circle":
        shapes: list[Any] = [c.circle_shape(projection.get("center"), projection.get("radius"), unit, f"{what} circle")]
    else:
        shapes = c.geojson_shapes(projection, f"{what} horizontalProjection")
    return [
        Volume(shape=s, lower=lower, lower_reference=lower_ref, upper=upper, upper_reference=upper_ref, unit=unit)
        for s in shapes
    ]
