"""The reference hub run for real (uvicorn on a free loopback port) and HubClient talking to it;
LocalAuthority applying the same rules in-process."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import uvicorn
from airspace_testkit import HOME_AMSL_M, latlon, route, square, volume, zone

from airspace.authority import AirspaceAuthority, IntentRequest, IntentState, NotificationKind, PositionReport
from airspace.hub.client import HubClient
from airspace.hub.engine import AuthorityEngine
from airspace.hub.server import create_hub_app
from airspace.intent import intent_volumes
from airspace.local_authority import LocalAuthority
from core.errors import Conflict, Unavailable

ZONES = [
    zone("SCHOOL", "REQ_AUTHORISATION", volume(square(400, -100, 600, 100))),
    zone("PLANT", "PROHIBITED", volume(square(400, 900, 600, 1100))),
]
ADMIN = "hub-admin-secret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RunningHub:
    """The hub app served by uvicorn in a thread; stop and start again on the same port."""

    def __init__(self, db_path: Path) -> None:
        self.db_url = f"sqlite:///{db_path}"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.engine: AuthorityEngine | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> RunningHub:
        self.engine = AuthorityEngine(self.db_url, zones=ZONES)
        config = uvicorn.Config(
            create_hub_app(self.engine, ADMIN), host="127.0.0.1", port=self.port, log_level="warning", lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            assert time.monotonic() < deadline, "hub did not start"
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
            assert self._thread is not None
            self._thread.join(10)
            self._server = None
        if self.engine is not None:
            self.engine.close()
            self.engine = None


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[RunningHub]:
    h = RunningHub(tmp_path / "hub.db").start()
    yield h
    h.stop()


@pytest.fixture
def client(hub: RunningHub) -> Iterator[HubClient]:
    with HubClient(hub.url, retries=1, backoff_s=0.01, timeout_s=3) as c:
        yield c


def request(operator: str, start: datetime, *waypoints: tuple[float, float, float], **kw) -> IntentRequest:  # type: ignore[no-untyped-def]
    home = waypoints[0][:2]  # each drone takes off below its first waypoint
    vols = intent_volumes(route(*waypoints, home=home), HOME_AMSL_M, start)
    return IntentRequest(operator_id=operator, drone_id=f"{operator}-d1", home_amsl_m=HOME_AMSL_M, volumes=vols, **kw)


THROUGH_SCHOOL = ((0, 0, 50), (1000, 0, 50))
SUITABLE = ((0, -500, 50), (1000, -500, 50))


def now() -> datetime:
    return datetime.now(UTC)


def test_late_filing_for_controlled_airspace_is_rejected_with_that_reason(client: HubClient) -> None:
    late = client.file_intent(request("op-a", now() + timedelta(hours=2), *THROUGH_SCHOOL))
    assert late.state is IntentState.REJECTED and late.needs_authorisation
    (reason,) = late.reasons
    assert reason.code == "late_filing" and "deadline" in reason.message
    on_time = client.file_intent(request("op-a", now() + timedelta(days=3), *THROUGH_SCHOOL))
    assert on_time.state is IntentState.ACCEPTED and on_time.needs_authorisation
    # Emergency missions: 30 minutes ahead is enough, 10 minutes is not.
    assert (
        client.file_intent(request("op-a", now() + timedelta(hours=1), *THROUGH_SCHOOL, emergency=True)).state
        is IntentState.ACCEPTED
    )
    too_late = client.file_intent(request("op-b", now() + timedelta(minutes=10), *THROUGH_SCHOOL, emergency=True))
    assert too_late.state is IntentState.REJECTED and too_late.reasons[0].code == "late_filing"


def test_suitable_airspace_is_accepted_at_once_and_prohibited_zones_never(client: HubClient) -> None:
    suitable = client.file_intent(request("op-a", now() + timedelta(minutes=5), *SUITABLE))
    assert suitable.state is IntentState.ACCEPTED and not suitable.needs_authorisation
    assert client.get_intent(suitable.id) == suitable  # still filed, for reporting
    high = client.file_intent(request("op-a", now() + timedelta(minutes=5), (0, -500, 200), (1000, -500, 200)))
    assert high.state is IntentState.REJECTED and high.needs_authorisation  # above 120 m: not suitable airspace
    plant = client.file_intent(request("op-a", now() + timedelta(days=3), (0, 1000, 50), (1000, 1000, 50)))
    assert plant.state is IntentState.REJECTED and plant.reasons[0].code == "prohibited_zone"


def test_overlapping_intents_of_two_operators_second_rejected(client: HubClient) -> None:
    start = now() + timedelta(minutes=10)
    first = client.file_intent(request("op-a", start, *SUITABLE))
    assert first.state is IntentState.ACCEPTED
    crossing = ((500, -1000, 50), (500, -300, 50))
    second = client.file_intent(request("op-b", start, *crossing))
    assert second.state is IntentState.REJECTED
    assert second.reasons[0].code == "conflict" and first.id in second.reasons[0].message
    assert client.file_intent(request("op-a", start, *crossing)).state is IntentState.ACCEPTED  # own fleet
    assert client.file_intent(request("op-b", start + timedelta(hours=2), *crossing)).state is IntentState.ACCEPTED
    assert (
        client.file_intent(request("op-b", start, (500, -1000, 150), (500, -300, 150), drone_class="medium"))
        .reasons[0]
        .code
        == "late_filing"
    )
    above = client.file_intent(request("op-c", start, (500, -1100, 100), (500, -300, 100)))
    assert above.state is IntentState.ACCEPTED  # 50 m above the other's band: no conflict


def test_idempotency_key_files_once(client: HubClient) -> None:
    req = request("op-a", now() + timedelta(minutes=10), *SUITABLE)
    one = client.file_intent(req, idempotency_key="k-1")
    assert client.file_intent(req, idempotency_key="k-1").id == one.id
    with pytest.raises(Conflict, match="idempotency"):
        client.file_intent(request("op-a", now() + timedelta(minutes=20), *SUITABLE), idempotency_key="k-1")


def test_positions_outside_the_intent_raise_nonconformance(client: HubClient) -> None:
    intent = client.file_intent(request("op-a", now() - timedelta(seconds=30), *SUITABLE))
    assert intent.state is IntentState.ACCEPTED
    assert client.activate(intent.id).state is IntentState.ACTIVATED
    inside = PositionReport(
        intent_id=intent.id,
        drone_id="op-a-d1",
        time=now(),
        lat=latlon(300, -500)[0],
        lon=latlon(300, -500)[1],
        alt_amsl_m=HOME_AMSL_M + 50,
    )
    assert client.report_positions([inside]) == 1
    assert client.notifications(operator_id="op-a") == []
    lat, lon = latlon(300, -200)  # 300 m off the route, beyond the 30 m buffer
    outside = inside.model_copy(update={"lat": lat, "lon": lon, "time": now()})
    too_high = inside.model_copy(update={"alt_amsl_m": HOME_AMSL_M + 90, "time": now()})
    client.report_positions([outside, too_high])
    notes = client.notifications(operator_id="op-a")
    assert [(n.kind, n.intent_id) for n in notes] == [
        (NotificationKind.NONCONFORMANCE, intent.id)
    ]  # once, not per report
    assert not client.get_intent(intent.id).conformant
    assert client.notifications(after=notes[-1].seq, operator_id="op-a") == []
    assert client.notifications(operator_id="op-other") == []
    assert client.end(intent.id).state is IntentState.ENDED


def test_new_restriction_revokes_crossing_intents(hub: RunningHub, client: HubClient) -> None:
    intent = client.file_intent(request("op-a", now() + timedelta(minutes=10), *SUITABLE))
    other = client.file_intent(request("op-b", now() + timedelta(minutes=10), (0, -3000, 50), (1000, -3000, 50)))
    tfr = zone(
        "TFR-1",
        "PROHIBITED",
        volume(square(450, -600, 550, -400)),
        applicability=[{"start": now().isoformat(), "end": (now() + timedelta(hours=3)).isoformat()}],
    )
    import httpx

    denied = httpx.post(f"{hub.url}/v1/restrictions", json=tfr.model_dump(mode="json"))
    assert denied.status_code == 403
    res = httpx.post(
        f"{hub.url}/v1/restrictions", json=tfr.model_dump(mode="json"), headers={"Authorization": f"Bearer {ADMIN}"}
    )
    assert res.status_code == 201 and res.json() == {"revoked": [intent.id]}
    assert client.get_intent(intent.id).state is IntentState.REVOKED
    assert client.get_intent(other.id).state is IntentState.ACCEPTED
    kinds = [(n.kind, n.intent_id) for n in client.notifications(operator_id="op-a")]
    assert kinds == [(NotificationKind.RESTRICTION_ADDED, None), (NotificationKind.PLAN_REVOKED, intent.id)]
    assert "TFR-1" in [z.id for z in client.zones(start=now(), end=now() + timedelta(hours=1))]
    assert "TFR-1" not in [z.id for z in client.zones(start=now() + timedelta(hours=4), end=now() + timedelta(hours=5))]
    assert [z.id for z in client.zones(bbox=(*latlon(-100, 800)[::-1], *latlon(700, 1200)[::-1]))] == ["PLANT"]


def test_hub_down_blocks_dispatch_buffers_reports_and_flushes_on_return(hub: RunningHub) -> None:
    client = HubClient(hub.url, retries=1, backoff_s=0.01, timeout_s=2, connect_timeout_s=0.5)
    intent = client.file_intent(request("op-a", now() - timedelta(seconds=30), *SUITABLE))
    client.activate(intent.id)
    assert client.dispatch_readiness().ok
    lat, lon = latlon(200, -500)

    def report(i: int) -> PositionReport:
        return PositionReport(
            intent_id=intent.id,
            drone_id="op-a-d1",
            time=now() + timedelta(milliseconds=i),
            lat=lat,
            lon=lon,
            alt_amsl_m=HOME_AMSL_M + 50,
        )

    assert client.report_positions([report(0)]) == 1
    hub.stop()
    readiness = client.dispatch_readiness()
    assert not readiness.ok and "no new dispatch: hub unreachable" in (readiness.reason or "")
    with pytest.raises(Unavailable, match="hub unreachable"):
        client.file_intent(request("op-a", now() + timedelta(minutes=10), *SUITABLE))
    assert client.report_positions([report(1), report(2)]) == 0
    assert client.report_positions([report(3)]) == 0
    assert client.buffered == 3
    hub.start()
    assert client.dispatch_readiness().ok  # the hub answers again: the buffer is flushed
    assert client.buffered == 0
    assert hub.engine is not None
    times = [p.time for p in hub.engine.positions(intent.id)]
    assert len(times) == 4 and times == sorted(times)
    client.close()


def test_local_authority_decides_at_once_with_the_same_rules() -> None:
    local = LocalAuthority(ZONES)
    assert isinstance(local, AirspaceAuthority)
    late = local.file_intent(request("op-a", now() + timedelta(hours=2), *THROUGH_SCHOOL))
    assert late.state is IntentState.REJECTED and late.reasons[0].code == "late_filing"
    authorised = local.file_intent(
        request("op-a", now() + timedelta(hours=2), *THROUGH_SCHOOL, authorisations=["SCHOOL"])
    )
    assert authorised.state is IntentState.ACCEPTED and not authorised.needs_authorisation
    first = local.file_intent(request("op-a", now() + timedelta(minutes=5), *SUITABLE))
    second = local.file_intent(request("op-b", now() + timedelta(minutes=5), (500, -1000, 50), (500, -300, 50)))
    assert (first.state, second.state) == (IntentState.ACCEPTED, IntentState.REJECTED)
    assert local.dispatch_readiness().ok
    local.close()


def test_hub_serve_options_are_checked(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from airspace.hub.cli import build_app, hub_app

    res = CliRunner().invoke(hub_app, ["serve", "--deadline", "noon", "--db", str(tmp_path / "h.db")])
    assert res.exit_code == 2 and "--deadline 'noon' is not HH:MM" in res.stderr
    res = CliRunner().invoke(hub_app, ["serve", "--zones", str(tmp_path / "none.json"), "--db", str(tmp_path / "h.db")])
    assert res.exit_code == 2 and "no such file" in res.stderr
    app = build_app(str(tmp_path / "h.db"), [], None, "18:30", 45, "Asia/Shanghai", review=True)
    policy = app.state.engine.policy
    assert (policy.controlled_deadline_local.hour, policy.emergency_lead, policy.auto_approve) == (
        18,
        timedelta(minutes=45),
        False,
    )


def test_a_new_restriction_leaves_an_authorised_over_height_flight_elsewhere_alone() -> None:
    # A 150 m flight (above the light class's true-height limit) filed two days ahead: it needs
    # authorisation and is accepted. A restriction far from it must not withdraw it; one across it must.
    engine = AuthorityEngine()
    start = now() + timedelta(days=2)
    high = engine.file_intent(request("op-a", start, (0, -500, 150), (1000, -500, 150)))
    assert high.state is IntentState.ACCEPTED
    window = [{"start": now().isoformat(), "end": (now() + timedelta(days=3)).isoformat()}]
    far = zone("TFR-FAR", "PROHIBITED", volume(square(5000, 5000, 5100, 5100)), applicability=window)
    assert engine.add_restriction(far) == []
    assert engine.get_intent(high.id).state is IntentState.ACCEPTED
    across = zone("TFR-ON", "PROHIBITED", volume(square(450, -600, 550, -400)), applicability=window)
    assert engine.add_restriction(across) == [high.id]
    assert engine.get_intent(high.id).state is IntentState.REVOKED
    engine.close()
