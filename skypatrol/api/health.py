"""Liveness and readiness (no auth: load balancers and orchestrators call them)."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The process is alive")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="The database and the event stream are ready")
async def readyz(request: Request) -> JSONResponse:
    db = request.app.state.db
    bus = request.app.state.bus
    db_ok = await asyncio.to_thread(db.ping)
    checks = {"database": db_ok, "event_stream": bool(bus._running)}
    bridge = getattr(request.app.state, "mqtt_bridge", None)
    if bridge is not None:
        checks["mqtt_bridge_connected"] = bridge.connected
    ready = db_ok and checks["event_stream"]
    return JSONResponse({"status": "ready" if ready else "not_ready", "checks": checks,
                         "last_seq": bus.last_seq}, status_code=200 if ready else 503)
