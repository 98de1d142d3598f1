"""Mission file formats: QGC .plan, .waypoints, GeoJSON, KML."""
