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

Numerics valid on the whole domain (every node a simulator can produce is valued):

* x(z) is evaluated as ln((r + z − ρ)/(1 − ρ)) for z ≥ ρ and as ln((1 + ρ)/(r − z + ρ)) for z < ρ, with
  r = √((z − ρ)² + (1 − ρ)(1 + ρ)) (``hypot``): the same number (multiply by the conjugate), but free of the
  cancellation that makes the textbook form return 0/0 or log(≤ 0) as |ρ| → 1 and of overflow for huge |z|.
  ρ must lie in the open interval (−1, 1): at ρ = ±1, x(z) is infinite for z ≥ 1 (ρ = 1) or z ≤ −1 (ρ = −1).
* The O(τ) factor u = 1 + ε τ (ε the bracket above) is Hagan's first-order Taylor term of the implied volatility
  in τ (Obłój 2008, "Fine-tune your smile: correction to Hagan et al.", Wilmott, eq. (2):
  σ_B = I⁰(x)(1 + I¹(x) τ + O(τ²))). For long maturities and a large α with ρ < 0 (or |ρ| > √(2/3)) u turns
  negative (ε τ < −1), where the truncated expansion has no meaning. It is replaced by a capped form

      g(u) = u                             for u ≥ u₀ = 1/2,
      g(u) = u₀ / (1 − s + s²),  s = (u − u₀)/u₀   for u < u₀,

  which is exactly Hagan's factor wherever the O(τ) correction is smaller than 50 % (so the formula agrees with
  QuantLib's ``sabrVolatility`` there to rounding), and below it a positive, increasing continuation that joins
  it with equal value, slope and curvature (C², so the finite-difference Γ stays smooth) and tends to 0 as
  ε τ → −∞. The capped region is outside the expansion's validity in any case (there ε τ < −1/2, so the
  neglected O(τ²) terms are as large as the kept ones): values there are a well-defined, arbitrage-bounded
  extrapolation (Black–Scholes at a positive volatility), not an accurate SABR price.

Prices are Black–Scholes with σ = σ_B(K, F) and F = S e^{(r−q)τ}. The Greeks are the model-consistent
("Hagan") ones: the smile moves with the forward, so

    Δ = Δ_BS + vega_BS · ∂σ_B/∂F · F/S
    Γ = Γ_BS + 2 vanna_BS · ∂σ_B/∂S + volga_BS · (∂σ_B/∂S)² + vega_BS · ∂²σ_B/∂S²
    vega = ∂V/∂α = vega_BS · ∂σ_B/∂α          Θ = Θ_BS − vega_BS · dσ_B/dτ (F moving with τ included)

where the derivatives of σ_B are taken by central finite differences of the closed form (in ln S with step
1e-4, relative steps 1e-5 in α and τ; σ_B is smooth, so they carry ~1e-9 relative error). With x = ln S,
∂σ_B/∂S = σ_x/S and ∂²σ_B/∂S² = (σ_xx − σ_x)/S², and every smile term carries the Black–Scholes density φ(d₁):
it is set to 0 where φ(d₁) = 0 (far from the money, or τ = 0), so a spot near the floating-point floor (a
simulated S that underflowed) never gives 0·∞. Units: vega per 1.00 of α, Θ per year.

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


CORRECTION_FLOOR = 0.5
"""u₀: Hagan's O(τ) factor 1 + ετ is used as is down to u₀, and continued smoothly and positively below it."""


def _validate_model(alpha, beta, vol_of_vol, correlation):
    rho = check.finite("correlation", correlation)
    if not np.all(np.abs(rho) < 1.0):
        raise ValueError(
            f"correlation must be in the open interval (-1, 1) (Hagan's x(z) is infinite at ±1), got "
            f"{float(rho[np.abs(rho) >= 1.0].ravel()[0]) if rho.ndim else float(rho)!r}"
        )
    return (
        check.positive("alpha", alpha),
        check.in_closed_range("beta", beta, 0.0, 1.0),
        check.non_negative("vol_of_vol", vol_of_vol),
        rho,
    )


def _capped_correction(u):
    """g(u) = u for u ≥ u₀; u₀/(1 − s + s²) with s = (u − u₀)/u₀ below (C², positive, increasing)."""
    s = np.minimum((u - CORRECTION_FLOOR) / CORRECTION_FLOOR, 0.0)
    return np.where(u >= CORRECTION_FLOOR, u, CORRECTION_FLOOR / (1.0 - s + s * s))


def _hagan(forward, strike, tau, alpha, beta, nu, rho) -> FloatArray:
    """Hagan's lognormal volatility with the stable x(z) and the capped O(τ) factor (unvalidated; every argument
    broadcast)."""
    one_minus_beta = 1.0 - beta
    log_forward, log_strike = np.log(forward), np.log(strike)
    log_moneyness = log_forward - log_strike
    geometric = np.exp(0.5 * one_minus_beta * (log_forward + log_strike))  # (FK)^{(1−β)/2}, no FK overflow
    z = nu / alpha * geometric * log_moneyness
    small = np.abs(z) < 1e-4
    safe_z = np.where(small, 1.0, z)
    d = safe_z - rho
    root = np.hypot(d, np.sqrt((1.0 - rho) * (1.0 + rho)))  # √(1 − 2ρz + z²)
    upper = d >= 0.0
    ratio = np.where(upper, (root + np.where(upper, d, 0.0)) / (1.0 - rho),
                     (1.0 + rho) / (root - np.where(upper, 0.0, d)))
    x = np.log(ratio)
    # z/x(z) = 1 − ρz/2 + (2 − 3ρ²) z²/12 + O(z³) near the money
    series_z = np.where(small, z, 0.0)
    z_over_x = np.where(small, 1.0 - 0.5 * rho * series_z + (2.0 - 3.0 * rho**2) * series_z**2 / 12.0, safe_z / x)
    log2 = log_moneyness**2
    denominator = geometric * (1.0 + one_minus_beta**2 / 24.0 * log2 + one_minus_beta**4 / 1920.0 * log2**2)
    correction = 1.0 + (
        one_minus_beta**2 * alpha**2 / (24.0 * geometric**2)
        + rho * beta * nu * alpha / (4.0 * geometric)
        + (2.0 - 3.0 * rho**2) * nu**2 / 24.0
    ) * tau
    return alpha / denominator * z_over_x * _capped_correction(correction)


def implied_volatility(
    forward: ArrayLike,
    strike: ArrayLike,
    time_to_maturity: ArrayLike,
    alpha: ArrayLike,
    beta: ArrayLike,
    vol_of_vol: ArrayLike,
    correlation: ArrayLike,
) -> FloatArray:
    """Hagan's Black (lognormal) implied volatility for strike K and forward F; per √year (module docstring).

    Positive for every valid input: where Hagan's O(τ) factor 1 + ετ falls below 1/2 (long maturities, large α
    with ρ < 0) it is replaced by the capped continuation of the module docstring instead of turning negative.

    Raises ``ValueError`` naming the argument: ``forward``, ``strike``, ``alpha`` must be > 0, ``beta`` in
    [0, 1], ``vol_of_vol`` >= 0, ``correlation`` in the open interval (−1, 1), ``time_to_maturity`` >= 0.
    """
    forward = check.positive("forward", forward)
    strike = check.positive("strike", strike)
    tau = check.non_negative("time_to_maturity", time_to_maturity)
    alpha, beta, nu, rho = _validate_model(alpha, beta, vol_of_vol, correlation)
    return _hagan(forward, strike, tau, alpha, beta, nu, rho)


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
    h_x = 1e-4  # step in x = ln S
    up, down = sigma(s=spot * np.exp(h_x)), sigma(s=spot * np.exp(-h_x))
    sigma_x = (up - down) / (2.0 * h_x)
    sigma_xx = (up - 2.0 * volatility + down) / h_x**2
    h_a = 1e-5 * alpha
    d_sigma_d_alpha = (sigma(a=alpha + h_a) - sigma(a=alpha - h_a)) / (2.0 * h_a)
    h_t = 1e-5 * np.maximum(tau, 1e-3)
    d_sigma_d_tau = (sigma(t=tau + h_t) - sigma(t=np.maximum(tau - h_t, 0.0))) / (tau + h_t - np.maximum(tau - h_t, 0))

    # d₁² overflows to inf and S·σ√τ underflows to 0 (φ(d₁) = 0 there) where σ√τ ~ 1e-154 (α at the simulator's
    # floor) and S ~ 1e-308 (a spot that underflowed): Γ_BS is recomputed below with φ(d₁) = 0 ⇒ Γ_BS = 0
    with np.errstate(over="ignore", invalid="ignore"):
        bs = black_scholes.greeks(spot, strike, tau, volatility, rate, dividend, call)
        density, std, d1, d2 = _black_scholes_terms(spot, strike, tau, volatility, rate, dividend)
    live = density > 0.0  # e^{−qτ} φ(d₁) > 0: Γ_BS and the smile terms below are exactly 0 elsewhere
    safe_spot = np.where(live, spot, 1.0)
    safe_vol = np.where(live, volatility, 1.0)
    safe_std = np.where(live, std, 1.0)
    vega_per_spot = density * np.sqrt(tau)  # vega_BS / S
    d_sigma_d_spot = np.where(live, sigma_x / safe_spot, 0.0)
    # Γ_BS = e^{−qτ} φ(d₁)/(S σ√τ); vanna = ∂²V/∂S∂σ = −e^{−qτ} φ(d₁) d₂/σ; volga = ∂²V/∂σ² = vega d₁ d₂/σ
    gamma_bs = np.where(live, density / safe_spot / safe_std, 0.0)
    vanna = -density * d2 / safe_vol
    smile_gamma = np.where(
        live,
        2.0 * vanna * d_sigma_d_spot
        + vega_per_spot * d1 * d2 / safe_vol * sigma_x * d_sigma_d_spot
        + vega_per_spot * (sigma_xx - sigma_x) / safe_spot,
        0.0,
    )
    return Greeks(
        price=bs.price,
        delta=bs.delta + np.where(live, vega_per_spot * sigma_x, 0.0),
        gamma=gamma_bs + smile_gamma,
        vega=bs.vega * d_sigma_d_alpha,
        theta=bs.theta - bs.vega * d_sigma_d_tau,
    )


def _black_scholes_terms(spot, strike, tau, volatility, rate, dividend) -> tuple[FloatArray, ...]:
    """e^{−qτ} φ(d₁), σ√τ, d₁ and d₂ of Black–Scholes; all but σ√τ are 0 where σ√τ = 0 (no optionality left)."""
    std = volatility * np.sqrt(tau)
    positive = std > 0.0
    safe_std = np.where(positive, std, 1.0)
    d1 = np.where(positive, (np.log(spot / strike) + (rate - dividend) * tau) / safe_std + 0.5 * safe_std, 0.0)
    d2 = d1 - np.where(positive, safe_std, 0.0)
    density = np.where(positive, np.exp(-dividend * tau) * np.exp(-0.5 * d1 * d1) / np.sqrt(2.0 * np.pi), 0.0)
    return density, std, d1, d2


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
