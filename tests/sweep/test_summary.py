"""Trial summaries: deterministic ids (SHA-256 of the sorted hyper-parameters, computed here by hand), the premium
against Black–Scholes (scipy), schema checks naming the key, and writes that never overwrite."""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import norm

from hedgegym.config import load_config
from hedgegym.sweep.summary import (
    SCHEMA,
    SummaryError,
    check_summary,
    load_summaries,
    premium,
    read_summary,
    trial_id,
    write_summary,
)

ROOT = Path(__file__).resolve().parents[2]


def test_trial_id_is_the_hash_of_the_sorted_hyperparameters():
    hp = {"agent.learning_rate": 0.001, "agent.net_arch": [64, 64], "env.risk_aversion": 6.0}
    text = '{"agent.learning_rate":0.001,"agent.net_arch":[64,64],"env.risk_aversion":6.0}'
    expected = f"gbm_cost_20d__ppo__3__{hashlib.sha256(text.encode()).hexdigest()[:8]}"
    assert trial_id("gbm_cost_20d", "ppo", 3, hp) == expected
    assert trial_id("gbm_cost_20d", "ppo", 3, dict(reversed(hp.items()))) == expected  # order does not matter
    assert trial_id("gbm_cost_20d", "ppo", 3, {**hp, "agent.learning_rate": 0.002}) != expected
    assert trial_id("gbm_cost_20d", "ppo", 4, hp) != expected
    empty = hashlib.sha256(b"{}").hexdigest()[:8]
    assert trial_id("heston_straddle", "sac", 0, {}) == f"heston_straddle__sac__0__{empty}"


def test_premium_is_the_black_scholes_value_of_the_short_calls():
    config = load_config(ROOT / "configs/deep_gbm_cost_20d.yaml")
    s, k, t, r, sigma = 100.0, 100.0, 0.079365079365, 0.02, 0.2
    d1 = (np.log(s / k) + (r + sigma**2 / 2) * t) / (sigma * np.sqrt(t))
    call = s * norm.cdf(d1) - k * np.exp(-r * t) * norm.cdf(d1 - sigma * np.sqrt(t))
    assert premium(config) == pytest.approx(10 * 100 * call, rel=1e-10)


def make_summary(**changes) -> dict:
    hp = {"agent.iterations": 3}
    row = {"y": 1.0, "cvar_95": 2.0, "rmse": 3.0, "max_drawdown": 4.0, "cbr": None, "mean_pnl": -1.0,
           "std_pnl": 0.5, "mean_cost": 0.1}
    summary = {
        "schema": SCHEMA, "sweep": "s", "trial_id": trial_id("a", "deep_hedging", 0, hp), "task": "a",
        "config": "configs/deep_gbm_cost_20d.yaml", "algo": "deep_hedging", "seed": 0, "hyperparameters": hp,
        "premium": 2325.9, "test": {"n_paths": 200, "seed": 1234}, "agent": "deep_hedging",
        "metrics": {"no_hedge": row, "deep_hedging": {**row, "cbr": 0.4}}, "validation": {"y": 1.5},
        "wall_time_s": 3.0, "cpus": 1, "hedgegym_version": "0.1.0", "git_commit": None,
        "finished_at": "2026-11-29T12:00:00+00:00",
    }
    summary.update(changes)
    return summary


@pytest.mark.parametrize(("changes", "message"), [
    ({"schema": "hedgegym.trial/2"}, "schema must be"),
    ({"algo": "dqn"}, "algo must be"),
    ({"seed": -1}, "seed must be"),
    ({"trial_id": "a__deep_hedging__0__00000000"}, "does not match its spec"),
    ({"premium": 0.0}, "premium must be > 0"),
    ({"agent": "ppo"}, "agent's row 'ppo'"),
    ({"validation": {"y": float("nan")}}, "y must be a finite number"),
    ({"test": {"n_paths": 200}}, "test must be"),
])
def test_schema_errors_name_the_key(changes, message):
    with pytest.raises(SummaryError, match=message):
        check_summary(make_summary(**changes))
    broken = make_summary()
    del broken["finished_at"]
    with pytest.raises(SummaryError, match=r"missing key.*finished_at"):
        check_summary(broken)
    bad_metric = copy.deepcopy(make_summary())
    bad_metric["metrics"]["no_hedge"]["rmse"] = None
    with pytest.raises(SummaryError, match=r"metrics\.no_hedge\.rmse"):
        check_summary(bad_metric)


def test_write_is_atomic_and_never_overwrites(tmp_path):
    summary = make_summary()
    path = write_summary(tmp_path / "sums", summary)
    assert path.name == f"{summary['trial_id']}.json"
    assert json.loads(path.read_text()) == summary
    assert read_summary(path) == summary
    before = path.read_bytes()
    with pytest.raises(FileExistsError, match="never overwritten"):
        write_summary(tmp_path / "sums", make_summary(wall_time_s=99.0))
    assert path.read_bytes() == before
    assert [p.name for p in (tmp_path / "sums").iterdir()] == [path.name]  # no temporary left behind
    assert load_summaries(tmp_path / "sums") == {summary["trial_id"]: summary}
    assert load_summaries(tmp_path / "none") == {}
    renamed = tmp_path / "sums" / "other.json"
    renamed.write_text(path.read_text())
    with pytest.raises(SummaryError, match="file name does not match"):
        read_summary(renamed)
