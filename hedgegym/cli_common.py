"""What every ``hedgegym`` command module shares: the console and the one way to fail on bad input.

Kept apart from ``hedgegym.cli`` so that command groups in their own modules (``hedgegym.cli_book``) use the same
console without importing the main app (no import cycle).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import numpy as np
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["DEFAULT_METRICS", "METRICS_HELP", "EventsOption", "ScenariosOption", "chosen_scenarios", "comparison_table",
           "console", "fail", "metric_list", "stress_table"]

console = Console(width=120) if not Console().is_terminal else Console()


def fail(message: object, code: int = 2) -> typer.Exit:
    """Print ``message`` (escaped: brackets in user input are text, not rich markup) in red, unwrapped (a path in it
    stays whole); the Exit to raise."""
    console.print(f"[red]{escape(str(message))}[/red]", soft_wrap=True)
    return typer.Exit(code=code)


DEFAULT_METRICS = "y,rmse,cvar_95,mean_cost,cbr"
METRICS_HELP = ("Comma-separated metrics of the terminal table (all of them are in results.csv): mean_pnl, std_pnl, "
                 "rmse, var_95, var_99, cvar_95, cvar_99, max_drawdown, max_drawdown_worst, mean_cost, turnover, "
                 "n_trades, cbr, sharpe, y, entropic.")


def metric_list(metrics: str) -> tuple[str, ...]:
    """``--metrics`` as a tuple of metric names; exit 2 naming an unknown one and the allowed names."""
    from hedgegym.evaluation.metrics import METRICS

    chosen = tuple(name.strip() for name in metrics.split(",") if name.strip())
    unknown = [name for name in chosen if name not in METRICS]
    if not chosen or unknown:
        problem = f"unknown metric {unknown[0]!r}" if unknown else "name at least one metric"
        raise fail(f"--metrics: {problem}; allowed: {', '.join(METRICS)}")
    return chosen


def comparison_table(table: pd.DataFrame, metrics: tuple[str, ...], title: str) -> Table:
    """A comparison (``Comparison.table``) as a rich table of ``metrics``: each cell the value ± half the width of its
    95% bootstrap interval (4 significant digits: the files keep every digit and the interval's ends), rows in the
    table's order, one line per hedger for the default metrics on a 120-column terminal."""
    from hedgegym.evaluation.html_report import significant

    result = Table(title=escape(title), caption="value ± half the 95% bootstrap interval (results.csv: its ends); "
                   "currency unless stated (hedgegym.evaluation.metrics); lower is better for y, rmse, cvar, drawdown, "
                   "cost, cbr")
    result.add_column("hedger", no_wrap=True)
    for metric in metrics:
        result.add_column(metric, justify="right")
    fallbacks = "fallback_steps" in table and bool((table["fallback_steps"] > 0).any())
    if fallbacks:
        result.add_column("fallback steps", justify="right")
        result.caption += ("; fallback steps: path-steps on which a Greek-neutral hedger neutralised fewer Greeks "
                           "than asked (an ill-conditioned system, or a position beyond its limit: the last Greek "
                           "dropped)")
    for name, row in table.iterrows():
        cells = []
        for metric in metrics:
            value, low, high = (row.get(f"{metric}{suffix}", np.nan) for suffix in ("", "_low", "_high"))
            cell = "—" if not np.isfinite(value) else significant(value, 4)
            if np.isfinite(value) and np.isfinite(low) and np.isfinite(high):
                cell += f" ±{significant((high - low) / 2, 2)}"
            cells.append(cell)
        if fallbacks:
            cells.append(f"{int(row['fallback_steps']):,}")
        result.add_row(escape(str(name)), *cells)
    return result


ScenariosOption = Annotated[
    Path | None, typer.Option("--scenarios", help="YAML list of {name, spot_shock, vol_shock, days}; default: "
                              "spot ±10%, vol +20 points, spot -10% with vol +20 points, flash crash -20%.")
]
EventsOption = Annotated[
    bool, typer.Option("--events", help="Add the scenarios with time: a week of theta, an IV crush the day after "
                       "earnings, a gap down with a vol spike, a slow sell-off.")
]


def chosen_scenarios(scenarios: Path | None, events: bool) -> tuple:
    """The stress scenarios of ``--scenarios`` (a YAML file; default ``DEFAULT_SCENARIOS``) and, with ``--events``,
    ``EVENT_SCENARIOS`` after them (``hedgegym.risk.stress``); exit 2 naming ``--scenarios`` when the file is bad."""
    import yaml

    from hedgegym.risk.stress import DEFAULT_SCENARIOS, EVENT_SCENARIOS, parse_scenarios

    chosen = DEFAULT_SCENARIOS
    if scenarios is not None:
        try:
            chosen = parse_scenarios(yaml.safe_load(scenarios.read_text()), str(scenarios))
        except (OSError, yaml.YAMLError, ValueError) as error:
            raise fail(f"--scenarios: {error}") from None
    return (*chosen, *EVENT_SCENARIOS) if events else chosen


def stress_table(table: pd.DataFrame, title: str, caption: str, digits: int, gamma_digits: int, **options) -> Table:
    """A stress test's table (``hedgegym.risk.stress.STRESS_COLUMNS``) as a rich table: the shocks, ΔV and its
    estimates, the changes of Δ and Γ and the loss (red when there is one), amounts to ``digits`` decimals and the
    change of Γ to ``gamma_digits``; ``options`` go to ``rich.table.Table`` (e.g. ``box``)."""
    from hedgegym.risk.stress import format_amount

    result = Table(title=title, caption=caption, **options)
    for column in ("scenario", "spot", "vol", "days", "ΔV", "Δ–Γ", "+vega", "+Θ", "Δ change", "Γ change", "loss"):
        result.add_column(column, justify="left" if column == "scenario" else "right", no_wrap=True)
    for row in table.itertuples(index=False):
        loss = format_amount(row.loss, digits)
        result.add_row(
            escape(str(row.scenario)), f"{row.spot_shock:+.0%}", f"{row.vol_shock * 100:+.0f}pt", str(row.days),
            *(format_amount(x, digits) for x in (row.value_change, row.delta_gamma_estimate,
                                                 row.delta_gamma_vega_estimate, row.delta_gamma_vega_theta_estimate,
                                                 row.delta_change)),
            format_amount(row.gamma_change, gamma_digits), f"[red]{loss}[/red]" if row.loss > 0 else loss,
        )
    return result
