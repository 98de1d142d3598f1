"""Airspace: zones (ED-269, ED-318, GeoJSON), route and position checks, the hub protocol."""

from airspace.check import PositionCheck, RouteCheck, Violation, check_positions, check_route
from airspace.formats import load_zones, parse_zones, read_zone_file, zones_to_geojson
from airspace.index import ZoneIndex
from airspace.model import Restriction, Zone
from airspace.route import Route, RoutePoint, route_from_mission
from airspace.rules import CheckOptions, DroneClass

__all__ = [
    "CheckOptions",
    "DroneClass",
    "PositionCheck",
    "Restriction",
    "Route",
    "RouteCheck",
    "RoutePoint",
    "Violation",
    "Zone",
    "ZoneIndex",
    "check_positions",
    "check_route",
    "load_zones",
    "parse_zones",
    "read_zone_file",
    "route_from_mission",
    "zones_to_geojson",
]
