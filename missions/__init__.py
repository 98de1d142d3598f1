"""SkyPatrol missions."""
