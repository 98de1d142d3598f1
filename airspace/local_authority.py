"""`LocalAuthority`: the airspace authority embedded in SkyPatrol (the default of `skypatrol
serve`): the same filing rules as the reference hub, decided at once, state in memory (or in a
SQLite file), zones from SkyPatrol's own zone store."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from airspace.hub.engine import AuthorityEngine, Clock, utc_now
from airspace.hub.policy import FilingPolicy
from airspace.index import ZoneIndex
from airspace.model import Zone


class LocalAuthority(AuthorityEngine):
    def __init__(
        self,
        zones: Iterable[Zone] = (),
        *,
        zone_index: Callable[[], ZoneIndex] | None = None,
        policy: FilingPolicy | None = None,
        clock: Clock = utc_now,
        db_url: str = "sqlite://",
    ) -> None:
        super().__init__(db_url, policy, clock, zones)
        self._zone_index = zone_index

    def index(self) -> ZoneIndex:
        # Zones come from the caller's store when given one (e.g. the database's ZoneStore).
        return self._zone_index() if self._zone_index is not None else super().index()
