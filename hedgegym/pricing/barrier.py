r"""Down-and-out call (zero rebate) under Black–Scholes–Merton: closed-form price and Greeks, vectorised.

The contract: a European call struck at K that is extinguished (worth 0, no rebate) as soon as the spot is at or
below the barrier B. Continuously monitored by default (Merton 1973; Reiner & Rubinstein 1991); with a
``monitoring_interval`` Δt the barrier is only checked every Δt years, priced by the Broadie–Glasserman–Kou
(1997) continuity correction: the continuous formula at the shifted barrier

    B' = B · exp(−β σ √Δt),   β = −ζ(1/2)/√(2π) ≈ 0.5826.

Formula (method of images). With μ = r − q, p = 1 − 2μ/σ² and the European payoff f that the option pays on the
paths that survive (S_T > B' there, so f vanishes at and below the barrier)::

    K ≥ B':  f(S_T) = (S_T − K)⁺                       V_f = C(x; K)
    K < B':  f(S_T) = (S_T − B')⁺ + (B' − K)·1[S_T > B']  V_f = C(x; B') + (B' − K)·D(x; B')

(C: Black–Scholes call, D = e^{−rτ} N(d₂): cash-or-nothing digital call paying 1), the down-and-out value is

    U(S) = V_f(S) − g(S) · V_f(h(S)),    g(S) = (S/B')^p,   h(S) = B'²/S.

Greeks, exact by the chain rule (g' = p g/S, h' = −h/S, h'' = 2h/S²)::

    Δ = V_f'(S) − (g/S) [p V_f(h) − h V_f'(h)]
    Γ = V_f''(S) − (g/S²) [p(p − 1) V_f(h) + 2(1 − p) h V_f'(h) + h² V_f''(h)]
    Θ = Θ_f(S) − g Θ_f(h)                                               (g and h do not depend on t)
    vega = vega_f(S) − g [ln(S/B') · 4μ/σ³ · V_f(h) + vega_f(h)]  − β√Δt · B' · ∂U/∂B'
    ∂U/∂B' = (U − S Δ − K ∂U/∂K) / B',   ∂U/∂K = −D(S; k) + g D(h; k),  k = max(K, B')

The last line is Euler's theorem (U is homogeneous of degree 1 in S, K and B); the −β√Δt term is the
dependence of the BGK-shifted barrier on σ (absent under continuous monitoring). Every Greek is analytic: no
finite differences.

Units: as ``black_scholes`` (per unit of underlying; vega per 1.00 of volatility; theta = ∂V/∂t per year).

Knock-out region and limits (no NaN, no warning):
  * S ≤ B (the contractual barrier, also under BGK): value and every Greek 0 — the option is dead;
  * τ = 0: the payoff (S − K)⁺·1[S > B] with Black–Scholes' τ → 0 limit Greeks times 1[S > B];
  * σ = 0: the deterministic path S e^{μu}, u ∈ [0, τ]: the Black–Scholes σ = 0 limit times 1[min over the
    path > B], the minimum being S (μ ≥ 0) or S e^{μτ} (μ < 0);
  * for σ² ≪ |μ| the image factor (S/B')^p can exceed the float range: its exponent is capped at 700.

Shape: every output has the broadcast shape of the inputs (e.g. spot (N,) → (N,)).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import ndtr

from hedgegym import _validation as check
from hedgegym.pricing import black_scholes
from hedgegym.pricing.greeks import FloatArray, Greeks

__all__ = ["BGK_BETA", "greeks", "price", "shifted_barrier"]

BGK_BETA = 0.5825971579390106
"""β = −ζ(1/2)/√(2π), the Broadie–Glasserman–Kou continuity-correction constant."""

_INV_SQRT_2PI = 1.0 / np.sqrt(2.0 * np.pi)
_MAX_LOG_IMAGE = 700.0  # exp(700) ≈ 1e304: the cap on ln (S/B')^p


def shifted_barrier(barrier: ArrayLike, volatility: ArrayLike, monitoring_interval: float | None) -> FloatArray:
    """The barrier at which the continuous formula prices a discretely monitored option (BGK 1997).

    Args:
        barrier: B, currency per unit, > 0.
        volatility: σ per √year, ≥ 0.
        monitoring_interval: Δt in years between monitoring dates, > 0; ``None``: continuous (B returned).

    Returns: B · exp(−β σ √Δt), shape: broadcast of ``barrier`` and ``volatility``.
    """
    barrier = check.positive("barrier", barrier)
    volatility = check.non_negative("volatility", volatility)
    if monitoring_interval is None:
        return np.broadcast_to(barrier, np.broadcast_shapes(barrier.shape, volatility.shape)).astype(np.float64)
    interval = check.positive("monitoring_interval", monitoring_interval)
    return barrier * np.exp(-BGK_BETA * volatility * np.sqrt(interval))


class _Leg(NamedTuple):
    """V_f and its derivatives at one array of spots x (see the module docstring)."""

    value: FloatArray
    d_spot: FloatArray
    d2_spot: FloatArray
    vega: FloatArray
    theta: FloatArray
    digital: FloatArray  # D(x; k) = e^{−rτ} N(d₂): −∂V_f/∂K


def _leg(x, strike, digital_weight, tau, volatility, rate, dividend) -> _Leg:
    """V_f(x) = C(x; strike) + digital_weight · D(x; strike) and its Greeks in x, σ and t; τ > 0 and σ > 0."""
    sqrt_tau = np.sqrt(tau)
    std = volatility * sqrt_tau
    log_moneyness = np.log(x / strike)
    drift = rate - dividend
    d1 = (log_moneyness + drift * tau) / std + 0.5 * std
    d2 = d1 - std
    discount_rate, discount_dividend = np.exp(-rate * tau), np.exp(-dividend * tau)
    cdf1, cdf2 = ndtr(d1), ndtr(d2)
    pdf1, pdf2 = _INV_SQRT_2PI * np.exp(-0.5 * d1 * d1), _INV_SQRT_2PI * np.exp(-0.5 * d2 * d2)
    digital = discount_rate * cdf2
    call = x * discount_dividend * cdf1 - strike * discount_rate * cdf2
    call_delta = discount_dividend * cdf1
    call_gamma = discount_dividend * pdf1 / (x * std)
    call_vega = x * discount_dividend * pdf1 * sqrt_tau
    call_theta = (-x * discount_dividend * pdf1 * volatility / (2.0 * sqrt_tau)
                  + dividend * x * discount_dividend * cdf1 - rate * strike * discount_rate * cdf2)
    digital_delta = discount_rate * pdf2 / (x * std)
    digital_gamma = -discount_rate * pdf2 * d1 / (x * x * std * std)
    digital_vega = -discount_rate * pdf2 * d1 / volatility
    d_d2_d_tau = (drift - 0.5 * volatility**2 - log_moneyness / tau) / (2.0 * std)
    digital_theta = rate * digital - discount_rate * pdf2 * d_d2_d_tau  # ∂/∂t = −∂/∂τ
    return _Leg(
        call + digital_weight * digital,
        call_delta + digital_weight * digital_delta,
        call_gamma + digital_weight * digital_gamma,
        call_vega + digital_weight * digital_vega,
        call_theta + digital_weight * digital_theta,
        digital,
    )


def _validated(spot, strike, time_to_maturity, volatility, rate, dividend, call, barrier, monitoring_interval):
    spot = check.positive("spot", spot)
    strike = check.positive("strike", strike)
    tau = check.non_negative("time_to_maturity", time_to_maturity)
    volatility = check.non_negative("volatility", volatility)
    rate = check.finite("rate", rate)
    dividend = check.finite("dividend", dividend)
    barrier = check.positive("barrier", barrier)
    if monitoring_interval is not None:
        monitoring_interval = float(check.positive("monitoring_interval", monitoring_interval))
    if not np.all(np.asarray(call, dtype=bool)):
        raise ValueError("call must be True: the barrier pricer values down-and-out calls only, got a put")
    shape = np.broadcast_shapes(spot.shape, strike.shape, tau.shape, volatility.shape, rate.shape, dividend.shape,
                                barrier.shape, np.shape(call))
    arrays = (np.broadcast_to(a, shape) for a in (spot, strike, tau, volatility, rate, dividend, barrier))
    return (*arrays, monitoring_interval)


def greeks(
    spot: ArrayLike,
    strike: ArrayLike,
    time_to_maturity: ArrayLike,
    volatility: ArrayLike,
    rate: ArrayLike = 0.0,
    dividend: ArrayLike = 0.0,
    call: ArrayLike = True,
    *,
    barrier: ArrayLike,
    monitoring_interval: float | None = None,
) -> Greeks:
    """Price, Δ, Γ, vega and Θ of a down-and-out call with zero rebate (see the module docstring).

    Args:
        spot: S, currency per unit, > 0, e.g. shape (N,).
        strike: K, > 0 (K < B is a legal contract: an in-the-money call with a knock-out below the strike).
        time_to_maturity: τ in years, ≥ 0.
        volatility: σ per √year, ≥ 0.
        rate, dividend: r and q, continuously compounded per year, finite.
        call: must be True (a bool or a bool array of Trues; kept for the ``Pricer`` signature).
        barrier: B, > 0 (keyword-only); the option is dead where S ≤ B.
        monitoring_interval: Δt in years, > 0, for the BGK discrete-monitoring correction; ``None``: continuous.

    Returns: ``Greeks`` per unit of underlying, each field of the broadcast shape of the inputs.

    Raises: ``ValueError`` naming the argument and its allowed range; ``call`` when a put is asked for.
    """
    spot, strike, tau, volatility, rate, dividend, barrier, interval = _validated(
        spot, strike, time_to_maturity, volatility, rate, dividend, call, barrier, monitoring_interval
    )
    alive = spot > barrier
    diffusive = (tau > 0.0) & (volatility > 0.0)
    # the closed form on safe inputs everywhere (the limits below replace the entries it does not apply to)
    safe_tau = np.where(diffusive, tau, 1.0)
    safe_volatility = np.where(diffusive, volatility, 1.0)
    shifted = shifted_barrier(barrier, safe_volatility, interval)
    safe_spot = np.where(alive, spot, 2.0 * barrier)  # S ≤ B: any point above B' (the result is discarded)
    leg_strike = np.maximum(strike, shifted)
    digital_weight = np.maximum(shifted - strike, 0.0)
    drift = rate - dividend
    power = 1.0 - 2.0 * drift / safe_volatility**2
    log_ratio = np.log(safe_spot / shifted)
    image_factor = np.exp(np.minimum(power * log_ratio, _MAX_LOG_IMAGE))
    image_spot = shifted**2 / safe_spot
    direct = _leg(safe_spot, leg_strike, digital_weight, safe_tau, safe_volatility, rate, dividend)
    image = _leg(image_spot, leg_strike, digital_weight, safe_tau, safe_volatility, rate, dividend)

    value = direct.value - image_factor * image.value
    delta = direct.d_spot - image_factor / safe_spot * (power * image.value - image_spot * image.d_spot)
    gamma = direct.d2_spot - image_factor / safe_spot**2 * (
        power * (power - 1.0) * image.value + 2.0 * (1.0 - power) * image_spot * image.d_spot
        + image_spot**2 * image.d2_spot
    )
    theta = direct.theta - image_factor * image.theta
    d_power_d_volatility = 4.0 * drift / safe_volatility**3
    vega = direct.vega - image_factor * (log_ratio * d_power_d_volatility * image.value + image.vega)
    if interval is not None:  # the shifted barrier moves with σ: dB'/dσ = −β √Δt B'
        d_value_d_strike = -direct.digital + image_factor * image.digital
        d_value_d_barrier = (value - safe_spot * delta - strike * d_value_d_strike) / shifted
        vega = vega - BGK_BETA * np.sqrt(interval) * shifted * d_value_d_barrier
    fields = (np.maximum(value, 0.0), delta, gamma, vega, theta)

    if not np.all(diffusive):  # τ = 0 or σ = 0: Black–Scholes' limit on the surviving deterministic/terminal path
        limit_nodes = ~diffusive  # valued on these entries only (e.g. the expiry row of a whole path)
        s_, k_, t_, r_, q_ = (a[limit_nodes] for a in (spot, strike, tau, rate, dividend))
        limit = black_scholes.greeks(s_, k_, t_, 0.0, r_, q_, True)
        survives = s_ * np.minimum(1.0, np.exp((r_ - q_) * t_)) > barrier[limit_nodes]  # min of S e^{μu}, u ≤ τ
        fields = tuple(np.array(field, copy=True) for field in fields)
        for field, limit_field in zip(fields, limit, strict=True):
            field[limit_nodes] = np.where(survives, limit_field, 0.0)
    return Greeks(*(np.where(alive, field, 0.0) for field in fields))


def price(
    spot: ArrayLike,
    strike: ArrayLike,
    time_to_maturity: ArrayLike,
    volatility: ArrayLike,
    rate: ArrayLike = 0.0,
    dividend: ArrayLike = 0.0,
    call: ArrayLike = True,
    *,
    barrier: ArrayLike,
    monitoring_interval: float | None = None,
) -> FloatArray:
    """Value of the down-and-out call per unit of underlying (``greeks(...).price``; same arguments)."""
    return greeks(spot, strike, time_to_maturity, volatility, rate, dividend, call, barrier=barrier,
                  monitoring_interval=monitoring_interval).price
