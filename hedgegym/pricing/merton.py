r"""Merton (1976) jump-diffusion: European option price and Greeks by the Poisson series, vectorised.

Model (pricing measure): dS/S = (r − q − λk) dt + σ dW + (J − 1) dN, N Poisson with intensity λ per year,
ln J ~ Normal(μ_J, δ²), k = E[J − 1] = exp(μ_J + δ²/2) − 1 (the compensator keeps e^{−(r−q)t}S a martingale).

Conditioned on n jumps the log-price is Gaussian, so the value is a Poisson mixture of Black–Scholes values
(R. C. Merton, "Option pricing when underlying stock returns are discontinuous", J. Financial Economics 3, 1976)::

    V = Σ_n p_n · BS(S_n, K, τ, σ_n),     p_n = e^{−λτ} (λτ)ⁿ / n!
    S_n = S · r_n,  r_n = exp(−λkτ + n(μ_J + δ²/2)),     σ_n² = σ² + n δ² / τ

(each term has forward F_n = S_n e^{(r−q)τ} and total variance σ²τ + nδ²).

Evaluation without overflow. With large upward jumps S_n overflows long before p_n becomes negligible, because
the value weights p_n r_n = e^{−λ(1+k)τ} (λ(1+k)τ)ⁿ / n! form a Poisson distribution of mean λ(1+k)τ (for
μ_J = 3, δ = 2, λ = 1, τ = 3: mean ≈ 445, where S_n ≈ S e^{1110}). Black–Scholes is homogeneous of degree 1 in
(spot, strike), so each term is scaled by ρ_n = max(r_n, 1)::

    BS(S_n, K) = ρ_n · BS(S x_n, K/ρ_n),    x_n = r_n/ρ_n = min(r_n, 1)
    V = Σ W_n b_n,    W_n = p_n ρ_n = max(Poisson(n; λτ), Poisson(n; λ(1+k)τ)) ≤ 1

with b_n (and Δ_n, Γ_n, vega_n, Θ_n) the Black–Scholes Greeks at (S x_n, K/ρ_n, τ, σ_n): upward terms carry the
weights Poisson(n; λ(1+k)τ), downward ones p_n, and no term spot exceeds S. The weights are computed in log space;
when a Poisson mean exceeds 16, by Loader's saddle-point form (C. Loader, "Fast and accurate computation of
binomial probabilities", 2000), log p = −stirlerr(n) − ½ log(2πn) − bd0(n, mean), whose rounding is ≈ ε·|n − mean|
where the direct n log(mean) − log n! − mean loses ε·mean·log(mean). When both means are at most 16 and every
|log r_n| ≤ 30, ρ_n = 1 (the plain series, the same arithmetic). Greeks differentiate the series term by term
(p_{n−1} = p_n n/(λτ); the derivatives of Black–Scholes are homogeneous of degree 0, −1, 1, 1)::

    Δ = Σ W_n x_n Δ_n        Γ = Σ W_n x_n² Γ_n        vega = ∂V/∂σ = Σ W_n vega_n σ/σ_n
    Θ = −∂V/∂τ = Σ W_n [−(n/τ − λ) b_n + Θ_n + λk S x_n Δ_n + vega_n n δ² / (2σ_n τ²)]

Θ's first and third terms are each ≈ λ(1+k)·V and cancel to Θ: its rounding is ≈ ε·λ(1+k)·V (7e-11 of Θ
measured at λ(1+k)τ ≈ 2.2e4 against mpmath, tests/pricing/test_merton.py; prices there agree to 1e-15).

Cut-off: for each node the series is summed over every n within mean ± (10√mean + 20) of BOTH means λτ and
λ(1+k)τ (one run of n when the two windows meet, two runs otherwise). Each Poisson tail left out is below 7.6e-24
(scipy.special.pdtr/pdtrc, every mean up to 4.3e7), the omitted W_n sum to less than 3.1e-23, and every term is at
most max(S e^{−qτ}, K e^{−rτ}), so the truncation error is below 3.1e-23 · max(S e^{−qτ}, K e^{−rτ}): below 1e-16
of the price unless the price is below 3e-7 of that bound. About 20√(λ(1+k)τ) + 20√(λτ) + 80 terms per node
(27 at λτ = 0.25 with moderate jumps, ≈ 3,300 at λ = 50, μ_J = 3, δ = 2, τ = 3); nodes are evaluated in chunks
of at most 2²⁰ node-terms, so memory stays bounded however many terms a node needs.

At τ = 0 the functions return the Black–Scholes intrinsic limits (the jump part of Θ as τ → 0⁺,
λ·E[V(SJ) − V(S)], is not included there).

Units as everywhere: time in years, λ per year, vega per 1.00 of the diffusion volatility σ, Θ per year.

Shape: outputs have the broadcast shape of all ten arguments (a 0-d value for scalars).

Errors (``ValueError`` naming the argument): spot, strike ≤ 0; time_to_maturity, volatility, jump_intensity,
jump_std < 0; any argument not finite; and parameters whose series needs more than 2¹⁷ terms at one node
(λ(1+k)τ beyond about 4e7, e.g. μ_J + δ²/2 ≳ 17 at λτ = 1), named as jump_mean / jump_std / jump_intensity.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import gammaln

from hedgegym import _validation as check
from hedgegym.pricing import black_scholes
from hedgegym.pricing.greeks import FloatArray, Greeks

__all__ = ["greeks", "jump_compensator", "price"]

_TAIL_SIGMAS, _TAIL_PAD = 10.0, 20.0  # each Poisson window: mean ± (10√mean + 20)
_MAX_TERMS = 2**17  # per node
_DIRECT_MEAN = 16.0  # up to this Poisson mean, log pₙ directly (rounding ≈ ε·n·|log mean|)
_DIRECT_LOG_RATIO = 30.0  # |log(Sₙ/S)| up to which the terms need no normalisation
_CHUNK = 2**20  # node-terms evaluated at once
_TINY, _HUGE = np.finfo(np.float64).tiny, np.finfo(np.float64).max
_RATIO_FLOOR = 2.0**-1000
_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)
# Stirling's error log n! − (n + ½) log n + n − ½ log 2π for n = 0..15 (0 at n = 0 is unused)
_STIRLING_ERROR = np.array(
    [0.0] + [math.lgamma(n + 1.0) - (n + 0.5) * math.log(n) + n - _HALF_LOG_2PI for n in range(1, 16)]
)


def jump_compensator(jump_mean: ArrayLike, jump_std: ArrayLike) -> FloatArray:
    """k = E[J − 1] = exp(μ_J + δ²/2) − 1, the mean relative jump size."""
    return np.expm1(np.asarray(jump_mean) + 0.5 * np.asarray(jump_std) ** 2)


def _stirling_error(n: FloatArray) -> FloatArray:
    """log n! − (n + ½) log n + n − ½ log 2π for integer n ≥ 1 (table to 15, asymptotic series beyond)."""
    large = np.maximum(n, 16.0)
    inv2 = 1.0 / (large * large)
    series = (1.0 / 12.0 - inv2 * (1.0 / 360.0 - inv2 * (1.0 / 1260.0 - inv2 * (1.0 / 1680.0)))) / large
    return np.where(n > 15.0, series, _STIRLING_ERROR[np.clip(n, 0.0, 15.0).astype(np.intp)])


def _log_poisson(n: FloatArray, mean: FloatArray, log_mean: FloatArray) -> FloatArray:
    """log(e^{−mean} meanⁿ / n!) for integer n ≥ 0 and mean ≥ 0 (Loader's saddle-point form; −inf where 0)."""
    positive = mean > 0.0
    safe_mean = np.where(positive, mean, 1.0)
    safe_n = np.maximum(n, 1.0)
    u = (safe_n - safe_mean) / safe_mean
    with np.errstate(divide="ignore", invalid="ignore"):
        # bd0 = n log(n/mean) + mean − n ≥ 0, without cancellation near n = mean
        deviance = np.where(
            u > 1.0,
            safe_n * (np.log(safe_n) - np.where(positive, log_mean, 0.0)) + safe_mean - safe_n,
            safe_mean * ((1.0 + u) * np.log1p(u) - u),
        )
    log_p = -_stirling_error(safe_n) - 0.5 * np.log(safe_n) - _HALF_LOG_2PI - deviance
    log_p = np.where(n == 0.0, -mean, log_p)
    return np.where(positive, log_p, np.where(n == 0.0, 0.0, -np.inf))


def _window(mean: FloatArray) -> tuple[FloatArray, FloatArray]:
    """First and last n of the window mean ± (10√mean + 20) (integers as floats)."""
    spread = _TAIL_SIGMAS * np.sqrt(mean) + _TAIL_PAD
    return np.floor(np.maximum(mean - spread, 0.0)), np.ceil(mean + spread)


def _series(spot, strike, tau, volatility, intensity, jump_mean, jump_std, rate, dividend, call, start, width,
            gap, n_terms) -> tuple[FloatArray, ...]:
    """(price, Δ, Γ, vega, Θ) by the series at 1-d nodes, ``n_terms`` terms each (≥ every node's window)."""
    column = (spot, strike, tau, volatility, intensity, jump_mean, jump_std, rate, dividend, call, start, width, gap)
    spot, strike, tau, volatility, intensity, jump_mean, jump_std, rate, dividend, call, start, width, gap = (
        a[:, None] for a in column
    )
    j = np.arange(n_terms, dtype=np.float64)
    if np.all(start == 0.0) and np.all(gap == 0.0):  # the common case: n = 0, 1, … at every node
        n = j[None, :]
    else:  # one window, or two with the gap between them skipped
        n = start + j + np.where(j >= width, gap, 0.0)

    live = tau > 0.0
    safe_tau = np.where(live, tau, 1.0)
    intensity = np.where(live, intensity, 0.0)
    log_growth = jump_mean + 0.5 * jump_std**2  # log(1 + k)
    k = np.expm1(log_growth)
    expected_jumps = intensity * tau
    with np.errstate(divide="ignore"):
        log_expected = np.log(expected_jumps)
    log_ratio = -expected_jumps * k + n * log_growth  # log r_n = log(S_n / S)
    upward_mean = expected_jumps * np.exp(log_growth)
    largest_mean = max(np.max(upward_mean, initial=0.0), np.max(expected_jumps, initial=0.0))
    # log r_n is linear in n: its largest magnitude is at the first or the last term
    largest_log_ratio = np.max(np.abs(log_ratio[..., [0, -1]]), initial=0.0)
    if largest_mean <= _DIRECT_MEAN and largest_log_ratio <= _DIRECT_LOG_RATIO:
        # S_n within e^{±30} S: the plain series, log p_n = n log λτ − λτ − log n! (error ≈ ε·n·|log λτ|)
        with np.errstate(invalid="ignore"):  # 0·(−inf) at λτ = 0
            log_weight = np.where(n == 0.0, -expected_jumps, n * log_expected - expected_jumps - gammaln(n + 1.0))
        x = np.exp(log_ratio)
        term_spot = spot * x
        if not 1e-280 < np.min(spot) <= np.max(spot) < 1e280:  # keep S_n a positive normal double
            term_spot = np.clip(term_spot, _TINY, _HUGE)
        term_strike = strike
    else:  # each term normalised by ρ_n = max(r_n, 1); W_n = p_n ρ_n = max(p_n, p_n r_n), two Poisson laws
        if largest_mean <= _DIRECT_MEAN:
            with np.errstate(invalid="ignore"):
                log_p = np.where(n == 0.0, -expected_jumps, n * log_expected - expected_jumps - gammaln(n + 1.0))
            log_weight = log_p + np.maximum(log_ratio, 0.0)
        else:  # Loader's form: no ε·mean·log(mean) loss
            log_weight = np.maximum(
                _log_poisson(n, expected_jumps, log_expected),  # downward terms: p_n
                _log_poisson(n, upward_mean, log_expected + log_growth),  # upward terms: p_n r_n
            )
        with np.errstate(under="ignore", over="ignore"):
            x = np.exp(np.minimum(log_ratio, 0.0))  # r_n / ρ_n
            term_spot = np.clip(spot * x, _TINY, _HUGE)
            # K/ρ_n ≤ K, and at least 2^−1000 of the term spot (below, Black–Scholes is at its limit to the last
            # bit, and S_n/(K/ρ_n) would overflow)
            term_strike = np.maximum(strike * np.exp(-np.maximum(log_ratio, 0.0)),
                                     np.maximum(term_spot * _RATIO_FLOOR, _TINY))
    weight = np.exp(log_weight)
    term_volatility = np.sqrt(np.where(live, volatility**2 + n * jump_std**2 / safe_tau, volatility**2))
    term = black_scholes.greeks(term_spot, term_strike, tau, term_volatility, rate, dividend, call)

    positive_vol = term_volatility > 0.0
    safe_vol = np.where(positive_vol, term_volatility, 1.0)
    d_vol_d_sigma = np.where(positive_vol, volatility / safe_vol, 1.0)
    d_vol_d_tau = np.where(positive_vol & live, -n * jump_std**2 / (2.0 * safe_vol * safe_tau**2), 0.0)
    # −dV/dτ term by term: Poisson weights (p_{n−1} = p_n n/λτ), compensated spot S_n(τ), volatility σ_n(τ)
    theta = (
        (intensity - n * np.where(live, 1.0 / safe_tau, 0.0)) * term.price
        + term.theta + intensity * k * term_spot * term.delta - term.vega * d_vol_d_tau
    )
    return (
        np.sum(weight * term.price, axis=-1),
        np.sum(weight * x * term.delta, axis=-1),
        np.sum(weight * x * (x * term.gamma), axis=-1),
        np.sum(weight * term.vega * d_vol_d_sigma, axis=-1),
        np.sum(weight * theta, axis=-1),
    )


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
    """Merton jump-diffusion price, Δ, Γ, vega (∂V/∂σ) and Θ (per year) of European options.

    Formulas, cut-off, errors and source: the module docstring. Shape: the broadcast shape of the arguments.
    """
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
    shape = arrays[0].shape
    nodes = [np.ravel(a) for a in arrays]
    tau, intensity, jump_mean, jump_std = nodes[2], nodes[4], nodes[5], nodes[6]

    # the two Poisson means and their windows; A is the lower one, B the upper
    expected_jumps = intensity * tau
    with np.errstate(over="ignore"):
        upward_mean = expected_jumps * np.exp(jump_mean + 0.5 * jump_std**2)
    low_start, low_end = _window(np.minimum(expected_jumps, upward_mean))
    high_start, high_end = _window(np.maximum(expected_jumps, upward_mean))
    width = low_end - low_start + 1.0
    gap = np.maximum(high_start - low_end - 1.0, 0.0)
    terms = np.minimum(high_end - low_start + 1.0, width + high_end - high_start + 1.0)
    if terms.size and not np.max(terms) <= _MAX_TERMS:
        worst = int(np.argmax(np.where(np.isnan(terms), np.inf, terms)))
        raise ValueError(
            "jump_intensity, jump_mean and jump_std give a Poisson series longer than the pricer sums "
            f"({_MAX_TERMS} terms): jump_intensity·time_to_maturity·max(1, exp(jump_mean + jump_std²/2)) must be "
            f"at most about 4e7, got {float(max(expected_jumps[worst], upward_mean[worst])):.4g} at jump_intensity="
            f"{float(intensity[worst]):g}, jump_mean={float(jump_mean[worst]):g}, jump_std={float(jump_std[worst]):g}, "
            f"time_to_maturity={float(tau[worst]):g}"
        )
    if terms.size * (np.max(terms) if terms.size else 0.0) <= _CHUNK:
        order, bounds = slice(None), [(0, terms.size)]
    else:  # heavy nodes together: chunks of at most _CHUNK node-terms
        order = np.argsort(terms, kind="stable")
        sorted_terms = terms[order]
        bounds, first = [], 0
        while first < terms.size:
            guess = min(first + max(int(_CHUNK // sorted_terms[first]), 1), terms.size)
            last = min(first + max(int(_CHUNK // sorted_terms[guess - 1]), 1), terms.size)
            bounds.append((first, last))
            first = last
    per_node = [a[order] for a in (*nodes, low_start, width, gap, terms)]
    results = [np.empty(terms.size) for _ in range(5)]
    for first, last in bounds:
        chunk = [a[first:last] for a in per_node]
        n_terms = int(np.max(chunk[-1])) if last > first else 1
        for out, value in zip(results, _series(*chunk[:-1], n_terms), strict=True):
            out[first:last] = value
    if not isinstance(order, slice):
        unsorted = [np.empty_like(r) for r in results]
        for out, r in zip(unsorted, results, strict=True):
            out[order] = r
        results = unsorted
    return Greeks(*(r.reshape(shape)[()] if shape == () else r.reshape(shape) for r in results))


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
