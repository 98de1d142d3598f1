"""The authority's state and decisions, in-process: zones and temporary restrictions, filed
intents, positions, notifications, kept in a SQL database of its own (SQLite by default).

The reference hub server serves one of these over HTTP; `LocalAuthority` embeds one.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Float, Integer, String, create_engine, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker
from sqlalchemy.pool import StaticPool

from airspace.authority import (
    LIVE_STATES,
    DispatchReadiness,
    IntentRequest,
    IntentState,
    Notification,
    NotificationKind,
    OperationalIntent,
    PositionReport,
    Reason,
)
from airspace.hub.policy import FilingPolicy, assess, crossed_restrictions
from airspace.index import ZoneIndex
from airspace.intent import intents_conflict, position_conforms
from airspace.model import Zone, as_utc
from core.errors import BadInput, Conflict, NotFound, Refused

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class HubBase(DeclarativeBase):
    """The hub's own tables (its own database, apart from SkyPatrol's)."""


class HubZone(HubBase):
    __tablename__ = "hub_zones"
    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    doc: Mapped[dict[str, Any]] = mapped_column(JSON)
    temporary: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class HubIntent(HubBase):
    __tablename__ = "hub_intents"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    operator_id: Mapped[str] = mapped_column(String(128), index=True)
    state: Mapped[str] = mapped_column(String(16), index=True)
    doc: Mapped[dict[str, Any]] = mapped_column(JSON)
    idempotency_key: Mapped[str | None] = mapped_column(String(128), unique=True)
    request_hash: Mapped[str] = mapped_column(String(64))


class HubPosition(HubBase):
    __tablename__ = "hub_positions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    intent_id: Mapped[str] = mapped_column(String(64), index=True)
    drone_id: Mapped[str] = mapped_column(String(128))
    time: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    alt_amsl_m: Mapped[float] = mapped_column(Float)
    conformant: Mapped[bool] = mapped_column(Boolean)


class HubNotification(HubBase):
    __tablename__ = "hub_notifications"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    operator_id: Mapped[str | None] = mapped_column(String(128), index=True)
    doc: Mapped[dict[str, Any]] = mapped_column(JSON)


class AuthorityEngine:
    """Decides filings at once by the policy's rules; thread-safe (one writer at a time)."""

    def __init__(
        self,
        db_url: str = "sqlite://",
        policy: FilingPolicy | None = None,
        clock: Clock = utc_now,
        zones: Iterable[Zone] = (),
    ) -> None:
        kw: dict[str, Any] = {}
        if db_url.startswith("sqlite"):
            kw["connect_args"] = {"check_same_thread": False}
            if db_url in ("sqlite://", "sqlite:///:memory:"):
                kw["poolclass"] = StaticPool
        self._engine = create_engine(db_url, **kw)
        HubBase.metadata.create_all(self._engine)
        self._sessions = sessionmaker(self._engine, expire_on_commit=False)
        self.policy = policy or FilingPolicy()
        self.clock = clock
        self._lock = threading.RLock()
        self._index: ZoneIndex | None = None
        if zones:
            self.publish_zones(zones)

    def close(self) -> None:
        self._engine.dispose()

    # -- zones ------------------------------------------------------------------------------

    def publish_zones(self, zones: Iterable[Zone], temporary: bool = False) -> list[str]:
        with self._lock, self._sessions.begin() as s:
            ids = []
            for z in zones:
                s.merge(HubZone(id=z.id, doc=z.model_dump(mode="json"), temporary=temporary, created_at=self.clock()))
                ids.append(z.id)
            self._index = None
            return ids

    def add_restriction(self, zone: Zone) -> list[str]:
        """Publish a temporary restriction; revoke live intents it now forbids. Returns their ids."""
        with self._lock:
            self.publish_zones([zone], temporary=True)
            self._notify(
                NotificationKind.RESTRICTION_ADDED,
                None,
                None,
                f"new restriction {zone.id!r} ({zone.name})",
                {"zone": zone.model_dump(mode="json")},
            )
            revoked = []
            single = ZoneIndex([zone])
            with self._sessions.begin() as s:
                for row in s.execute(
                    select(HubIntent).where(HubIntent.state.in_([x.value for x in LIVE_STATES]))
                ).scalars():
                    intent = OperationalIntent.model_validate(row.doc)
                    reasons = crossed_restrictions(intent.request, single)
                    if reasons:
                        reason = reasons[0]
                        self._set_state(s, row, intent, IntentState.REVOKED, [reason])
                        self._notify(
                            NotificationKind.PLAN_REVOKED,
                            intent.request.operator_id,
                            intent.id,
                            f"intent {intent.id} revoked: {reason.message}",
                            {"zone_id": zone.id},
                            s,
                        )
                        revoked.append(intent.id)
            return revoked

    def index(self) -> ZoneIndex:
        with self._lock:
            if self._index is None:
                self._index = ZoneIndex(self._all_zones())
            return self._index

    def _all_zones(self) -> list[Zone]:
        with self._sessions() as s:
            return [Zone.model_validate(r.doc) for r in s.execute(select(HubZone).order_by(HubZone.id)).scalars()]

    def zones(
        self,
        bbox: tuple[float, float, float, float] | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> list[Zone]:
        out = []
        for z in self._all_zones():
            if bbox is not None and not _zone_in_bbox(z, bbox):
                continue
            if (start or end) and not _zone_window_overlaps(z, start, end):
                continue
            out.append(z)
        return out

    # -- intents ----------------------------------------------------------------------------

    def file_intent(self, request: IntentRequest, idempotency_key: str | None = None) -> OperationalIntent:
        digest = hashlib.sha256(request.model_dump_json().encode()).hexdigest()
        with self._lock, self._sessions.begin() as s:
            if idempotency_key:
                row = s.execute(
                    select(HubIntent).where(HubIntent.idempotency_key == idempotency_key)
                ).scalar_one_or_none()
                if row is not None:
                    if row.request_hash != digest:
                        raise Conflict(f"idempotency key {idempotency_key!r} was used for a different filing")
                    return OperationalIntent.model_validate(row.doc)
            now = self.clock()
            state, reasons, needs = self._decide(s, request, now)
            intent = OperationalIntent(
                id="oi_" + secrets.token_hex(8),
                state=state,
                reasons=reasons,
                needs_authorisation=needs,
                request=request,
                filed_at=now,
                updated_at=now,
            )
            s.add(
                HubIntent(
                    id=intent.id,
                    operator_id=request.operator_id,
                    state=state.value,
                    doc=intent.model_dump(mode="json"),
                    idempotency_key=idempotency_key,
                    request_hash=digest,
                )
            )
            return intent

    def _decide(self, s: Session, request: IntentRequest, now: datetime) -> tuple[IntentState, list[Reason], bool]:
        if request.time_end <= now:
            return (
                IntentState.REJECTED,
                [Reason(code="too_late", message="the flight's time window has passed")],
                False,
            )
        needs, refusals = assess(request, self.index(), self.policy.height_limits_m)
        if refusals:
            return IntentState.REJECTED, refusals, needs
        deadline = self.policy.deadline(request, needs)
        if now > deadline:
            what = (
                "emergency flights"
                if request.emergency and needs
                else ("flights needing authorisation" if needs else "flights in suitable airspace")
            )
            message = f"filed after the deadline for {what}: {deadline.isoformat()} (filed {now.isoformat()})"
            return IntentState.REJECTED, [Reason(code="late_filing", message=message)], needs
        conflicts = self._conflicts(s, request)
        if conflicts:
            return IntentState.REJECTED, conflicts, needs
        if needs and not self.policy.auto_approve:
            return (
                IntentState.PENDING,
                [Reason(code="review", message="awaiting the authority's review")],
                needs,
            )
        return IntentState.ACCEPTED, [], needs

    def _conflicts(self, s: Session, request: IntentRequest) -> list[Reason]:
        """Strategic deconfliction: other operators' accepted or airborne intents overlapping in 4D."""
        rows = s.execute(
            select(HubIntent).where(
                HubIntent.state.in_([IntentState.ACCEPTED.value, IntentState.ACTIVATED.value]),
                HubIntent.operator_id != request.operator_id,
            )
        ).scalars()
        out = []
        for row in rows:
            other = OperationalIntent.model_validate(row.doc)
            if request.priority > other.request.priority:
                continue  # higher priority (emergency) flights are not held back by routine ones
            if intents_conflict(request.volumes, other.request.volumes):
                out.append(
                    Reason(code="conflict", message=f"conflicts in 4D with intent {other.id} of another operator")
                )
        return out

    def get_intent(self, intent_id: str) -> OperationalIntent:
        with self._sessions() as s:
            return OperationalIntent.model_validate(self._row(s, intent_id).doc)

    def decide(self, intent_id: str, accept: bool, message: str = "") -> OperationalIntent:
        """The authority's review of a pending filing."""
        reason = [] if accept else [Reason(code="not_allowed", message=message or "refused by the authority")]
        return self._transition(
            intent_id, {IntentState.PENDING}, IntentState.ACCEPTED if accept else IntentState.REJECTED, reason
        )

    def activate(self, intent_id: str) -> OperationalIntent:
        return self._transition(intent_id, {IntentState.ACCEPTED}, IntentState.ACTIVATED)

    def end(self, intent_id: str) -> OperationalIntent:
        return self._transition(intent_id, {IntentState.ACTIVATED, IntentState.ACCEPTED}, IntentState.ENDED)

    def cancel(self, intent_id: str) -> OperationalIntent:
        return self._transition(
            intent_id,
            {IntentState.PENDING, IntentState.ACCEPTED, IntentState.ACTIVATED},
            IntentState.CANCELLED,
        )

    def _transition(
        self,
        intent_id: str,
        allowed: set[IntentState],
        target: IntentState,
        reasons: list[Reason] | None = None,
    ) -> OperationalIntent:
        with self._lock, self._sessions.begin() as s:
            row = self._row(s, intent_id)
            intent = OperationalIntent.model_validate(row.doc)
            if intent.state == target:
                return intent  # repeating a transition is harmless (retries)
            if intent.state not in allowed:
                raise Refused(f"intent {intent_id} is {intent.state.value}; cannot become {target.value}")
            return self._set_state(s, row, intent, target, reasons if reasons is not None else intent.reasons)

    def _set_state(
        self,
        s: Session,
        row: HubIntent,
        intent: OperationalIntent,
        state: IntentState,
        reasons: list[Reason],
        conformant: bool | None = None,
    ) -> OperationalIntent:
        update: dict[str, Any] = {"state": state, "reasons": reasons, "updated_at": self.clock()}
        if conformant is not None:
            update["conformant"] = conformant
        new = intent.model_copy(update=update)
        row.state, row.doc = state.value, new.model_dump(mode="json")
        return new

    @staticmethod
    def _row(s: Session, intent_id: str) -> HubIntent:
        row = s.get(HubIntent, intent_id)
        if row is None:
            raise NotFound(f"no intent {intent_id!r}")
        return row

    # -- positions and conformance ------------------------------------------------------------

    def report_positions(self, reports: list[PositionReport]) -> int:
        with self._lock, self._sessions.begin() as s:
            for r in sorted(reports, key=lambda r: r.time):
                row = self._row(s, r.intent_id)
                intent = OperationalIntent.model_validate(row.doc)
                if r.drone_id != intent.request.drone_id:
                    raise BadInput(f"position of drone {r.drone_id!r} reported for intent {intent.id} of another drone")
                conforms = intent.state == IntentState.ACTIVATED and position_conforms(
                    intent.request.volumes, r.lat, r.lon, r.alt_amsl_m, r.time
                )
                s.add(
                    HubPosition(
                        intent_id=r.intent_id,
                        drone_id=r.drone_id,
                        time=r.time,
                        lat=r.lat,
                        lon=r.lon,
                        alt_amsl_m=r.alt_amsl_m,
                        conformant=conforms,
                    )
                )
                if conforms != intent.conformant:
                    self._set_state(s, row, intent, intent.state, intent.reasons, conformant=conforms)
                    if not conforms:
                        why = (
                            "outside its volumes"
                            if intent.state == IntentState.ACTIVATED
                            else f"while {intent.state.value}"
                        )
                        self._notify(
                            NotificationKind.NONCONFORMANCE,
                            intent.request.operator_id,
                            intent.id,
                            f"drone {r.drone_id} of intent {intent.id} is {why}",
                            {
                                "lat": r.lat,
                                "lon": r.lon,
                                "alt_amsl_m": r.alt_amsl_m,
                                "time": r.time.isoformat(),
                            },
                            s,
                        )
            return len(reports)

    def positions(self, intent_id: str) -> list[PositionReport]:
        with self._sessions() as s:
            rows = s.execute(
                select(HubPosition).where(HubPosition.intent_id == intent_id).order_by(HubPosition.time)
            ).scalars()
            return [
                PositionReport(
                    intent_id=p.intent_id,
                    drone_id=p.drone_id,
                    time=as_utc(p.time),
                    lat=p.lat,
                    lon=p.lon,
                    alt_amsl_m=p.alt_amsl_m,
                )
                for p in rows
            ]

    # -- notifications ----------------------------------------------------------------------

    def _notify(
        self,
        kind: NotificationKind,
        operator_id: str | None,
        intent_id: str | None,
        detail: str,
        data: dict[str, Any],
        session: Session | None = None,
    ) -> None:
        doc = {
            "kind": kind.value,
            "time": self.clock().isoformat(),
            "operator_id": operator_id,
            "intent_id": intent_id,
            "detail": detail,
            "data": data,
        }
        if session is not None:
            session.add(HubNotification(operator_id=operator_id, doc=doc))
            return
        with self._sessions.begin() as s:
            s.add(HubNotification(operator_id=operator_id, doc=doc))

    def notifications(self, after: int = 0, operator_id: str | None = None) -> list[Notification]:
        with self._sessions() as s:
            q = select(HubNotification).where(HubNotification.seq > after).order_by(HubNotification.seq)
            if operator_id is not None:
                q = q.where((HubNotification.operator_id == operator_id) | HubNotification.operator_id.is_(None))
            return [Notification(seq=r.seq, **r.doc) for r in s.execute(q).scalars()]

    def dispatch_readiness(self) -> DispatchReadiness:
        return DispatchReadiness(ok=True)


def _zone_in_bbox(zone: Zone, bbox: tuple[float, float, float, float]) -> bool:
    lon_min, lat_min, lon_max, lat_max = bbox
    zb = ZoneIndex([zone]).bounds_lonlat
    return not (zb[2] < lon_min or zb[0] > lon_max or zb[3] < lat_min or zb[1] > lat_max)


def _zone_window_overlaps(zone: Zone, start: datetime | None, end: datetime | None) -> bool:
    periods = [
        p for v in zone.volumes for p in (v.applicability if v.applicability is not None else zone.applicability)
    ]
    if not periods or any(v.applicability == [] for v in zone.volumes):
        return True
    lo = as_utc(start) if start else None
    hi = as_utc(end) if end else None
    return any(
        (p.end is None or lo is None or p.end > lo) and (p.start is None or hi is None or p.start < hi) for p in periods
    )
