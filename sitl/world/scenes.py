"""Random scenes for training and held-out evaluation: procedurally generated worlds and a
renderer with domain randomisation (ground, roofs, asphalt, vehicle and load colours, light,
shadows, blur, noise), plus random camera poses (40-150 m, nadir to oblique).

- `random_world(seed)`: roads, 0-2 road-works sites (cones, barriers, excavator, excavation) and
  vehicles of every kind (muck trucks loaded covered or uncovered, trucks, cars, buses) driving
  the roads, each its own route, so that each vehicle is somewhere along its road at `SCENE_T0`;
- `SceneRenderer(world, camera, seed=...)`: the `Renderer` with randomised textures and colours
  and standing buildings (not ground truth: they cast shadows and hide things);
- `random_look(rng)`, `random_pose(rng, world)`: light and viewpoint.

Everything is deterministic in its seed. The plain `Renderer` and its API are unchanged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import cv2
import numpy as np
from numpy.typing import NDArray

from sitl.world.camera import CameraPose
from sitl.world.default import JINSHAN
from sitl.world.model import DEFAULT_SIZES, Area, Road, StaticObject, TruckRoute, World
from sitl.world.render import Colour, Look, Renderer, _Box

FloatArray = NDArray[np.float64]
SCENE_T0 = 1_741_000_000.0  # the time at which random worlds are laid out (any fixed instant)

# (length range, width range, height range) in metres per vehicle kind.
VEHICLE_SIZES: dict[str, tuple[tuple[float, float], tuple[float, float], tuple[float, float]]] = {
    "muck_truck": ((8.0, 12.0), (2.4, 2.6), (3.0, 3.5)),
    "truck": ((6.0, 11.0), (2.2, 2.6), (2.8, 3.8)),
    "car": ((3.8, 5.0), (1.7, 1.95), (1.4, 1.7)),
    "bus": ((10.0, 13.0), (2.45, 2.6), (3.0, 3.4)),
}
VEHICLE_WEIGHTS = {"muck_truck": 0.3, "truck": 0.2, "car": 0.38, "bus": 0.12}


def _rot(v: FloatArray, deg: float) -> FloatArray:
    a = math.radians(deg)
    c, s = math.cos(a), math.sin(a)
    return np.array([c * v[0] - s * v[1], s * v[0] + c * v[1]])


def random_world(seed: int, *, extent_m: float = 160.0) -> World:
    """A random world around the origin: objects within +-extent_m/2, roads running through."""
    rng = np.random.default_rng(seed)
    w = World(JINSHAN[0] + rng.uniform(-0.05, 0.05), JINSHAN[1] + rng.uniform(-0.05, 0.05), JINSHAN[2])
    half = extent_m / 2
    roads: list[Road] = []
    n_roads = int(rng.integers(1, 4))
    for i in range(n_roads):
        hdg = float(rng.uniform(0, 180)) if i else float(rng.choice([0.0, 90.0, rng.uniform(0, 180)]))
        u = np.array([math.sin(math.radians(hdg)), math.cos(math.radians(hdg))])
        c = rng.uniform(-half * 0.6, half * 0.6, 2)
        lanes = int(rng.choice([2, 2, 4, 4, 6]))
        width = lanes * float(rng.uniform(3.0, 3.8)) + float(rng.uniform(0, 3))
        roads.append(Road(f"r{i}", np.array([c - u * 260, c + u * 260]), width, lanes))
    w.roads = roads
    objects: list[StaticObject] = []
    areas: list[Area] = []
    for s in range(int(rng.choice([0, 1, 1, 2, 2]))):
        road = roads[int(rng.integers(len(roads)))]
        a, b = road.line
        u = (b - a) / np.linalg.norm(b - a)
        nrm = np.array([-u[1], u[0]])
        hdg = math.degrees(math.atan2(u[0], u[1]))
        side = float(rng.choice([-1.0, 1.0]))
        start = (a + b) / 2 + u * rng.uniform(-half * 0.7, half * 0.4)
        length = float(rng.uniform(15, 50))
        off = side * float(rng.uniform(0.5, road.width_m / 2 - 1.0))
        sid = f"s{s}"
        n_cones = int(rng.integers(4, 16))
        for k in range(n_cones):
            p = start + u * (k * length / max(1, n_cones - 1)) + nrm * (off + rng.normal(0, 0.15))
            objects.append(_static(f"{sid}-cone-{k}", "traffic_cone", p, 0.0, sid))
        for k in range(int(rng.integers(0, 5))):
            p = start + u * rng.uniform(-3, length + 3) + nrm * (off + side * rng.uniform(0.5, 4))
            objects.append(_static(f"{sid}-barrier-{k}", "barrier", p, hdg + float(rng.choice([0, 90])), sid,
                                   length=float(rng.uniform(1.5, 3.0))))
        inner = start + u * length / 2 + nrm * (off + side * rng.uniform(3, 8))
        if rng.random() < 0.75:
            ex_l, ex_w = float(rng.uniform(5, 30)), float(rng.uniform(3, 10))
            corners = np.array([[-ex_l / 2, -ex_w / 2], [ex_l / 2, -ex_w / 2], [ex_l / 2, ex_w / 2],
                                [-ex_l / 2, ex_w / 2]])
            ang = -hdg + 90.0 + float(rng.normal(0, 10))
            poly = np.array([inner + _rot(q, ang) for q in corners])
            areas.append(Area(f"{sid}-dig", "excavation", poly, sid))
        if rng.random() < 0.7:
            p = inner + _rot(np.array([rng.uniform(-8, 8), rng.uniform(4, 9) * side]), 0.0)
            objects.append(_static(f"{sid}-excavator", "excavator", p, float(rng.uniform(0, 360)), sid,
                                   length=float(rng.uniform(5, 8)), width=float(rng.uniform(2.5, 3.2))))
        ring = np.array([start - u * 4 + nrm * (off - side * 1.5), start + u * (length + 4) + nrm * (off - side * 1.5),
                         start + u * (length + 4) + nrm * (off + side * 16), start - u * 4 + nrm * (off + side * 16)])
        areas.append(Area(sid, "road_works", ring, sid, bool(rng.random() < 0.3)))
    w.objects = objects
    w.areas = areas
    routes: list[TruckRoute] = []
    placed: list[tuple[tuple[int, int], float]] = []  # (road, lane) and distance along the lane at SCENE_T0
    kinds = list(VEHICLE_WEIGHTS)
    probs = np.array(list(VEHICLE_WEIGHTS.values()))
    for i in range(int(rng.integers(3, 13))):
        road_index = int(rng.integers(len(roads)))
        road = roads[road_index]
        kind = str(rng.choice(kinds, p=probs / probs.sum()))
        (l0, l1), (w0, w1), (h0, h1) = VEHICLE_SIZES[kind]
        lane = int(rng.integers(road.lanes))
        off = -road.width_m / 2 + (lane + 0.5) * road.width_m / road.lanes
        a, b = road.line
        if lane >= road.lanes // 2:
            a, b = b, a
            off = -off
        u = (b - a) / np.linalg.norm(b - a)
        nrm = np.array([u[1], -u[0]])  # right of travel
        line = np.array([a + nrm * abs(off), b + nrm * abs(off)])
        speed = float(rng.uniform(0.5, 14.0)) if rng.random() > 0.1 else 0.05
        total = float(np.linalg.norm(b - a))
        s0 = total / 2 + float(rng.uniform(-half, half))
        covered = bool(rng.random() < 0.45)
        routes.append(TruckRoute(f"v{i}", kind, line, speed, (SCENE_T0 - s0 / speed,), loaded=True, covered=covered,
                                 length_m=float(rng.uniform(l0, l1)), width_m=float(rng.uniform(w0, w1)),
                                 height_m=float(rng.uniform(h0, h1))))
        placed.append(((road_index, lane), s0))
    w.routes = _in_lane_order(routes, placed)
    return w


# Vehicles keep their lane order from this long before SCENE_T0 to this long after it.
LANE_WINDOW_S = (5.0, 10.0)
LANE_GAP_M = 1.5


def _in_lane_order(routes: list[TruckRoute], placed: list[tuple[tuple[int, int], float]]) -> list[TruckRoute]:
    """Vehicles in one lane do not drive through each other over `LANE_WINDOW_S` around SCENE_T0:
    from the front of each lane back, a faster vehicle slows to keep >= `LANE_GAP_M` behind the one
    ahead over the window (it closes up and follows); one placed on the vehicle ahead, or so slow
    that the one ahead would have driven through it just before SCENE_T0, is left out."""
    before, after = LANE_WINDOW_S
    keep: dict[int, TruckRoute] = {}
    lanes: dict[tuple[int, int], list[int]] = {}
    for i, (lane, _) in enumerate(placed):
        lanes.setdefault(lane, []).append(i)
    for members in lanes.values():
        members.sort(key=lambda i: -placed[i][1])  # the front first
        ahead: tuple[float, float, float] | None = None  # distance at SCENE_T0, speed, length
        for i in members:
            r, s0 = routes[i], placed[i][1]
            speed = r.speed_mps
            if ahead is not None:
                a_s0, a_speed, a_len = ahead
                room = a_s0 - s0 - (a_len + r.length_m) / 2 - LANE_GAP_M
                if room < 0 or speed < a_speed - room / before:
                    continue  # on the one ahead, or that one drove through it a moment ago
                speed = min(speed, a_speed + room / after)  # it closes up and follows
            keep[i] = replace(r, speed_mps=speed, departures=(SCENE_T0 - s0 / speed,)) if speed != r.speed_mps else r
            ahead = (s0, speed, r.length_m)
    return [keep[i] for i in sorted(keep)]


def _static(oid: str, kind: str, p: FloatArray, heading: float, site: str, *, length: float | None = None,
            width: float | None = None) -> StaticObject:
    L, W, H = DEFAULT_SIZES[kind]
    return StaticObject(oid, kind, float(p[0]), float(p[1]), heading, length or L, width or W, H, site)


@dataclass(frozen=True, slots=True)
class SceneStyle:
    ground: tuple[float, float, float]
    asphalt: tuple[int, int, int]
    earth: tuple[int, int, int]
    buildings: int
    patches: int


GROUNDS = ((62, 118, 84), (70, 130, 110), (95, 130, 135), (120, 125, 128), (80, 100, 105), (150, 150, 150),
           (60, 95, 70), (105, 140, 150))
EARTHS = ((72, 104, 134), (60, 90, 120), (85, 120, 150), (50, 75, 105), (95, 125, 140), (70, 95, 110))
TARPS = ((60, 120, 40), (40, 90, 30), (90, 130, 60), (130, 90, 40), (50, 60, 50), (110, 110, 100))
TRUCK_TOPS = ((200, 200, 205), (170, 110, 40), (60, 60, 180), (40, 140, 200), (90, 90, 95), (230, 230, 230),
              (120, 40, 120), (40, 40, 40), (150, 150, 90))
CAR_TOPS = ((230, 230, 230), (40, 40, 40), (160, 160, 160), (150, 60, 20), (30, 30, 160), (200, 200, 180),
            (90, 60, 40), (20, 120, 200), (60, 120, 60))
CONE_ORANGES = ((20, 100, 250), (30, 80, 235), (10, 120, 255), (40, 110, 230))
BARRIERS = ((20, 100, 250), (30, 60, 220), (235, 235, 235), (20, 200, 240), (200, 120, 40))
MACHINES = ((20, 200, 240), (30, 180, 230), (10, 140, 250), (40, 210, 220))


class SceneRenderer(Renderer):
    """The world renderer with randomised ground, roofs, asphalt, colours and standing buildings."""

    def __init__(self, world: World, camera: object, *, seed: int = 0, texture_res_m: float = 0.12) -> None:
        rng = np.random.default_rng(seed + 7919)
        self.style = SceneStyle(tuple(float(c) + rng.normal(0, 8) for c in GROUNDS[int(rng.integers(len(GROUNDS)))]),
                                tuple(int(v) for v in np.clip(rng.normal(110, 18) + rng.normal(0, 4, 3), 50, 190)),
                                EARTHS[int(rng.integers(len(EARTHS)))], int(rng.integers(0, 14)),
                                int(rng.integers(0, 30)))
        self._style_rng = rng
        self._colour_seed = seed
        self._buildings = self._place_buildings(world, rng)
        super().__init__(world, camera, texture_res_m=texture_res_m, seed=seed)  # type: ignore[arg-type]

    @staticmethod
    def _place_buildings(world: World, rng: np.random.Generator) -> list[_Box]:
        out: list[_Box] = []
        keep_clear = [r.line for r in world.roads]
        for i in range(int(rng.integers(0, 12))):
            c = rng.uniform(-110, 110, 2)
            L, W = float(rng.uniform(8, 40)), float(rng.uniform(8, 25))
            clear = True
            for line in keep_clear:
                a, b = line
                u = (b - a) / np.linalg.norm(b - a)
                d = abs(float(u[0] * (c - a)[1] - u[1] * (c - a)[0]))
                if d < max(L, W) / 2 + 14:
                    clear = False
            objs = [np.array([o.east_m, o.north_m]) for o in world.objects] + [a.polygon.mean(axis=0)
                                                                              for a in world.areas]
            if any(np.linalg.norm(c - p) < max(L, W) / 2 + 20 for p in objs):
                clear = False
            if not clear:
                continue
            grey = int(rng.integers(90, 230))
            top = (grey + int(rng.integers(-20, 20)), grey, grey + int(rng.integers(-20, 20)))
            top = tuple(int(np.clip(v, 0, 255)) for v in top)
            side = tuple(int(v * 0.8) for v in top)
            out.append(_Box(f"building-{i}", "building", (float(c[0]), float(c[1])), float(rng.uniform(0, 90)), L, W,
                            0.0, float(rng.uniform(4, 25)), side, top, truth=False))  # type: ignore[arg-type]
        return out

    def _paint_texture(self) -> NDArray[np.uint8]:
        w = math.ceil((self.e1 - self.e0) / self.res)
        h = math.ceil((self.n1 - self.n0) / self.res)
        rng = self.rng
        st = self.style
        sw, sh = max(2, w // 8), max(2, h // 8)
        low = cv2.resize(rng.normal(0, 1, (max(2, sh // 12), max(2, sw // 12))).astype(np.float32), (sw, sh),
                         interpolation=cv2.INTER_CUBIC)
        mid = cv2.resize(rng.normal(0, 1, (max(2, sh // 2), max(2, sw // 2))).astype(np.float32), (sw, sh),
                         interpolation=cv2.INTER_LINEAR)
        base = np.array(st.ground, dtype=np.float32)
        amp = float(rng.uniform(6, 22))
        tint = rng.uniform(0.5, 1.1, 3).astype(np.float32)
        small = base[None, None, :] + (amp * low + 0.4 * amp * mid)[..., None] * tint
        tex = cv2.resize(np.clip(small, 0, 255).astype(np.uint8), (w, h), interpolation=cv2.INTER_LINEAR)
        # Patches: fields, lots, plazas, paths (flat distractors of any colour, some earth-like).
        for _ in range(st.patches):
            c = rng.uniform([self.e0, self.n0], [self.e1, self.n1])
            L, W = rng.uniform(4, 60), rng.uniform(3, 40)
            ang = float(rng.uniform(0, 180))
            pts = np.array([c + _rot(np.array(q), ang) for q in
                            ((-L / 2, -W / 2), (L / 2, -W / 2), (L / 2, W / 2), (-L / 2, W / 2))])
            col = tuple(int(v) for v in rng.integers(40, 200, 3))
            cv2.fillPoly(tex, [self._to_px(pts)], col, cv2.LINE_AA, shift=2)
        for road in self.world.roads:
            pts = self._to_px(road.line)
            cv2.polylines(tex, [pts], False, st.asphalt, round(road.width_m / self.res), cv2.LINE_AA, shift=2)
            self._lane_marks(tex, road.line, road.width_m, road.lanes)
        for b in self._buildings:  # footprints under the buildings (so oblique views see no grass inside)
            cv2.fillPoly(tex, [self._to_px(self._corners(b)[:4, :2])], b.colour, cv2.LINE_AA, shift=2)
        for area in self.world.areas:
            if area.kind == "excavation":
                earth = np.array(st.earth, dtype=np.float32)
                poly = self._to_px(area.polygon)
                cv2.fillPoly(tex, [poly], tuple(int(v) for v in earth), cv2.LINE_AA, shift=2)
                x, y, bw, bh = cv2.boundingRect(poly // 4)
                x0, y0 = max(0, x), max(0, y)
                x1, y1 = min(w, x + bw), min(h, y + bh)
                if x1 > x0 and y1 > y0:  # clods and tyre marks
                    mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
                    cv2.fillPoly(mask, [poly - np.array([x0, y0]) * 4], 255, cv2.LINE_AA, shift=2)
                    n = rng.normal(0, 14, (y1 - y0, x1 - x0)).astype(np.float32)
                    n = cv2.GaussianBlur(n, (0, 0), 2.0)
                    reg = tex[y0:y1, x0:x1].astype(np.float32) + n[..., None]
                    tex[y0:y1, x0:x1] = np.where(mask[..., None] > 0, np.clip(reg, 0, 255), tex[y0:y1, x0:x1])
        tile = np.clip(rng.normal(128, 40, (256, 256)), 0, 255).astype(np.uint8)
        grain = np.tile(tile, (h // 256 + 1, w // 256 + 1))[:h, :w]
        return cv2.addWeighted(tex, 1.0, cv2.merge([grain, grain, grain]), float(rng.uniform(0.1, 0.3)),
                               -0.2 * 128)

    def _boxes(self, t: float) -> list[_Box]:
        out: list[_Box] = []
        for b in super()._boxes(t):
            key = b.id.split("/")[0]
            r = np.random.default_rng([self._colour_seed, sum(map(ord, key)) * 131 + len(key)])
            if b.label == "traffic_cone":
                col = CONE_ORANGES[int(r.integers(len(CONE_ORANGES)))]
                b = replace(b, colour=col, top=col)
            elif b.label == "barrier":
                col = BARRIERS[int(r.integers(len(BARRIERS)))]
                b = replace(b, colour=col, top=col)
            elif b.label == "excavator":
                col = MACHINES[int(r.integers(len(MACHINES)))]
                b = replace(b, colour=col, top=_jitter(col, r))
            elif b.label in ("muck_truck", "truck") and not b.id.endswith("/cab"):
                if b.label == "muck_truck":
                    top = TARPS[int(r.integers(len(TARPS)))] if b.top != EARTH_DEFAULT else \
                        EARTHS[int(r.integers(len(EARTHS)))]
                else:
                    top = TRUCK_TOPS[int(r.integers(len(TRUCK_TOPS)))]
                b = replace(b, top=_jitter(top, r), colour=_jitter(b.colour, r))
            elif b.id.endswith("/cab"):
                col = _jitter(TRUCK_TOPS[int(r.integers(len(TRUCK_TOPS)))], r)
                b = replace(b, colour=col, top=col)
            elif b.label in ("car", "bus"):
                col = _jitter((CAR_TOPS if b.label == "car" else TRUCK_TOPS)[int(r.integers(9))], r)
                b = replace(b, colour=col, top=col)
            out.append(b)
        return out + self._buildings


EARTH_DEFAULT: Colour = (72, 104, 134)


def _jitter(c: Colour | tuple[int, ...], r: np.random.Generator) -> Colour:
    v = np.clip(np.array(c, dtype=float) + r.normal(0, 10, 3), 0, 255).astype(int)
    return int(v[0]), int(v[1]), int(v[2])


def random_look(rng: np.random.Generator) -> Look:
    return Look(brightness=float(rng.uniform(0.65, 1.3)), sun_azimuth_deg=float(rng.uniform(0, 360)),
                sun_elevation_deg=float(rng.uniform(20, 80)), noise_sigma=float(rng.uniform(0, 7)),
                blur_px=float(rng.choice([0.0, 0.0, rng.uniform(0.3, 1.4)])),
                shadow_strength=float(rng.uniform(0.2, 0.6)))


def random_pose(rng: np.random.Generator, world: World, *, alt_m: tuple[float, float] = (40.0, 150.0),
                pitch_deg: tuple[float, float] = (-90.0, -45.0), t: float = SCENE_T0,
                prefer_vehicles: float = 0.0) -> CameraPose:
    """A viewpoint whose optical axis meets the ground near something of interest (a vehicle with
    probability `prefer_vehicles`, else any object or vehicle)."""
    from sitl.world.traffic import vehicles_at

    vehicles = [(v.east_m, v.north_m) for v in vehicles_at(world, t)]
    targets = [(o.east_m, o.north_m) for o in world.objects] + vehicles
    if prefer_vehicles > 0 and vehicles and rng.random() < prefer_vehicles:
        targets = vehicles
    if targets and rng.random() < 0.9:
        tx, ty = targets[int(rng.integers(len(targets)))]
        target = np.array([tx, ty]) + rng.normal(0, 15, 2)
    else:
        target = rng.uniform(-80, 80, 2)
    up = float(rng.uniform(*alt_m))
    pitch = float(rng.uniform(*pitch_deg)) if rng.random() < 0.6 else -90.0
    yaw = float(rng.uniform(0, 360))
    back = up / math.tan(math.radians(-pitch)) if pitch > -89.9 else 0.0
    e = target[0] - back * math.sin(math.radians(yaw))
    n = target[1] - back * math.cos(math.radians(yaw))
    return CameraPose(float(e), float(n), up, yaw, pitch, float(rng.normal(0, 1.5)))
