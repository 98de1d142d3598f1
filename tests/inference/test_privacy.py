"""Evidence privacy (PIPL): number plates and faces (dlib's HOG detector) blurred for every role below the one
allowed originals."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from inference import privacy
from inference.privacy import blur_regions, face_detection_available, face_regions, plate_regions, public_copy

AERIAL = Path(__file__).resolve().parents[3] / "shared" / "testdata" / "aerial"


def street_scene() -> np.ndarray:
    """A car's rear with a blue plate, a truck's yellow plate, and a blue roof (no characters)."""
    img = np.full((240, 400, 3), (110, 112, 112), np.uint8)
    cv2.rectangle(img, (20, 20), (200, 200), (60, 60, 60), -1)
    cv2.rectangle(img, (60, 140), (160, 172), (160, 60, 20), -1)  # blue plate, white characters
    cv2.putText(img, "A12345", (64, 166), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (245, 245, 245), 2)
    cv2.rectangle(img, (240, 150), (340, 182), (20, 200, 230), -1)  # yellow plate, black characters
    cv2.putText(img, "B6789", (246, 176), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (20, 20, 20), 2)
    cv2.rectangle(img, (220, 20), (390, 120), (170, 80, 30), -1)  # a blue roof is no plate
    return img


def test_plates_found_and_blurred_unreadably() -> None:
    img = street_scene()
    found = sorted(plate_regions(img))
    assert len(found) == 2
    assert abs(found[0][0] - 60) <= 2 and abs(found[0][1] - 140) <= 2 and abs(found[1][0] - 240) <= 2
    public, regions = public_copy(img)
    assert regions and public.shape == img.shape
    g0, g1 = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY), cv2.cvtColor(public, cv2.COLOR_BGR2GRAY)
    for x1, y1, x2, y2 in found:  # the characters are gone: little contrast left inside the plate
        assert g1[y1 + 4:y2 - 4, x1 + 4:x2 - 4].std() < 0.5 * g0[y1 + 4:y2 - 4, x1 + 4:x2 - 4].std()
    np.testing.assert_array_equal(public[20:120, 220:390], img[20:120, 220:390])  # the roof untouched
    assert public_copy(np.full((100, 100, 3), 120, np.uint8))[1] == []


needs_faces = pytest.mark.skipif(not face_detection_available(),
                                 reason="no face detector: dlib (dlib-bin) is not installed and OpenCV has no cascades")


def astronaut() -> np.ndarray:
    """A real photograph with one frontal face (scikit-image ships it in its wheel: no download)."""
    data = pytest.importorskip("skimage.data", reason="scikit-image (the dev extra) carries the test photograph")
    return cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)  # 512x512, face at about x 160-280, y 60-200


def sharpness(gray: np.ndarray) -> float:
    return float(cv2.Laplacian(gray.astype(np.float64), cv2.CV_64F).var())


@needs_faces
def test_face_found_on_a_real_photograph() -> None:
    img = astronaut()
    faces = face_regions(img)
    assert len(faces) == 1
    x1, y1, x2, y2 = faces[0]
    assert 160 <= x1 < x2 <= 285 and 60 <= y1 < y2 <= 200 and x2 - x1 >= 60 and y2 - y1 >= 60
    assert face_regions(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)) != []  # grey evidence too


@needs_faces
def test_small_and_large_frames_scale_back_to_the_image() -> None:
    img = astronaut()
    small = face_regions(cv2.resize(img, (128, 128), interpolation=cv2.INTER_AREA))  # a ~23 px face: upsampled
    assert len(small) == 1
    x1, y1, x2, y2 = small[0]
    assert 38 <= x1 < x2 <= 72 and 15 <= y1 < y2 <= 50
    frame = np.full((2160, 3840, 3), 118, np.uint8)  # 4K: run on a downscaled copy, boxes scaled back
    frame[1000:2024, 2000:3024] = cv2.resize(img, (1024, 1024))
    big = face_regions(frame)
    assert len(big) == 1
    x1, y1, x2, y2 = big[0]
    assert 2000 + 320 <= x1 < x2 <= 2000 + 570 and 1000 + 120 <= y1 < y2 <= 1000 + 400


@needs_faces
def test_no_faces_on_grey_street_or_aerial_images() -> None:
    assert face_regions(np.full((120, 120, 3), 128, np.uint8)) == []
    assert face_regions(np.full((720, 1280, 3), 128, np.uint8)) == []
    assert face_regions(street_scene()) == []
    photos = sorted(AERIAL.glob("*.jp*g")) if AERIAL.is_dir() else []
    for p in photos:
        assert face_regions(cv2.imread(str(p))) == [], p.name


@needs_faces
def test_public_copy_makes_the_face_unreadable() -> None:
    img = astronaut()
    public, regions = public_copy(img)
    faces = face_regions(img)
    assert faces and set(faces) <= set(regions)
    assert face_regions(public) == []  # the detector no longer finds it
    g0, g1 = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY), cv2.cvtColor(public, cv2.COLOR_BGR2GRAY)
    for x1, y1, x2, y2 in faces:  # eyes, nose, mouth: the fine structure is gone
        assert sharpness(g1[y1:y2, x1:x2]) < 0.02 * sharpness(g0[y1:y2, x1:x2])
        assert g1[y1:y2, x1:x2].std() < 0.75 * g0[y1:y2, x1:x2].std()
    changed = np.any(public != img, axis=2)
    outside = np.ones_like(changed)
    for x1, y1, x2, y2 in regions:  # only the regions grown by the 20 % margin change
        gx, gy = round((x2 - x1) * 0.2), round((y2 - y1) * 0.2)
        outside[max(0, y1 - gy):y2 + gy, max(0, x1 - gx):x2 + gx] = False
    assert not changed[outside].any()
    np.testing.assert_array_equal(public[300:, :], img[300:, :])  # far below the face: untouched
    np.testing.assert_array_equal(public[:, 350:], img[:, 350:])
    assert face_regions(blur_regions(img, faces)) == []


def test_without_dlib_or_cascades_only_plates(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(privacy, "_dlib_detector", lambda: None)
    monkeypatch.setattr(privacy, "_cascade", lambda name: None)
    assert not face_detection_available()
    assert face_regions(np.full((120, 120, 3), 128, np.uint8)) == []
    assert len(plate_regions(street_scene())) == 2 and len(public_copy(street_scene())[1]) == 2


def test_real_aerial_photographs_are_processed() -> None:
    photos = sorted(AERIAL.glob("*.jp*g")) if AERIAL.is_dir() else []
    if not photos:
        pytest.skip("../shared/testdata/aerial is absent")
    for p in photos:
        image = cv2.imread(str(p))
        public, regions = public_copy(image)
        assert public.shape == image.shape
        changed = np.any(public != image, axis=2)
        outside = np.ones_like(changed)
        for x1, y1, x2, y2 in regions:  # only the regions (and their margins) change
            gx, gy = round((x2 - x1) * 0.2), round((y2 - y1) * 0.2)
            outside[max(0, y1 - gy):y2 + gy, max(0, x1 - gx):x2 + gx] = False
        assert not changed[outside].any()


@pytest.fixture
def app_client(tmp_path: Path):  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from core.auth import create_token
    from core.settings import Settings
    from skypatrol.app import create_app

    app = create_app(Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'sp.db'}", retention_days={}))
    with TestClient(app, raise_server_exceptions=False) as c:
        tokens = {}
        with app.state.db.session() as s:
            for role in ("viewer", "pilot", "admin"):
                _, tokens[role] = create_token(s, f"t-{role}", role)
        yield c, tokens


def test_evidence_api_serves_originals_to_admin_only(app_client, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    c, tokens = app_client
    _, png = cv2.imencode(".png", street_scene())
    up = c.post("/api/v1/evidence", content=png.tobytes(), headers={"Authorization": f"Bearer {tokens['pilot']}",
                                                                     "Content-Type": "image/png"})
    assert up.status_code == 201, up.text
    name = up.json()["name"]

    def fetch(role: str) -> tuple[str, np.ndarray]:
        r = c.get(f"/api/v1/evidence/{name}", params={"access_token": tokens[role]})
        assert r.status_code == 200, r.text
        return r.headers["x-skypatrol-evidence"], cv2.imdecode(np.frombuffer(r.content, np.uint8), cv2.IMREAD_COLOR)

    kind, original = fetch("admin")
    assert kind == "original" and np.array_equal(original, street_scene())
    for role in ("viewer", "pilot"):
        kind, seen = fetch(role)
        assert kind == "public" and plate_regions(seen) == [] and seen.shape == original.shape
    assert (tmp_path / "evidence" / name.replace(".png", ".public.png")).is_file()
    c.app.state.settings.evidence_originals_role = "pilot"  # a city may let pilots see originals
    assert fetch("pilot")[0] == "original" and fetch("viewer")[0] == "public"


@needs_faces
def test_evidence_api_blurs_faces_for_roles_below_originals(app_client) -> None:  # type: ignore[no-untyped-def]
    c, tokens = app_client
    img = astronaut()
    _, png = cv2.imencode(".png", img)
    up = c.post("/api/v1/evidence", content=png.tobytes(), headers={"Authorization": f"Bearer {tokens['pilot']}",
                                                                     "Content-Type": "image/png"})
    assert up.status_code == 201, up.text
    r = c.get(f"/api/v1/evidence/{up.json()['name']}", params={"access_token": tokens["viewer"]})
    assert r.status_code == 200 and r.headers["x-skypatrol-evidence"] == "public"
    seen = cv2.imdecode(np.frombuffer(r.content, np.uint8), cv2.IMREAD_COLOR)
    assert seen.shape == img.shape and face_regions(seen) == [] and not np.array_equal(seen, img)
