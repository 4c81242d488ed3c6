"""The model zoo: every shipped entry loads, matches its checksum and reproduces its stored evaluation on the same
test paths; a changed file and a config it was not trained for are refused with the reason; ``compare`` adds the
zoo's agents by default where they apply."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from hedgegym import zoo
from hedgegym.baselines import NoHedge
from hedgegym.cli import app
from hedgegym.config import load_config
from hedgegym.env.features import Scales
from hedgegym.evaluation.metrics import summarize
from hedgegym.evaluation.reports import compare
from hedgegym.evaluation.rollout import evaluate
from hedgegym.evaluation.rollout import test_paths as held_out_paths

ROOT = Path(__file__).resolve().parents[1]
DESK = ROOT / "configs" / "desk_call.yaml"
ENTRIES = zoo.entries()


def test_the_zoo_ships_ppo_sac_and_deep_hedging_for_the_default_config():
    config = load_config(DESK)
    assert {entry.algo for entry in zoo.entries_for(config)} == {"ppo", "sac", "deep_hedging"}
    for entry in ENTRIES:
        metadata = entry.metadata
        command = metadata["command"].split()
        assert command[:3] == ["hedgegym", "train", "--config"] and len(command) == 4
        training = load_config(ROOT / command[3])
        assert training.model_dump() == entry.training_config().model_dump()  # the documented config is the one used
        assert zoo.file_sha256(entry.model_path) == metadata["model_sha256"]


@pytest.mark.parametrize("entry", ENTRIES, ids=[entry.name for entry in ENTRIES])
def test_each_entry_reproduces_its_stored_evaluation_on_the_same_test_paths(entry):
    """The stored figures are the shipped policy's: scored again on the task's test paths they come out the same."""
    task = load_config(ROOT / entry.metadata["task_config"])
    stored = entry.metadata["evaluation"]
    settings = task.evaluation
    assert (stored["n_paths"], stored["seed"]) == (settings.n_paths, settings.seed)
    agent = zoo.load(entry, task)
    paths = held_out_paths(task, settings.n_paths, settings.seed)
    result = evaluate(agent, task, paths=paths)
    no_hedge = evaluate(NoHedge(), task, paths=paths, attribution=False)
    scale = Scales.from_setup(task.market.build(), task.build_book()).value
    metrics = summarize(result.per_path, float(np.sqrt(np.mean(no_hedge.per_path["pnl"] ** 2))), scale,
                        settings.bootstrap, settings.seed, settings.cao_hull_c)
    for name in ("y", "rmse", "cvar_95", "mean_cost"):
        assert metrics[name] == pytest.approx(stored[name], rel=1e-9), name
        assert metrics[f"{name}_low"] == pytest.approx(stored[f"{name}_low"], rel=1e-9), name


def test_a_changed_model_file_is_refused(tmp_path):
    entry = ENTRIES[0]
    copy = tmp_path / entry.name
    shutil.copytree(entry.directory, copy)
    model = copy / entry.metadata["model_file"]
    model.write_bytes(model.read_bytes() + b"\0")
    (changed,) = zoo.entries(tmp_path)
    with pytest.raises(zoo.ZooError, match="the file changed"):
        zoo.load(changed)


def test_a_malformed_entry_is_refused_by_name(tmp_path):
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "metadata.json").write_text(json.dumps({"schema": zoo.SCHEMA, "name": "broken"}))
    with pytest.raises(zoo.ZooError, match="missing algo"):
        zoo.entries(tmp_path)


def test_a_zoo_model_on_a_config_it_was_not_trained_for_is_refused_with_the_reason():
    other = load_config(ROOT / "configs" / "gbm_call.yaml")
    assert zoo.entries_for(other) == []
    desk_entry = next(entry for entry in ENTRIES if entry.metadata["task"] == "desk_call")
    reason = zoo.unfit_reason(desk_entry, other)
    assert "it cannot act in config 'gbm_call'" in reason and "its book differs" in reason
    with pytest.raises(zoo.ZooError, match="its book differs"):
        zoo.load(desk_entry, other)
    result = CliRunner().invoke(app, ["compare", "--config", str(ROOT / "configs" / "gbm_call.yaml"),
                                      "--agents", "zoo", "--paths", "20"])
    assert result.exit_code == 2 and "the zoo has no model for config 'gbm_call'" in result.output


def test_compare_puts_the_zoo_agents_in_the_table_by_default(tmp_path):
    config = load_config(DESK)
    table = compare(config, [zoo.load(entry, config) for entry in zoo.entries_for(config)], n_paths=50,
                    bootstrap=0).table
    assert set(table.index) == {"ppo_zoo", "sac_zoo", "deep_hedging_zoo"}
    result = CliRunner().invoke(app, ["compare", "--config", str(DESK), "--paths", "50", "--bootstrap", "0",
                                      "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    rows = (tmp_path / "out" / "results.csv").read_text()
    for name in ("ppo_zoo", "sac_zoo", "deep_hedging_zoo", "uvm_delta_gamma_0.15_0.25", "delta_gamma", "leland"):
        assert f"\n{name}," in rows
    result = CliRunner().invoke(app, ["compare", "--config", str(DESK), "--paths", "20", "--agents", "none",
                                      "-o", str(tmp_path / "none")])
    assert result.exit_code == 0 and "ppo_zoo" not in (tmp_path / "none" / "results.csv").read_text()


MAIN_JOB = [entry for entry in ENTRIES if entry.metadata["task"] == "desk_call"]


@pytest.mark.slow
@pytest.mark.parametrize("entry", MAIN_JOB, ids=[entry.name for entry in MAIN_JOB])
def test_entry_retrained_by_its_command_reproduces_its_evaluation_within_its_interval(entry, tmp_path):
    """The documented command, run again, gives a policy whose Y on the same test paths lies in the stored 95%
    interval (on the machine that trained them: the same Y to every digit). The main job's entries (about a minute
    each); the benchmark tasks' entries retrain the same way in 2–9 minutes each."""
    command = entry.metadata["command"].split()
    assert command[:2] == ["hedgegym", "train"]
    subprocess.run([sys.executable, "-m", "hedgegym.cli", *command[1:], "--runs-dir", str(tmp_path)], cwd=ROOT,
                   check=True, capture_output=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    (run,) = tmp_path.iterdir()
    table = (run / "evaluation" / "results.csv").read_text().splitlines()
    header = table[0].split(",")
    row = next(line.split(",") for line in table if line.startswith(f"{entry.algo},"))
    y = float(row[header.index("y")])
    stored = entry.metadata["evaluation"]
    assert stored["y_low"] <= y <= stored["y_high"]


def test_an_interrupted_replace_keeps_the_old_entry(tmp_path, monkeypatch):
    """scripts/refresh_zoo.py --replace: a Ctrl-C after the old entry was set aside puts it back (nothing lost)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("refresh_zoo", ROOT / "scripts" / "refresh_zoo.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    (entry,) = [entry for entry in ENTRIES if entry.name == "desk_call_ppo"]
    models = tmp_path / "models"
    shutil.copytree(entry.directory, models / entry.name)
    before = (models / entry.name / "metadata.json").read_text()
    monkeypatch.setattr(zoo, "MODELS_DIR", models)
    monkeypatch.setattr("hedgegym.evaluation.reports._plots", lambda *_args: [])
    original = Path.rename

    def rename(self, target):
        if Path(target) == models / entry.name and self.name.startswith(f".{entry.name}-") \
                and not self.name.endswith("-previous"):
            raise KeyboardInterrupt  # as if Ctrl-C came between setting the old entry aside and the new one's rename
        return original(self, target)

    monkeypatch.setattr(Path, "rename", rename)
    with pytest.raises(KeyboardInterrupt):
        script.refresh(entry.directory, replace=True)
    assert (models / entry.name / "metadata.json").read_text() == before
    assert sorted(path.name for path in models.iterdir()) == [entry.name]  # no staging or set-aside copy left
    assert script.main([str(tmp_path / "missing")]) == 2  # not a run: a message, no traceback
