"""Frame sources: video files, RTSP/HTTP streams and image folders through OpenCV, or frames
handed over in memory (the simulated camera). Each frame carries its time: the video start plus
its position in the video (for streams: the wall clock when the frame arrived)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Protocol

import cv2

from core.errors import BadInput
from inference.types import Frame

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"})
STREAM_RE = re.compile(r"^(rtsp|rtsps|rtmp|http|https|udp|tcp)://", re.IGNORECASE)


class FrameSource(Protocol):
    def __iter__(self) -> Iterator[Frame]: ...


def _as_unix(t: datetime | float | None) -> float | None:
    if t is None or isinstance(t, float | int):
        return None if t is None else float(t)
    if t.tzinfo is None:
        raise BadInput("video start time needs a timezone (e.g. 2025-03-03T10:00:00Z)")
    return t.timestamp()


class VideoSource:
    """A video file or a network stream (RTSP, HTTP, ...), both through cv2.VideoCapture.

    Files: a frame's time is `start + position` (CAP_PROP_POS_MSEC, else index / fps).
    Streams: `start` is ignored and each frame is stamped with the wall clock on arrival.
    `every_n` keeps one frame in n (decoding still reads all of them).
    """

    def __init__(self, uri: str | Path, *, start: datetime | float | None = None, every_n: int = 1,
                 max_frames: int | None = None) -> None:
        self.uri = str(uri)
        self.is_stream = bool(STREAM_RE.match(self.uri))
        if not self.is_stream and not Path(self.uri).is_file():
            raise BadInput(f"{self.uri}: video file not found")
        self.start = _as_unix(start)
        self.every_n = max(1, every_n)
        self.max_frames = max_frames
        self.fps = 0.0

    def __iter__(self) -> Iterator[Frame]:
        cap = cv2.VideoCapture(self.uri)
        if not cap.isOpened():
            raise BadInput(f"{self.uri}: OpenCV cannot open this video or stream")
        try:
            self.fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
            index = -1
            emitted = 0
            start = self.start if self.start is not None else 0.0
            while True:
                ok, image = cap.read()
                if not ok:
                    break
                index += 1
                if index % self.every_n:
                    continue
                if self.is_stream:
                    t, pos = time.time(), None
                else:
                    pos = _position_s(cap, index, self.fps)
                    t = start + pos
                yield Frame(image=image, t=t, index=index, position_s=pos)
                emitted += 1
                if self.max_frames is not None and emitted >= self.max_frames:
                    break
        finally:
            cap.release()


def _position_s(cap: cv2.VideoCapture, index: int, fps: float) -> float:
    # CAP_PROP_POS_MSEC after read() is the position of the *next* frame on some backends; the
    # frame index over the nominal rate is steadier for constant-rate files.
    if fps > 0:
        return index / fps
    return max(0.0, float(cap.get(cv2.CAP_PROP_POS_MSEC)) / 1000.0)


class ImageFolderSource:
    """Images in a folder, in name order; `interval_s` apart from `start` (photos of a survey)."""

    def __init__(self, folder: str | Path, *, start: datetime | float | None = None, interval_s: float = 1.0) -> None:
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise BadInput(f"{self.folder}: image folder not found")
        self.paths = sorted(p for p in self.folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not self.paths:
            raise BadInput(f"{self.folder}: no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
        self.start = _as_unix(start) or 0.0
        self.interval_s = interval_s

    def __iter__(self) -> Iterator[Frame]:
        for i, p in enumerate(self.paths):
            image = cv2.imread(str(p), cv2.IMREAD_COLOR)
            if image is None:
                raise BadInput(f"{p}: not a readable image")
            pos = i * self.interval_s
            yield Frame(image=image, t=self.start + pos, index=i, position_s=pos)


class IterableSource:
    """Frames handed over in memory: the simulated camera, tests, a live decoder elsewhere."""

    def __init__(self, frames: Iterable[Frame]) -> None:
        self.frames = frames

    def __iter__(self) -> Iterator[Frame]:
        yield from self.frames


def open_source(uri: str | Path, *, start: datetime | float | None = None, every_n: int = 1) -> FrameSource:
    """A folder -> images; a URL or file -> VideoCapture."""
    text = str(uri)
    if not STREAM_RE.match(text) and Path(text).is_dir():
        return ImageFolderSource(text, start=start)
    return VideoSource(text, start=start, every_n=every_n)

