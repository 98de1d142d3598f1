"""EUROCAE ED-318 geographical zones: GeoJSON whose geometries carry their vertical limits in
`layer`. The restriction is the `type` property (spelled `REQ_AUTHORIZATION`), normalised to
the ED-269 enum; circles are Points with `extent: {subType: Circle, radius}`; a
GeometryCollection gives several volumes (a wedding cake) to one zone."""

from __future__ import annotations

from typing import Any

from airspace.formats import _common as c
from airspace.model import LengthUnit, Volume, Zone

M = LengthUnit.M  # ED-318 circle radii are metres; `uom` is the layer's


def looks_like_ed318(doc: Any) -> bool:
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        return False
    for f in doc.get("features") or []:
        if not isinstance(f, dict):
            continue
        geometry = f.get("geometry") if isinstance(f.get("geometry"), dict) else {}
        props = f.get("properties") if isinstance(f.get("properties"), dict) else {}
        if "layer" in geometry or ("identifier" in props and "type" in props):
            return True
    return False


def zones_from_ed318(doc: dict[str, Any], source: str = "ED-318 file") -> list[Zone]:
    return c.zones_from_items(doc.get("features"), source, zone_from_ed318)


def zone_from_ed318(feature: dict[str, Any]) -> Zone:
    props = feature.get("properties")
    if not isinstance(props, dict):
        raise c.FeatureProblem("properties are missing")
    ident = c.identifier(props.get("identifier", feature.get("id")))
    geometry = feature.get("geometry")
    if not isinstance(geometry, dict) or not geometry:
        raise c.FeatureProblem("geometry is missing or empty")
    return Zone(
        id=ident,
        name=c.text_of(props.get("name")) or ident,
        restriction=c.restriction(props.get("type", props.get("restriction"))),
        reasons=c.strings_of(props.get("reason")),
        message=c.text_of(props.get("message")),
        restriction_conditions=c.text_of(props.get("restrictionConditions")),
        country=c.text_of(props.get("country")),
        authority=c.authorities(props.get("zoneAuthority")),
        volumes=_volumes(geometry, geometry.get("layer"), "geometry"),
        applicability=c.applicability(props.get("limitedApplicability")),
    )


def _volumes(geometry: dict[str, Any], inherited_layer: Any, what: str) -> list[Volume]:
    layer = geometry.get("layer", inherited_layer)
    if geometry.get("type") == "GeometryCollection":
        parts = geometry.get("geometries")
        if not isinstance(parts, list) or not parts:
            raise c.FeatureProblem(f"{what} GeometryCollection is empty")
        return [v for i, g in enumerate(parts) for v in _volumes(_dict(g, what), layer, f"{what} part {i}")]
    if not isinstance(layer, dict):
        raise c.FeatureProblem(f"{what} has no vertical layer")
    unit = c.length_unit(layer.get("uom"))
    lower = c.number_or_none(layer.get("lower"), f"{what} layer lower")
    upper = c.number_or_none(layer.get("upper"), f"{what} layer upper")
    lower_ref = c.vertical_reference(layer.get("lowerReference"), f"{what} layer lowerReference")
    upper_ref = c.vertical_reference(layer.get("upperReference"), f"{what} layer upperReference")
    c.check_band(lower, lower_ref, upper, upper_ref)
    if geometry.get("type") == "Point":
        extent = geometry.get("extent")
        if not isinstance(extent, dict) or str(extent.get("subType", "")).lower() != "circle":
            raise c.FeatureProblem(f"{what} is a Point without a circle extent")
        shapes: list[Any] = [c.circle_shape(geometry.get("coordinates"), extent.get("radius"), M, f"{what} circle")]
    else:
        shapes = c.geojson_shapes(geometry, what)
    return [
        Volume(shape=s, lower=lower, lower_reference=lower_ref, upper=upper, upper_reference=upper_ref, unit=unit)
        for s in shapes
    ]


def _dict(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise c.FeatureProblem(f"{what} part is not an object")
    return value
