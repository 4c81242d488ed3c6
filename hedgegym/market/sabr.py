r"""SABR stochastic volatility with β = 1 (log-normal SABR), simulated with a conditional log-spot step.

Model (drift = ``mu`` under ``measure="real"``, ``rate - dividend`` under ``measure="pricing"``)::

    dS_t = drift · S_t dt + α_t S_t dW_S
    dα_t = ν α_t dW_α,      d⟨W_S, W_α⟩_t = ρ dt

With β = 1 the forward F_t = S_t e^{drift (T − t)} follows the usual SABR dynamics dF = α F dW_S, so Hagan's
implied-volatility formula applies to options on S. Other β (CEV backbones) are not simulated.

Scheme, per step of length Δ, from two independent normals (Z_S, Z_⊥') drawn per path and step::

    Z_α = ρ Z_S + √(1 − ρ²) Z_⊥',   Z_⊥ = √(1 − ρ²) Z_S − ρ Z_⊥'      (independent, and ρ Z_α + √(1−ρ²) Z_⊥ = Z_S)
    α_{t+Δ} = α_t exp(ν √Δ Z_α − ν² Δ / 2)                                        (exact)
    I       = (α_t² + α_{t+Δ}²) / 2 · Δ                        (trapezoidal ∫α² dt over the step)
    ln S_{t+Δ} = ln S_t + drift·Δ − I/2 + (ρ/ν)(α_{t+Δ} − α_t) + √(1 − ρ²) √I Z_⊥

It uses ∫α dW_α = (α_{t+Δ} − α_t)/ν, exact because dα = να dW_α, so the only approximation is the
trapezoidal integrated variance (conditionally on the α path, ln S_T is then normal, as in the exact
β = 1 model). The spot is a martingale (after removing the drift) exactly for ρ = 0 and up to that
trapezoidal error otherwise. As ν → 0 the step tends to α √Δ Z_S; ν = 0 is simulated exactly as geometric
Brownian motion with σ = α from the same normals Z_S (so it reproduces ``GeometricBrownianMotion`` path by path).

Domain shared with the pricer (``hedgegym.pricing.sabr``), so every simulated node can be valued:

* ρ lies in the open interval (−1, 1): at ρ = ±1 Hagan's x(z) is infinite beyond |z| = 1 (and the scheme
  degenerates), so the dataclass refuses ±1 with that range rather than let the pricer refuse it mid-run.
* In the model S > 0 and α > 0, but a long horizon with a large ν can push ln S or ln α below the
  floating-point range (e.g. α = 0.3, ν = 1, ρ = −0.7 over 3 years: S ≈ 1e-168 and then 0.0 on a path whose α
  reached 112). ``MarketModel.simulate`` keeps every model's spot in the positive normal doubles (``SPOT_FLOOR``
  = 2.2e-308, the value 0.0 would have had, to within 2.2e-308) and this model keeps α in [``ALPHA_FLOOR``,
  ``ALPHA_CEILING``] so that the reported variance α² is a positive normal double; the pricer values both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from hedgegym import _validation as check
from hedgegym.market.base import FloatArray, MarketModel, exponentiate_log_spot

__all__ = ["ALPHA_CEILING", "ALPHA_FLOOR", "SABR"]

ALPHA_FLOOR = float(np.sqrt(np.finfo(np.float64).tiny))
"""1.5e-154, so that the reported variance α² never underflows to 0."""
ALPHA_CEILING = float(np.sqrt(np.finfo(np.float64).max))


@dataclass(frozen=True, kw_only=True)
class SABR(MarketModel):
    r"""SABR with β = 1: log-normal spot whose volatility α_t is itself log-normal.

    Args:
        spot: initial spot S₀ (> 0).
        alpha: initial volatility α₀ per √year (> 0).
        vol_of_vol: ν per √year (>= 0; 0 gives geometric Brownian motion with σ = α₀).
        correlation: ρ between the spot and volatility Brownian motions, in the open interval (-1, 1).
        beta: the SABR backbone exponent; only 1.0 is supported for simulation.
        mu, rate, dividend: see ``MarketModel``.

    ``variance`` in the paths is α_t² at every node.

    Shape: ``simulate`` returns ``spot`` and ``variance`` of shape (n_paths, n_steps + 1).
    """

    alpha: float = 0.2
    vol_of_vol: float = 0.3
    correlation: float = -0.3
    beta: float = 1.0

    def _validate(self) -> None:
        self._set("alpha", check.positive)
        self._set("vol_of_vol", check.non_negative)
        self._set("correlation", check.finite)
        if not -1.0 < self.correlation < 1.0:
            raise ValueError(
                f"correlation must be in the open interval (-1, 1): the SABR pricer (Hagan's x(z)) is undefined at "
                f"±1, got {self.correlation!r}"
            )
        self._set("beta", check.finite)
        if self.beta != 1.0:
            raise ValueError(f"beta must be 1.0: only beta = 1.0 is supported for simulation, got {self.beta!r}")

    def _simulate(
        self, n_paths: int, n_steps: int, dt: float, rng: np.random.Generator, drift: float
    ) -> tuple[FloatArray, FloatArray, dict[str, Any]]:
        nu, rho = self.vol_of_vol, self.correlation
        z_spot = rng.standard_normal((n_paths, n_steps))
        z_other = rng.standard_normal((n_paths, n_steps))
        if nu == 0.0:
            sigma = self.alpha
            log_increments = (drift - 0.5 * sigma**2) * dt + sigma * np.sqrt(dt) * z_spot
            variance = np.full((n_paths, n_steps + 1), sigma**2)
            return exponentiate_log_spot(self.spot, log_increments), variance, {}

        orthogonal = np.sqrt(1.0 - rho**2)
        z_alpha = rho * z_spot + orthogonal * z_other
        z_perp = orthogonal * z_spot - rho * z_other

        log_alpha_increments = nu * np.sqrt(dt) * z_alpha - 0.5 * nu**2 * dt
        log_alpha = np.zeros((n_paths, n_steps + 1))
        np.cumsum(log_alpha_increments, axis=1, out=log_alpha[:, 1:])
        alpha = np.clip(self.alpha * np.exp(log_alpha), ALPHA_FLOOR, ALPHA_CEILING)
        alpha_change = alpha[:, :-1] * np.expm1(log_alpha_increments)  # α_{t+Δ} − α_t without cancellation

        integrated_variance = 0.5 * (alpha[:, :-1] ** 2 + alpha[:, 1:] ** 2) * dt
        log_increments = (
            drift * dt
            - 0.5 * integrated_variance
            + (rho / nu) * alpha_change
            + orthogonal * np.sqrt(integrated_variance) * z_perp
        )
        return exponentiate_log_spot(self.spot, log_increments), alpha**2, {}
