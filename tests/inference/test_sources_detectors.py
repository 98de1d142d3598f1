"""Frame sources through OpenCV (video file, image folder, in memory; real aerial photographs),
the YOLO ONNX decoding on tiny graphs built here, the colour detector and the size rules."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from core.errors import BadInput
from geo import LocalFrame
from inference.camera import camera_from_fov
from inference.detectors.colour import ColourDetector
from inference.georef import Georeferencer
from inference.rules import apply_size_rules, place_detections
from inference.sources import ImageFolderSource, IterableSource, VideoSource, open_source
from inference.types import Detection, Frame, Pose

AERIAL = Path(__file__).resolve().parents[2].parent / "shared" / "testdata" / "aerial"


def test_video_file_frames_carry_start_plus_position(tmp_path: Path) -> None:
    p = tmp_path / "clip.avi"
    w = cv2.VideoWriter(str(p), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (64, 48))
    for i in range(12):
        w.write(np.full((48, 64, 3), i * 20, dtype=np.uint8))
    w.release()
    frames = list(VideoSource(p, start=1000.0))
    assert len(frames) == 12
    assert [f.t for f in frames[:3]] == pytest.approx([1000.0, 1000.1, 1000.2])
    assert frames[5].position_s == pytest.approx(0.5) and frames[5].image.shape == (48, 64, 3)
    assert [f.index for f in VideoSource(p, every_n=5)] == [0, 5, 10]
    with pytest.raises(BadInput, match="not found"):
        VideoSource(tmp_path / "none.mp4")
    (tmp_path / "junk.mp4").write_bytes(b"not a video")
    with pytest.raises(BadInput, match="cannot open"):
        list(VideoSource(tmp_path / "junk.mp4"))


def test_image_folder_and_memory_sources(tmp_path: Path) -> None:
    for i in range(3):
        cv2.imwrite(str(tmp_path / f"img_{i}.png"), np.full((10, 20, 3), i, dtype=np.uint8))
    src = open_source(tmp_path, start=50.0)
    assert isinstance(src, ImageFolderSource)
    frames = list(src)
    assert [f.t for f in frames] == [50.0, 51.0, 52.0] and frames[2].image[0, 0, 0] == 2
    mem = IterableSource(Frame(np.zeros((2, 2, 3), np.uint8), float(i), i) for i in range(4))
    assert [f.index for f in mem] == [0, 1, 2, 3]
    with pytest.raises(BadInput, match="no images"):
        ImageFolderSource(tmp_path / "empty") if (tmp_path / "empty").mkdir() is None else None


@pytest.mark.skipif(not AERIAL.is_dir(), reason="../shared/testdata/aerial is absent")
def test_real_aerial_photographs_read_and_run_through_the_colour_layer() -> None:
    frames = list(ImageFolderSource(AERIAL))
    assert len(frames) >= 3
    for f in frames:
        assert f.image.ndim == 3 and f.image.shape[0] > 100 and f.image.dtype == np.uint8
        dets = ColourDetector().detect(f.image)  # runs on real pixels; no accuracy claim
        assert all(0 <= d.box[0] <= d.box[2] <= f.image.shape[1] for d in dets)


# -- YOLO ONNX decoding on tiny constant graphs ---------------------------------------------------
def constant_yolo(path: Path, output: np.ndarray, size: int = 64, names: str | None = None) -> None:
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    const = numpy_helper.from_array(output.astype(np.float32), "head")
    zero = numpy_helper.from_array(np.zeros(1, np.float32), "zero")
    nodes = [  # output = head + 0 * sum(images): constant, but the graph uses its input
        helper.make_node("ReduceSum", ["images"], ["s"], keepdims=0),
        helper.make_node("Mul", ["s", "zero"], ["z"]),
        helper.make_node("Add", ["head", "z"], ["output0"]),
    ]
    graph = helper.make_graph(nodes, "tiny", [helper.make_tensor_value_info("images", TensorProto.FLOAT,
                                                                            [1, 3, size, size])],
                              [helper.make_tensor_value_info("output0", TensorProto.FLOAT, list(output.shape))],
                              initializer=[const, zero])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    if names:
        model.metadata_props.add(key="names", value=names)
    onnx.save(model, str(path))


def test_ultralytics_layout_decoded_with_nms_and_class_map(tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    from inference.detectors.yolo_onnx import YoloOnnxDetector

    nc, n = 3, 16
    head = np.zeros((1, 4 + nc, n), np.float32)
    # Two overlapping boxes of class 2 (NMS keeps the better one), one of class 0, one unmapped class 1.
    for k, (cx, cy, w, h, c, s) in enumerate([(20, 20, 10, 10, 2, 0.9), (21, 20, 10, 10, 2, 0.8),
                                               (48, 40, 8, 12, 0, 0.7), (40, 10, 6, 6, 1, 0.95)]):
        head[0, :4, k] = (cx, cy, w, h)
        head[0, 4 + c, k] = s
    model = tmp_path / "u.onnx"
    constant_yolo(model, head, names="{0: 'person', 1: 'bicycle', 2: 'truck'}")
    det = YoloOnnxDetector(model, {"truck": "truck", "0": "car"})
    image = np.zeros((128, 128, 3), np.uint8)  # twice the input size: boxes scale by 2
    out = sorted(det.detect(image), key=lambda d: d.label)
    assert [d.label for d in out] == ["car", "truck"]
    assert out[1].box == pytest.approx((30.0, 30.0, 50.0, 50.0)) and out[1].score == pytest.approx(0.9)
    assert out[0].box == pytest.approx((88.0, 68.0, 104.0, 92.0))


def test_yolov5_layout_with_letterbox(tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    from inference.detectors.yolo_onnx import YoloOnnxDetector

    nc, n = 2, 20
    head = np.zeros((1, n, 5 + nc), np.float32)
    head[0, 0] = (32, 32, 16, 8, 0.9, 0.1, 0.8)  # objectness 0.9 * class 1 (0.8) = 0.72
    head[0, 1] = (10, 10, 4, 4, 0.1, 0.9, 0.0)  # 0.09: below the threshold
    model = tmp_path / "v5.onnx"
    constant_yolo(model, head)
    det = YoloOnnxDetector(model, {"1": "muck_truck"}, conf_threshold=0.25)
    # A 128 x 64 frame into a 64 x 64 input: scale 0.5, 16 px of padding above and below.
    out = det.detect(np.zeros((64, 128, 3), np.uint8))
    assert len(out) == 1 and out[0].label == "muck_truck" and out[0].score == pytest.approx(0.72)
    assert out[0].box == pytest.approx((48.0, 24.0, 80.0, 40.0))
    with pytest.raises(BadInput, match="SkyPatrol label"):
        YoloOnnxDetector(model, {"1": "tank"})
    with pytest.raises(BadInput, match="class name"):
        YoloOnnxDetector(model, {"truck": "truck"})
    with pytest.raises(BadInput, match="not found"):
        YoloOnnxDetector(tmp_path / "none.onnx", {"1": "car"})


# -- colour cues and metric size rules ------------------------------------------------------------
def test_colour_detector_and_size_rules_settle_labels() -> None:
    cam = camera_from_fov("t", 640, 360, 60.0)
    frame = LocalFrame(30.7416, 121.3415)
    g = Georeferencer(cam, frame)
    pose = Pose(t=0.0, lat_deg=30.7416, lon_deg=121.3415, alt_rel_m=50.0)
    gsd = g.gsd_m(pose)
    img = np.full((360, 640, 3), (110, 112, 112), np.uint8)
    px = lambda m: round(m / gsd)  # noqa: E731

    cv2.rectangle(img, (100, 100), (100 + px(0.45), 100 + px(0.45)), (20, 100, 250), -1)  # cone
    cv2.rectangle(img, (200, 100), (200 + px(2.0), 100 + px(0.4)), (20, 100, 250), -1)  # barrier
    cv2.rectangle(img, (300, 200), (300 + px(7.0), 200 + px(2.5)), (72, 104, 134), -1)  # muck-truck load
    cv2.rectangle(img, (20, 250), (20 + px(12), 250 + px(6)), (72, 104, 134), -1)  # excavation
    cv2.rectangle(img, (450, 40), (450 + px(6.0), 40 + px(3.0)), (20, 200, 240), -1)  # excavator
    cv2.rectangle(img, (500, 300), (500 + px(6.0), 300 + px(0.3)), (20, 100, 250), -1)  # neither
    dets = ColourDetector().detect(img)
    placed = place_detections(g, pose, dets, t=0.0, frame_index=0)
    settled = apply_size_rules(g, pose, img, placed)
    assert sorted(d.label for d in settled) == ["barrier", "excavation", "excavator", "muck_truck", "traffic_cone"]
    truck = next(d for d in settled if d.label == "muck_truck")
    assert truck.length_m == pytest.approx(7.0, abs=0.5) and truck.width_m == pytest.approx(2.5, abs=0.4)
    # A model's "muck_truck" of car length becomes a truck; a heavy "truck" with an earth load a muck truck.
    car_box = Detection(box=(10.0, 10.0, 10.0 + px(4.5), 10.0 + px(1.8)), label="muck_truck", score=0.9)
    heavy = Detection(box=(300.0, 200.0, 300.0 + px(10.0), 200.0 + px(2.5)), label="truck", score=0.9)
    out = apply_size_rules(g, pose, img, place_detections(g, pose, [car_box, heavy], t=0.0, frame_index=0))
    assert [d.label for d in out] == ["truck", "muck_truck"]


def test_load_seen_on_a_heavy_truck_earth_or_green_tarp() -> None:
    cam = camera_from_fov("t", 640, 360, 60.0)
    g = Georeferencer(cam, LocalFrame(30.7416, 121.3415))
    pose = Pose(t=0.0, lat_deg=30.7416, lon_deg=121.3415, alt_rel_m=50.0)
    px = lambda m: round(m / g.gsd_m(pose))  # noqa: E731
    img = np.full((360, 640, 3), (110, 112, 112), np.uint8)
    boxes = []
    for x, top in ((40, (72, 104, 134)), (240, (60, 120, 40)), (440, (200, 200, 205))):  # earth, tarp, white
        cv2.rectangle(img, (x, 100), (x + px(2.4), 100 + px(10.0)), (90, 90, 95), -1)  # body
        cv2.rectangle(img, (x, 100 + px(2.6)), (x + px(2.4), 100 + px(10.0)), top, -1)  # bed
        boxes.append(Detection(box=(float(x), 100.0, float(x + px(2.4)), float(100 + px(10.0))), label="truck",
                               score=0.9))
    out = apply_size_rules(g, pose, img, place_detections(g, pose, boxes, t=0.0, frame_index=0))
    assert [(d.label, d.load) for d in out] == [("muck_truck", "earth"), ("muck_truck", "tarp"), ("truck", None)]


def _blobs_by_labelling(mask: np.ndarray, min_area: int) -> list[tuple[int, int, int, int, int, list]]:
    """The reference: label the whole mask, then trace each blob alone."""
    _, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    out = []
    for i in range(1, len(stats)):
        x, y, w, h, area = (int(v) for v in stats[i])
        if area < min_area:
            continue
        roi = (labels[y:y + h, x:x + w] == i).astype(np.uint8)
        contours, _ = cv2.findContours(roi, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        pts = np.vstack(contours).reshape(-1, 2) + np.array([x, y])
        out.append((x, y, w, h, area, sorted(map(tuple, pts.tolist()))))
    return out


@pytest.mark.parametrize("seed", range(6))
def test_colour_blobs_are_the_labelled_components(seed: int) -> None:
    """The colour detector's blobs (traced, counted in their own box) are exactly the 8-connected
    components of a whole-frame labelling, in raster order of their first pixel: speckle, touching corners, rings with
    blobs inside their holes, blobs on the frame edge, and empty masks."""
    from inference.detectors.colour import blobs

    rng = np.random.default_rng(seed)
    mask = ((rng.random((180, 240)) < 0.03 * seed) * 255).astype(np.uint8)
    for _ in range(12):
        x, y = int(rng.integers(-10, 230)), int(rng.integers(-10, 170))
        cv2.circle(mask, (x, y), int(rng.integers(1, 14)), 255, int(rng.choice([-1, 1, 2])))
    cv2.rectangle(mask, (100, 100), (130, 130), 255, 2)
    cv2.rectangle(mask, (110, 110), (118, 118), 255, -1)  # a blob inside a ring's hole
    mask[0:3, 0:3] = 255
    mask[3, 3] = 255  # joined diagonally
    for min_area in (1, 6, 40):
        got = [(x, y, w, h, a, sorted(map(tuple, p.astype(int).tolist())))
               for x, y, w, h, a, p in blobs(mask, min_area)]
        assert sorted(got) == sorted(_blobs_by_labelling(mask, min_area))
        first = [min((py, px) for px, py in pts) for *_, pts in got]  # topmost row, leftmost in it
        assert first == sorted(first)
    assert blobs(np.zeros((50, 60), np.uint8), 1) == []
