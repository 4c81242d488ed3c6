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

numpy or torch: ``price``, ``delta``, ``gamma``, ``vega``, ``theta`` and ``greeks`` run the same code on either
(``hedgegym.pricing.namespace``). Without a torch tensor among the arguments they compute in numpy/scipy float64
and return arrays; with one they compute with torch functions at the promoted floating dtype of the tensor
arguments (float32, float64, …) on their device (CPU or CUDA) and return tensors, every other argument being
checked as numpy would and moved there; same argument checks, same ``ValueError`` messages. N(·) in torch is
erfc(−x/√2)/2 (``torch.special.ndtr`` cancels in the lower tail; see ``hedgegym.pricing.namespace``). Accuracy of
the torch path (tests/pricing/test_black_scholes_torch.py): float64 matches QuantLib as the numpy path does and
numpy to ≤ 32 ulp of max(natural scale, |value|); float32 matches float64 to ≤ 1e-4 relative where
|value| ≥ 1e-4 × its natural scale (measured worst 7e-5 for Θ, 1.4e-5 for the price), and N(x) underflows to 0
below x ≈ −14.2 (float32's least subnormal). ``implied_volatility`` is numpy-only.

Raises: ``ValueError`` naming the argument: spot or strike not > 0, time_to_maturity or volatility < 0, any
argument not finite (NaN, inf), booleans or text where numbers belong, tensor arguments on two devices.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import erfcx, log_ndtr

from hedgegym import _validation as check
from hedgegym.pricing.fields import check_fields
from hedgegym.pricing.greeks import FloatArray, Greeks
from hedgegym.pricing.namespace import NumpyNamespace, TorchNamespace, namespace

__all__ = ["Greeks", "delta", "gamma", "greeks", "implied_volatility", "price", "theta", "vega"]

_INV_SQRT_2PI = 1.0 / np.sqrt(2.0 * np.pi)
_LOG_SQRT_2PI = 0.5 * np.log(2.0 * np.pi)
_SQRT_HALF_PI = np.sqrt(0.5 * np.pi)
_SQRT_HALF = np.sqrt(0.5)
_GAUSS_NODES, _GAUSS_WEIGHTS = np.polynomial.legendre.leggauss(8)


class _Terms(NamedTuple):
    """Validated inputs (not broadcast: the namespace broadcasts inside each formula), the shared d₁, d₂, and the
    array namespace ``xp`` of the call (numpy, or torch for tensor inputs)."""

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
    xp: NumpyNamespace | TorchNamespace


def _terms(spot, strike, time_to_maturity, volatility, rate, dividend, call) -> _Terms:
    xp = namespace(spot, strike, time_to_maturity, volatility, rate, dividend, call)
    spot = xp.positive("spot", spot)
    strike = xp.positive("strike", strike)
    tau = xp.non_negative("time_to_maturity", time_to_maturity)
    volatility = xp.non_negative("volatility", volatility)
    rate = xp.finite("rate", rate)
    dividend = xp.finite("dividend", dividend)
    omega = xp.omega(call)
    shape = np.broadcast_shapes(spot.shape, strike.shape, tau.shape, volatility.shape, rate.shape,
                                dividend.shape, omega.shape)
    std = volatility * xp.sqrt(tau)
    log_forward_moneyness = xp.log(spot / strike) + (rate - dividend) * tau
    if xp.all(std > 0.0):
        d1 = log_forward_moneyness / std + 0.5 * std
    else:  # the s → 0 limit: d₁ = ±∞ away from the forward, 0 at it
        positive_std = std > 0.0
        with np.errstate(over="ignore"):
            d1 = xp.where(
                positive_std,
                log_forward_moneyness / xp.where(positive_std, std, 1.0) + 0.5 * std,
                xp.copysign(xp.where(log_forward_moneyness == 0.0, 0.0, np.inf), log_forward_moneyness),
            )
    d1 = xp.broadcast_to(d1, shape)
    d2 = d1 - std
    return _Terms(
        spot, strike, tau, volatility, rate, dividend, omega, std, d1, d2,
        xp.exp(-rate * tau), xp.exp(-dividend * tau), xp,
    )


def _normal_pdf(t: _Terms, x: FloatArray) -> FloatArray:
    return _INV_SQRT_2PI * t.xp.exp(-0.5 * x * x)


def _price(t: _Terms, cdf1: FloatArray, cdf2: FloatArray) -> FloatArray:
    value = t.omega * (t.spot * t.discount_dividend * cdf1 - t.strike * t.discount_rate * cdf2)
    return t.xp.maximum(value, 0.0)  # rounding can push a worthless option a few ulp below zero


def _delta(t: _Terms, cdf1: FloatArray) -> FloatArray:
    return t.omega * t.discount_dividend * cdf1


def _gamma(t: _Terms, pdf1: FloatArray) -> FloatArray:
    xp = t.xp
    if xp.all(t.std > 0.0):
        return t.discount_dividend * pdf1 / (t.spot * t.std)
    positive_std = t.std > 0.0
    return xp.where(positive_std, t.discount_dividend * pdf1 / (t.spot * xp.where(positive_std, t.std, 1.0)), 0.0)


def _vega(t: _Terms, pdf1: FloatArray) -> FloatArray:
    return t.spot * t.discount_dividend * pdf1 * t.xp.sqrt(t.tau)


def _theta(t: _Terms, cdf1: FloatArray, cdf2: FloatArray, pdf1: FloatArray) -> FloatArray:
    xp = t.xp
    positive_tau = t.tau > 0.0
    if xp.all(positive_tau):
        diffusion = -t.spot * t.discount_dividend * pdf1 * t.volatility / (2.0 * xp.sqrt(t.tau))
    else:
        diffusion = xp.where(
            positive_tau,
            -t.spot * t.discount_dividend * pdf1 * t.volatility / (2.0 * xp.sqrt(xp.where(positive_tau, t.tau, 1.0))),
            0.0,
        )
    carry = t.omega * (t.dividend * t.spot * t.discount_dividend * cdf1 - t.rate * t.strike * t.discount_rate * cdf2)
    return diffusion + carry


def price(spot, strike, time_to_maturity, volatility, rate=0.0, dividend=0.0, call=True) -> FloatArray:
    """Black–Scholes–Merton value of a European option, in the currency of ``spot`` per unit of underlying."""
    t = _terms(spot, strike, time_to_maturity, volatility, rate, dividend, call)
    return _price(t, t.xp.ndtr(t.omega * t.d1), t.xp.ndtr(t.omega * t.d2))


def delta(spot, strike, time_to_maturity, volatility, rate=0.0, dividend=0.0, call=True) -> FloatArray:
    """∂V/∂S (dimensionless, per unit of underlying)."""
    t = _terms(spot, strike, time_to_maturity, volatility, rate, dividend, call)
    return _delta(t, t.xp.ndtr(t.omega * t.d1))


def gamma(spot, strike, time_to_maturity, volatility, rate=0.0, dividend=0.0, call=True) -> FloatArray:
    """∂²V/∂S² (per unit of spot)."""
    t = _terms(spot, strike, time_to_maturity, volatility, rate, dividend, call)
    return _gamma(t, _normal_pdf(t, t.d1))


def vega(spot, strike, time_to_maturity, volatility, rate=0.0, dividend=0.0, call=True) -> FloatArray:
    """∂V/∂σ per 1.00 of volatility."""
    t = _terms(spot, strike, time_to_maturity, volatility, rate, dividend, call)
    return _vega(t, _normal_pdf(t, t.d1))


def theta(spot, strike, time_to_maturity, volatility, rate=0.0, dividend=0.0, call=True) -> FloatArray:
    """∂V/∂t per year of calendar time (negative for a long vanilla with no carry)."""
    t = _terms(spot, strike, time_to_maturity, volatility, rate, dividend, call)
    return _theta(t, t.xp.ndtr(t.omega * t.d1), t.xp.ndtr(t.omega * t.d2), _normal_pdf(t, t.d1))


def greeks(spot, strike, time_to_maturity, volatility, rate=0.0, dividend=0.0, call=True, *,
           fields: Iterable[str] | None = None) -> Greeks:
    """Price, Δ, Γ, vega and Θ in one pass (d₁, d₂, N(ωd₁), N(ωd₂) and n(d₁) are computed once).

    ``fields``: ``None`` for all five, or the names of the fields wanted (e.g. ``{"price", "delta"}``); the others
    are ``None`` in the result and cost nothing: N(ωd₂) is computed only for the price or Θ, n(d₁) only for Γ, vega
    or Θ, and Θ (the costliest) only when asked. Each field is computed by the same expression as in the full
    call, so it equals that call's field bit for bit.

    Raises: ``ValueError`` naming ``fields`` for an unknown name or an empty set (``hedgegym.pricing.fields``), and
    the argument checks of ``price``.
    """
    chosen = check_fields(fields)
    t = _terms(spot, strike, time_to_maturity, volatility, rate, dividend, call)
    cdf1 = t.xp.ndtr(t.omega * t.d1) if chosen & {"price", "delta", "theta"} else None
    cdf2 = t.xp.ndtr(t.omega * t.d2) if chosen & {"price", "theta"} else None
    pdf1 = _normal_pdf(t, t.d1) if chosen & {"gamma", "vega", "theta"} else None
    return Greeks(
        _price(t, cdf1, cdf2) if "price" in chosen else None,
        _delta(t, cdf1) if "delta" in chosen else None,
        _gamma(t, pdf1) if "gamma" in chosen else None,
        _vega(t, pdf1) if "vega" in chosen else None,
        _theta(t, cdf1, cdf2, pdf1) if "theta" in chosen else None,
    )


def _one_minus_y_mills(y: FloatArray) -> FloatArray:
    """1 − y R(y) = −R'(y) > 0 for the Mills ratio R; beyond y = 10⁴ its asymptotic series 1/y² − 3/y⁴ (+O(y⁻⁶))."""
    with np.errstate(divide="ignore", invalid="ignore"):
        far = np.maximum(np.abs(y), 1e4)
        return np.where(y < 1e4, 1.0 - y * _SQRT_HALF_PI * erfcx(y * _SQRT_HALF), (1.0 - 3.0 / far**2) / far**2)


def _log_normalised_otm_value(theta: FloatArray, std: FloatArray) -> tuple[FloatArray, FloatArray]:
    r"""log b and ∂log b/∂log s of the normalised out-of-the-money Black value, accurate for every b > 0.

    b(θ, s) = e^{θ/2} N(θ/s + s/2) − e^{−θ/2} N(θ/s − s/2) with θ = −|ln(F/K)| ≤ 0 and s = σ√τ > 0, so that the
    undiscounted value of the out-of-the-money option is √(FK)·b (Jäckel 2015, "Let's be rational", eq. 2.4).
    Its s-derivative (normalised vega) is n₀ = exp(−(h² + t²)/2)/√(2π), h = θ/s, t = s/2, and with the Mills
    ratio R(y) = N(−y)/n(y) = √(π/2)·erfcx(y/√2), a = −h, the identity b = n₀·D, D = R(a − t) − R(a + t),
    holds everywhere, so log b = log n₀ + log D never underflows and ∂log b/∂log s = s/D. Three evaluations:

    * s ≤ 0.02: D = ∫_{a−t}^{a+t} (1 − yR(y)) dy by 8-point Gauss–Legendre (the integrand is positive and
      entire: no cancellation, however small s; the subtraction would lose a factor 1/t near the money);
    * a ≥ t (out of the money by more than s²/2): D as the difference of two Mills ratios, whose relative
      error ≈ ε·a/t is divided by the slope ∂log b/∂log s ≈ a² back to ≈ ε/|θ| in the volatility;
    * otherwise (R(a − t) may overflow): log b = θ/2 + log N(h + t) + log(1 − e^{−θ} N(h − t)/N(h + t)).

    Shape: θ and s are 1-d arrays of one length; so are both outputs.
    """
    h = theta / std
    t = 0.5 * std
    a = -h
    log_vega = -0.5 * (h * h + t * t) - _LOG_SQRT_2PI
    small = t <= 0.01
    deep = (a >= t) & ~small
    shallow = ~(small | deep)
    log_value = np.empty(np.broadcast_shapes(theta.shape, std.shape))
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        if np.any(deep):
            a_, t_ = a[deep], t[deep]
            mills = _SQRT_HALF_PI * (erfcx((a_ - t_) * _SQRT_HALF) - erfcx((a_ + t_) * _SQRT_HALF))
            log_value[deep] = log_vega[deep] + np.log(mills)
        if np.any(small):
            a_, t_ = a[small, None], t[small, None]
            quadrature = t_[:, 0] * np.sum(_GAUSS_WEIGHTS * _one_minus_y_mills(a_ + t_ * _GAUSS_NODES), axis=-1)
            log_value[small] = log_vega[small] + np.log(quadrature)
        if np.any(shallow):
            h_, t_, theta_ = h[shallow], t[shallow], theta[shallow]
            upper_tail, lower_tail = log_ndtr(h_ + t_), log_ndtr(h_ - t_)
            ratio = np.minimum(lower_tail - upper_tail - theta_, 0.0)  # ≤ 0 since b ≥ 0; rounding may touch 0
            log_value[shallow] = 0.5 * theta_ + upper_tail + np.log1p(-np.exp(ratio))
        log_slope = std * np.exp(log_vega - log_value)  # ∂log b/∂log s = s·n₀/b
    return log_value, log_slope


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
    r"""Black–Scholes volatility that reproduces ``option_price``, vectorised and safeguarded.

    Method: the price is turned into the undiscounted time value of the out-of-the-money option (put–call
    parity: a call with F > K is inverted through the put, and vice versa), normalised by √(FK) into
    b(θ, s), θ = −|ln(F/K)|, s = σ√τ (Jäckel 2015, "Let's be rational"). Newton's method then solves
    log b(θ, e^u) = log b* for u = log s, inside a bracket that is kept at every iteration (a step that leaves
    it is replaced by a geometric bisection; the bracket is first grown by doubling steps in u). Working with
    log b, with b evaluated through Mills ratios (``erfcx``) in the deep wing, gives every price full relative
    precision however small: every price strictly inside the no-arbitrage bounds whose time value float64 can
    represent inverts, e.g. a time value of 1e-300. ``tolerance`` is on |Δ log s| (relative, in s).

    Accuracy (against 50-digit mpmath, tests/pricing/test_black_scholes.py, 174 out-of-the-money cases with
    τ from 1e-8 to 3 years, σ from 0.01 to 5, prices down to 1e-240): median 5e-16, worst 2.6e-12 relative
    in σ (σ = 5 over 3 years, a price 1.5e-3 below its upper bound, where σ is ill-conditioned). In the money
    the time value P − intrinsic carries the rounding of the parity subtraction, ≈ ε·max(P, S, K), so σ is
    off by about that divided by vega.

    Shape: the broadcast shape of the inputs (0-d for scalars). Units: ``option_price`` in the currency of
    ``spot`` per unit of underlying, σ per √year.

    Newton starts from the best of three guesses (the point of steepest ∂b/∂s, the deep out-of-the-money
    asymptote log b ≈ θ/2 − θ²/(2s²), the at-the-money limit b ≈ s/√(2π)), so far out-of-the-money prices
    converge in a few steps (measured: 0 of 4,000 random prices between 1e-40 and 1e-6 above 1e-6 relative error,
    worst 5e-13).

    Bounds and errors (``ValueError``, naming the argument):
      * ``option_price`` outside [discounted intrinsic value, upper bound): the intrinsic value is
        max(ω(S e^{−qτ} − K e^{−rτ}), 0); the upper bound is S e^{−qτ} for a call and K e^{−rτ} for a put;
      * ``time_to_maturity`` ≤ 0, ``tolerance`` ≤ 0, ``max_iterations`` < 1, and the inputs ``price`` checks
        (spot, strike > 0, finite rate and dividend); any torch tensor argument (numpy only).
    ``RuntimeError`` if some price has not converged after ``max_iterations`` (never a silent partial answer).
    A price within the float64 rounding of the parity subtraction (≈ a few ulp of the price) of the discounted
    intrinsic value gives volatility 0: that price does not resolve σ beyond "as small as 0", so an in-the-money
    quote this close to intrinsic should be inverted through its out-of-the-money counterpart's price instead.
    """
    if namespace(option_price, spot, strike, time_to_maturity, rate, dividend, call).tensors:
        raise ValueError("implied_volatility takes numbers or numpy arrays, not torch tensors: convert them with "
                         "tensor.cpu().numpy()")
    target = check.non_negative("option_price", option_price)
    check.positive("time_to_maturity", time_to_maturity)
    check.positive("tolerance", tolerance)
    check.positive_int("max_iterations", max_iterations)
    t = _terms(spot, strike, time_to_maturity, 0.0, rate, dividend, call)
    shape = np.broadcast_shapes(target.shape, t.d1.shape)
    target, tau, rate_, dividend_ = (np.broadcast_to(a, shape) for a in (target, t.tau, t.rate, t.dividend))
    spot_, strike_, omega, discount_rate = (
        np.broadcast_to(a, shape) for a in (t.spot, t.strike, t.omega, t.discount_rate)
    )
    log_moneyness = np.broadcast_to(np.log(t.spot / t.strike) + (t.rate - t.dividend) * t.tau, shape)  # ln(F/K)
    forward = spot_ * np.exp((rate_ - dividend_) * tau)
    undiscounted = target / discount_rate
    intrinsic = np.maximum(omega * (forward - strike_), 0.0)  # undiscounted (forward) intrinsic value
    in_the_money = intrinsic > 0.0
    # time value of the out-of-the-money twin (put–call parity); only in the money is there a subtraction
    time_value = undiscounted - intrinsic
    eps = np.finfo(np.float64).eps
    rounding = np.where(
        in_the_money,
        np.spacing(undiscounted) + np.spacing(intrinsic)
        + 4.0 * eps * (undiscounted * (rate_ * tau != 0.0) + forward * ((rate_ - dividend_) * tau != 0.0)),
        0.0,
    )
    is_zero = time_value <= rounding  # at the lower bound to float64 resolution: volatility 0
    theta = -np.abs(log_moneyness)
    # log b* = log(time value) − log √(FK); out of the money the time value is the price itself, taken in logs
    # so that a price of 1e-300 keeps its precision (and P/DF cannot underflow)
    with np.errstate(divide="ignore"):
        log_time_value = np.where(in_the_money, np.log(np.where(is_zero, 1.0, time_value)),
                                  np.log(np.where(is_zero, 1.0, target)) + rate_ * tau)
    log_target = log_time_value - np.log(strike_) - 0.5 * log_moneyness
    upper = np.where(omega > 0, forward, strike_)
    # b* < b(θ, ∞) = e^{θ/2} is the upper bound in normalised form (it also catches rounding at the bound)
    outside = (time_value < -rounding) | (undiscounted >= upper) | (~is_zero & (log_target >= 0.5 * theta))
    if np.any(outside):
        i = np.flatnonzero(outside.ravel())[0]
        raise ValueError(
            "option_price must lie in [discounted intrinsic value, upper bound): the intrinsic value is "
            "max(ω(S·e^(-qτ) − K·e^(-rτ)), 0) and the upper bound is S·e^(-qτ) for a call and K·e^(-rτ) for a put; "
            f"{int(np.count_nonzero(outside))} price(s) outside, e.g. {float(target.ravel()[i])!r} with bounds "
            f"[{float((intrinsic * discount_rate).ravel()[i])!r}, {float((upper * discount_rate).ravel()[i])!r})"
        )
    # Newton on u = log s over the flat set of elements still iterating (finished ones leave the arrays)
    theta_all, log_target_all = theta.ravel(), log_target.ravel()
    active = np.flatnonzero(~is_zero.ravel())
    u_all = np.zeros(theta_all.shape)
    theta_, goal = theta_all[active], log_target_all[active]
    u = _starting_point(theta_, goal)
    low, high, step = np.full(u.shape, -np.inf), np.full(u.shape, np.inf), np.ones(u.shape)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        for _ in range(max_iterations):
            if active.size == 0:
                break
            log_value, slope = _log_normalised_otm_value(theta_, np.exp(u))
            error = log_value - goal
            low = np.where(error < 0.0, u, low)
            high = np.where(error > 0.0, u, high)
            newton = u - np.clip(error / slope, -2.0, 2.0)  # at most a factor e² in s: a flat slope cannot fling u
            bracketed = np.isfinite(low) & np.isfinite(high)
            fallback = np.where(bracketed, 0.5 * (low + high), np.where(np.isfinite(low), u + step, u - step))
            step = np.where(bracketed, step, 2.0 * step)
            inside = np.isfinite(newton) & (newton > low) & (newton < high)
            # the value is reproduced to rounding: done (a Newton step below one ulp would otherwise count as
            # leaving the bracket and bisect away from the root)
            reproduced = np.abs(error) <= 16.0 * np.finfo(np.float64).eps * np.maximum(1.0, np.abs(goal))
            u_next = np.where(reproduced, u, np.where(inside, newton, fallback))
            converged = reproduced | (np.abs(u_next - u) <= tolerance)  # a converging element takes its last step
            u_all[active] = u_next
            keep = ~converged
            active, theta_, goal, u, low, high, step = (
                array[keep] for array in (active, theta_, goal, u_next, low, high, step)
            )
    if active.size:  # max_iterations reached: accept only elements whose value is reproduced
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            log_value, _ = _log_normalised_otm_value(theta_, np.exp(u))
        unconverged = np.abs(log_value - goal) > 1e-9 * np.maximum(1.0, np.abs(goal))
        if np.any(unconverged):
            i = active[np.flatnonzero(unconverged)[0]]
            raise RuntimeError(
                f"implied_volatility did not converge for {int(np.count_nonzero(unconverged))} price(s) within "
                f"max_iterations={max_iterations}, e.g. option_price {float(target.ravel()[i])!r}; raise max_iterations"
            )
    s = np.exp(u_all.reshape(shape))
    return np.where(is_zero, 0.0, s / np.sqrt(tau))


def _starting_point(theta: FloatArray, log_target: FloatArray) -> FloatArray:
    """u₀ = log s₀ for Newton: the best, by |log b(θ, s) − log b*|, of three guesses — s² = 2|θ| (where ∂b/∂s is
    largest), the deep out-of-the-money asymptote log b ≈ θ/2 − θ²/(2s²) solved for s, and the at-the-money
    small-s limit b ≈ s/√(2π) (Jäckel 2015 discusses these regimes)."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        wing = np.abs(theta) / np.sqrt(np.maximum(2.0 * (0.5 * theta - log_target), 1e-300))
        candidates = np.stack([
            np.log(np.maximum(np.sqrt(2.0 * np.abs(theta)), 0.1)),
            np.log(np.clip(wing, 1e-300, 1e3)),
            np.clip(log_target + 0.5 * np.log(2.0 * np.pi), np.log(1e-300), np.log(1e3)),
        ])
        misfit = np.stack([np.abs(_log_normalised_otm_value(theta, np.exp(c))[0] - log_target) for c in candidates])
    misfit = np.where(np.isfinite(misfit), misfit, np.inf)
    return np.take_along_axis(candidates, np.argmin(misfit, axis=0)[None], axis=0)[0]
