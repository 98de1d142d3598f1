"""SkyPatrol airspace."""
