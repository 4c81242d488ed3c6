"""Every metric on a tiny hand-computed example; VaR and CVaR against the Rockafellar–Uryasev minimum."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch
from scipy.optimize import minimize_scalar

from hedgegym.agents.deep_hedging import _risk as deep_hedging_risk
from hedgegym.env.rewards import Reward
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
    # VaR is the lower quantile: the ⌈αN⌉-th smallest loss (losses −9, …, 10: the 10th smallest is 0, the 19th 9)
    assert value_at_risk(pnl, 0.5) == 0.0 and value_at_risk(pnl, 0.95) == 9.0 and value_at_risk(pnl, 0.96) == 10.0


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


def rockafellar_uryasev_minimum(losses: np.ndarray, level: float) -> float:
    """min_w w + mean((L − w)⁺)/(1 − α) of one sample, by brute force: the objective is convex and piecewise
    linear with kinks at the sample values, so its minimum is attained at one of them (Rockafellar & Uryasev 2000)."""
    w = losses[:, None]
    objective = w[:, 0] + np.maximum(losses[None, :] - w, 0.0).mean(axis=1) / (1.0 - level)
    return float(objective.min())


LEVELS_AND_SIZES = [
    (0.95, 30),  # (1 − α)N = 1.5: the case
    (0.95, 20), (0.9, 20), (0.99, 300), (0.75, 8),  # (1 − α)N an integer (1, 2, 3, 2)
    (0.99, 30), (0.999, 7), (0.95, 1), (0.5, 1),  # (1 − α)N < 1: the largest loss
    (0.95, 101), (0.99, 1234), (0.6, 7), (0.97, 2),
]


@pytest.mark.parametrize(("level", "n"), LEVELS_AND_SIZES)
def test_cvar_is_the_rockafellar_uryasev_minimum(level, n):
    rng = np.random.default_rng(n)
    samples = [rng.normal(0.0, 100.0, n), rng.standard_t(2.0, n) * 50.0, np.round(rng.normal(0.0, 3.0, n))]  # ties
    for pnl in samples:
        expected = rockafellar_uryasev_minimum(-pnl, level)
        assert cvar(pnl, level) == pytest.approx(expected, rel=1e-12, abs=1e-12)
        # VaR is a minimiser of the same objective, and scipy's bounded search agrees on the minimum
        var = value_at_risk(pnl, level)
        assert var + np.maximum(-pnl - var, 0.0).mean() / (1.0 - level) == pytest.approx(expected, rel=1e-12)
        found = minimize_scalar(lambda w, loss=-pnl: w + np.maximum(loss - w, 0.0).mean() / (1.0 - level),
                                bounds=(np.min(-pnl) - 1.0, np.max(-pnl) + 1.0), method="bounded",
                                options={"xatol": 1e-12})
        assert found.fun == pytest.approx(expected, rel=1e-5)  # its x-tolerance times the slope 1/(1 − α)


def test_cvar_weights_the_boundary_path_fractionally():
    # N = 30, α = 0.95: (1 − α)N = 1.5 worst paths = the worst loss plus half of the second worst
    losses = np.arange(1.0, 31.0) ** 2  # 1, 4, …, 841, 900
    expected = (900.0 + 0.5 * 841.0) / 1.5
    assert cvar(-losses, 0.95) == pytest.approx(expected, rel=1e-14)
    assert cvar(-losses, 0.95) > np.mean([841.0, 900.0])  # the mean over ⌈1.5⌉ = 2 paths understates it
    assert cvar(-losses, 0.99) == 900.0  # (1 − α)N = 0.3 < 1: all the weight on the worst path


def test_cvar_and_var_over_batch_axes():
    rng = np.random.default_rng(5)
    pnl = rng.normal(size=(4, 3, 30))
    for level in (0.95, 0.9, 0.99):
        expected = np.array([[rockafellar_uryasev_minimum(-row, level) for row in block] for block in pnl])
        assert cvar(pnl, level).shape == (4, 3)
        np.testing.assert_allclose(cvar(pnl, level), expected, rtol=1e-12)
        np.testing.assert_allclose(cvar(np.moveaxis(pnl, -1, 0), level, axis=0), expected, rtol=1e-12)
        np.testing.assert_array_equal(value_at_risk(np.moveaxis(pnl, -1, 1), level, axis=1), value_at_risk(pnl, level))
    # the bootstrap path of metric_values: rows of resampled indices, shape (B, N)
    values = metric_values(frame(pnl[0, 0]), None, 1.0, index=np.arange(30)[None, :].repeat(2, axis=0))
    np.testing.assert_allclose(values["cvar_95"], rockafellar_uryasev_minimum(-pnl[0, 0], 0.95), rtol=1e-12)


@pytest.mark.parametrize("level", [0.0, 1.0, -0.5, 1.5, float("nan"), True])
def test_cvar_and_var_reject_a_level_outside_0_1(level):
    for function in (cvar, value_at_risk):
        with pytest.raises(ValueError, match="level"):
            function(np.ones(10), level)
    with pytest.raises(ValueError, match="pnl"):
        cvar(np.ones((3, 0)), 0.95)


@pytest.mark.parametrize(("level", "n"), [(0.95, 30), (0.9, 20), (0.99, 30)])
def test_env_cvar_reward_and_deep_hedging_risk_minimised_over_the_threshold_equal_the_metric(level, n):
    # one definition: E[−r_T(w)] (env reward) and deep hedging's RU objective, minimised over w, are cvar(X)
    x = np.random.default_rng(n).normal(0.1, 1.0, n)
    thresholds = np.sort(-x)
    env = [-Reward("cvar", cvar_level=level, cvar_threshold=float(w))(x, x, terminal=True).mean() for w in thresholds]
    config = SimpleNamespace(agent=SimpleNamespace(risk_measure="cvar", cvar_level=level))
    deep = [float(deep_hedging_risk(torch.as_tensor(x), config, torch.tensor(w, dtype=torch.float64)))
            for w in thresholds]
    assert min(env) == pytest.approx(cvar(x, level), rel=1e-12)
    assert min(deep) == pytest.approx(cvar(x, level), rel=1e-12)
