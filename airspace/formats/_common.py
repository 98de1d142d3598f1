"""What every zone importer shares: tolerant field readers and geometry checks that say which
feature is wrong and why. Readers raise `FeatureProblem`; the format modules add the feature."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, time
from typing import Any

import shapely

from airspace.model import (
    Applicability,
    CircleShape,
    DailyPeriod,
    LengthUnit,
    PolygonShape,
    Restriction,
    VerticalReference,
    Weekday,
    Zone,
    ZoneAuthority,
)
from core.errors import BadInput

PREFERRED_LANGS = ("zh", "en")


class FeatureProblem(ValueError):
    """One thing wrong with one feature; the importer adds which feature."""


class ImportReport:
    """Collects the problems of a whole file: a file imports whole or not at all."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[str] = []

    def add(self, feature: str, problem: str) -> None:
        self.problems.append(f"{feature}: {problem}")

    def raise_if_any(self) -> None:
        if not self.problems:
            return
        more = f" (and {len(self.problems) - 1} more problems)" if len(self.problems) > 1 else ""
        raise BadInput(f"{self.source}: {self.problems[0]}{more}", details={"problems": self.problems})


def feature_label(index: int, raw: Any) -> str:
    ident = None
    if isinstance(raw, dict):
        props = raw.get("properties") if isinstance(raw.get("properties"), dict) else raw
        ident = props.get("identifier") or props.get("id") or raw.get("id")
    return f"feature {index}" + (f" ({ident!r})" if isinstance(ident, str | int) else "")


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def text_of(value: Any) -> str | None:
    """A plain string, or the preferred language from ED-318's [{"text", "lang"}] lists."""
    if value is None or isinstance(value, str):
        return value or None
    items = [v for v in as_list(value) if v is not None]
    if all(isinstance(v, str) for v in items):
        return "; ".join(items) or None
    texts = [(str(v.get("lang") or ""), v.get("text")) for v in items if isinstance(v, dict)]
    texts = [(lang, t) for lang, t in texts if isinstance(t, str) and t]
    for pref in PREFERRED_LANGS:
        for lang, t in texts:
            if lang.lower().startswith(pref):
                return t
    return texts[0][1] if texts else None


def strings_of(value: Any) -> list[str]:
    return [str(v) for v in as_list(value) if v not in (None, "")]


def number_or_none(value: Any, what: str) -> float | None:
    if value is None or (isinstance(value, str) and value.strip() == ""):
        return None
    if isinstance(value, bool):
        raise FeatureProblem(f"{what} is not a number: {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise FeatureProblem(f"{what} is not a number: {value!r}") from None
    if not math.isfinite(number):
        raise FeatureProblem(f"{what} is not a finite number: {value!r}")
    return number


_REFERENCES = {
    "AGL": VerticalReference.AGL,
    "SFC": VerticalReference.AGL,
    "GND": VerticalReference.AGL,
    "AMSL": VerticalReference.AMSL,
    "MSL": VerticalReference.AMSL,
    "WGS84": VerticalReference.WGS84,
    "W84": VerticalReference.WGS84,
}


def vertical_reference(value: Any, what: str) -> VerticalReference:
    if value is None or value == "":
        return VerticalReference.AGL
    ref = _REFERENCES.get(str(value).strip().upper())
    if ref is None:
        raise FeatureProblem(f"{what} {value!r} is not AGL, AMSL or WGS84")
    return ref


def length_unit(value: Any) -> LengthUnit:
    if value is None or value == "":
        return LengthUnit.M
    unit = str(value).strip().upper()
    if unit in ("M", "METRE", "METRES", "METER", "METERS"):
        return LengthUnit.M
    if unit in ("FT", "FEET", "FOOT"):
        return LengthUnit.FT
    raise FeatureProblem(f"unit {value!r} is not M or FT")


_RESTRICTIONS = {
    "PROHIBITED": Restriction.PROHIBITED,
    "REQ_AUTHORISATION": Restriction.REQ_AUTHORISATION,
    "REQ_AUTHORIZATION": Restriction.REQ_AUTHORISATION,
    # ED-318: U-space airspace needs U-space services, i.e. an authorisation to enter.
    "USPACE": Restriction.REQ_AUTHORISATION,
    "CONDITIONAL": Restriction.CONDITIONAL,
    "NO_RESTRICTION": Restriction.NO_RESTRICTION,
}


def restriction(value: Any) -> Restriction:
    if value is None or value == "":
        raise FeatureProblem("restriction is missing")
    found = _RESTRICTIONS.get(str(value).strip().upper())
    if found is None:
        raise FeatureProblem(f"restriction {value!r} is not one of {', '.join(sorted(_RESTRICTIONS))}")
    return found


def identifier(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int) or str(value).strip() == "":
        raise FeatureProblem("identifier is missing")
    return str(value).strip()


# ---------------------------------------------------------------------------------------------
# Geometry


def lonlat(value: Any, what: str) -> tuple[float, float]:
    if not isinstance(value, list | tuple) or len(value) < 2:
        raise FeatureProblem(f"{what} is not a [longitude, latitude] pair: {value!r}")
    lon = number_or_none(value[0], f"{what} longitude")
    lat = number_or_none(value[1], f"{what} latitude")
    if lon is None or lat is None:
        raise FeatureProblem(f"{what} has an empty coordinate: {value!r}")
    if not -180.0 <= lon <= 180.0 or not -90.0 <= lat <= 90.0:
        raise FeatureProblem(f"{what} is out of range (longitude, latitude): ({lon}, {lat})")
    return (lon, lat)


def clean_ring(coords: Any, what: str) -> list[tuple[float, float]]:
    """Drop repeated vertices and close the ring; refuse rings with fewer than three corners."""
    if not isinstance(coords, list) or not coords:
        raise FeatureProblem(f"{what} is empty")
    ring: list[tuple[float, float]] = []
    for i, c in enumerate(coords):
        p = lonlat(c, f"{what} vertex {i}")
        if not ring or p != ring[-1]:
            ring.append(p)
    if len(ring) > 1 and ring[0] == ring[-1]:
        ring.pop()
    if len(ring) < 3:
        raise FeatureProblem(f"{what} has fewer than 3 distinct vertices")
    return [*ring, ring[0]]


def polygon_shape(rings: Any, what: str = "polygon") -> PolygonShape:
    if not isinstance(rings, list) or not rings:
        raise FeatureProblem(f"{what} has no coordinates")
    cleaned = [clean_ring(r, f"{what} ring {i}") for i, r in enumerate(rings)]
    poly = shapely.Polygon(cleaned[0], cleaned[1:])
    if not poly.is_valid:
        # Self-crossing rings and holes outside their shell have no single obvious repair.
        raise FeatureProblem(f"{what} is invalid and cannot be repaired unambiguously: {shapely.is_valid_reason(poly)}")
    if poly.area == 0:
        raise FeatureProblem(f"{what} has no area")
    return PolygonShape(rings=cleaned)


def circle_shape(center: Any, radius: Any, unit: LengthUnit, what: str = "circle") -> CircleShape:
    c = lonlat(center, f"{what} centre")
    r = number_or_none(radius, f"{what} radius")
    if r is None or r <= 0:
        raise FeatureProblem(f"{what} radius must be a positive number, got {radius!r}")
    return CircleShape(center=c, radius_m=r * 0.3048 if unit is LengthUnit.FT else r)


def geojson_shapes(geometry: Any, what: str = "geometry") -> list[PolygonShape]:
    """Polygon or MultiPolygon GeoJSON geometry -> shapes (one per polygon)."""
    kind = geometry.get("type")
    coords = geometry.get("coordinates")
    if kind == "Polygon":
        return [polygon_shape(coords, what)]
    if kind == "MultiPolygon":
        if not isinstance(coords, list) or not coords:
            raise FeatureProblem(f"{what} MultiPolygon has no polygons")
        return [polygon_shape(p, f"{what} polygon {i}") for i, p in enumerate(coords)]
    raise FeatureProblem(f"{what} type {kind!r} is not a zone shape (Polygon, MultiPolygon, circle)")


def check_band(
    lower_m: float | None, lower_ref: VerticalReference, upper_m: float | None, upper_ref: VerticalReference
) -> None:
    if lower_m is not None and upper_m is not None and lower_ref == upper_ref and lower_m > upper_m:
        raise FeatureProblem(f"lower limit {lower_m:g} is above upper limit {upper_m:g}")


# ---------------------------------------------------------------------------------------------
# Time

_DAYS = {d.value: d for d in Weekday}


def weekdays(value: Any) -> list[Weekday]:
    days = []
    for d in as_list(value):
        day = _DAYS.get(str(d).strip().upper()[:3]) if d is not None else None
        if day is None:
            raise FeatureProblem(f"day {d!r} is not MON..SUN or ANY")
        days.append(day)
    return days


_TIME = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(?:Z|[+-]00:?00)?$")


def time_of_day(value: Any, what: str) -> time | None:
    """ "HH:MM[:SS][Z]" -> time; "24:00" and missing values -> None (the end of the day)."""
    if value is None or value == "":
        return None
    m = _TIME.match(str(value).strip())
    if not m:
        raise FeatureProblem(f"{what} {value!r} is not a UTC time of day HH:MM[:SS]")
    h, mi, s = int(m[1]), int(m[2]), int(m[3] or 0)
    if (h, mi, s) == (24, 0, 0):
        return None
    if h > 23 or mi > 59 or s > 59:
        raise FeatureProblem(f"{what} {value!r} is not a valid time of day")
    return time(h, mi, s)


def date_time(value: Any, what: str) -> datetime | None:
    if value is None or value == "":
        return None
    try:
        return datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    except ValueError:
        raise FeatureProblem(f"{what} {value!r} is not an ISO 8601 date-time") from None


def yes(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.strip().upper() in ("YES", "TRUE", "Y"))


def daily_periods(raw: Any) -> list[DailyPeriod]:
    periods = []
    for p in as_list(raw):
        if not isinstance(p, dict):
            raise FeatureProblem(f"schedule entry {p!r} is not an object")
        start_key = "startTime" if "startTime" in p else "start_time"
        end_key = "endTime" if "endTime" in p else "end_time"
        days = weekdays(p.get("day", p.get("days")))
        start = time_of_day(p.get(start_key), "start time")
        end = time_of_day(p.get(end_key), "end time")
        if not days and start is None and end is None:
            continue  # an empty placeholder, as some publishers write for permanent zones
        periods.append(DailyPeriod(days=days, start_time=start, end_time=end))
    return periods


def applicability(raw: Any) -> list[Applicability]:
    """ED-269 `applicability` / ED-318 `limitedApplicability` / ours; object or list."""
    out = []
    for a in as_list(raw):
        if not isinstance(a, dict):
            raise FeatureProblem(f"applicability {a!r} is not an object")
        permanent = yes(a.get("permanent")) if "permanent" in a else False
        start = date_time(a.get("startDateTime", a.get("start")), "start date-time")
        end = date_time(a.get("endDateTime", a.get("end")), "end date-time")
        schedule = daily_periods(a.get("schedule", a.get("dailyPeriod")))
        if permanent and start is None and end is None and not schedule:
            continue  # permanent: no restriction in time
        try:
            out.append(Applicability(permanent=permanent, start=start, end=end, schedule=schedule))
        except ValueError as exc:
            raise FeatureProblem(_pydantic_message(exc)) from None
    return out


def authorities(raw: Any) -> list[ZoneAuthority]:
    out = []
    for a in as_list(raw):
        if isinstance(a, str):
            out.append(ZoneAuthority(name=a))
        elif isinstance(a, dict):
            out.append(
                ZoneAuthority(
                    name=text_of(a.get("name")),
                    service=text_of(a.get("service")),
                    contact_name=text_of(a.get("contactName", a.get("contact_name"))),
                    email=text_of(a.get("email")),
                    phone=text_of(a.get("phone")),
                    site_url=text_of(a.get("siteURL", a.get("site_url"))),
                    purpose=text_of(a.get("purpose")),
                    interval_before=text_of(a.get("intervalBefore", a.get("interval_before"))),
                )
            )
    return out


def _pydantic_message(exc: Exception) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        first = errors()[0]
        return str(first.get("msg", exc)).removeprefix("Value error, ")
    return str(exc)


# ---------------------------------------------------------------------------------------------
# Zones with the same identifier


def merge_repeated(zones: Iterable[tuple[str, Zone]], report: ImportReport) -> list[Zone]:
    """Features that repeat an identifier are volumes of one zone (a wedding cake). When their
    times differ, each volume keeps its own; a differing restriction is a contradiction."""
    merged: dict[str, Zone] = {}
    labels: dict[str, str] = {}
    for label, zone in zones:
        first = merged.get(zone.id)
        if first is None:
            merged[zone.id] = zone
            labels[zone.id] = label
            continue
        if first.restriction != zone.restriction:
            report.add(
                label,
                f"identifier {zone.id!r} repeats {labels[zone.id]} with a different restriction "
                f"({zone.restriction} vs {first.restriction})",
            )
            continue
        merged[zone.id] = _combine(first, zone)
    return list(merged.values())


def _combine(a: Zone, b: Zone) -> Zone:
    if a.applicability == b.applicability:
        return a.model_copy(update={"volumes": [*a.volumes, *b.volumes]})
    vols_a = [_pin(v, a.applicability) for v in a.volumes]
    vols_b = [_pin(v, b.applicability) for v in b.volumes]
    return a.model_copy(update={"volumes": vols_a + vols_b, "applicability": []})


def _pin(volume: Any, periods: Sequence[Applicability]) -> Any:
    if volume.applicability is not None:
        return volume
    return volume.model_copy(update={"applicability": list(periods)})


def feature_zone(label: str, build: Any, report: ImportReport) -> tuple[str, Zone] | None:
    """Run one feature's builder; record its problem instead of raising."""
    try:
        return (label, build())
    except FeatureProblem as exc:
        report.add(label, str(exc))
    except ValueError as exc:  # pydantic validation of the assembled zone
        report.add(label, _pydantic_message(exc))
    except (TypeError, AttributeError, KeyError) as exc:
        report.add(label, f"unexpected structure ({exc.__class__.__name__}: {exc})")
    return None


def zones_from_items(items: Any, source: str, build: Callable[[dict[str, Any]], Zone],
                     missing: str = "no features") -> list[Zone]:
    """Build every zone of a file, whole or not at all: each broken item is named in one report,
    an identifier repeated across items is merged (wedding cakes), and nothing is returned unless
    every item is sound."""
    report = ImportReport(source)
    if not isinstance(items, list) or not items:
        report.add("file", missing)
        report.raise_if_any()
    built = []
    for i, raw in enumerate(items):
        label = feature_label(i, raw)
        if not isinstance(raw, dict):
            report.add(label, "is not an object")
            continue
        result = feature_zone(label, lambda raw=raw: build(raw), report)
        if result:
            built.append(result)
    zones = merge_repeated(built, report)
    report.raise_if_any()
    return zones
