"""SkyPatrol fleet."""
