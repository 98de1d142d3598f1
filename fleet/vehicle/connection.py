"""The one owner of a vehicle's MAVSDK connection: one `Mavsdk` instance per vehicle link.

MAVSDK keeps a system across link drops (it resumes when heartbeats return, subscriptions
included), so a `VehicleConnection` is opened once and kept; only a failed first contact is retried.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

from mavsdk.asyncio import ComponentType, Configuration, Mavsdk, System
from mavsdk.exceptions import MavsdkError

from core.errors import Unavailable

log = logging.getLogger(__name__)


class VehicleConnection:
    def __init__(self, url: str) -> None:
        self.url = url
        self._mavsdk: Mavsdk | None = None
        self._system: System | None = None

    @property
    def system(self) -> System:
        if self._system is None:
            raise Unavailable(f"no vehicle connected on {self.url}")
        return self._system

    @property
    def is_open(self) -> bool:
        return self._system is not None

    async def open(self, timeout_s: float = 20.0) -> System:
        """Listen or dial on `url` and wait for the first autopilot; `Unavailable` when none comes.

        After a timeout the link stays open (a udpin port stays bound), so calling again waits on.
        """
        if self._system is not None:
            return self._system
        if self._mavsdk is None:
            self._mavsdk = Mavsdk(Configuration.create_with_component_type(ComponentType.GROUND_STATION))
            try:
                await self._mavsdk.add_any_connection(self.url)
            except BaseException as exc:
                await self.close()
                if isinstance(exc, MavsdkError | OSError):
                    raise Unavailable(f"cannot open vehicle link {self.url}: {exc}") from None
                raise
        system = await self._mavsdk.first_autopilot(timeout_s=timeout_s)
        if system is None:
            raise Unavailable(f"no autopilot on {self.url} within {timeout_s:g} s")
        self._system = system
        return system

    async def is_connected(self) -> bool:
        return self._system is not None and await self._system.is_connected()

    async def connection_states(self) -> AsyncIterator[bool]:
        """True/False as MAVSDK sees heartbeats come and go (its own timeout, about 3 s wall)."""
        async for connected in self.system.is_connected_state():
            yield connected

    async def autopilot_name(self) -> str:
        return str((await self.system.autopilot_type()).name)

    async def system_id(self) -> int:
        return int(await self.system.get_system_id())

    async def close(self) -> None:
        mavsdk, system, self._mavsdk, self._system = self._mavsdk, self._system, None, None
        # A System must not outlive its Mavsdk instance (MAVSDK aborts the process otherwise); the
        # asyncio wrapper has no destroy of its own, the System it wraps does.
        inner = getattr(system, "_system", None)
        if inner is not None:
            inner.destroy()
        if mavsdk is not None:
            # destroy() joins MAVSDK's threads: keep it off the event loop.
            await asyncio.to_thread(mavsdk.destroy)
