"""Merton jump diffusion: QuantLib prices, jump counts, the deterministic limit and argument checks."""

from __future__ import annotations

import numpy as np
import pytest

from hedgegym.market import MertonJumpDiffusion
from tests.market.oracles import (
    discounted_call_payoff,
    mean_and_standard_error,
    merton_call,
    merton_series_call,
    years,
)

DAYS = 182
N_STEPS = 91
JUMPS = {"volatility": 0.2, "jump_intensity": 1.0, "jump_mean": -0.1, "jump_std": 0.15}


@pytest.fixture(scope="module")
def pricing_paths():
    model = MertonJumpDiffusion(spot=100.0, mu=0.1, rate=0.03, dividend=0.01, **JUMPS)
    maturity = years(DAYS)
    return model, model.simulate(100_000, N_STEPS, maturity / N_STEPS, np.random.default_rng(12), measure="pricing")


@pytest.mark.parametrize("strike", [85.0, 100.0, 115.0])
def test_call_price_matches_quantlib(pricing_paths, strike: float) -> None:
    model, paths = pricing_paths
    payoff = discounted_call_payoff(paths.spot[:, -1], strike, model.rate, paths.maturity)
    mean, standard_error = mean_and_standard_error(payoff)
    expected = merton_call(model.spot, strike, DAYS, rate=model.rate, dividend=model.dividend, **JUMPS)
    assert abs(mean - expected) < 3.0 * standard_error, (mean, expected, standard_error)


@pytest.mark.parametrize("strike", [70.0, 100.0, 130.0])
def test_quantlib_oracle_is_merton_series(strike: float) -> None:
    """The oracle (QuantLib Bates with a frozen variance) agrees with Merton's own series."""
    quantlib = merton_call(100.0, strike, DAYS, rate=0.03, dividend=0.01, **JUMPS)
    series = merton_series_call(100.0, strike, years(DAYS), rate=0.03, dividend=0.01, **JUMPS)
    assert quantlib == pytest.approx(series, rel=1e-6, abs=1e-8)


def test_jump_counts(pricing_paths) -> None:
    model, paths = pricing_paths
    counts = paths.extras["jump_count"]
    assert counts.shape == (paths.n_paths, paths.n_steps)
    assert np.issubdtype(counts.dtype, np.integer) and counts.min() >= 0
    per_path = counts.sum(axis=1)
    expected = model.jump_intensity * paths.maturity
    assert abs(per_path.mean() - expected) < 3.0 * np.sqrt(expected / per_path.size)
    np.testing.assert_array_equal(paths.variance, model.volatility**2)


def test_mean_jump() -> None:
    model = MertonJumpDiffusion(jump_mean=-0.1, jump_std=0.15)
    assert model.mean_jump == pytest.approx(np.exp(-0.1 + 0.5 * 0.15**2) - 1.0, rel=1e-14)


def test_no_volatility_no_jumps_is_deterministic() -> None:
    model = MertonJumpDiffusion(
        spot=50.0, volatility=0.0, jump_intensity=0.0, jump_mean=0.2, jump_std=0.3, mu=0.06, rate=0.02
    )
    paths = model.simulate(5, 100, 0.01, np.random.default_rng(3))
    np.testing.assert_allclose(paths.spot, np.broadcast_to(50.0 * np.exp(0.06 * paths.time), (5, 101)), rtol=1e-12)
    np.testing.assert_array_equal(paths.extras["jump_count"], 0)


def test_pure_jumps_move_only_at_jumps() -> None:
    """σ = 0, δ = 0, zero drift: every step is the compensator drift plus N·m."""
    model = MertonJumpDiffusion(volatility=0.0, jump_intensity=5.0, jump_mean=0.05, jump_std=0.0)
    dt = 0.01
    paths = model.simulate(200, 50, dt, np.random.default_rng(4))
    log_steps = np.diff(np.log(paths.spot), axis=1)
    expected = -5.0 * model.mean_jump * dt + 0.05 * paths.extras["jump_count"]
    np.testing.assert_allclose(log_steps, expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize(
    ("field", "value"),
    [("volatility", -0.2), ("jump_intensity", -1.0), ("jump_std", -0.1), ("jump_mean", np.nan)],
)
def test_bad_parameters_name_the_field(field: str, value: float) -> None:
    with pytest.raises(ValueError, match=field):
        MertonJumpDiffusion(**{field: value})
