r"""Merton (1976) jump diffusion, simulated exactly step by step.

Model (drift = ``mu`` under ``measure="real"``, ``rate - dividend`` under ``measure="pricing"``)::

    dS_t / S_{t−} = (drift − λk) dt + σ dW_t + (J − 1) dN_t,   ln J ~ N(m, δ²),  N Poisson with rate λ
    k = E[J − 1] = exp(m + δ²/2) − 1

The compensator λk makes E[S_t] = S₀ e^{drift·t}. Each step is exact: with N ~ Poisson(λ dt) jumps in the step,
the sum of their log-sizes is N·m + √N·δ·Z₂ in distribution, so::

    ln S_{t+dt} = ln S_t + (drift − λk − σ²/2) dt + σ √dt Z₁ + N m + √N δ Z₂,   Z₁, Z₂ ~ N(0, 1) independent
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from hedgegym import _validation as check
from hedgegym.market.base import FloatArray, MarketModel, exponentiate_log_spot

__all__ = ["MertonJumpDiffusion"]


@dataclass(frozen=True, kw_only=True)
class MertonJumpDiffusion(MarketModel):
    r"""Merton jump diffusion: geometric Brownian motion plus compound-Poisson log-normal jumps.

    Args:
        spot: initial spot S₀ (> 0).
        volatility: diffusion σ per √year (>= 0).
        jump_intensity: λ, expected number of jumps per year (>= 0).
        jump_mean: m, mean of the log jump size ln J.
        jump_std: δ, standard deviation of ln J (>= 0).
        mu, rate, dividend: see ``MarketModel``.

    ``variance`` in the paths is the diffusion σ² at every node (jumps excluded);
    ``extras["jump_count"]`` holds the number of jumps during each step (int64).

    Shape: ``spot``, ``variance`` (n_paths, n_steps + 1); ``extras["jump_count"]`` (n_paths, n_steps).
    """

    volatility: float = 0.2
    jump_intensity: float = 0.5
    jump_mean: float = -0.1
    jump_std: float = 0.15

    def _validate(self) -> None:
        self._set("volatility", check.non_negative)
        self._set("jump_intensity", check.non_negative)
        self._set("jump_mean", check.finite)
        self._set("jump_std", check.non_negative)

    @property
    def mean_jump(self) -> float:
        """k = E[J − 1] = exp(m + δ²/2) − 1, the mean relative jump size."""
        return float(np.expm1(self.jump_mean + 0.5 * self.jump_std**2))

    def _simulate(
        self, n_paths: int, n_steps: int, dt: float, rng: np.random.Generator, drift: float
    ) -> tuple[FloatArray, FloatArray, dict[str, Any]]:
        sigma, intensity = self.volatility, self.jump_intensity
        z_diffusion = rng.standard_normal((n_paths, n_steps))
        jump_count = rng.poisson(intensity * dt, size=(n_paths, n_steps)).astype(np.int64)
        z_jump = rng.standard_normal((n_paths, n_steps))
        log_jumps = jump_count * self.jump_mean + np.sqrt(jump_count) * self.jump_std * z_jump
        log_increments = (
            (drift - intensity * self.mean_jump - 0.5 * sigma**2) * dt + sigma * np.sqrt(dt) * z_diffusion + log_jumps
        )
        spot = exponentiate_log_spot(self.spot, log_increments)
        variance = np.full((n_paths, n_steps + 1), sigma**2)
        return spot, variance, {"jump_count": jump_count}
