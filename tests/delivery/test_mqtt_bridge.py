"""The MQTT bridge against a real Mosquitto of the test's own (stopped and started on purpose)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from core.db import Database
from core.events import EventBus
from core.settings import MqttSettings
from skypatrol.delivery.mqtt_bridge import MqttBridge, topic_for
from tests.conftest import free_port

pytestmark = pytest.mark.mqtt


class Broker:
    def __init__(self, binary: str, workdir: Path) -> None:
        self.binary = binary
        self.port = free_port()
        workdir.mkdir(parents=True, exist_ok=True)
        self.conf = workdir / "mosquitto.conf"
        self.conf.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence true\n"
            f"persistence_location {workdir}/\nmax_queued_messages 100000\n"
        )
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen([self.binary, "-c", str(self.conf)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        import socket

        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("mosquitto did not start")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


class Consumer:
    """A QoS 1 subscriber with a persistent session (survives its own and the broker's restarts)."""

    def __init__(self, port: int, client_id: str = "test-consumer") -> None:
        self.port = port
        self.lock = threading.Lock()
        self.messages: list[tuple[str, dict]] = []
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id,
                                  protocol=mqtt.MQTTv311, clean_session=False)
        self.client.on_connect = lambda c, *_: c.subscribe("skypatrol/#", qos=1)
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(0.2, 1.0)

    def _on_message(self, _c, _u, msg) -> None:  # type: ignore[no-untyped-def]
        with self.lock:
            self.messages.append((msg.topic, json.loads(msg.payload)))

    def start(self) -> None:
        self.client.connect("127.0.0.1", self.port)
        self.client.loop_start()

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def unique_in_order(self) -> list[dict]:
        seen: set[str] = set()
        out = []
        with self.lock:
            for _, ev in self.messages:
                if ev["id"] not in seen:
                    seen.add(ev["id"])
                    out.append(ev)
        return out

    async def wait_for(self, n: int, timeout: float = 30.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.unique_in_order()
            if len(got) >= n:
                return got
            await asyncio.sleep(0.1)
        return self.unique_in_order()


@pytest.fixture
def broker(mosquitto_bin: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    b = Broker(mosquitto_bin, tmp_path / "mqtt")
    b.start()
    yield b
    b.stop()


@pytest.fixture
async def bus(tmp_path: Path):
    db = Database(f"sqlite:///{tmp_path / 'bridge.db'}")
    db.upgrade()
    b = EventBus(db)
    await b.start()
    yield b
    await b.stop()
    db.dispose()


def _bridge(bus: EventBus, port: int) -> MqttBridge:
    return MqttBridge(bus, bus.db, MqttSettings(enabled=True, port=port, client_id="bridge-test"))


async def test_broker_down_10s_then_bridge_catches_up_with_nothing_lost(broker: Broker, bus: EventBus) -> None:
    consumer = Consumer(broker.port)
    consumer.start()
    await asyncio.sleep(0.5)
    bridge = _bridge(bus, broker.port)
    await bridge.start()
    try:
        for i in range(50):
            await bus.publish("skypatrol.mission.progress.v1", {"i": i}, subject="m1")
        assert len(await consumer.wait_for(50)) == 50

        broker.stop()
        t0 = time.monotonic()
        i = 50
        while time.monotonic() - t0 < 10:  # publish through a 10 s outage
            await bus.publish("skypatrol.mission.progress.v1", {"i": i}, subject="m1")
            i += 1
            await asyncio.sleep(0.05)
        assert not bridge.connected
        broker.start()
        got = await consumer.wait_for(i, timeout=40)
        assert [e["data"]["i"] for e in got] == list(range(i))
        assert [e["seq"] for e in got] == list(range(1, i + 1))
        deadline = time.monotonic() + 10
        while bridge.acked_seq < i and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        assert bridge.acked_seq == i
    finally:
        await bridge.stop()
        consumer.stop()


async def test_consumer_that_drops_and_reconnects_gets_every_event_once_in_order(
        broker: Broker, bus: EventBus) -> None:
    consumer = Consumer(broker.port, "dropping-consumer")
    consumer.start()
    await asyncio.sleep(0.5)
    bridge = _bridge(bus, broker.port)
    await bridge.start()
    try:
        for i in range(20):
            await bus.publish("skypatrol.test.v1", {"i": i}, subject="a/b+c#d")
        await consumer.wait_for(20)
        consumer.stop()
        for i in range(20, 60):
            await bus.publish("skypatrol.test.v1", {"i": i}, subject="a/b+c#d")
        await asyncio.sleep(1.0)
        consumer = Consumer(broker.port, "dropping-consumer")  # same session id
        consumer.start()
        got = await consumer.wait_for(40)
        assert [e["data"]["i"] for e in got] == list(range(20, 60))
        assert {t for t, _ in consumer.messages} == {"skypatrol/skypatrol.test.v1/a_b_c_d"}
    finally:
        await bridge.stop()
        consumer.stop()


async def test_bridge_restart_resumes_from_the_acknowledged_cursor(broker: Broker, bus: EventBus) -> None:
    consumer = Consumer(broker.port, "resume-consumer")
    consumer.start()
    await asyncio.sleep(0.5)
    bridge = _bridge(bus, broker.port)
    await bridge.start()
    for i in range(10):
        await bus.publish("skypatrol.test.v1", {"i": i})
    await consumer.wait_for(10)
    await bridge.stop()
    for i in range(10, 25):  # published while no bridge runs
        await bus.publish("skypatrol.test.v1", {"i": i})
    bridge = _bridge(bus, broker.port)
    await bridge.start()
    try:
        got = await consumer.wait_for(25)
        assert [e["data"]["i"] for e in got] == list(range(25))
    finally:
        await bridge.stop()
        consumer.stop()


def test_topic_names() -> None:
    from core.events import make_event

    e = make_event("skypatrol.drone.connected.v1", None, subject="drone/1", source="s")
    assert topic_for("skypatrol", e) == "skypatrol/skypatrol.drone.connected.v1/drone_1"
    e2 = make_event("skypatrol.drone.connected.v1", None, source="s")
    assert topic_for("skypatrol", e2) == "skypatrol/skypatrol.drone.connected.v1/_"
