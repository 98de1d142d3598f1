"""SkyPatrol core."""
