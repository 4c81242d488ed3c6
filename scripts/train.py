"""Train a PPO, SAC, TQC or deep-hedging agent from a config into a new run directory: a thin wrapper of
``hedgegym train`` (``hedgegym.cli_train``), with the same options, run directories and exit codes.

    python scripts/train.py --config configs/ppo_gbm_cost_20d.yaml [--seed N] [--total-timesteps N] [--eval-paths N]
    python scripts/train.py --resume runs/<run-dir>
    tensorboard --logdir runs/

Exit codes: 0 done (or nothing left to do), 2 bad input (or a run in use by another process), 130 Ctrl-C.
"""

from __future__ import annotations

import sys

from hedgegym.cli import app


def main(argv: list[str] | None = None) -> int:
    """Run ``hedgegym train`` with ``argv`` (default: the command line); its exit code."""
    try:
        app(["train", *(sys.argv[1:] if argv is None else argv)], prog_name="train.py")
    except SystemExit as exit_:  # typer ends every run (success, usage error, Exit(code)) with SystemExit
        return exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
