"""Read and write any supported mission format, chosen by the file suffix."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from core.errors import BadInput
from missions.formats import qgc_plan
from missions.formats.geojson import geojson_text, read_geojson
from missions.formats.kml import kml_text, read_kml
from missions.formats.waypoints import read_waypoints, waypoints_text
from missions.items import MissionPlan

SUFFIXES = {
    ".plan": "plan",
    ".mission": "plan",
    ".waypoints": "waypoints",
    ".txt": "waypoints",
    ".geojson": "geojson",
    ".json": "geojson",
    ".kml": "kml",
}


def format_of(path: str | Path) -> str:
    suffix = Path(path).suffix.lower()
    if suffix not in SUFFIXES:
        raise BadInput(
            f"{path}: unknown mission format {suffix!r} (use .plan, .mission, .waypoints, .txt, .geojson or .kml)"
        )
    return SUFFIXES[suffix]


READERS: dict[str, Callable[[Path], MissionPlan]] = {
    "plan": qgc_plan.read_plan,
    "waypoints": read_waypoints,
    "geojson": read_geojson,
    "kml": read_kml,
}
WRITERS: dict[str, Callable[[MissionPlan, bool], str]] = {
    "plan": lambda plan, lossy: qgc_plan.plan_text(plan),
    "waypoints": waypoints_text,
    "geojson": geojson_text,
    "kml": kml_text,
}


def read_mission(path: str | Path) -> MissionPlan:
    return READERS[format_of(path)](Path(path))


def mission_text(plan: MissionPlan, fmt: str, lossy: bool = False) -> str:
    return WRITERS[fmt](plan, lossy)


def write_mission(plan: MissionPlan, path: str | Path, lossy: bool = False) -> None:
    text = mission_text(plan, format_of(path), lossy)  # refuses before anything is written
    try:
        Path(path).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise BadInput(f"{path}: cannot write ({exc})") from None


def convert(src: str | Path, dst: str | Path, lossy: bool = False) -> MissionPlan:
    format_of(dst)
    plan = read_mission(src)
    write_mission(plan, dst, lossy)
    return plan
