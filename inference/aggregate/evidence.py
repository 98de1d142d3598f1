"""Evidence images stored content-addressed: the file name is the sha256 of the bytes, so the same
image is stored once and a name can never point at other content."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True, slots=True)
class EvidenceRef:
    kind: str  # "crop" | "frame"
    sha256: str
    name: str  # file name in the evidence directory: <sha256>.jpg
    media_type: str
    width: int
    height: int

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "sha256": self.sha256, "name": self.name, "media_type": self.media_type,
                "width": self.width, "height": self.height}


class EvidenceStore:
    def __init__(self, directory: str | Path, *, jpeg_quality: int = 90) -> None:
        self.directory = Path(directory)
        self.jpeg_quality = jpeg_quality

    def put_image(self, image: NDArray[np.uint8], kind: str) -> EvidenceRef:
        ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, self.jpeg_quality])
        if not ok:
            raise ValueError("JPEG encoding failed")
        data = buf.tobytes()
        digest = hashlib.sha256(data).hexdigest()
        name = f"{digest}.jpg"
        path = self.directory / name
        if not path.exists():
            self.directory.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".tmp{os.getpid()}")
            tmp.write_bytes(data)
            os.replace(tmp, path)
        return EvidenceRef(kind, digest, name, "image/jpeg", int(image.shape[1]), int(image.shape[0]))

    def put_crop_and_frame(self, image: NDArray[np.uint8], box: tuple[float, float, float, float],
                           margin: float = 0.5, min_px: int = 48) -> list[EvidenceRef]:
        return [self.put_image(crop_box(image, box, margin, min_px), "crop"), self.put_image(image, "frame")]


def crop_box(image: NDArray[np.uint8], box: tuple[float, float, float, float], margin: float = 0.5,
             min_px: int = 48) -> NDArray[np.uint8]:
    """The box grown by `margin` of its size on each side (at least `min_px` wide), clipped."""
    h, w = image.shape[:2]
    x1, y1, x2, y2 = box
    bw, bh = max(x2 - x1, 1.0), max(y2 - y1, 1.0)
    gx, gy = max(bw * margin, (min_px - bw) / 2), max(bh * margin, (min_px - bh) / 2)
    xa, ya = int(max(0, x1 - gx)), int(max(0, y1 - gy))
    xb, yb = int(min(w, x2 + gx)), int(min(h, y2 + gy))
    return np.ascontiguousarray(image[ya:max(yb, ya + 1), xa:max(xb, xa + 1)])
