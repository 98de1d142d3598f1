"""The FastAPI app factory: storage, event stream, delivery, auth, and every domain's router."""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from core.auth import ensure_token
from core.db import Database
from core.events import EventBus
from core.settings import Settings, get_settings
from skypatrol.api import alerts as alerts_api
from skypatrol.api import audit, events, health, site, tokens, users
from skypatrol.api.errors import install_error_handlers
from skypatrol.api.metrics import install_metrics

log = logging.getLogger(__name__)

# Each domain package may offer `api.py` with a `router`; they are mounted when present.
DOMAIN_ROUTERS = ("airspace.api", "missions.api", "fleet.api", "inference.api")


def _domain_routers() -> list[object]:
    found = []
    for name in DOMAIN_ROUTERS:
        if importlib.util.find_spec(name) is not None:
            found.append(importlib.import_module(name).router)
    return found


def _airspace_authority(settings: Settings, db: Database, bus: EventBus):  # type: ignore[no-untyped-def]
    """The authority flights are filed with, and the watcher that reports its news as events."""
    from airspace.watch import AuthorityWatcher

    if settings.authority == "hub":
        from airspace.hub.client import HubClient

        settings.data_dir.mkdir(parents=True, exist_ok=True)
        authority = HubClient(settings.hub_url, buffer_path=settings.data_dir / "hub-positions.sqlite")
    else:
        from airspace.local_authority import LocalAuthority
        from airspace.store import ZoneStore

        def zone_index():  # type: ignore[no-untyped-def]
            with db.session() as s:
                return ZoneStore(s).index()

        settings.data_dir.mkdir(parents=True, exist_ok=True)
        authority = LocalAuthority(zone_index=zone_index, db_url=f"sqlite:///{settings.data_dir / 'authority.db'}")
    watcher = AuthorityWatcher(authority, bus, operator_id=settings.operator_id, interval_s=settings.authority_poll_s)
    return authority, watcher


async def _prune_evidence_periodically(settings: Settings) -> None:
    from inference.api import prune_evidence

    while True:
        try:
            days = settings.evidence_retention_days
            n = await asyncio.to_thread(prune_evidence, settings.data_dir / "evidence", days)
            if n:
                log.info("evidence retention removed %d files", n)
        except Exception:
            log.warning("evidence retention pass failed", exc_info=True)
        await asyncio.sleep(settings.retention_interval_s)


async def _back_up_periodically(settings: Settings) -> None:
    from core.backup import backup_database, default_backup_name, prune_backups

    folder = settings.data_dir / "backups"
    url = settings.resolved_database_url
    while True:
        await asyncio.sleep(settings.backup_interval_h * 3600)
        try:
            path = await asyncio.to_thread(backup_database, url, folder / default_backup_name(url))
            await asyncio.to_thread(prune_backups, folder, settings.backup_keep)
            log.info("database backed up to %s", path)
        except Exception:
            log.warning("database backup failed", exc_info=True)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = Database.from_settings(settings)
        db.upgrade()
        if settings.admin_token:
            with db.session() as s:
                ensure_token(s, "preset-admin", "admin", settings.admin_token)
        bus = EventBus(db, source=settings.event_source, batch_max=settings.event_batch_max,
                       retention_days=settings.retention_days,
                       retention_interval_s=settings.retention_interval_s)
        await bus.start()
        app.state.db = db
        app.state.bus = bus
        bridge = None
        if settings.mqtt.enabled:
            from skypatrol.delivery.mqtt_bridge import MqttBridge

            bridge = MqttBridge(bus, db, settings.mqtt)
            await bridge.start()
        app.state.mqtt_bridge = bridge
        from skypatrol.alerts import AlertService
        from skypatrol.delivery.webhook import WebhookForwarder

        alerts = AlertService(db, bus, settings.alerts)
        await alerts.start()
        app.state.alerts = alerts
        webhooks = [WebhookForwarder(bus, db, hook) for hook in settings.webhooks]
        for hook in webhooks:
            await hook.start()
        app.state.webhooks = webhooks
        authority, watcher = _airspace_authority(settings, db, bus)
        app.state.authority = authority
        await watcher.start()
        app.state.authority_watcher = watcher
        from fleet.schedules import ScheduleService

        schedules = ScheduleService(db, bus)
        await schedules.start()
        app.state.schedules = schedules
        pruning = asyncio.create_task(_prune_evidence_periodically(settings), name="evidence-retention")
        backups = (asyncio.create_task(_back_up_periodically(settings), name="backups")
                   if settings.backup_interval_h > 0 else None)
        if settings.fleet.enabled:
            from fleet.mavsdk_log import route_mavsdk_log

            route_mavsdk_log()
        # --- fleet manager: vehicles over MAVSDK (fleet/manager.py) ---
        fleet = None
        if settings.fleet.enabled:
            from fleet.manager import FleetManager

            fleet = FleetManager(db, bus, settings.fleet)
            await fleet.start()
        app.state.fleet = fleet
        # --- end fleet manager ---
        dispatcher = None
        if fleet is not None:
            from fleet.dispatcher import Dispatcher, DispatchSettings

            dispatch = DispatchSettings(operator_id=settings.operator_id,
                                        flightlog_dir=settings.data_dir / "flightlogs",
                                        service_interval_h=settings.fleet.service_interval_h,
                                        duty_pilot=settings.duty_pilot)
            dispatcher = Dispatcher(db, bus, fleet, authority, dispatch, weather_settings=settings.weather)
            schedules.on_run = dispatcher.on_run
            await dispatcher.start()
        app.state.dispatcher = dispatcher
        try:
            yield
        finally:
            if dispatcher is not None:
                await dispatcher.stop()
            if fleet is not None:  # fleet manager
                await fleet.stop()
            pruning.cancel()
            if backups is not None:
                backups.cancel()
            await schedules.stop()
            await watcher.stop()
            close = getattr(authority, "close", None)
            if close is not None:
                close()
            for hook in webhooks:
                await hook.stop()
            await alerts.stop()
            if bridge is not None:
                await bridge.stop()
            await bus.stop()
            db.dispose()

    app = FastAPI(
        title="SkyPatrol",
        version="0.1.0",
        description="City drone patrols: missions, airspace, fleet, scheduling, AI inspection, events.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    install_error_handlers(app)
    app.include_router(install_metrics(app))
    for r in (health.router, events.router, tokens.router, users.router, audit.router, site.router, alerts_api.router,
              *_domain_routers()):
        app.include_router(r)  # type: ignore[arg-type]
    from skypatrol.console import install_console

    install_console(app)
    return app
