"""Zone files: the real published ED-269 / ED-318 samples, messy variants, broken files, export."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from airspace_testkit import lonlat, shared_file, square_ring

from airspace.formats import load_zones, parse_zones, read_zone_file, zones_to_geojson
from airspace.model import CircleShape, LengthUnit, PolygonShape, Restriction, VerticalReference, Weekday
from core.errors import BadInput


def test_real_ed269_sample_with_uaszonelist_and_daily_period() -> None:
    zones = read_zone_file(shared_file("airspace", "interuss_cis_sample_ed269.json"))
    assert [z.id for z in zones] == ["LSXX"]
    z = zones[0]
    assert z.restriction is Restriction.REQ_AUTHORISATION
    assert z.name == "LSXX City Sample"
    assert z.reasons == ["AIR_TRAFFIC"]
    assert z.authority[0].email == "admin@example.interuss.org"
    # permanent, with an empty dailyPeriod placeholder: always in force
    assert z.applicability == []
    (v,) = z.volumes
    assert v.lower_m == 0.0 and v.upper_m is None  # "0" as a string, upper null: unlimited
    assert isinstance(v.shape, PolygonShape) and len(v.shape.rings[0]) == 5


def test_real_ed318_sample_normalises_type_and_layers() -> None:
    zones = read_zone_file(shared_file("airspace", "interuss_cis_sample_ed318.json"))
    assert [z.id for z in zones] == ["LSZB003", "BLns058", "LSTB002"]
    assert all(z.restriction is Restriction.REQ_AUTHORISATION for z in zones)  # REQ_AUTHORIZATION
    bern = zones[0]
    assert bern.name == "LSZB Bern-Belp 2"  # multilingual text: the English one
    assert bern.authority[0].name == "Skyguide"
    assert bern.authority[0].interval_before == "P10DT00H"
    assert bern.restriction_conditions and "250 g" in bern.restriction_conditions
    (v,) = bern.volumes
    assert (v.lower_m, v.upper_m, v.lower_reference) == (60.0, 99999.0, VerticalReference.AGL)


def ed269_zone(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "identifier": "Z1",
        "country": "CHN",
        "name": "Test zone",
        "type": "COMMON",
        "restriction": "PROHIBITED",
        "reason": "SENSITIVE",  # a string where the standard has a list
        "message": [{"text": "禁飞", "lang": "zh-CN"}, {"text": "No flying", "lang": "en-GB"}],
        "zoneAuthority": {"name": "CAAC East China", "email": "x@example.cn"},
        "applicability": {
            "permanent": "NO",
            "startDateTime": "2025-01-01T00:00:00Z",
            "endDateTime": None,
            "schedule": [{"day": "ANY", "startTime": "08:00", "endTime": "18:00"}],
        },
        "geometry": {
            "uomDimensions": "FT",
            "lowerLimit": 0,
            "lowerVerticalReference": "AGL",
            "upperLimit": "400",
            "upperVerticalReference": "AMSL",
            "horizontalProjection": {"type": "Polygon", "coordinates": [square_ring(0, 0, 100, 100)]},
        },
    }
    base.update(over)
    return base


def test_ed269_features_form_with_messy_fields() -> None:
    ring = square_ring(0, 0, 100, 100)
    # repeated vertices and an unclosed ring are repaired
    messy = [ring[0], ring[0], ring[1], ring[2], ring[2], ring[3]]
    circle_geom = {
        "uomDimensions": "M",
        "lowerLimit": None,
        "upperLimit": 120,
        "horizontalProjection": {"type": "Circle", "center": list(lonlat(500, 500)), "radius": 200},
    }
    doc = {
        "title": "sample",
        "features": [
            ed269_zone(
                geometry=[
                    {
                        **ed269_zone()["geometry"],
                        "horizontalProjection": {"type": "Polygon", "coordinates": [messy]},
                    }
                ]
            ),
            ed269_zone(identifier="C1", restriction="NO_RESTRICTION", geometry=[circle_geom], applicability=None),
        ],
    }
    z1, c1 = parse_zones(doc)
    assert z1.message == "禁飞"  # Chinese preferred
    assert z1.reasons == ["SENSITIVE"]
    assert z1.authority[0].name == "CAAC East China"
    v = z1.volumes[0]
    assert (
        v.unit is LengthUnit.FT and v.upper_m == pytest.approx(121.92) and v.upper_reference is VerticalReference.AMSL
    )
    assert len(v.shape.rings[0]) == 5 and v.shape.rings[0][0] == v.shape.rings[0][-1]
    (a,) = z1.applicability
    assert a.start == datetime(2025, 1, 1, tzinfo=UTC) and a.schedule[0].days == [Weekday.ANY]
    assert isinstance(c1.volumes[0].shape, CircleShape) and c1.volumes[0].shape.radius_m == 200
    assert c1.volumes[0].lower_m is None and c1.applicability == []


def test_ed269_circle_radius_in_feet() -> None:
    geom = {
        "uomDimensions": "FT",
        "upperLimit": 400,
        "horizontalProjection": {"type": "Circle", "center": list(lonlat(0, 0)), "radius": 1000},
    }
    (z,) = parse_zones({"UASZoneList": [ed269_zone(geometry=geom)]})
    assert z.volumes[0].shape.radius_m == pytest.approx(304.8)


def test_repeated_identifier_is_one_wedding_cake_zone() -> None:
    low = {
        **ed269_zone()["geometry"],
        "uomDimensions": "M",
        "upperLimit": 50,
        "upperVerticalReference": "AGL",
    }
    high = {
        **low,
        "lowerLimit": 50,
        "upperLimit": 150,
        "horizontalProjection": {"type": "Polygon", "coordinates": [square_ring(-100, -100, 200, 200)]},
    }
    doc = {"UASZoneList": [ed269_zone(geometry=low), ed269_zone(geometry=high)]}
    (z,) = parse_zones(doc)
    assert [(v.lower_m, v.upper_m) for v in z.volumes] == [(0, 50), (50, 150)]


def test_repeated_identifier_with_different_times_keeps_each_volume_time() -> None:
    other = ed269_zone(applicability=None)
    (z,) = parse_zones({"UASZoneList": [ed269_zone(), other]})
    assert z.applicability == []
    assert z.volumes[0].applicability and z.volumes[1].applicability == []
    assert not z.volume_applies(z.volumes[0], datetime(2025, 3, 3, 20, 0, tzinfo=UTC))
    assert z.volume_applies(z.volumes[1], datetime(2025, 3, 3, 20, 0, tzinfo=UTC))


def ed318_feature(**props: Any) -> dict[str, Any]:
    return {
        "type": "Feature",
        "geometry": {
            "type": "Polygon",
            "coordinates": [square_ring(0, 0, 100, 100)],
            "layer": {
                "upper": 300,
                "upperReference": "AMSL",
                "lower": 0,
                "lowerReference": "AGL",
                "uom": "ft",
            },
        },
        "properties": {
            "identifier": "E1",
            "country": "CHN",
            "name": [{"text": "E one", "lang": "en-GB"}],
            "type": "CONDITIONAL",
            "variant": "COMMON",
            "zoneAuthority": [{"name": [{"text": "CAAC", "lang": "en"}]}],
            **props,
        },
    }


def test_ed318_circles_collections_and_schedules() -> None:
    circle = ed318_feature(
        identifier="E2",
        type="PROHIBITED",
        limitedApplicability=[
            {
                "startDateTime": "2025-06-01T00:00:00Z",
                "endDateTime": "2025-07-01T00:00:00Z",
                "schedule": [{"day": ["SAT", "SUN"], "startTime": "22:00:00Z", "endTime": "02:00:00Z"}],
            }
        ],
    )
    circle["geometry"] = {
        "type": "Point",
        "coordinates": list(lonlat(0, 0)),
        "extent": {"subType": "Circle", "radius": 150},
        "layer": {"upper": 120, "upperReference": "AGL", "lower": 0, "lowerReference": "AGL"},
    }
    cake = ed318_feature(identifier="E3")
    cake["geometry"] = {
        "type": "GeometryCollection",
        "geometries": [
            {
                "type": "Polygon",
                "coordinates": [square_ring(0, 0, 50, 50)],
                "layer": {"upper": 30, "lower": 0},
            },
            {
                "type": "Polygon",
                "coordinates": [square_ring(-50, -50, 100, 100)],
                "layer": {"upper": 90, "lower": 30},
            },
        ],
    }
    e1, e2, e3 = parse_zones({"type": "FeatureCollection", "features": [ed318_feature(), circle, cake]})
    assert e1.restriction is Restriction.CONDITIONAL and e1.volumes[0].upper_m == pytest.approx(91.44)
    assert isinstance(e2.volumes[0].shape, CircleShape) and e2.volumes[0].shape.radius_m == 150
    assert e2.applicability[0].schedule[0].days == [Weekday.SAT, Weekday.SUN]
    assert [(v.lower_m, v.upper_m) for v in e3.volumes] == [(0, 30), (30, 90)]


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda z: z.pop("geometry"), "feature 1 ('Z1'): geometry is missing or empty"),
        (lambda z: z.update(geometry=[]), "geometry is missing or empty"),
        (
            lambda z: z["geometry"]["horizontalProjection"]["coordinates"][0].__setitem__(1, [191.0, 30.0]),
            "out of range",
        ),
        (
            lambda z: z["geometry"]["horizontalProjection"].update(
                coordinates=[[lonlat(0, 0), lonlat(100, 100), lonlat(100, 0), lonlat(0, 100), lonlat(0, 0)]]
            ),
            "cannot be repaired unambiguously: Self-intersection",
        ),
        (
            lambda z: z["geometry"]["horizontalProjection"].update(
                coordinates=[[lonlat(0, 0), lonlat(0, 0), lonlat(5, 5)]]
            ),
            "fewer than 3 distinct vertices",
        ),
        (lambda z: z.update(restriction="MAYBE"), "restriction 'MAYBE' is not one of"),
        (
            lambda z: z["geometry"].update(lowerVerticalReference="STD"),
            "lower reference 'STD' is not AGL, AMSL or WGS84",
        ),
        (lambda z: z["geometry"].update(upperLimit="high"), "upper limit is not a number: 'high'"),
        (
            lambda z: z["geometry"].update(lowerLimit=500, upperLimit=100, upperVerticalReference="AGL"),
            "lower limit 500 is above upper limit 100",
        ),
        (
            lambda z: z["geometry"]["horizontalProjection"].update(type="Circle", center=[121.3, 30.7], radius=-5),
            "radius must be a positive number",
        ),
        (
            lambda z: z["applicability"].update(endDateTime="2024-01-01T00:00:00Z"),
            "applicability ends before it starts",
        ),
        (
            lambda z: z["applicability"]["schedule"][0].update(day="FUNDAY"),
            "day 'FUNDAY' is not MON..SUN or ANY",
        ),
        (lambda z: z["applicability"]["schedule"][0].update(startTime="25:00"), "not a valid time of day"),
        (lambda z: z.pop("identifier"), "feature 1: identifier is missing"),
    ],
)
def test_broken_feature_rejects_the_whole_file_naming_it(mutate, message: str) -> None:  # type: ignore[no-untyped-def]
    bad = copy.deepcopy(ed269_zone())
    mutate(bad)
    doc = {"UASZoneList": [ed269_zone(identifier="OK"), bad]}
    with pytest.raises(BadInput) as err:
        parse_zones(doc, "zones.json")
    assert err.value.message.startswith("zones.json: feature 1")
    assert message in err.value.message


def test_all_problems_are_listed_and_contradicting_repeats_rejected() -> None:
    doc = {
        "UASZoneList": [
            ed269_zone(),
            ed269_zone(restriction="CONDITIONAL"),
            ed269_zone(identifier="B", geometry=None),
        ]
    }
    with pytest.raises(BadInput) as err:
        parse_zones(doc, "f.json")
    problems = err.value.details["problems"]
    assert len(problems) == 2
    assert "identifier 'Z1' repeats feature 0 ('Z1') with a different restriction" in problems[1]
    assert "(and 1 more problems)" in err.value.message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "not JSON"),
        (
            '{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"a": 1}, '
            '"geometry": null}]}',
            "not a zone file",
        ),
        ("[1, 2]", "not a zone file"),
        ('{"UASZoneList": []}', "no zones"),
    ],
)
def test_not_a_zone_file(text: str, message: str) -> None:
    with pytest.raises(BadInput, match=message):
        load_zones(text, "x.json")


def test_missing_file_is_bad_input(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(BadInput, match="no such file"):
        read_zone_file(tmp_path / "nope.json")


def test_geojson_export_round_trips_everything() -> None:
    real = read_zone_file(shared_file("airspace", "interuss_cis_sample_ed318.json"))
    ours = parse_zones(
        {
            "UASZoneList": [
                ed269_zone(),
                ed269_zone(applicability=None),
                ed269_zone(
                    identifier="C",
                    geometry={"horizontalProjection": {"type": "Circle", "center": list(lonlat(0, 0)), "radius": 30}},
                ),
            ]
        }
    )
    zones = real + ours
    exported = json.loads(json.dumps(zones_to_geojson(zones)))
    assert exported["type"] == "FeatureCollection"
    assert parse_zones(exported) == zones


def test_plain_geojson_documented_properties() -> None:
    doc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": "P1",
                "geometry": {
                    "type": "MultiPolygon",
                    "coordinates": [[square_ring(0, 0, 10, 10)], [square_ring(20, 20, 30, 30)]],
                },
                "properties": {
                    "restriction": "REQ_AUTHORIZATION",
                    "upper": 100,
                    "unit": "ft",
                    "reasons": "PRIVACY",
                },
            },
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": list(lonlat(0, 0))},
                "properties": {"id": "P2", "restriction": "PROHIBITED", "radius_m": 50},
            },
        ],
    }
    p1, p2 = parse_zones(doc)
    assert p1.id == "P1" and len(p1.volumes) == 2 and p1.restriction is Restriction.REQ_AUTHORISATION
    assert p1.volumes[0].upper_m == pytest.approx(30.48) and p1.reasons == ["PRIVACY"]
    assert isinstance(p2.volumes[0].shape, CircleShape)
    doc["features"][1]["properties"].pop("radius_m")
    with pytest.raises(BadInput, match=r"feature 1 \('P2'\): circle radius must be a positive number"):
        parse_zones(doc)
