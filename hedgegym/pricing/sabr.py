r"""SABR (Hagan et al., 2002): the lognormal implied-volatility approximation, and option values through
Black–Scholes, vectorised.

Model (forward measure): dF = α F^β dW₁, dα = ν α dW₂, d⟨W₁, W₂⟩ = ρ dt. Arguments: ``alpha`` α > 0 (the
current volatility level), ``beta`` β ∈ [0, 1], ``vol_of_vol`` ν ≥ 0, ``correlation`` ρ ∈ (−1, 1).

Hagan's formula, with z = (ν/α)(FK)^{(1−β)/2} ln(F/K) and x(z) = ln((√(1 − 2ρz + z²) + z − ρ)/(1 − ρ))::

    σ_B(K, F) = α / [(FK)^{(1−β)/2} (1 + (1−β)²/24 ln²(F/K) + (1−β)⁴/1920 ln⁴(F/K))] · z / x(z)
                · [1 + ((1−β)²α²/(24 (FK)^{1−β}) + ρβνα/(4 (FK)^{(1−β)/2}) + (2 − 3ρ²)ν²/24) τ]

with z/x(z) → 1 at the money (its series to O(z³) is used for |z| < 1e-4, where the closed form would
lose digits to cancellation: both errors are ~1e-12 there). It is an asymptotic expansion:
accurate for short maturities and moderate ν, biased for long-dated, far-from-the-money strikes.

Prices are Black–Scholes with σ = σ_B(K, F) and F = S e^{(r−q)τ}. The Greeks are the model-consistent
("Hagan") ones: the smile moves with the forward, so

    Δ = Δ_BS + vega_BS · ∂σ_B/∂F · F/S
    Γ = Γ_BS + 2 vanna_BS · ∂σ_B/∂S + volga_BS · (∂σ_B/∂S)² + vega_BS · ∂²σ_B/∂S²
    vega = ∂V/∂α = vega_BS · ∂σ_B/∂α          Θ = Θ_BS − vega_BS · dσ_B/dτ (F moving with τ included)

where the derivatives of σ_B are taken by central finite differences of the closed form (relative steps
1e-4 to 1e-5; σ_B is smooth, so they carry ~1e-9 relative error). Units: vega per 1.00 of α, Θ per year.

Shape: outputs have the broadcast shape of ``spot, strike, time_to_maturity, alpha, rate, dividend, call``;
``beta``, ``vol_of_vol`` and ``correlation`` broadcast too.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from hedgegym import _validation as check
from hedgegym.pricing import black_scholes
from hedgegym.pricing.greeks import FloatArray, Greeks

__all__ = ["greeks", "implied_volatility", "price"]


def _validate_model(alpha, beta, vol_of_vol, correlation):
    return (
        check.positive("alpha", alpha),
        check.in_closed_range("beta", beta, 0.0, 1.0),
        check.non_negative("vol_of_vol", vol_of_vol),
        check.in_closed_range("correlation", correlation, -1.0 + 1e-12, 1.0 - 1e-12),
    )


def _hagan(forward, strike, tau, alpha, beta, nu, rho) -> FloatArray:
    """Hagan's lognormal volatility (unvalidated; every argument broadcast)."""
    one_minus_beta = 1.0 - beta
    log_moneyness = np.log(forward / strike)
    geometric = (forward * strike) ** (0.5 * one_minus_beta)  # (FK)^{(1−β)/2}
    z = nu / alpha * geometric * log_moneyness
    small = np.abs(z) < 1e-4
    safe_z = np.where(small, 1.0, z)
    x = np.log((np.sqrt(1.0 - 2.0 * rho * safe_z + safe_z**2) + safe_z - rho) / (1.0 - rho))
    # z/x(z) = 1 − ρz/2 + (2 − 3ρ²) z²/12 + O(z³) near the money
    z_over_x = np.where(small, 1.0 - 0.5 * rho * z + (2.0 - 3.0 * rho**2) * z * z / 12.0, safe_z / x)
    log2 = log_moneyness**2
    denominator = geometric * (1.0 + one_minus_beta**2 / 24.0 * log2 + one_minus_beta**4 / 1920.0 * log2**2)
    correction = 1.0 + (
        one_minus_beta**2 * alpha**2 / (24.0 * geometric**2)
        + rho * beta * nu * alpha / (4.0 * geometric)
        + (2.0 - 3.0 * rho**2) * nu**2 / 24.0
    ) * tau
    return alpha / denominator * z_over_x * correction


def implied_volatility(
    forward: ArrayLike,
    strike: ArrayLike,
    time_to_maturity: ArrayLike,
    alpha: ArrayLike,
    beta: ArrayLike,
    vol_of_vol: ArrayLike,
    correlation: ArrayLike,
) -> FloatArray:
    """Hagan's Black (lognormal) implied volatility for strike K and forward F; per √year.

    Raises ``ValueError`` naming ``time_to_maturity`` where the expansion turns negative (very long maturity
    with a large (2 − 3ρ²)ν² or negative ρβνα term), rather than returning a meaningless volatility.
    """
    forward = check.positive("forward", forward)
    strike = check.positive("strike", strike)
    tau = check.non_negative("time_to_maturity", time_to_maturity)
    alpha, beta, nu, rho = _validate_model(alpha, beta, vol_of_vol, correlation)
    volatility = _hagan(forward, strike, tau, alpha, beta, nu, rho)
    if not np.all(volatility > 0.0):
        raise ValueError(
            "time_to_maturity is beyond the range of Hagan's expansion for these parameters: the implied "
            "volatility turns non-positive"
        )
    return volatility


def greeks(
    spot: ArrayLike,
    strike: ArrayLike,
    time_to_maturity: ArrayLike,
    alpha: ArrayLike,
    beta: ArrayLike,
    vol_of_vol: ArrayLike,
    correlation: ArrayLike,
    rate: ArrayLike = 0.0,
    dividend: ArrayLike = 0.0,
    call: ArrayLike = True,
) -> Greeks:
    """SABR price and model-consistent Δ, Γ, vega (∂V/∂α) and Θ of European options (see module docstring)."""
    spot = check.positive("spot", spot)
    strike = check.positive("strike", strike)
    tau = check.non_negative("time_to_maturity", time_to_maturity)
    alpha, beta, nu, rho = _validate_model(alpha, beta, vol_of_vol, correlation)
    rate = check.finite("rate", rate)
    dividend = check.finite("dividend", dividend)
    carry = np.exp((rate - dividend) * tau)

    def sigma(s=spot, t=tau, a=alpha):
        return _hagan(s * np.exp((rate - dividend) * t), strike, t, a, beta, nu, rho)

    volatility = implied_volatility(spot * carry, strike, tau, alpha, beta, nu, rho)
    h_s = 1e-4 * spot
    up, down = sigma(s=spot + h_s), sigma(s=spot - h_s)
    d_sigma_d_spot = (up - down) / (2.0 * h_s)
    d2_sigma_d_spot2 = (up - 2.0 * volatility + down) / h_s**2
    h_a = 1e-5 * alpha
    d_sigma_d_alpha = (sigma(a=alpha + h_a) - sigma(a=alpha - h_a)) / (2.0 * h_a)
    h_t = 1e-5 * np.maximum(tau, 1e-3)
    d_sigma_d_tau = (sigma(t=tau + h_t) - sigma(t=np.maximum(tau - h_t, 0.0))) / (tau + h_t - np.maximum(tau - h_t, 0))

    bs = black_scholes.greeks(spot, strike, tau, volatility, rate, dividend, call)
    vanna, volga = _vanna_volga(spot, strike, tau, volatility, rate, dividend, bs.vega)
    return Greeks(
        price=bs.price,
        delta=bs.delta + bs.vega * d_sigma_d_spot,
        gamma=bs.gamma + 2.0 * vanna * d_sigma_d_spot + volga * d_sigma_d_spot**2 + bs.vega * d2_sigma_d_spot2,
        vega=bs.vega * d_sigma_d_alpha,
        theta=bs.theta - bs.vega * d_sigma_d_tau,
    )


def _vanna_volga(spot, strike, tau, volatility, rate, dividend, vega) -> tuple[FloatArray, FloatArray]:
    """∂²V/∂S∂σ and ∂²V/∂σ² of Black–Scholes (the same for calls and puts); 0 where σ√τ = 0."""
    std = volatility * np.sqrt(tau)
    positive = std > 0.0
    safe_std = np.where(positive, std, 1.0)
    d1 = (np.log(spot / strike) + (rate - dividend) * tau) / safe_std + 0.5 * safe_std
    d2 = d1 - safe_std
    safe_vol = np.where(positive, volatility, 1.0)
    vanna = np.where(positive, -np.exp(-dividend * tau) * np.exp(-0.5 * d1 * d1) / np.sqrt(2 * np.pi) * d2 / safe_vol,
                     0.0)
    volga = np.where(positive, vega * d1 * d2 / safe_vol, 0.0)
    return vanna, volga


def price(
    spot: ArrayLike,
    strike: ArrayLike,
    time_to_maturity: ArrayLike,
    alpha: ArrayLike,
    beta: ArrayLike,
    vol_of_vol: ArrayLike,
    correlation: ArrayLike,
    rate: ArrayLike = 0.0,
    dividend: ArrayLike = 0.0,
    call: ArrayLike = True,
) -> FloatArray:
    """SABR value of a European option: Black–Scholes at Hagan's implied volatility."""
    spot = check.positive("spot", spot)
    tau = check.non_negative("time_to_maturity", time_to_maturity)
    forward = spot * np.exp((check.finite("rate", rate) - check.finite("dividend", dividend)) * tau)
    volatility = implied_volatility(forward, strike, tau, alpha, beta, vol_of_vol, correlation)
    return black_scholes.price(spot, strike, tau, volatility, rate, dividend, call)
