"""The record every pricing model returns: value and first-order risks of one unit of an instrument."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]


class Greeks(NamedTuple):
    """Price and risks of one unit of an option; every field has the broadcast shape of the inputs.

    Units: ``price`` in currency; ``delta`` per unit of spot; ``gamma`` per unit of spot²;
    ``vega`` per 1.00 of the model's volatility parameter (Black–Scholes σ; for Heston: per unit of the
    instantaneous variance v, see ``hedgegym.pricing.heston``); ``theta`` = ∂V/∂t per year of calendar time.
    """

    price: FloatArray
    delta: FloatArray
    gamma: FloatArray
    vega: FloatArray
    theta: FloatArray
