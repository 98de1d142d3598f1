"""SkyPatrol geo."""
