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
