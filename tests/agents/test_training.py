"""Training runs: run directory contents, never reusing a directory, exact resume, complete runs left alone,
bad inputs refused before anything is written, TensorBoard steps, Ctrl-C at every stage, locked run directories.

The reference of every resume test is the uninterrupted run with the same seed (the issue's definition of
"resuming is continuing"): its final policy must be equal bit for bit, its TensorBoard scalars (tags, steps and
values) equal, and its evaluation files byte for byte.
"""

from __future__ import annotations

import fcntl
import importlib.util
import json
import os
import shutil
import signal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from stable_baselines3 import PPO, SAC
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from typer.testing import CliRunner

from hedgegym.agents import training
from hedgegym.agents.callbacks import HedgeMetricsCallback, RichProgressCallback, TrainingInterrupted
from hedgegym.agents.checkpoint import checkpoint_steps, list_checkpoints, write_atomically
from hedgegym.agents.training import (
    RunError,
    apply_overrides,
    evaluate_run,
    new_run_directory,
    resume,
    train,
)
from hedgegym.cli import app
from hedgegym.config import ConfigError, load_config, parse_config

ROOT = Path(__file__).resolve().parents[2]

SMOKE = {
    "name": "smoke",
    "market": {"model": "gbm", "volatility": 0.2, "mu": 0.05, "rate": 0.02},
    "book": [{"strike": 100.0, "maturity": 0.05, "quantity": -10}],
    "simulation": {"n_steps": 8},
    "costs": {"proportional": {"stock": 0.002}},
    "env": {"episodes_per_draw": 3},  # a path block ends mid-run: the resumed env must continue inside it
    "evaluation": {"n_paths": 100, "bootstrap": 10},
}
AGENTS = {
    # PPO rollout = 4 envs x 8 steps = 32 steps; 200 is not a multiple: the run ends at 224
    "ppo": {"algo": "ppo", "n_envs": 4, "batch_size": 16, "total_timesteps": 200, "net_arch": [8]},
    "sac": {"algo": "sac", "n_envs": 4, "batch_size": 16, "total_timesteps": 240, "net_arch": [8],
            "sb3_kwargs": {"learning_starts": 64, "buffer_size": 1000}},
}
FAST = {"validation_paths": 20, "eval_every": 10_000}
# hedge/* at (nearly) every rollout boundary: a point is due at the step a run is interrupted at
EVERY_ROLLOUT = {"validation_paths": 20, "eval_every": 10}


@pytest.fixture
def no_plots(monkeypatch):
    """Skip the figures (about 1 s each on a shared 2-core machine): these tests compare numbers and files."""
    monkeypatch.setattr("hedgegym.evaluation.reports._plots", lambda *_args: [])
    monkeypatch.setattr("hedgegym.agents.callbacks.HedgeMetricsCallback._figure", lambda *_args: None)
    monkeypatch.setattr("torch.utils.tensorboard.SummaryWriter.add_figure", lambda *_args, **_kwargs: None)


def smoke(algo: str, **agent) -> object:
    return parse_config({**SMOKE, "agent": {**AGENTS[algo], **agent}})


def parameters(path: Path, algo: str) -> np.ndarray:
    model = {"ppo": PPO, "sac": SAC}[algo].load(path, device="cpu")
    return np.concatenate([p.detach().numpy().ravel() for p in model.policy.parameters()])


def script(name: str):
    spec = importlib.util.spec_from_file_location(f"_script_{name}", ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


def tree(directory: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(directory)): (p.stat().st_size, p.stat().st_mtime_ns) for p in directory.rglob("*")}


def ctrl_c_at(monkeypatch, step: int) -> None:
    """Send a real SIGINT once training has passed ``step`` environment steps."""
    original = RichProgressCallback._on_step

    def on_step(self) -> bool:
        if self.num_timesteps >= step and not getattr(self, "_sent", False):
            self._sent = True
            os.kill(os.getpid(), signal.SIGINT)
        return original(self)

    monkeypatch.setattr(RichProgressCallback, "_on_step", on_step)


def ctrl_c_before_the_first_rollout(monkeypatch) -> None:
    """Send a real SIGINT while the metrics callback evaluates the delta hedger, before rollout 1."""
    original = HedgeMetricsCallback._on_training_start

    def on_training_start(self) -> None:
        os.kill(os.getpid(), signal.SIGINT)
        original(self)

    monkeypatch.setattr(HedgeMetricsCallback, "_on_training_start", on_training_start)


def interrupted(config, directory: Path, monkeypatch, stop_at: int = 90) -> TrainingInterrupted:
    """Train ``config`` into ``directory`` with a real Ctrl-C once ``stop_at`` steps have passed (0: before the first
    rollout); the ``TrainingInterrupted`` it ends with, the plots switched off again for what follows."""
    if stop_at == 0:
        ctrl_c_before_the_first_rollout(monkeypatch)
    else:
        ctrl_c_at(monkeypatch, stop_at)
    with pytest.raises(TrainingInterrupted) as stop:
        train(config, directory, **EVERY_ROLLOUT)
    monkeypatch.undo()
    no_plots_again(monkeypatch)
    return stop.value


def scalars(run: Path) -> dict[str, list[tuple[int, float]]]:
    """TensorBoard scalars of a run as TensorBoard shows them (purged events hidden): tag -> [(step, value)];
    wall-clock tags (time/*) left out. Every tag has one point per step."""
    events = EventAccumulator(str(run / "tb")).Reload()
    # sorted by step, as TensorBoard plots them: the accumulator reads event files in name order, and two files
    # written in the same second differ only in a per-process counter that sorts as text ("12" before "5")
    points = {tag: sorted((event.step, event.value) for event in events.Scalars(tag))
              for tag in events.Tags()["scalars"] if not tag.startswith("time/")}
    for tag, values in points.items():
        steps = [step for step, _ in values]
        assert len(steps) == len(set(steps)), f"{tag}: steps repeated {sorted(steps)}"
    return points


def test_ppo_run_directory_holds_config_tensorboard_checkpoints_model_and_table(tmp_path, monkeypatch):
    monkeypatch.setattr("hedgegym.evaluation.reports._plots", lambda *_args: [])  # tested in tests/evaluation
    config = smoke("ppo")
    run = train(config, tmp_path, **FAST)
    assert run.name.startswith("smoke__ppo__0__")
    assert load_config(run / "config.yaml") == config
    assert (run / "final_model.zip").exists() and list((run / "tb").rglob("events.out.tfevents*"))
    steps = [checkpoint_steps(p) for p in list_checkpoints(run / "checkpoints")]
    # at the first rollout boundary past each tenth of 200 steps, and at the end: 224 = 7 whole rollouts of 32
    assert steps == [32, 64, 96, 128, 160, 192, 224]
    assert PPO.load(run / "final_model.zip").num_timesteps == steps[-1]
    table = (run / "evaluation" / "results.csv").read_text()
    assert "ppo" in table and "delta" in table
    # a second evaluation goes to a new directory next to the first
    result = CliRunner().invoke(app, ["evaluate", str(run), "--paths", "50"])
    assert result.exit_code == 0, result.output
    assert len(list(run.glob("evaluation*"))) == 2
    (written,) = run.glob("evaluation_*")
    assert f"ppo (the final model) → {written}" in result.output.replace("\n", "")
    assert not list(run.glob(".*"))  # no temporary file left


def test_run_directories_are_never_reused(tmp_path, monkeypatch):
    monkeypatch.setattr("hedgegym.agents.training.time.strftime", lambda _format: "20260101-000000")
    config = parse_config(SMOKE)
    first = new_run_directory(config, tmp_path)
    (first / "final_model.zip").write_text("a user's model")
    with pytest.raises(FileExistsError):
        new_run_directory(config, tmp_path)  # same name in the same second: refused, nothing touched
    assert (first / "final_model.zip").read_text() == "a user's model"


SDE = {"ppo": {"use_sde": True}, "sac": {**AGENTS["sac"]["sb3_kwargs"], "use_sde": True}}


@pytest.mark.parametrize(("algo", "sb3_kwargs", "stop_at"), [
    ("ppo", None, 90), ("sac", None, 90),
    ("ppo", SDE["ppo"], 90), ("sac", SDE["sac"], 90),  # gSDE: the rollout's exploration matrices
    ("ppo", None, 0),  # Ctrl-C before the first rollout: the checkpoint at step 0
    ("ppo", None, 200),  # Ctrl-C during the last rollout (192 -> 224): the final checkpoint, no evaluation
], ids=["ppo", "sac", "ppo-sde", "sac-sde", "ppo-step0", "ppo-last-rollout"])
def test_interrupted_and_resumed_run_equals_the_uninterrupted_run(algo, sb3_kwargs, stop_at, tmp_path, monkeypatch,
                                                                  no_plots):
    config = smoke(algo, **({"sb3_kwargs": sb3_kwargs} if sb3_kwargs else {}))
    full = train(config, tmp_path / "full", **EVERY_ROLLOUT)
    stop = interrupted(config, tmp_path / "cut", monkeypatch, stop_at)
    run = stop.checkpoint.parent.parent
    assert stop.checkpoint.is_file() and stop.steps >= stop_at
    assert not (run / "final_model.zip").exists() and not (run / "evaluation").exists()
    assert resume(run, **EVERY_ROLLOUT) == "trained"
    np.testing.assert_array_equal(parameters(run / "final_model.zip", algo), parameters(full / "final_model.zip", algo))
    assert scalars(run) == scalars(full)
    for name in ("results.csv", "per_path.csv"):
        assert (run / "evaluation" / name).read_bytes() == (full / "evaluation" / name).read_bytes()
    # a crash (no Ctrl-C): resume from an earlier periodic checkpoint, everything after it lost
    kept = list_checkpoints(run / "checkpoints")[-2]
    for path in (run / "checkpoints").iterdir():
        if checkpoint_steps(Path(path.name.split(".")[0] + ".zip")) > checkpoint_steps(kept):
            path.unlink()
    (run / "final_model.zip").unlink()
    shutil.rmtree(run / "evaluation")
    assert resume(run, **EVERY_ROLLOUT) == "trained"
    np.testing.assert_array_equal(parameters(run / "final_model.zip", algo), parameters(full / "final_model.zip", algo))
    assert scalars(run) == scalars(full)


def no_plots_again(monkeypatch) -> None:
    monkeypatch.setattr("hedgegym.evaluation.reports._plots", lambda *_args: [])
    monkeypatch.setattr("hedgegym.agents.callbacks.HedgeMetricsCallback._figure", lambda *_args: None)
    monkeypatch.setattr("torch.utils.tensorboard.SummaryWriter.add_figure", lambda *_args, **_kwargs: None)


def test_resuming_a_complete_run_does_nothing_and_writes_nothing(tmp_path, capsys, no_plots):
    run = train(smoke("ppo"), tmp_path, **FAST)
    before = tree(run)
    assert resume(run) == "complete"
    assert script("train")(["--resume", str(run)]) == 0
    assert "nothing to do" in capsys.readouterr().out
    assert tree(run) == before
    # stopped during the evaluation: resume writes the evaluation only, the same as the first one
    table = (run / "evaluation" / "results.csv").read_bytes()
    shutil.rmtree(run / "evaluation")
    assert resume(run) == "evaluated"
    assert (run / "evaluation" / "results.csv").read_bytes() == table


def test_bad_resume_targets_exit_2_with_a_message(tmp_path, capsys):
    main = script("train")
    runs = tmp_path / "runs"
    unfinished = runs / "smoke__ppo__0__x"
    unfinished.mkdir(parents=True)
    smoke("ppo").save(unfinished / "config.yaml")
    cases = {str(tmp_path / "missing"): "no such run directory", str(runs): "not a run directory",
             str(unfinished): "no checkpoint"}
    for target, message in cases.items():
        assert main(["--resume", target]) == 2
        output = capsys.readouterr().out
        assert message in output and "Traceback" not in output
    assert main(["--resume", str(runs)]) == 2
    assert "pass one of them" in capsys.readouterr().out  # runs/ itself: the message points to a run inside
    checkpoints = unfinished / "checkpoints"
    checkpoints.mkdir()
    (checkpoints / "model_64_steps.zip").write_bytes(b"not a zip")
    (checkpoints / "model_64_steps.state.pkl").write_bytes(b"not a pickle")
    assert main(["--resume", str(unfinished)]) == 2
    output = capsys.readouterr().out
    assert "model_64_steps.zip cannot be read" in output and "Traceback" not in output
    deep = runs / "smoke__deep__0__x"
    deep.mkdir()
    parse_config({**SMOKE, "agent": {"algo": "deep_hedging"}}).save(deep / "config.yaml")
    with pytest.raises(RunError, match="deep-hedging runs keep no checkpoints"):
        resume(deep)


def test_hedgegym_train_command_trains_into_a_run_directory_and_refuses_mixed_resume(tmp_path, no_plots):
    """``hedgegym train`` is the command; ``scripts/train.py`` wraps it (the other tests call the script)."""
    from typer.testing import CliRunner

    path = tmp_path / "ppo.yaml"
    path.write_text(yaml.safe_dump({**SMOKE, "agent": AGENTS["ppo"]}))
    runner = CliRunner()
    result = runner.invoke(app, ["train", "--config", str(path), "--runs-dir", str(tmp_path / "runs"),
                                 "--total-timesteps", "64"])
    assert result.exit_code == 0, result.output
    runs = list((tmp_path / "runs").iterdir())
    assert len(runs) == 1 and runs[0].name.startswith("smoke__ppo__0__")
    assert (runs[0] / "evaluation" / "results.csv").exists() and "run written to" in result.output
    result = runner.invoke(app, ["train", "--resume", str(runs[0]), "--seed", "3"])
    assert result.exit_code == 2 and "--resume continues a run with its saved config" in result.output
    result = runner.invoke(app, ["train", "--resume", str(runs[0])])
    assert result.exit_code == 0 and "is complete" in result.output


@pytest.mark.parametrize(("flags", "field"), [
    (["--total-timesteps", "0"], "agent.total_timesteps"),
    (["--seed", "-1"], "agent.seed"),
    (["--eval-paths", "-1"], "evaluation.n_paths"),
    (["--eval-paths", "3"], "evaluation.n_paths"),
])
def test_bad_overrides_exit_2_naming_the_field_and_write_nothing(flags, field, tmp_path, capsys):
    path = tmp_path / "ppo.yaml"
    path.write_text(yaml.safe_dump({**SMOKE, "agent": AGENTS["ppo"]}))
    assert script("train")(["--config", str(path), "--runs-dir", str(tmp_path / "runs"), *flags]) == 2
    output = capsys.readouterr().out
    assert field in output and "Traceback" not in output
    assert not (tmp_path / "runs").exists()


def test_bad_sb3_kwargs_and_overrides_write_nothing(tmp_path):
    with pytest.raises(ConfigError, match="sb3_kwargs"):
        train(smoke("ppo", sb3_kwargs={"not_an_argument": 1}), tmp_path / "a")
    with pytest.raises(ConfigError, match="batch_size"):
        train(smoke("ppo", sb3_kwargs={"batch_size": 1}), tmp_path / "b")
    invalid = smoke("ppo").model_copy(update={"agent": smoke("ppo").agent.model_copy(update={"total_timesteps": 0})})
    with pytest.raises(ConfigError, match=r"agent\.total_timesteps"):
        train(invalid, tmp_path / "c")  # a model_copy skips validation: train validates again
    assert not any((tmp_path / name).exists() for name in "abc")
    with pytest.raises(ConfigError, match=r"evaluation\.n_paths"):
        apply_overrides(smoke("ppo"), evaluation={"n_paths": 3})


def test_ctrl_c_in_deep_hedging_says_no_checkpoint_was_saved(tmp_path, monkeypatch, capsys):
    def interrupted(*_args, **_kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(training, "train_deep_hedger", interrupted)
    path = tmp_path / "deep.yaml"
    path.write_text(yaml.safe_dump({**SMOKE, "agent": {"algo": "deep_hedging", "iterations": 2, "batch_paths": 16}}))
    assert script("train")(["--config", str(path), "--runs-dir", str(tmp_path / "runs")]) == 130
    output = capsys.readouterr().out
    assert "no checkpoint was saved" in output and "a checkpoint was saved" not in output


def test_deep_hedging_run_is_evaluated_against_the_baselines(tmp_path, no_plots):
    config = parse_config({**SMOKE, "agent": {"algo": "deep_hedging", "iterations": 5, "batch_paths": 64}})
    run = train(config, tmp_path)
    assert (run / "final_model.pt").exists()
    comparison = evaluate_run(run, n_paths=50, output_name="again")
    assert "deep_hedging" in comparison.table.index
    assert resume(run) == "complete"


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="this machine has CUDA")
def test_deep_hedging_on_a_cuda_device_the_machine_lacks_is_refused_before_any_file(tmp_path):
    config = parse_config({**SMOKE, "agent": {"algo": "deep_hedging", "device": "cuda:0"}})
    with pytest.raises(ConfigError, match=r"agent\.device: device 'cuda:0': CUDA is not available"):
        train(config, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_float64_deep_hedging_run_is_loaded_and_evaluated_in_float64(tmp_path, no_plots):
    import torch

    config = parse_config({**SMOKE, "agent": {"algo": "deep_hedging", "iterations": 2, "batch_paths": 32,
                                              "dtype": "float64"}})
    run = train(config, tmp_path)
    hedger, _ = training.load_agent(run)
    saved = torch.load(run / "final_model.pt", map_location="cpu")
    assert all(value.dtype == torch.float64 for value in saved.values())
    for name, value in hedger.policy.state_dict().items():
        assert value.dtype == torch.float64 and torch.equal(value, saved[name])  # not rounded to float32


def test_evaluate_script_refuses_non_runs_and_paths_below_the_config_minimum(tmp_path, capsys):
    main = script("evaluate")
    assert main([str(tmp_path)]) == 2
    assert "not a run directory" in capsys.readouterr().out
    smoke("ppo").save(tmp_path / "config.yaml")
    assert main([str(tmp_path)]) == 2
    assert "no final_model.zip" in capsys.readouterr().out
    result = CliRunner().invoke(app, ["evaluate", str(tmp_path)])
    assert result.exit_code == 2 and "no final_model.zip" in result.output and result.exception is not None
    assert isinstance(result.exception, SystemExit)  # typer.Exit, not a traceback


def test_tensorboard_train_values_at_rollout_steps_and_last_hedge_point_at_the_end(tmp_path, no_plots):
    # eval_every 40 is not a multiple of the 32-step rollout: SB3's train/* must still land on rollout ends
    run = train(smoke("ppo"), tmp_path, validation_paths=20, eval_every=40)
    events = EventAccumulator(str(run / "tb")).Reload()
    train_steps = [event.step for event in events.Scalars("train/loss")]
    assert train_steps and all(step % 32 == 0 for step in train_steps)
    for tag in events.Tags()["scalars"]:  # one point per step (no second train/* point at the last step)
        steps = [event.step for event in events.Scalars(tag)]
        assert len(steps) == len(set(steps)), (tag, steps)
    hedge_steps = [event.step for event in events.Scalars("hedge/y")]
    assert hedge_steps[-1] == 224 and max(train_steps) == 224


def test_training_a_config_without_an_agent_section_is_refused(tmp_path, capsys):
    """A compare config (no agent:) must not silently train the built-in default agent for 2M steps."""
    main = script("train")
    assert main(["--config", str(ROOT / "configs" / "gbm_call.yaml"), "--runs-dir", str(tmp_path / "runs")]) == 2
    assert "missing section(s) agent" in capsys.readouterr().out
    assert not (tmp_path / "runs").exists()


def test_ctrl_c_during_the_final_evaluation_exits_130_and_resume_writes_the_evaluation(tmp_path, monkeypatch,
                                                                                     capsys, no_plots):
    import hedgegym.evaluation.reports as reports

    real = reports._write_files

    def interrupted(comparison, directory):  # Ctrl-C once the files are written, before they are moved into place
        written = real(comparison, directory)
        os.kill(os.getpid(), signal.SIGINT)
        return written

    monkeypatch.setattr(reports, "_write_files", interrupted)
    path = tmp_path / "ppo.yaml"
    path.write_text(yaml.safe_dump({**SMOKE, "agent": AGENTS["ppo"]}))
    assert script("train")(["--config", str(path), "--runs-dir", str(tmp_path / "runs")]) == 130
    output = capsys.readouterr().out
    (run,) = (tmp_path / "runs").iterdir()
    assert "during the final evaluation" in output and f"--resume {run}" in output.replace("\n", "")
    assert "Traceback" not in output
    assert (run / "final_model.zip").is_file() and not (run / "evaluation").exists()
    assert not list(run.glob(".*"))  # the half-written evaluation is removed
    monkeypatch.setattr(reports, "_write_files", real)
    assert resume(run) == "evaluated" and (run / "evaluation" / "results.csv").is_file()


def test_two_evaluations_in_the_same_second_get_two_directories(tmp_path, monkeypatch, no_plots):
    run = train(smoke("ppo"), tmp_path, **FAST)
    monkeypatch.setattr("hedgegym.agents.training.time.strftime", lambda _format: "20260101-000000")
    assert script("evaluate")([str(run), "--paths", "50"]) == 0
    assert script("evaluate")([str(run), "--paths", "50"]) == 0
    result = CliRunner().invoke(app, ["evaluate", str(run), "--paths", "50"])
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in run.glob("evaluation_*"))
    assert names == ["evaluation_20260101-000000", "evaluation_20260101-000000-2", "evaluation_20260101-000000-3"]
    with pytest.raises(FileExistsError):
        evaluate_run(run, output_name="evaluation")  # an explicit name that exists: refused, never overwritten


def test_a_run_in_use_by_another_process_is_refused(tmp_path, capsys, no_plots):
    run = train(smoke("ppo"), tmp_path, **FAST)
    shutil.rmtree(run / "evaluation")  # as if stopped during the evaluation: resume would write it
    before = tree(run)
    descriptor = os.open(run, os.O_RDONLY)  # another open file description: flock conflicts as across processes
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        assert script("train")(["--resume", str(run)]) == 2
        assert "run is in use by another process" in capsys.readouterr().out
        assert script("evaluate")([str(run)]) == 2
        with pytest.raises(RunError, match="in use by another process"):
            resume(run)
        assert tree(run) == before
    finally:
        os.close(descriptor)
    assert resume(run, **FAST) == "evaluated"  # the lock is released with its holder


def test_a_failed_atomic_write_leaves_no_temporary_file(tmp_path):
    def failing(handle) -> None:
        handle.write(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_atomically(tmp_path / "model.zip", failing)
    assert list(tmp_path.iterdir()) == []
    names = set()

    def remember(handle) -> None:
        names.update(p.name for p in tmp_path.iterdir() if p.name.startswith("."))
        handle.write(b"x")

    write_atomically(tmp_path / "model.zip", remember)
    write_atomically(tmp_path / "model.zip", remember)
    assert len(names) == 2  # a new temporary name per write: two writers never share one
    assert [p.name for p in tmp_path.iterdir()] == ["model.zip"]


def test_hedge_y_uses_the_configs_cao_hull_c():
    """hedge/y (what TensorBoard shows and ASHA ranks) is −mean + c·sd with c = evaluation.cao_hull_c."""
    import pandas as pd

    config = parse_config({**SMOKE, "agent": {"algo": "ppo"}, "evaluation": {"cao_hull_c": 3.0}})
    callback = HedgeMetricsCallback(config, eval_every=10, n_paths=10)
    pnl = np.array([-5.0, 1.0, 2.0, -3.0, 0.5])
    per_path = pd.DataFrame({"pnl": pnl, "cost": np.ones(5), "turnover": np.ones(5), "n_trades": np.ones(5),
                             "max_drawdown": np.ones(5)})
    assert callback._metrics(per_path)["y"] == pytest.approx(-pnl.mean() + 3.0 * pnl.std(ddof=1))


@pytest.mark.parametrize("algo", ["ppo", "sac"])
def test_best_validation_policy_is_the_lowest_logged_y_and_is_what_the_run_evaluates(algo, tmp_path, no_plots):
    """``agent.final_policy: best_validation``: best_model.zip is the policy of the lowest ``hedge/y`` point (its
    record says which), load_agent returns it, and the evaluation table's agent row is its Y on the test paths;
    final_model.zip stays the last policy."""
    from hedgegym.agents.callbacks import validation_paths
    from hedgegym.env.features import Scales
    from hedgegym.evaluation import evaluate
    from hedgegym.evaluation.metrics import metric_values

    config = smoke(algo, final_policy="best_validation")
    run = train(config, tmp_path, **EVERY_ROLLOUT)
    points = scalars(run)["hedge/y"]
    best_step, best_y = min(points, key=lambda point: point[1])
    record = json.loads((run / "best_model.json").read_text())
    assert record["step"] == best_step and record["validation_y"] == pytest.approx(best_y, rel=1e-6)
    assert len({y for _, y in points}) > 1  # the policy changed: the choice was a real one
    agent, _ = training.load_agent(run)
    np.testing.assert_array_equal(
        np.concatenate([p.detach().numpy().ravel() for p in agent.policy.parameters()]),
        parameters(run / "best_model.zip", algo))
    paths = validation_paths(config, 20)
    again = evaluate(agent, config, paths=paths).per_path
    scale = Scales.from_setup(config.market.build(), config.build_book()).value
    assert metric_values(again, None, scale, config.evaluation.cao_hull_c)["y"] == pytest.approx(best_y, rel=1e-6)
    table = pd.read_csv(run / "evaluation" / "results.csv", index_col=0)
    test = evaluate(agent, config, n_paths=config.evaluation.n_paths, seed=config.evaluation.seed).per_path
    assert table.loc[algo, "mean_pnl"] == pytest.approx(test["pnl"].mean(), rel=1e-9)
    last = parameters(run / "final_model.zip", algo)
    if best_step != points[-1][0]:
        assert not np.array_equal(last, parameters(run / "best_model.zip", algo))


def test_best_validation_survives_an_interrupted_and_resumed_run(tmp_path, monkeypatch, no_plots):
    config = smoke("ppo", final_policy="best_validation")
    full = train(config, tmp_path / "full", **EVERY_ROLLOUT)
    run = interrupted(config, tmp_path / "cut", monkeypatch).checkpoint.parent.parent
    assert resume(run, **EVERY_ROLLOUT) == "trained"
    assert (run / "best_model.json").read_text() == (full / "best_model.json").read_text()
    np.testing.assert_array_equal(parameters(run / "best_model.zip", "ppo"), parameters(full / "best_model.zip", "ppo"))


def test_best_validation_refuses_a_resume_on_another_validation_set(tmp_path, monkeypatch, no_plots):
    config = smoke("ppo", final_policy="best_validation")
    run = interrupted(config, tmp_path, monkeypatch).checkpoint.parent.parent
    assert json.loads((run / "best_model.json").read_text())["validation_paths"] == 20
    with pytest.raises(ValueError, match=r"validation_paths must be 20 as when best_model\.zip was selected"):
        resume(run, validation_paths=30, eval_every=10)


def test_best_validation_is_refused_for_deep_hedging():
    with pytest.raises(ConfigError, match=r"agent\.final_policy best_validation applies to ppo, sac and tqc"):
        parse_config({**SMOKE, "agent": {"algo": "deep_hedging", "final_policy": "best_validation"}})


def test_a_resumed_run_with_the_terminal_reward_equals_the_uninterrupted_run(tmp_path, monkeypatch, no_plots):
    """The reward's running means live in the env, which the checkpoint keeps: the resumed run continues them."""
    config = parse_config({**SMOKE, "env": {**SMOKE["env"], "reward": "terminal_mean_variance", "risk_aversion": 4.0},
                           "agent": AGENTS["ppo"]})
    full = train(config, tmp_path / "full", **EVERY_ROLLOUT)
    run = interrupted(config, tmp_path / "cut", monkeypatch).checkpoint.parent.parent
    assert resume(run, **EVERY_ROLLOUT) == "trained"
    np.testing.assert_array_equal(parameters(run / "final_model.zip", "ppo"),
                                  parameters(full / "final_model.zip", "ppo"))
    assert scalars(run) == scalars(full)
