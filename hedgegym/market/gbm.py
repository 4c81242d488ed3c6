r"""Geometric Brownian motion (Black–Scholes market), simulated exactly.

    dS_t = drift · S_t dt + σ S_t dW_t
    S_{t+dt} = S_t exp((drift − σ²/2) dt + σ √dt Z),   Z ~ N(0, 1)

The step is the exact solution, so there is no discretisation error at any ``dt``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from hedgegym import _validation as check
from hedgegym.market.base import FloatArray, MarketModel, exponentiate_log_spot

__all__ = ["GeometricBrownianMotion"]


@dataclass(frozen=True, kw_only=True)
class GeometricBrownianMotion(MarketModel):
    r"""Geometric Brownian motion with constant volatility.

    Args:
        spot: initial spot S₀ (> 0).
        volatility: σ per √year (>= 0; 0 gives the deterministic path S₀ e^{drift·t}).
        mu: real-world growth rate of the price per year.
        rate: risk-free rate per year (continuously compounded).
        dividend: continuous dividend yield per year.

    ``variance`` in the paths is σ² at every node.

    Shape: ``simulate`` returns ``spot`` and ``variance`` of shape (n_paths, n_steps + 1).
    """

    volatility: float = 0.2

    def _validate(self) -> None:
        self._set("volatility", check.non_negative)

    def _simulate(
        self, n_paths: int, n_steps: int, dt: float, rng: np.random.Generator, drift: float
    ) -> tuple[FloatArray, FloatArray, dict[str, Any]]:
        sigma = self.volatility
        normals = rng.standard_normal((n_paths, n_steps))
        log_increments = (drift - 0.5 * sigma**2) * dt + sigma * np.sqrt(dt) * normals
        spot = exponentiate_log_spot(self.spot, log_increments)
        variance = np.full((n_paths, n_steps + 1), sigma**2)
        return spot, variance, {}
