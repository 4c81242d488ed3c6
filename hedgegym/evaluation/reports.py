"""Comparisons people look at: every hedger on the same held-out paths → a metrics table, CSV/Markdown, plots.

``compare(config)`` picks the classical hedgers that fit the config (``default_hedgers``), runs each through
``evaluate`` on one shared path set and summarises them with ``metrics.summarize`` (bootstrap CIs; CBR against
the no-hedge row). ``write_outputs(comparison, directory)`` writes into a new (or empty) directory:

* ``results.csv`` — a row per hedger, a column per metric (snake_case: ``rmse``, ``max_drawdown``, ``cbr``,
  ``cvar_95``, ``mean_cost`` …) and ``<metric>_low`` / ``<metric>_high`` for the 95% intervals;
* ``results.md`` — the main columns as a Markdown table;
* ``tuning.csv`` — with tuned classical rules (``Comparison.tuning``, ``hedgegym.evaluation.tuning``): a row per
  (rule, candidate value) with its validation Y, the chosen and the default values marked;
* ``per_path.csv`` — a row per (hedger, path): P&L, cost, turnover, trades, drawdown, attribution;
* ``limits.csv``, ``limits.md`` — with ``limits:`` in the config (``hedgegym.risk.limits``), a row per hedger: the
  share of paths breaching each limit, breaches per path, time in breach and in alert, VaR / CVaR against theirs;
* ``report.html`` — one self-contained page: the tables with their intervals, every figure, the config, the command;
* ``pnl_boxplot.png``, ``risk_cost_frontier.png`` (CVaR 95% against mean cost, with intervals), ``pnl_histogram.png``
  (the unhedged book left out), ``hedge_vs_delta.png`` (stock position of each hedger against −Δ_book on one path),
  ``cumulative_cost.png`` (mean over paths), ``attribution.png`` (mean attribution terms per hedger).
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from hedgegym.baselines import (
    DeltaHedger,
    GreekNeutralHedger,
    Hedger,
    LelandHedger,
    NoHedge,
    RobustDeltaGammaHedger,
    ThresholdRebalancing,
    UncertainVolatilityDeltaHedger,
    WhalleyWilmottHedger,
)
from hedgegym.baselines.base import HedgerDomainError
from hedgegym.baselines.stock_costs import StockCosts
from hedgegym.config import ExperimentConfig, check_evaluation_size
from hedgegym.env.features import Scales, reference_volatility
from hedgegym.evaluation.metrics import summarize
from hedgegym.evaluation.rollout import ATTRIBUTION_TERMS, Evaluation, evaluate, test_paths
from hedgegym.market import MarketPaths
from hedgegym.risk.limits import limit_markdown, limit_table

__all__ = ["Comparison", "compare", "default_hedgers", "markdown_table", "tuning_table", "write_outputs"]

MAIN_COLUMNS = ("mean_pnl", "std_pnl", "rmse", "cvar_95", "max_drawdown", "mean_cost", "turnover", "cbr", "y")


@dataclass
class Comparison:
    table: pd.DataFrame  # index: hedger name; columns: metrics and their CI bounds, and fallback_steps
    evaluations: list[Evaluation]
    config: ExperimentConfig
    skipped: dict[str, str] = field(default_factory=dict)  # hedger name → why it was left out
    tuning: list = field(default_factory=list)  # TunedRule of each tuned hedger in the table (validation figures)
    limits: pd.DataFrame | None = None  # hedgegym.risk.limits.limit_table when the config sets limits
    command: str | None = None  # the command line that made it, for report.html (None: this process's)


def default_hedgers(config: ExperimentConfig) -> list[Hedger]:
    """No hedge; delta every step, every 5 steps, in a 5% band; and, when they apply, the cost-aware rules and the
    option hedges:

    * any stock cost (proportional, half-spread, fixed fee or quadratic impact): the cost–benefit band (it prices
      each trade with the whole cost model); with a linear cost (proportional or half-spread): Leland; with
      costs Whalley–Wilmott's band covers (linear, or a fixed fee alone): Whalley–Wilmott. Each reads the stock's
      cost terms from the engine's cost model and refuses, at ``reset``, a market outside its model
      (``HedgerDomainError``): ``compare`` then leaves it out with the reason.
    * delta–gamma and delta–vega with ≥ 1 listed option; delta–gamma–vega with ≥ 2.
    * with ``hedging.uncertain_volatility`` (a band [σ_min, σ_max]): the uncertain-volatility delta hedger and, with a
      listed option, the robust delta–gamma hedger (``hedgegym.baselines.uncertain_volatility``).
    * with ``hedging.rebalancing``: ``<name>_threshold``, the daily delta and each Greek-neutral hedger rebalanced
      only by those rules (``ThresholdRebalancing``; each with the bands on the Greeks it neutralises).
    """
    hedgers: list[Hedger] = [NoHedge(), DeltaHedger()]
    if config.simulation.n_steps >= 10:
        hedgers.append(DeltaHedger(rebalance_every=5))
    hedgers.append(DeltaHedger(band=0.05))
    n_options = len(config.hedging.hedge_options)
    stock_costs = StockCosts.of(config.costs.build(n_options))
    if stock_costs.any:
        model = config.market.build()
        gamma_risk = 100.0 / (config.build_book().notional * model.spot)
        hedgers.append(DeltaHedger(cost_benefit=True, risk_aversion=gamma_risk))
        if stock_costs.linear:
            hedgers.append(LelandHedger(volatility=reference_volatility(model)))
        hedgers.append(WhalleyWilmottHedger(risk_aversion=gamma_risk))
    limits = {"max_condition": config.hedging.max_condition, "position_limit": config.hedging.position_limit}
    if n_options >= 1:
        hedgers.append(GreekNeutralHedger(("delta", "gamma"), **limits))
        hedgers.append(GreekNeutralHedger(("delta", "vega"), **limits))
    if n_options >= 2:
        hedgers.append(GreekNeutralHedger(("delta", "gamma", "vega"), **limits))
    band = config.hedging.uncertain_volatility
    if band is not None:  # the robust hedgers of the uncertain volatility model
        hedgers.append(UncertainVolatilityDeltaHedger(band.volatility_min, band.volatility_max))
        if n_options >= 1:
            hedge_volatility = band.hedge_volatility or reference_volatility(config.market.build())
            hedgers.append(RobustDeltaGammaHedger(band.volatility_min, band.volatility_max, hedge_volatility,
                                                  **limits))
    rules = config.hedging.rebalancing
    if rules is not None:  # a threshold variant of the daily delta and of each Greek-neutral hedger
        daily = [h for h in hedgers if isinstance(h, GreekNeutralHedger)
                 or (type(h) is DeltaHedger and h.name == "delta")]
        for hedger in daily:  # a band only on the Greeks the hedger neutralises (the rest would always fire)
            bands = {g: b for g, b in rules.bands.items() if g in getattr(hedger, "greeks", ("delta",))}
            if bands or rules.spot_move is not None or rules.every is not None:  # else: the daily hedger again
                hedgers.append(ThresholdRebalancing(hedger, bands, rules.relative, rules.spot_move, rules.every))
    return hedgers


def compare(
    config: ExperimentConfig,
    hedgers: list | None = None,
    n_paths: int = 10_000,
    seed: int = 1234,
    bootstrap: int = 500,
    cao_hull_c: float = 1.5,
    progress: Callable[[str], None] | None = None,
    paths: MarketPaths | None = None,
) -> Comparison:
    """Evaluate every hedger on one held-out path set and tabulate the metrics (see the module docstring).

    ``paths``: the path set (``backtest`` passes the windows it also dates); otherwise ``test_paths(config, n_paths,
    seed)``.

    A hedger whose model does not cover the config (``HedgerDomainError`` at its ``reset``, e.g. Leland on a long
    book with a Leland number ≥ 1) is left out of the table; ``Comparison.skipped`` names it with the reason.
    The table's ``fallback_steps`` column counts the path-steps on which a Greek-neutral hedger neutralised fewer
    Greeks than asked (an ill-conditioned system or a position beyond its limit: ``hedgegym.baselines.greek_solver``).
    """
    size, field = (n_paths, "n_paths") if paths is None else (paths.n_paths, "paths.n_paths")
    check_evaluation_size(size, config.simulation.n_steps, field, minimum=10)
    hedgers = hedgers if hedgers is not None else default_hedgers(config)
    names = [getattr(hedger, "name", type(hedger).__name__) for hedger in hedgers]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValueError(f"hedgers: each needs its own name (the table's rows), repeated: {', '.join(repeated)}")
    paths = test_paths(config, n_paths, seed) if paths is None else paths
    scales = Scales.from_setup(config.market.build(), config.build_book())
    evaluations, skipped = [], {}
    for hedger in hedgers:
        name = getattr(hedger, "name", type(hedger).__name__)
        if progress is not None:
            progress(name)
        try:
            evaluations.append(evaluate(hedger, config, paths=paths).sampled())
        except HedgerDomainError as error:
            skipped[name] = str(error)
    if not evaluations:
        raise ValueError("every hedger was left out: " + "; ".join(f"{n}: {r}" for n, r in skipped.items()))
    reference = next((e for e in evaluations if e.name == "no_hedge"), None)
    no_hedge_rmse = None if reference is None else float(np.sqrt(np.mean(reference.per_path["pnl"] ** 2)))
    rows = {}
    for evaluation in evaluations:
        baseline = None if evaluation is reference else no_hedge_rmse
        rows[evaluation.name] = summarize(evaluation.per_path, baseline, scales.value, bootstrap, seed, cao_hull_c)
        rows[evaluation.name]["fallback_steps"] = evaluation.fallback_steps
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "hedger"
    limits = config.build_limits()
    report = None if limits is None else limit_table({e.name: e.per_path for e in evaluations}, limits)
    return Comparison(table, evaluations, config, skipped, limits=report)


def markdown_table(table: pd.DataFrame, columns: tuple[str, ...] = MAIN_COLUMNS) -> str:
    """A Markdown table of ``columns`` (point value and [low, high] when the CI columns exist); with the default
    columns, ``fallback_steps`` is added when a hedger fell back to fewer Greeks on any path-step."""
    if columns == MAIN_COLUMNS and "fallback_steps" in table and (table["fallback_steps"] > 0).any():
        columns = (*columns, "fallback_steps")
    header = "| hedger | " + " | ".join(columns) + " |"
    lines = [header, "|---|" + "---:|" * len(columns)]
    for name, row in table.iterrows():
        cells = []
        for column in columns:
            value = row[column]
            cell = "—" if not np.isfinite(value) else f"{value:,.4g}"
            low, high = row.get(f"{column}_low"), row.get(f"{column}_high")
            if low is not None and np.isfinite(value) and np.isfinite(low) and np.isfinite(high):
                cell += f" [{low:,.4g}, {high:,.4g}]"
            cells.append(cell)
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_outputs(comparison: Comparison, directory: str | Path) -> list[Path]:
    """Write tables, per-path results and plots into ``directory``; the files (paths under ``directory``).

    All at once (``hedgegym.output.atomic_directory``): written into a temporary sibling and renamed at the end,
    so an error or Ctrl-C leaves no half-written directory. ``OutputDirError`` (a ``ValueError``) before writing
    anything if ``directory`` is a file, a non-empty directory, or under a path that cannot be written.
    """
    from hedgegym.output import atomic_directory

    final = Path(directory)
    with atomic_directory(final) as temporary:
        written = _write_files(comparison, temporary)
    return [final / path.name for path in written]


def _write_files(comparison: Comparison, directory: Path) -> list[Path]:
    written = []
    table = comparison.table
    table.to_csv(directory / "results.csv", float_format="%.10g")
    config = comparison.config
    header = (f"# {config.name}: {len(table)} hedgers on {len(comparison.evaluations[0].per_path):,} held-out paths\n\n"
              "Values with bootstrap 95% intervals; currency unless stated (see hedgegym.evaluation.metrics).\n\n")
    left_out = "".join(f"\n- left out `{name}`: {reason}\n" for name, reason in comparison.skipped.items())
    (directory / "results.md").write_text(header + markdown_table(table) + left_out)
    per_path = pd.concat([e.per_path.assign(hedger=e.name, path=np.arange(len(e.per_path)))
                          for e in comparison.evaluations], ignore_index=True)
    per_path.to_csv(directory / "per_path.csv", index=False, float_format="%.10g")
    config.save(directory / "config.yaml")
    written += [directory / name for name in ("results.csv", "results.md", "per_path.csv", "config.yaml")]
    if comparison.limits is not None:
        comparison.limits.to_csv(directory / "limits.csv", float_format="%.10g")
        (directory / "limits.md").write_text(limit_markdown(comparison.limits, config.build_limits(),
                                                            f"{config.name}: risk limits"))
        written += [directory / "limits.csv", directory / "limits.md"]
    if comparison.tuning:
        written.append(directory / "tuning.csv")
        tuning_table(comparison.tuning).to_csv(written[-1], index=False, float_format="%.10g")
    figures = _plots(comparison, directory)
    written += figures
    written.append(directory / "report.html")
    (directory / "report.html").write_text(comparison_html(comparison, figures))
    return written


_FIGURE_CAPTIONS = {
    "pnl_boxplot": "Hedged P&L per hedger: box = quartiles, whiskers = 1st and 99th percentiles, diamond = mean.",
    "risk_cost_frontier": "Risk against cost: CVaR 95% of the loss against the mean transaction cost, 95% bootstrap "
                          "intervals as bars; down and to the left is better.",
    "pnl_histogram": "P&L distributions on a shared range (the unhedged book left out: its spike would flatten the "
                     "rest).",
    "hedge_vs_delta": "Stock position of each hedger against the model delta hedge on held-out path 0.",
    "cumulative_cost": "Mean cumulative transaction cost over the episode.",
    "attribution": "Mean P&L attribution per hedger (hedgegym.evaluation.rollout).",
}


def comparison_html(comparison: Comparison, figures: list[Path]) -> str:
    """The comparison as ``report.html`` (``hedgegym.evaluation.html_report``): the metrics with 95% intervals (the
    lowest Y highlighted), the limit report, the hedgers left out, every figure embedded, the config and command."""
    from hedgegym.evaluation.html_report import ReportTable, figure_html, page, table_html

    table, config = comparison.table, comparison.config
    n_paths = len(comparison.evaluations[0].per_path)
    best = str(table["y"].idxmin()) if table["y"].notna().any() else None
    columns = ("y", "rmse", "cvar_95", "std_pnl", "mean_pnl", "max_drawdown", "mean_cost", "turnover", "cbr")
    fallback_note = ""
    if "fallback_steps" in table and (table["fallback_steps"] > 0).any():
        columns += ("fallback_steps",)
        fallback_note = (" fallback_steps: path-steps on which a Greek-neutral hedger neutralised fewer Greeks than "
                         "asked (an ill-conditioned system, e.g. listed options of one expiry whose Γ and vega are "
                         "collinear, or a position beyond its limit): it dropped the last Greek there.")
    sections = [("Hedgers on the same held-out paths", (
        f"<p class='note'>{len(table)} hedgers on {n_paths:,} held-out paths; currency unless stated; values with 95% "
        "bootstrap intervals; lower is better for Y (the Cao–Hull objective E[cost] + 1.5 sd), RMSE, CVaR, "
        f"drawdown, cost and CBR (hedgegym.evaluation.metrics). Highlighted: the lowest Y.{fallback_note}</p>"
        + table_html(ReportTable(table, columns, best=best, formats={"fallback_steps": ",.0f"}))))]
    if comparison.limits is not None:
        limits = comparison.limits
        shown = [c for c in limits.columns if not c.endswith("_breached") or c.startswith("drawdown")]
        sections.append(("Risk limits", "<p class='note'>share of paths with a breach, breaches per path, mean time in "
                         "breach and in alert (fractions of steps); VaR and CVaR of the loss (limits.md lists the "
                         "limits).</p>" + table_html(ReportTable(limits, shown))))
    if comparison.skipped:
        items = "".join(f"<li><b>{html.escape(str(name))}</b>: {html.escape(str(reason))}</li>"
                        for name, reason in comparison.skipped.items())
        sections.append(("Left out", f"<ul>{items}</ul>"))
    sections.append(("Figures", "".join(figure_html(path, _FIGURE_CAPTIONS.get(path.stem, "")) for path in figures)))
    return page(f"{config.name}: hedgers compared", sections, _config_yaml(config), comparison.command)


def _config_yaml(config: ExperimentConfig) -> str:
    import yaml

    return yaml.safe_dump(config.model_dump(mode="json", exclude_defaults=True), sort_keys=False)



def tuning_table(tuned: list) -> pd.DataFrame:
    """One row per (rule, candidate): ``rule``, ``parameter``, ``value``, ``validation_y`` (currency; NaN where the
    rule refused the market), ``chosen``, ``default``, ``at_edge`` (of the chosen value)."""
    rows = [{"rule": rule.rule, "parameter": rule.parameter, "value": value, "validation_y": y,
             "chosen": value == rule.value, "default": value == rule.default, "at_edge": rule.at_edge}
            for rule in tuned for value, y in rule.validation_y.items()]
    return pd.DataFrame(rows, columns=["rule", "parameter", "value", "validation_y", "chosen", "default", "at_edge"])


def line_styles(n: int) -> list[dict[str, object]]:
    """A distinct matplotlib ``color`` and ``linestyle`` for each of ``n`` hedgers: tab10 up to 10, tab20 up to 20,
    then tab20 again with dashed, dotted and dash-dotted lines (matplotlib's default cycle repeats after 10)."""
    import matplotlib

    colours = matplotlib.colormaps["tab20" if n > 10 else "tab10"]
    styles = ("-", "--", ":", "-.")
    return [{"color": colours(i % colours.N), "linestyle": styles[(i // colours.N) % len(styles)]} for i in range(n)]


def _plots(comparison: Comparison, directory: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    evaluations = comparison.evaluations
    styles = line_styles(len(evaluations))  # one per hedger, the same in every plot
    files = []
    hedged = [e for e in evaluations if e.name != "no_hedge"] or evaluations  # the unhedged spike flattens the rest
    files.append(_pnl_boxplot(evaluations, hedged, directory / "pnl_boxplot.png"))
    files.append(_risk_cost_frontier(comparison.table, styles, [e.name for e in evaluations],
                                     directory / "risk_cost_frontier.png"))
    figure, axis = plt.subplots(figsize=(8, 5))
    everything = np.concatenate([e.per_path["pnl"].to_numpy() for e in hedged])
    bins = np.linspace(*np.percentile(everything, [0.5, 99.5]), 80)
    for e, style in zip(evaluations, styles, strict=True):
        if e in hedged:
            axis.hist(e.per_path["pnl"], bins=bins, histtype="step", label=e.name, density=True, **style)
    left_out = " (no hedge left out)" if len(hedged) < len(evaluations) else ""
    axis.set(xlabel="hedged P&L at the end (currency)", ylabel="density", title=f"P&L distribution{left_out}")
    axis.legend(fontsize=8)
    files.append(_save(figure, directory / "pnl_histogram.png"))

    if "book_delta" in evaluations[0].series:  # absent from evaluations run with attribution=False
        figure, axis = plt.subplots(figsize=(10, 5))
        reference = evaluations[0].series["book_delta"][:, 0]
        axis.plot(-reference, "k--", label="−Δ_book (model)")
        for e, style in zip(evaluations, styles, strict=True):
            axis.step(np.arange(len(reference)), e.series["stock_position"][:, 0], where="post", label=e.name, lw=1,
                      **style)
        axis.set(xlabel="step", ylabel="shares", title="stock position vs delta, path 0")
        axis.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8, frameon=False)
        files.append(_save(figure, directory / "hedge_vs_delta.png"))

    figure, axis = plt.subplots(figsize=(8, 5))
    for e, style in zip(evaluations, styles, strict=True):
        axis.plot(np.cumsum(e.series["mean_cost_paid"][:, 0]), label=e.name, **style)
    axis.set(xlabel="step", ylabel="currency", title="mean cumulative transaction cost")
    axis.legend(fontsize=8)
    files.append(_save(figure, directory / "cumulative_cost.png"))

    if not all(f"attribution_{ATTRIBUTION_TERMS[0]}" in e.per_path for e in evaluations):
        return files  # an evaluation run with attribution=False has no attribution to plot
    figure, axis = plt.subplots(figsize=(9, 5))
    width = 0.8 / len(ATTRIBUTION_TERMS)
    x = np.arange(len(evaluations))
    for j, term in enumerate(ATTRIBUTION_TERMS):
        axis.bar(x + j * width, [e.per_path[f"attribution_{term}"].mean() for e in evaluations], width, label=term)
    axis.set_xticks(x + 0.4 - width / 2, [e.name for e in evaluations], rotation=30, ha="right", fontsize=8)
    axis.set(ylabel="mean over paths (currency)", title="P&L attribution")
    axis.legend(fontsize=8)
    files.append(_save(figure, directory / "attribution.png"))
    return files


def _pnl_boxplot(evaluations: list[Evaluation], hedged: list[Evaluation], path: Path) -> Path:
    """Horizontal box plots of each hedger's P&L (quartiles, 1st–99th percentile whiskers, the mean), on the range of
    the hedged books (the unhedged box, much wider, runs off the edge and says so)."""
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(8, 0.45 * len(evaluations) + 1.5))
    data = [e.per_path["pnl"].to_numpy() for e in evaluations][::-1]
    axis.boxplot(data, orientation="horizontal", whis=(1, 99), showfliers=False, showmeans=True,
                 meanprops={"marker": "D", "markersize": 4, "markerfacecolor": "black", "markeredgecolor": "black"})
    axis.set_yticks(np.arange(1, len(data) + 1), [e.name for e in evaluations][::-1], fontsize=8)
    low, high = np.percentile(np.concatenate([e.per_path["pnl"].to_numpy() for e in hedged]), [0.5, 99.5])
    pad = 0.08 * (high - low)
    axis.set_xlim(low - pad, high + pad)
    axis.axvline(0.0, color="0.6", linewidth=0.8)
    clipped = " (no hedge runs beyond the range)" if len(hedged) < len(evaluations) else ""
    axis.set(xlabel="hedged P&L at the end (currency)", title=f"P&L per hedger{clipped}")
    return _save(figure, path)


def _risk_cost_frontier(table: pd.DataFrame, styles: list[dict[str, object]], names: list[str], path: Path) -> Path:
    """CVaR 95% of the loss against the mean transaction cost, one point per hedger with its 95% bootstrap intervals
    as error bars; the unhedged book (no cost, large CVaR) is left out when others are there."""
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(10, 5.5))
    markers = "osD^vP*Xhp<>"  # colour and shape: neighbours that overlap stay apart in the legend
    for index, (name, style) in enumerate(zip(names, styles, strict=True)):
        if name == "no_hedge" and len(names) > 1:
            continue
        row = table.loc[name]
        x, y = row["mean_cost"], row["cvar_95"]
        xerr = [[x - row.get("mean_cost_low", x)], [row.get("mean_cost_high", x) - x]]
        yerr = [[y - row.get("cvar_95_low", y)], [row.get("cvar_95_high", y) - y]]
        axis.errorbar([x], [y], xerr=np.nan_to_num(xerr), yerr=np.nan_to_num(yerr), fmt=markers[index % len(markers)],
                      color=style["color"], markersize=7, capsize=3, label=name)
    axis.set(xlabel="mean transaction cost (currency)", ylabel="CVaR 95% of the loss (currency)",
             title="risk against cost (lower left is better)")
    axis.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8, frameon=False)
    return _save(figure, path)


def _save(figure, path: Path) -> Path:
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    import matplotlib.pyplot as plt

    plt.close(figure)
    return path

