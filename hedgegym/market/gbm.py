r"""Geometric Brownian motion (Black–Scholes market), simulated exactly.

    dS_t = drift · S_t dt + σ S_t dW_t
    S_{t+dt} = S_t exp((drift − σ²/2) dt + σ √dt Z),   Z ~ N(0, 1)

The step is the exact solution, so there is no discretisation error at any ``dt`` (in torch too:
``simulate_tensors``, float32 or float64, CPU or CUDA, whose rounding is that of ``dtype``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

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

    Shape: ``simulate`` returns ``spot`` and ``variance`` of shape (n_paths, n_steps + 1), float64 arrays;
    ``simulate_tensors`` (torch, ``torch.Generator``, float32 by default, CPU or CUDA) returns them TIME-MAJOR,
    (n_steps + 1, n_paths), the layout ``HedgingEngine.reset`` takes: the same scheme, another random stream.
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

    def _simulate_tensors(
        self, n_paths: int, n_steps: int, dt: float, generator: torch.Generator, dtype: torch.dtype, drift: float
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The same exact log-Euler step as ``_simulate``, in torch at ``dtype`` on the generator's device,
        time-major: ln S_{i+1} = ln S_i + (drift − σ²/2) dt + σ √dt Z_i with Z (n_steps, n_paths) from
        ``torch.randn`` (another stream than numpy's: the numbers differ from ``simulate``'s), cumulated along time
        in ``dtype``; ``spot[0]`` = S₀ exactly. ``variance`` is σ² broadcast (``expand``: no memory; ``clone()`` it
        before writing into it). Shape: both (n_steps + 1, n_paths)."""
        sigma = self.volatility
        options = {"dtype": dtype, "device": generator.device}
        log_spot = torch.empty((n_steps + 1, n_paths), **options)
        log_spot[0] = 0.0
        increments = torch.randn((n_steps, n_paths), generator=generator, **options)
        increments.mul_(sigma * math.sqrt(dt)).add_((drift - 0.5 * sigma**2) * dt)
        torch.cumsum(increments, dim=0, out=log_spot[1:])
        del increments
        spot = log_spot.exp_().mul_(self.spot)  # in place: S₀ · exp(ln S_i − ln S₀); row 0 is S₀ · 1
        return spot, torch.full((1, 1), sigma**2, **options).expand(n_steps + 1, n_paths)  # σ², no memory
