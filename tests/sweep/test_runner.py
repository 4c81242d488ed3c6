"""The sweep end to end on Ray Tune (one local Ray session for the module): a CI-sized 2-trial deep-hedging sweep
writes two schema-valid summaries whose numbers are the runs' own evaluation tables and the validation Y computed
here from the per-path P&L; a rerun skips both and writes nothing; a sweep run in chunks (``stop_after``) runs one
trial, then the other, without touching the first; summaries written for another config under the same trial ids
are refused; an Optuna search with ASHA leaves a summary or a stopped marker for every trial and a rerun trains
nothing; a sweep killed mid-way (SIGKILL of its whole process group) and run again, or interrupted (SIGINT) and
resumed with ``--resume``, ends with the same trials and no run directory overwritten; the CLI refuses bad input
with exit code 2."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from hedgegym.sweep.config import SweepConfigError, parse_sweep_config
from hedgegym.sweep.summary import load_summaries, read_summary

ray = pytest.importorskip("ray")

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def ray_session():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"OMP_NUM_THREADS": "1"}})
    yield
    ray.shutdown()


def smoke(tmp: Path, **changes):
    data = yaml.safe_load((ROOT / "configs/sweeps/smoke.yaml").read_text())
    data.update(summaries=str(tmp / "summaries"), directory=str(tmp / "sweep"), **changes)
    return parse_sweep_config(data)


def snapshot(*roots: Path) -> dict[str, tuple[int, str]]:
    """Every file under ``roots``: (mtime in ns, SHA-256 of its bytes)."""
    out = {}
    for root in roots:
        for path in sorted(root.rglob("*")):
            if path.is_file():
                out[str(path)] = (path.stat().st_mtime_ns, hashlib.sha256(path.read_bytes()).hexdigest())
    return out


def hedging_y(pnl: np.ndarray, c: float = 1.5) -> float:
    """Cao–Hull Y = −mean + c·sd (sample sd) of the hedged P&L, written out here."""
    return float(-pnl.mean() + c * np.sqrt(np.sum((pnl - pnl.mean()) ** 2) / (len(pnl) - 1)))


@pytest.fixture(scope="module")
def first_sweep(ray_session, tmp_path_factory):
    from hedgegym.sweep.runner import run_sweep

    tmp = tmp_path_factory.mktemp("sweep")
    sweep = smoke(tmp)
    return tmp, sweep, run_sweep(sweep, base_dir=ROOT)


def test_two_trials_write_two_summaries(first_sweep):
    from hedgegym.agents.callbacks import validation_paths
    from hedgegym.agents.training import load_agent
    from hedgegym.evaluation.rollout import evaluate

    tmp, _sweep, result = first_sweep
    assert result.failed == {}
    assert sorted(result.finished) == sorted(result.planned) and len(result.planned) == 2 and result.skipped == []
    summaries = load_summaries(tmp / "summaries")  # read_summary checks the schema of each
    assert sorted(summaries) == sorted(result.planned)
    assert {s["seed"] for s in summaries.values()} == {0, 1}
    for identifier, summary in summaries.items():
        assert summary["sweep"] == "smoke" and summary["task"] == "gbm_cost_20d" and summary["algo"] == "deep_hedging"
        assert summary["agent"] == "deep_hedging"
        assert summary["test"] == {"n_paths": 200, "seed": 1234, "cao_hull_c": 1.5}
        assert summary["hyperparameters"] == {"agent.batch_paths": 64, "agent.net_arch": [8], "agent.iterations": 3,
                                              "evaluation.n_paths": 200}
        runs = list((tmp / "sweep" / "runs" / identifier).iterdir())
        assert len(runs) == 1
        run = runs[0]
        # the summary's metrics are the run's final evaluation on the test paths: agent and classical hedgers
        table = pd.read_csv(run / "evaluation" / "results.csv", index_col=0)
        assert set(summary["metrics"]) == set(table.index) and {"deep_hedging", "delta", "no_hedge"} <= set(table.index)
        for hedger, row in summary["metrics"].items():
            assert row["y"] == pytest.approx(table.loc[hedger, "y"], rel=1e-12)
            assert row["cvar_95"] == pytest.approx(table.loc[hedger, "cvar_95"], rel=1e-12)
        assert summary["metrics"]["no_hedge"]["cbr"] is None
        per_path = pd.read_csv(run / "evaluation" / "per_path.csv")
        test_pnl = per_path.loc[per_path["hedger"] == "deep_hedging", "pnl"].to_numpy()
        assert summary["metrics"]["deep_hedging"]["y"] == pytest.approx(hedging_y(test_pnl), rel=1e-8)
        # the validation Y: the same agent on the validation stream (not the test paths), Y written out here
        agent, config = load_agent(run)
        pnl = evaluate(agent, config, paths=validation_paths(config, 200)).per_path["pnl"].to_numpy()
        assert summary["validation"]["y"] == pytest.approx(hedging_y(pnl), rel=1e-10)
        assert summary["validation"]["y"] != pytest.approx(summary["metrics"]["deep_hedging"]["y"], rel=1e-6)
        assert config.agent.seed == summary["seed"] and config.agent.iterations == 3
    # TensorBoard HParams: one directory per trial with the hparams plugin's events
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    for identifier in result.planned:
        events = EventAccumulator(str(tmp / "sweep" / "hparams" / identifier))
        events.Reload()
        assert "hparams" in events.PluginTagToContent("hparams") or events.PluginTagToContent("hparams")
        assert events.Scalars("hparam/validation_y")[0].value == pytest.approx(
            summaries[identifier]["validation"]["y"], rel=1e-6)


def test_rerun_skips_every_summarised_trial_and_writes_nothing(first_sweep):
    from hedgegym.sweep.runner import run_sweep

    tmp, sweep, first = first_sweep
    before = snapshot(tmp)
    again = run_sweep(sweep, base_dir=ROOT)
    assert sorted(again.skipped) == sorted(first.planned) and again.finished == [] and again.experiments == []
    assert snapshot(tmp) == before


def test_sweep_in_chunks_runs_one_trial_then_the_other(ray_session, tmp_path):
    from hedgegym.sweep.runner import run_sweep

    sweep = smoke(tmp_path)
    first = run_sweep(sweep, base_dir=ROOT, stop_after=1)
    assert len(first.finished) == 1 and first.failed == {} and first.left == 1
    done = first.finished[0]
    assert done == first.planned[0]  # the chunk takes the trials in plan order
    assert sorted(load_summaries(tmp_path / "summaries")) == [done]
    assert not (tmp_path / "sweep" / "runs" / first.planned[1]).exists()  # the other trial was not started
    kept = snapshot(tmp_path / "summaries", tmp_path / "sweep" / "runs" / done)
    second = run_sweep(sweep, base_dir=ROOT, stop_after=1)
    assert second.failed == {} and second.skipped == [done] and second.finished == [first.planned[1]]
    assert second.left == 0
    after = snapshot(tmp_path / "summaries", tmp_path / "sweep" / "runs" / done)
    assert {path: after[path] for path in kept} == kept  # the first trial's summary and run are untouched
    for identifier in first.planned:
        assert len(list((tmp_path / "sweep" / "runs" / identifier).iterdir())) == 1
        read_summary(tmp_path / "summaries" / f"{identifier}.json")


def test_summaries_of_another_config_under_the_same_trial_ids_are_refused(first_sweep, tmp_path):
    """The committed summaries name trials by task, algorithm, seed and hyper-parameters; when a task's config file
    changes under them, the sweep refuses to skip them as done (before Ray starts) and names them."""
    import shutil

    from hedgegym.sweep.runner import run_sweep

    tmp, _sweep, first = first_sweep
    shutil.copytree(tmp / "summaries", tmp_path / "summaries")
    changed = yaml.safe_load((ROOT / "configs/deep_gbm_cost_20d.yaml").read_text())
    changed["agent"]["learning_rate"] = 0.0123
    (tmp_path / "deep.yaml").write_text(yaml.safe_dump(changed))
    sweep = smoke(tmp_path, tasks=[{"name": "gbm_cost_20d", "configs": {"deep_hedging": str(tmp_path / "deep.yaml")}}])
    with pytest.raises(SweepConfigError, match="config_sha256 differs") as error:
        run_sweep(sweep, base_dir=ROOT)
    assert all(identifier in str(error.value) for identifier in first.planned)
    assert not (tmp_path / "sweep").exists()


def test_tuned_classical_rules_are_recorded_once_and_join_the_leaderboard(first_sweep, tmp_path):
    """``tune_classical``: the driver tunes each task's classical rules on the validation paths and scores them on
    the trials' test paths (here every trial is summarised: Ray is not started); the record's rows equal a direct
    evaluation of the tuned hedgers on those test paths, the leaderboard ranks them with the default rules, a rerun
    writes nothing, and a record of another task config is refused."""
    import shutil

    from hedgegym.evaluation.leaderboard import build_leaderboard, read_summaries
    from hedgegym.evaluation.reports import compare
    from hedgegym.evaluation.tuning import tune_classical
    from hedgegym.sweep.classical import load_classical
    from hedgegym.sweep.runner import run_sweep

    tmp, _sweep, first = first_sweep
    shutil.copytree(tmp / "summaries", tmp_path / "summaries")
    sweep = smoke(tmp_path, tune_classical=True, classical_validation_paths=100)
    result = run_sweep(sweep, base_dir=ROOT)
    assert result.experiments == [] and [p.name for p in result.classical] == ["gbm_cost_20d.json"]
    record = load_classical(tmp_path / "summaries")["gbm_cost_20d"]
    config = sweep.experiment_configs(ROOT)["gbm_cost_20d", "deep_hedging"]
    tuned = tune_classical(config, 100)
    assert {rule: entry["value"] for rule, entry in record["tuned"].items()} == {r.rule: r.value for r in tuned}
    from hedgegym.baselines import NoHedge

    table = compare(config, [NoHedge(), *(r.hedger for r in tuned)], 200, 1234, 0, 1.5).table
    assert sorted(record["metrics"]) == sorted(f"{r.rule}_tuned" for r in tuned)
    for hedger, row in record["metrics"].items():
        assert row["y"] == pytest.approx(table.loc[hedger, "y"], rel=1e-9)
        assert row["cbr"] == pytest.approx(table.loc[hedger, "cbr"], rel=1e-9)  # against no hedge
    board = build_leaderboard(read_summaries(tmp_path / "summaries"), reps=200,
                              classical=load_classical(tmp_path / "summaries"))
    rows = board.table[board.table["scope"] == "task"].set_index("hedger")
    assert {"whalley_wilmott_tuned", "whalley_wilmott", "deep_hedging"} <= set(rows.index)
    premium = read_summary(tmp_path / "summaries" / f"{first.planned[0]}.json")["premium"]
    assert rows.loc["whalley_wilmott_tuned", "y_pct"] == pytest.approx(
        100 * record["metrics"]["whalley_wilmott_tuned"]["y"] / premium, rel=1e-9)
    before = snapshot(tmp_path / "summaries")
    assert run_sweep(sweep, base_dir=ROOT).classical == [] and snapshot(tmp_path / "summaries") == before
    other = smoke(tmp_path, tune_classical=True, classical_validation_paths=100, evaluation_paths=300)
    with pytest.raises(SweepConfigError, match="task_sha256 differs"):
        run_sweep(other, base_dir=ROOT)


def test_optuna_search_with_asha_leaves_a_summary_or_a_stopped_marker_per_trial(ray_session, tmp_path):
    """Two PPO trials sampled by Optuna's TPE under ASHA (validation Y only): each ends summarised or stopped early
    (a marker with the validation points it reported), the best configuration is written as YAML, and a rerun
    finds the search complete and trains nothing."""
    from hedgegym.config import load_config
    from hedgegym.sweep.runner import load_stopped, run_sweep

    sweep = parse_sweep_config({
        "name": "search", "seeds": [0],
        "tasks": [{"name": "gbm_cost_20d", "configs": {"ppo": "configs/ppo_gbm_cost_20d.yaml"}}],
        "overrides": {"ppo": {"agent.n_envs": 16, "agent.batch_size": 32, "agent.n_epochs": 1,
                              "agent.sb3_kwargs": {"n_steps": 20}}},
        "search_space": {"ppo": {"agent.learning_rate": {"loguniform": [1.0e-4, 1.0e-2]}}},
        "search": {"algorithm": "optuna", "num_samples": 2, "seed": 0},
        "scheduler": {"type": "asha", "grace_period": 1, "max_t": 100, "reduction_factor": 2},
        "max_concurrent_trials": 1, "total_timesteps": 960, "evaluation_paths": 100, "validation_paths": 100,
        "summaries": str(tmp_path / "summaries"), "directory": str(tmp_path / "sweep")})
    result = run_sweep(sweep, base_dir=ROOT)
    assert result.failed == {} and result.left == 0 and len(result.experiments) == 1
    summaries, stopped = load_summaries(tmp_path / "summaries"), load_stopped(tmp_path / "summaries")
    assert len(summaries) + len(stopped) == 2 and sorted(result.planned) == sorted({*summaries, *stopped})
    assert len(summaries) >= 1  # ASHA always lets the first trial of a rung through
    for marker in stopped.values():
        assert marker["history"] and all(step <= 960 for step, _ in marker["history"])
        assert len(marker["config_sha256"]) == 64
    [record] = (tmp_path / "summaries" / "searches").iterdir()  # the search ended uninterrupted: it is complete
    assert record.name == "search__gbm_cost_20d__ppo__0.json"
    assert sorted(json.loads(record.read_text())["trials"]) == sorted(result.planned)
    rates = {s["hyperparameters"]["agent.learning_rate"] for s in summaries.values()}
    assert all(1.0e-4 <= rate <= 1.0e-2 for rate in rates)
    [best] = result.best
    chosen = min(summaries.values(), key=lambda s: s["validation"]["y"])
    assert load_config(best).agent.learning_rate == chosen["hyperparameters"]["agent.learning_rate"]
    before = snapshot(tmp_path)
    again = run_sweep(sweep, base_dir=ROOT)
    assert again.experiments == [] and again.finished == [] and again.left == 0
    assert {k: v for k, v in snapshot(tmp_path).items() if "/best/" not in k} == {
        k: v for k, v in before.items() if "/best/" not in k}


def test_a_record_whose_overrides_no_longer_apply_is_named(tmp_path):
    """A summary's hyper-parameters that the task's config now refuses (here: a batch larger than its training set)
    are a clear input error naming the file, not a traceback."""
    from hedgegym.config import apply_overrides, load_config
    from hedgegym.sweep.runner import _check_summaries

    base = apply_overrides(load_config(ROOT / "configs/deep_gbm_cost_20d.yaml"),
                           {"agent.batch_paths": 16, "agent.training_paths": 32})
    record = {"task": "t", "algo": "deep_hedging", "seed": 0, "config": "c.yaml",
              "hyperparameters": {"agent.batch_paths": 64}, "config_sha256": "0" * 64}
    with pytest.raises(SweepConfigError, match=r"(?s)t__deep_hedging__0__x\.json: its overrides do not apply.*"
                                               r"training_paths"):
        _check_summaries({"t__deep_hedging__0__x": record}, {("t", "deep_hedging"): base}, tmp_path)


def _cli_sweep(sweep_file: Path, *args: str) -> subprocess.Popen:
    """``hedgegym sweep`` in its own process group (so a kill reaches Ray's processes too)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "hedgegym.cli", "sweep", "--config", str(sweep_file), *args],
                            cwd=ROOT, env=env, start_new_session=True, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def _wait_for_summary(process: subprocess.Popen, directory: Path, timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while not list(directory.glob("*.json")):
        assert process.poll() is None, process.stdout.read()
        assert time.monotonic() < deadline, "no trial finished in time"
        time.sleep(0.2)


def _killable_sweep(tmp_path: Path, seeds: str = "[0, 1, 2]", concurrent: int = 1) -> Path:
    sweep_file = tmp_path / "sweep.yaml"
    text = (ROOT / "configs/sweeps/smoke.yaml").read_text().replace("iterations: 3", "iterations: 60")
    sweep_file.write_text(text.replace("seeds: [0, 1]", f"seeds: {seeds}") +
                          f"\nmax_concurrent_trials: {concurrent}\nsummaries: {tmp_path / 'summaries'}\n"
                          f"directory: {tmp_path / 'sweep'}\n")
    return sweep_file


@pytest.mark.slow  # three deep-hedging trials, a kill and a rerun: ~40 s on 2 cores
def test_sweep_killed_mid_way_and_run_again_ends_with_the_same_trials(tmp_path):
    from hedgegym.sweep.config import load_sweep_config
    from hedgegym.sweep.runner import plan_trials

    sweep_file = _killable_sweep(tmp_path)
    planned = sorted(trial.trial_id for trial in plan_trials(load_sweep_config(sweep_file, check_configs=False)))
    process = _cli_sweep(sweep_file)
    _wait_for_summary(process, tmp_path / "summaries")
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    done = sorted(path.stem for path in (tmp_path / "summaries").glob("*.json"))
    assert 1 <= len(done) < len(planned), "the kill must land mid-way"
    kept = snapshot(tmp_path / "summaries", *(tmp_path / "sweep" / "runs" / trial for trial in done))
    again = _cli_sweep(sweep_file)
    output, _ = again.communicate(timeout=600)
    assert again.returncode == 0, output
    assert sorted(load_summaries(tmp_path / "summaries")) == planned
    after = snapshot(tmp_path / "summaries", tmp_path / "sweep" / "runs")
    assert {path: after[path] for path in kept} == kept  # nothing of the finished trials was touched
    for trial in planned:  # one finished run per trial; a partial run of the killed trial is kept beside it
        runs = list((tmp_path / "sweep" / "runs" / trial).iterdir())
        assert sum((run / "final_model.pt").is_file() for run in runs) == 1


@pytest.mark.slow  # three deep-hedging trials, an interrupt and a restore: ~40 s on 2 cores
def test_interrupted_sweep_resumes_from_tunes_saved_state(tmp_path):
    sweep_file = _killable_sweep(tmp_path)
    process = _cli_sweep(sweep_file)
    _wait_for_summary(process, tmp_path / "summaries")
    os.kill(process.pid, signal.SIGINT)  # Ctrl-C to the driver: Tune saves its state
    output, _ = process.communicate(timeout=120)
    assert process.returncode == 130, output
    assert "--resume" in output
    done = sorted(path.stem for path in (tmp_path / "summaries").glob("*.json"))
    kept = snapshot(tmp_path / "summaries")
    resumed = _cli_sweep(sweep_file, "--resume", str(tmp_path / "sweep" / "tune"))
    output, _ = resumed.communicate(timeout=600)
    assert resumed.returncode == 0, output
    assert len(load_summaries(tmp_path / "summaries")) == 3 and f"{len(done)} skipped" in output
    after = snapshot(tmp_path / "summaries")
    assert {path: after[path] for path in kept} == kept
    assert list((tmp_path / "sweep" / "tune").iterdir()) == [tmp_path / "sweep" / "tune" / "trials"]


def test_cli_refuses_bad_input(tmp_path):
    from hedgegym.cli import app

    runner = CliRunner()
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\ntasks: []\n")
    result = runner.invoke(app, ["sweep", "--config", str(bad)])
    assert result.exit_code == 2 and "tasks" in result.output
    good = ROOT / "configs/sweeps/smoke.yaml"
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        result = runner.invoke(app, ["sweep", "--config", str(good), "--resume", str(tmp_path / "none")])
    finally:
        os.chdir(cwd)
    assert result.exit_code == 2 and "--resume" in result.output and "no such directory" in result.output
    with pytest.raises(SweepConfigError, match="stop_after"):
        from hedgegym.sweep.runner import run_sweep

        run_sweep(smoke(tmp_path), stop_after=0, base_dir=ROOT)


def test_ppo_trial_reports_validation_points_to_the_scheduler(tmp_path):
    """``run_trial`` without Ray: a tiny PPO trial reports every ``hedge/y`` validation point (what ASHA reads), the
    last one at the final step equal to the summary's validation Y (same policy, same validation paths)."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from hedgegym.sweep.runner import TrialSpec, base_config, run_trial, trial_config
    from hedgegym.sweep.summary import config_sha256

    hp = {"agent.n_envs": 32, "agent.batch_size": 64, "agent.n_epochs": 1, "agent.sb3_kwargs": {"n_steps": 20},
          "agent.total_timesteps": 1280, "evaluation.n_paths": 100}
    spec = TrialSpec("gbm_cost_20d", "ppo", 0, "configs/ppo_gbm_cost_20d.yaml", hp)
    reports: list[dict] = []
    base = base_config(spec.config, ROOT)
    settings = {"sweep": "t", "sweep_dir": str(tmp_path / "d"), "validation_paths": 100, "cpus": 1,
                "configs": {"gbm_cost_20d/ppo": base.model_dump(mode="json")}}
    cwd = os.getcwd()
    os.chdir(tmp_path)  # the worker reads no config file: the driver ships the config
    try:
        summary = run_trial(spec.__dict__, settings, report=reports.append)
    finally:
        os.chdir(cwd)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d"]  # only the run directory: the driver writes summaries
    assert json.loads(reports[-1]["summary"]) == summary
    assert summary["config_sha256"] == config_sha256(trial_config(spec, base))
    points = [r for r in reports if "step" in r]
    run = next((tmp_path / "d" / "runs" / spec.trial_id).iterdir())
    events = EventAccumulator(str(run / "tb"))
    events.Reload()
    logged = [(e.step, e.value) for e in events.Scalars("hedge/y")]
    assert [r["step"] for r in points] == [step for step, _ in logged]
    assert [r["validation_y"] for r in points] == pytest.approx([value for _, value in logged], rel=1e-6)
    assert len(points) >= 2 and points[-1]["step"] == 1280
    assert reports[-1]["validation_y"] == summary["validation"]["y"]
    assert summary["validation"]["y"] == pytest.approx(points[-1]["validation_y"], rel=1e-9)


def test_cli_names_a_malformed_summary_already_in_the_summaries_directory(tmp_path):
    """A broken summary among the committed ones is a clear input error (exit 2, the file named), not a traceback;
    it is found before Ray starts."""
    from hedgegym.cli import app
    from hedgegym.sweep.runner import plan_trials

    sweep_file = tmp_path / "smoke.yaml"
    text = (ROOT / "configs/sweeps/smoke.yaml").read_text()
    sweep_file.write_text(text + f"\nsummaries: {tmp_path / 'summaries'}\ndirectory: {tmp_path / 'sweep'}\n")
    from hedgegym.sweep.config import load_sweep_config

    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        first = plan_trials(load_sweep_config(sweep_file))[0]
        (tmp_path / "summaries").mkdir()
        broken = tmp_path / "summaries" / f"{first.trial_id}.json"
        broken.write_text("{not json")
        result = CliRunner().invoke(app, ["sweep", "--config", str(sweep_file)])
    finally:
        os.chdir(cwd)
    assert result.exit_code == 2, result.output
    assert first.trial_id in result.output.replace("\n", "")  # the console wraps long paths


@pytest.mark.slow  # two deep-hedging trials interrupted while both run, then restored: ~40 s on 2 cores
def test_interrupt_while_every_trial_runs_is_seen_and_resumed(tmp_path):
    """Ctrl-C while every trial of the experiment is running (none pending, none finished): Tune's clean-up marks
    them TERMINATED, yet the sweep reports the interruption (exit 130), and ``--resume`` finishes both."""
    sweep_file = _killable_sweep(tmp_path, seeds="[0, 1]", concurrent=2)
    process = _cli_sweep(sweep_file)
    runs = tmp_path / "sweep" / "runs"
    deadline = time.monotonic() + 300
    while not (runs.is_dir() and len([p for p in runs.glob("*/*/config.yaml")]) == 2):
        assert process.poll() is None and time.monotonic() < deadline, process.stdout.read()
        time.sleep(0.1)
    os.kill(process.pid, signal.SIGINT)
    output, _ = process.communicate(timeout=120)
    assert not list((tmp_path / "summaries").glob("*.json")), "the interrupt must land while both trials run"
    assert process.returncode == 130, output
    resumed = _cli_sweep(sweep_file, "--resume", str(tmp_path / "sweep" / "tune"))
    output, _ = resumed.communicate(timeout=600)
    assert resumed.returncode == 0, output
    assert len(load_summaries(tmp_path / "summaries")) == 2


def test_a_malformed_stopped_marker_is_named(tmp_path):
    """A stopped-trial marker that is not JSON, lacks a key the config check reads (``task``), or has a malformed
    history is refused naming the file, before any trial runs (not a KeyError from the config check)."""
    import json

    from hedgegym.sweep.runner import STOPPED_SCHEMA, load_stopped

    folder = tmp_path / "stopped"
    folder.mkdir()
    good = {"schema": STOPPED_SCHEMA, "sweep": "s", "trial_id": "t__ppo__0__x", "task": "t", "algo": "ppo", "seed": 0,
            "hyperparameters": {}, "config_sha256": "0" * 64, "history": [[100, 1.5]], "finished_at": "now"}
    path = folder / "t__ppo__0__x.json"
    path.write_text(json.dumps(good))
    assert load_stopped(tmp_path) == {"t__ppo__0__x": good}
    for bad, message in [("{not json", "not a readable JSON record"),
                         (json.dumps({k: v for k, v in good.items() if k != "task"}), "not a stopped-trial marker"),
                         (json.dumps({**good, "history": [[100]]}), "not a stopped-trial marker")]:
        path.write_text(bad)
        with pytest.raises(SweepConfigError, match=message) as error:
            load_stopped(tmp_path)
        assert path.name in str(error.value)
