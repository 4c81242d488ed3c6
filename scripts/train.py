"""Train a PPO, SAC, TQC or deep-hedging agent from a config into a new run directory (see hedgegym.agents.training).

    python scripts/train.py --config configs/ppo_gbm_cost_20d.yaml [--seed N] [--total-timesteps N] [--eval-paths N]
    python scripts/train.py --resume runs/<run-dir>
    tensorboard --logdir runs/

Overrides are merged into the config and validated with it (the config's bounds; the error names the field);
nothing is written before they validate. Exit codes: 0 done (or nothing left to do), 2 bad input (or a run in use
by another process), 130 Ctrl-C.
Ctrl-C stops PPO/SAC/TQC at the end of the rollout with a checkpoint (a second Ctrl-C: at once, without one).
"""

from __future__ import annotations

import argparse
import sys

from rich.console import Console
from rich.markup import escape

from hedgegym.agents.training import RunError, TrainingInterrupted, apply_overrides, resume, train
from hedgegym.config import REQUIRED_SECTIONS, ConfigError, load_config

_RESUMED = {
    "complete": "{run} is complete (final model and evaluation/): nothing to do, nothing written",
    "evaluated": "{run} had its final model: wrote its evaluation/",
    "trained": "resumed and finished {run}",
}


def _interrupted(stop: TrainingInterrupted, directory: str | None) -> str:
    if stop.during == "evaluation":
        return (f"interrupted during the final evaluation: the final model is saved; --resume "
                f"{stop.run or directory or '<run-dir>'} writes evaluation/")
    if stop.checkpoint is not None:
        return (f"interrupted: checkpoint saved at {stop.steps:,} steps ({stop.checkpoint}); continue with "
                f"--resume {stop.checkpoint.parent.parent}")
    resume_hint = f"--resume {directory}" if directory else "--resume <run-dir>"
    return ("interrupted: no checkpoint was saved now (deep-hedging runs keep none; PPO/SAC: the second Ctrl-C "
            f"stops without one); a PPO/SAC run continues from its last periodic checkpoint, if any, with "
            f"{resume_hint}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", help="experiment YAML (its agent: section picks the algorithm)")
    parser.add_argument("--seed", type=int, help="override agent.seed")
    parser.add_argument("--total-timesteps", type=int, help="override agent.total_timesteps (PPO/SAC/TQC)")
    parser.add_argument("--resume", help="finish the run in this directory from its last checkpoint")
    parser.add_argument("--runs-dir", default="runs")
    parser.add_argument("--eval-paths", type=int, help="override evaluation.n_paths (held-out paths of the table)")
    args = parser.parse_args(argv)
    console = Console()
    if args.resume is not None:
        if any(value is not None for value in (args.config, args.seed, args.total_timesteps, args.eval_paths)):
            parser.error("--resume continues a run with its saved config: it takes no --config, --seed, "
                         "--total-timesteps or --eval-paths")
        try:
            outcome = resume(args.resume)
        except RunError as error:
            console.print(f"[red]{escape(str(error))}[/red]", soft_wrap=True)
            return 2
        except TrainingInterrupted as stop:
            console.print(f"[yellow]{_interrupted(stop, args.resume)}[/yellow]", soft_wrap=True)
            return 130
        console.print(_RESUMED[outcome].format(run=args.resume), soft_wrap=True)
        return 0
    if not args.config:
        parser.error("--config is required (or --resume)")
    try:
        config = apply_overrides(load_config(args.config, required=(*REQUIRED_SECTIONS, "agent")),
                                 agent={"seed": args.seed, "total_timesteps": args.total_timesteps},
                                 evaluation={"n_paths": args.eval_paths})
        directory = train(config, args.runs_dir)
    except (ConfigError, RunError) as error:
        console.print(f"[red]{escape(str(error))}[/red]", soft_wrap=True)
        return 2
    except OSError as error:  # --runs-dir not writable, or a file in its place
        console.print(f"[red]--runs-dir {escape(str(args.runs_dir))}: {escape(str(error))}[/red]", soft_wrap=True)
        return 2
    except TrainingInterrupted as stop:
        console.print(f"[yellow]{_interrupted(stop, None)}[/yellow]", soft_wrap=True)
        return 130
    console.print((directory / "evaluation" / "results.md").read_text())
    console.print(f"run written to {directory}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
