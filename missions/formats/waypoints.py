"""QGC WPL 110 `.waypoints` text (QGroundControl and Mission Planner / ArduPilot).

Line 0 is the home position (ArduPilot's convention, which QGC also writes); items follow with
sequence numbers 1.. so DO_JUMP targets keep the same numbers as in a `.plan`.
Fields: seq, current, frame, command, param1-4, x (lat), y (lon), z (alt), autocontinue.
"""

from __future__ import annotations

from pathlib import Path

from core.errors import BadInput
from missions.formats._common import fmt, num, read_text, refuse_unless_lossy
from missions.items import MissionItem, MissionPlan

HEADER = "QGC WPL 110"


def read_waypoints(path_or_text: str | Path) -> MissionPlan:
    text, source = read_text(path_or_text, "QGC WPL")
    lines = text.splitlines()
    if not lines or not lines[0].strip().startswith("QGC WPL"):
        raise BadInput(f"{source}: line 1: not a QGC WPL file (expected the header {HEADER!r})")
    plan = MissionPlan()
    for lineno, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        fields = line.split("\t") if "\t" in line else line.split()
        fields = [f.strip() for f in fields]
        if len(fields) < 12:
            raise BadInput(f"{source}: line {lineno}: expected 12 fields, got {len(fields)}")
        where = f"{source}: line {lineno}"
        try:
            seq = int(fields[0])
            frame = int(fields[2])
            command = int(fields[3])
            autocontinue = int(float(fields[11])) != 0
        except ValueError:
            raise BadInput(f"{where}: sequence, frame, command and autocontinue must be integers") from None
        p = [num(f, f"{where}, field {i + 5}") for i, f in enumerate(fields[4:11])]
        if seq == 0 and not plan.items and plan.home_lat is None:
            if not (p[4] == 0.0 and p[5] == 0.0):
                plan.home_lat, plan.home_lon, plan.home_alt_amsl_m = p[4], p[5], p[6]
            continue
        plan.items.append(
            MissionItem(
                command=command,
                frame=frame,
                param1=p[0],
                param2=p[1],
                param3=p[2],
                param4=p[3],
                lat=p[4],
                lon=p[5],
                alt=p[6],
                autocontinue=autocontinue,
            )
        )
    return plan


def waypoints_text(plan: MissionPlan, lossy: bool = False) -> str:
    lost = []
    if plan.fence_polygons or plan.fence_circles:
        lost.append(f"{len(plan.fence_polygons) + len(plan.fence_circles)} geofence shape(s)")
    if plan.rally_points:
        lost.append(f"{len(plan.rally_points)} rally point(s)")
    refuse_unless_lossy(".waypoints", lost, lossy)
    out = [HEADER]
    home = (plan.home_lat or 0.0, plan.home_lon or 0.0, plan.home_alt_amsl_m or 0.0)
    out.append("\t".join(["0", "1", "0", "16", "0", "0", "0", "0", *(fmt(v) for v in home), "1"]))
    for seq, it in enumerate(plan.items, start=1):
        vals = (it.param1, it.param2, it.param3, it.param4, it.lat, it.lon, it.alt)
        out.append(
            "\t".join(
                [
                    str(seq),
                    "0",
                    str(int(it.frame)),
                    str(int(it.command)),
                    *(fmt(v) for v in vals),
                    "1" if it.autocontinue else "0",
                ]
            )
        )
    return "\n".join(out) + "\n"


def write_waypoints(plan: MissionPlan, path: str | Path, lossy: bool = False) -> None:
    Path(path).write_text(waypoints_text(plan, lossy), encoding="utf-8")
