"""Every metric on a tiny hand-computed example."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hedgegym.evaluation.metrics import cvar, max_drawdown, metric_values, summarize, value_at_risk


def frame(pnl, cost=None):
    n = len(pnl)
    return pd.DataFrame({"pnl": pnl, "cost": cost if cost is not None else np.zeros(n), "turnover": np.ones(n),
                         "n_trades": np.full(n, 3.0), "max_drawdown": np.arange(n, dtype=float)})


def test_max_drawdown_of_a_hand_path():
    # wealth 0, 5, 2, 7, 1, 3: peaks 0, 5, 5, 7, 7, 7 → falls 0, 0, 3, 0, 6, 4 → 6
    wealth = np.array([0.0, 5.0, 2.0, 7.0, 1.0, 3.0])[:, None]
    assert max_drawdown(wealth)[0] == 6.0


def test_var_and_cvar_of_twenty_outcomes():
    pnl = np.arange(-10.0, 10.0)  # losses 10, 9, …, −9
    # worst 5% of 20 paths = the single worst loss 10; worst 10% = mean(10, 9)
    assert cvar(pnl, 0.95) == 10.0
    assert cvar(pnl, 0.90) == 9.5
    assert value_at_risk(pnl, 0.5) == pytest.approx(np.quantile(-pnl, 0.5))


def test_rmse_cbr_y_sharpe_and_entropic_by_hand():
    pnl = np.array([-3.0, -1.0, 1.0, 3.0])  # mean 0, sd √(20/3), RMSE √5
    cost = np.array([1.0, 1.0, 2.0, 2.0])  # mean cost 1.5
    values = metric_values(frame(pnl, cost), no_hedge_rmse=5.0, value_scale=1.0)
    assert values["rmse"] == pytest.approx(np.sqrt(5.0))
    assert values["cbr"] == pytest.approx(1.5 / (5.0 - np.sqrt(5.0)))
    assert values["y"] == pytest.approx(0.0 + 1.5 * np.sqrt(20.0 / 3.0))
    assert values["sharpe"] == pytest.approx(0.0)
    assert values["entropic"] == pytest.approx(np.log(np.mean(np.exp(-pnl))))
    assert values["mean_cost"] == 1.5 and values["n_trades"] == 3.0
    assert values["max_drawdown"] == 1.5 and values["max_drawdown_worst"] == 3.0
    # a hedge that removes no risk has no cost-benefit ratio
    assert np.isnan(metric_values(frame(pnl, cost), no_hedge_rmse=1.0, value_scale=1.0)["cbr"])


def test_bootstrap_interval_brackets_the_point_value():
    rng = np.random.default_rng(0)
    summary = summarize(frame(rng.normal(1.0, 2.0, 2_000)), no_hedge_rmse=None, value_scale=1.0, bootstrap=300)
    for name in ("mean_pnl", "std_pnl", "cvar_95"):
        assert summary[f"{name}_low"] <= summary[name] <= summary[f"{name}_high"]
    assert summary["mean_pnl_high"] - summary["mean_pnl_low"] == pytest.approx(2 * 1.96 * 2 / np.sqrt(2000), rel=0.2)
