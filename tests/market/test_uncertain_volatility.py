"""Regime-switching / uncertain volatility: Hull–White mixing prices, the Markov chain, the adversarial rule."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.linalg import expm

from hedgegym.market import RegimeSwitchingVolatility
from tests.market.oracles import (
    black_scholes_call,
    discounted_call_payoff,
    mean_and_standard_error,
    scipy_black_scholes_call,
    years,
)

DAYS = 182
N_STEPS = 91
LEVELS = (0.1, 0.2, 0.4)


@pytest.fixture(scope="module")
def pricing_paths():
    model = RegimeSwitchingVolatility(
        spot=100.0, volatility_min=0.1, volatility_max=0.4, levels=LEVELS, switching_rate=4.0, rate=0.03, dividend=0.01
    )
    maturity = years(DAYS)
    return model, model.simulate(100_000, N_STEPS, maturity / N_STEPS, np.random.default_rng(18), measure="pricing")


@pytest.mark.parametrize("strike", [90.0, 100.0, 110.0])
def test_call_price_is_the_hull_white_mixture(pricing_paths, strike: float) -> None:
    """Vol independent of the spot's noise: price = E[BS(σ̄²)], σ̄² the path's time-average variance.

    Compared on the same paths: the mean of payoff − BS(σ̄_path) is 0 within 3 standard errors of that difference.
    """
    model, paths = pricing_paths
    maturity = paths.maturity
    payoff = discounted_call_payoff(paths.spot[:, -1], strike, model.rate, maturity)
    average_variance = paths.variance[:, :-1].mean(axis=1)  # σ of node i applies over [t_i, t_{i+1})
    mixture = scipy_black_scholes_call(
        model.spot, strike, maturity, np.sqrt(average_variance), model.rate, model.dividend
    )
    difference, standard_error = mean_and_standard_error(payoff - mixture)
    assert abs(difference) < 3.0 * standard_error, (difference, standard_error)
    payoff_mean, payoff_error = mean_and_standard_error(payoff)
    assert abs(payoff_mean - mixture.mean()) < 3.0 * payoff_error

    low = black_scholes_call(model.spot, strike, DAYS, model.volatility_min, model.rate, model.dividend)
    high = black_scholes_call(model.spot, strike, DAYS, model.volatility_max, model.rate, model.dividend)
    assert low < mixture.mean() < high
    assert low < payoff_mean < high


def test_regimes_and_variance_agree(pricing_paths) -> None:
    _, paths = pricing_paths
    regime = paths.extras["regime"]
    assert regime.shape == paths.spot.shape and np.issubdtype(regime.dtype, np.integer)
    assert regime.min() >= 0 and regime.max() < len(LEVELS)
    np.testing.assert_array_equal(paths.variance, np.asarray(LEVELS)[regime] ** 2)
    counts = np.bincount(regime[:, 0], minlength=len(LEVELS))
    expected = paths.n_paths / len(LEVELS)  # initial regime drawn uniformly
    assert np.all(np.abs(counts - expected) < 4.0 * np.sqrt(expected))


def _standardised_log_returns(model: RegimeSwitchingVolatility, paths) -> np.ndarray:
    """(ln S_{i+1}/S_i − (drift − σ_i²/2)Δ) / (σ_i √Δ), with σ_i the volatility at node i: exactly N(0, 1)."""
    sigma = paths.volatility[:, :-1]
    log_returns = np.diff(np.log(paths.spot), axis=1)
    drift = model.drift("pricing")
    return ((log_returns - (drift - 0.5 * sigma**2) * paths.dt) / (sigma * np.sqrt(paths.dt))).ravel()


def test_each_step_is_log_normal_with_the_volatility_at_its_start(pricing_paths) -> None:
    model, paths = pricing_paths
    z = _standardised_log_returns(model, paths)
    assert abs(z.mean()) < 3.0 / np.sqrt(z.size)
    assert abs(z.var() - 1.0) < 3.0 * np.sqrt(2.0 / z.size)


def test_stay_probability_is_the_exact_chain_transition(pricing_paths) -> None:
    model, paths = pricing_paths
    n = len(LEVELS)
    generator = model.switching_rate / (n - 1) * (np.ones((n, n)) - n * np.eye(n))  # leave at rate q, uniformly
    transition = expm(generator * paths.dt)
    assert model.stay_probability(paths.dt) == pytest.approx(transition[0, 0], rel=1e-12)

    regime = paths.extras["regime"]
    stayed = regime[:, 1:] == regime[:, :-1]
    frequency, standard_error = mean_and_standard_error(stayed.ravel().astype(float))
    assert abs(frequency - transition[0, 0]) < 3.0 * standard_error
    # moves go to each other level equally often
    moved_from_0 = (regime[:, :-1] == 0) & ~stayed
    targets = np.bincount(regime[:, 1:][moved_from_0], minlength=n)
    assert targets[0] == 0
    assert abs(targets[1] - targets[2]) < 4.0 * np.sqrt(targets[1] + targets[2])


def test_no_switching_keeps_the_initial_regime() -> None:
    model = RegimeSwitchingVolatility(levels=(0.1, 0.3), switching_rate=0.0, initial_regime=1)
    paths = model.simulate(50, 40, 0.01, np.random.default_rng(19))
    np.testing.assert_array_equal(paths.extras["regime"], 1)
    np.testing.assert_array_equal(paths.variance, 0.3**2)


def test_single_level_is_geometric_brownian_motion() -> None:
    model = RegimeSwitchingVolatility(volatility_min=0.2, volatility_max=0.2, switching_rate=10.0)
    paths = model.simulate(1_000, 20, 0.01, np.random.default_rng(20))
    np.testing.assert_allclose(paths.variance, 0.2**2, rtol=1e-15)
    log_returns = np.diff(np.log(paths.spot), axis=1).ravel()
    assert abs(log_returns.std() - 0.2 * np.sqrt(0.01)) < 0.02 * 0.2 * np.sqrt(0.01)


def test_rule_volatility_is_clipped_into_the_band() -> None:
    calls: list[float] = []

    def rule(time: float, spot: np.ndarray) -> np.ndarray:
        calls.append(time)
        return np.where(spot >= 100.0, 10.0, -1.0)  # far outside [0.1, 0.4]: clipped to the bounds

    model = RegimeSwitchingVolatility(volatility_min=0.1, volatility_max=0.4, volatility_rule=rule)
    paths = model.simulate(500, 30, 0.01, np.random.default_rng(21))
    expected = np.where(paths.spot >= 100.0, 0.4**2, 0.1**2)
    np.testing.assert_array_equal(paths.variance, expected)
    np.testing.assert_allclose(calls, paths.time, rtol=0, atol=1e-15)
    assert "regime" not in paths.extras


def test_rule_steps_are_log_normal_with_the_volatility_at_their_start() -> None:
    model = RegimeSwitchingVolatility(
        volatility_min=0.1,
        volatility_max=0.5,
        volatility_rule=lambda t, s: np.where(s >= 100.0, 0.5, 0.1),
        rate=0.02,
    )
    paths = model.simulate(20_000, 50, 0.01, np.random.default_rng(25), measure="pricing")
    z = _standardised_log_returns(model, paths)
    assert abs(z.mean()) < 3.0 / np.sqrt(z.size)
    assert abs(z.var() - 1.0) < 3.0 * np.sqrt(2.0 / z.size)


def test_rule_may_return_a_scalar() -> None:
    model = RegimeSwitchingVolatility(volatility_min=0.1, volatility_max=0.4, volatility_rule=lambda t, s: 0.25)
    paths = model.simulate(10, 5, 0.01, np.random.default_rng(22))
    np.testing.assert_allclose(paths.variance, 0.0625, rtol=1e-15)


def test_rule_cannot_change_the_spots() -> None:
    def vandal(time: float, spot: np.ndarray) -> np.ndarray:
        spot[:] = 1.0
        return np.full(spot.shape, 0.2)

    model = RegimeSwitchingVolatility(volatility_rule=vandal)
    with pytest.raises(ValueError, match="read-only"):
        model.simulate(10, 5, 0.01, np.random.default_rng(23))


@pytest.mark.parametrize(
    "rule",
    [lambda t, s: np.full(s.shape, np.nan), lambda t, s: np.zeros(s.size + 1)],
    ids=["nan", "wrong_shape"],
)
def test_bad_rule_output_names_volatility_rule(rule) -> None:
    model = RegimeSwitchingVolatility(volatility_rule=rule)
    with pytest.raises(ValueError, match="volatility_rule"):
        model.simulate(10, 5, 0.01, np.random.default_rng(24))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"levels": (0.1, 0.5)}, "levels"),
        ({"levels": (0.05, 0.2)}, "levels"),
        ({"levels": ()}, "levels"),
        ({"volatility_min": -0.1}, "volatility_min"),
        ({"volatility_min": 0.3, "volatility_max": 0.2}, "volatility_max"),
        ({"switching_rate": -1.0}, "switching_rate"),
        ({"initial_regime": 2}, "initial_regime"),
        ({"initial_regime": -1}, "initial_regime"),
        ({"initial_regime": 0.5}, "initial_regime"),
        ({"volatility_rule": 0.3}, "volatility_rule"),
    ],
)
def test_bad_parameters_name_the_field(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        RegimeSwitchingVolatility(**{"volatility_min": 0.1, "volatility_max": 0.3, **kwargs})


def test_levels_default_to_the_bounds_and_are_stored_as_a_tuple() -> None:
    assert RegimeSwitchingVolatility(volatility_min=0.1, volatility_max=0.3).levels == (0.1, 0.3)
    assert RegimeSwitchingVolatility(volatility_min=0.1, volatility_max=0.3, levels=[0.2]).levels == (0.2,)
