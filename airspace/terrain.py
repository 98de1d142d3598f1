"""Ground height: flat at the home's height unless a DEM is configured (a GeoTIFF, or any provider)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
from numpy.typing import ArrayLike, NDArray


@runtime_checkable
class DemProvider(Protocol):
    """A digital elevation model: ground height above mean sea level at given points."""

    #: Spacing of the model's samples; checks sample the ground along a leg at this step.
    resolution_m: float

    def ground_amsl_m(self, lat_deg: ArrayLike, lon_deg: ArrayLike) -> NDArray[np.float64]: ...


@dataclass(frozen=True, slots=True)
class FlatTerrain:
    """The ground is everywhere at the same height (the home's), the default."""

    height_amsl_m: float
    resolution_m: float = float("inf")

    def ground_amsl_m(self, lat_deg: ArrayLike, lon_deg: ArrayLike) -> NDArray[np.float64]:
        return np.full(np.shape(np.asarray(lat_deg, dtype=float)), self.height_amsl_m)


# GeoTIFF tags (GeoTIFF 1.1 / OGC 19-008) and the keys this reader needs.
_TAG_PIXEL_SCALE = 33550
_TAG_TIEPOINT = 33922
_TAG_GEOKEYS = 34735
_TAG_GDAL_NODATA = 42113
_KEY_MODEL_TYPE = 1024  # 2 = geographic
_KEY_RASTER_TYPE = 1025  # 1 = pixel is area, 2 = pixel is point
_KEY_GEOGRAPHIC_TYPE = 2048  # 4326 = WGS 84
_KEY_PROJECTED_TYPE = 3072
_M_PER_DEG = 111_320.0


class GeoTiffDem:
    """A DEM from a single-band GeoTIFF in WGS 84 latitude/longitude (SRTM, ASTER GDEM and
    Copernicus DEM tiles come so). Heights are bilinear between samples; points outside the
    raster, or next to a no-data sample, are a clear error rather than a guess."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        import tifffile

        from core.errors import BadInput

        self.path = Path(path)
        try:
            with tifffile.TiffFile(self.path) as tif:
                page = tif.pages[0]
                tags = {t.code: t.value for t in page.tags.values()}
                heights = page.asarray()
        except FileNotFoundError:
            raise BadInput(f"DEM {self.path}: no such file") from None
        except Exception as exc:
            raise BadInput(f"DEM {self.path}: not a readable TIFF ({exc})") from None
        if heights.ndim != 2:
            raise BadInput(f"DEM {self.path}: expected one band of heights, got an array of shape {heights.shape}")
        if _TAG_PIXEL_SCALE not in tags or _TAG_TIEPOINT not in tags:
            raise BadInput(f"DEM {self.path}: no GeoTIFF georeferencing (ModelPixelScale and ModelTiepoint tags)")
        keys = _geokeys(tags.get(_TAG_GEOKEYS, ()))
        if keys.get(_KEY_MODEL_TYPE) != 2 or keys.get(_KEY_GEOGRAPHIC_TYPE, 4326) != 4326 \
                or _KEY_PROJECTED_TYPE in keys:
            raise BadInput(f"DEM {self.path}: only WGS 84 latitude/longitude rasters (EPSG:4326) are read; "
                           "reproject it first (e.g. gdalwarp -t_srs EPSG:4326)")
        sx, sy = float(tags[_TAG_PIXEL_SCALE][0]), float(tags[_TAG_PIXEL_SCALE][1])
        i, j, _, lon0, lat0, _ = (float(v) for v in tags[_TAG_TIEPOINT][:6])
        # Sample centres: with "pixel is area" the tie point is the corner of pixel (0, 0).
        half = 0.5 if keys.get(_KEY_RASTER_TYPE, 1) == 1 else 0.0
        self.lon0 = lon0 + (half - i) * sx  # longitude of column 0's centre
        self.lat0 = lat0 - (half - j) * sy  # latitude of row 0's centre
        self.dlon, self.dlat = sx, sy
        grid = heights.astype(np.float64)
        nodata = tags.get(_TAG_GDAL_NODATA)
        if nodata is not None:
            grid[grid == float(str(nodata).strip("\x00 "))] = np.nan
        self.heights = grid
        self.resolution_m = min(sy, sx * np.cos(np.radians(self.lat0))) * _M_PER_DEG

    def ground_amsl_m(self, lat_deg: ArrayLike, lon_deg: ArrayLike) -> NDArray[np.float64]:
        from core.errors import BadInput

        lat = np.asarray(lat_deg, dtype=float)
        lon = np.asarray(lon_deg, dtype=float)
        rows, cols = self.heights.shape
        r = (self.lat0 - lat) / self.dlat
        c = (lon - self.lon0) / self.dlon
        outside = (r < 0) | (r > rows - 1) | (c < 0) | (c > cols - 1)
        if np.any(outside):
            k = int(np.argmax(outside.ravel()))
            raise BadInput(f"DEM {self.path.name} does not cover {lat.ravel()[k]:.6f}, {lon.ravel()[k]:.6f}")
        r0 = np.minimum(np.floor(r).astype(int), rows - 2) if rows > 1 else np.zeros_like(r, dtype=int)
        c0 = np.minimum(np.floor(c).astype(int), cols - 2) if cols > 1 else np.zeros_like(c, dtype=int)
        fr, fc = r - r0, c - c0
        h = self.heights
        r1, c1 = np.minimum(r0 + 1, rows - 1), np.minimum(c0 + 1, cols - 1)
        out = ((h[r0, c0] * (1 - fc) + h[r0, c1] * fc) * (1 - fr) + (h[r1, c0] * (1 - fc) + h[r1, c1] * fc) * fr)
        if np.any(np.isnan(out)):
            k = int(np.argmax(np.isnan(out).ravel()))
            raise BadInput(f"DEM {self.path.name} has no height near {lat.ravel()[k]:.6f}, {lon.ravel()[k]:.6f}")
        return np.asarray(out, dtype=np.float64)

    def elevation_amsl_m(self, lat_deg: ArrayLike, lon_deg: ArrayLike) -> NDArray[np.float64]:
        """The same, under the name inference's georeferencer calls a terrain provider by."""
        return self.ground_amsl_m(lat_deg, lon_deg)


def _geokeys(directory: tuple[int, ...] | list[int]) -> dict[int, int]:
    """Short (in-directory) values of a GeoKeyDirectory: {key id: value}."""
    d = list(directory)
    if len(d) < 4:
        return {}
    out = {}
    for k in range(d[3]):
        key, location, _count, value = d[4 + 4 * k: 8 + 4 * k]
        if location == 0:
            out[key] = value
    return out


_dem_cache: dict[Path, GeoTiffDem] = {}


def configured_dem(settings: object) -> GeoTiffDem | None:
    """The server's DEM (`dem_path` in the settings), read once."""
    path = getattr(settings, "dem_path", None)
    if path is None:
        return None
    path = Path(path)
    if path not in _dem_cache:
        _dem_cache[path] = GeoTiffDem(path)
    return _dem_cache[path]
