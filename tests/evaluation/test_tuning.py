"""Classical rules tuned on the validation paths: every candidate's Y recomputed here from the per-path P&L on the
validation stream (child stream 3, written out here), the choice is its argmin, the test paths are never read, the
defaults are among the candidates, an optimum at the end of the candidates is flagged, bad input is named."""

from __future__ import annotations

import numpy as np
import pytest

from hedgegym.baselines import DeltaHedger, WhalleyWilmottHedger
from hedgegym.config import parse_config
from hedgegym.evaluation import evaluate
from hedgegym.evaluation.tuning import RULES, default_risk_aversion, tune_classical, tuning_rules
from hedgegym.market import MarketPaths

CONFIG = parse_config({
    "market": {"model": "gbm", "spot": 100.0, "volatility": 0.2, "mu": 0.05, "rate": 0.02},
    "book": [{"strike": 100.0, "maturity": 0.08, "quantity": -10}],
    "costs": {"proportional": {"stock": 0.01}},
    "simulation": {"n_steps": 20},
    "evaluation": {"seed": 77, "cao_hull_c": 1.5},
})


def validation_paths(n_paths: int) -> MarketPaths:
    """Child stream 3 of SeedSequence(evaluation.seed), simulated here."""
    model = CONFIG.market.build()
    rng = np.random.default_rng(np.random.SeedSequence(77, spawn_key=(3,)))
    return model.simulate(n_paths, 20, CONFIG.horizon / 20, rng, measure="real")


def cao_hull_y(pnl: np.ndarray) -> float:
    return float(-pnl.mean() + 1.5 * pnl.std(ddof=1))


def test_each_rule_picks_the_candidate_with_the_lowest_validation_y():
    tuned = {rule.rule: rule for rule in tune_classical(CONFIG, n_paths=400)}
    assert list(tuned) == [rule for rule in RULES if rule != "delta_vega_band"]  # a stock cost, no listed option
    paths = validation_paths(400)
    gamma0 = 100.0 / (1000.0 * 100.0)
    assert default_risk_aversion(CONFIG) == pytest.approx(gamma0)
    by_hand = {
        ("whalley_wilmott", gamma0 * 10): WhalleyWilmottHedger(risk_aversion=gamma0 * 10),
        ("delta_band", 0.1): DeltaHedger(band=0.1),
        ("delta_every", 4.0): DeltaHedger(rebalance_every=4),
    }
    for (rule, value), hedger in by_hand.items():
        pnl = evaluate(hedger, CONFIG, paths=paths).per_path["pnl"].to_numpy()
        close = min(tuned[rule].validation_y, key=lambda v: abs(v - value))
        assert close == pytest.approx(value)
        assert tuned[rule].validation_y[close] == pytest.approx(cao_hull_y(pnl), rel=1e-9)
    for rule in tuned.values():
        assert rule.value == min(rule.validation_y, key=rule.validation_y.get)
        assert rule.default in rule.validation_y and rule.best_y <= rule.default_y
        assert rule.hedger.name == f"{rule.rule}_tuned"
        lowest = min(rule.validation_y) if rule.rule != "delta_every" else None  # 1 step: no shorter interval
        assert rule.at_edge == (rule.value in (lowest, max(rule.validation_y)))


def test_the_test_paths_are_not_read(monkeypatch):
    from hedgegym.evaluation import tuning

    streams = []
    original = tuning.test_paths
    monkeypatch.setattr(tuning, "test_paths",
                        lambda config, n, seed, stream=1: streams.append((seed, stream)) or original(config, n, seed,
                                                                                                    stream))
    tune_classical(CONFIG, n_paths=200, rules=["delta_band"])
    assert streams == [(77, 3)]


def test_without_costs_only_the_time_and_band_rules_are_tuned():
    free = CONFIG.model_copy(update={"costs": parse_config({"market": {"model": "gbm"}}).costs})
    assert [rule.name for rule in tuning_rules(free)] == ["delta_every", "delta_band"]
    assert [rule.rule for rule in tune_classical(free, n_paths=200)] == ["delta_every", "delta_band"]


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="rules: unknown rule"):
        tune_classical(CONFIG, n_paths=200, rules=["leland"])
    with pytest.raises(ValueError, match="n_paths must be >= 10"):
        tune_classical(CONFIG, n_paths=5)


def test_compare_tune_adds_the_tuned_rules_and_lists_every_candidate(tmp_path):
    """``hedgegym compare --tune``: the tuned rules join the default hedgers on the test paths, and ``tuning.csv``
    holds every candidate's validation Y with the chosen and default values marked."""
    import pandas as pd
    import yaml
    from typer.testing import CliRunner

    from hedgegym.cli import app

    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(CONFIG.model_dump(mode="json")))
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["compare", "-c", str(config), "--paths", "300", "--bootstrap", "10", "--tune",
                                      "--validation-paths", "200", "-o", str(out)])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out / "results.csv", index_col=0)
    assert {"whalley_wilmott", "whalley_wilmott_tuned", "delta_band_tuned", "delta_every_tuned",
            "delta_cost_benefit_tuned"} <= set(table.index)
    tuning = pd.read_csv(out / "tuning.csv")
    direct = {rule.rule: rule for rule in tune_classical(CONFIG, n_paths=200)}
    for rule, rows in tuning.groupby("rule"):
        assert rows["chosen"].sum() == 1 and rows["default"].sum() == 1
        assert rows.loc[rows["chosen"], "value"].item() == pytest.approx(direct[rule].value)
        assert rows["validation_y"].to_numpy() == pytest.approx(list(direct[rule].validation_y.values()), rel=1e-9)
    assert "whalley_wilmott: risk_aversion" in result.output


def test_validation_paths_without_tune_is_refused():
    from typer.testing import CliRunner

    from hedgegym.cli import app

    result = CliRunner().invoke(app, ["compare", "--validation-paths", "500"])
    assert result.exit_code == 2 and "add --tune" in result.output
