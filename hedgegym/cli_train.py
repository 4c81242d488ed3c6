"""``hedgegym train``: train a PPO, SAC, TQC or deep-hedging agent from a config into a new run directory, or
finish a run from its last checkpoint (``hedgegym.agents.training``).

    hedgegym train --config configs/ppo_gbm_cost_20d.yaml [--seed N] [--total-timesteps N] [--eval-paths N]
    hedgegym train --resume runs/<run-dir>
    tensorboard --logdir runs/

Overrides are merged into the config and validated with it (the config's bounds; the error names the field);
nothing is written before they validate. Exit codes: 0 done (or nothing left to do), 2 bad input (or a run in use by
another process), 130 Ctrl-C. Ctrl-C stops PPO/SAC/TQC at the end of the rollout with a checkpoint (a second
Ctrl-C: at once, without one). ``scripts/train.py`` is a thin wrapper of this command.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from hedgegym.cli_common import DEFAULT_METRICS, comparison_table, console, fail, metric_list

__all__ = ["train_command"]

_RESUMED = {
    "complete": "{run} is complete (final model and evaluation/): nothing to do, nothing written",
    "evaluated": "{run} had its final model: wrote its evaluation/",
    "trained": "resumed and finished {run}",
}


def _interrupted(stop, directory: str | None) -> str:
    """What a Ctrl-C left behind and how to continue (``TrainingInterrupted``)."""
    if stop.during == "evaluation":
        return (f"interrupted during the final evaluation: the final model is saved; hedgegym train --resume "
                f"{stop.run or directory or '<run-dir>'} writes evaluation/")
    if stop.checkpoint is not None:
        return (f"interrupted: checkpoint saved at {stop.steps:,} steps ({stop.checkpoint}); continue with "
                f"hedgegym train --resume {stop.checkpoint.parent.parent}")
    resume_hint = f"--resume {directory}" if directory else "--resume <run-dir>"
    return ("interrupted: no checkpoint was saved now (deep-hedging runs keep none; PPO/SAC: the second Ctrl-C "
            f"stops without one); a PPO/SAC run continues from its last periodic checkpoint, if any, with "
            f"hedgegym train {resume_hint}")


def train_command(
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="Experiment YAML; its agent: section picks the algorithm.")
    ] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Override agent.seed.")] = None,
    total_timesteps: Annotated[
        int | None, typer.Option("--total-timesteps", help="Override agent.total_timesteps (PPO/SAC/TQC).")
    ] = None,
    resume: Annotated[
        Path | None, typer.Option("--resume", help="Finish the run in this directory from its last checkpoint.")
    ] = None,
    runs_dir: Annotated[Path, typer.Option("--runs-dir", help="Where the new run directory is made.")] = Path("runs"),
    eval_paths: Annotated[
        int | None, typer.Option("--eval-paths", help="Override evaluation.n_paths (held-out paths of the table).")
    ] = None,
) -> None:
    """Train an agent (PPO, SAC, TQC, deep hedging: the config's agent section) into runs/<config>__<algo>__<seed>__
    <time>/: TensorBoard logs, checkpoints, the final model and its evaluation next to the classical hedgers.

    --resume finishes an interrupted run with its saved config. Exit codes: 0 done, 2 bad input or a run in use,
    130 Ctrl-C (PPO/SAC/TQC keep a checkpoint to resume from).
    """
    from hedgegym.agents.training import RunError, TrainingInterrupted, apply_overrides, train
    from hedgegym.agents.training import resume as resume_run
    from hedgegym.config import REQUIRED_SECTIONS, ConfigError, load_config

    if resume is not None:
        if any(value is not None for value in (config, seed, total_timesteps, eval_paths)):
            raise fail("--resume continues a run with its saved config: it takes no --config, --seed, "
                       "--total-timesteps or --eval-paths")
        try:
            outcome = resume_run(resume)
        except RunError as error:
            raise fail(error) from None
        except TrainingInterrupted as stop:
            console.print(f"[yellow]{escape(_interrupted(stop, str(resume)))}[/yellow]", soft_wrap=True)
            raise typer.Exit(code=130) from None
        console.print(escape(_RESUMED[outcome].format(run=resume)), soft_wrap=True)
        return
    if config is None:
        raise fail("--config is required (or --resume)")
    try:
        experiment = apply_overrides(load_config(config, required=(*REQUIRED_SECTIONS, "agent")),
                                     agent={"seed": seed, "total_timesteps": total_timesteps},
                                     evaluation={"n_paths": eval_paths})
        directory = train(experiment, runs_dir)
    except (ConfigError, RunError) as error:
        raise fail(error) from None
    except OSError as error:  # --runs-dir not writable, or a file in its place
        raise fail(f"--runs-dir {runs_dir}: {error}") from None
    except TrainingInterrupted as stop:
        console.print(f"[yellow]{escape(_interrupted(stop, None))}[/yellow]", soft_wrap=True)
        raise typer.Exit(code=130) from None
    import pandas as pd

    table = pd.read_csv(directory / "evaluation" / "results.csv", index_col="hedger")
    console.print(comparison_table(table, metric_list(DEFAULT_METRICS), f"{experiment.name}: the final evaluation "
                                   f"(evaluation/, {experiment.evaluation.n_paths:,} held-out paths)"))
    console.print(f"run written to {escape(str(directory))}", soft_wrap=True)
