"""SkyPatrol inference: recorded or live drone video -> georeferenced, evidence-backed events.

One stage per module, each with typed inputs and outputs:

    sources (frames + times) -> telemetry (pose at frame time) -> detectors (pixel boxes)
      -> georef (ground positions + uncertainty) -> rules (metric size) -> tracker (ground-plane tracks)
      -> aggregate (road-works sites, muck-truck checks, evidence) -> an EventSink

Imports only `geo` and `core` (DESIGN.md arrows); publishes through the sink it is given.
"""
