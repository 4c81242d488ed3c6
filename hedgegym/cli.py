"""The ``hedgegym`` command line (typer). Thin: parse arguments, call the library, show tables.

    hedgegym compare --config configs/gbm_call.yaml   # every classical hedger on the same held-out paths
    hedgegym train --config configs/ppo_gbm_cost_20d.yaml  # train an agent into runs/ (TensorBoard, checkpoints)
    hedgegym check --config configs/gbm_call.yaml     # the market and book of a config, priced two ways
    hedgegym stress --config configs/gbm_call.yaml    # the hedged book under spot and volatility shocks
    hedgegym dashboard --config configs/gbm_call.yaml # the hedged book's Greeks vs targets, with alerts (PNG)

Bad input exits with code 2 and one escaped red message naming the field or option (never a traceback); every
flag that overrides a config field goes through ``hedgegym.config.apply_overrides``, so it meets the same checks
as the file. Heavy libraries (torch, stable-baselines3, matplotlib) are imported inside the commands that use
them: ``hedgegym --help`` and ``--version`` stay fast.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import numpy as np
import typer
from rich.markup import escape
from rich.table import Table

from hedgegym import __version__
from hedgegym.cli_common import (
    DEFAULT_METRICS,
    METRICS_HELP,
    EventsOption,
    ScenariosOption,
    chosen_scenarios,
    comparison_table,
    console,
    metric_list,
    stress_table,
)
from hedgegym.cli_common import fail as _fail

if TYPE_CHECKING:
    import pandas as pd

    from hedgegym.config import ExperimentConfig
    from hedgegym.instruments import Book
    from hedgegym.market import MarketModel
    from hedgegym.risk.stress import Hedge

app = typer.Typer(add_completion=False, no_args_is_help=True, help="hedgegym: a workbench for learning to hedge.")


def _print_version(value: bool) -> None:
    """Eager option callback: runs while the arguments are parsed, so ``hedgegym --version`` needs no command."""
    if value:
        console.print(f"hedgegym {__version__}", markup=False)
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool, typer.Option("--version", help="Print the version and exit.", is_eager=True, callback=_print_version)
    ] = False,
) -> None:
    """hedgegym: a workbench for learning to hedge."""


def _load(config: Path | None, overrides: dict[str, object] | None = None) -> ExperimentConfig:
    """The config file (or the built-in default when no ``--config`` is given) with the flags' overrides applied
    and validated; exits 2 with the reason on bad input."""
    from hedgegym.config import ConfigError, ExperimentConfig, apply_overrides, load_config

    try:
        experiment = load_config(config) if config is not None else ExperimentConfig()
        return apply_overrides(experiment, overrides, source="command-line options") if overrides else experiment
    except ConfigError as error:
        raise _fail(error) from None


MAX_PATHS_HELP = "at most 1,000,000 and n_paths × (n_steps + 1) <= 8,388,608"


def _refuse_path_counts_on_history(experiment: ExperimentConfig, **counts: int | None) -> None:
    """A historical market's held-out sets are fixed (every window of its validation or test period): a path count
    given on the command line would be ignored, so it is refused, naming the flag."""
    if experiment.market.model != "historical":
        return
    for name, value in counts.items():
        if value is not None:
            flag = "--" + name.replace("_", "-")
            raise _fail(f"{flag} does not apply to a historical market: its validation and test sets are every "
                        "window of market.validation and market.test, one every market.stride trading days")
CHECK_TOLERANCE = 1e-9
"""Rounding floor of ``check``'s comparison, relative to the strike (see ``check``)."""


def _describe_data_market(experiment: ExperimentConfig) -> None:
    """``check`` on a data-driven market: its data, periods and volatility proxy, and the GARCH fit with its
    standard errors (there is no pricing measure for a Monte Carlo check: options are marked at Black–Scholes on
    the proxy)."""
    from hedgegym.market import BootstrapMarket, GarchMarket, HistoricalMarket

    model = experiment.market.build()
    n_steps = experiment.simulation.n_steps
    console.print(f"[bold]{escape(experiment.name)}[/bold]: {escape(type(model).__name__)} on {model.series} — "
                  "real-world data, no pricing measure: options are marked at Black–Scholes on the volatility "
                  "proxy, so there is no Monte Carlo check of a pricer")
    fit = None
    if isinstance(model, HistoricalMarket):
        for period in ("train", "validation", "test"):
            starts = model.for_purpose(period).window_starts(n_steps)
            first, last = getattr(model, period)
            console.print(f"{period}: {first} .. {last}: {starts.size:,} windows of {n_steps} steps "
                          f"({starts[:: model.stride].size:,} one every {model.stride} trading days)")
        console.print(f"volatility proxy: {model.volatility_proxy}; reference volatility "
                      f"{model.reference_volatility:.4f} per √year")
        fit = model.proxy_fit
    elif isinstance(model, BootstrapMarket):
        console.print(f"sample {model.sample_start} .. {model.sample_end}: {model.rows()[1].size:,} days; "
                      f"{model.method} bootstrap, mean block length {model.mean_block_length:.1f} days; volatility "
                      f"proxy {model.volatility_proxy}")
    else:
        assert isinstance(model, GarchMarket)
        fit = model.fit
        console.print(f"initial variance: {model.initial_variance}; unconditional volatility "
                      f"{model.reference_volatility:.4f} per √year")
    if fit is not None:
        table = Table(title=f"GJR-GARCH(1,1)-t on {fit.series} {fit.start.date()} .. {fit.end.date()} "
                      f"({fit.result.nobs:,} daily % log returns; robust standard errors; arch)")
        for column in ("parameter", "estimate", "std err", "t"):
            table.add_column(column, justify="right")
        for name, row in fit.table().iterrows():
            table.add_row(str(name), f"{row['estimate']:.6g}", f"{row['std_err']:.3g}", f"{row['t']:.2f}")
        console.print(table)
        console.print(f"persistence α + γ/2 + β = {fit.persistence:.4f}")


@app.command()
def check(
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="Experiment YAML; default: the built-in GBM short call.")
    ] = None,
    paths: Annotated[
        int | None, typer.Option("--paths", min=2, max=10_000_000, help="Override simulation.n_paths (>= 2: the "
                                 "standard error needs two paths).")
    ] = None,
    seed: Annotated[int | None, typer.Option("--seed", min=0, help="Override simulation.seed.")] = None,
) -> None:
    """Simulate the config's market under the pricing measure and price its book two ways (a data-driven
    market — historical, garch, bootstrap — has no pricing measure: check shows its data, periods, volatility
    proxy and GARCH fit with standard errors instead).

    For every option: the model's closed-form (or Fourier) value next to the discounted Monte Carlo mean
    payoff with its standard error and z-score, and the option's Greeks at the start; then the whole book's
    value and Greeks. A |z| above 4 is flagged: the simulator and the pricer disagree. z divides the difference
    by sqrt(SE² + ε²), ε = 1e-9 × strike the floating-point rounding of both prices: a market without randomness
    (volatility 0: SE = 0) passes when the two agree to rounding and fails, saying so, when they do not. A barrier
    option's Monte Carlo is knocked out at the simulation nodes (discrete monitoring), its model value
    BGK-corrected to match.
    """
    from hedgegym.instruments import monitored
    from hedgegym.pricing.model_greeks import model_greeks

    experiment = _load(config, {"simulation.n_paths": paths, "simulation.seed": seed})
    simulation = experiment.simulation
    if simulation.n_paths < 2:
        raise _fail(f"simulation.n_paths must be >= 2 for check (a standard error needs two paths), got "
                    f"{simulation.n_paths}")
    from hedgegym.config import DATA_MARKETS

    if experiment.market.model in DATA_MARKETS:  # no pricing measure to check against: show the data and the fit
        try:
            _describe_data_market(experiment)
        except ValueError as error:
            raise _fail(error) from None
        return
    model = experiment.market.build()
    book = experiment.build_book()
    console.print(f"[bold]{escape(experiment.name)}[/bold]: {escape(str(model))}")
    # one simulation per maturity, n_steps to that maturity from the same seed: each option is priced at its own
    # expiry, whatever the episode's grid (a horizon, several maturities)
    maturities = sorted({option.maturity for option in book.options})
    start = time.perf_counter()
    simulated = {}
    with console.status(f"simulating {simulation.n_paths:,} paths × {simulation.n_steps} steps "
                        f"({len(maturities)} maturit{'y' if len(maturities) == 1 else 'ies'})"):
        for maturity in maturities:
            simulated[maturity] = model.simulate(simulation.n_paths, simulation.n_steps, maturity / simulation.n_steps,
                                                 np.random.default_rng(simulation.seed), measure="pricing")
    console.print(f"simulated in {time.perf_counter() - start:.2f} s")

    table = Table(
        title="options, per unit of underlying (t = 0)",
        caption="vega per 1.00 of the model's volatility input: σ (GBM, Merton), variance v (Heston), α (SABR); "
        "theta per year; z = (Monte Carlo − model) / √(SE² + (1e-9·K)²)",
    )
    for column in ("option", "model value", "Monte Carlo", "std error", "z", "delta", "gamma", "vega", "theta"):
        table.add_column(column, justify="right", no_wrap=True)
    first = simulated[maturities[0]]
    spot0, variance0 = first.spot[0, 0], first.variance[0, 0]
    flagged, exact_disagreements = False, []
    for option in book.options:
        market_paths, dt = simulated[option.maturity], option.maturity / simulation.n_steps
        payoff = option.payoff(market_paths.spot[:, -1]) / option.multiplier
        payoff = payoff * option.alive(market_paths.spot)[:, -1]  # knocked out at a node: 0
        discounted = np.exp(-model.rate * option.maturity) * payoff
        estimate = float(np.mean(discounted))
        error = float(np.std(discounted, ddof=1) / np.sqrt(discounted.size))
        label = f"{'call' if option.call else 'put'} K={option.strike:g} T={option.maturity:.4g}"
        label += "" if option.barrier is None else f" B={option.barrier:g}"
        try:
            g = model_greeks(model, spot0, option.strike, option.maturity, option.call, variance0,
                             barrier=option.barrier, monitoring_interval=dt)
        except ValueError:
            table.add_row(label, "no closed form", f"{estimate:.4f}", f"{error:.4f}", "", "", "", "", "")
            continue
        rounding = CHECK_TOLERANCE * option.strike
        z = (estimate - float(g.price)) / float(np.hypot(error, rounding))
        bad = abs(z) > 4
        flagged |= bad
        if bad and error <= rounding:
            exact_disagreements.append(f"{label}: every path pays the same (std error 0 up to rounding), yet the "
                                       "Monte Carlo "
                                       f"{estimate:.10g} differs from the model value {float(g.price):.10g}")
        table.add_row(label, f"{float(g.price):.4f}", f"{estimate:.4f}", f"{error:.4f}",
                      f"[red]{z:+.2f}[/red]" if bad else f"{z:+.2f}",
                      *(f"{float(x):.5g}" for x in (g.delta, g.gamma, g.vega, g.theta)))
    console.print(table)
    if book.has_barrier:
        console.print("B: down-and-out barrier, Monte Carlo knocked out at the simulation nodes, model value with "
                      "the Broadie–Glasserman–Kou correction for that monitoring")

    try:
        total = book.greeks(np.array([spot0]), 0.0, monitored(
            lambda s, k, t, c, **terms: model_greeks(model, s, k, t, c, variance0, **terms), _monitoring(experiment)))
    except ValueError:
        total = None
    if total is not None:
        summary = Table(title="book (quantity × multiplier), currency")
        for column in ("value", "delta (shares)", "gamma", "vega", "theta / year"):
            summary.add_column(column, justify="right")
        summary.add_row(*(f"{float(x[0]):,.2f}" for x in total))
        console.print(summary)
    for line in exact_disagreements:
        console.print(f"[red]{escape(line)}[/red]")
    if flagged:
        raise _fail("|z| > 4: the Monte Carlo price and the model price disagree", code=1)


@app.command("compare")
def compare_command(
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="Experiment YAML; default: the built-in GBM short call.")
    ] = None,
    output_dir: Annotated[
        Path | None, typer.Option("--output-dir", "-o", help="New or empty directory; default results/<name>__<time>.")
    ] = None,
    paths: Annotated[
        int | None,
        typer.Option("--paths", min=10, max=1_000_000, help=f"Override evaluation.n_paths ({MAX_PATHS_HELP})."),
    ] = None,
    seed: Annotated[int | None, typer.Option("--seed", min=0, help="Override evaluation.seed.")] = None,
    bootstrap: Annotated[
        int | None, typer.Option("--bootstrap", min=0, max=10_000, help="Override evaluation.bootstrap.")
    ] = None,
    tune: Annotated[
        bool, typer.Option("--tune", help="Also tune each classical rule's free parameter (Whalley–Wilmott's and "
                           "the cost–benefit γ, the band, the rebalancing interval) on the validation paths, for Y, "
                           "and add the tuned rules (<rule>_tuned) to the comparison.")
    ] = False,
    validation_paths: Annotated[
        int | None, typer.Option("--validation-paths", min=10, max=1_000_000,
                                 help="Validation paths of --tune (default 10,000).")
    ] = None,
    agents: Annotated[
        str | None, typer.Option("--agents", help="zoo: add the model zoo's trained agents for this config "
                                 "(hedgegym.zoo; the default when it has some); none: classical hedgers only.")
    ] = None,
    metrics: Annotated[str, typer.Option("--metrics", help=METRICS_HELP)] = DEFAULT_METRICS,
) -> None:
    """Every classical hedger that fits the config, and the model zoo's agents trained on it, on the same held-out
    paths: table, CSV, Markdown, plots.

    With ``--tune``, the rules are tuned on the validation stream (never the test paths) first; ``tuning.csv``
    lists every candidate's validation Y. The output directory is checked before any work (a file, a non-empty
    directory or an unwritable parent is refused) and written all at once: an interrupted run leaves nothing behind.
    """
    from rich.progress import Progress

    from hedgegym.config import check_evaluation_size
    from hedgegym.evaluation.reports import compare, default_hedgers, write_outputs
    from hedgegym.output import OutputDirError, check_output_dir

    chosen = metric_list(metrics)
    experiment = _load(config, {"evaluation.n_paths": paths, "evaluation.seed": seed,
                                "evaluation.bootstrap": bootstrap})
    _refuse_path_counts_on_history(experiment, paths=paths, validation_paths=validation_paths)
    settings = experiment.evaluation
    try:
        check_evaluation_size(settings.n_paths, experiment.simulation.n_steps)
    except ValueError as error:
        raise _fail(error) from None
    directory = output_dir or Path("results") / f"{experiment.name}__{time.strftime('%Y%m%d-%H%M%S')}"
    try:
        check_output_dir(directory, "--output-dir")
    except OutputDirError as error:
        raise _fail(error) from None
    if validation_paths is not None and not tune:
        raise _fail(ValueError("--validation-paths is the size of --tune's validation set: add --tune"))
    validation_paths = 10_000 if validation_paths is None else validation_paths
    hedgers = default_hedgers(experiment) + _zoo_agents(experiment, agents)
    start = time.perf_counter()
    tuned = []
    if tune:
        from hedgegym.evaluation.tuning import tune_classical

        try:
            check_evaluation_size(validation_paths, experiment.simulation.n_steps, "--validation-paths")
        except ValueError as error:
            raise _fail(error) from None
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task("tuning", total=None)
            tuned = tune_classical(experiment, validation_paths, progress=lambda rule, value: progress.update(
                task, description=f"tuning {escape(rule)}: {value:.4g}"))
        hedgers += [rule.hedger for rule in tuned]
        for rule in tuned:
            edge = " [yellow](at the end of the candidates)[/yellow]" if rule.at_edge else ""
            console.print(f"{escape(rule.rule)}: {rule.parameter} {rule.value:.4g} (default {rule.default:.4g}), "
                          f"validation Y {rule.best_y:,.2f} (default {rule.default_y:,.2f}){edge}", soft_wrap=True)
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("hedging", total=len(hedgers))

        def advance(name: str) -> None:
            progress.update(task, advance=1, description=f"hedging: {escape(name)}")

        comparison = compare(experiment, hedgers, settings.n_paths, settings.seed, settings.bootstrap,
                             settings.cao_hull_c, progress=advance)
    comparison.tuning = tuned
    n_paths = len(comparison.evaluations[0].per_path)
    try:
        write_outputs(comparison, directory)
    except OutputDirError as error:
        raise _fail(error) from None
    console.print(comparison_table(comparison.table, chosen, f"{experiment.name}: {n_paths:,} held-out paths"))
    if comparison.limits is not None:
        _print_limits(comparison.limits, experiment)
    for name, reason in comparison.skipped.items():
        console.print(f"[yellow]left out {escape(str(name))}: {escape(str(reason))}[/yellow]")
    left_out = f" ({len(comparison.skipped)} left out)" if comparison.skipped else ""
    console.print(f"{len(comparison.table)} hedgers × {n_paths:,} paths in {time.perf_counter() - start:.1f} s"
                  f"{left_out} → {escape(str(directory))}")


def _zoo_agents(experiment: ExperimentConfig, agents: str | None) -> list:
    """The zoo's agents for ``--agents`` (None: zoo when it has entries for the config, else none); exit 2 naming
    why for ``--agents zoo`` on a config the zoo has no model for, or a zoo model that fails its checks."""
    from hedgegym import zoo

    if agents not in (None, "zoo", "none"):
        raise _fail(f"--agents must be zoo or none, got {agents!r}")
    if agents == "none":
        return []
    try:
        fitting = zoo.entries_for(experiment)
        if agents == "zoo" and not fitting:
            by_task: dict[str, list] = {}
            for entry in zoo.entries():
                by_task.setdefault(str(entry.metadata["task"]), []).append(entry)
            reasons = [f"{task} ({', '.join(e.name for e in group)}): {zoo.unfit_reason(group[0], experiment)}"
                       for task, group in by_task.items()]
            raise zoo.ZooError(f"--agents zoo: the zoo has no model for config {experiment.name!r}"
                               + (". Its models serve: " + "; ".join(reasons) if reasons else " (it is empty)"))
        loaded = [zoo.load(entry, experiment) for entry in fitting]
    except ValueError as error:
        raise _fail(error) from None
    for entry in fitting:
        evaluation = entry.metadata["evaluation"]
        console.print(f"zoo: {escape(entry.hedger_name)} ({escape(entry.metadata['command'])}; stored Y "
                      f"{evaluation['y']:,.2f} [{evaluation['y_low']:,.2f}, {evaluation['y_high']:,.2f}])",
                      soft_wrap=True)
    return loaded


def _print_limits(report: pd.DataFrame, experiment: ExperimentConfig) -> None:
    """The limit report of a comparison (``hedgegym.risk.limits.limit_table``) as a rich table."""
    from hedgegym.risk.limits import describe_limits

    limits = experiment.build_limits()
    result = Table(title="risk limits: paths with a breach · mean time in breach (fraction of steps)",
                   caption="; ".join(describe_limits(limits)) + "; ✗: beyond its limit")
    result.add_column("hedger", no_wrap=True)
    for greek in limits.greeks:
        result.add_column(greek, justify="right", no_wrap=True)
    metrics = [name for name in ("var_95", "cvar_95") if getattr(limits, name) is not None]
    for name in metrics:
        result.add_column(name, justify="right", no_wrap=True)
    if limits.max_drawdown is not None:
        result.add_column("drawdown", justify="right", no_wrap=True)
    for name, row in report.iterrows():
        cells = [f"{row[f'{g}_paths_breached']:.0%} · {row[f'{g}_time_in_breach']:.0%}" for g in limits.greeks]
        cells += [f"[red]{row[m]:,.0f} ✗[/red]" if row[f"{m}_breached"] else f"{row[m]:,.0f}" for m in metrics]
        if limits.max_drawdown is not None:
            cells.append(f"{row['drawdown_paths_breached']:.0%} · {row['drawdown_time_in_breach']:.0%}")
        result.add_row(escape(str(name)), *cells)
    console.print(result)


@app.command("backtest")
def backtest_command(
    config: Annotated[Path, typer.Option("--config", "-c", help="A historical-market config "
                                         "(market.model: historical), e.g. configs/sp500_call_1m.yaml.")],
    agent: Annotated[
        list[Path] | None,
        typer.Option("--agent", help="A run directory of a trained agent (repeatable); trained in any market on "
                     "the same book, hedge options and time grid."),
    ] = None,
    output_dir: Annotated[
        Path | None, typer.Option("--output-dir", "-o", help="New or empty directory; default results/<name>__"
                                  "backtest__<time>.")
    ] = None,
    worst: Annotated[int, typer.Option("--worst", min=1, max=100, help="Worst windows listed per hedger.")] = 5,
    tune: Annotated[bool, typer.Option("--tune", help="Also each classical rule tuned for Y on every window of the "
                                       "validation period (<rule>_tuned).")] = False,
    metrics: Annotated[str, typer.Option("--metrics", help=METRICS_HELP)] = DEFAULT_METRICS,
) -> None:
    """Every classical hedger (and each --agent) over every test window of a historical market: compare's table
    with intervals over windows, per-window P&L with dates, totals per year, the worst windows, P&L through time."""
    chosen = metric_list(metrics)
    from hedgegym.output import OutputDirError, check_output_dir

    experiment = _load(config)
    if experiment.market.model != "historical":
        raise _fail(f"market.model must be 'historical' for backtest (windows of real history), got "
                    f"{experiment.market.model!r}: use compare")
    directory = output_dir or Path("results") / f"{experiment.name}__backtest__{time.strftime('%Y%m%d-%H%M%S')}"
    try:
        check_output_dir(directory, "--output-dir")
    except OutputDirError as error:
        raise _fail(error) from None
    agents = []
    if agent:
        from hedgegym.agents.training import RunError, load_agent

        for run in agent:
            try:
                loaded, run_config = load_agent(run)
            except (RunError, OSError) as error:
                raise _fail(error) from None
            loaded.name = f"{run_config.agent.algo}_{run_config.name}"
            agents.append(loaded)
    from hedgegym.evaluation.backtest import backtest, write_backtest

    start = time.perf_counter()
    try:
        result = backtest(experiment, agents, n_worst=worst, tune=tune)
        write_backtest(result, directory)
    except ValueError as error:
        raise _fail(error) from None
    n_windows = result.windows["window"].nunique()
    market = experiment.market.build()
    console.print(comparison_table(result.comparison.table, chosen, f"{experiment.name}: backtest on {market.series} "
                                   f"{market.test[0]} .. {market.test[1]}, {n_windows} windows (intervals: bootstrap "
                                   "over windows)"))
    console.print(f"per-window P&L with dates, totals per calendar year and the worst windows: "
                  f"{escape(str(directory / 'backtest.md'))}", soft_wrap=True)
    console.print(f"{len(result.comparison.table)} hedgers × {n_windows} windows in "
                  f"{time.perf_counter() - start:.1f} s → {escape(str(directory))}")


@app.command("evaluate")
def evaluate_command(
    run_dir: Annotated[Path, typer.Argument(help="A run directory written by hedgegym train.")],
    paths: Annotated[
        int | None,
        typer.Option("--paths", min=10, max=1_000_000, help=f"Override evaluation.n_paths ({MAX_PATHS_HELP})."),
    ] = None,
    metrics: Annotated[str, typer.Option("--metrics", help=METRICS_HELP)] = DEFAULT_METRICS,
) -> None:
    """Put a trained agent into the comparison table of the classical hedgers (writes <run>/evaluation_<time>/)."""
    from hedgegym.output import OutputDirError, OutputExistsError, check_output_dir

    if not (run_dir / "config.yaml").is_file():
        raise _fail(f"{run_dir} is not a run directory (no config.yaml)")
    _refuse_path_counts_on_history(_load(run_dir / "config.yaml", {"evaluation.n_paths": paths}), paths=paths)
    try:
        check_output_dir(run_dir / f"evaluation_{time.strftime('%Y%m%d-%H%M%S')}", "evaluation directory")
    except OutputExistsError:
        pass  # an evaluation in the same second: evaluate_run appends -2, -3, …
    except OutputDirError as error:
        raise _fail(error) from None

    chosen = metric_list(metrics)
    from hedgegym.agents.training import RunError, evaluate_run  # torch and stable-baselines3: only now

    before = set(run_dir.glob("evaluation_*"))
    try:
        comparison = evaluate_run(run_dir, paths)
    except (RunError, OSError) as error:  # e.g. an unfinished run (no final model), a run in use, a full disk
        raise _fail(error) from None
    console.print(comparison_table(comparison.table, chosen, f"{comparison.config.name}: "
                                    f"{len(comparison.evaluations[0].per_path):,} held-out paths"))
    written = sorted(set(run_dir.glob("evaluation_*")) - before)
    policy = "best_model.zip" if comparison.config.agent.final_policy == "best_validation" else "the final model"
    console.print(escape(f"{comparison.config.agent.algo} ({policy}) → {', '.join(map(str, written))}"))


@app.command("sweep")
def sweep_command(
    config: Annotated[Path, typer.Option("--config", "-c", help="Sweep YAML (configs/sweeps/<name>.yaml).")],
    address: Annotated[
        str | None, typer.Option("--address", help="Ray cluster address (ray://host:port or auto); default: a "
                                 "local Ray instance with this machine's cores.")
    ] = None,
    resume: Annotated[
        Path | None, typer.Option("--resume", help="Restore Tune's experiment state from <sweep dir>/tune (or an "
                                  "experiment in it) of an interrupted sweep.")
    ] = None,
    max_trials: Annotated[
        int | None, typer.Option("--max-trials", min=1, help="Run only this many of the trials left (a long sweep "
                                 "in chunks; rerun to continue). Optuna: whole searches until this many finished.")
    ] = None,
) -> None:
    """Tasks × agents × seeds × hyper-parameters on Ray Tune; one run directory and one summary JSON per trial.

    Trials already summarised are skipped; the summaries feed ``hedgegym leaderboard``. Exit code 1 when a trial
    failed (its error is printed), 2 on bad input.
    """
    from hedgegym.sweep.config import SweepConfigError, load_sweep_config

    try:
        sweep = load_sweep_config(config)
    except SweepConfigError as error:
        raise _fail(error) from None
    from hedgegym.sweep.runner import run_sweep  # ray, torch: only now
    from hedgegym.sweep.summary import SummaryError

    start = time.perf_counter()
    try:
        result = run_sweep(sweep, address=address, resume=resume, stop_after=max_trials, console=console)
    except (SweepConfigError, SummaryError) as error:  # a bad sweep file, or a malformed summary already there
        raise _fail(error) from None
    except KeyboardInterrupt as interrupt:
        console.print(f"[yellow]{escape(str(interrupt) or 'sweep interrupted')}[/yellow]", soft_wrap=True)
        raise typer.Exit(code=130) from None
    for trial, reason in result.failed.items():
        console.print(f"[red]trial {escape(trial)} failed: {escape(reason)}[/red]", soft_wrap=True)
    console.print(f"{len(result.finished)} trials summarised now, {len(result.stopped)} stopped early by the "
                  f"scheduler, {len(result.skipped)} skipped (done before), {result.left} left, in "
                  f"{time.perf_counter() - start:.1f} s → "
                  f"{escape(str(sweep.summaries_dir))}; tensorboard --logdir {escape(str(sweep.sweep_dir))}",
                  soft_wrap=True)
    for path in result.classical:
        console.print(f"tuned classical rules: {escape(str(path))}", soft_wrap=True)
    for path in result.best:
        console.print(f"best configuration: {escape(str(path))}", soft_wrap=True)
    if result.failed:
        raise typer.Exit(code=1)


_HEDGE_HELP = ("Hedge held at t = 0: none, delta (stock) or greeks (stock + hedging.hedge_options via the Greek "
               "solver); default: greeks if the config lists hedge options, else delta.")


def _hedged_portfolio(config: Path | None, hedge: str | None) -> tuple[ExperimentConfig, MarketModel, Book, Hedge]:
    """Load the config and build (experiment, model, book, hedge at t = 0); exit 2 with the reason on bad input."""
    from hedgegym.risk.stress import initial_hedge

    experiment = _load(config)
    try:
        model = experiment.market.build()
        book = experiment.build_book()
        positions = initial_hedge(model, book, experiment.build_hedge_options(), hedge, _monitoring(experiment),
                                  experiment.hedging.max_condition, experiment.hedging.position_limit)
    except ValueError as error:
        raise _fail(error) from None
    return experiment, model, book, positions


def _monitoring(experiment: ExperimentConfig) -> float:
    """The config's rebalancing step in years: the barrier monitoring interval the engine values with."""
    return experiment.horizon / experiment.simulation.n_steps


def _describe_hedge(positions: Hedge) -> str:
    """One line: the hedge's stock and option positions and the Greeks it neutralises."""
    if not positions.neutralised:
        return "hedge: none"
    parts = [f"{positions.stock:+,.2f} shares"]
    parts += [f"{p.quantity:+,.3f} × {'call' if p.option.call else 'put'} K={p.option.strike:g} "
              f"T={p.option.maturity:.4g}" for p in positions.options]
    text = f"hedge ({', '.join(positions.neutralised)} neutral): " + ", ".join(parts)
    if positions.ill_conditioned:
        text += (" [yellow](the full Greek system is ill-conditioned or needs option positions beyond the solver's "
                 f"limit: {escape(', '.join(positions.neutralised))} neutralised only)[/yellow]")
    return text


@app.command("stress")
def stress_command(
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="Experiment YAML; default: the built-in GBM short call.")
    ] = None,
    hedge: Annotated[str | None, typer.Option("--hedge", help=_HEDGE_HELP)] = None,
    scenarios: ScenariosOption = None,
    events: EventsOption = False,
    path: Annotated[
        Path | None, typer.Option("--path", help="YAML {spot_moves: [daily relative moves], vol_moves: [daily vol "
                                  "moves]}: revalue the positions at every close of that path (path.csv with --out).")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Directory for stress.csv and stress.md (never overwritten).")
    ] = None,
) -> None:
    """Revalue the config's book and its t = 0 hedge under spot and volatility shocks, instantly or after days.

    Full repricing with the model's own pricer, the book aged by the scenario's trading days: ΔV, its
    Δ–Γ(–vega)(–Θ) estimates, the change of Δ and Γ, the loss.

    "vol +x": σ + x (GBM, Merton, every regime level); Heston v₀ and θ to (√v + x)²; SABR α + x.
    """
    import yaml

    from hedgegym.risk.stress import (
        format_amount,
        path_scenario,
        portfolio_greeks,
        stress_test,
        worst_scenario,
        write_stress_outputs,
    )

    chosen = chosen_scenarios(scenarios, events)
    moves = None
    if path is not None:
        try:
            moves = yaml.safe_load(path.read_text())
        except (OSError, yaml.YAMLError) as error:
            raise _fail(f"--path: {error}") from None
        if not isinstance(moves, dict) or "spot_moves" not in moves or set(moves) - {"spot_moves", "vol_moves"}:
            raise _fail(f"--path: {path} must hold a mapping {{spot_moves: [...], vol_moves: [...]}} (vol_moves "
                        f"optional), got {moves!r}"[:300])
    if out is not None:
        existing = [out / name for name in ("stress.csv", "stress.md", "path.csv") if (out / name).exists()]
        if existing:
            raise _fail(f"--out: {existing[0]} exists: hedgegym never overwrites results")
    experiment, model, book, positions = _hedged_portfolio(config, hedge)
    try:
        table = stress_test(model, book, positions, chosen, _monitoring(experiment))
    except ValueError as error:
        raise _fail(error) from None
    base = portfolio_greeks(model, book, positions, _monitoring(experiment))
    console.print(f"[bold]{escape(experiment.name)}[/bold]: {escape(str(model))}")
    console.print(_describe_hedge(positions))
    console.print(f"portfolio at t = 0: Δ {format_amount(base.delta)} shares, Γ {format_amount(base.gamma, 4)} "
                  f"per unit of spot, vega {format_amount(base.vega)}")
    console.print(stress_table(
        table, f"stress test: {escape(experiment.name)}, full revaluation (currency)",
        "estimates: Δ–Γ = Δ·dS + ½Γ·dS²; +vega adds vega·d(vol input: σ, Heston v₀, SABR α); +Θ adds Θ·days/252; "
        "vol in vol points; days: trading days before the shock is valued; Δ in shares, Γ in shares per unit of spot",
        digits=2, gamma_digits=3))
    worst = worst_scenario(table)
    console.print(f"worst scenario: [bold]{escape(str(worst['scenario']))}[/bold], loss {format_amount(worst['loss'])}")
    walk = None
    if moves is not None:
        try:
            walk = path_scenario(model, book, positions, moves["spot_moves"], moves.get("vol_moves"),
                                 _monitoring(experiment))
        except ValueError as error:
            raise _fail(f"--path: {error}") from None
        steps = Table(title="path scenario: positions held, revalued at every close (currency)")
        for column in ("day", "spot", "vol shift", "value change", "daily change", "Δ", "Γ"):
            steps.add_column(column, justify="right", no_wrap=True)
        for row in walk.itertuples(index=False):
            steps.add_row(str(row.day), f"{row.spot:.2f}", f"{row.vol_shift * 100:+.1f}pt",
                          format_amount(row.value_change), format_amount(row.daily_change),
                          format_amount(row.delta), format_amount(row.gamma, 4))
        console.print(steps)
    if out is not None:
        try:
            paths = write_stress_outputs(table, out, title=f"stress test: {experiment.name}")
            if walk is not None:
                walk.to_csv(out / "path.csv", index=False, float_format="%.10g")
        except (FileExistsError, OSError) as error:
            raise _fail(f"--out: {error}") from None
        console.print(f"→ {escape(str(paths[0]))}, {escape(str(paths[1]))}"
                      + (f", {escape(str(out / 'path.csv'))}" if walk is not None else ""))


@app.command("dashboard")
def dashboard_command(
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="Experiment YAML; default: the built-in GBM short call.")
    ] = None,
    hedge: Annotated[str | None, typer.Option("--hedge", help=_HEDGE_HELP)] = None,
    target_delta: Annotated[float, typer.Option("--target-delta", help="Target Δ, shares.")] = 0.0,
    target_gamma: Annotated[float, typer.Option("--target-gamma", help="Target Γ, shares per unit of spot.")] = 0.0,
    target_vega: Annotated[
        float, typer.Option("--target-vega", help="Target vega, currency per 1.00 of the model's volatility input.")
    ] = 0.0,
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Directory of the PNG dashboard__<name>__<time>.png (never "
                           "overwritten).")
    ] = Path("results"),
) -> None:
    """The hedged portfolio's Δ, Γ and vega against targets, with green / yellow / red alerts, and a PNG.

    deviation = |actual − target| / max(|target|, |unhedged book Greek|): yellow above 10%, red above 25%.
    """
    from hedgegym.risk.dashboard import COLOURS, dashboard_path, greek_dashboard, plot_dashboard
    from hedgegym.risk.stress import format_amount, portfolio_greeks

    experiment, model, book, positions = _hedged_portfolio(config, hedge)
    try:
        interval = _monitoring(experiment)
        table = greek_dashboard(portfolio_greeks(model, book, positions, interval),
                                portfolio_greeks(model, book, None, interval),
                                {"delta": target_delta, "gamma": target_gamma, "vega": target_vega})
    except ValueError as error:
        raise _fail(error) from None
    console.print(f"[bold]{escape(experiment.name)}[/bold]: {escape(str(model))}")
    console.print(_describe_hedge(positions))
    result = Table(
        title=f"Greeks dashboard: {escape(experiment.name)} (t = 0)",
        caption="deviation = |actual − target| / max(|target|, |unhedged book|); yellow > 10%, red > 25%. "
        "Δ in shares, Γ per unit of spot, vega per 1.00 of the model's volatility input",
    )
    for column in ("greek", "actual", "target", "unhedged book", "deviation", "status"):
        result.add_column(column, justify="left" if column in ("greek", "status") else "right", no_wrap=True)
    for row in table.itertuples(index=False):
        digits = 4 if row.greek == "gamma" else 2
        result.add_row(row.greek, *(format_amount(x, digits) for x in (row.actual, row.target, row.book)),
                       "∞" if np.isinf(row.deviation) else f"{row.deviation:.1%}",
                       f"[{COLOURS[row.status]}]● {row.status}[/{COLOURS[row.status]}]")
    console.print(result)
    try:
        path = plot_dashboard(table, dashboard_path(out, experiment.name),
                              title=f"{experiment.name}: Greeks vs targets (hedge: "
                              f"{', '.join(positions.neutralised) or 'none'})")
    except (FileExistsError, OSError) as error:
        raise _fail(f"--out: {error}") from None
    console.print(f"→ {escape(str(path))}")
    limits = experiment.build_limits()
    if limits is not None and limits.greeks:
        _dashboard_limits(experiment, model, book, positions, hedge, limits, out)


def _dashboard_limits(experiment: ExperimentConfig, model: MarketModel, book: Book, positions: Hedge,
                      hedge: str | None, limits, out: Path) -> None:
    """The dashboard's limit view: the t = 0 portfolio against each Greek limit, and a PNG of the net Greeks through
    time on the first held-out path, hedged every step by the classical hedger of the same mode."""
    from hedgegym.evaluation.rollout import evaluate
    from hedgegym.risk.dashboard import COLOURS, dashboard_path, plot_limits_through_time
    from hedgegym.risk.limits import ALERT, BREACH, desk_units
    from hedgegym.risk.stress import classical_hedger, default_hedge_mode, format_amount, portfolio_greeks

    interval = _monitoring(experiment)
    held, exposure = portfolio_greeks(model, book, positions, interval), portfolio_greeks(model, book, None, interval)
    net = {g: desk_units(g, getattr(held, g), model) for g in limits.greeks}
    unhedged = {g: desk_units(g, getattr(exposure, g), model) for g in limits.greeks}
    result = Table(title=f"risk limits at t = 0: {escape(experiment.name)}", caption="desk units: Δ shares, Γ per "
                   "unit of spot, vega per vol point, Θ per trading day; alert at the limit's alert level")
    for column in ("greek", "net", "limit", "alert above", "status"):
        result.add_column(column, justify="left" if column in ("greek", "status") else "right", no_wrap=True)
    names = {BREACH: ("breach", "red"), ALERT: ("alert", "yellow")}
    for greek, (level, bound) in limits.levels(net, unhedged).items():
        label, colour = names.get(int(level), ("within", "green"))
        result.add_row(greek, format_amount(float(net[greek]), 4 if greek == "gamma" else 2),
                       format_amount(float(bound), 4 if greek == "gamma" else 2),
                       format_amount(float(limits.greeks[greek].alert * bound), 4 if greek == "gamma" else 2),
                       f"[{COLOURS[colour]}]● {label}[/{COLOURS[colour]}]")
    console.print(result)
    hedge_options = experiment.build_hedge_options()
    hedger = classical_hedger(default_hedge_mode(hedge_options) if hedge is None else hedge, hedge_options,
                              experiment.hedging.max_condition, experiment.hedging.position_limit)
    try:
        sample = evaluate(hedger, experiment, n_paths=1, seed=experiment.evaluation.seed, attribution=False)
        times = np.arange(experiment.simulation.n_steps) * interval
        path = plot_limits_through_time(sample.series, limits, times, dashboard_path(out, experiment.name,
                                        kind="limits"), title=f"{experiment.name}: net Greeks through time, "
                                        f"{sample.name} on held-out path 0")
    except (FileExistsError, OSError, ValueError) as error:
        raise _fail(f"--out: {error}") from None
    console.print(f"{escape(sample.name)}, every step, on held-out path 0: steps in breach "
                  + ", ".join(f"{g} {sample.per_path[f'time_in_breach_{g}'].iloc[0]:.0%}" for g in limits.greeks))
    console.print(f"→ {escape(str(path))}")


@app.command("leaderboard")
def leaderboard_command(
    source: Annotated[
        Path, typer.Argument(help="A sweep's summaries directory (<trial_id>.json files, e.g. "
                             "benchmarks/sweeps/<name>) or a sweep directory to search for them.")
    ],
    output_dir: Annotated[
        Path | None, typer.Option("--output-dir", "-o", help="New or empty directory; default "
                                  "results/leaderboard__<time>.")
    ] = None,
    reps: Annotated[
        int, typer.Option("--reps", min=100, max=100_000, help="Bootstrap resamples per interval.")
    ] = 10_000,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Root seed of the bootstrap generators.")] = 0,
) -> None:
    """Aggregate a sweep's trial summaries: IQM with 95% stratified bootstrap CIs per task and over tasks, and the
    probability of improvement (Agarwal et al., NeurIPS 2021) → leaderboard.md, leaderboard.csv, plots.

    Reads the summaries alone (schema hedgegym.trial/1), and the tuned classical rules in <source>/classical/ when the
    sweep tuned them; a malformed summary is refused with its file and key.
    The output directory is checked first and written all at once, never over existing results.
    """
    from hedgegym.evaluation.leaderboard import build_leaderboard, read_summaries, write_leaderboard
    from hedgegym.output import check_output_dir
    from hedgegym.sweep.classical import load_classical

    directory = output_dir or Path("results") / f"leaderboard__{time.strftime('%Y%m%d-%H%M%S')}"
    try:
        check_output_dir(directory, "--output-dir")
        board = build_leaderboard(read_summaries(source), reps=reps, seed=seed, classical=load_classical(source))
        write_leaderboard(board, directory)
    except ValueError as error:  # malformed summaries, an output directory in use (OutputDirError)
        raise _fail(error) from None
    table = board.table[board.table["scope"] == "all tasks"].sort_values(["y_pct", "hedger"], na_position="last")
    result = Table(title=f"IQM over {table['n_tasks'].max()} task(s), % of premium, lower is better "
                   "[95% stratified bootstrap CI]")
    for column in ("hedger", "tasks", "runs", "Y", "CVaR95", "P(better than best classical)"):
        result.add_column(column, justify="left" if column == "hedger" else "right")
    for _, row in table.iterrows():
        cells = []
        for column in ("y_pct", "cvar_95_pct", "p_vs_best_classical"):
            value, low, high = (row.get(f"{column}{suffix}", np.nan) for suffix in ("", "_low", "_high"))
            cells.append("—" if not np.isfinite(value) else f"{value:.3g} [{low:.3g}, {high:.3g}]")
        result.add_row(escape(str(row["hedger"])), str(row["n_tasks"]), str(row["n_runs"]), *cells)
    console.print(result)
    for note in board.notes:
        console.print(f"[yellow]{escape(note)}[/yellow]")
    summaries = board.summaries
    console.print(f"{len(summaries)} trials, {sum(s.wall_time_s for s in summaries) / 3600:.3g} h of trial time → "
                  f"{escape(str(directory))} (per task: leaderboard.md)")


from hedgegym.cli_book import book_app  # noqa: E402  (a command group in its own module)
from hedgegym.cli_train import train_command  # noqa: E402

app.command("train")(train_command)

app.add_typer(book_app, name="book", help="A real positions book at today's spot and vols: value, Greeks, dashboard, "
              "stress, trades to targets.")

if __name__ == "__main__":
    app()
