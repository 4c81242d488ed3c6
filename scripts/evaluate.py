"""Put a trained agent into the comparison table of the classical hedgers (same held-out paths, metrics, CIs).

    python scripts/evaluate.py runs/<run-dir> [--paths N]      # also: hedgegym evaluate runs/<run-dir>
"""

from __future__ import annotations

import argparse

from rich.console import Console

from hedgegym.agents.training import evaluate_run
from hedgegym.evaluation.reports import markdown_table

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir")
    parser.add_argument("--paths", type=int, help="held-out paths (default: the run config's evaluation.n_paths)")
    args = parser.parse_args()
    Console().print(markdown_table(evaluate_run(args.run_dir, args.paths).table))
