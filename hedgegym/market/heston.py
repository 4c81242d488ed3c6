r"""Heston stochastic volatility, simulated with Andersen's (2008) Quadratic-Exponential (QE) scheme.

Model (drift = ``mu`` under ``measure="real"``, ``rate - dividend`` under ``measure="pricing"``)::

    dS_t = drift · S_t dt + √v_t S_t dW_S
    dv_t = κ (θ − v_t) dt + σ_v √v_t dW_v,      d⟨W_S, W_v⟩_t = ρ dt

Reference: L. Andersen, "Simple and efficient simulation of the Heston stochastic volatility model",
Journal of Computational Finance 11(3), 2008 (QE scheme, log-spot discretisation, martingale correction).

Variance step (QE, ψ_c = 1.5). With the exact conditional moments of v_{t+Δ} given v_t = v::

    m  = θ + (v − θ) e^{−κΔ}
    s² = v σ_v² e^{−κΔ} (1 − e^{−κΔ})/κ + θ σ_v² (1 − e^{−κΔ})² / (2κ)
    ψ  = s² / m²

  * ψ ≤ ψ_c (quadratic): b² = 2/ψ − 1 + √(2/ψ) √(2/ψ − 1),  a = m / (1 + b²),  v_{t+Δ} = a (b + Z_v)²;
  * ψ > ψ_c (exponential): p = (ψ − 1)/(ψ + 1),  β = (1 − p)/m,
    v_{t+Δ} = 0 if U ≤ p else ln((1 − p)/(1 − U)) / β,  U ~ Uniform[0, 1).

Both branches match m and s² exactly and never give a negative variance, whether or not the Feller
condition 2κθ ≥ σ_v² holds (it is not required; see ``feller_satisfied``). Where m < 1e-100 (variance
numerically extinct, e.g. θ = 0) the next variance is set to 0.

Log-spot step (Andersen's K₀…K₄ discretisation with γ₁ = γ₂ = ½, the trapezoidal rule for ∫v dt)::

    ln S_{t+Δ} = ln S_t + drift·Δ + K₀ + K₁ v_t + K₂ v_{t+Δ} + √(K₃ v_t + K₄ v_{t+Δ}) Z_S
    K₀ = −ρκθΔ/σ_v,  K₁ = γ₁Δ(κρ/σ_v − ½) − ρ/σ_v,  K₂ = γ₂Δ(κρ/σ_v − ½) + ρ/σ_v,
    K₃ = γ₁Δ(1 − ρ²),  K₄ = γ₂Δ(1 − ρ²)

Martingale correction (Andersen's corrected K₀): K₀ is replaced, path by path, by
K₀* = −ln E[e^{A v_{t+Δ}} | v_t] − (K₁ + ½K₃) v_t with A = K₂ + ½K₄, which makes E[S_{t+Δ} | S_t] =
S_t e^{drift·Δ} exactly for the discretised process::

    quadratic:   ln E[e^{A v'}] = A b² a / (1 − 2Aa) − ½ ln(1 − 2Aa)     (exists when 1 − 2Aa > 0)
    exponential: ln E[e^{A v'}] = ln(p + β(1 − p)/(β − A))             (exists when A < β)

Where it does not exist (large positive ρ with large steps; rare for usual parameters) the uncorrected K₀
is used for that path and step.

σ_v < 1e-8 (σ_v = 0 included): the variance follows its ODE exactly, v_{t+Δ} = m, and the log-spot step
uses the exact integrated variance ∫v dt = θΔ + (v − θ)(1 − e^{−κΔ})/κ (no QE, no K's). The K's carry
1/σ_v factors that cancel and lose precision as σ_v → 0, while below 1e-8 the variance's own randomness is
negligible, hence the switch.
κ = 0 is allowed (limits (1 − e^{−κΔ})/κ → Δ).

One step is the pure function ``qe_step`` (checked by quadrature in the tests). Vectorised over paths; the
Python loop runs over time steps only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from hedgegym import _validation as check
from hedgegym.market.base import FloatArray, MarketModel, paths_major

__all__ = ["DETERMINISTIC_VOL_OF_VOL", "PSI_CRITICAL", "Heston", "qe_step"]

PSI_CRITICAL = 1.5
"""Andersen's switching level ψ_c between the quadratic and the exponential branch."""

_EXTINCT_VARIANCE = 1e-100  # conditional mean below which the next variance is set to 0
_PSI_FLOOR = 1e-300  # keeps 2/ψ finite when s² underflows
DETERMINISTIC_VOL_OF_VOL = 1e-8
"""Below this σ_v the variance is simulated by its exact ODE (see the module docstring)."""


@dataclass(frozen=True, kw_only=True)
class Heston(MarketModel):
    r"""Heston model simulated with Andersen's QE scheme and martingale-corrected log-spot step.

    Args:
        spot: initial spot S₀ (> 0).
        initial_variance: v₀ per year (>= 0).
        mean_reversion: κ per year (>= 0).
        long_run_variance: θ per year (>= 0).
        vol_of_vol: σ_v per √year (>= 0; below 1e-8, 0 included, the variance ODE is solved exactly).
        correlation: ρ between the spot and variance Brownian motions, in [-1, 1].
        mu, rate, dividend: see ``MarketModel``.

    The Feller condition 2κθ ≥ σ_v² is not required: the scheme keeps v ≥ 0 either way, and when it fails
    the variance spends time at (or very near) 0. ``variance`` in the paths is v_t at every node.

    Shape: ``simulate`` returns ``spot`` and ``variance`` of shape (n_paths, n_steps + 1).
    """

    initial_variance: float = 0.04
    mean_reversion: float = 2.0
    long_run_variance: float = 0.04
    vol_of_vol: float = 0.5
    correlation: float = -0.7

    def _validate(self) -> None:
        self._set("initial_variance", check.non_negative)
        self._set("mean_reversion", check.non_negative)
        self._set("long_run_variance", check.non_negative)
        self._set("vol_of_vol", check.non_negative)
        self._set("correlation", check.in_closed_range, -1.0, 1.0)

    @property
    def feller_satisfied(self) -> bool:
        """Whether 2κθ ≥ σ_v² (the variance then never reaches 0 in continuous time)."""
        return 2.0 * self.mean_reversion * self.long_run_variance >= self.vol_of_vol**2

    def _simulate(
        self, n_paths: int, n_steps: int, dt: float, rng: np.random.Generator, drift: float
    ) -> tuple[FloatArray, FloatArray, dict[str, Any]]:
        variance = np.empty((n_steps + 1, n_paths))
        log_spot = np.empty((n_steps + 1, n_paths))  # ln(S_t / S₀), so that S_0 = S₀ exactly
        variance[0] = self.initial_variance
        log_spot[0] = 0.0
        step = self._deterministic_step if self.vol_of_vol < DETERMINISTIC_VOL_OF_VOL else self._qe_step
        for i in range(n_steps):
            variance[i + 1], log_increment = step(variance[i], dt, rng)
            log_spot[i + 1] = log_spot[i] + drift * dt + log_increment
        return self.spot * paths_major(np.exp(log_spot)), paths_major(variance), {}

    def _deterministic_step(self, v: FloatArray, dt: float, rng: np.random.Generator) -> tuple[FloatArray, FloatArray]:
        """σ_v ≈ 0: exact variance ODE and exact integrated variance; the spot step is then exact log-normal."""
        theta = self.long_run_variance
        decay, _, weight = _decay_terms(self.mean_reversion, dt)
        next_v = theta + (v - theta) * decay
        integrated = np.maximum(theta * dt + (v - theta) * weight, 0.0)
        z_spot = rng.standard_normal(v.shape)
        return next_v, -0.5 * integrated + np.sqrt(integrated) * z_spot

    def _qe_step(self, v: FloatArray, dt: float, rng: np.random.Generator) -> tuple[FloatArray, FloatArray]:
        z_variance = rng.standard_normal(v.shape)
        uniform = rng.random(v.shape)
        z_spot = rng.standard_normal(v.shape)
        return qe_step(
            v,
            z_variance,
            uniform,
            z_spot,
            dt=dt,
            mean_reversion=self.mean_reversion,
            long_run_variance=self.long_run_variance,
            vol_of_vol=self.vol_of_vol,
            correlation=self.correlation,
        )


def _decay_terms(mean_reversion: float, dt: float) -> tuple[float, float, float]:
    """(e^{−κΔ}, 1 − e^{−κΔ}, (1 − e^{−κΔ})/κ), the last → Δ as κ → 0."""
    decay = float(np.exp(-mean_reversion * dt))
    one_minus_decay = float(-np.expm1(-mean_reversion * dt))
    weight = one_minus_decay / mean_reversion if mean_reversion > 0.0 else dt
    return decay, one_minus_decay, weight


def qe_step(
    variance: FloatArray,
    z_variance: FloatArray,
    uniform: FloatArray,
    z_spot: FloatArray,
    *,
    dt: float,
    mean_reversion: float,
    long_run_variance: float,
    vol_of_vol: float,
    correlation: float,
    martingale_correction: bool = True,
) -> tuple[FloatArray, FloatArray]:
    r"""One step of Andersen's QE scheme for v and his (martingale-corrected) log-spot step.

    Pure function of the random inputs, so the scheme can be checked by quadrature.

    Args:
        variance: v_t per year (>= 0).
        z_variance: standard normals Z_v for the quadratic branch.
        uniform: Uniform[0, 1) draws U for the exponential branch.
        z_spot: standard normals Z_S, independent of Z_v and U.
        dt: Δ in years; the model parameters as in ``Heston`` (vol_of_vol >= ``DETERMINISTIC_VOL_OF_VOL``).
        martingale_correction: replace K₀ by K₀* where it exists (see the module docstring).

    Returns:
        ``(next_variance, log_increment)`` with log_increment = ln(S_{t+Δ}/S_t) − drift·Δ.

    Shape: every argument and output (n_paths,).
    """
    kappa, theta, sigma, rho = mean_reversion, long_run_variance, vol_of_vol, correlation
    v = variance
    decay, one_minus_decay, weight = _decay_terms(kappa, dt)

    # Andersen's K's with γ₁ = γ₂ = ½, and A = K₂ + K₄/2 for the martingale correction.
    gamma1 = gamma2 = 0.5
    k0 = -rho * kappa * theta * dt / sigma
    k1 = gamma1 * dt * (kappa * rho / sigma - 0.5) - rho / sigma
    k2 = gamma2 * dt * (kappa * rho / sigma - 0.5) + rho / sigma
    k3 = gamma1 * dt * (1.0 - rho**2)
    k4 = gamma2 * dt * (1.0 - rho**2)
    a_mgf = k2 + 0.5 * k4

    m = theta + (v - theta) * decay
    s2 = v * sigma**2 * decay * weight + 0.5 * theta * sigma**2 * one_minus_decay * weight

    next_v = np.zeros_like(v)
    log_mgf = np.zeros_like(v)  # ln E[exp(A v_{t+Δ}) | v_t]; 0 where the variance is extinct (v' = 0)
    corrected = np.full(v.shape, martingale_correction)

    alive = m > _EXTINCT_VARIANCE
    psi = np.zeros_like(v)
    psi[alive] = s2[alive] / m[alive] ** 2
    quadratic = alive & (psi <= PSI_CRITICAL)
    exponential = alive & (psi > PSI_CRITICAL)

    # Quadratic branch: v' = a (b + Z_v)².
    m_q = m[quadratic]
    two_over_psi = 2.0 / np.maximum(psi[quadratic], _PSI_FLOOR)
    b2 = two_over_psi - 1.0 + np.sqrt(two_over_psi) * np.sqrt(two_over_psi - 1.0)
    a = m_q / (1.0 + b2)
    next_v[quadratic] = a * (np.sqrt(b2) + z_variance[quadratic]) ** 2
    one_minus_2aa = 1.0 - 2.0 * a_mgf * a
    exists = one_minus_2aa > 0.0
    log_mgf_q = np.zeros_like(m_q)
    a_ok, b2_ok, denominator = a[exists], b2[exists], one_minus_2aa[exists]
    log_mgf_q[exists] = a_mgf * b2_ok * a_ok / denominator - 0.5 * np.log(denominator)
    log_mgf[quadratic] = log_mgf_q
    corrected[quadratic] &= exists

    # Exponential branch: v' = 0 with probability p, else Exponential(β).
    m_e, psi_e, u_e = m[exponential], psi[exponential], uniform[exponential]
    p = (psi_e - 1.0) / (psi_e + 1.0)
    beta = (1.0 - p) / m_e
    v_e = np.zeros_like(m_e)
    jump = u_e > p
    v_e[jump] = np.log((1.0 - p[jump]) / (1.0 - u_e[jump])) / beta[jump]
    next_v[exponential] = v_e
    exists = a_mgf < beta
    log_mgf_e = np.zeros_like(m_e)
    log_mgf_e[exists] = np.log(p[exists] + beta[exists] * (1.0 - p[exists]) / (beta[exists] - a_mgf))
    log_mgf[exponential] = log_mgf_e
    corrected[exponential] &= exists

    k0_star = np.where(corrected, -log_mgf - (k1 + 0.5 * k3) * v, k0)
    log_increment = k0_star + k1 * v + k2 * next_v + np.sqrt(k3 * v + k4 * next_v) * z_spot
    return next_v, log_increment
