"""Put a trained agent into the comparison table of the classical hedgers (same held-out paths, metrics, CIs).

    python scripts/evaluate.py runs/<run-dir> [--paths N]      # also: hedgegym evaluate runs/<run-dir>

Writes ``<run-dir>/evaluation_<time>/`` (``-2``, ``-3``, … appended when two evaluations fall in the same second;
nothing is overwritten). Exit code 2, with the reason, for a directory that is not a finished run, a run in use by
another process, or a ``--paths`` outside ``evaluation.n_paths``'s bounds.
"""

from __future__ import annotations

import argparse
import sys

from rich.console import Console
from rich.markup import escape

from hedgegym.agents.training import RunError, evaluate_run
from hedgegym.config import ConfigError
from hedgegym.evaluation.reports import markdown_table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir")
    parser.add_argument("--paths", type=int, help="override evaluation.n_paths (held-out paths)")
    args = parser.parse_args(argv)
    console = Console()
    try:
        comparison = evaluate_run(args.run_dir, args.paths)
    except (RunError, ConfigError) as error:
        console.print(f"[red]{escape(str(error))}[/red]", soft_wrap=True)
        return 2
    console.print(markdown_table(comparison.table))
    return 0


if __name__ == "__main__":
    sys.exit(main())
