r"""Merton (1976) jump-diffusion: European option price and Greeks by the Poisson series, vectorised.

Model (pricing measure): dS/S = (r − q − λk) dt + σ dW + (J − 1) dN, N Poisson with intensity λ per year,
ln J ~ Normal(μ_J, δ²), k = E[J − 1] = exp(μ_J + δ²/2) − 1 (the compensator keeps e^{−(r−q)t}S a martingale).

Conditioned on n jumps the log-price is Gaussian, so the value is a Poisson mixture of Black–Scholes values::

    V = Σ_n p_n(λτ) · BS(S_n, K, τ, σ_n),     p_n(x) = e^{−x} xⁿ / n!
    S_n = S · exp(−λkτ + n(μ_J + δ²/2)),     σ_n² = σ² + n δ² / τ

(each term has forward F_n = S_n e^{(r−q)τ} and total variance σ²τ + nδ²). The series is cut where the
Poisson tail is below 1e-16 for every node. Greeks differentiate the series term by term::

    Δ = Σ p_n Δ_BS,n S_n/S      Γ = Σ p_n Γ_BS,n (S_n/S)²      vega = ∂V/∂σ = Σ p_n vega_BS,n σ/σ_n
    Θ = −∂V/∂τ = Σ [−λ(p_{n−1} − p_n) BS_n + p_n (Θ_BS,n + λk S_n Δ_BS,n + vega_BS,n n δ² / (2σ_n τ²))]

At τ = 0 the functions return the Black–Scholes intrinsic limits (the jump part of Θ as τ → 0⁺,
λ·E[V(SJ) − V(S)], is not included there).

Units as everywhere: time in years, λ per year, vega per 1.00 of the diffusion volatility σ, Θ per year.

Shape: outputs have the broadcast shape of ``spot, strike, time_to_maturity, rate, dividend, call``;
``volatility`` and the jump parameters broadcast too. The series adds a trailing axis of length
n_max + 1 internally (n_max ≈ λτ + 10√(λτ) + 20), so memory is (nodes × terms) floats.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import gammaln

from hedgegym import _validation as check
from hedgegym.pricing import black_scholes
from hedgegym.pricing.greeks import FloatArray, Greeks

__all__ = ["greeks", "jump_compensator", "price"]


def jump_compensator(jump_mean: ArrayLike, jump_std: ArrayLike) -> FloatArray:
    """k = E[J − 1] = exp(μ_J + δ²/2) − 1, the mean relative jump size."""
    return np.expm1(np.asarray(jump_mean) + 0.5 * np.asarray(jump_std) ** 2)


def greeks(
    spot: ArrayLike,
    strike: ArrayLike,
    time_to_maturity: ArrayLike,
    volatility: ArrayLike,
    jump_intensity: ArrayLike,
    jump_mean: ArrayLike,
    jump_std: ArrayLike,
    rate: ArrayLike = 0.0,
    dividend: ArrayLike = 0.0,
    call: ArrayLike = True,
) -> Greeks:
    """Merton jump-diffusion price, Δ, Γ, vega (∂V/∂σ) and Θ (per year) of European options."""
    spot = check.positive("spot", spot)
    strike = check.positive("strike", strike)
    tau = check.non_negative("time_to_maturity", time_to_maturity)
    volatility = check.non_negative("volatility", volatility)
    intensity = check.non_negative("jump_intensity", jump_intensity)
    jump_mean = check.finite("jump_mean", jump_mean)
    jump_std = check.non_negative("jump_std", jump_std)
    rate = check.finite("rate", rate)
    dividend = check.finite("dividend", dividend)
    call = np.asarray(call, dtype=bool)
    arrays = np.broadcast_arrays(spot, strike, tau, volatility, intensity, jump_mean, jump_std, rate, dividend, call)
    spot, strike, tau, volatility, intensity, jump_mean, jump_std, rate, dividend, call = (a[..., None] for a in arrays)

    expected_jumps = intensity * tau
    n_max = int(np.ceil(np.max(expected_jumps + 10.0 * np.sqrt(expected_jumps)))) + 20 if expected_jumps.size else 20
    n = np.arange(n_max + 1, dtype=np.float64)
    with np.errstate(divide="ignore"):
        log_jumps = np.log(expected_jumps)
    # p_n = e^{-x} x^n / n!, with p_0 = 1 exactly when x = 0
    weight = np.where(
        expected_jumps > 0.0, np.exp(-expected_jumps + n * np.where(expected_jumps > 0.0, log_jumps, 0.0)
                                     - gammaln(n + 1.0)), (n == 0).astype(np.float64),
    )
    previous_weight = np.concatenate([np.zeros_like(weight[..., :1]), weight[..., :-1]], axis=-1)

    k = jump_compensator(jump_mean, jump_std)
    live = tau > 0.0
    safe_tau = np.where(live, tau, 1.0)
    # S_n in the positive normal doubles: for extreme jump sizes e^{n(μ_J + δ²/2)} under/overflows for large n
    # (weights p_n there are ~0); a term spot of 0.0 or inf would otherwise reach Black–Scholes
    with np.errstate(over="ignore", under="ignore"):
        term_spot = np.clip(spot * np.exp(-intensity * k * tau + n * (jump_mean + 0.5 * jump_std**2)),
                            np.finfo(np.float64).tiny, np.finfo(np.float64).max)
    term_variance = np.where(live, volatility**2 + n * jump_std**2 / safe_tau, volatility**2)
    term_volatility = np.sqrt(term_variance)
    term = black_scholes.greeks(term_spot, strike, tau, term_volatility, rate, dividend, call)

    ratio = term_spot / spot
    positive_vol = term_volatility > 0.0
    safe_vol = np.where(positive_vol, term_volatility, 1.0)
    d_vol_d_sigma = np.where(positive_vol, volatility / safe_vol, 1.0)
    d_vol_d_tau = np.where(positive_vol & live, -n * jump_std**2 / (2.0 * safe_vol * safe_tau**2), 0.0)
    # −dV/dτ, term by term: Poisson weights, the compensated spot S_n(τ) and the volatility σ_n(τ)
    theta_terms = (
        -np.where(live, intensity, 0.0) * (previous_weight - weight) * term.price
        + weight * (term.theta + intensity * k * term_spot * term.delta - term.vega * d_vol_d_tau)
    )
    return Greeks(
        price=np.sum(weight * term.price, axis=-1),
        delta=np.sum(weight * term.delta * ratio, axis=-1),
        gamma=np.sum(weight * term.gamma * ratio**2, axis=-1),
        vega=np.sum(weight * term.vega * d_vol_d_sigma, axis=-1),
        theta=np.sum(theta_terms, axis=-1),
    )


def price(
    spot: ArrayLike,
    strike: ArrayLike,
    time_to_maturity: ArrayLike,
    volatility: ArrayLike,
    jump_intensity: ArrayLike,
    jump_mean: ArrayLike,
    jump_std: ArrayLike,
    rate: ArrayLike = 0.0,
    dividend: ArrayLike = 0.0,
    call: ArrayLike = True,
) -> FloatArray:
    """Merton jump-diffusion value of a European option (see ``greeks``)."""
    return greeks(
        spot, strike, time_to_maturity, volatility, jump_intensity, jump_mean, jump_std, rate, dividend, call
    ).price
