"""Backtest on S&P 500 history: per-window results tied to the dates of the data, per-year totals, worst windows,
and agents trained in another market acting with their own units."""

from __future__ import annotations

import arch.data.sp500
import numpy as np
import pandas as pd
import pytest
from stable_baselines3 import PPO

from hedgegym.config import parse_config
from hedgegym.env.vec_env import BatchedHedgingVecEnv
from hedgegym.evaluation import rollout
from hedgegym.evaluation.backtest import backtest, write_backtest

BOOK = [{"strike": 100.0, "maturity": 21 / 252, "quantity": -10}]
HISTORY = {"market": {"model": "historical", "rate": 0.01}, "book": BOOK, "simulation": {"n_steps": 21},
           "costs": {"proportional": {"stock": 0.01}}, "evaluation": {"bootstrap": 50}}


def test_windows_are_the_test_period_in_date_order_with_each_hedgers_pnl(tmp_path):
    config = parse_config(HISTORY)
    result = backtest(config)
    windows = result.windows
    names = list(result.comparison.table.index)
    assert list(windows["hedger"].unique()) == names
    close = arch.data.sp500.load()["Close"]
    first = windows[windows["hedger"] == names[0]]
    assert len(first) == 35 and first["start"].is_monotonic_increasing
    for _, row in first.iloc[[0, 17, 34]].iterrows():  # the window's index move, from the data directly
        assert row["index_move"] == pytest.approx(close.loc[row["end"]] / close.loc[row["start"]] - 1, rel=1e-12)
        assert len(close.loc[row["start"]:row["end"]]) == 22
    for evaluation in result.comparison.evaluations:
        mine = windows[windows["hedger"] == evaluation.name]
        np.testing.assert_array_equal(mine["pnl"].to_numpy(), evaluation.per_path["pnl"].to_numpy())
    # per-year totals add up to the whole, and the years are those of the test period
    totals = result.per_year.groupby("hedger")["total_pnl"].sum()
    np.testing.assert_allclose(totals.loc[names].to_numpy(), windows.groupby("hedger")["pnl"].sum().loc[names])
    assert set(result.per_year["year"]) == {2016, 2017, 2018}
    # the worst windows: the lowest P&Ls of each hedger, ascending, named by their dates
    worst = result.worst[result.worst["hedger"] == "delta"]
    expected = np.sort(windows.loc[windows["hedger"] == "delta", "pnl"].to_numpy())[:5]
    np.testing.assert_array_equal(worst["pnl"].to_numpy(), expected)
    assert (worst["rank"] == np.arange(1, 6)).all() and isinstance(worst["start"].iloc[0], pd.Timestamp)
    written = write_backtest(result, tmp_path / "out")
    assert {p.name for p in written} >= {"results.md", "windows.csv", "per_year.csv", "worst.md", "backtest.md",
                                         "pnl_through_time.png"}
    assert "2016-01-04" in (tmp_path / "out" / "backtest.md").read_text()


def test_an_agent_trained_on_gbm_acts_with_its_own_features_and_scales_on_history():
    gbm = parse_config({**HISTORY, "market": {"model": "gbm", "volatility": 0.3, "rate": 0.01}, "name": "gbm_1m",
                        "env": {"action": "delta_band", "position_limit": 0.1}})
    model = PPO("MlpPolicy", BatchedHedgingVecEnv(gbm, n_envs=4, seed=0), n_steps=8, batch_size=32, seed=0)
    model.name, model.training_config = "ppo_gbm", gbm
    history = parse_config(HISTORY)
    core = rollout._core_for(model, history, n_envs=3)
    assert core.action == "delta_band"  # the agent's env section, not the history config's (absolute)
    assert core.scales.volatility == pytest.approx(0.3)  # its training market's units
    result = backtest(history, [model])
    assert "ppo_gbm" in result.comparison.table.index
    assert np.isfinite(result.windows.loc[result.windows["hedger"] == "ppo_gbm", "pnl"]).all()


def test_an_agent_on_another_book_or_grid_is_refused_by_name():
    trained = parse_config({**HISTORY, "market": {"model": "gbm"}, "simulation": {"n_steps": 21},
                            "book": [{"strike": 105.0, "maturity": 21 / 252, "quantity": -10}]})
    with pytest.raises(ValueError, match=r"agent: trained with book .* cannot act with book"):
        rollout.check_agent_fits(trained, parse_config(HISTORY))


def test_backtest_needs_a_historical_market():
    with pytest.raises(ValueError, match=r"market\.model must be 'historical' for a backtest"):
        backtest(parse_config({**HISTORY, "market": {"model": "gbm"}}))


def test_backtest_command_writes_the_report(tmp_path):
    from pathlib import Path

    from typer.testing import CliRunner

    from hedgegym.cli import app

    config = Path(__file__).resolve().parents[2] / "configs" / "sp500_call_1m.yaml"
    result = CliRunner().invoke(app, ["backtest", "--config", str(config), "-o", str(tmp_path / "bt"), "--worst", "2"])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "backtest on sp500 2016-01-01 .. 2018-12-31" in text and "× 35 windows" in text
    assert (tmp_path / "bt" / "pnl_through_time.png").stat().st_size > 10_000
    refused = CliRunner().invoke(app, ["backtest", "--config", str(config.parent / "gbm_call.yaml")])
    assert refused.exit_code == 2 and "must be 'historical' for backtest" in " ".join(refused.output.split())


def test_tuned_rules_are_tuned_on_the_validation_windows_only(monkeypatch):
    """--tune: the rules' parameters are chosen on every 2013-2015 window (the validation period), never on the test
    windows."""
    from hedgegym.evaluation import tuning

    seen = []
    original = tuning.test_paths

    def spy(config, n_paths, seed, stream=rollout.TEST_STREAM):
        paths = original(config, n_paths, seed, stream)
        seen.append((stream, config.market.build().dates[paths.extras["day"][[0, -1], [0, -1]]]))
        return paths

    monkeypatch.setattr(tuning, "test_paths", spy)
    result = backtest(parse_config(HISTORY), tune=True)
    assert any(name.endswith("_tuned") for name in result.comparison.table.index)
    assert seen and all(stream == rollout.VALIDATION_STREAM for stream, _ in seen)
    first, last = seen[0][1]
    assert first >= pd.Timestamp("2013-01-01") and last <= pd.Timestamp("2015-12-31")


def test_a_heston_agents_vega_features_are_converted_to_its_variance_units_on_history():
    """Heston's vega is ∂V/∂v, history's (Black–Scholes on the proxy) ∂V/∂σ = 2σ ∂V/∂v: the feature's unit is
    converted at history's reference volatility."""
    heston = parse_config({**HISTORY, "market": {"model": "heston", "initial_variance": 0.045,
                                                 "long_run_variance": 0.045, "rate": 0.01}, "name": "heston_1m"})
    model = PPO("MlpPolicy", BatchedHedgingVecEnv(heston, n_envs=2, seed=0), n_steps=4, batch_size=8, seed=0)
    model.training_config = heston
    history = parse_config(HISTORY)
    core = rollout._core_for(model, history, n_envs=2)
    sigma_reference = history.market.build().reference_volatility
    assert core.scales.vega_unit == pytest.approx(0.045 / (2 * sigma_reference), rel=1e-12)
    # same state, same feature: Heston's ∂V/∂v · v₀ and history's ∂V/∂σ · v₀ / (2σ) agree where σ = σ_r
    from hedgegym.pricing import black_scholes

    tau, v0 = 21 / 252, 0.045
    dv_dsigma = float(black_scholes.vega(100.0, 100.0, tau, sigma_reference, 0.01))
    assert dv_dsigma * core.scales.vega_unit == pytest.approx(dv_dsigma / (2 * sigma_reference) * v0, rel=1e-12)


def test_a_deep_hedger_on_another_book_is_refused():
    import torch

    from hedgegym.agents.deep_hedging import DeepHedger, DeepHedgingPolicy
    from hedgegym.env.core import HedgingCore

    trained = parse_config({**HISTORY, "market": {"model": "gbm"},
                            "book": [{"strike": 95.0, "maturity": 21 / 252, "quantity": -10}]})
    core = HedgingCore(trained, n_envs=1)
    policy = DeepHedgingPolicy(len(core.feature_names), core.action_space.shape[0], [8], core.position_scale)
    hedger = DeepHedger(policy.to(torch.float64), trained)
    with pytest.raises(ValueError, match="agent: trained with book"):
        rollout.evaluate(hedger, parse_config(HISTORY))


def test_every_hedger_gets_its_own_colour_and_line_style():
    """matplotlib's default cycle repeats after 10 colours: backtest --tune and compare --tune show 11 or more."""
    from hedgegym.evaluation.reports import line_styles

    for n in (3, 11, 25):
        styles = line_styles(n)
        assert len({(tuple(s["color"]), s["linestyle"]) for s in styles}) == n
