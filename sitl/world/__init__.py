"""The simulated world the drones' cameras see: roads, road-works sites, muck trucks on a timetable.

- `model`: the world file (GeoJSON) read into metric objects around an origin;
- `default`: a small default world near Jinshan;
- `traffic`: where each vehicle is at a given time;
- `camera`: the pinhole camera maths the renderer needs (sitl imports only `geo`);
- `render`: numpy + OpenCV renderer returning the image and the ground truth of each frame.
"""

from sitl.world.default import default_world
from sitl.world.model import World, load_world, world_from_geojson, world_to_geojson

__all__ = ["World", "default_world", "load_world", "world_from_geojson", "world_to_geojson"]
