"""Train a PPO, SAC or deep-hedging agent from a config into a new run directory (see hedgegym.agents.training).

    python scripts/train.py --config configs/ppo_gbm_cost_20d.yaml [--seed N] [--total-timesteps N]
    python scripts/train.py --resume runs/<run-dir>
    tensorboard --logdir runs/
"""

from __future__ import annotations

import argparse
import sys

from rich.console import Console

from hedgegym.agents.training import resume, train
from hedgegym.config import ConfigError, load_config


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", help="experiment YAML (its agent: section picks the algorithm)")
    parser.add_argument("--seed", type=int, help="override agent.seed")
    parser.add_argument("--total-timesteps", type=int, help="override agent.total_timesteps (PPO/SAC)")
    parser.add_argument("--resume", help="continue the run in this directory from its last checkpoint")
    parser.add_argument("--runs-dir", default="runs")
    parser.add_argument("--eval-paths", type=int, help="held-out paths of the final table (default: config)")
    args = parser.parse_args()
    console = Console()
    if args.resume:
        directory = resume(args.resume)
        console.print(f"resumed and finished {directory}")
        return 0
    if not args.config:
        parser.error("--config is required (or --resume)")
    try:
        config = load_config(args.config)
    except ConfigError as error:
        console.print(f"[red]{error}[/red]")
        return 2
    updates = {k: v for k, v in {"seed": args.seed, "total_timesteps": args.total_timesteps}.items() if v is not None}
    if updates:
        config = config.model_copy(update={"agent": config.agent.model_copy(update=updates)})
    try:
        directory = train(config, args.runs_dir, evaluation_paths=args.eval_paths)
    except KeyboardInterrupt:
        console.print("[yellow]interrupted: a checkpoint was saved; continue with --resume <run-dir>[/yellow]")
        return 130
    table = (directory / "evaluation" / "results.md").read_text()
    console.print(table)
    console.print(f"run written to {directory}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
