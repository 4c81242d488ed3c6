"""Sim-to-real study (issue 14): agents trained on simulated markets, scored on S&P 500 history, resumable.

    python scripts/real_data_study.py train --config configs/sp500_ppo_gbm.yaml --seeds 0 1 2
    python scripts/real_data_study.py report          # benchmarks/real_data.md from the committed summaries

``train``: for each seed, unless ``benchmarks/real_data/<config name>__seed<k>.json`` exists (a finished trial,
committed as it lands), trains the config with ``agent.seed`` = k into ``runs/real_data/`` and backtests the agent
on ``configs/sp500_call_1m.yaml`` (every test window, 2016–2018); the summary holds the config and its SHA-256,
the seed, the training wall time, the agent's row of the metrics table (intervals over windows) and its P&L per
window. ``report`` backtests the classical hedgers, untuned and tuned for Y on the validation windows (2013–2015),
and writes the table of every hedger and agent, the agents' Y per seed and IQM over seeds, and the five worst
windows of each.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.stats

from hedgegym.agents.training import load_agent, train
from hedgegym.config import load_config
from hedgegym.evaluation.aggregate import iqm
from hedgegym.evaluation.backtest import backtest
from hedgegym.evaluation.reports import markdown_table

ROOT = Path(__file__).resolve().parents[1]
BACKTEST_CONFIG = ROOT / "configs" / "sp500_call_1m.yaml"
SUMMARIES = ROOT / "benchmarks" / "real_data"
REPORT = ROOT / "benchmarks" / "real_data.md"
COLUMNS = ("y", "cvar_95", "rmse", "max_drawdown", "cbr", "mean_pnl", "std_pnl", "mean_cost")


def _summary_path(name: str, seed: int) -> Path:
    return SUMMARIES / f"{name}__seed{seed}.json"


def run_trials(config_path: Path, seeds: list[int], runs_dir: Path) -> None:
    config = load_config(config_path)
    history = load_config(BACKTEST_CONFIG)
    SUMMARIES.mkdir(parents=True, exist_ok=True)
    for seed in seeds:
        target = _summary_path(config.name, seed)
        if target.exists():
            print(f"{target.name}: done already")
            continue
        seeded = config.model_copy(update={"agent": config.agent.model_copy(update={"seed": seed})})
        start = time.perf_counter()
        run = train(seeded, runs_dir)
        wall = time.perf_counter() - start
        agent, _ = load_agent(run)
        market = config.name.removeprefix(f"sp500_{config.agent.algo}_")
        agent.name = f"{config.agent.algo}_{market}_seed{seed}"
        result = backtest(history, [agent])
        row = result.comparison.table.loc[agent.name]
        windows = result.windows[result.windows["hedger"] == agent.name]
        summary = {
            "config": str(config_path.relative_to(ROOT)),
            "config_sha256": hashlib.sha256(config_path.read_bytes()).hexdigest(),
            "name": config.name, "algo": config.agent.algo, "seed": seed, "hedger": agent.name,
            "training_wall_s": round(wall, 1), "run": str(run),
            "backtest": {"config": str(BACKTEST_CONFIG.relative_to(ROOT)), "test": list(history.market.build().test)},
            "metrics": {key: float(value) for key, value in row.items()},
            "windows": {"start": [d.date().isoformat() for d in windows["start"]],
                        "pnl": windows["pnl"].round(6).tolist(), "cost": windows["cost"].round(6).tolist()},
        }
        temporary = target.with_suffix(".json.partial")
        temporary.write_text(json.dumps(summary, indent=1))
        temporary.rename(target)
        print(f"{target.name}: Y {row['y']:.1f} on history, trained in {wall:.0f} s")


def report() -> None:
    history = load_config(BACKTEST_CONFIG)
    result = backtest(history, tune=True)
    market = history.market.build()
    summaries = [json.loads(p.read_text()) for p in sorted(SUMMARIES.glob("*.json"))]
    table = result.comparison.table.copy()
    for summary in summaries:
        table.loc[summary["hedger"]] = pd.Series(summary["metrics"])
    lines = [f"# Hedging on S&P 500 history: {market.test[0]} .. {market.test[1]}\n",
             "Produced by `python scripts/real_data_study.py report` from the committed summaries in "
             "`benchmarks/real_data/` (each written by `python scripts/real_data_study.py train --config <config> "
             "--seeds ...`).\n",
             f"Task (`{BACKTEST_CONFIG.relative_to(ROOT)}`): short 10 one-month at-the-money S&P 500 calls, rolled "
             f"every {market.stride} trading days, hedged daily with 1% stock costs; "
             f"{result.windows['window'].nunique()} non-overlapping test windows, each rescaled to start at 100. "
             f"Options valued at the VIX (Black–Scholes). Split: train {market.train[0]} .. {market.train[1]}, "
             f"validation {market.validation[0]} .. {market.validation[1]}, test {market.test[0]} .. "
             f"{market.test[1]}; agents never saw history after the train period. Intervals: bootstrap 95% with "
             "the window as the unit of resampling (35 windows: wide).\n",
             "## Every hedger on the test windows\n",
             markdown_table(table, COLUMNS), ""]
    if summaries:
        c = history.evaluation.cao_hull_c
        lines += ["## Agents by training market: Y over seeds\n",
                  "IQM over seeds of Y, with a 95% interval from 10,000 bootstrap resamples of the windows (the same "
                  "windows for every seed: the seeds are fixed, the history is resampled).\n",
                  "| trained on | seeds | Y per seed | IQM of Y [95%] | training wall |", "|---|---:|---|---:|---:|"]
        for name in dict.fromkeys(s["name"] for s in summaries):
            runs = [s for s in summaries if s["name"] == name]
            pnl = np.array([s["windows"]["pnl"] for s in runs])  # (seeds, windows)
            ys = np.array([s["metrics"]["y"] for s in runs])
            draws = np.random.default_rng(0).integers(0, pnl.shape[1], size=(10_000, pnl.shape[1]))
            resampled = pnl[:, draws]  # (seeds, reps, windows)
            y_draws = -resampled.mean(axis=-1) + c * resampled.std(axis=-1, ddof=1)
            iqm_draws = scipy.stats.trim_mean(y_draws, 0.25, axis=0)  # aggregate.iqm's definition, per draw
            low, high = np.percentile(iqm_draws, [2.5, 97.5])
            walls = [s["training_wall_s"] for s in runs]
            lines.append(f"| {name.removeprefix('sp500_ppo_')} | {len(runs)} | {', '.join(f'{y:,.0f}' for y in ys)} | "
                         f"{iqm([ys]):,.0f} [{low:,.0f}, {high:,.0f}] | {min(walls):.0f}–{max(walls):.0f} s |")
        lines.append("")
    worst = [result.worst]
    for summary in summaries:
        windows = pd.DataFrame(summary["windows"])
        lowest = windows.nsmallest(5, "pnl")
        worst.append(pd.DataFrame({"hedger": summary["hedger"], "rank": np.arange(1, len(lowest) + 1),
                                   "start": lowest["start"].to_numpy(), "pnl": lowest["pnl"].to_numpy(),
                                   "cost": lowest["cost"].to_numpy()}))
    merged = pd.concat(worst, ignore_index=True)
    merged["start"] = pd.to_datetime(merged["start"]).dt.date.astype(str)
    lines += ["## The five worst windows of each hedger (by start date)\n",
              "| hedger | rank | start | P&L | cost |", "|---|---:|---|---:|---:|"]
    lines += [f"| {r.hedger} | {r.rank} | {r.start} | {r.pnl:,.0f} | {r.cost:,.0f} |"
              for r in merged.itertuples(index=False)]
    REPORT.write_text("\n".join(lines) + "\n")
    print(f"wrote {REPORT}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    trials = commands.add_parser("train", help="train and backtest the seeds not yet summarised")
    trials.add_argument("--config", type=Path, required=True)
    trials.add_argument("--seeds", type=int, nargs="+", default=[0])
    trials.add_argument("--runs-dir", type=Path, default=ROOT / "runs" / "real_data")
    commands.add_parser("report", help="write benchmarks/real_data.md from the summaries")
    args = parser.parse_args(argv)
    if args.command == "train":
        run_trials(args.config.resolve(), args.seeds, args.runs_dir)
    else:
        report()
    return 0


if __name__ == "__main__":
    sys.exit(main())
