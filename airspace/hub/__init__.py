"""The hub protocol's reference server (`skypatrol hub serve`) and SkyPatrol's HTTP client."""

from airspace.hub.client import HubClient
from airspace.hub.engine import AuthorityEngine
from airspace.hub.policy import FilingPolicy
from airspace.hub.server import create_hub_app

__all__ = ["AuthorityEngine", "FilingPolicy", "HubClient", "create_hub_app"]
