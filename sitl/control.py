"""Fault injection for tests: a JSON-over-UDP endpoint on 127.0.0.1 (never on other interfaces).

`skypatrol sim ... --control-port C` listens on 127.0.0.1:C (0 picks a free port; the address is
printed on stderr as `control: udp://127.0.0.1:C`). One datagram in, one datagram out:

    {"vehicle": 1, "fault": "state"}                          -> the vehicle's true state
    {"vehicle": 1, "fault": "link", "up": false}              cut the link (both directions)
    {"vehicle": 1, "fault": "link", "up": false, "duration_s": 15}   ... for 15 simulated s
    {"vehicle": 1, "fault": "link", "up": true}               restore it
    {"vehicle": 1, "fault": "battery", "remaining": 0.06}     set the state of charge (0..1)
    {"vehicle": 1, "fault": "battery", "drain_factor": 20}    drain 20x faster
    {"vehicle": 1, "fault": "gps", "ok": false}               lose (or regain) GPS
    {"vehicle": 1, "fault": "motor", "failed": true}          motor failure: it falls
    {"vehicle": 1, "fault": "wind", "east_m_s": 3, "north_m_s": 0, "gust_m_s": 1}

The reply is {"ok": true, "state": {...}} or {"ok": false, "error": "..."}. `vehicle` is the
system id. Durations are simulated seconds. In-process, call FleetSimulator.inject() instead.
"""

from __future__ import annotations

import asyncio
import json
import socket
from typing import Any

from sitl.simulator import FleetSimulator


class ControlServer(asyncio.DatagramProtocol):
    def __init__(self, sim: FleetSimulator) -> None:
        self.sim = sim
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        try:
            request = json.loads(data)
            args = {k: v for k, v in request.items() if k not in ("vehicle", "fault")}
            reply: dict[str, Any] = {
                "ok": True,
                "state": self.sim.inject(int(request["vehicle"]), request["fault"], **args),
            }
        except (KeyError, ValueError, TypeError) as exc:
            reply = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        assert self.transport is not None
        self.transport.sendto(json.dumps(reply).encode(), addr)


async def serve_control(sim: FleetSimulator, port: int) -> tuple[asyncio.DatagramTransport, int]:
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(lambda: ControlServer(sim), local_addr=("127.0.0.1", port))
    return transport, transport.get_extra_info("sockname")[1]


class ControlClient:
    """Blocking client (a few milliseconds per call on loopback); safe to call from async tests."""

    def __init__(self, port: int, host: str = "127.0.0.1", timeout_s: float = 5.0) -> None:
        self.address = (host, port)
        self.timeout_s = timeout_s

    def request(self, vehicle: int, fault: str, **args: Any) -> dict[str, Any]:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(self.timeout_s)
            sock.sendto(json.dumps({"vehicle": vehicle, "fault": fault, **args}).encode(), self.address)
            reply = json.loads(sock.recv(65536))
        if not reply.get("ok"):
            raise RuntimeError(reply.get("error", "control request failed"))
        return reply["state"]

    def state(self, vehicle: int) -> dict[str, Any]:
        return self.request(vehicle, "state")

    def cut_link(self, vehicle: int, duration_s: float | None = None) -> dict[str, Any]:
        return self.request(vehicle, "link", up=False, duration_s=duration_s)

    def restore_link(self, vehicle: int) -> dict[str, Any]:
        return self.request(vehicle, "link", up=True)

    def set_battery(self, vehicle: int, remaining: float) -> dict[str, Any]:
        return self.request(vehicle, "battery", remaining=remaining)

    def set_gps(self, vehicle: int, ok: bool) -> dict[str, Any]:
        return self.request(vehicle, "gps", ok=ok)

    def fail_motor(self, vehicle: int) -> dict[str, Any]:
        return self.request(vehicle, "motor", failed=True)
