"""What a camera at a given pose sees of the world: numpy + OpenCV, nadir and oblique alike.

The flat things (ground texture, roads, lane marks, excavations) are painted once into a
top-down texture map; each frame casts a ray through every pixel to the ground and samples that
map (cv2.remap), so nadir and oblique views come from the same camera maths. Standing things
(cones, barriers, machinery, vehicles) are oriented boxes: their sun shadows are darkened on the
ground, then their visible faces are filled far to near with simple sun shading. Each frame
comes with its ground truth: per object the label, track id, world position and pixel box.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import cv2
import numpy as np
from numpy.typing import NDArray

from sitl.world.camera import CameraPose, SimCamera, pixel_rays_cv, project_points, rotation_enu_from_cv
from sitl.world.model import World
from sitl.world.traffic import vehicles_at

FloatArray = NDArray[np.float64]
Colour = tuple[int, int, int]  # BGR

SKY: Colour = (235, 206, 170)
ORANGE: Colour = (20, 100, 250)
YELLOW: Colour = (20, 200, 240)
EARTH: Colour = (72, 104, 134)
TARP: Colour = (60, 120, 40)
CAB_COLOURS: tuple[Colour, ...] = ((150, 70, 30), (60, 130, 40), (200, 200, 205), (120, 40, 120))
BODY: Colour = (90, 90, 95)
CAR_COLOURS: tuple[Colour, ...] = ((230, 230, 230), (40, 40, 40), (160, 160, 160), (150, 60, 20))


@dataclass(frozen=True, slots=True)
class TruthObject:
    id: str  # track id for vehicles, object id otherwise
    label: str
    east_m: float
    north_m: float
    lat_deg: float
    lon_deg: float
    box: tuple[float, float, float, float]  # pixel box clipped to the image
    visible_fraction: float  # share of the unclipped box inside the image
    heading_deg: float = 0.0


@dataclass(slots=True)
class RenderedFrame:
    image: NDArray[np.uint8]
    t: float
    pose: CameraPose
    objects: list[TruthObject] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Look:
    """Domain randomisation knobs: light, sun, noise, blur."""

    brightness: float = 1.0
    sun_azimuth_deg: float = 135.0
    sun_elevation_deg: float = 50.0
    noise_sigma: float = 3.0
    blur_px: float = 0.0
    shadow_strength: float = 0.45


@dataclass(frozen=True, slots=True)
class _Box:
    id: str
    label: str
    centre: tuple[float, float]
    heading_deg: float
    length: float
    width: float
    z0: float
    z1: float
    colour: Colour
    top: Colour
    truth: bool = True


class Renderer:
    def __init__(self, world: World, camera: SimCamera, *, texture_res_m: float = 0.15, seed: int = 0) -> None:
        self.world = world
        self.camera = camera
        self.res = texture_res_m
        self.rng = np.random.default_rng(seed)
        self.e0, self.n0, self.e1, self.n1 = world.bounds_m()
        self.texture = self._paint_texture()
        self._rays = pixel_rays_cv(camera)

    # -- the flat world --------------------------------------------------------------------
    def _to_px(self, pts: FloatArray) -> NDArray[np.int32]:
        x = (pts[:, 0] - self.e0) / self.res
        y = (self.n1 - pts[:, 1]) / self.res
        return np.round(np.column_stack([x, y]) * 4).astype(np.int32)  # 2 bits of sub-pixel shift

    def _paint_texture(self) -> NDArray[np.uint8]:
        w = math.ceil((self.e1 - self.e0) / self.res)
        h = math.ceil((self.n1 - self.n0) / self.res)
        rng = self.rng
        # Colour variation at 1/8 resolution (fields, wear), upsampled; fine grain from a tiled
        # noise patch. Painting stays in uint8 so that a large world paints in well under a second.
        sw, sh = max(2, w // 8), max(2, h // 8)
        low = cv2.resize(rng.normal(0, 1, (max(2, sh // 12), max(2, sw // 12))).astype(np.float32), (sw, sh),
                         interpolation=cv2.INTER_CUBIC)
        mid = cv2.resize(rng.normal(0, 1, (max(2, sh // 2), max(2, sw // 2))).astype(np.float32), (sw, sh),
                         interpolation=cv2.INTER_LINEAR)
        grass = np.array([62, 118, 84], dtype=np.float32)
        small = grass[None, None, :] + (14 * low + 6 * mid)[..., None] * np.array([0.6, 1.0, 0.7], dtype=np.float32)
        tex = cv2.resize(np.clip(small, 0, 255).astype(np.uint8), (w, h), interpolation=cv2.INTER_LINEAR)
        for road in self.world.roads:
            pts = self._to_px(road.line)
            width_px = round(road.width_m / self.res)
            cv2.polylines(tex, [pts], False, (112, 112, 110), width_px, cv2.LINE_AA, shift=2)
            self._lane_marks(tex, road.line, road.width_m, road.lanes)
        for area in self.world.areas:
            if area.kind == "excavation":
                cv2.fillPoly(tex, [self._to_px(area.polygon)], EARTH, cv2.LINE_AA, shift=2)
        tile = np.clip(rng.normal(128, 40, (256, 256)), 0, 255).astype(np.uint8)
        grain = np.tile(tile, (h // 256 + 1, w // 256 + 1))[:h, :w]
        grain3 = cv2.merge([grain, grain, grain])
        return cv2.addWeighted(tex, 1.0, grain3, 0.22, -0.22 * 128)

    def _lane_marks(self, tex: NDArray[np.uint8], line: FloatArray, width_m: float, lanes: int) -> None:
        for a, b in itertools.pairwise(line):
            d = b - a
            length = float(np.hypot(*d))
            if length <= 0:
                continue
            u = d / length
            nrm = np.array([-u[1], u[0]])
            for k in range(1, lanes):
                off = -width_m / 2 + k * width_m / lanes
                dashed = k != lanes // 2
                s = 0.0
                while s < length:
                    e = min(length, s + (6.0 if dashed else length))
                    p0, p1 = a + u * s + nrm * off, a + u * e + nrm * off
                    cv2.line(tex, *[tuple(int(v) for v in q) for q in self._to_px(np.array([p0, p1]))],
                             (225, 225, 225), max(1, round(0.15 / self.res)), cv2.LINE_AA, shift=2)
                    s += 15.0 if dashed else length
            for side in (-1, 1):
                p0, p1 = a + nrm * side * (width_m / 2 - 0.3), b + nrm * side * (width_m / 2 - 0.3)
                cv2.line(tex, *[tuple(int(v) for v in q) for q in self._to_px(np.array([p0, p1]))],
                         (215, 215, 215), max(1, round(0.15 / self.res)), cv2.LINE_AA, shift=2)

    # -- standing things -------------------------------------------------------------------
    def _boxes(self, t: float) -> list[_Box]:
        boxes = []
        for o in self.world.objects:
            colour = ORANGE if o.kind in ("traffic_cone", "barrier") else YELLOW
            boxes.append(_Box(o.id, o.kind, (o.east_m, o.north_m), o.heading_deg, o.length_m, o.width_m, 0.0,
                              o.height_m, colour, colour))
        for v in vehicles_at(self.world, t):
            k = sum(map(ord, v.id)) % 4
            if v.kind in ("muck_truck", "truck"):
                cab_len = 2.4
                h = math.radians(v.heading_deg)
                fwd = np.array([math.sin(h), math.cos(h)])
                c = np.array([v.east_m, v.north_m])
                cab_c = c + fwd * (v.length_m / 2 - cab_len / 2)
                bed_len = v.length_m - cab_len - 0.3
                bed_c = c - fwd * (v.length_m / 2 - bed_len / 2)
                top = (TARP if v.covered else EARTH) if (v.kind == "muck_truck" and v.loaded) else BODY
                boxes.append(_Box(v.id, v.kind, (float(bed_c[0]), float(bed_c[1])), v.heading_deg, bed_len, v.width_m,
                                  0.4, v.height_m - 0.2, BODY, top))
                boxes.append(_Box(v.id + "/cab", v.kind, (float(cab_c[0]), float(cab_c[1])), v.heading_deg, cab_len,
                                  v.width_m, 0.4, v.height_m, CAB_COLOURS[k], CAB_COLOURS[k], truth=False))
            else:
                col = CAR_COLOURS[k] if v.kind == "car" else CAB_COLOURS[k]
                boxes.append(_Box(v.id, v.kind, (v.east_m, v.north_m), v.heading_deg, v.length_m, v.width_m, 0.2,
                                  v.height_m, col, col))
        return boxes

    @staticmethod
    def _corners(b: _Box) -> FloatArray:
        h = math.radians(b.heading_deg)
        fwd = np.array([math.sin(h), math.cos(h)])
        right = np.array([math.cos(h), -math.sin(h)])
        c = np.array(b.centre)
        signs = ((1, 1), (1, -1), (-1, -1), (-1, 1))
        base = [c + fwd * sf * b.length / 2 + right * sr * b.width / 2 for sf, sr in signs]
        return np.array([[p[0], p[1], z] for z in (b.z0, b.z1) for p in base])

    # -- a frame ---------------------------------------------------------------------------
    def render(self, pose: CameraPose, t: float, look: Look = Look()) -> RenderedFrame:
        cam = self.camera
        r = rotation_enu_from_cv(pose.yaw_deg, pose.pitch_deg, pose.roll_deg)
        d = self._rays @ r.T
        down = -d[:, 2]
        hit = down > 1e-4
        tt = np.where(hit, pose.up_m / np.where(hit, down, 1.0), np.inf)
        tt = np.minimum(tt, 4000.0)
        e = pose.east_m + tt * d[:, 0]
        n = pose.north_m + tt * d[:, 1]
        mx = ((e - self.e0) / self.res).reshape(cam.height, cam.width).astype(np.float32)
        my = ((self.n1 - n) / self.res).reshape(cam.height, cam.width).astype(np.float32)
        img = cv2.remap(self.texture, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                        borderValue=(70, 110, 80))
        sky = ~hit.reshape(cam.height, cam.width)
        img[sky] = SKY
        far = np.clip((tt.reshape(cam.height, cam.width) - 300.0) / 1500.0, 0.0, 0.7)[..., None]
        img = (img * (1 - far) + np.array(SKY) * far).astype(np.uint8)

        boxes = self._boxes(t)
        sun = _sun_vector(look.sun_azimuth_deg, look.sun_elevation_deg)
        shadow = np.zeros((cam.height, cam.width), dtype=np.uint8)
        for b in boxes:
            corners = self._corners(b)
            ground = corners[:, :2] - sun[None, :2] * (corners[:, 2:3] / sun[2])
            pts = np.vstack([corners[:4, :2], ground])
            hull = cv2.convexHull(pts.astype(np.float32)).reshape(-1, 2)
            px, depth = project_points(cam, pose, np.column_stack([hull, np.zeros(len(hull))]))
            if (depth <= 0.5).any() or not np.isfinite(px).all():
                continue
            cv2.fillPoly(shadow, [np.round(px * 4).astype(np.int32)], 255, cv2.LINE_AA, shift=2)
        if shadow.any():
            s = 1.0 - look.shadow_strength * shadow.astype(np.float32)[..., None] / 255.0
            img = (img * s).astype(np.uint8)

        order = sorted(boxes, key=lambda b: -float(np.hypot(b.centre[0] - pose.east_m, b.centre[1] - pose.north_m)))
        cam_pos = pose.position
        truth: dict[str, tuple[list[FloatArray], _Box]] = {}
        for b in order:
            corners = self._corners(b)
            px, depth = project_points(cam, pose, corners)
            if (depth <= 0.5).any() or not np.isfinite(px).all():
                continue
            for face, normal, colour in _faces(corners, b):
                centre = corners[list(face)].mean(axis=0)
                if float(np.dot(centre - cam_pos, normal)) >= 0:
                    continue
                shade = 0.55 + 0.45 * max(0.0, float(np.dot(normal, sun)))
                col = tuple(int(min(255, c * shade * look.brightness)) for c in colour)
                cv2.fillConvexPoly(img, np.round(px[list(face)] * 4).astype(np.int32), col, cv2.LINE_AA, shift=2)
            if b.truth or b.id.endswith("/cab"):
                key = b.id.split("/")[0]
                truth.setdefault(key, ([], b))[0].append(px)
        objects = self._truth(truth, t)
        objects += self._area_truth(pose)
        if look.brightness != 1.0:
            img = np.clip(img.astype(np.float32) * look.brightness, 0, 255).astype(np.uint8)
        if look.blur_px > 0:
            img = cv2.GaussianBlur(img, (0, 0), look.blur_px)
        if look.noise_sigma > 0:
            noise = self.rng.normal(0, look.noise_sigma, img.shape).astype(np.float32)
            img = np.clip(img.astype(np.float32) + noise, 0, 255).astype(np.uint8)
        return RenderedFrame(img, t, pose, objects)

    def _truth(self, found: dict[str, tuple[list[FloatArray], _Box]], t: float) -> list[TruthObject]:
        frame = self.world.frame
        positions = {o.id: (o.east_m, o.north_m, o.heading_deg) for o in self.world.objects}
        positions.update({v.id: (v.east_m, v.north_m, v.heading_deg) for v in vehicles_at(self.world, t)})
        out = []
        for key, (pxs, b) in found.items():
            px = np.vstack(pxs)
            e, n, hdg = positions[key]
            box, frac = self._clip_box(px)
            if frac <= 0:
                continue
            lat, lon = frame.en2geodetic(np.array([e]), np.array([n]))
            out.append(TruthObject(key, b.label, e, n, float(lat[0]), float(lon[0]), box, frac, hdg))
        return out

    def _area_truth(self, pose: CameraPose) -> list[TruthObject]:
        frame = self.world.frame
        out = []
        for a in self.world.areas:
            if a.kind != "excavation":
                continue
            px, depth = project_points(self.camera, pose, np.column_stack([a.polygon, np.zeros(len(a.polygon))]))
            if (depth <= 0.5).any() or not np.isfinite(px).all():
                continue
            box, frac = self._clip_box(px)
            if frac <= 0:
                continue
            c = a.polygon.mean(axis=0)
            lat, lon = frame.en2geodetic(np.array([c[0]]), np.array([c[1]]))
            out.append(TruthObject(a.id, "excavation", float(c[0]), float(c[1]), float(lat[0]), float(lon[0]),
                                   box, frac))
        return out

    def _clip_box(self, px: FloatArray) -> tuple[tuple[float, float, float, float], float]:
        x1, y1 = px.min(axis=0)
        x2, y2 = px.max(axis=0)
        area = max((x2 - x1) * (y2 - y1), 1e-9)
        cx1, cy1 = max(0.0, x1), max(0.0, y1)
        cx2, cy2 = min(float(self.camera.width), x2), min(float(self.camera.height), y2)
        if cx2 <= cx1 or cy2 <= cy1:
            return (0.0, 0.0, 0.0, 0.0), 0.0
        return (float(cx1), float(cy1), float(cx2), float(cy2)), float((cx2 - cx1) * (cy2 - cy1) / area)


def _sun_vector(azimuth_deg: float, elevation_deg: float) -> FloatArray:
    """Unit ENU vector pointing towards the sun."""
    az, el = math.radians(azimuth_deg), math.radians(max(5.0, elevation_deg))
    return np.array([math.sin(az) * math.cos(el), math.cos(az) * math.cos(el), math.sin(el)])


def _faces(c: FloatArray, b: _Box) -> list[tuple[tuple[int, int, int, int], FloatArray, Colour]]:
    """Faces of a box (corner indices, outward normal, colour); corners 0-3 bottom, 4-7 top."""
    centre = c.mean(axis=0)
    out = []
    for face, colour in (((4, 5, 6, 7), b.top), ((0, 1, 5, 4), b.colour), ((1, 2, 6, 5), b.colour),
                         ((2, 3, 7, 6), b.colour), ((3, 0, 4, 7), b.colour)):
        p = c[list(face)]
        nrm = np.cross(p[1] - p[0], p[3] - p[0])
        nrm = nrm / (np.linalg.norm(nrm) or 1.0)
        if np.dot(p.mean(axis=0) - centre, nrm) < 0:
            nrm = -nrm
        out.append((face, nrm, colour))
    return out
