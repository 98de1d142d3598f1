"""Generate rendered training data, train the aerial detector, export it to ONNX.

    python -m inference.training.train generate --out DATA --first 1000 --worlds 300 --jobs 16
    python -m inference.training.train fit --data DATA --minutes 5 --out RUN --device cuda --workers 15 --batch 64
    python -m inference.training.train export --checkpoint RUN/last.pt

Training runs on a wall-clock budget (the learning rate follows a cosine over `--minutes`) with a
fixed seed, on the CPU (`--threads`, default one) or a GPU (`--device cuda`); `--workers` loader
processes make the crops. Each crop comes from its own generator, so the samples do not depend on
the number of workers. The label files are reread every 2,000 steps, so training can start while
`generate` is still writing. Samples: 320x320 crops (mostly around an object) of the letterboxed
640x384 frames, random scale 0.8-1.25, flips, 90-degree turns and colour jitter. Loss:
CenterNet-style focal loss on Gaussian centre heat, L1 on log size, BCE on the centre offset.
`--width` (repeatable) sets the network's channels; several widths train side by side on the same
batches. The held-out evaluation (`inference.evaluate`) uses world seeds from 100000 on; training
seeds stay below.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from torch.nn import functional as F

from inference.training.dataset import generate, read_labels
from inference.training.model import STRIDE, WIDTH, AerialNet, ExportWrapper
from inference.types import LABELS

NC = len(LABELS)
CROP = 320
PAD_Y = 12  # 640x360 letterboxed into 640x384
INPUT_W, INPUT_H = 640, 384
HELD_OUT_SEEDS_FROM = 100_000


@dataclass(frozen=True, slots=True)
class Augment:
    """Sampling and augmentation knobs: the random scale range, and how much more often a crop is
    centred on an object of a `focus` class than on any other object."""

    scale: tuple[float, float] = (0.8, 1.25)
    focus: frozenset[int] = frozenset()
    focus_weight: float = 1.0


def load_sample(root: Path, rec: dict, rng: random.Random, aug: Augment = Augment()
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    img = cv2.imread(str(root / rec["image"]))
    img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    boxes = np.array(rec["boxes"], dtype=np.float32).reshape(-1, 4)
    cls = np.array(rec["classes"], dtype=np.int64)
    ign = np.array(rec["ignore"], dtype=bool)
    s = rng.uniform(*aug.scale)
    if abs(s - 1) > 0.02:
        img = cv2.resize(img, None, fx=s, fy=s, interpolation=cv2.INTER_LINEAR if s > 1 else cv2.INTER_AREA)
        boxes = boxes * s
    img = cv2.copyMakeBorder(img, PAD_Y, PAD_Y, 0, 0, cv2.BORDER_CONSTANT, value=(114, 114, 114))
    boxes[:, [1, 3]] += PAD_Y
    h, w = img.shape[:2]
    if h < CROP or w < CROP:
        img = cv2.copyMakeBorder(img, 0, max(0, CROP - h), 0, max(0, CROP - w), cv2.BORDER_CONSTANT,
                                 value=(114, 114, 114))
        h, w = img.shape[:2]
    good = np.nonzero(~ign)[0]
    if len(good) and rng.random() < 0.75:
        weights = [aug.focus_weight if int(cls[i]) in aug.focus else 1.0 for i in good]
        b = boxes[rng.choices(list(good), weights=weights)[0]]
        cx, cy = (b[0] + b[2]) / 2 + rng.uniform(-120, 120), (b[1] + b[3]) / 2 + rng.uniform(-120, 120)
        x0, y0 = int(np.clip(cx - CROP / 2, 0, w - CROP)), int(np.clip(cy - CROP / 2, 0, h - CROP))
    else:
        x0, y0 = rng.randint(0, w - CROP), rng.randint(0, h - CROP)
    img = img[y0:y0 + CROP, x0:x0 + CROP]
    area0 = np.maximum((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]), 1e-6)
    boxes = boxes - np.array([x0, y0, x0, y0], dtype=np.float32)
    clipped = np.clip(boxes, 0, CROP)
    area1 = (clipped[:, 2] - clipped[:, 0]) * (clipped[:, 3] - clipped[:, 1])
    keep = area1 > 0
    ign = ign | (area1 / area0 < 0.5)
    boxes, cls, ign = clipped[keep], cls[keep], ign[keep]
    if rng.random() < 0.5:
        img = img[:, ::-1]
        boxes[:, [0, 2]] = CROP - boxes[:, [2, 0]]
    if rng.random() < 0.5:
        img = img[::-1]
        boxes[:, [1, 3]] = CROP - boxes[:, [3, 1]]
    if rng.random() < 0.5:  # transpose (with the flips: any 90-degree turn)
        img = img.transpose(1, 0, 2)
        boxes = boxes[:, [1, 0, 3, 2]]
    img = img.astype(np.float32)
    gain = np.array([rng.uniform(0.85, 1.15) for _ in range(3)], dtype=np.float32) * rng.uniform(0.75, 1.25)
    img = img * gain + rng.uniform(-20, 20)
    if rng.random() < 0.2:
        img = cv2.GaussianBlur(img, (0, 0), rng.uniform(0.4, 1.2))
    if rng.random() < 0.3:
        img = img + np.random.default_rng(rng.randint(0, 2**31)).normal(0, rng.uniform(2, 8), img.shape)
    img = np.clip(img, 0, 255) / 255.0
    return np.ascontiguousarray(img.transpose(2, 0, 1), dtype=np.float32), boxes, cls, ign


def build_targets(boxes: np.ndarray, cls: np.ndarray, ign: np.ndarray, size: int = CROP) -> dict[str, np.ndarray]:
    g = size // STRIDE
    heat = np.zeros((NC, g, g), np.float32)
    negw = np.ones((g, g), np.float32)
    reg = np.zeros((4, g, g), np.float32)
    regw = np.zeros((2, g, g), np.float32)  # offset weight, size weight
    ys, xs = np.mgrid[0:g, 0:g].astype(np.float32)
    for b, c, ig in zip(boxes, cls, ign, strict=True):
        x1, y1, x2, y2 = b / STRIDE
        if ig:
            negw[max(0, int(y1)):math.ceil(y2), max(0, int(x1)):math.ceil(x2)] = 0.0
            continue
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        bw, bh = max(x2 - x1, 0.25), max(y2 - y1, 0.25)
        ix, iy = min(int(cx), g - 1), min(int(cy), g - 1)
        sx, sy = max(0.5, 0.54 * bw / 6 * 2), max(0.5, 0.54 * bh / 6 * 2)
        gauss = np.exp(-((xs - ix) ** 2) / (2 * sx * sx) - ((ys - iy) ** 2) / (2 * sy * sy))
        heat[c] = np.maximum(heat[c], gauss)
        heat[c, iy, ix] = 1.0
        for dy in (-1, 0, 1):
            for dx in (-1, 0, 1):
                yy, xx = iy + dy, ix + dx
                if 0 <= yy < g and 0 <= xx < g:
                    reg[2, yy, xx], reg[3, yy, xx] = math.log(bw), math.log(bh)
                    regw[1, yy, xx] = 1.0 if (dx, dy) == (0, 0) else 0.5
        reg[0, iy, ix], reg[1, iy, ix] = cx - ix, cy - iy
        regw[0, iy, ix] = 1.0
    return {"heat": heat, "negw": negw, "reg": reg, "regw": regw}


def loss_fn(cls_out: torch.Tensor, box_out: torch.Tensor, t: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict]:
    p = torch.sigmoid(cls_out).clamp(1e-4, 1 - 1e-4)
    gt = t["heat"]
    pos = gt.eq(1).float()
    neg = (1 - pos) * t["negw"].unsqueeze(1)
    pos_loss = -(torch.log(p) * (1 - p) ** 2 * pos).sum()
    neg_loss = -(torch.log(1 - p) * p**2 * (1 - gt) ** 4 * neg).sum()
    npos = pos.sum().clamp(min=1.0)
    focal = (pos_loss + neg_loss) / npos
    ow, sw = t["regw"][:, 0:1], t["regw"][:, 1:2]
    off = (F.binary_cross_entropy_with_logits(box_out[:, :2], t["reg"][:, :2], reduction="none") * ow).sum() / npos
    size_l1 = F.smooth_l1_loss(box_out[:, 2:], t["reg"][:, 2:], reduction="none", beta=0.2)
    size = (size_l1 * sw).sum() / sw.sum().clamp(min=1)
    total = focal + off + 2.0 * size
    return total, {"focal": float(focal.detach()), "off": float(off.detach()), "size": float(size.detach())}


def onnx_width(onnx_path: Path) -> tuple[int, int, int, int, int]:
    """The channels at strides 2-32 of an exported model (the output channels of its five stride-2
    convolutions), so that a fine-tune from it builds the network of its width."""
    import onnx
    from onnx import helper

    model = onnx.load(str(onnx_path))
    dims = {i.name: tuple(i.dims) for i in model.graph.initializer}
    out = []
    for n in model.graph.node:
        if n.op_type != "Conv":
            continue
        attrs = {a.name: helper.get_attribute_value(a) for a in n.attribute}
        if list(attrs.get("strides", [1, 1])) == [2, 2] and attrs.get("group", 1) == 1:
            out.append(int(dims[n.input[1]][0]))
    if len(out) != 5:
        raise SystemExit(f"{onnx_path}: not an exported SkyPatrol aerial model ({len(out)} stride-2 convolutions)")
    return out[0], out[1], out[2], out[3], out[4]


def init_from_onnx(net: AerialNet, onnx_path: Path) -> None:
    """Start from an exported model: its convolutions (batch norm folded in at export) go into the
    convolutions, and each batch norm becomes the identity plus the folded bias (exact in eval mode;
    fine-tune with `freeze_bn`)."""
    import onnx
    from onnx import numpy_helper
    from torch import nn

    model = onnx.load(str(onnx_path))
    inits = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    folded = [(inits[n.input[1]], inits[n.input[2]] if len(n.input) > 2 else None)
              for n in model.graph.node if n.op_type == "Conv"]
    pairs: list[tuple[nn.Conv2d, nn.BatchNorm2d | None]] = []
    for m in net.modules():
        if isinstance(m, nn.Sequential) and len(m) >= 2 and isinstance(m[0], nn.Conv2d) \
                and isinstance(m[1], nn.BatchNorm2d):
            pairs.append((m[0], m[1]))
        elif hasattr(m, "dw") and hasattr(m, "pw"):
            pairs += [(m.dw, m.bn1), (m.pw, m.bn2)]
    for m in (net.l32, net.l16, net.l8, net.l4):
        pairs.append((m, None))
    # Forward order: the stem and backbone, the laterals, the head block, then the two outputs.
    head = [p for p in pairs if p[0] in (net.head[0][0], net.head[1].dw, net.head[1].pw)]
    body = [p for p in pairs if p not in head and p[1] is not None]
    order = body + [p for p in pairs if p[1] is None] + head + [(net.cls, None), (net.box, None)]
    if len(order) != len(folded):
        raise ValueError(f"{onnx_path}: {len(folded)} convolutions, the network has {len(order)}")
    with torch.no_grad():
        for (conv, bn), (w, b) in zip(order, folded, strict=True):
            if tuple(conv.weight.shape) != w.shape:
                raise ValueError(f"{onnx_path}: conv shape {w.shape} where the network has {tuple(conv.weight.shape)}")
            conv.weight.copy_(torch.from_numpy(w.copy()))
            bias = torch.from_numpy(b.copy()) if b is not None else torch.zeros(w.shape[0])
            if bn is None:
                conv.bias.copy_(bias)
            else:
                bn.weight.fill_(1.0)
                bn.bias.copy_(bias)
                bn.running_mean.zero_()
                bn.running_var.fill_(1.0 - bn.eps)


class CropSamples(torch.utils.data.Dataset):
    """Training crops with their targets. Item i is drawn from its own generator (seeded by the run's
    seed and `offset + i`), so a run samples the same crops whatever the number of loader workers."""

    def __init__(self, labels: list[tuple[Path, dict]], seed: int, aug: Augment, offset: int, length: int) -> None:
        self.labels, self.seed, self.aug, self.offset, self.length = labels, seed, aug, offset, length

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, i: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        rng = random.Random(self.seed * 1_000_000_007 + self.offset + i)
        img, b, c, ig = load_sample(*rng.choice(self.labels), rng, self.aug)
        return torch.from_numpy(img), {k: torch.from_numpy(v) for k, v in build_targets(b, c, ig).items()}


def width_name(width: tuple[int, ...]) -> str:
    return "w" + "-".join(str(c) for c in width)


def fit(data: Path | list[Path], out: Path, minutes: float, batch: int, lr: float, seed: int, resume: Path | None,
        init_onnx: Path | None = None, freeze_bn: bool = False, aug: Augment = Augment(), *,
        widths: list[tuple[int, ...]] | None = None, device: str = "cpu", workers: int = 0, threads: int = 1) -> None:
    """Train for `minutes` of wall clock. Several `widths` train side by side on the same batches
    (checkpoints `last-<width>.pt`; one width: `last.pt`). `device` is a torch device ("cuda" where a
    GPU is); `workers` loader processes prepare the crops (0: in this process)."""
    roots = [data] if isinstance(data, Path) else list(data)
    dev = torch.device(device)
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    torch.backends.cudnn.benchmark = True
    out.mkdir(parents=True, exist_ok=True)
    state = torch.load(resume, map_location="cpu") if resume is not None else None
    if state is not None:
        widths = [tuple(state.get("width", WIDTH))]
    elif init_onnx is not None and not widths:
        widths = [onnx_width(init_onnx)]
    widths = widths or [WIDTH]
    nets = [AerialNet(NC, w) for w in widths]  # type: ignore[arg-type]
    if state is not None:
        nets[0].load_state_dict(state["model"])
    if init_onnx is not None:
        for net in nets:
            init_from_onnx(net, init_onnx)
    nets = [net.to(dev) for net in nets]
    opts = [torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=5e-4) for net in nets]
    paths = [out / "last.pt"] if len(nets) == 1 else [out / f"last-{width_name(w)}.pt" for w in widths]

    def save(step: int) -> None:
        for net, w, path in zip(nets, widths, paths, strict=True):
            torch.save({"model": {k: v.cpu() for k, v in net.state_dict().items()}, "step": step, "width": list(w)},
                       path)

    start = time.monotonic()
    budget = minutes * 60.0
    step = 0
    last_save = start
    log = (out / "log.jsonl").open("a", encoding="utf-8")
    chunk = 2000  # steps between rereads of the label files (training may start while `generate` writes)
    while time.monotonic() - start < budget:
        labels = [(root, rec) for root in roots for rec in read_labels(root)]
        if not labels:
            time.sleep(5)
            continue
        loader = torch.utils.data.DataLoader(
            CropSamples(labels, seed, aug, step * batch, chunk * batch), batch_size=batch, num_workers=workers,
            pin_memory=dev.type == "cuda", prefetch_factor=4 if workers else None)
        for x, t in loader:
            elapsed = time.monotonic() - start
            if elapsed >= budget:
                break
            frac = elapsed / budget
            cur = lr * min(1.0, (step + 1) / 100) * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * frac)))
            x = x.to(dev, non_blocking=True)
            t = {k: v.to(dev, non_blocking=True) for k, v in t.items()}
            parts = []
            for net, opt in zip(nets, opts, strict=True):
                for gr in opt.param_groups:
                    gr["lr"] = cur
                net.train()
                if freeze_bn:  # batch norm on its running statistics (a fine-tune from an exported model)
                    for m in net.modules():
                        if isinstance(m, torch.nn.BatchNorm2d):
                            m.eval()
                c_out, b_out = net(x)
                loss, part = loss_fn(c_out, b_out, t)
                opt.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(net.parameters(), 10.0)
                opt.step()
                parts.append({"loss": float(loss.detach()), **part})
            step += 1
            if step % 20 == 0:
                per_net = parts[0] if len(parts) == 1 else dict(zip(map(width_name, widths), parts, strict=True))
                rec = {"step": step, "s": round(elapsed), "lr": cur, "frames": len(labels), **per_net}
                log.write(json.dumps(rec) + "\n")
                log.flush()
                if step % 200 == 0 or dev.type == "cpu":
                    print(rec, flush=True)
            if time.monotonic() - last_save > 120:
                save(step)
                last_save = time.monotonic()
    save(step)
    print(f"done: {step} steps", flush=True)


def export(checkpoint: Path, onnx_path: Path, classes_path: Path) -> None:
    import onnx

    torch.set_num_threads(1)
    state = torch.load(checkpoint, map_location="cpu")
    net = AerialNet(NC, tuple(state.get("width", WIDTH)))  # type: ignore[arg-type]
    net.load_state_dict(state["model"])
    net.eval()
    onnx_path.parent.mkdir(parents=True, exist_ok=True)
    torch.onnx.export(ExportWrapper(net), torch.zeros(1, 3, INPUT_H, INPUT_W), str(onnx_path), opset_version=17,
                      input_names=["images"], output_names=["output0"], dynamo=False,
                      dynamic_axes={"images": {2: "height", 3: "width"}, "output0": {2: "anchors"}})
    model = onnx.load(str(onnx_path))
    meta = {"names": str(dict(enumerate(LABELS))), "imgsz": str([INPUT_H, INPUT_W]), "stride": str(STRIDE),
            "description": "SkyPatrol compact aerial detector (trained on rendered scenes only)",
            "author": "SkyPatrol", "task": "detect"}
    for k, v in meta.items():
        p = model.metadata_props.add()
        p.key, p.value = k, v
    onnx.save(model, str(onnx_path))
    classes_path.write_text(json.dumps({str(i): label for i, label in enumerate(LABELS)}, indent=1) + "\n",
                            encoding="utf-8")
    print(f"{onnx_path}: {onnx_path.stat().st_size / 1e6:.2f} MB")


def main() -> None:
    ap = argparse.ArgumentParser(prog="python -m inference.training.train")
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("generate")
    g.add_argument("--out", type=Path, required=True)
    g.add_argument("--first", type=int, default=0)
    g.add_argument("--worlds", type=int, default=150)
    g.add_argument("--views", type=int, default=24)
    g.add_argument("--alt", type=float, nargs=2, default=(40.0, 150.0), metavar=("MIN", "MAX"),
                   help="flying heights of the views (m)")
    g.add_argument("--prefer-vehicles", type=float, default=0.0, help="share of views aimed at a vehicle")
    g.add_argument("--jobs", type=int, default=1, help="worlds rendered side by side (processes)")
    g.add_argument("--minutes", type=float, help="stop after this long (worlds not finished are left out)")
    f = sub.add_parser("fit")
    f.add_argument("--data", type=Path, nargs="+", required=True, help="one or more generated data folders")
    f.add_argument("--out", type=Path, required=True)
    f.add_argument("--minutes", type=float, default=35.0)
    f.add_argument("--batch", type=int, default=16)
    f.add_argument("--lr", type=float, default=3e-3)
    f.add_argument("--seed", type=int, default=0)
    f.add_argument("--resume", type=Path)
    f.add_argument("--init-onnx", type=Path, help="start from an exported model (e.g. the shipped one)")
    f.add_argument("--freeze-bn", action="store_true", help="keep batch norm on its running statistics")
    f.add_argument("--scale", type=float, nargs=2, default=(0.8, 1.25), metavar=("MIN", "MAX"),
                   help="random scale range of the samples")
    f.add_argument("--focus", default="", help="comma-separated classes whose objects crops are centred on more often")
    f.add_argument("--focus-weight", type=float, default=1.0)
    f.add_argument("--width", action="append", default=[], metavar="C1,C2,C3,C4,C5",
                   help=f"channels at strides 2-32 (default {','.join(map(str, WIDTH))}); "
                        "given several times, each trains on the same batches")
    f.add_argument("--device", default="cpu", help="torch device, e.g. cuda")
    f.add_argument("--workers", type=int, default=0, help="processes preparing the crops")
    f.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    e = sub.add_parser("export")
    e.add_argument("--checkpoint", type=Path, required=True)
    models = Path(__file__).resolve().parents[1] / "models"
    e.add_argument("--onnx", type=Path, default=models / "skypatrol-aerial.onnx")
    e.add_argument("--classes", type=Path, default=models / "skypatrol-aerial.classes.json")
    a = ap.parse_args()
    if a.cmd == "generate":
        if a.first + a.worlds > HELD_OUT_SEEDS_FROM:
            raise SystemExit(f"training world seeds must stay below {HELD_OUT_SEEDS_FROM} (held out)")
        n = generate(a.out, range(a.first, a.first + a.worlds), a.views, alt_m=tuple(a.alt),
                     prefer_vehicles=a.prefer_vehicles, jobs=a.jobs, minutes=a.minutes)
        print(f"{n} frames in {a.out}")
    elif a.cmd == "fit":
        unknown = [c for c in a.focus.split(",") if c and c not in LABELS]
        if unknown:
            raise SystemExit(f"--focus: unknown classes {unknown} (known: {', '.join(LABELS)})")
        aug = Augment(scale=tuple(a.scale), focus=frozenset(LABELS.index(c) for c in a.focus.split(",") if c),
                      focus_weight=a.focus_weight)
        widths = []
        for text in a.width:
            try:
                width = tuple(int(c) for c in text.split(","))
            except ValueError:
                width = ()
            if len(width) != 5 or min(width) < 1:
                raise SystemExit(f"--width {text!r}: five positive channel counts, e.g. {','.join(map(str, WIDTH))}")
            widths.append(width)
        fit(a.data, a.out, a.minutes, a.batch, a.lr, a.seed, a.resume, a.init_onnx, a.freeze_bn, aug,
            widths=widths or None, device=a.device, workers=a.workers, threads=a.threads)
    else:
        export(a.checkpoint, a.onnx, a.classes)


if __name__ == "__main__":
    main()
