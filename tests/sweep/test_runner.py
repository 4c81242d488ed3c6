"""The sweep end to end on Ray Tune (one local Ray session for the module): a CI-sized 2-trial deep-hedging sweep
writes two schema-valid summaries whose numbers are the runs' own evaluation tables and the validation Y computed
here from the per-path P&L; a rerun skips both and writes nothing; a sweep stopped after one trial finishes the
other on ``--resume`` without touching the first; the CLI refuses bad input with exit code 2."""

from __future__ import annotations

import hashlib
import os
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
        assert summary["agent"] == "deep_hedging" and summary["test"] == {"n_paths": 200, "seed": 1234}
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


@pytest.mark.slow  # a second 2-trial sweep and its restore: ~8 s on 2 cores
def test_stopped_sweep_finishes_the_other_trial_on_resume(ray_session, tmp_path):
    from hedgegym.sweep.runner import run_sweep

    sweep = smoke(tmp_path, max_concurrent_trials=1)
    stopped = run_sweep(sweep, base_dir=ROOT, stop_after=1)
    assert len(stopped.finished) == 1 and stopped.failed == {}
    done = stopped.finished[0]
    kept = snapshot(tmp_path / "summaries", tmp_path / "sweep" / "runs" / done)
    resumed = run_sweep(sweep, base_dir=ROOT, resume=tmp_path / "sweep" / "tune")
    assert resumed.failed == {} and resumed.skipped == [done]
    assert sorted(load_summaries(tmp_path / "summaries")) == sorted(stopped.planned)
    assert resumed.experiments[0] == stopped.experiments[0]  # the stopped Tune experiment, restored first
    after = snapshot(tmp_path / "summaries", tmp_path / "sweep" / "runs" / done)
    assert {path: after[path] for path in kept} == kept  # the first trial's summary and run are untouched
    for identifier in stopped.planned:
        assert len(list((tmp_path / "sweep" / "runs" / identifier).iterdir())) == 1
        read_summary(tmp_path / "summaries" / f"{identifier}.json")


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

    from hedgegym.sweep.runner import TrialSpec, run_trial

    hp = {"agent.n_envs": 32, "agent.batch_size": 64, "agent.n_epochs": 1, "agent.sb3_kwargs": {"n_steps": 20},
          "agent.total_timesteps": 1280, "evaluation.n_paths": 100}
    spec = TrialSpec("gbm_cost_20d", "ppo", 0, "configs/ppo_gbm_cost_20d.yaml", hp)
    reports: list[dict] = []
    settings = {"sweep": "t", "summaries": str(tmp_path / "s"), "sweep_dir": str(tmp_path / "d"),
                "base_dir": str(ROOT), "validation_paths": 100, "cpus": 1}
    summary = run_trial(spec.__dict__, settings, report=reports.append)
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
