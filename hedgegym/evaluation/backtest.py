r"""Backtest on history: every hedger (and trained agents) over every test window of a historical market.

``backtest(config, agents)`` runs ``compare`` on the test windows of a ``historical`` config (every window of
``market.test``, one every ``market.stride`` trading days, in date order: ``HedgingEnv``'s held-out set for that
market), so the metrics table is ``compare``'s, with bootstrap intervals whose resampling unit is the window. It
adds what a date axis gives:

  * ``windows``: one row per (window, hedger): start and end dates, the index move S_end / S_start − 1, the
    realised volatility over the window √(252 · mean r²) and the implied-volatility proxy at its start, the P&L,
    the cost paid;
  * ``per_year``: per hedger and calendar year of the window's start: windows, mean, std, total and worst P&L,
    mean cost;
  * ``worst``: per hedger, the ``n_worst`` windows with the lowest P&L, named by their dates.

Agents trained in another market (GBM, Heston, GARCH, bootstrap) act with their own features, action mapping and
training scales (``hedgegym.evaluation.rollout.check_agent_fits``: same book, hedge options and time grid).
``write_backtest`` writes ``compare``'s files plus ``windows.csv``, ``per_year.csv``, ``worst.md``,
``backtest.md`` and ``pnl_through_time.png`` (cumulative P&L by window end date), all at once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from hedgegym.config import ExperimentConfig
from hedgegym.evaluation.reports import Comparison, compare, default_hedgers, line_styles, markdown_table
from hedgegym.evaluation.rollout import TEST_STREAM, test_paths
from hedgegym.market import HistoricalMarket
from hedgegym.market.series import TRADING_DAYS_PER_YEAR

__all__ = ["Backtest", "backtest", "write_backtest"]


@dataclass
class Backtest:
    """``compare``'s result on the test windows plus the per-window, per-year and worst-window tables."""

    comparison: Comparison
    windows: pd.DataFrame
    per_year: pd.DataFrame
    worst: pd.DataFrame


def backtest(config: ExperimentConfig, agents: Sequence = (), n_worst: int = 5, tune: bool = False,
             progress: Callable[[str], None] | None = None) -> Backtest:
    """Every classical hedger of ``default_hedgers(config)`` and each of ``agents`` (SB3 models or deep hedgers,
    e.g. from ``load_agent``) on every test window of ``config``'s historical market. ``tune``: also each rule
    tuned for Y on every window of the *validation* period (``hedgegym.evaluation.tuning``; ``<rule>_tuned``).

    Raises: ``ValueError`` naming ``market.model`` when the config's market is not ``historical``; the agents'
    ``check_agent_fits`` errors; ``compare``'s errors.
    """
    model = config.market.build()
    if not isinstance(model, HistoricalMarket):
        raise ValueError(f"market.model must be 'historical' for a backtest (windows of real history), got "
                         f"{config.market.model!r}")
    if isinstance(n_worst, bool) or not isinstance(n_worst, int) or n_worst < 1:
        raise ValueError(f"n_worst must be an integer >= 1, got {n_worst!r}")
    settings = config.evaluation
    tuned = []
    if tune:
        from hedgegym.evaluation.tuning import tune_classical

        tuned = tune_classical(config, 10)  # a historical market's validation set: every validation window
    hedgers = [*default_hedgers(config), *(rule.hedger for rule in tuned), *agents]
    paths = test_paths(config, 10, settings.seed, stream=TEST_STREAM)  # every test window: n_paths does not apply
    comparison = compare(config, hedgers, bootstrap=settings.bootstrap, seed=settings.seed,
                         cao_hull_c=settings.cao_hull_c, progress=progress, paths=paths)
    comparison.tuning = tuned
    windows = _windows(model, paths, comparison)
    return Backtest(comparison, windows, _per_year(windows), _worst(windows, n_worst))


def _windows(model: HistoricalMarket, paths, comparison: Comparison) -> pd.DataFrame:
    day = paths.extras["day"]
    dates = model.dates
    log_returns = np.diff(np.log(paths.spot), axis=1)
    market = pd.DataFrame({
        "window": np.arange(paths.n_paths),
        "start": dates[day[:, 0]], "end": dates[day[:, -1]],
        "index_move": paths.spot[:, -1] / paths.spot[:, 0] - 1.0,
        "realised_volatility": np.sqrt(TRADING_DAYS_PER_YEAR * np.mean(log_returns**2, axis=1)),
        "implied_volatility": np.sqrt(paths.variance[:, 0]),
    })
    rows = [market.assign(hedger=evaluation.name, pnl=evaluation.per_path["pnl"].to_numpy(),
                          cost=evaluation.per_path["cost"].to_numpy())
            for evaluation in comparison.evaluations]
    return pd.concat(rows, ignore_index=True)


def _per_year(windows: pd.DataFrame) -> pd.DataFrame:
    grouped = windows.assign(year=windows["start"].dt.year).groupby(["hedger", "year"], sort=False)
    table = grouped.agg(windows=("pnl", "size"), mean_pnl=("pnl", "mean"), std_pnl=("pnl", "std"),
                        total_pnl=("pnl", "sum"), worst_pnl=("pnl", "min"), mean_cost=("cost", "mean"))
    return table.reset_index()


def _worst(windows: pd.DataFrame, n_worst: int) -> pd.DataFrame:
    ranked = windows.sort_values(["hedger", "pnl"], kind="stable").groupby("hedger", sort=False).head(n_worst)
    ranked = ranked.assign(rank=ranked.groupby("hedger", sort=False).cumcount() + 1)
    order = {name: i for i, name in enumerate(windows["hedger"].unique())}
    ranked = ranked.sort_values(["hedger", "rank"], key=lambda c: c.map(order) if c.name == "hedger" else c)
    return ranked[["hedger", "rank", "start", "end", "pnl", "cost", "index_move", "realised_volatility",
                   "implied_volatility"]].reset_index(drop=True)


def _markdown(frame: pd.DataFrame) -> str:
    def cell(value: object) -> str:
        if isinstance(value, pd.Timestamp):
            return value.date().isoformat()
        if isinstance(value, float | np.floating):
            if not np.isfinite(value):
                return "—"
            return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:,.4g}"
        return str(value)

    lines = ["| " + " | ".join(frame.columns) + " |", "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines) + "\n"


def write_backtest(result: Backtest, directory: str | Path) -> list[Path]:
    """Write ``compare``'s files and the backtest's tables and plot into ``directory``, all at once
    (``hedgegym.output.atomic_directory``: nothing is left behind by an error, nothing is overwritten)."""
    from hedgegym.evaluation.reports import _write_files
    from hedgegym.output import atomic_directory

    final = Path(directory)
    with atomic_directory(final) as temporary:
        written = _write_files(result.comparison, temporary)
        result.windows.to_csv(temporary / "windows.csv", index=False, float_format="%.10g")
        result.per_year.to_csv(temporary / "per_year.csv", index=False, float_format="%.10g")
        (temporary / "worst.md").write_text(_markdown(result.worst))
        (temporary / "backtest.md").write_text(backtest_markdown(result))
        written += [temporary / name for name in ("windows.csv", "per_year.csv", "worst.md", "backtest.md")]
        written.append(_plot_through_time(result.windows, temporary / "pnl_through_time.png"))
    return [final / path.name for path in written]


def backtest_markdown(result: Backtest) -> str:
    """The report: period and windows, the metrics table (CIs over windows), the per-year totals and the worst
    windows of each hedger."""
    windows = result.windows
    first = windows.drop_duplicates("window")
    config = result.comparison.config
    market = config.market.build()
    header = (f"# {config.name}: backtest on {market.series} {market.test[0]} .. {market.test[1]}\n\n"
              f"{len(first)} windows of {config.simulation.n_steps} trading days, one every {market.stride} "
              f"(first {first['start'].iloc[0].date()}, last ending {first['end'].iloc[-1].date()}); options "
              f"valued at the {market.volatility_proxy} volatility proxy. Intervals: bootstrap 95% over windows.\n\n")
    if market.stride < config.simulation.n_steps:
        header += (f"Windows overlap (stride {market.stride} < {config.simulation.n_steps} steps): the yearly totals "
                   "and the cumulative P&L count shared days more than once, and the intervals are too narrow.\n\n")
    totals = result.per_year.pivot(index="hedger", columns="year", values="total_pnl")
    totals = totals.loc[windows["hedger"].unique()].reset_index()
    totals.columns = [str(c) for c in totals.columns]
    return (header + markdown_table(result.comparison.table) + "\n## Total P&L per calendar year\n\n"
            + _markdown(totals) + "\n## Worst windows\n\n" + _markdown(result.worst))


def _plot_through_time(windows: pd.DataFrame, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(10, 5))
    groups = list(windows.groupby("hedger", sort=False))
    for (name, rows), style in zip(groups, line_styles(len(groups)), strict=True):
        axis.plot(rows["end"], rows["pnl"].cumsum(), label=name, lw=1.2, **style)
    axis.axhline(0.0, color="k", lw=0.5)
    axis.set_xlabel("window end date")
    axis.set_ylabel("cumulative P&L (currency)")
    axis.set_title("P&L through time, window by window")
    axis.legend(fontsize=7, ncol=2)
    figure.autofmt_xdate()
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path
