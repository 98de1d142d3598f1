"""The event stream over HTTP: paged reads, SSE, WebSocket, ingest from edge workers."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Query, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from core import audit
from core.auth import Principal, authenticate, require_role
from core.errors import BadInput
from core.events import TYPE_RE, Event, EventBus, make_event

router = APIRouter(prefix="/api/v1/events", tags=["events"])

MAX_INGEST = 10_000
KEEPALIVE_S = 15.0


class CloudEventIn(BaseModel):
    """A CloudEvents 1.0 structured event as an edge worker sends it. `seq` is assigned here."""

    model_config = ConfigDict(extra="forbid")
    specversion: Literal["1.0"]
    id: str = Field(min_length=1, max_length=128)
    source: str = Field(min_length=1, max_length=255)
    type: str = Field(pattern=TYPE_RE.pattern, max_length=128)
    time: datetime | None = None
    subject: str | None = Field(default=None, max_length=255)
    datacontenttype: Literal["application/json"] = "application/json"
    data: Any = None


class CloudEventOut(BaseModel):
    specversion: Literal["1.0"] = "1.0"
    id: str
    source: str
    type: str
    time: datetime
    subject: str | None = None
    datacontenttype: str = "application/json"
    data: Any = None
    seq: int


class EventPage(BaseModel):
    events: list[CloudEventOut]
    next_after: int = Field(description="pass as `after` to read the next page")
    has_more: bool


class IngestReceipt(BaseModel):
    id: str
    source: str
    seq: int


class IngestResult(BaseModel):
    accepted: int
    events: list[IngestReceipt]


def get_bus(request: Request) -> EventBus:
    return request.app.state.bus


def _page_json(events: list[Event], after: int, limit: int) -> str:
    next_after = events[-1].seq if events else after
    has_more = "true" if len(events) == limit else "false"
    body = ",".join(e.to_json() for e in events)
    return f'{{"events":[{body}],"next_after":{next_after},"has_more":{has_more}}}'


@router.get("", response_model=EventPage, summary="Stored events after a seq, oldest first")
async def list_events(
    after: Annotated[int, Query(ge=0, description="return events with seq > after")] = 0,
    type: Annotated[list[str] | None, Query(description="filter by type (repeatable)")] = None,
    subject: Annotated[str | None, Query(max_length=255)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    bus: EventBus = Depends(get_bus),
    _: Principal = Depends(require_role("viewer")),
) -> Response:
    events = await bus.read(after, limit, type, subject)
    return Response(_page_json(events, after, limit), media_type="application/json")


@router.post("", status_code=201, response_model=IngestResult,
             summary="Ingest one event or a batch (edge workers)")
async def ingest_events(
    request: Request,
    body: CloudEventIn | list[CloudEventIn],
    bus: EventBus = Depends(get_bus),
    principal: Principal = Depends(require_role("pilot")),
) -> IngestResult:
    items = body if isinstance(body, list) else [body]
    if not items:
        raise BadInput("empty batch: send at least one event")
    if len(items) > MAX_INGEST:
        raise BadInput(f"batch of {len(items)} events exceeds the limit of {MAX_INGEST}")
    events = [make_event(i.type, i.data, subject=i.subject, source=i.source, id=i.id, time=i.time)
              for i in items]
    stored = await bus.publish_events(events)
    seqs = [e.seq for e in stored if e.seq is not None]
    db = request.app.state.db

    def _audit() -> None:
        with db.session() as s:
            audit.record(s, principal, "events.ingest", "event",
                         [f"{seqs[0]}..{seqs[-1]}"] if len(seqs) > 1 else seqs,
                         {"count": len(seqs)})

    await asyncio.to_thread(_audit)
    return IngestResult(accepted=len(stored),
                        events=[IngestReceipt(id=e.id, source=e.source, seq=e.seq or 0) for e in stored])


def _sse_chunk(batch: list[Event]) -> str:
    out = []
    for e in batch:
        if e.seq is not None:
            out.append(f"id: {e.seq}\ndata: {e.to_json()}\n\n")
        else:
            out.append(f"data: {e.to_json()}\n\n")
    return "".join(out)


def _start_cursor(after: int | None, last_event_id: str | None) -> int | None:
    if last_event_id:
        try:
            return max(0, int(last_event_id.strip()))
        except ValueError:
            raise BadInput(f"Last-Event-ID must be an event seq, got {last_event_id!r}") from None
    return after


@router.get(
    "/stream",
    summary="Server-sent events: `id: <seq>` and one `data:` line per event",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def stream_events(
    after: Annotated[int | None, Query(ge=0, description="replay events after this seq first")] = None,
    type: Annotated[list[str] | None, Query()] = None,
    subject: Annotated[str | None, Query(max_length=255)] = None,
    live: Annotated[bool, Query(description="include live-only telemetry")] = True,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
    access_token: Annotated[str | None, Query(description="for EventSource, which cannot send headers")] = None,
    bus: EventBus = Depends(get_bus),
    _: Principal = Depends(require_role("viewer", allow_query_token=True)),
) -> StreamingResponse:
    start = _start_cursor(after, last_event_id)
    sub = bus.subscribe(after=start, types=type, subject=subject, live=live)

    async def body():  # type: ignore[no-untyped-def]
        try:
            yield "retry: 2000\n\n"
            while not sub.closed:
                batch = await sub.next_batch(wait_s=KEEPALIVE_S)
                yield _sse_chunk(batch) if batch else ": keepalive\n\n"
        finally:
            sub.close()

    return StreamingResponse(body(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


@router.websocket("/ws")
async def events_ws(
    websocket: WebSocket,
    after: int | None = None,
    type: Annotated[list[str] | None, Query()] = None,
    subject: str | None = None,
    live: bool = True,
) -> None:
    """Same feed as SSE: one JSON text frame per event. Auth by header or `?access_token=`."""
    header = websocket.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    token = value.strip() if scheme.lower() == "bearer" else websocket.query_params.get("access_token")
    db = websocket.app.state.db
    principal = None
    if token:
        with db.session() as s:
            principal = authenticate(s, token)
    if principal is None:
        await websocket.close(code=4401, reason="missing, invalid or expired token")
        return
    if after is not None and after < 0:
        await websocket.close(code=4422, reason="after must be >= 0")
        return
    bus: EventBus = websocket.app.state.bus
    await websocket.accept()
    sub = bus.subscribe(after=after, types=type, subject=subject, live=live)

    async def drain_client() -> None:
        # Reading lets us notice a closed socket even while no events flow.
        with contextlib.suppress(WebSocketDisconnect, RuntimeError):
            while True:
                await websocket.receive_text()
        sub.close()

    reader = asyncio.create_task(drain_client())
    try:
        while not sub.closed:
            batch = await sub.next_batch(wait_s=KEEPALIVE_S)
            for e in batch:
                await websocket.send_text(e.to_json())
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        sub.close()
        reader.cancel()
