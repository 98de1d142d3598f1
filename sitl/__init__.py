"""SkyPatrol sitl."""
