"""Event delivery beyond HTTP: the MQTT bridge."""
