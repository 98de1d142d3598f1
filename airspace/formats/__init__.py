"""Zone files in and out: ED-269 JSON, ED-318 GeoJSON, SkyPatrol's plain GeoJSON.

`load_zones` recognises the format from the content. A file imports whole or not at all: any
unsound feature makes it raise `core.errors.BadInput` naming the feature and the problem.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from airspace.formats.ed269 import looks_like_ed269, zones_from_ed269
from airspace.formats.ed318 import looks_like_ed318, zones_from_ed318
from airspace.formats.geojson import looks_like_geojson_zones, zones_from_geojson, zones_to_geojson
from airspace.model import Zone
from core.errors import BadInput

__all__ = [
    "load_zones",
    "parse_zones",
    "read_zone_file",
    "zones_from_ed269",
    "zones_from_ed318",
    "zones_from_geojson",
    "zones_to_geojson",
]


def read_zone_file(path: str | Path) -> list[Zone]:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise BadInput(f"{p}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(f"{p}: cannot be read ({exc.__class__.__name__})") from None
    return load_zones(text, source=str(p))


def load_zones(text: str | bytes, source: str = "zone file") -> list[Zone]:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadInput(f"{source}: not JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    return parse_zones(doc, source)


def parse_zones(doc: Any, source: str = "zone document") -> list[Zone]:
    if looks_like_ed269(doc):
        return zones_from_ed269(doc, source)
    if looks_like_ed318(doc):
        return zones_from_ed318(doc, source)
    if looks_like_geojson_zones(doc):
        return zones_from_geojson(doc, source)
    raise BadInput(
        f"{source}: not a zone file (expected ED-269 with UASZoneList or features, ED-318 GeoJSON "
        "with geometry layers, or GeoJSON features with a `restriction` property)"
    )
