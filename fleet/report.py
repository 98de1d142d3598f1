"""The report of one run: what was flown, how long, what it cost, what was seen, what happened."""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.events import Event
from core.models import Event as EventRow
from core.models import Mission
from geo import distance_m


def _events(session: Session, q: Any) -> list[Event]:
    return [Event.from_row(r) for r in session.execute(q.order_by(EventRow.seq)).scalars()]


def run_report(session: Session, run: Mission) -> dict[str, Any]:
    """Built from the run's row and the stored event stream (nothing kept twice)."""
    timeline = _events(session, select(EventRow).where(EventRow.subject == run.id,
                                                      EventRow.type.like("skypatrol.mission.%")))
    track: list[dict[str, Any]] = []
    if run.drone_id and run.started_at:
        q = select(EventRow).where(EventRow.type == "skypatrol.telemetry.v1", EventRow.subject == run.drone_id,
                                   EventRow.time >= run.started_at)
        if run.ended_at:
            q = q.where(EventRow.time <= run.ended_at)
        for e in _events(session, q):
            d = e.data or {}
            if d.get("lat") is not None:
                track.append({"time": e.time.isoformat(), "lat": d["lat"], "lon": d["lon"],
                              "alt_rel_m": d.get("alt_rel_m"), "battery": d.get("battery_remaining")})
    distance = sum(float(distance_m(a["lat"], a["lon"], b["lat"], b["lon"])) for a, b in itertools.pairwise(track))
    batteries = [p["battery"] for p in track if p["battery"] is not None]
    intent_id = (run.doc or {}).get("intent_id")
    airspace = _events(session, select(EventRow).where(EventRow.type.like("skypatrol.airspace.%"),
                                                       EventRow.subject.in_([run.id, intent_id or "-"])))
    detections = _events(session, select(EventRow).where(EventRow.subject == run.id,
                                                         EventRow.type.like("skypatrol.detection.%")))
    progress = [e.data for e in timeline if e.type == "skypatrol.mission.progress.v1"]
    reached = sorted({p["reached"] for p in progress if p and p.get("reached") is not None})
    return {
        "run_id": run.id, "state": run.state, "reason": run.reason, "plan_id": run.plan_id,
        "drone_id": run.drone_id, "schedule_id": run.schedule_id, "intent_id": intent_id,
        "planned_start": _iso(run.planned_start), "started_at": _iso(run.started_at), "ended_at": _iso(run.ended_at),
        "duration_s": (run.ended_at - run.started_at).total_seconds() if run.started_at and run.ended_at else None,
        "distance_m": round(distance, 1),
        "battery_used": round(batteries[0] - batteries[-1], 4) if len(batteries) >= 2 else None,
        "items_reached": reached,
        "track": track,
        "airspace_events": [e.to_dict() for e in airspace],
        "detections": [e.to_dict() for e in detections],
        "timeline": [{"seq": e.seq, "type": e.type, "time": e.time.isoformat(), "reason": (e.data or {}).get("reason")}
                     for e in timeline if e.type != "skypatrol.mission.progress.v1"],
    }


def _iso(t: datetime | None) -> str | None:
    return t.isoformat() if t else None


def report_html(report: dict[str, Any]) -> str:
    """A printable page: the facts, the track as an SVG drawing, the timeline."""
    from html import escape

    def row(k: str, v: Any) -> str:
        return f"<tr><th>{escape(k)}</th><td>{escape('' if v is None else str(v))}</td></tr>"

    track = report["track"]
    svg = ""
    if len(track) >= 2:
        lats = [p["lat"] for p in track]
        lons = [p["lon"] for p in track]
        w, h, pad = 480.0, 320.0, 10.0
        span = max(max(lats) - min(lats), max(lons) - min(lons), 1e-6)
        pts = " ".join(f"{pad + (lo - min(lons)) / span * (w - 2 * pad):.1f},"
                       f"{h - pad - (la - min(lats)) / span * (h - 2 * pad):.1f}"
                       for la, lo in zip(lats, lons, strict=True))
        svg = (f'<svg width="{w:.0f}" height="{h:.0f}" viewBox="0 0 {w:.0f} {h:.0f}" role="img" '
               f'aria-label="track flown"><rect width="100%" height="100%" fill="#f6f7f9"/>'
               f'<polyline points="{pts}" fill="none" stroke="#1565c0" stroke-width="2"/></svg>')
    timeline = "".join(f"<tr><td>{escape(t['time'])}</td><td>{escape(t['type'])}</td>"
                       f"<td>{escape(t.get('reason') or '')}</td></tr>" for t in report["timeline"])
    facts = "".join(row(k, report.get(k)) for k in (
        "run_id", "state", "reason", "drone_id", "plan_id", "schedule_id", "intent_id", "planned_start",
        "started_at", "ended_at", "duration_s", "distance_m", "battery_used"))
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Run {escape(report['run_id'])}</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}th,td{{border:1px solid #ccc;
padding:4px 8px;text-align:left}}@media print{{body{{margin:0}}}}</style></head>
<body><h1>Patrol run {escape(report['run_id'])}</h1>
<table>{facts}{row("items reached", len(report["items_reached"]))}{row("detections", len(report["detections"]))}
{row("airspace events", len(report["airspace_events"]))}</table>
<h2>Track</h2>{svg or "<p>No track recorded.</p>"}
<h2>Timeline</h2><table><tr><th>time</th><th>event</th><th>reason</th></tr>{timeline}</table>
</body></html>"""
