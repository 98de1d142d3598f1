"""SkyPatrol inference."""
