"""Generate crops, train the vehicle crop classifier (`inference.detectors.verifier`), export it.

    nice -n 19 python -m inference.training.verifier generate --out /tmp/vcrops --first 50000 --worlds 400
    nice -n 19 python -m inference.training.verifier fit --data /tmp/vcrops --minutes 20 --out /tmp/vrun
    python -m inference.training.verifier export --checkpoint /tmp/vrun/last.pt

Crops are what the classifier will see at run time: the shipped detector's own boxes (confidence
>= 0.25) on random rendered scenes at 1280x720 (40-150 m, nadir to 45 degrees oblique, views
mostly aimed at vehicles), each labelled from the renderer's truth: a box lying on a vehicle or a
machine (IoU >= 0.25 and >= 60 % of the box on it) takes its class, a box on nothing (IoU < 0.1,
< 20 % on anything) is `none`, boxes in between are left out. To these come the true boxes
themselves, shifted and scaled a little. World seeds stay below 100000 (the held-out flights').

Training: one CPU thread (`--threads`), fixed seed, a wall-clock budget with a cosine learning rate; crops turned
by multiples of 90 degrees and flipped (a view from above has no up), brightness and noise jitter;
class-balanced cross-entropy.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import time
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from inference.boxes import box_cover, box_iou
from inference.detectors.verifier import CHECKED, CROP, VERIFIER_CLASSES, VERIFIER_MODEL, crop

HELD_OUT_SEEDS_FROM = 100_000
NONE = VERIFIER_CLASSES.index("none")


def generate(out: Path, worlds: range, views: int, *, conf: float = 0.25) -> int:
    """Render `views` frames of each world seed, crop the detector's boxes and the true ones; one
    `crops-<first seed>.npz` per 20 worlds (crops N x CROP x CROP x 3 BGR, labels N); returns the crop count."""
    import cv2  # noqa: F401  (the renderer's)

    from inference.detectors.own import own_detector
    from sitl.world.camera import SimCamera
    from sitl.world.scenes import SCENE_T0, SceneRenderer, random_look, random_pose, random_world

    out.mkdir(parents=True, exist_ok=True)
    detector = own_detector(conf, threads=1)
    total = 0
    seeds = list(worlds)
    for start in range(0, len(seeds), 20):
        chunk = seeds[start:start + 20]
        path = out / f"crops-{chunk[0]:05d}.npz"
        if path.exists():
            continue
        crops: list[NDArray[np.uint8]] = []
        labels: list[int] = []
        for seed in chunk:
            rng = np.random.default_rng(seed + 7_000_001)
            world = random_world(seed)
            cam = SimCamera.from_hfov(1280, 720, float(rng.uniform(50, 80)))
            renderer = SceneRenderer(world, cam, seed=seed)
            for _ in range(views):
                t = SCENE_T0 + float(rng.uniform(-4, 4))
                pose = random_pose(rng, world, alt_m=(40.0, 150.0), t=t, prefer_vehicles=0.7)
                frame = renderer.render(pose, t, random_look(rng))
                image = frame.image
                truth = [o for o in frame.objects if min(o.box[2] - o.box[0], o.box[3] - o.box[1]) >= 2.5]
                tboxes = np.array([o.box for o in truth], dtype=float).reshape(-1, 4)
                tlabels = [o.label if o.label in VERIFIER_CLASSES else "none" for o in truth]
                dets = [d for d in detector.detect(image) if d.label in CHECKED]
                if dets:
                    dboxes = np.array([d.box for d in dets], dtype=float)
                    iou, cover = box_iou(dboxes, tboxes), box_cover(dboxes, tboxes)
                    for j, d in enumerate(dets):
                        k = int(np.argmax(iou[j])) if iou.shape[1] else -1
                        if k >= 0 and iou[j, k] >= 0.25 and cover[j, k] >= 0.6 and truth[k].visible_fraction >= 0.5:
                            label = tlabels[k]
                        elif k < 0 or (iou[j].max() < 0.1 and cover[j].max() < 0.2):
                            label = "none"
                        else:
                            continue
                        crops.append(crop(image, d.box))
                        labels.append(VERIFIER_CLASSES.index(label))
                for o, box in zip(truth, tboxes, strict=True):
                    if o.label not in VERIFIER_CLASSES or o.visible_fraction < 0.5:
                        continue
                    w, h = box[2] - box[0], box[3] - box[1]
                    s = rng.uniform(0.85, 1.2)
                    cx = (box[0] + box[2]) / 2 + rng.normal(0, 0.08) * w
                    cy = (box[1] + box[3]) / 2 + rng.normal(0, 0.08) * h
                    jb = (cx - w * s / 2, cy - h * s / 2, cx + w * s / 2, cy + h * s / 2)
                    crops.append(crop(image, jb))
                    labels.append(VERIFIER_CLASSES.index(o.label))
        np.savez_compressed(path, crops=np.stack(crops) if crops else np.zeros((0, CROP, CROP, 3), np.uint8),
                            labels=np.array(labels, dtype=np.int8))
        total += len(labels)
        counts = np.bincount(np.array(labels, dtype=int), minlength=len(VERIFIER_CLASSES))
        per_class = " ".join(f"{c}={n}" for c, n in zip(VERIFIER_CLASSES, counts, strict=True))
        print(f"{path.name}: {len(labels)} crops {per_class}", flush=True)
    return total


def load(folders: list[Path]) -> tuple[NDArray[np.uint8], NDArray[np.int64]]:
    xs, ys = [], []
    for f in folders:
        for p in sorted(f.glob("crops-*.npz")):
            with np.load(p) as z:
                xs.append(z["crops"])
                ys.append(z["labels"].astype(np.int64))
    if not xs:
        raise SystemExit(f"no crops-*.npz in {', '.join(map(str, folders))}")
    x = np.concatenate(xs)
    if x.shape[1] != CROP:  # crops generated at another size
        import cv2

        x = np.stack([cv2.resize(c, (CROP, CROP), interpolation=cv2.INTER_AREA) for c in x])
    return x, np.concatenate(ys)


def _net():  # type: ignore[no-untyped-def]
    from torch import nn

    def cbr(cin: int, cout: int, stride: int = 1) -> list[nn.Module]:
        return [nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]

    return nn.Sequential(*cbr(3, 16, 2), *cbr(16, 24), nn.MaxPool2d(2),  # 48 -> 12
                         *cbr(24, 32), *cbr(32, 32), nn.MaxPool2d(2),  # -> 6
                         *cbr(32, 48), *cbr(48, 48), nn.MaxPool2d(2),  # -> 3
                         *cbr(48, 64), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.2),
                         nn.Linear(64, len(VERIFIER_CLASSES)))


def _augment(x: NDArray[np.uint8], rng: np.random.Generator) -> NDArray[np.float32]:
    k = int(rng.integers(4))
    x = np.rot90(x, k, axes=(0, 1))
    if rng.random() < 0.5:
        x = x[:, ::-1]
    f = x.astype(np.float32) * np.float32(rng.uniform(0.75, 1.25)) + rng.normal(0, rng.uniform(0, 6), x.shape)
    return np.clip(f, 0, 255).astype(np.float32)


def fit(folders: list[Path], out: Path, minutes: float, batch: int = 64, lr: float = 2e-3, seed: int = 0,
        threads: int = 1) -> None:
    import torch
    from torch.nn import functional as F

    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    random.seed(seed)
    x, y = load(folders)
    # Hold out every tenth world-chunk's worth of crops (by position) to report accuracy as it trains.
    val = np.arange(len(y)) % 10 == 9
    xt, yt, xv, yv = x[~val], y[~val], x[val], y[val]
    counts = np.bincount(yt, minlength=len(VERIFIER_CLASSES)).astype(float)
    weight = torch.tensor((counts.sum() / np.maximum(counts, 1) / len(counts)) ** 0.5, dtype=torch.float32)
    per_class = dict(zip(VERIFIER_CLASSES, counts.astype(int).tolist(), strict=True))
    print(f"{len(yt)} training crops, {len(yv)} validation; per class {per_class}", flush=True)
    net = _net()
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=1e-4)
    out.mkdir(parents=True, exist_ok=True)
    t0, step = time.monotonic(), 0
    budget = minutes * 60
    while (el := time.monotonic() - t0) < budget:
        for g in opt.param_groups:
            g["lr"] = lr * 0.5 * (1 + math.cos(math.pi * min(el / budget, 1.0)))
        idx = rng.integers(0, len(yt), batch)
        xb = np.stack([_augment(xt[i], rng) for i in idx])[..., ::-1].transpose(0, 3, 1, 2) / 255.0
        logits = net(torch.from_numpy(np.ascontiguousarray(xb, dtype=np.float32)))
        loss = F.cross_entropy(logits, torch.from_numpy(yt[idx]), weight=weight, label_smoothing=0.05)
        opt.zero_grad()
        loss.backward()
        opt.step()
        step += 1
        if step % 500 == 0:
            acc = _accuracy(net, xv, yv)
            print(f"step {step} {el / 60:.1f} min loss {loss.item():.3f} val acc {acc:.3f}", flush=True)
            torch.save({"model": net.state_dict(), "step": step}, out / "last.pt")
    torch.save({"model": net.state_dict(), "step": step}, out / "last.pt")
    print(f"done: {step} steps, val acc {_accuracy(net, xv, yv):.3f}", flush=True)
    _confusion(net, xv, yv)


def _predict(net, x: NDArray[np.uint8]) -> NDArray[np.int64]:  # type: ignore[no-untyped-def]
    import torch

    from inference.detectors.verifier import to_input

    net.eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(x), 256):
            out.append(net(torch.from_numpy(to_input(x[i:i + 256]))).argmax(1).numpy())
    net.train()
    return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)


def _accuracy(net, x: NDArray[np.uint8], y: NDArray[np.int64]) -> float:  # type: ignore[no-untyped-def]
    return float((_predict(net, x) == y).mean()) if len(y) else math.nan


def _confusion(net, x: NDArray[np.uint8], y: NDArray[np.int64]) -> None:  # type: ignore[no-untyped-def]
    p = _predict(net, x)
    n = len(VERIFIER_CLASSES)
    m = np.zeros((n, n), dtype=int)
    np.add.at(m, (y, p), 1)
    print("truth \\ predicted: " + " ".join(f"{c[:6]:>6}" for c in VERIFIER_CLASSES))
    for c, row in zip(VERIFIER_CLASSES, m, strict=True):
        print(f"{c:>18}: " + " ".join(f"{v:6d}" for v in row))


def export(checkpoint: Path, onnx_path: Path = VERIFIER_MODEL) -> None:
    import onnx
    import torch

    torch.set_num_threads(1)
    net = _net()
    net.load_state_dict(torch.load(checkpoint, map_location="cpu")["model"])
    net.eval()
    onnx_path.parent.mkdir(parents=True, exist_ok=True)
    torch.onnx.export(net, torch.zeros(1, 3, CROP, CROP), str(onnx_path), opset_version=17, input_names=["crops"],
                      output_names=["logits"], dynamo=False, dynamic_axes={"crops": {0: "n"}, "logits": {0: "n"}})
    model = onnx.load(str(onnx_path))
    for k, v in {"classes": json.dumps(list(VERIFIER_CLASSES)), "crop": str(CROP),
                 "description": "SkyPatrol vehicle crop classifier (trained on rendered scenes only)",
                 "author": "SkyPatrol"}.items():
        p = model.metadata_props.add()
        p.key, p.value = k, v
    onnx.save(model, str(onnx_path))
    print(f"{onnx_path}: {onnx_path.stat().st_size / 1e6:.2f} MB")


def main() -> None:
    ap = argparse.ArgumentParser(prog="python -m inference.training.verifier")
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("generate")
    g.add_argument("--out", type=Path, required=True)
    g.add_argument("--first", type=int, default=50_000)
    g.add_argument("--worlds", type=int, default=400)
    g.add_argument("--views", type=int, default=8)
    f = sub.add_parser("fit")
    f.add_argument("--data", type=Path, nargs="+", required=True)
    f.add_argument("--out", type=Path, required=True)
    f.add_argument("--minutes", type=float, default=20.0)
    f.add_argument("--batch", type=int, default=64)
    f.add_argument("--lr", type=float, default=2e-3)
    f.add_argument("--seed", type=int, default=0)
    f.add_argument("--threads", type=int, default=1)
    e = sub.add_parser("export")
    e.add_argument("--checkpoint", type=Path, required=True)
    e.add_argument("--onnx", type=Path, default=VERIFIER_MODEL)
    a = ap.parse_args()
    if a.cmd == "generate":
        if a.first + a.worlds > HELD_OUT_SEEDS_FROM:
            raise SystemExit(f"training world seeds must stay below {HELD_OUT_SEEDS_FROM} (held out)")
        print(f"{generate(a.out, range(a.first, a.first + a.worlds), a.views)} crops in {a.out}")
    elif a.cmd == "fit":
        fit(a.data, a.out, a.minutes, a.batch, a.lr, a.seed, a.threads)
    else:
        export(a.checkpoint, a.onnx)


if __name__ == "__main__":
    main()
