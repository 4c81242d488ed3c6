"""SABR: Hagan's volatility against QuantLib's sabrVolatility; Greeks against finite differences."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
import QuantLib as ql

from hedgegym.pricing import black_scholes, sabr


def test_implied_volatility_matches_quantlib_on_500_random_sets():
    rng = np.random.default_rng(2002)
    for _ in range(500):
        forward, tau = rng.uniform(50, 150), rng.uniform(0.02, 3.0)
        strike = forward * np.exp(rng.uniform(-0.5, 0.5))
        alpha, beta = rng.uniform(0.05, 0.6), rng.choice([0.0, 0.5, 0.7, 1.0])
        alpha *= forward ** (1 - beta)  # a sensible level for every β: α F^{β−1} ≈ lognormal vol
        nu, rho = rng.uniform(0.0, 1.5), rng.uniform(-0.9, 0.9)
        expected = ql.sabrVolatility(strike, forward, tau, alpha, beta, nu, rho)
        ours = sabr.implied_volatility(forward, strike, tau, alpha, beta, nu, rho)
        assert ours == pytest.approx(expected, rel=1e-12)


def hagan_50_digits(forward, strike, tau, alpha, beta, nu, rho) -> float:
    mpmath.mp.dps = 50
    f, k, t, a, b, n, r = (mpmath.mpf(float(x)) for x in (forward, strike, tau, alpha, beta, nu, rho))
    log_moneyness = mpmath.log(f / k)
    geometric = (f * k) ** ((1 - b) / 2)
    z = n / a * geometric * log_moneyness
    z_over_x = 1 if z == 0 else z / mpmath.log((mpmath.sqrt(1 - 2 * r * z + z * z) + z - r) / (1 - r))
    denominator = geometric * (1 + (1 - b) ** 2 / 24 * log_moneyness**2 + (1 - b) ** 4 / 1920 * log_moneyness**4)
    correction = 1 + ((1 - b) ** 2 * a**2 / (24 * geometric**2) + r * b * n * a / (4 * geometric)
                      + (2 - 3 * r**2) * n**2 / 24) * t
    return float(a / denominator * z_over_x * correction)


def test_near_the_money_matches_a_50_digit_evaluation():
    # strikes whose z = (ν/α)(FK)^{(1−β)/2} ln(F/K) spans 0, the series region and the closed form
    strikes = 100.0 * np.exp(np.concatenate([-np.geomspace(1e-9, 1e-2, 30), [0.0], np.geomspace(1e-9, 1e-2, 30)]))
    model = (1.0, 0.25 * 100.0**0.3, 0.7, 0.6, -0.4)
    ours = sabr.implied_volatility(100.0, strikes, *model)
    for strike, vol in zip(strikes, ours, strict=True):
        assert vol == pytest.approx(hagan_50_digits(100.0, strike, *model), rel=1e-12)


def test_price_is_black_scholes_at_the_sabr_volatility_and_zero_vol_of_vol_is_flat():
    spot, tau, rate, dividend = 100.0, 0.5, 0.03, 0.01
    strikes = np.linspace(70.0, 130.0, 13)
    forward = spot * np.exp((rate - dividend) * tau)
    vols = sabr.implied_volatility(forward, strikes, tau, 0.2, 1.0, 0.5, -0.3)
    np.testing.assert_allclose(
        sabr.price(spot, strikes, tau, 0.2, 1.0, 0.5, -0.3, rate, dividend, True),
        black_scholes.price(spot, strikes, tau, vols, rate, dividend, True), rtol=1e-14,
    )
    # β = 1, ν = 0: the lognormal model with constant volatility α
    g = sabr.greeks(spot, strikes, tau, 0.2, 1.0, 0.0, 0.0, rate, dividend, False)
    b = black_scholes.greeks(spot, strikes, tau, 0.2, rate, dividend, False)
    for got, want in zip(g, b, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-7, atol=1e-9)


def test_greeks_agree_with_finite_differences_of_the_price():
    spot = np.array([80.0, 95.0, 100.0, 108.0, 125.0])[:, None]
    tau = np.array([0.1, 0.5, 1.5])[None, :]
    model = {"beta": 0.7, "vol_of_vol": 0.5, "correlation": -0.35}
    alpha = 0.2 * 100.0**0.3
    for call in (True, False):
        def value(s=spot, t=tau, a=alpha, call=call):
            return sabr.price(s, 100.0, t, a, **model, rate=0.02, dividend=0.01, call=call)

        g = sabr.greeks(spot, 100.0, tau, alpha, **model, rate=0.02, dividend=0.01, call=call)
        h = 5e-4 * spot  # short-dated Γ varies on the scale S·σ√τ: keep the stencil well inside it
        up, down, up2, down2 = (value(s=spot + c * h) for c in (1, -1, 2, -2))
        np.testing.assert_allclose(g.delta, (8 * (up - down) - (up2 - down2)) / (12 * h), rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(g.gamma, (16 * (up + down) - (up2 + down2) - 30 * value()) / (12 * h**2),
                                   rtol=1e-4, atol=1e-7)
        h_a = 1e-4 * alpha
        np.testing.assert_allclose(g.vega, (value(a=alpha + h_a) - value(a=alpha - h_a)) / (2 * h_a), rtol=1e-6)
        np.testing.assert_allclose(g.theta, -(value(t=tau + 1e-5) - value(t=tau - 1e-5)) / 2e-5, rtol=1e-5,
                                   atol=1e-6)


@pytest.mark.parametrize(
    ("overrides", "argument"),
    [({"alpha": 0.0}, "alpha"), ({"beta": 1.5}, "beta"), ({"vol_of_vol": -0.1}, "vol_of_vol"),
     ({"correlation": 1.0}, "correlation"), ({"correlation": -2.0}, "correlation")],
)
def test_bad_parameters_raise_value_error_naming_them(overrides, argument):
    model = {"alpha": 0.2, "beta": 1.0, "vol_of_vol": 0.4, "correlation": -0.3} | overrides
    with pytest.raises(ValueError, match=argument):
        sabr.greeks(100.0, 100.0, 1.0, **model)


# --- the whole domain the simulator can produce is valued (issue 10, case 6) ---------------------------------------

def _hagan_factor(forward, strike, tau, alpha, beta, nu, rho):
    """u = 1 + ε τ, Hagan's O(τ) factor (Hagan et al. 2002, eq. (2.17a))."""
    geometric = (forward * strike) ** ((1 - beta) / 2)
    return 1 + ((1 - beta) ** 2 * alpha**2 / (24 * geometric**2) + rho * beta * nu * alpha / (4 * geometric)
                + (2 - 3 * rho**2) * nu**2 / 24) * tau


def test_long_dated_large_alpha_is_valued_everywhere_on_a_dense_grid():
    """α from the simulator's floor (1.5e-154) to 1e3, spots from the floor (2.2e-308) up, τ to 30 years, ρ to
    within 1e-12 of ±1, ν to 20: a positive volatility and finite Greeks everywhere (Hagan's factor alone goes
    negative on much of this grid, where the pricer used to raise)."""
    alpha = np.array([1.5e-154, 1e-8, 0.05, 0.3, 2.0, 10.0, 100.0, 1e3])[:, None, None, None, None, None]
    spot = np.array([2.2250738585072014e-308, 1e-100, 1.0, 100.0, 1e6])[None, :, None, None, None, None]
    strike = np.array([50.0, 100.0, 200.0])[None, None, :, None, None, None]
    tau = np.array([0.0, 1 / 252, 0.5, 3.0, 10.0, 30.0])[None, None, None, :, None, None]
    rho = np.array([-1 + 1e-12, -0.99, -0.7, 0.0, 0.7, 0.99, 1 - 1e-12])[None, None, None, None, :, None]
    nu = np.array([0.0, 0.1, 1.0, 5.0, 20.0])[None, None, None, None, None, :]
    assert np.mean(_hagan_factor(100.0, 100.0, tau, alpha, 1.0, nu, rho) < 0) > 0.1  # the old failure is common here
    with np.errstate(all="raise"):
        volatility = sabr.implied_volatility(spot, strike, tau, alpha, 1.0, nu, rho)
    assert np.all(np.isfinite(volatility)) and np.all(volatility > 0.0)
    for call in (True, False):
        g = sabr.greeks(spot, strike, tau, alpha, 1.0, nu, rho, rate=0.02, dividend=0.01, call=call)
        for name, value in g._asdict().items():
            assert np.all(np.isfinite(value)), name
    # other backbones at ordinary spots
    beta = np.array([0.0, 0.5])[:, None, None, None, None]
    vol = sabr.implied_volatility(100.0, strike[0], tau[0], 0.3 * 100.0 ** (1 - beta), beta, nu[0, 0], rho[0, 0])
    assert np.all(np.isfinite(vol)) and np.all(vol > 0.0)


def test_hagan_is_unchanged_where_its_time_factor_is_at_least_one_half():
    """Against QuantLib's sabrVolatility on points whose factor 1 + ετ spans [0.5, 1.3], long maturities included."""
    rng = np.random.default_rng(612)
    checked = 0
    while checked < 300:
        forward, tau = rng.uniform(50, 150), rng.uniform(0.5, 10.0)
        strike = forward * np.exp(rng.uniform(-0.7, 0.7))
        alpha, nu, rho = rng.uniform(0.05, 1.5), rng.uniform(0.0, 1.5), rng.uniform(-0.95, 0.95)
        u = _hagan_factor(forward, strike, tau, alpha, 1.0, nu, rho)
        if not 0.5 <= u <= 1.3:
            continue
        expected = ql.sabrVolatility(strike, forward, tau, alpha, 1.0, nu, rho)
        assert sabr.implied_volatility(forward, strike, tau, alpha, 1.0, nu, rho) == pytest.approx(expected, rel=1e-12)
        checked += 1


def test_below_one_half_the_capped_factor_joins_hagan_to_third_order():
    """g(u) = u₀/(1 − s + s²), s = (u − u₀)/u₀, meets Hagan's u with equal value, slope and curvature: just below
    u₀ = 1/2 the volatility differs from QuantLib's (still positive there) by −u₀s³/u (1 + O(s)) > 0; far below,
    the volatility stays positive and increasing in u as u falls to 0 and beyond."""
    forward, strike, nu, rho = 100.0, 110.0, 1.0, -0.7
    alpha = 0.3
    epsilon = (_hagan_factor(forward, strike, 1.0, alpha, 1.0, nu, rho) - 1.0)  # ε per year, < 0 here
    u = np.array([0.499, 0.495, 0.49, 0.45])
    tau = (u - 1.0) / epsilon
    s = (u - 0.5) / 0.5
    ours = sabr.implied_volatility(forward, strike, tau, alpha, 1.0, nu, rho)
    quantlib = np.array([ql.sabrVolatility(strike, forward, t, alpha, 1.0, nu, rho) for t in tau])
    np.testing.assert_allclose(ours / quantlib - 1.0, -0.5 * s**3 / u, rtol=0.25)
    assert np.all(ours > quantlib)
    # beyond the point where QuantLib's Hagan turns negative: positive and falling with τ
    far = sabr.implied_volatility(forward, strike, np.linspace(tau[-1], 40.0, 50), alpha, 1.0, nu, rho)
    assert np.all(far > 0.0) and np.all(np.diff(far) < 0.0)


def test_prices_stay_within_no_arbitrage_bounds_where_the_factor_is_capped():
    """e^{−rτ}max(F − K, 0) ≤ C ≤ S e^{−qτ}, the same for puts, and −e^{−rτ} ≤ ∂C/∂K ≤ 0 (closed-form bounds)."""
    spot, rate, dividend = 100.0, 0.03, 0.01
    strike = np.linspace(20.0, 400.0, 200)[:, None, None]
    tau = np.array([1.0, 3.0, 10.0, 30.0])[None, :, None]
    alpha = np.array([0.3, 2.0, 10.0])[None, None, :]
    model = {"beta": 1.0, "vol_of_vol": 1.0, "correlation": -0.7}
    discount, forward = np.exp(-rate * tau), spot * np.exp((rate - dividend) * tau)
    call = sabr.price(spot, strike, tau, alpha, **model, rate=rate, dividend=dividend, call=True)
    put = sabr.price(spot, strike, tau, alpha, **model, rate=rate, dividend=dividend, call=False)
    tolerance = 1e-9 * spot
    assert np.all(call >= discount * np.maximum(forward - strike, 0.0) - tolerance)
    assert np.all(call <= spot * np.exp(-dividend * tau) + tolerance)
    assert np.all(put >= discount * np.maximum(strike - forward, 0.0) - tolerance)
    assert np.all(put <= discount * strike + tolerance)
    slope = np.diff(call, axis=0) / np.diff(strike, axis=0)
    assert np.all(slope <= tolerance) and np.all(slope >= -discount - tolerance)


@pytest.mark.parametrize("rho", [-1 + 1e-10, -1 + 1e-6, 1 - 1e-6, 1 - 1e-10])
def test_x_of_z_keeps_its_digits_as_correlation_nears_one(rho):
    """The conjugate form of x(z) against a 50-digit evaluation of the textbook formula, strikes on both sides
    (the textbook form in doubles loses up to ~1e-6 here, or returns log(0))."""
    strikes = 100.0 * np.exp(np.linspace(-1.5, 1.5, 41))
    model = (2.0, 0.4, 1.0, 1.5, rho)
    ours = sabr.implied_volatility(100.0, strikes, *model)
    for strike, vol in zip(strikes, ours, strict=True):
        assert vol == pytest.approx(hagan_50_digits(100.0, strike, *model), rel=1e-11)


@pytest.mark.parametrize("correlation", [-1.0, 1.0, 1.5])
def test_correlation_at_plus_or_minus_one_is_refused_with_the_open_interval(correlation):
    with pytest.raises(ValueError, match=r"correlation must be in the open interval \(-1, 1\)"):
        sabr.implied_volatility(100.0, 100.0, 1.0, 0.2, 1.0, 0.4, correlation)
