r"""Black–Scholes–Merton price, Greeks and implied volatility of European options, vectorised.

Every function takes ``(spot, strike, time_to_maturity, volatility, rate=0.0, dividend=0.0, call=True)``;
all arguments broadcast against each other with numpy rules (``call`` may be a bool array).

Units and conventions (the project's, see DESIGN.md):
  * time in years, ``rate`` and ``dividend`` continuously compounded per year, ``volatility`` per √year;
  * ``vega`` is ∂V/∂σ per 1.00 of volatility (not per vol point);
  * ``theta`` is ∂V/∂t per year of calendar time (= −∂V/∂τ), not per day.

Formulas, with F = S e^{(r−q)τ}, s = σ√τ, d₁ = ln(F/K)/s + s/2, d₂ = d₁ − s, ω = +1 (call) / −1 (put)::

    V = ω (S e^{−qτ} N(ωd₁) − K e^{−rτ} N(ωd₂))
    Δ = ω e^{−qτ} N(ωd₁)          Γ = e^{−qτ} n(d₁) / (S s)          vega = S e^{−qτ} n(d₁) √τ
    Θ = −S e^{−qτ} n(d₁) σ / (2√τ) + ω (q S e^{−qτ} N(ωd₁) − r K e^{−rτ} N(ωd₂))

Limits (no NaN, no warning): when s = 0 (τ = 0 or σ = 0) the functions return their limits s → 0⁺, i.e. the
(discounted forward) intrinsic value with Δ = ω e^{−qτ}·1[ωF > ωK]. Exactly at the forward strike F = K with
s = 0, Γ and Θ diverge; there Δ is reported as ω e^{−qτ}/2 and Γ and the diffusion part of Θ as 0.

Shape: every output has the broadcast shape of the inputs.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import ndtr

from hedgegym import _validation as check
from hedgegym.pricing.greeks import FloatArray, Greeks

__all__ = ["Greeks", "delta", "gamma", "greeks", "implied_volatility", "price", "theta", "vega"]

_INV_SQRT_2PI = 1.0 / np.sqrt(2.0 * np.pi)


class _Terms(NamedTuple):
    """Validated inputs (not broadcast: numpy broadcasts inside each formula) and the shared d₁, d₂."""

    spot: FloatArray
    strike: FloatArray
    tau: FloatArray
    volatility: FloatArray
    rate: FloatArray
    dividend: FloatArray
    omega: FloatArray
    std: FloatArray
    d1: FloatArray
    d2: FloatArray
    discount_rate: FloatArray
    discount_dividend: FloatArray


def _terms(spot, strike, time_to_maturity, volatility, rate, dividend, call) -> _Terms:
    spot = check.positive("spot", spot)
    strike = check.positive("strike", strike)
    tau = check.non_negative("time_to_maturity", time_to_maturity)
    volatility = check.non_negative("volatility", volatility)
    rate = check.finite("rate", rate)
    dividend = check.finite("dividend", dividend)
    omega = np.where(np.asarray(call, dtype=bool), 1.0, -1.0)
    shape = np.broadcast_shapes(spot.shape, strike.shape, tau.shape, volatility.shape, rate.shape,
                                dividend.shape, omega.shape)
    std = volatility * np.sqrt(tau)
    log_forward_moneyness = np.log(spot / strike) + (rate - dividend) * tau
    if np.all(std > 0.0):
        d1 = log_forward_moneyness / std + 0.5 * std
    else:  # the s → 0 limit: d₁ = ±∞ away from the forward, 0 at it
        positive_std = std > 0.0
        with np.errstate(over="ignore"):
            d1 = np.where(
                positive_std,
                log_forward_moneyness / np.where(positive_std, std, 1.0) + 0.5 * std,
                np.copysign(np.where(log_forward_moneyness == 0.0, 0.0, np.inf), log_forward_moneyness),
            )
    d1 = np.broadcast_to(d1, shape)
    d2 = d1 - std
    return _Terms(
        spot, strike, tau, volatility, rate, dividend, omega, std, d1, d2,
        np.exp(-rate * tau), np.exp(-dividend * tau),
    )


def _normal_pdf(x: FloatArray) -> FloatArray:
    return _INV_SQRT_2PI * np.exp(-0.5 * x * x)


def _price(t: _Terms, cdf1: FloatArray, cdf2: FloatArray) -> FloatArray:
    value = t.omega * (t.spot * t.discount_dividend * cdf1 - t.strike * t.discount_rate * cdf2)
    return np.maximum(value, 0.0)  # rounding can push a worthless option a few ulp below zero


def _delta(t: _Terms, cdf1: FloatArray) -> FloatArray:
    return t.omega * t.discount_dividend * cdf1


def _gamma(t: _Terms, pdf1: FloatArray) -> FloatArray:
    if np.all(t.std > 0.0):
        return t.discount_dividend * pdf1 / (t.spot * t.std)
    positive_std = t.std > 0.0
    return np.where(positive_std, t.discount_dividend * pdf1 / (t.spot * np.where(positive_std, t.std, 1.0)), 0.0)


def _vega(t: _Terms, pdf1: FloatArray) -> FloatArray:
    return t.spot * t.discount_dividend * pdf1 * np.sqrt(t.tau)


def _theta(t: _Terms, cdf1: FloatArray, cdf2: FloatArray, pdf1: FloatArray) -> FloatArray:
    positive_tau = t.tau > 0.0
    if np.all(positive_tau):
        diffusion = -t.spot * t.discount_dividend * pdf1 * t.volatility / (2.0 * np.sqrt(t.tau))
    else:
        diffusion = np.where(
            positive_tau,
            -t.spot * t.discount_dividend * pdf1 * t.volatility / (2.0 * np.sqrt(np.where(positive_tau, t.tau, 1.0))),
            0.0,
        )
    carry = t.omega * (t.dividend * t.spot * t.discount_dividend * cdf1 - t.rate * t.strike * t.discount_rate * cdf2)
    return diffusion + carry


def price(spot, strike, time_to_maturity, volatility, rate=0.0, dividend=0.0, call=True) -> FloatArray:
    """Black–Scholes–Merton value of a European option, in the currency of ``spot`` per unit of underlying."""
    t = _terms(spot, strike, time_to_maturity, volatility, rate, dividend, call)
    return _price(t, ndtr(t.omega * t.d1), ndtr(t.omega * t.d2))


def delta(spot, strike, time_to_maturity, volatility, rate=0.0, dividend=0.0, call=True) -> FloatArray:
    """∂V/∂S (dimensionless, per unit of underlying)."""
    t = _terms(spot, strike, time_to_maturity, volatility, rate, dividend, call)
    return _delta(t, ndtr(t.omega * t.d1))


def gamma(spot, strike, time_to_maturity, volatility, rate=0.0, dividend=0.0, call=True) -> FloatArray:
    """∂²V/∂S² (per unit of spot)."""
    t = _terms(spot, strike, time_to_maturity, volatility, rate, dividend, call)
    return _gamma(t, _normal_pdf(t.d1))


def vega(spot, strike, time_to_maturity, volatility, rate=0.0, dividend=0.0, call=True) -> FloatArray:
    """∂V/∂σ per 1.00 of volatility."""
    t = _terms(spot, strike, time_to_maturity, volatility, rate, dividend, call)
    return _vega(t, _normal_pdf(t.d1))


def theta(spot, strike, time_to_maturity, volatility, rate=0.0, dividend=0.0, call=True) -> FloatArray:
    """∂V/∂t per year of calendar time (negative for a long vanilla with no carry)."""
    t = _terms(spot, strike, time_to_maturity, volatility, rate, dividend, call)
    return _theta(t, ndtr(t.omega * t.d1), ndtr(t.omega * t.d2), _normal_pdf(t.d1))


def greeks(spot, strike, time_to_maturity, volatility, rate=0.0, dividend=0.0, call=True) -> Greeks:
    """Price, Δ, Γ, vega and Θ in one pass (d₁, d₂, N(ωd₁), N(ωd₂) and n(d₁) are computed once)."""
    t = _terms(spot, strike, time_to_maturity, volatility, rate, dividend, call)
    cdf1, cdf2, pdf1 = ndtr(t.omega * t.d1), ndtr(t.omega * t.d2), _normal_pdf(t.d1)
    return Greeks(_price(t, cdf1, cdf2), _delta(t, cdf1), _gamma(t, pdf1), _vega(t, pdf1), _theta(t, cdf1, cdf2, pdf1))


def implied_volatility(
    option_price: ArrayLike,
    spot: ArrayLike,
    strike: ArrayLike,
    time_to_maturity: ArrayLike,
    rate: ArrayLike = 0.0,
    dividend: ArrayLike = 0.0,
    call: ArrayLike = True,
    *,
    tolerance: float = 1e-12,
    max_iterations: int = 100,
) -> FloatArray:
    """Black–Scholes volatility that reproduces ``option_price``, vectorised and safeguarded.

    Method: the price is turned into the undiscounted time value of the out-of-the-money option
    (put–call parity), then Newton's method on ``log(time value)`` as a function of the total standard
    deviation s = σ√τ, inside a bracket [lo, hi] that is kept at every iteration; a Newton step that leaves
    the bracket is replaced by bisection. Converges for every price strictly inside the no-arbitrage bounds.

    Raises ``ValueError`` naming ``option_price`` when a price is outside [intrinsic, upper bound)
    (a call is bounded by S e^{−qτ}, a put by K e^{−rτ}) and ``time_to_maturity`` when τ ≤ 0.
    A price equal to the discounted intrinsic value gives volatility 0.
    """
    target = check.non_negative("option_price", option_price)
    check.positive("time_to_maturity", time_to_maturity)
    t = _terms(spot, strike, time_to_maturity, 0.0, rate, dividend, call)
    shape = t.d1.shape
    target = np.broadcast_to(target, shape)
    forward = np.broadcast_to(t.spot * t.discount_dividend / t.discount_rate, shape)
    strike_, omega, discount_rate = (np.broadcast_to(a, shape) for a in (t.strike, t.omega, t.discount_rate))
    undiscounted = target / discount_rate
    # time value of the out-of-the-money twin: subtract the forward intrinsic value (put–call parity)
    time_value = undiscounted - np.maximum(omega * (forward - strike_), 0.0)
    upper = np.where(omega > 0, forward, strike_)
    tiny = 1e-14 * np.maximum(forward, strike_)
    if np.any(time_value < -tiny) or np.any(undiscounted >= upper):
        bad = (time_value < -tiny) | (undiscounted >= upper)
        raise ValueError(
            "option_price must lie in [discounted intrinsic value, upper bound) where the upper bound is "
            f"S·e^(-qτ) for a call and K·e^(-rτ) for a put; {int(np.count_nonzero(bad))} price(s) outside, "
            f"e.g. {float(target[bad].ravel()[0])!r}"
        )
    x = np.log(forward / strike_)
    is_zero = time_value <= tiny
    log_target = np.log(np.where(is_zero, 1.0, time_value))
    omega_otm = np.where(x > 0.0, -1.0, 1.0)  # call when F <= K, put otherwise

    def otm_value_and_log_slope(s: FloatArray) -> tuple[FloatArray, FloatArray]:
        d1 = x / s + 0.5 * s
        d2 = d1 - s
        value = omega_otm * (forward * ndtr(omega_otm * d1) - strike_ * ndtr(omega_otm * d2))
        value = np.maximum(value, np.finfo(float).tiny)
        return np.log(value), forward * _normal_pdf(d1) / value

    low = np.zeros_like(x)
    high = np.ones_like(x)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        for _ in range(60):  # grow the upper end until it brackets the target
            log_value, _slope = otm_value_and_log_slope(high)
            short = (log_value < log_target) & ~is_zero
            if not np.any(short):
                break
            low = np.where(short, high, low)
            high = np.where(short, 2.0 * high, high)
        s = 0.5 * (low + high)
        for _ in range(max_iterations):
            log_value, slope = otm_value_and_log_slope(s)
            error = log_value - log_target
            low = np.where(error < 0.0, s, low)
            high = np.where(error > 0.0, s, high)
            newton = s - error / slope
            inside = np.isfinite(newton) & (newton > low) & (newton < high)
            s_next = np.where(inside, newton, 0.5 * (low + high))
            converged = np.abs(s_next - s) <= tolerance * np.maximum(s, 1e-3)
            s = s_next
            if np.all(converged | is_zero):
                break
    return np.where(is_zero, 0.0, s / np.sqrt(t.tau))
