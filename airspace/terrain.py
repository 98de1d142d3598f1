"""Ground height: flat at the home's height unless a DEM provider is configured."""

from __future__ import annotations

from dataclasses import dataclass
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
