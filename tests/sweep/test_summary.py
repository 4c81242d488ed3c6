"""Trial summaries: deterministic ids (SHA-256 of the sorted hyper-parameters, computed here by hand), the config
hash (SHA-256 of the non-default fields, computed here by hand), the premium against Black–Scholes (scipy), schema
checks naming the key, and writes that never overwrite."""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import norm

from hedgegym.config import apply_overrides, load_config
from hedgegym.sweep.summary import (
    SCHEMA,
    SummaryError,
    TrialEvaluation,
    check_summary,
    config_sha256,
    load_summaries,
    parse_summary,
    premium,
    read_summary,
    read_trial_summary,
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


def test_config_hash_is_the_sha256_of_the_fields_a_file_sets():
    config = load_config(ROOT / "configs/deep_gbm_cost_20d.yaml")
    text = json.dumps(config.model_dump(mode="json", exclude_defaults=True), sort_keys=True, separators=(",", ":"))
    assert config_sha256(config) == hashlib.sha256(text.encode()).hexdigest()
    assert '"learning_rate"' in text or '"iterations"' in text  # the file's own values are hashed
    default_c = type(config.evaluation).model_fields["cao_hull_c"].default
    same = apply_overrides(config, {"evaluation.cao_hull_c": default_c})  # a default written out: same config
    assert config_sha256(same) == config_sha256(config)
    assert config_sha256(apply_overrides(config, {"agent.seed": config.agent.seed + 1})) != config_sha256(config)
    assert config_sha256(apply_overrides(config, {"evaluation.cao_hull_c": 2.0})) != config_sha256(config)


def make_summary(**changes) -> dict:
    hp = {"agent.iterations": 3}
    row = {"y": 1.0, "cvar_95": 2.0, "rmse": 3.0, "max_drawdown": 4.0, "cbr": None, "mean_pnl": -1.0,
           "std_pnl": 0.5, "mean_cost": 0.1}
    summary = {
        "schema": SCHEMA, "sweep": "s", "trial_id": trial_id("a", "deep_hedging", 0, hp), "task": "a",
        "config": "configs/deep_gbm_cost_20d.yaml", "config_sha256": "0" * 64, "algo": "deep_hedging", "seed": 0,
        "hyperparameters": hp, "premium": 2325.9, "test": {"n_paths": 200, "seed": 1234, "cao_hull_c": 1.5},
        "agent": "deep_hedging",
        "metrics": {"no_hedge": row, "deep_hedging": {**row, "cbr": 0.4}}, "validation": {"y": 1.5},
        "wall_time_s": 3.0, "cpus": 1, "hedgegym_version": "0.1.0", "git_commit": None,
        "finished_at": "2026-11-29T12:00:00+00:00",
    }
    summary.update(changes)
    return summary


@pytest.mark.parametrize(("changes", "message"), [
    ({"schema": "hedgegym.trial/2"}, "'schema' must be 'hedgegym.trial/1'"),
    ({"algo": "dqn"}, "'algo' must be one of ppo, sac, deep_hedging"),
    ({"seed": -1}, "'seed' must be an integer >= 0"),
    ({"trial_id": "a__deep_hedging__0__00000000"}, "'trial_id' is 'a__deep_hedging__0__00000000' but"),
    ({"premium": 0.0}, "'premium' must be a finite number > 0"),
    ({"agent": "ppo"}, "'agent' names 'ppo', which is not a row of 'metrics'"),
    ({"validation": {"y": float("nan")}}, "'validation.y' must be a finite number"),
    ({"test": {"n_paths": 200}}, "missing key 'test.seed'"),
    ({"test": {"n_paths": 200, "seed": 1234}}, "missing key 'test.cao_hull_c'"),
    ({"test": {"n_paths": 200, "seed": 1234, "cao_hull_c": float("inf")}}, "'test.cao_hull_c' must be a finite"),
    ({"config_sha256": "abc"}, "'config_sha256' must be 64 lower-case hex digits"),
    ({"config_sha256": "A" * 64}, "'config_sha256' must be 64 lower-case hex digits"),
])
def test_schema_errors_name_the_key(changes, message):
    with pytest.raises(SummaryError, match=message):
        check_summary(make_summary(**changes))
    with pytest.raises(SummaryError, match=rf"^trials/x\.json: {message}"):  # the file named first
        check_summary(make_summary(**changes), "trials/x.json")
    broken = make_summary()
    del broken["finished_at"]
    with pytest.raises(SummaryError, match=r"missing key 'finished_at'"):
        check_summary(broken)
    bad_metric = copy.deepcopy(make_summary())
    bad_metric["metrics"]["no_hedge"]["rmse"] = None
    with pytest.raises(SummaryError, match=r"'metrics\.no_hedge\.rmse' must be a finite number"):
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
    with pytest.raises(SummaryError, match="file name must be the trial id"):
        read_summary(renamed)


def test_one_parser_gives_the_typed_summary_of_what_check_summary_accepts(tmp_path):
    summary = make_summary()
    assert check_summary(summary) is summary  # the dict back, unchanged
    path = write_summary(tmp_path, summary)
    parsed = read_trial_summary(path)
    assert parsed == parse_summary(summary, path)
    assert parsed.path == path and parsed.trial_id == summary["trial_id"] and parsed.config_sha256 == "0" * 64
    assert parsed.test == TrialEvaluation(n_paths=200, seed=1234, cao_hull_c=1.5)
    assert np.isnan(parsed.metrics["no_hedge"]["cbr"]) and parsed.metrics["deep_hedging"]["cbr"] == 0.4
    assert parsed.validation_y == 1.5 and parsed.finished_at.tzinfo is not None
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(SummaryError, match=r"bad\.json: not valid JSON"):
        read_summary(tmp_path / "bad.json")
    with pytest.raises(SummaryError, match="cannot read the trial summary"):
        read_summary(tmp_path / "missing.json")
    with pytest.raises(SummaryError, match="a trial summary is a JSON object, got list"):
        check_summary([summary])  # type: ignore[arg-type]


def test_a_malformed_classical_record_is_named(tmp_path):
    """``hedgegym.sweep.classical.load_classical``: a record that is not JSON, of another schema, of another task
    than its file name, or with a non-finite metric is refused naming the file and the key."""
    from hedgegym.sweep.classical import CLASSICAL_SCHEMA, load_classical
    from hedgegym.sweep.config import SweepConfigError

    folder = tmp_path / "classical"
    folder.mkdir()
    row = {"y": 1.0, "cvar_95": 2.0, "rmse": 3.0, "max_drawdown": 4.0, "cbr": None, "mean_pnl": -1.0,
           "std_pnl": 0.5, "mean_cost": 0.1}
    good = {"schema": CLASSICAL_SCHEMA, "sweep": "s", "task": "a", "task_sha256": "0" * 64, "premium": 10.0,
            "test": {"n_paths": 100, "seed": 1, "cao_hull_c": 1.5}, "validation_paths": 50, "tuned": {},
            "metrics": {"whalley_wilmott_tuned": row}}
    (folder / "a.json").write_text(json.dumps(good))
    assert load_classical(tmp_path) == {"a": good}
    assert load_classical(tmp_path / "none") == {}
    for bad, message in [("{not json", "not a readable JSON record"),
                         (json.dumps({**good, "schema": "x"}), "not a classical-rules record"),
                         (json.dumps({**good, "task": "b"}), "'task' is 'b'"),
                         (json.dumps({**good, "metrics": {"w": {**row, "y": None}}}), r"'metrics\.w\.y'")]:
        (folder / "a.json").write_text(bad)
        with pytest.raises(SweepConfigError, match=message) as error:
            load_classical(tmp_path)
        assert "a.json" in str(error.value)
