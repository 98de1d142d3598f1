"""Prometheus metrics at /metrics: HTTP requests by route, event stream counters."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from fastapi import APIRouter, FastAPI, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily


class BusCollector:
    """Reads the bus's counters at scrape time (no work on the publish path)."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    def collect(self):  # type: ignore[no-untyped-def]
        bus = getattr(self.app.state, "bus", None)
        if bus is None:
            return
        yield CounterMetricFamily("skypatrol_events_published", "Events committed", value=bus.published_total)
        yield CounterMetricFamily("skypatrol_events_live", "Live-only events delivered", value=bus.live_total)
        yield CounterMetricFamily("skypatrol_event_batches", "Writer transactions", value=bus.batches_total)
        yield GaugeMetricFamily("skypatrol_event_last_seq", "Last committed seq", value=bus.last_seq)
        yield GaugeMetricFamily("skypatrol_event_subscribers", "Live subscribers", value=bus.subscriber_count)


def install_metrics(app: FastAPI) -> APIRouter:
    registry = CollectorRegistry()
    requests = Counter("skypatrol_http_requests", "HTTP requests", ["method", "route", "status"],
                       registry=registry)
    latency = Histogram("skypatrol_http_request_seconds", "HTTP request latency", ["method", "route"],
                        registry=registry)
    inflight = Gauge("skypatrol_http_inflight", "HTTP requests in flight", registry=registry)
    registry.register(BusCollector(app))
    app.state.metrics_registry = registry

    @app.middleware("http")
    async def _measure(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        start = time.perf_counter()
        inflight.inc()
        status = 500
        try:
            response = await call_next(request)
            status = response.status_code
            return response
        finally:
            inflight.dec()
            route = request.scope.get("route")
            path = getattr(route, "path", "unmatched")
            requests.labels(request.method, path, str(status)).inc()
            latency.labels(request.method, path).observe(time.perf_counter() - start)

    router = APIRouter(tags=["health"])

    @router.get("/metrics", include_in_schema=True, response_class=Response,
                summary="Prometheus metrics")
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return router
