"""Write model-zoo entries (``hedgegym/zoo/models/<name>/``) from finished ``hedgegym train`` runs.

    hedgegym train --config configs/zoo/desk_call_ppo.yaml --runs-dir runs/zoo
    python scripts/refresh_zoo.py runs/zoo/desk_call_ppo__ppo__0__<time> [--replace]

The run's training config must be a file under ``configs/zoo/`` or ``configs/`` (the entry's command retrains it).
For each run: the task it serves is the shipped config under ``configs/`` (not ``configs/zoo/``) with the same task
fingerprint (``hedgegym.zoo.task_sha256``: market, book, hedge instruments, costs, time grid); the policy is scored
on that task's held-out test paths (its ``evaluation.n_paths``, ``seed`` and ``bootstrap``: the paths ``hedgegym
compare`` uses) next to the unhedged book; the entry gets the run's ``config.yaml``, its policy file and
``metadata.json`` (checksums, versions, the retraining command, the evaluation with 95% intervals). Each entry is
written into a temporary directory and renamed into place; an existing entry is refused unless ``--replace``.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
METRICS = ("y", "rmse", "cvar_95", "mean_cost", "std_pnl", "mean_pnl")


def _task_config(training, configs_dir: Path):
    """The shipped config (``configs/*.yaml``, not the zoo's own) whose task the run was trained on."""
    from hedgegym.config import load_config
    from hedgegym.zoo import task_sha256

    fingerprint = task_sha256(training)
    agent_config = ("ppo_", "sac_", "tqc_", "deep_")  # the task's own config (no algorithm in its name) first
    for path in sorted(configs_dir.glob("*.yaml"), key=lambda p: (p.name.startswith(agent_config), p.name)):
        try:
            candidate = load_config(path)
        except ValueError:
            continue
        if task_sha256(candidate) == fingerprint:
            return path, candidate
    raise SystemExit(f"no config in {configs_dir} has the task of {training.name} (market, book, hedge instruments, "
                     "costs, time grid): add it first")


def _training_config_path(training, configs_dir: Path) -> Path:
    """The config file under ``configs/`` (or ``configs/zoo/``) that is the run's training config: the retraining
    command names it."""
    from hedgegym.config import load_config

    wanted = training.model_dump()
    for path in [*sorted((configs_dir / "zoo").glob("*.yaml")), *sorted(configs_dir.glob("*.yaml"))]:
        try:
            if load_config(path).model_dump() == wanted:
                return path
        except ValueError:
            continue
    raise SystemExit(f"no config under {configs_dir} is the training config of {training.name}: add it first "
                     "(the entry's command must retrain it)")


def refresh(run: Path, replace: bool, configs_dir: Path = ROOT / "configs") -> Path:
    """Write the zoo entry of ``run``; its directory."""
    import stable_baselines3
    import torch

    import hedgegym
    from hedgegym.agents.training import _policy_model, load_agent
    from hedgegym.baselines import NoHedge
    from hedgegym.evaluation.reports import compare
    from hedgegym.zoo import MODELS_DIR, SCHEMA, file_sha256, task_sha256

    agent, training = load_agent(run)
    task_path, task = _task_config(training, configs_dir)
    name = training.name
    target = MODELS_DIR / name
    if target.exists() and not replace:
        raise SystemExit(f"{target} exists: pass --replace to write a new version of the entry")
    agent.name = f"{training.agent.algo}_zoo"
    settings = task.evaluation
    comparison = compare(task, [NoHedge(), agent], settings.n_paths, settings.seed, settings.bootstrap,
                         settings.cao_hull_c)
    row = comparison.table.loc[agent.name]
    policy = _policy_model(run, training)
    wall = policy.stat().st_mtime - (run / "config.yaml").stat().st_mtime
    metadata = {
        "schema": SCHEMA, "name": name, "algo": training.agent.algo, "seed": training.agent.seed,
        "command": f"hedgegym train --config {_training_config_path(training, configs_dir).relative_to(ROOT)}",
        "task": task.name, "task_config": str(task_path.relative_to(ROOT)), "task_sha256": task_sha256(task),
        "model_file": policy.name,  # final_model.zip / .pt, or best_model.zip (agent.final_policy: best_validation)
        "model_sha256": file_sha256(policy),
        "versions": {"hedgegym": hedgegym.__version__, "torch": torch.__version__,
                     "stable_baselines3": stable_baselines3.__version__, "python": platform.python_version()},
        "training_wall_s": round(wall, 1), "source_run": run.name,
        "evaluation": {"n_paths": settings.n_paths, "seed": settings.seed, "bootstrap": settings.bootstrap,
                       **{f"{metric}{suffix}": float(row[f"{metric}{suffix}"]) for metric in METRICS
                          for suffix in ("", "_low", "_high")}},
    }
    MODELS_DIR.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=MODELS_DIR))
    previous = staging.with_name(staging.name + "-previous")
    try:
        shutil.copyfile(run / "config.yaml", staging / "config.yaml")
        shutil.copyfile(policy, staging / metadata["model_file"])
        (staging / "metadata.json").write_text(json.dumps(metadata, indent=2) + "\n")
        if target.exists():  # set aside, not deleted, until the new entry is in place
            target.rename(previous)
        staging.rename(target)
    except BaseException:
        if previous.exists() and not target.exists():
            previous.rename(target)  # an interrupted --replace leaves the old entry
        shutil.rmtree(staging, ignore_errors=True)
        raise
    shutil.rmtree(previous, ignore_errors=True)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", type=Path, help="finished run directories of hedgegym train")
    parser.add_argument("--replace", action="store_true", help="write over an existing entry of the same name")
    args = parser.parse_args(argv)
    from hedgegym.agents.training import RunError

    for run in args.runs:
        try:
            target = refresh(run, args.replace)
        except (RunError, ValueError, OSError) as error:  # not a finished run, a config that does not load, …
            print(f"{run}: {error}", file=sys.stderr)
            return 2
        metadata = json.loads((target / "metadata.json").read_text())
        evaluation = metadata["evaluation"]
        print(f"{target.relative_to(ROOT)}: Y {evaluation['y']:,.2f} [{evaluation['y_low']:,.2f}, "
              f"{evaluation['y_high']:,.2f}] on {evaluation['n_paths']:,} test paths of {metadata['task']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
