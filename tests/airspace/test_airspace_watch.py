"""Hub notifications and reachability reach the event stream (reference hub and bus, both real)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx
from airspace_testkit import square, volume, zone
from test_airspace_hub import ADMIN, SUITABLE, RunningHub, now, request

from airspace.hub.client import HubClient
from airspace.watch import AuthorityWatcher
from core.db import Database
from core.events import EventBus


async def test_notifications_and_outages_become_events_once(tmp_path: Path) -> None:
    hub = RunningHub(tmp_path / "hub.db").start()
    db = Database(f"sqlite:///{tmp_path / 'sp.db'}")
    db.upgrade()
    bus = EventBus(db)
    await bus.start()
    client = HubClient(hub.url, retries=1, backoff_s=0.01, timeout_s=2, connect_timeout_s=0.5)
    try:
        watcher = AuthorityWatcher(client, bus, operator_id="op-a")
        await watcher.poll_once()
        assert await bus.read(0, 10) == []  # reachable and quiet: nothing to say

        intent = client.file_intent(request("op-a", now() + timedelta(minutes=10), *SUITABLE))
        tfr = zone("TFR-9", "PROHIBITED", volume(square(450, -600, 550, -400)),
                   applicability=[{"start": now().isoformat(), "end": (now() + timedelta(hours=2)).isoformat()}])
        r = httpx.post(f"{hub.url}/v1/restrictions", json=tfr.model_dump(mode="json"),
                       headers={"Authorization": f"Bearer {ADMIN}"})
        assert r.status_code == 201
        await watcher.poll_once()
        await watcher.poll_once()  # polling again publishes nothing new
        events = await bus.read(0, 10)
        assert [e.type for e in events] == ["skypatrol.airspace.restriction_added.v1",
                                            "skypatrol.airspace.plan_revoked.v1"]
        assert events[1].subject == intent.id

        hub.stop()
        await watcher.poll_once()
        await watcher.poll_once()
        down = await bus.read(2, 10)
        assert [e.type for e in down] == ["skypatrol.airspace.hub_unreachable.v1"]
        assert "hub unreachable" in down[0].data["reason"]
        hub.start()
        await watcher.poll_once()
        assert [e.type for e in await bus.read(3, 10)] == ["skypatrol.airspace.hub_restored.v1"]

        # A fresh watcher (after a restart) re-reads the hub's notifications: stored once only.
        await AuthorityWatcher(client, bus, operator_id="op-a").poll_once()
        assert len(await bus.read(0, 100)) == 4
    finally:
        client.close()
        hub.stop()
        await bus.stop()
        db.dispose()
