"""The bootstrap market against arch's bootstrap and the data's return distribution."""

from __future__ import annotations

import arch.data.sp500
import numpy as np
import pytest
from arch.bootstrap import StationaryBootstrap, optimal_block_length

from hedgegym.market import BootstrapMarket
from hedgegym.market.series import proxy_volatility

DAY = 1.0 / 252.0


def sample_returns(start: str = "1999-01-04", end: str = "2012-12-31") -> np.ndarray:
    """r_{d+1} for every day d of the sample whose next day is in it too, in percent (the oracle: arch's data)."""
    close = arch.data.sp500.load()["Close"].loc[start:end].to_numpy()
    return 100.0 * np.diff(np.log(close))


def test_block_length_is_archs_optimal_block_length_of_the_squared_returns():
    market = BootstrapMarket()
    expected = optimal_block_length(sample_returns() ** 2)["stationary"].iloc[0]
    assert market.mean_block_length == pytest.approx(expected, rel=1e-12)
    assert BootstrapMarket(block_length=5).mean_block_length == 5.0


def test_paths_are_archs_stationary_bootstrap_cut_into_windows():
    market = BootstrapMarket(block_length=10.0)
    n_steps = 20
    paths = market.simulate(400, n_steps, DAY, np.random.default_rng(7))
    returns = sample_returns()
    indices = StationaryBootstrap(10.0, np.arange(returns.size), seed=np.random.default_rng(7)).update_indices()
    per_resample = returns.size // (n_steps + 1)
    np.testing.assert_array_equal(paths.extras["row"][:per_resample],
                                  indices[: per_resample * (n_steps + 1)].reshape(per_resample, n_steps + 1))
    rows = paths.extras["row"]
    np.testing.assert_allclose(100.0 * np.diff(np.log(paths.spot), axis=1), returns[rows[:, :-1]], rtol=1e-9,
                               atol=1e-12)
    assert (paths.spot[:, 0] == market.spot).all()
    # a new block starts with probability 1/10 at each step
    continued = np.mean(np.diff(rows, axis=1) == 1)
    assert continued == pytest.approx(0.9, abs=0.01)


@pytest.mark.parametrize("method", ["stationary", "circular"])
def test_bootstrap_keeps_the_mean_and_variance_of_the_returns(method):
    market = BootstrapMarket(method=method)
    paths = market.simulate(60_000, 21, DAY, np.random.default_rng(1))
    simulated = 100.0 * np.diff(np.log(paths.spot), axis=1)
    returns = sample_returns()
    path_means = simulated.mean(axis=1)
    path_squares = ((simulated - returns.mean()) ** 2).mean(axis=1)
    n = path_means.size
    assert abs(path_means.mean() - returns.mean()) < 4 * path_means.std() / np.sqrt(n)
    assert abs(path_squares.mean() - returns.var()) < 4 * path_squares.std() / np.sqrt(n)


def test_each_return_keeps_the_volatility_quoted_the_evening_before():
    market = BootstrapMarket(volatility_proxy="garch")
    sigma, returns = market.rows()
    # row d: the proxy at the close of day d (every sample day but the last) and the return from d to d + 1
    proxy = proxy_volatility("sp500", "garch", "1999-01-04", "2012-12-31").loc["1999-01-04":"2012-12-31"]
    np.testing.assert_array_equal(sigma, proxy.to_numpy()[:-1])
    paths = market.simulate(50, 10, DAY, np.random.default_rng(2))
    np.testing.assert_allclose(paths.variance, sigma[paths.extras["row"]] ** 2, rtol=1e-15)
    np.testing.assert_allclose(returns, sample_returns(), rtol=0, atol=1e-12)


def test_simulation_repeats_with_the_seed():
    market = BootstrapMarket(method="circular", block_length=20)
    first = market.simulate(300, 21, DAY, np.random.default_rng(4)).spot
    np.testing.assert_array_equal(first, market.simulate(300, 21, DAY, np.random.default_rng(4)).spot)
    assert not np.array_equal(first, market.simulate(300, 21, DAY, np.random.default_rng(5)).spot)


@pytest.mark.parametrize(
    ("fields", "message"),
    [({"method": "moving"}, "method must be one of stationary, circular"),
     ({"block_length": 0}, "block_length must be a number of trading days > 0 or null"),
     ({"block_length": True}, "block_length must be"),
     ({"mu": 0.02}, "mu must be 0 for a bootstrap market"),
     ({"volatility_proxy": "vix"}, "has no value on some days of the sample"),
     ({"sample_start": "2012-06-01"}, "must hold at least 250 daily returns")],
)
def test_bad_fields_are_refused_by_name(fields, message):
    with pytest.raises(ValueError, match=message):
        BootstrapMarket(**fields)

