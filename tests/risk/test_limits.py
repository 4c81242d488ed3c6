"""Risk limits: bounds, levels at their boundaries, desk units, per-path breach statistics, the evaluation's and the
env's use of them, the config section, and the files and PNG the commands write."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from hedgegym.baselines import DeltaHedger, NoHedge
from hedgegym.cli import app
from hedgegym.config import ConfigError, parse_config
from hedgegym.env.hedging_env import HedgingEnv
from hedgegym.evaluation.metrics import cvar, max_drawdown, value_at_risk
from hedgegym.evaluation.rollout import evaluate
from hedgegym.instruments import Book
from hedgegym.market import GeometricBrownianMotion, Heston
from hedgegym.risk.limits import (
    ALERT,
    BREACH,
    WITHIN,
    GreekLimit,
    LimitMonitor,
    Limits,
    desk_units,
    limit_markdown,
    limit_table,
)
from hedgegym.risk.stress import portfolio_greeks

GBM_CALL = {
    "name": "limits_gbm_call",
    "market": {"model": "gbm", "spot": 100.0, "volatility": 0.2, "mu": 0.08, "rate": 0.02},
    "book": [{"strike": 100.0, "maturity": 0.25, "call": True, "quantity": -10}],
    "simulation": {"n_paths": 100, "n_steps": 21, "seed": 0},
    "evaluation": {"n_paths": 200, "bootstrap": 0},
}


def _config(limits: dict, **extra: object):
    return parse_config({**GBM_CALL, "limits": limits, **extra})


# ------------------------------------------------------------------------------------------ bounds and levels
def test_the_bound_is_the_tightest_of_the_limits_set():
    limit = GreekLimit(absolute=500.0, capital_fraction=0.001, relative=0.25)
    book = np.array([100.0, -4_000.0, 10_000.0])
    # absolute 500; 0.1% of 1,000,000 = 1,000; a quarter of |book|: 25, 1,000, 2,500
    np.testing.assert_array_equal(limit.bound(book, capital=1_000_000.0), [25.0, 500.0, 500.0])
    np.testing.assert_array_equal(GreekLimit(capital_fraction=0.002).bound(book, 1e5), [200.0] * 3)
    with pytest.raises(ValueError, match=r"capital_fraction needs limits\.capital"):
        GreekLimit(capital_fraction=0.002).bound(book, None)


def test_levels_at_their_boundaries():
    limits = Limits({"delta": GreekLimit(absolute=500.0, alert=0.8)})
    net = np.array([0.0, 400.0, -400.0001, 500.0, -500.001, 10_000.0])
    level, bound = limits.levels({"delta": net}, {"delta": np.full(6, -5_000.0)})["delta"]
    # exactly at the alert level: within; exactly at the limit: alert (breach is strictly beyond)
    assert level.tolist() == [WITHIN, WITHIN, ALERT, ALERT, BREACH, BREACH]
    np.testing.assert_array_equal(bound, 500.0)


def test_a_hedge_that_cancels_a_greek_does_not_breach_a_zero_bound_through_round_off():
    limits = Limits({"gamma": GreekLimit(relative=0.1)})
    book = np.array([-40.0, 0.0])
    # a gamma hedge leaves 1e-14 of round-off where the bound is 4; a zero book and zero net: bound 0, within
    level, _ = limits.levels({"gamma": np.array([1e-14, 0.0])}, {"gamma": book})["gamma"]
    assert level.tolist() == [WITHIN, WITHIN]
    level, _ = limits.levels({"gamma": np.array([4.5, 1e-3])}, {"gamma": book})["gamma"]
    assert level.tolist() == [BREACH, BREACH]


def test_breach_count_sums_over_greeks():
    limits = Limits({"delta": GreekLimit(absolute=1.0), "vega": GreekLimit(absolute=2.0)})
    count = limits.breach_count({"delta": np.array([0.5, 3.0, 3.0]), "vega": np.array([0.0, 1.0, -5.0])},
                                {"delta": np.zeros(3), "vega": np.zeros(3)})
    assert count.tolist() == [0, 1, 2]


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: GreekLimit(), "at least one of absolute, capital_fraction, relative"),
        (lambda: GreekLimit(absolute=-1.0), "absolute must be a finite number > 0"),
        (lambda: GreekLimit(relative=math.nan), "relative must be a finite number > 0"),
        (lambda: GreekLimit(absolute=1.0, alert=1.5), r"alert must be in \(0, 1\]"),
        (lambda: Limits({"rho": GreekLimit(absolute=1.0)}), "unknown Greek 'rho'"),
        (lambda: Limits({"vega": GreekLimit(capital_fraction=0.01)}), "limits.vega.capital_fraction needs"),
        (lambda: Limits(var_95=0.0), "limits.var_95 must be a finite number > 0"),
        (lambda: Limits(penalty=-0.1), "limits.penalty must be a finite number >= 0"),
        (lambda: Limits(var_95=100.0, penalty=0.5), "limits.penalty needs at least one Greek limit"),
    ],
)
def test_bad_limits_are_refused_by_name(build, message):
    with pytest.raises(ValueError, match=message):
        build()


# ------------------------------------------------------------------------------------------ units
def test_desk_units_of_gbm_greeks():
    assert desk_units("delta", -523.0, GeometricBrownianMotion()) == -523.0
    assert desk_units("vega", 1_210.0, GeometricBrownianMotion()) == pytest.approx(12.1)  # per vol point
    assert desk_units("theta", -4.31 * 252, GeometricBrownianMotion()) == pytest.approx(-4.31)  # per trading day
    with pytest.raises(ValueError, match="greek must be one of"):
        desk_units("rho", 1.0, GeometricBrownianMotion())


def test_heston_vega_per_vol_point_matches_a_repricing_at_one_more_point_of_sqrt_v0():
    """At inception (v = v₀) the desk vega ∂V/∂v · 2√v₀ · 0.01 is the change of the Heston price when √v₀ rises by
    0.01 (central difference); later nodes use the same unit, σ₀ = √v₀, whatever the simulated variance."""
    model = Heston(spot=100.0, initial_variance=0.0625, long_run_variance=0.04, mean_reversion=1.5, vol_of_vol=0.4,
                   correlation=-0.6, rate=0.01)
    book = Book.short_straddle(100.0, 0.5, contracts=5)
    sigma, h = math.sqrt(model.initial_variance), 1e-4

    def value(s: float) -> float:
        return portfolio_greeks(dataclasses.replace(model, initial_variance=s * s), book).price

    per_point = (value(sigma + h) - value(sigma - h)) / (2 * h) * 0.01
    vega = portfolio_greeks(model, book).vega
    assert desk_units("vega", vega, model) == pytest.approx(per_point, rel=1e-5)
    # a node where the variance touched 0 keeps the unit: a limit does not switch off there
    assert desk_units("vega", np.array([vega, vega]), model)[1] == pytest.approx(per_point, rel=1e-5)


# ------------------------------------------------------------------------------------------ per-path statistics
def test_monitor_counts_entries_into_breach_and_time_in_breach_and_alert():
    limits = Limits({"delta": GreekLimit(absolute=10.0, alert=0.5)}, max_drawdown=3.0)
    monitor = LimitMonitor(limits, n_paths=2, n_steps=5)
    # path 0: breach, breach, within, breach, alert → 2 entries, 3 steps in breach, 4 in alert or breach
    # path 1: within throughout
    for step, value in enumerate([11.0, -12.0, 1.0, 20.0, 6.0]):
        monitor.observe(step, {"delta": np.array([value, 0.0])}, {"delta": np.zeros(2)})
    wealth = np.array([[0.0, 0.0], [2.0, 1.0], [-2.0, 0.0], [1.0, -1.0], [0.0, 0.5], [0.5, 1.0]])
    table = monitor.per_path(wealth)
    assert table["breaches_delta"].tolist() == [2, 0]
    assert table["steps_in_breach_delta"].tolist() == [3, 0]
    assert table["steps_in_alert_delta"].tolist() == [4, 0]
    np.testing.assert_allclose(table["time_in_breach_delta"], [0.6, 0.0])
    np.testing.assert_allclose(table["time_in_alert_delta"], [0.8, 0.0])
    # path 0 falls 4 from its peak of 2 (nodes 2: drawdown 4 > 3); path 1 at most 2
    assert table["drawdown_breached"].tolist() == [True, False]
    np.testing.assert_allclose(table["time_in_breach_drawdown"], [1 / 5, 0.0])  # of the 5 steps, as the Greeks


# ------------------------------------------------------------------------------------------ evaluation
def test_unhedged_delta_breaches_exactly_where_the_book_delta_exceeds_the_limit():
    config = _config({"delta": {"absolute": 550.0}, "gamma": {"relative": 0.5}})
    result = evaluate(NoHedge(), config, n_paths=300, seed=5)
    # without a hedge the net delta is the book's, recorded by the attribution: an independent series
    expected = (np.abs(result.series["book_delta"]) > 550.0).mean(axis=0)
    np.testing.assert_allclose(result.per_path["time_in_breach_delta"], expected)
    assert 0.0 < expected.mean() < 1.0  # the limit cuts through the paths: both cases occur
    # the net gamma is the book's own: half of it is always exceeded
    np.testing.assert_array_equal(result.per_path["time_in_breach_gamma"], 1.0)
    assert result.series["limit_net_delta"].shape == (21, 300)


def test_a_daily_delta_hedge_never_breaches_a_delta_limit_and_drawdown_limit_matches_the_drawdown():
    config = _config({"delta": {"absolute": 1.0}, "max_drawdown": 400.0})
    result = evaluate(DeltaHedger(), config, n_paths=300, seed=5)
    assert (result.per_path["breaches_delta"] == 0).all()
    expected = max_drawdown(result.series["wealth"]) > 400.0
    np.testing.assert_array_equal(result.per_path["drawdown_breached"], expected)
    assert 0 < expected.sum() < 300


def test_limit_table_against_the_metrics():
    config = _config({"delta": {"absolute": 550.0}, "var_95": 3_000.0, "cvar_95": 50_000.0})
    limits = config.build_limits()
    per_path = {h.name: evaluate(h, config, n_paths=300, seed=5).per_path for h in (NoHedge(), DeltaHedger())}
    table = limit_table(per_path, limits)
    for name, rows in per_path.items():
        pnl = rows["pnl"].to_numpy()
        assert table.loc[name, "var_95"] == pytest.approx(float(value_at_risk(pnl, 0.95)))
        assert table.loc[name, "cvar_95"] == pytest.approx(float(cvar(pnl, 0.95)))
        assert table.loc[name, "delta_paths_breached"] == pytest.approx((rows["breaches_delta"] > 0).mean())
    assert table.loc["no_hedge", "var_95_breached"] and not table.loc["delta", "var_95_breached"]
    assert not table.loc["no_hedge", "cvar_95_breached"]
    text = limit_markdown(table, limits)
    assert "| no_hedge |" in text and "(breach)" in text and "delta: |net delta| ≤ 550 shares" in text


# ------------------------------------------------------------------------------------------ env
def test_env_reports_breaches_and_subtracts_the_penalty_per_breached_limit():
    limits = {"delta": {"absolute": 50.0}, "vega": {"absolute": 5.0}, "theta": {"absolute": 1e6}}
    rewards = {}
    for penalty in (0.0, 0.25):
        env = HedgingEnv(_config({**limits, "penalty": penalty}, env={"action": "delta_relative"}))
        env.reset(seed=11)
        _, reward, _, _, info = env.step(np.zeros(env.action_space.shape, dtype=np.float32))
        rewards[penalty] = reward
    # action 0 under the delta_relative mapping: the delta hedge; vega is the short book's (≈ −198/point)
    assert info["limit_breaches"] == ["vega"] and info["limit_alerts"] == ["vega"]
    assert rewards[0.25] == pytest.approx(rewards[0.0] - 0.25, abs=1e-12)


def test_env_with_limits_passes_gymnasium_checks():
    from gymnasium.utils.env_checker import check_env

    check_env(HedgingEnv(_config({"delta": {"absolute": 50.0}, "penalty": 0.1})), skip_render_check=True)


def test_env_without_greek_limits_has_no_limit_info():
    env = HedgingEnv(_config({"var_95": 100.0}))
    env.reset(seed=0)
    *_, info = env.step(np.zeros(env.action_space.shape, dtype=np.float32))
    assert "limit_breaches" not in info


# ------------------------------------------------------------------------------------------ config
@pytest.mark.parametrize(
    ("limits", "message"),
    [
        ({}, "limits must set at least one limit"),
        ({"vega": {"capital_fraction": 0.001}}, "vega.capital_fraction needs limits.capital"),
        ({"delta": {}}, "at least one of absolute, capital_fraction, relative"),
        ({"delta": {"absolute": 10, "alert": 1.2}}, "limits.delta.alert"),
        ({"rho": {"absolute": 1}}, "limits.rho"),
        ({"delta": {"absolute": -5}}, "limits.delta.absolute"),
        ({"var_95": 600, "penalty": 1.0}, "penalty needs at least one Greek limit"),
    ],
)
def test_config_refuses_bad_limits_by_field(limits, message):
    with pytest.raises(ConfigError, match=message):
        _config(limits)


# ------------------------------------------------------------------------------------------ commands
def test_compare_writes_the_limit_report_and_dashboard_draws_greeks_through_time(tmp_path):
    config = {**GBM_CALL, "limits": {"delta": {"absolute": 50.0}, "gamma": {"relative": 0.5}, "cvar_95": 900.0}}
    path = tmp_path / "limits.yaml"
    path.write_text(yaml.safe_dump(config))
    runner = CliRunner()
    result = runner.invoke(app, ["compare", "-c", str(path), "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "risk limits" in result.output
    csv = (tmp_path / "out" / "limits.csv").read_text()
    assert csv.startswith("hedger,delta_paths_breached") and "no_hedge" in csv
    result = runner.invoke(app, ["dashboard", "-c", str(path), "-o", str(tmp_path / "dash")])
    assert result.exit_code == 0, result.output
    assert "risk limits at t = 0" in result.output and "breach" in result.output
    pngs = sorted(Path(tmp_path / "dash").glob("limits__limits_gbm_call__*.png"))
    assert len(pngs) == 1 and pngs[0].read_bytes().startswith(b"\x89PNG")
