"""SkyPatrol skypatrol."""
