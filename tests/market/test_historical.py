"""The historical market against the data itself: arch's bundled S&P 500 closes and VIX, read here directly."""

from __future__ import annotations

import re
from pathlib import Path

import arch.data.sp500
import arch.data.vix
import numpy as np
import pandas as pd
import pytest

from hedgegym.config import ConfigError, parse_config
from hedgegym.evaluation import rollout
from hedgegym.market import HistoricalMarket

DAY = 1.0 / 252.0


def raw_closes() -> pd.Series:
    """The S&P 500 closes as arch ships them (the oracle: not hedgegym's loader)."""
    return arch.data.sp500.load()["Close"]


def window_dates(market: HistoricalMarket, paths) -> list[pd.DatetimeIndex]:
    return [market.dates[row] for row in paths.extras["day"]]


def test_a_window_is_the_closes_times_the_scale():
    market = HistoricalMarket(spot=100.0, volatility_proxy="garch")
    paths = market.for_purpose("test").windows(21, DAY)
    close = raw_closes()
    for row in (0, 7, paths.n_paths - 1):
        dates = market.dates[paths.extras["day"][row]]
        expected = close.loc[dates].to_numpy()
        np.testing.assert_allclose(paths.spot[row], expected * (100.0 / expected[0]), rtol=1e-14, atol=0)
        assert dates[0] >= pd.Timestamp("2016-01-01") and dates[-1] <= pd.Timestamp("2018-12-31")
    # consecutive trading days: the next window starts stride days after this one
    assert (np.diff(paths.extras["day"][:, 0]) == market.stride).all()
    assert (np.diff(paths.extras["day"], axis=1) == 1).all()


def test_the_first_test_window_is_january_2016():
    paths = HistoricalMarket().for_purpose("test").windows(21, DAY)
    close = raw_closes()
    first = close.loc["2016-01-04":].iloc[:22]  # 2016-01-04 is the first trading day of 2016
    np.testing.assert_allclose(paths.spot[0], 100.0 * first.to_numpy() / first.iloc[0], rtol=1e-14)
    # windows one stride apart, wholly inside 2016-2018: 35 of them for 21-day windows
    last_start = len(close.loc["2016-01-01":"2018-12-31"]) - 22
    assert paths.n_paths == last_start // 21 + 1 == 35


def test_no_test_or_validation_window_shares_a_day_with_a_train_window():
    market = HistoricalMarket()
    sets = {}
    for period in ("train", "validation", "test"):
        served = market.for_purpose(period)
        drawn = served.simulate(5000, 21, DAY, np.random.default_rng(0)).extras["day"]
        listed = served.windows(21, DAY).extras["day"]
        sets[period] = set(np.concatenate([drawn.ravel(), listed.ravel()]).tolist())
        start, end = (pd.Timestamp(d) for d in getattr(market, period))
        days = market.dates[sorted(sets[period])]
        assert days[0] >= start and days[-1] <= end
    assert not sets["train"] & sets["validation"] and not sets["train"] & sets["test"]
    assert not sets["validation"] & sets["test"]
    assert max(sets["train"]) < min(sets["validation"]) and max(sets["validation"]) < min(sets["test"])


def test_training_draws_cover_the_period_uniformly_and_repeat_with_the_seed():
    market = HistoricalMarket()
    first = market.simulate(20000, 21, DAY, np.random.default_rng(3))
    again = market.simulate(20000, 21, DAY, np.random.default_rng(3))
    np.testing.assert_array_equal(first.spot, again.spot)
    starts = market.window_starts(21)
    counts = np.bincount(np.searchsorted(starts, first.extras["day"][:, 0]) * 4 // starts.size, minlength=4)
    assert counts.min() > 0.9 * 5000  # four quarters of the start range, 5,000 expected each


def test_vix_proxy_is_the_vix_over_100():
    market = HistoricalMarket(volatility_proxy="vix", train=("2014-01-03", "2016-12-30"),
                              validation=("2017-01-03", "2017-12-29"), test=("2018-01-02", "2018-12-31"))
    paths = market.for_purpose("test").windows(21, DAY)
    level = arch.data.vix.load()["vix"]
    dates = market.dates[paths.extras["day"][3]]
    np.testing.assert_allclose(np.sqrt(paths.variance[3]), level.loc[dates].to_numpy() / 100.0, rtol=1e-14)


def test_vix_else_garch_uses_the_vix_from_2014_and_garch_fitted_on_train_before():
    market = HistoricalMarket()
    level = arch.data.vix.load()["vix"]
    test_windows = market.for_purpose("test").windows(21, DAY)
    dates = market.dates[test_windows.extras["day"][0]]
    np.testing.assert_allclose(np.sqrt(test_windows.variance[0]), level.loc[dates] / 100.0, rtol=1e-14)
    # 2013 (validation) has no VIX in the data: the GJR-GARCH forecast, parameters from the train period only
    from arch import arch_model

    close = raw_closes()
    returns = 100.0 * np.log(close).diff().dropna()
    model = arch_model(returns, mean="Constant", vol="GARCH", p=1, o=1, q=1, dist="t")
    fitted = model.fit(disp="off", last_obs="2013-01-01")
    forecast = model.fix(fitted.params).forecast(horizon=1, start=0, reindex=False).variance["h.1"]
    validation = market.for_purpose("validation").windows(21, DAY)
    dates = market.dates[validation.extras["day"][0]]
    expected = np.sqrt(252.0 * forecast.loc[dates].to_numpy()) / 100.0
    np.testing.assert_allclose(np.sqrt(validation.variance[0]), expected, rtol=1e-10)


def test_realised_proxy_is_the_trailing_root_mean_square_return():
    market = HistoricalMarket(volatility_proxy="realised", realised_window=10, train=("2000-01-03", "2012-12-31"))
    paths = market.for_purpose("test").windows(5, DAY)
    close = raw_closes().to_numpy()
    day = int(paths.extras["day"][2, 3])
    returns = np.diff(np.log(close[day - 10:day + 1]))
    assert np.sqrt(paths.variance[2, 3]) == pytest.approx(np.sqrt(252.0 * np.mean(returns**2)), rel=1e-12)


def test_test_paths_are_every_test_window_and_validation_paths_every_validation_window():
    config = parse_config({"market": {"model": "historical"}, "simulation": {"n_steps": 21},
                           "book": [{"strike": 100.0, "maturity": 21 / 252, "quantity": -10}]})
    market = config.market.build()
    test = rollout.test_paths(config, 10, 0, stream=rollout.TEST_STREAM)
    np.testing.assert_array_equal(test.spot, market.for_purpose("test").windows(21, DAY).spot)
    validation = rollout.test_paths(config, 10, 0, stream=rollout.VALIDATION_STREAM)
    np.testing.assert_array_equal(validation.spot, market.for_purpose("validation").windows(21, DAY).spot)
    with pytest.raises(ValueError, match=r"stream must be 1 \(test\) or 3 \(validation\)"):
        rollout.test_paths(config, 10, 0, stream=2)


@pytest.mark.parametrize(
    ("fields", "message"),
    [({"series": "ftse"}, "series must be one of sp500, nasdaq"),
     ({"mu": 0.05}, "mu must be 0 for a historical market"),
     ({"period": "future"}, "period must be one of train, validation, test"),
     ({"stride": 0}, "stride must be an integer >= 1"),
     ({"volatility_proxy": "atm"}, "volatility_proxy must be one of"),
     ({"test": ("2019-01-01", "2019-06-30")}, "test must lie within the sp500 data"),
     ({"validation": ("2012-06-01", "2015-12-31")}, "validation must start after train ends"),
     ({"train": ("2012-12-31", "2012-01-01")}, "train must end on or after its start"),
     ({"train": ("yesterday", "2012-12-31")}, "train.0. must be a date"),
     ({"volatility_proxy": "vix"}, "has no value on 1999-01-04, inside train")],
)
def test_bad_fields_are_refused_by_name(fields, message):
    with pytest.raises(ValueError, match=message):
        HistoricalMarket(**fields)


def test_a_period_shorter_than_a_window_is_refused():
    with pytest.raises(ValueError, match="holds 5 trading days, fewer than a window of 21 steps"):
        HistoricalMarket(test=("2018-12-24", "2018-12-31")).for_purpose("test").windows(21, DAY)


def test_config_checks_the_trading_day_clock_and_the_fixed_test_set():
    book = [{"strike": 100.0, "maturity": 21 / 252, "quantity": -10}]
    with pytest.raises(ConfigError, match=r"simulation.n_steps must be 252 × the horizon in years .* got 63"):
        parse_config({"market": {"model": "historical"}, "book": book, "simulation": {"n_steps": 63}})
    config = parse_config({"market": {"model": "historical", "test": ["2017-01-03", "2018-12-31"]}, "book": book,
                           "simulation": {"n_steps": 21}})
    assert config.market.build().test == ("2017-01-03", "2018-12-31")


def test_compare_refuses_path_counts_on_history(tmp_path):
    """The held-out sets are fixed windows: --paths and --validation-paths would be ignored, so they are refused."""
    from typer.testing import CliRunner

    from hedgegym.cli import app

    config = Path(__file__).resolve().parents[2] / "configs" / "sp500_call_1m.yaml"
    for flags, name in ((["--paths", "100"], "--paths"), (["--tune", "--validation-paths", "100"],
                                                          "--validation-paths")):
        result = CliRunner().invoke(app, ["compare", "--config", str(config), "-o", str(tmp_path / "x"), *flags])
        assert result.exit_code == 2
        assert f"{name} does not apply to a historical market" in " ".join(result.output.split())


def test_check_shows_the_data_and_the_garch_fit_with_standard_errors():
    """No pricing measure to check a pricer against: check describes the periods, the proxy and the fit."""
    from typer.testing import CliRunner

    from hedgegym.cli import app
    from hedgegym.market import GarchMarket

    configs = Path(__file__).resolve().parents[2] / "configs"
    result = CliRunner().invoke(app, ["check", "--config", str(configs / "sp500_call_1m.yaml")])
    text = " ".join(result.output.split())
    assert result.exit_code == 0, result.output
    assert "no pricing measure" in text and "test: 2016-01-01 .. 2018-12-31: 733 windows of 21 steps (35 one" in text
    result = CliRunner().invoke(app, ["check", "--config", str(configs / "sp500_ppo_garch.yaml")])
    assert result.exit_code == 0, result.output
    fit = GarchMarket().fit
    row = rf"gamma\[1\]\s+│\s+{fit.params['gamma[1]']:.6g}\s+│\s+{fit.std_err['gamma[1]']:.3g}\s+│"
    assert re.search(row, result.output), result.output


def test_garch_proxy_is_the_gjr_recursion_on_returns_up_to_each_close():
    """By hand: h_{d+1} = ω + (α + γ 1[ε_d < 0]) ε_d² + β h_d with the fitted parameters, ε_d = r_d − μ; from any
    start the recursion forgets it (β^n), so in 2013 it must equal the proxy at each close to rounding."""
    market = HistoricalMarket(volatility_proxy="garch")
    from hedgegym.market.series import fit_garch, parse_date

    p = fit_garch("sp500", parse_date("a", "1999-01-04"), parse_date("b", "2012-12-31")).params
    returns = (100.0 * np.log(raw_closes()).diff()).iloc[1:]
    h = np.empty(len(returns) + 1)
    h[0] = 1.0
    shocks = returns.to_numpy() - p["mu"]
    for d, shock in enumerate(shocks):
        h[d + 1] = p["omega"] + (p["alpha[1]"] + p["gamma[1]"] * (shock < 0)) * shock**2 + p["beta[1]"] * h[d]
    by_hand = pd.Series(np.sqrt(252.0 * h[1:]) / 100.0, index=returns.index)  # known at the close of day d
    validation = market.for_purpose("validation").windows(21, DAY)
    dates = market.dates[validation.extras["day"][5]]
    np.testing.assert_allclose(np.sqrt(validation.variance[5]), by_hand.loc[dates].to_numpy(), rtol=1e-9)
