"""The leaderboard on hand-written trial summaries: numbers checked by hand and by independent pair counts and
exact bootstrap enumeration; malformed summaries refused with file and key; the CLI."""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from hedgegym.cli import app
from hedgegym.evaluation.leaderboard import build_leaderboard, markdown_report, read_summaries, write_leaderboard

REPS = 4000
runner = CliRunner()


def trial_id(task: str, algo: str, seed: int, hyperparameters: dict) -> str:
    text = json.dumps(hyperparameters, sort_keys=True, separators=(",", ":"))
    return f"{task}__{algo}__{seed}__{hashlib.sha256(text.encode()).hexdigest()[:8]}"


def row(y: float, cbr: float | None = 0.5) -> dict:
    """A metrics row whose other columns are fixed multiples of y (checked below through them)."""
    return {"y": y, "cvar_95": 2.0 * y, "rmse": y / 2.0, "max_drawdown": y / 4.0, "cbr": cbr, "mean_pnl": -y,
            "std_pnl": y / 3.0, "mean_cost": 0.1}


# task → (premium, classical hedger → y); the learned hedgers' y per seed (currency)
TASKS = {"gbm_20d": (10.0, {"no_hedge": 5.0, "delta": 2.0, "ww": 1.5}),
         "heston": (20.0, {"no_hedge": 8.0, "delta": 3.0})}
LEARNED = {("gbm_20d", "ppo"): [1.0, 1.2, 1.4, 1.8, 3.0],  # % of premium: 10, 12, 14, 18, 30
           ("heston", "ppo"): [2.0, 2.4, 3.6, 4.0],  # 10, 12, 18, 20 (one seed fewer: ragged)
           ("gbm_20d", "deep_hedging"): [1.1, 1.3, 1.6],  # 11, 13, 16
           ("heston", "deep_hedging"): [2.8, 3.2, 3.4, 3.8]}  # 14, 16, 17, 19


CONFIG_SHA256 = hashlib.sha256(b"a config").hexdigest()


def summary(task: str, algo: str, seed: int, y: float, hyperparameters: dict | None = None,
            cao_hull_c: float = 1.5) -> dict:
    premium, classical = TASKS[task]
    hyperparameters = hyperparameters or {}
    return {"schema": "hedgegym.trial/1", "sweep": "demo", "trial_id": trial_id(task, algo, seed, hyperparameters),
            "task": task, "config": f"configs/{algo}_{task}.yaml", "config_sha256": CONFIG_SHA256, "algo": algo,
            "seed": seed, "hyperparameters": hyperparameters, "premium": premium,
            "test": {"n_paths": 1000, "seed": 7, "cao_hull_c": cao_hull_c},
            "agent": algo, "metrics": {algo: row(y), **{name: row(v, None if name == "no_hedge" else 0.8)
                                                        for name, v in classical.items()}},
            "validation": {"y": 1.1 * y}, "wall_time_s": 90.0, "cpus": 2, "hedgegym_version": "0.1.0",
            "git_commit": None, "finished_at": f"2025-01-01T12:{seed:02d}:00+00:00"}


def write(directory: Path, data: dict, name: str | None = None) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name or data['trial_id']}.json"
    path.write_text(json.dumps(data))
    return path


@pytest.fixture
def summaries(tmp_path) -> Path:
    directory = tmp_path / "summaries"
    for (task, algo), values in LEARNED.items():
        for seed, y in enumerate(values):
            write(directory, summary(task, algo, seed, y))
    return directory


def cell(table: pd.DataFrame, scope: str, hedger: str, column: str) -> float:
    chosen = table[(table["task"] == scope) & (table["hedger"] == hedger)]
    assert len(chosen) == 1, (scope, hedger)
    return float(chosen[column].iloc[0])


def reference_iqm(values) -> float:
    ordered = sorted(values)
    cut = len(ordered) // 4
    return float(np.mean(ordered[cut:len(ordered) - cut]))


def pairs_better(x, y) -> float:
    """Fraction of pairs with x lower (better), ties ½."""
    return sum(1.0 if a < b else 0.5 if a == b else 0.0 for a, b in itertools.product(x, y)) / (len(x) * len(y))


def test_iqm_per_task_and_over_tasks_by_hand(summaries):
    table = build_leaderboard(read_summaries(summaries), reps=REPS).table
    assert cell(table, "gbm_20d", "ppo", "y_pct") == pytest.approx((12 + 14 + 18) / 3)  # 10 and 30 trimmed
    assert cell(table, "heston", "ppo", "y_pct") == pytest.approx((12 + 18) / 2)
    assert cell(table, "all tasks", "ppo", "y_pct") == pytest.approx((12 + 12 + 14 + 18 + 18) / 5)  # 9 pooled, 2 cut
    assert cell(table, "gbm_20d", "ppo", "cvar_95") == pytest.approx((2.4 + 2.8 + 3.6) / 3)  # currency
    assert cell(table, "gbm_20d", "ppo", "rmse") == pytest.approx((0.6 + 0.7 + 0.9) / 3)
    assert cell(table, "gbm_20d", "ppo", "max_drawdown") == pytest.approx((0.3 + 0.35 + 0.45) / 3)
    assert cell(table, "all tasks", "ppo", "cvar_95_pct") == pytest.approx(2 * 14.8)
    assert cell(table, "all tasks", "ppo", "max_drawdown_pct") == pytest.approx(14.8 / 4)
    assert cell(table, "all tasks", "ppo", "n_runs") == 9
    # classical hedgers: one deterministic run per task, a zero-width interval
    assert cell(table, "heston", "delta", "y_pct") == pytest.approx(15.0)
    assert cell(table, "all tasks", "delta", "y_pct") == pytest.approx((20.0 + 15.0) / 2)
    assert cell(table, "all tasks", "delta", "y_pct_low") == cell(table, "all tasks", "delta", "y_pct_high") == 17.5
    assert cell(table, "all tasks", "ww", "n_tasks") == 1
    assert np.isnan(cell(table, "gbm_20d", "no_hedge", "cbr"))  # null CBR: undefined, not zero


def test_the_interval_of_a_task_matches_the_exact_bootstrap_distribution(summaries):
    table = build_leaderboard(read_summaries(summaries), reps=REPS).table
    runs = [10.0, 12.0, 14.0, 18.0, 30.0]
    exact = np.sort([reference_iqm(c) for c in itertools.product(runs, repeat=5)])  # 5⁵ equally likely resamples
    low, high = cell(table, "gbm_20d", "ppo", "y_pct_low"), cell(table, "gbm_20d", "ppo", "y_pct_high")
    assert np.quantile(exact, 0.015) - 1e-9 <= low <= np.quantile(exact, 0.035) + 1e-9
    assert np.quantile(exact, 0.965) - 1e-9 <= high <= np.quantile(exact, 0.985) + 1e-9


def test_probability_of_improvement_over_best_classical_and_deep_hedging(summaries):
    table = build_leaderboard(read_summaries(summaries), reps=REPS).table
    # best classical by Y: ww (15%) on gbm_20d, delta (15%) on heston
    assert table.set_index(["task", "hedger"]).loc[("gbm_20d", "ppo"), "best_classical"] == "ww"
    assert cell(table, "gbm_20d", "ppo", "p_vs_best_classical") == pytest.approx(3 / 5)  # 10, 12, 14 < 15
    assert cell(table, "heston", "ppo", "p_vs_best_classical") == pytest.approx(2 / 4)
    assert cell(table, "all tasks", "ppo", "p_vs_best_classical") == pytest.approx((3 / 5 + 2 / 4) / 2)
    assert cell(table, "gbm_20d", "ppo", "p_vs_deep_hedging") == pytest.approx(6 / 15)  # counted by hand
    heston = pairs_better([10, 12, 18, 20], [14, 16, 17, 19])
    assert cell(table, "all tasks", "ppo", "p_vs_deep_hedging") == pytest.approx((6 / 15 + heston) / 2)
    low, high = cell(table, "all tasks", "ppo", "p_vs_deep_hedging_low"), cell(table, "all tasks", "ppo",
                                                                                 "p_vs_deep_hedging_high")
    assert 0.0 <= low < cell(table, "all tasks", "ppo", "p_vs_deep_hedging") < high <= 1.0
    assert cell(table, "all tasks", "deep_hedging", "p_vs_best_classical") == pytest.approx((2 / 3 + 1 / 4) / 2)
    assert np.isnan(cell(table, "all tasks", "deep_hedging", "p_vs_deep_hedging"))  # not against itself
    assert np.isnan(cell(table, "all tasks", "delta", "p_vs_best_classical"))  # classical rows: none


def test_tuned_classical_rules_join_the_task_and_can_become_the_best_classical(summaries, tmp_path):
    """A task's tuned-rules record (``hedgegym.sweep.classical``) adds ``<rule>_tuned`` rows: on gbm_20d a tuned
    Whalley–Wilmott at Y = 1.15 (11.5%) beats ww (15%), so PPO's probability of improvement over the best classical
    is counted against it (10 < 11.5 only); a record tested on other paths is refused; the Markdown lists it."""
    from hedgegym.evaluation.leaderboard import markdown_report

    record = {"test": {"n_paths": 1000, "seed": 7, "cao_hull_c": 1.5}, "premium": 10.0, "validation_paths": 500,
              "tuned": {"whalley_wilmott": {"parameter": "risk_aversion", "value": 0.01, "default": 0.001,
                                            "at_edge": False, "validation_y": [[0.001, 1.6], [0.01, 1.2]]}},
              "metrics": {"whalley_wilmott_tuned": row(1.15, 0.5)}}
    board = build_leaderboard(read_summaries(summaries), reps=REPS, classical={"gbm_20d": record})
    table = board.table
    assert cell(table, "gbm_20d", "whalley_wilmott_tuned", "y_pct") == pytest.approx(11.5)
    assert table.set_index(["task", "hedger"]).loc[("gbm_20d", "ppo"), "best_classical"] == "whalley_wilmott_tuned"
    assert cell(table, "gbm_20d", "ppo", "p_vs_best_classical") == pytest.approx(1 / 5)
    assert cell(table, "heston", "ppo", "p_vs_best_classical") == pytest.approx(2 / 4)  # no record: unchanged
    assert "| gbm_20d | whalley_wilmott | risk_aversion | 0.01 | 0.001 | 500 |" in markdown_report(board)
    other = {**record, "test": {"n_paths": 1000, "seed": 8, "cao_hull_c": 1.5}}
    with pytest.raises(ValueError, match="tuned rules must meet the trials' test paths"):
        build_leaderboard(read_summaries(summaries), reps=REPS, classical={"gbm_20d": other})


def test_same_seed_same_numbers_and_notes_are_empty_when_trials_agree(summaries):
    first = build_leaderboard(read_summaries(summaries), reps=500, seed=3)
    again = build_leaderboard(read_summaries(summaries), reps=500, seed=3)
    pd.testing.assert_frame_equal(first.table, again.table)
    assert first.notes == []


def test_disagreeing_or_missing_classical_rows_are_reported(summaries):
    path = summaries / f"{trial_id('heston', 'ppo', 2, {})}.json"
    data = json.loads(path.read_text())
    data["metrics"]["delta"]["y"] = 3.5
    del data["metrics"]["no_hedge"]
    path.write_text(json.dumps(data))
    board = build_leaderboard(read_summaries(summaries), reps=200)
    text = " ".join(board.notes)
    assert "delta" in text and "disagrees" in text and trial_id("heston", "ppo", 2, {}) in text
    assert "no_hedge is missing" in text
    assert cell(board.table, "heston", "delta", "y_pct") == pytest.approx(15.0)  # the first trial's row is used
    assert "disagrees" in markdown_report(board)


def test_hyperparameter_sets_are_separate_hedgers(tmp_path):
    directory = tmp_path / "s"
    for seed, y in enumerate([1.0, 1.2]):
        write(directory, summary("gbm_20d", "ppo", seed, y, {"agent.learning_rate": 0.001}))
        write(directory, summary("gbm_20d", "ppo", seed, y + 1.0, {"agent.learning_rate": 0.01}))
    table = build_leaderboard(read_summaries(directory), reps=200).table
    learned = table[(table["kind"] == "learned") & (table["scope"] == "task")]
    assert len(learned) == 2 and all(name.startswith("ppo#") for name in learned["hedger"])
    assert sorted(learned["y_pct"]) == pytest.approx([11.0, 21.0])


def test_compute_used_is_summed_from_the_summaries(summaries):
    text = markdown_report(build_leaderboard(read_summaries(summaries), reps=200))
    n = sum(len(v) for v in LEARNED.values())  # 16 trials of 90 s on 2 cores
    assert f"trials: {n}; total trial wall time {n * 90 / 3600:.3g} h ({n * 90:,} s)" in text
    assert f"core time {n * 90 * 2 / 3600:.3g} core-hours" in text
    assert "cores per trial: 2" in text


def test_sweep_directory_is_searched_and_duplicates_are_read_once(tmp_path):
    sweep = tmp_path / "sweep"
    data = summary("gbm_20d", "ppo", 0, 1.0)
    write(sweep / "summaries", data)
    write(sweep / "trial_0", data)  # the same trial again, same content
    write(sweep, {"ray": "experiment state"}, "experiment_state-2025")  # not a summary's name: ignored
    assert [s.trial_id for s in read_summaries(sweep)] == [data["trial_id"]]
    other = copy.deepcopy(data)
    other["wall_time_s"] = 1.0
    write(sweep / "trial_0", other)
    with pytest.raises(ValueError, match="different content"):
        read_summaries(sweep)


def test_a_summaries_directory_is_read_whole(summaries):
    write(summaries, {"schema": "something/else"}, "notes")
    with pytest.raises(ValueError, match=r"notes\.json.*schema"):
        read_summaries(summaries)


@pytest.mark.parametrize(("key", "value"), [("seed", 8), ("n_paths", 999), ("cao_hull_c", 2.0)])
def test_trials_of_a_task_on_different_test_paths_or_cao_hull_c_are_refused(summaries, key, value):
    path = summaries / f"{trial_id('heston', 'ppo', 1, {})}.json"
    data = json.loads(path.read_text())
    data["test"][key] = value
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match=r"test paths and Cao–Hull c") as error:
        build_leaderboard(read_summaries(summaries), reps=100)
    assert str(path) in str(error.value)


def test_the_markdown_states_the_cao_hull_c_of_the_summaries(tmp_path):
    directory = tmp_path / "c2"
    for seed, y in enumerate([1.0, 1.2, 1.4]):
        write(directory, summary("gbm_20d", "ppo", seed, y, cao_hull_c=2.0))
    text = markdown_report(build_leaderboard(read_summaries(directory), reps=100))
    assert "Y: Cao–Hull E[C] + 2·sd(C)" in text and "1.5·sd(C)" not in text
    assert "1,000 test paths (seed 7); Cao–Hull c = 2;" in text
    # tasks with different c: each task's c in its section, and the difference said where Y is defined
    for seed, y in enumerate([2.0, 2.4]):
        write(directory, summary("heston", "ppo", seed, y, cao_hull_c=1.5))
    text = markdown_report(build_leaderboard(read_summaries(directory), reps=100))
    assert "E[C] + c·sd(C) with c per task" in text and "gbm_20d 2, heston 1.5" in text
    assert "Cao–Hull c = 2;" in text and "Cao–Hull c = 1.5;" in text


def broken(change):
    data = summary("gbm_20d", "ppo", 0, 1.0)
    change(data)
    return data


MALFORMED = [
    (lambda d: d.update(schema="hedgegym.trial/2"), "'schema'"),
    (lambda d: d.pop("premium"), "missing key 'premium'"),
    (lambda d: d.update(premium=-1.0), "'premium' must be a finite number > 0"),
    (lambda d: d.update(algo="dqn"), "'algo' must be one of"),
    (lambda d: d.update(seed=True), "'seed' must be an integer"),
    (lambda d: d.update(agent="td3"), "'agent'"),
    (lambda d: d["metrics"]["ppo"].update(y=None), "'metrics.ppo.y'"),
    (lambda d: d["metrics"]["delta"].pop("rmse"), "missing key 'metrics.delta.rmse'"),
    (lambda d: d["test"].update(n_paths=0), "'test.n_paths' must be an integer >= 1"),
    (lambda d: d.update(finished_at="yesterday"), "'finished_at' must be an ISO-8601"),
    (lambda d: d.update(cpus=0), "'cpus'"),
    (lambda d: d.update(validation={}), "missing key 'validation.y'"),
    (lambda d: d.update(hyperparameters={"agent.learning_rate": 0.1}), "'trial_id'"),
    (lambda d: d.update(config_sha256="0123abcd"), "'config_sha256' must be 64 lower-case hex digits"),
    (lambda d: d.pop("config_sha256"), "missing key 'config_sha256'"),
    (lambda d: d["test"].pop("cao_hull_c"), "missing key 'test.cao_hull_c'"),
    (lambda d: d["test"].update(cao_hull_c=-0.5), "'test.cao_hull_c' must be a finite number >= 0"),
]


@pytest.mark.parametrize(("change", "message"), MALFORMED, ids=[m for _, m in MALFORMED])
def test_malformed_summaries_are_refused_naming_file_and_key(tmp_path, change, message):
    data = broken(change)
    path = write(tmp_path / "s", data, trial_id("gbm_20d", "ppo", 0, {}))
    with pytest.raises(ValueError, match=message) as error:
        read_summaries(tmp_path / "s")
    assert str(path) in str(error.value)


def test_invalid_json_wrong_file_name_and_empty_directories_are_refused(tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "gbm_20d__ppo__0__0123abcd.json").write_text("{not json")
    with pytest.raises(ValueError, match=r"gbm_20d__ppo__0__0123abcd\.json: not valid JSON"):
        read_summaries(bad)
    renamed = tmp_path / "renamed"
    write(renamed, summary("gbm_20d", "ppo", 0, 1.0), "gbm_20d__ppo__9__0123abcd")
    with pytest.raises(ValueError, match="file name must be the trial id"):
        read_summaries(renamed)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no trial summary"):
        read_summaries(tmp_path / "empty")
    with pytest.raises(ValueError, match="not a directory"):
        read_summaries(tmp_path / "missing")


def test_outputs_are_written_once_and_never_overwritten(summaries, tmp_path):
    board = build_leaderboard(read_summaries(summaries), reps=200)
    out = tmp_path / "out"
    written = write_leaderboard(board, out)
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in written) == [
        "iqm_y.png", "leaderboard.csv", "leaderboard.md", "probability_of_improvement.png", "report.html"]
    csv = pd.read_csv(out / "leaderboard.csv")
    assert cell(csv, "gbm_20d", "ppo", "y_pct") == pytest.approx(44 / 3)
    before = (out / "leaderboard.md").read_text()
    with pytest.raises(ValueError, match="not empty"):
        write_leaderboard(board, out)
    assert (out / "leaderboard.md").read_text() == before


def test_cli_builds_the_leaderboard_and_refuses_bad_input(summaries, tmp_path):
    out = tmp_path / "board"
    result = runner.invoke(app, ["leaderboard", str(summaries), "-o", str(out), "--reps", "200"])
    assert result.exit_code == 0, result.output
    assert "ppo" in result.output and (out / "leaderboard.md").is_file()
    result = runner.invoke(app, ["leaderboard", str(summaries), "-o", str(out), "--reps", "200"])
    assert result.exit_code == 2 and "not empty" in result.output
    write(summaries, broken(lambda d: d.update(premium=0)), trial_id("gbm_20d", "ppo", 0, {}))
    result = runner.invoke(app, ["leaderboard", str(summaries), "-o", str(tmp_path / "other"), "--reps", "200"])
    assert result.exit_code == 2 and "premium" in result.output
    assert not (tmp_path / "other").exists()


def test_the_deep_hedging_reference_is_chosen_on_validation_not_on_the_test_paths(tmp_path):
    """Two deep-hedging sets: 'a' is better on the test paths, 'b' on the validation paths; the probability of
    improvement over deep hedging is computed against 'b' (selecting on test results would leak the test set)."""
    directory = tmp_path / "summaries"
    for seed, y in enumerate([1.0, 1.2, 1.4]):
        write(directory, summary("gbm_20d", "ppo", seed, y))
    for name, test_y, validation_y in (("a", 0.5, 9.0), ("b", 5.0, 0.1)):
        for seed in range(3):
            data = summary("gbm_20d", "deep_hedging", seed, test_y, {"agent.learning_rate": 1e-3 if name == "a"
                                                                     else 1e-4})
            data["validation"] = {"y": validation_y}
            write(directory, data)
    board = build_leaderboard(read_summaries(directory), reps=200)
    # ppo (y 1.0-1.4) beats b (5.0) on every pair, loses to a (0.5) on every pair
    assert cell(board.table, "gbm_20d", "ppo", "p_vs_deep_hedging") == pytest.approx(1.0)
    assert any("validation" in note for note in board.notes)
