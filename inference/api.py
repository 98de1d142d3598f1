"""Evidence images over HTTP: uploaded by edge workers, served to the console and the city platform.

Files are content-addressed (`<sha256>.jpg|png` in `<data dir>/evidence/`): an upload is stored
once and a name can never point at other content. Browsers load them with `<img>`, so reads also
accept `?access_token=`.

Privacy (PIPL): the original is served only to the role allowed originals (`admin`, or the role in
the `evidence_originals_role` setting); every other role gets the public derivative, with faces and
number plates blurred (`inference.privacy`), made on first request and kept beside the original as
`<sha256>.public.jpg|png` (the same bytes where there is nothing to blur; it goes with the original
under the retention period).
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Annotated

import cv2
import numpy as np
from fastapi import APIRouter, Depends, Request
from fastapi import Path as PathParam
from fastapi.responses import FileResponse
from pydantic import BaseModel

from core import audit
from core.auth import Principal, require_role
from core.errors import BadInput, NotFound

evidence_router = APIRouter(prefix="/api/v1/evidence", tags=["evidence"])
NAME_RE = re.compile(r"^[0-9a-f]{64}\.(jpg|png)$")
DERIVED_RE = re.compile(r"^[0-9a-f]{64}\.public\.(jpg|png)$")
MAX_BYTES = 10 * 1024 * 1024
MEDIA = {"image/jpeg": "jpg", "image/png": "png"}


class EvidenceOut(BaseModel):
    sha256: str
    name: str
    media_type: str
    width: int
    height: int
    bytes: int


def evidence_dir(request: Request) -> Path:
    return Path(request.app.state.settings.data_dir) / "evidence"


@evidence_router.post("", status_code=201, response_model=EvidenceOut,
                      summary="Upload an evidence image (raw JPEG or PNG body)",
                      openapi_extra={"requestBody": {"required": True, "content": {
                          "image/jpeg": {"schema": {"type": "string", "format": "binary"}},
                          "image/png": {"schema": {"type": "string", "format": "binary"}}}}})
async def upload_evidence(request: Request, principal: Principal = Depends(require_role("pilot"))) -> EvidenceOut:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in MEDIA:
        raise BadInput(f"evidence must be image/jpeg or image/png, not {media or 'unspecified'}")
    body = await request.body()
    if not body:
        raise BadInput("empty evidence upload")
    if len(body) > MAX_BYTES:
        raise BadInput(f"evidence of {len(body)} bytes exceeds the limit of {MAX_BYTES}")
    image = cv2.imdecode(np.frombuffer(body, np.uint8), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise BadInput(f"the body is not a decodable {media} image")
    digest = hashlib.sha256(body).hexdigest()
    name = f"{digest}.{MEDIA[media]}"
    directory = evidence_dir(request)
    path = directory / name
    if not path.exists():
        directory.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_bytes(body)
        os.replace(tmp, path)
        with request.app.state.db.session() as s:
            audit.record(s, principal, "evidence.upload", "evidence", name, {"bytes": len(body)})
    return EvidenceOut(sha256=digest, name=name, media_type=media, width=int(image.shape[1]),
                       height=int(image.shape[0]), bytes=len(body))


@evidence_router.get("/{name}", response_class=FileResponse, summary="An evidence image",
            responses={200: {"content": {"image/jpeg": {}, "image/png": {}}}})
def get_evidence(request: Request, name: Annotated[str, PathParam(max_length=80)],
                 access_token: str | None = None,
                 principal: Principal = Depends(require_role("viewer", allow_query_token=True))) -> FileResponse:
    if not NAME_RE.match(name):
        raise BadInput("evidence names are <sha256>.jpg or <sha256>.png")
    path = evidence_dir(request) / name
    if not path.is_file():
        raise NotFound(f"evidence {name} not found")
    headers = {"Cache-Control": "private, max-age=31536000, immutable", "Vary": "Authorization"}
    if principal.has(originals_role(request)):
        media = "image/png" if name.endswith(".png") else "image/jpeg"
        return FileResponse(path, media_type=media, headers={**headers, "X-SkyPatrol-Evidence": "original"})
    derived = public_derivative(path)
    media = "image/png" if derived.suffix == ".png" else "image/jpeg"
    return FileResponse(derived, media_type=media, headers={**headers, "X-SkyPatrol-Evidence": "public"})


sites_router = APIRouter(prefix="/api/v1/road-works", tags=["road works"])


@sites_router.get("/sites", summary="Road-works sites kept between patrols, most recently seen first")
def list_sites(request: Request, limit: int = 500,
               _: Principal = Depends(require_role("viewer"))) -> list[dict[str, object]]:
    from sqlalchemy import select

    from core.models import RoadWorksSite

    with request.app.state.db.session() as s:
        rows = s.execute(select(RoadWorksSite).order_by(RoadWorksSite.last_seen.desc())
                         .limit(max(1, min(limit, 5000)))).scalars()
        return [{"site_id": r.site_id, "geometry": r.geometry, "centroid": {"lat": r.centroid_lat,
                                                                             "lon": r.centroid_lon},
                 "first_seen": r.first_seen.isoformat(), "last_seen": r.last_seen.isoformat(),
                 "patrols": r.patrols, "objects": r.objects, "last_mission_id": r.last_mission_id} for r in rows]


def originals_role(request: Request) -> str:
    return str(getattr(request.app.state.settings, "evidence_originals_role", "admin"))


def public_derivative(original: Path) -> Path:
    """`<sha256>.public.<ext>` beside the original: faces and number plates blurred (made once)."""
    from inference.privacy import public_copy

    stem, ext = original.name.split(".", 1)
    derived = original.with_name(f"{stem}.public.{ext}")
    if not derived.is_file():
        image = cv2.imread(str(original), cv2.IMREAD_COLOR)
        if image is None:
            raise NotFound(f"evidence {original.name} is not a readable image")
        public, regions = public_copy(image)
        if regions:
            params = [cv2.IMWRITE_JPEG_QUALITY, 90] if ext == "jpg" else []
            ok, buf = cv2.imencode(f".{ext}", public, params)
            if not ok:
                raise NotFound(f"evidence {original.name}: cannot encode its public copy")
            data = buf.tobytes()
        else:
            data = original.read_bytes()  # nothing to blur: the same bytes
        tmp = derived.with_suffix(f".tmp{os.getpid()}")
        tmp.write_bytes(data)
        os.replace(tmp, derived)
    return derived


def prune_evidence(directory: Path, retention_days: float, now: float | None = None) -> int:
    """Delete evidence files older than the retention period; returns how many were deleted."""
    import time

    if not directory.is_dir():
        return 0
    cutoff = (now if now is not None else time.time()) - retention_days * 86400
    removed = 0
    for path in directory.iterdir():
        if (NAME_RE.match(path.name) or DERIVED_RE.match(path.name)) and path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
            removed += 1
    return removed


# What the app mounts: evidence and the road-works sites.
router = APIRouter()
router.include_router(evidence_router)
router.include_router(sites_router)
