"""Aggregation into what a city acts on: road-works sites, muck-truck checks, evidence.

- `sites`: static detections -> object instances -> persistent road-works sites (polygons);
- `store`: where sites persist between patrols (interface, in-memory and JSON-file stores);
- `permits`: the register of permitted works (GeoJSON polygons);
- `routes`: approved muck-truck routes (buffered lines) and hours;
- `evidence`: content-addressed images (sha256 file names);
- `aggregator`: ties them together and produces the events to publish.
"""
