"""Training data: procedurally generated aerial scenes rendered by `sitl.world.scenes`.

Each world (a seed) gets a randomised style and is seen from `views` random poses (40-150 m,
nadir to 45 degrees oblique, 50-80 degree lenses) under random light. Frames are 640x360 (a
quarter of them rendered at 1280x720 and halved, as the pipeline letterboxes HD video), written
as JPEG (quality 80-95) with a JSON line of boxes per frame. Objects less than half inside the
frame or under 2.5 px are marked `ignore` (neither positives nor negatives in training).
"""

from __future__ import annotations

import json
import multiprocessing
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from inference.types import LABELS
from sitl.world.camera import SimCamera
from sitl.world.scenes import SCENE_T0, SceneRenderer, random_look, random_pose, random_world

CLASS_INDEX = {label: i for i, label in enumerate(LABELS)}
MIN_SIDE_PX = 2.5
MIN_VISIBLE = 0.5


@dataclass(frozen=True, slots=True)
class Sample:
    image: np.ndarray  # BGR uint8
    boxes: np.ndarray  # (N, 4) xyxy pixels
    classes: np.ndarray  # (N,) int
    ignore: np.ndarray  # (N,) bool


def render_world_samples(seed: int, views: int, *, width: int = 640, height: int = 360,
                         alt_m: tuple[float, float] = (40.0, 150.0), prefer_vehicles: float = 0.0) -> Iterator[Sample]:
    rng = np.random.default_rng(seed)
    world = random_world(seed)
    hd = rng.random() < 0.25
    scale = 2 if hd else 1
    cam = SimCamera.from_hfov(width * scale, height * scale, float(rng.uniform(50, 80)))
    renderer = SceneRenderer(world, cam, seed=seed)
    for _ in range(views):
        t = SCENE_T0 + float(rng.uniform(-4, 4))
        pose = random_pose(rng, world, alt_m=alt_m, t=t, prefer_vehicles=prefer_vehicles)
        frame = renderer.render(pose, t, random_look(rng))
        image = frame.image
        if scale != 1:
            image = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
        boxes, classes, ignore = [], [], []
        for o in frame.objects:
            if o.label not in CLASS_INDEX:
                continue
            b = np.array(o.box) / scale
            small = min(b[2] - b[0], b[3] - b[1]) < MIN_SIDE_PX
            boxes.append(b)
            classes.append(CLASS_INDEX[o.label])
            ignore.append(bool(small or o.visible_fraction < MIN_VISIBLE))
        yield Sample(image, np.array(boxes, dtype=np.float32).reshape(-1, 4), np.array(classes, dtype=np.int64),
                     np.array(ignore, dtype=bool))


def _render_world(job: tuple[Path, int, int, tuple[float, float], float]) -> list[str]:
    """Render one world's views into `out`; returns their label lines."""
    out, seed, views, alt_m, prefer_vehicles = job
    rng = np.random.default_rng(seed + 1_000_003)
    lines = []
    for k, s in enumerate(render_world_samples(seed, views, alt_m=alt_m, prefer_vehicles=prefer_vehicles)):
        name = f"w{seed:05d}_{k:03d}.jpg"
        cv2.imwrite(str(out / name), s.image, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(80, 96))])
        lines.append(json.dumps({"image": name, "boxes": s.boxes.round(2).tolist(),
                                 "classes": s.classes.tolist(), "ignore": s.ignore.tolist()}))
    return lines


def generate(out: Path, worlds: range, views: int, *, alt_m: tuple[float, float] = (40.0, 150.0),
             prefer_vehicles: float = 0.0, jobs: int = 1, minutes: float | None = None) -> int:
    """Render `views` frames of each world seed into `out` (JPEG + labels.jsonl); returns the frame count.
    `alt_m` and `prefer_vehicles` (the share of views aimed at a vehicle) shape the viewpoints. `jobs`
    worlds render side by side (each world's frames depend on its seed alone); with `minutes`, worlds
    not finished by then are left out."""
    out.mkdir(parents=True, exist_ok=True)
    tasks = [(out, seed, views, alt_m, prefer_vehicles) for seed in worlds]
    deadline = None if minutes is None else time.monotonic() + minutes * 60.0
    n = 0
    pool = multiprocessing.get_context("spawn").Pool(jobs, initializer=cv2.setNumThreads, initargs=(1,)) \
        if jobs > 1 else None
    rendered = pool.imap_unordered(_render_world, tasks) if pool is not None else map(_render_world, tasks)
    try:
        with (out / "labels.jsonl").open("a", encoding="utf-8") as labels:
            for lines in rendered:
                labels.write("".join(line + "\n" for line in lines))
                labels.flush()
                n += len(lines)
                if deadline is not None and time.monotonic() > deadline:
                    break
    finally:
        if pool is not None:
            pool.terminate()
            pool.join()
    return n


def read_labels(root: Path) -> list[dict[str, object]]:
    path = root / "labels.jsonl"
    if not path.is_file():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:  # a line being written
            continue
    return [r for r in out if (root / str(r["image"])).is_file()]
