"""Collect the evaluation tables of training runs into ``benchmarks/agents.md`` (Y as % of the BS premium).

    python scripts/agents_table.py runs/<deep-run> runs/<ppo-run> runs/<sac-run> [--output benchmarks/agents.md]

Each run's ``evaluation/results.csv`` (written by scripts/train.py on the config's held-out paths) gives the
rows; the classical hedgers are taken from the first run (all runs of one config share the same test paths).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from hedgegym.config import load_config
from hedgegym.pricing.model_greeks import model_greeks

COLUMNS = ("y", "mean_pnl", "std_pnl", "cvar_95", "rmse", "max_drawdown", "cbr", "mean_cost")


def premium(run: Path) -> float:
    config = load_config(run / "config.yaml")
    model, book = config.market.build(), config.build_book()
    return -float(book.greeks(pd.Series([model.spot]).to_numpy(), 0.0,
                              lambda s, k, t, c: model_greeks(model, s, k, t, c)).price[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--output", type=Path, default=Path("benchmarks/agents.md"))
    args = parser.parse_args()
    first = pd.read_csv(args.runs[0] / "evaluation" / "results.csv", index_col=0)
    rows = [first]
    for run in args.runs[1:]:
        table = pd.read_csv(run / "evaluation" / "results.csv", index_col=0)
        agent = table.loc[[name for name in table.index if name not in first.index]]
        agent.index = [f"{name} ({load_config(run / 'config.yaml').name})" for name in agent.index]
        rows.append(agent)
    table = pd.concat(rows)
    value = premium(args.runs[0])
    name = load_config(args.runs[0] / "config.yaml").name.split("_", 1)[1]
    lines = [f"## {name} — runs: {', '.join(run.name for run in args.runs)}", "",
             f"Book premium (model value of the liability): {value:,.0f}. Y and its CI in % of it; other columns "
             "in currency with bootstrap 95% intervals.", "",
             "| hedger | Y % premium | " + " | ".join(COLUMNS[1:]) + " |", "|---|" + "---:|" * len(COLUMNS)]
    for name, row in table.iterrows():
        cells = [f"{100 * row['y'] / value:.1f} [{100 * row['y_low'] / value:.1f}, {100 * row['y_high'] / value:.1f}]"]
        for column in COLUMNS[1:]:
            if pd.isna(row[column]):
                cells.append("—")
            else:
                digits = ".2f" if column == "cbr" else ",.0f"
                low, high = row[column + "_low"], row[column + "_high"]
                cells.append(f"{row[column]:{digits}} [{low:{digits}}, {high:{digits}}]")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.output.exists():
        args.output.write_text(args.output.read_text() + "\n" + text)
    else:
        args.output.write_text("# Learned vs classical hedgers\n\n" + text)


if __name__ == "__main__":
    main()
