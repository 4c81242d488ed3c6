"""Geometric Brownian motion: QuantLib Black–Scholes prices, the exact zero-volatility path, the log-return law."""

from __future__ import annotations

import numpy as np
import pytest

from hedgegym.market import GeometricBrownianMotion
from tests.market.oracles import black_scholes_call, discounted_call_payoff, mean_and_standard_error, years

DAYS = 182
N_STEPS = 91  # dt = 2 days


@pytest.fixture(scope="module")
def pricing_paths():
    model = GeometricBrownianMotion(spot=100.0, volatility=0.25, mu=0.1, rate=0.03, dividend=0.01)
    maturity = years(DAYS)
    return model, model.simulate(100_000, N_STEPS, maturity / N_STEPS, np.random.default_rng(11), measure="pricing")


@pytest.mark.parametrize("strike", [85.0, 100.0, 115.0])
def test_call_price_matches_quantlib(pricing_paths, strike: float) -> None:
    model, paths = pricing_paths
    assert paths.maturity == pytest.approx(years(DAYS), rel=1e-14)
    payoff = discounted_call_payoff(paths.spot[:, -1], strike, model.rate, paths.maturity)
    mean, standard_error = mean_and_standard_error(payoff)
    expected = black_scholes_call(model.spot, strike, DAYS, model.volatility, model.rate, model.dividend)
    assert abs(mean - expected) < 3.0 * standard_error, (mean, expected, standard_error)


def test_log_returns_are_normal_with_the_model_moments() -> None:
    model = GeometricBrownianMotion(volatility=0.3, mu=0.08)
    dt = 1.0 / 252.0
    paths = model.simulate(20_000, 10, dt, np.random.default_rng(5))
    log_returns = np.diff(np.log(paths.spot), axis=1).ravel()
    n = log_returns.size
    expected_mean = (0.08 - 0.5 * 0.3**2) * dt
    expected_var = 0.3**2 * dt
    assert abs(log_returns.mean() - expected_mean) < 3.0 * np.sqrt(expected_var / n)
    # the sample variance of n normals has standard deviation ≈ var·√(2/n)
    assert abs(log_returns.var(ddof=1) - expected_var) < 3.0 * expected_var * np.sqrt(2.0 / n)
    np.testing.assert_array_equal(paths.variance, 0.09)


@pytest.mark.parametrize("measure", ["real", "pricing"])
def test_zero_volatility_path_is_exact(measure: str) -> None:
    model = GeometricBrownianMotion(spot=80.0, volatility=0.0, mu=0.07, rate=0.04, dividend=0.015)
    paths = model.simulate(4, 250, 1.0 / 250.0, np.random.default_rng(0), measure=measure)
    expected = 80.0 * np.exp(model.drift(measure) * paths.time)
    np.testing.assert_allclose(paths.spot, np.broadcast_to(expected, paths.spot.shape), rtol=1e-12)
    np.testing.assert_array_equal(paths.variance, 0.0)


@pytest.mark.parametrize("volatility", [-0.1, np.nan, np.inf])
def test_bad_volatility_names_the_field(volatility: float) -> None:
    with pytest.raises(ValueError, match="volatility"):
        GeometricBrownianMotion(volatility=volatility)


def test_fields_are_stored_as_floats() -> None:
    model = GeometricBrownianMotion(spot=100, volatility=np.float32(0.5))
    assert type(model.spot) is float and type(model.volatility) is float
