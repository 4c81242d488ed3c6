"""Merton jump-diffusion series against QuantLib (Bates engine at vanishing vol-of-vol), a 40-digit mpmath Poisson
series (large upward and downward jumps), no-arbitrage bounds, limits and FD Greeks."""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest

from hedgegym.pricing import black_scholes, merton
from hedgegym.pricing.greeks import Greeks
from tests.pricing.quantlib_oracle import merton_price as quantlib_merton_price


def test_prices_match_quantlib_on_200_random_sets():
    rng = np.random.default_rng(76)
    for _ in range(200):
        p = {
            "spot": 100.0, "strike": float(100 * np.exp(rng.uniform(-0.4, 0.4))), "days": int(rng.integers(7, 1826)),
            "volatility": float(rng.uniform(0.05, 0.6)), "intensity": float(rng.uniform(0.0, 5.0)),
            "jump_mean": float(rng.uniform(-0.3, 0.1)), "jump_std": float(rng.uniform(0.01, 0.4)),
            "rate": float(rng.uniform(0.0, 0.06)), "dividend": float(rng.uniform(0.0, 0.04)),
            "call": bool(rng.random() < 0.5),
        }
        expected = quantlib_merton_price(**p)
        ours = merton.price(p["spot"], p["strike"], p["days"] / 365.0, p["volatility"], p["intensity"],
                            p["jump_mean"], p["jump_std"], p["rate"], p["dividend"], p["call"])
        # the oracle is Merton up to its O(σᵥ²) vol-of-vol stand-in, ~1e-8 relative
        assert ours == pytest.approx(expected, rel=1e-6, abs=1e-8), p


def test_no_jumps_is_black_scholes():
    spot = np.linspace(60.0, 160.0, 11)
    for call in (True, False):
        g = merton.greeks(spot, 100.0, 0.75, 0.25, 0.0, -0.1, 0.2, 0.03, 0.01, call)
        b = black_scholes.greeks(spot, 100.0, 0.75, 0.25, 0.03, 0.01, call)
        for got, want in zip(g, b, strict=True):
            np.testing.assert_allclose(got, want, rtol=1e-14, atol=1e-14)


def test_vectorised_greeks_agree_with_finite_differences():
    spot = np.array([70.0, 95.0, 100.0, 105.0, 140.0])[:, None]
    tau = np.array([0.05, 0.5, 2.0])[None, :]
    args = (0.2, 1.5, -0.15, 0.2, 0.03, 0.01)
    for call in (True, False):
        g = merton.greeks(spot, 100.0, tau, *args, call=call)

        def value(s=spot, t=tau, vol=0.2, call=call):
            return merton.price(s, 100.0, t, vol, *args[1:], call=call)

        h = 5e-4 * spot  # short-dated Γ varies on the scale S·σ√τ: keep the stencil well inside it
        up, down, up2, down2 = (value(s=spot + c * h) for c in (1, -1, 2, -2))
        np.testing.assert_allclose(g.delta, (8 * (up - down) - (up2 - down2)) / (12 * h), rtol=1e-7, atol=1e-9)
        np.testing.assert_allclose(g.gamma, (16 * (up + down) - (up2 + down2) - 30 * value()) / (12 * h**2),
                                   rtol=1e-5, atol=1e-8)
        np.testing.assert_allclose(g.vega, (value(vol=0.2 + 1e-6) - value(vol=0.2 - 1e-6)) / 2e-6, rtol=1e-6,
                                   atol=1e-7)
        np.testing.assert_allclose(g.theta, -(value(t=tau + 1e-6) - value(t=tau - 1e-6)) / 2e-6, rtol=1e-6,
                                   atol=1e-6)


def test_put_call_parity_and_expiry_limits():
    spot = np.linspace(50.0, 200.0, 16)
    call = merton.price(spot, 100.0, 1.3, 0.2, 2.0, -0.2, 0.3, 0.05, 0.02, True)
    put = merton.price(spot, 100.0, 1.3, 0.2, 2.0, -0.2, 0.3, 0.05, 0.02, False)
    np.testing.assert_allclose(call - put, spot * np.exp(-0.02 * 1.3) - 100.0 * np.exp(-0.05 * 1.3), atol=1e-10)
    at_expiry = merton.greeks(spot, 100.0, 0.0, 0.2, 2.0, -0.2, 0.3, 0.05, 0.02, True)
    np.testing.assert_array_equal(at_expiry.price, np.maximum(spot - 100.0, 0.0))
    assert all(np.all(np.isfinite(field)) for field in at_expiry)


@pytest.mark.parametrize(
    ("position", "value", "argument"),
    [(4, -1.0, "jump_intensity"), (6, -0.1, "jump_std"), (3, -0.2, "volatility"), (2, -1.0, "time_to_maturity")],
)
def test_bad_input_raises_value_error_naming_the_argument(position, value, argument):
    args = [100.0, 100.0, 1.0, 0.2, 1.0, -0.1, 0.2]
    args[position] = value
    with pytest.raises(ValueError, match=argument):
        merton.price(*args)


# ---- an independent oracle: the Poisson series itself, in mpmath at 40 digits -----------------------------------
_DPS = 40


def _mp_black_scholes(spot, strike, tau, vol, rate, dividend, call):
    std = vol * mpmath.sqrt(tau)
    d1 = (mpmath.log(spot / strike) + (rate - dividend) * tau) / std + std / 2
    d2 = d1 - std
    omega = 1 if call else -1
    return omega * (spot * mpmath.exp(-dividend * tau) * mpmath.ncdf(omega * d1)
                    - strike * mpmath.exp(-rate * tau) * mpmath.ncdf(omega * d2))


def _mp_merton_price(spot, strike, tau, vol, intensity, jump_mean, jump_std, rate, dividend, call):
    """Σ_n e^{−λτ}(λτ)ⁿ/n! · BS(S e^{−λkτ + n(μ+δ²/2)}, K, τ, √(σ² + nδ²/τ)) over n = 0 … (the larger of λτ and
    λτ e^{μ+δ²/2}) + 15√(that) + 60, skipping the terms whose bound p_n·max(S_n, K) is below 1e-45·(S + K)."""
    growth = jump_mean + jump_std**2 / 2
    k = mpmath.expm1(growth)
    expected = intensity * tau
    largest = float(max(expected, expected * mpmath.exp(growth)))
    log_floor = math.log(float(spot + strike)) - 45 * math.log(10)
    log_expected = math.log(float(expected)) if expected > 0 else -math.inf
    total = mpmath.mpf(0)
    for n in range(int(largest + 15 * math.sqrt(largest) + 60) + 1):
        if expected == 0 and n > 0:
            break
        rough_log_p = -float(expected) + (n * log_expected if n else 0.0) - math.lgamma(n + 1)
        rough_log_spot = math.log(float(spot)) + float(-expected * k + n * growth)
        if rough_log_p + max(rough_log_spot, math.log(float(strike))) < log_floor:
            continue
        weight = mpmath.exp(-expected) * expected**n / mpmath.factorial(n)
        term_spot = spot * mpmath.exp(-expected * k + n * growth)
        term_vol = mpmath.sqrt(vol**2 + n * jump_std**2 / tau)
        total += weight * _mp_black_scholes(term_spot, strike, tau, term_vol, rate, dividend, call)
    return total


def _mp_merton(spot, strike, tau, vol, intensity, jump_mean, jump_std, rate, dividend, call):
    """(price, Δ, Γ, vega, Θ) as floats; Greeks by mpmath central differences (steps 1e-12 relative, 1e-9 for Γ)."""
    with mpmath.workdps(_DPS):
        s, t, v, *rest = (mpmath.mpf(x) for x in (spot, tau, vol, intensity, jump_mean, jump_std, rate, dividend))
        strike = mpmath.mpf(strike)

        def value(s=s, t=t, v=v):
            return _mp_merton_price(s, strike, t, v, *rest, call)

        centre, h, h_gamma = value(), s * mpmath.mpf("1e-12"), s * mpmath.mpf("1e-9")
        return (
            float(centre),
            float((value(s=s + h) - value(s=s - h)) / (2 * h)),
            float((value(s=s + h_gamma) - 2 * centre + value(s=s - h_gamma)) / h_gamma**2),
            float((value(v=v + mpmath.mpf("1e-12")) - value(v=v - mpmath.mpf("1e-12"))) / mpmath.mpf("2e-12")),
            float(-(value(t=t * (1 + mpmath.mpf("1e-12"))) - value(t=t * (1 - mpmath.mpf("1e-12"))))
                  / (t * mpmath.mpf("2e-12"))),
        )


# (λ, μ_J, δ): large upward jumps (the μ_J = 3, δ = 2 first), large downward jumps, many jumps, a usual market
JUMPS = [(1.0, 3.0, 2.0), (1.0, 3.0, 0.5), (5.0, 1.0, 1.0), (50.0, 0.5, 0.5), (1.0, -20.0, 0.5), (50.0, -20.0, 2.0),
         (0.5, -0.1, 0.15)]
SPOT, VOL, RATE, DIVIDEND = 100.0, 0.2, 0.02, 0.01


def _assert_matches_mpmath(jumps, taus, strikes, calls=(True, False), *, greeks_too: bool) -> None:
    """Vectorised over the whole grid in one call (one chunked evaluation), each node checked against the oracle.

    Tolerances: price 1e-12 relative (+1e-13·(S + K)); Δ, Γ, vega 1e-9 relative plus 1e-12 of their scales (1,
    1/S, S + K: below that the oracle's differences are noise); Θ 1e-9 relative + 1e-9·(S + K): its series adds
    terms of size λ(1+k)·V that cancel to V-sized Θ (≈ 7e-11 relative measured at λ(1+k)τ = 2.2e4).
    """
    grid = [(lam, mu, delta, tau, strike, call) for lam, mu, delta in jumps for tau in taus for strike in strikes
            for call in calls]
    lam, mu, delta, tau, strike, call = (np.array(column) for column in zip(*grid, strict=True))
    ours = merton.greeks(SPOT, strike, tau, VOL, lam, mu, delta, RATE, DIVIDEND, call)
    scale = SPOT + strike
    for i, case in enumerate(grid):
        if greeks_too:
            want = _mp_merton(SPOT, case[4], case[3], VOL, *case[:3], RATE, DIVIDEND, case[5])
        else:
            with mpmath.workdps(_DPS):
                want = (float(_mp_merton_price(*(mpmath.mpf(x) for x in (SPOT, case[4], case[3], VOL, *case[:3],
                                                                            RATE, DIVIDEND)), case[5])),)
        tolerances = [(1e-12, 1e-13 * scale[i]), (1e-9, 1e-12), (1e-9, 1e-12 / SPOT), (1e-9, 1e-12 * scale[i]),
                      (1e-9, 1e-9 * scale[i])]
        for name, got, expected, (rtol, atol) in zip(Greeks._fields, ours, want, tolerances, strict=False):
            assert abs(got[i] - expected) <= rtol * abs(expected) + atol, (name, case, got[i], expected)


def test_prices_and_greeks_match_a_40_digit_poisson_series_for_large_jumps():
    """Issue 10: μ_J = 3, δ = 2 priced a 3-year K = 50 call at 4.7e-54 (its lower bound is 49.96): the series was cut
    at n ≈ λτ + 10√(λτ) + 20 while the value sits at n ≈ λ(1+k)τ ≈ 445, where S_n overflowed."""
    _assert_matches_mpmath(JUMPS, taus=(0.1, 3.0), strikes=(50.0, 200.0), calls=(True,), greeks_too=False)
    _assert_matches_mpmath([JUMPS[0], JUMPS[5]], taus=(3.0,), strikes=(50.0,), greeks_too=True)
    _assert_matches_mpmath([JUMPS[4]], taus=(0.1, 3.0), strikes=(200.0,), calls=(False,), greeks_too=True)


@pytest.mark.slow
def test_prices_and_greeks_match_a_40_digit_poisson_series_on_the_full_grid():
    """Every jump set, three maturities, strikes below, at and above the spot, calls and puts, with Greeks; and
    λ = 50 with μ_J = 3, δ = 2 (λ(1+k)τ ≈ 2.2e4: about 3,000 terms per node)."""
    _assert_matches_mpmath(JUMPS, taus=(0.1, 1.0, 3.0), strikes=(50.0, 100.0, 200.0), greeks_too=True)
    _assert_matches_mpmath([(50.0, 3.0, 2.0)], taus=(0.1, 3.0), strikes=(50.0, 200.0), greeks_too=True)


def test_large_jumps_match_quantlib():
    """QuantLib's Bates engine at vanishing vol-of-vol (accurate to ≈ 1e-9 here, its O(σᵥ²) stand-in)."""
    cases = [(1.0, 3.0, 2.0, 1095, 50.0, True), (1.0, 3.0, 2.0, 1095, 50.0, False), (1.0, 1.0, 0.5, 365, 150.0, False),
             (3.0, 0.7, 0.4, 730, 80.0, True), (2.0, 2.0, 1.0, 365, 100.0, True), (1.0, -20.0, 0.5, 365, 100.0, False),
             (10.0, -3.0, 1.0, 365, 120.0, True)]
    for lam, mu, delta, days, strike, call in cases:
        want = quantlib_merton_price(SPOT, strike, days, VOL, lam, mu, delta, RATE, DIVIDEND, call)
        got = merton.price(SPOT, strike, days / 365.0, VOL, lam, mu, delta, RATE, DIVIDEND, call)
        assert got == pytest.approx(want, rel=1e-8), (lam, mu, delta, days, strike, call)


def test_prices_stay_inside_the_no_arbitrage_bounds_for_every_jump_size():
    """max(ω(S e^{−qτ} − K e^{−rτ}), 0) ≤ V ≤ S e^{−qτ} (call), K e^{−rτ} (put), over μ_J from −20 to 3, δ to 2,
    λ to 50, τ to 3 years, spots from 1e-3 to 1e4 (the simulators reach such spots)."""
    spot = np.geomspace(1e-3, 1e4, 8)[:, None, None, None, None]
    mu = np.array([-20.0, -3.0, -0.1, 0.0, 1.0, 3.0])[:, None, None, None]
    delta = np.array([0.0, 0.5, 2.0])[:, None, None]
    lam = np.array([0.1, 1.0, 50.0])[:, None]
    tau = np.array([0.02, 1.0, 3.0])
    for strike in (50.0, 100.0):
        for call in (True, False):
            g = merton.greeks(spot, strike, tau, VOL, lam, mu, delta, RATE, DIVIDEND, call)
            assert all(np.all(np.isfinite(field)) for field in g)
            forward, discounted = spot * np.exp(-DIVIDEND * tau), strike * np.exp(-RATE * tau)
            intrinsic = np.maximum(forward - discounted if call else discounted - forward, 0.0)
            upper = forward if call else discounted
            tolerance = 1e-12 * np.maximum(upper, discounted)
            assert np.all(g.price >= intrinsic - tolerance) and np.all(g.price <= upper + tolerance)
            assert np.all(g.gamma >= 0.0) and np.all(g.vega >= -1e-12 * (spot + strike))


def test_a_series_too_long_to_sum_is_refused_naming_the_jump_parameters():
    with pytest.raises(ValueError, match=r"jump_intensity.*jump_mean.*jump_std"):
        merton.price(100.0, 100.0, 1.0, 0.2, 1.0, 20.0, 0.5)
    with pytest.raises(ValueError, match="jump_intensity"):
        merton.price(100.0, 100.0, 1.0, 0.2, 1e9, -0.1, 0.1)
