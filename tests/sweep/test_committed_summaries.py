"""Every trial summary committed under benchmarks/sweeps/<sweep>/ still matches its shipped sweep file: the config a
rerun would build for the trial has the summary's config_sha256. Editing a config file that a sweep ran (e.g. a
shipped configs/ppo_*.yaml after a better setting is found) without first pointing that sweep at a frozen copy
(configs/frozen/) would make the sweep refuse its own results; this test catches it before a user does."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hedgegym.sweep.config import load_sweep_config
from hedgegym.sweep.runner import TrialSpec, base_config, trial_config
from hedgegym.sweep.summary import config_sha256

ROOT = Path(__file__).resolve().parents[2]
SWEEPS = sorted((ROOT / "configs" / "sweeps").glob("*.yaml"))


@pytest.mark.parametrize("path", SWEEPS, ids=[path.stem for path in SWEEPS])
def test_committed_summaries_match_their_sweep_file(path):
    sweep = load_sweep_config(path)
    bases = {(task.name, algo): base_config(config, ROOT) for task in sweep.tasks
             for algo, config in task.configs.items()}
    stale = []
    for summary in sorted((ROOT / "benchmarks" / "sweeps" / sweep.name).glob("*.json")):
        record = json.loads(summary.read_text())
        base = bases.get((record["task"], record["algo"]))
        if base is None:  # an algorithm the sweep ran once and then left (its file says so)
            continue
        spec = TrialSpec(record["task"], record["algo"], record["seed"], record["config"],
                         dict(record["hyperparameters"]))
        if config_sha256(trial_config(spec, base)) != record["config_sha256"]:
            stale.append(summary.name)
    assert not stale, f"{path.name}: summaries written for another config: {stale}"
