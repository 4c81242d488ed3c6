"""Training runs: run directory contents, never reusing a directory, resume from a checkpoint, evaluate a run."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from hedgegym.agents.training import evaluate_run, new_run_directory, resume, train
from hedgegym.cli import app
from hedgegym.config import load_config, parse_config

SMOKE = {
    "name": "smoke",
    "market": {"model": "gbm", "volatility": 0.2, "mu": 0.05, "rate": 0.02},
    "book": [{"strike": 100.0, "maturity": 0.05, "quantity": -10}],
    "simulation": {"n_steps": 8},
    "costs": {"proportional": {"stock": 0.002}},
    "evaluation": {"n_paths": 100, "bootstrap": 10},
}


def test_ppo_run_directory_holds_config_tensorboard_checkpoints_model_and_table(tmp_path):
    config = parse_config({**SMOKE, "agent": {"algo": "ppo", "n_envs": 16, "batch_size": 64,
                                              "total_timesteps": 640}})
    run = train(config, tmp_path, validation_paths=50)
    assert run.name.startswith("smoke__ppo__0__")
    assert load_config(run / "config.yaml") == config
    assert (run / "final_model.zip").exists() and list((run / "tb").rglob("events.out.tfevents*"))
    assert len(list((run / "checkpoints").glob("model_*_steps.zip"))) >= 2
    table = (run / "evaluation" / "results.csv").read_text()
    assert "ppo" in table and "delta" in table
    # a second evaluation goes to a new directory next to the first
    runner = CliRunner()
    result = runner.invoke(app, ["evaluate", str(run), "--paths", "50"])
    assert result.exit_code == 0, result.output
    assert len(list(run.glob("evaluation*"))) == 2
    # resume: drop the end of the run, continue from the newest remaining checkpoint
    checkpoints = sorted((run / "checkpoints").glob("*.zip"), key=lambda p: int(p.stem.split("_")[1]))
    for path in checkpoints[len(checkpoints) // 2:]:
        path.unlink()
    (run / "final_model.zip").unlink()
    resume(run, validation_paths=50)
    assert (run / "final_model.zip").exists()


def test_run_directories_are_never_reused(tmp_path, monkeypatch):
    monkeypatch.setattr("hedgegym.agents.training.time.strftime", lambda _format: "20260101-000000")
    config = parse_config(SMOKE)
    first = new_run_directory(config, tmp_path)
    (first / "final_model.zip").write_text("a user's model")
    with pytest.raises(FileExistsError):
        new_run_directory(config, tmp_path)  # same name in the same second: refused, nothing touched
    assert (first / "final_model.zip").read_text() == "a user's model"


def test_deep_hedging_run_is_evaluated_against_the_baselines(tmp_path):
    config = parse_config({**SMOKE, "agent": {"algo": "deep_hedging", "iterations": 5, "batch_paths": 64}})
    run = train(config, tmp_path)
    assert (run / "final_model.pt").exists()
    comparison = evaluate_run(run, n_paths=50, output_name="again")
    assert "deep_hedging" in comparison.table.index


def test_interrupting_training_saves_a_checkpoint_first(tmp_path, monkeypatch):
    from hedgegym.agents import training
    from hedgegym.agents.sb3 import make_model

    config = parse_config({**SMOKE, "agent": {"algo": "ppo", "n_envs": 4, "batch_size": 32, "total_timesteps": 64}})
    model = make_model(config)

    def interrupted(**_kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(model, "learn", interrupted)
    with pytest.raises(KeyboardInterrupt):
        training._learn(model, config, tmp_path, 64, None, 20, reset_num_timesteps=True)
    assert (tmp_path / "checkpoints" / "model_0_steps.zip").exists()
