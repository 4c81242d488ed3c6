"""``hedgegym book``: a trader's real positions book at today's spot and vols.

    hedgegym book show configs/books/desk_book.yaml        # value and Greeks per line and in total (desk units)
    hedgegym book dashboard configs/books/desk_book.yaml   # the book's Δ, Γ, vega vs targets, with alerts (PNG)
    hedgegym book stress configs/books/desk_book.yaml      # full revaluation under spot / vol / time scenarios
    hedgegym book trades configs/books/desk_book.yaml      # the stock and option trades that reach the targets

Every command reads the positions file (YAML or CSV, ``hedgegym.risk.positions``) and the market inputs from it,
each overridden by ``--date``, ``--spot``, ``--vol`` (flat), ``--rate``, ``--dividend``; the inputs used are printed
with their source. Units on screen are a desk's: Δ in shares, Γ in shares per 1.00 move of the spot, vega per vol
point, Θ per calendar day (the library's API stays per 1.00 of vol and per year). Bad input exits with code 2 and
one red message naming the file, line and field. Results are never overwritten.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from hedgegym.cli_common import EventsOption, ScenariosOption, chosen_scenarios, console, fail, stress_table

if TYPE_CHECKING:
    from hedgegym.risk.positions import MarketInputs, PositionsBook

__all__ = ["book_app"]

book_app = typer.Typer(add_completion=False, no_args_is_help=True,
                       help="A real positions book at today's spot and vols: value, Greeks, dashboard, stress, trades.")

PositionsFile = Annotated[
    Path, typer.Argument(help="Positions file: YAML (positions, hedges, market inputs) or CSV (positions only).",
                         show_default=False)
]
DateOption = Annotated[str | None, typer.Option("--date", help="Valuation date YYYY-MM-DD (overrides the file).")]
SpotOption = Annotated[float | None, typer.Option("--spot", help="Spot price (overrides the file).")]
VolOption = Annotated[
    float | None, typer.Option("--vol", help="One flat implied vol for every option, 0.22 = 22% (overrides the "
                               "file's surface).")
]
RateOption = Annotated[
    float | None, typer.Option("--rate", help="Risk-free rate, continuously compounded, 0.043 = 4.3% (overrides "
                               "the file; default 0).")
]
DividendOption = Annotated[
    float | None, typer.Option("--dividend", help="Continuous dividend yield (overrides the file; default 0).")
]
TargetDelta = Annotated[float, typer.Option("--target-delta", help="Target Δ, shares.")]
TargetGamma = Annotated[float, typer.Option("--target-gamma", help="Target Γ, shares per 1.00 move of the spot.")]
TargetVega = Annotated[float, typer.Option("--target-vega", help="Target vega, currency per vol point.")]

_FLAGS = {"valuation_date": "--date", "spot": "--spot", "volatility": "--vol", "rate": "--rate",
          "dividend": "--dividend"}


def _load(path: Path, valuation_date: str | None, spot: float | None, vol: float | None, rate: float | None,
          dividend: float | None) -> tuple[PositionsBook, MarketInputs]:
    """Read the positions file, resolve the market inputs (the flags override the file), print them; exit 2 with
    the reason on bad input."""
    from hedgegym.risk.positions import MissingMarketInputs, market_inputs, read_positions
    from hedgegym.risk.volatility_surface import VolatilitySurface

    try:
        book = read_positions(path)
    except (ValueError, OSError) as error:
        raise fail(error) from None
    day = None
    if valuation_date is not None:
        try:
            day = date.fromisoformat(valuation_date.strip())
        except ValueError:
            raise fail(f"--date must be a date YYYY-MM-DD, got {valuation_date!r}") from None
    surface = None
    if vol is not None:
        try:
            surface = VolatilitySurface(flat=vol)
        except ValueError:
            raise fail(f"--vol must be a volatility > 0 (0.22 = 22%), got {vol!r}") from None
    try:
        market = market_inputs(book, valuation_date=day, spot=spot, volatility=surface, rate=rate, dividend=dividend)
    except MissingMarketInputs as error:
        names = ", ".join(f"{name} ({_FLAGS[name]})" for name in error.missing)
        raise fail(f"{path}: missing market input(s) {names}: give them in the positions file or on the command "
                   "line") from None
    except ValueError as error:
        raise fail(error) from None
    given = {"valuation_date": day, "spot": spot, "volatility": surface, "rate": rate, "dividend": dividend}

    def source(name: str) -> str:
        if given[name] is not None:
            return _FLAGS[name]
        return "file" if name in book.market else "default"

    console.print(f"[bold]{escape(str(path))}[/bold]: {len(book.positions)} line(s), {len(book.hedges)} listed "
                  "hedge option(s)")
    console.print(escape(
        f"market inputs: valuation date {market.valuation_date} ({source('valuation_date')}), spot "
        f"{market.spot:,.6g} ({source('spot')}), rate {market.rate:.3%} ({source('rate')}), dividend "
        f"{market.dividend:.3%} ({source('dividend')})"))
    console.print(escape(f"volatility ({source('volatility')}): {market.volatility.describe()}"))
    return book, market


def _valuation(book: PositionsBook, market: MarketInputs):
    from hedgegym.risk.positions import value_book

    try:
        return value_book(book, market)
    except ValueError as error:
        raise fail(error) from None


def _amount(value: float, digits: int = 2) -> str:
    from hedgegym.risk.stress import format_amount

    return format_amount(value, digits)


def _greeks_line(title: str, greeks: dict[str, float]) -> str:
    return (f"{title}: value {_amount(greeks['value'])}, Δ {_amount(greeks['delta_shares'])} shares, Γ "
            f"{_amount(greeks['gamma_shares_per_unit_spot'], 3)} shares per 1.00 of spot, vega "
            f"{_amount(greeks['vega_per_vol_point'])} per vol point, Θ {_amount(greeks['theta_per_day'])} per day")


@book_app.command("show")
def show_command(
    positions: PositionsFile,
    valuation_date: DateOption = None,
    spot: SpotOption = None,
    vol: VolOption = None,
    rate: RateOption = None,
    dividend: DividendOption = None,
) -> None:
    """Value and Greeks of every line and of the book: Black–Scholes–Merton at each strike's vol, τ = days/365.

    Desk units: Δ in shares, Γ in shares per 1.00 of spot, vega per vol point, Θ per calendar day.
    """
    from hedgegym.risk.positions import desk_units

    book, market = _load(positions, valuation_date, spot, vol, rate, dividend)
    valuation = _valuation(book, market)
    table = Table(title=f"book {escape(positions.name)} at {market.valuation_date} (currency)",
                  caption="qty: contracts (× multiplier) or shares; τ = days/365; vol: the strike's implied vol "
                  "(sticky strike); price per share; Δ in shares, Γ in shares per 1.00 of spot, vega per vol point, "
                  "Θ per calendar day", box=box.SIMPLE_HEAD, collapse_padding=True)
    for column in ("position", "qty", "τ (y)", "vol", "price", "value", "Δ", "Γ", "vega/pt", "Θ/day"):
        table.add_column(column, justify="left" if column == "position" else "right", no_wrap=True)
    for line, row in zip(book.positions, valuation.lines.itertuples(index=False), strict=True):
        option = row.instrument != "stock"
        table.add_row(
            escape(line.label), _amount(row.quantity, 0 if float(row.quantity).is_integer() else 2),
            f"{row.tau_years:.4f}" if option else "", f"{row.vol:.2%}" if option else "", f"{row.price:,.4f}",
            _amount(row.value), _amount(row.delta_shares), _amount(row.gamma_shares_per_unit_spot, 3),
            _amount(row.vega_per_vol_point), _amount(row.theta_per_day),
        )
    total = desk_units(valuation.total)
    table.add_section()
    table.add_row("[bold]total[/bold]", "", "", "", "", *(f"[bold]{_amount(total[key], digits)}[/bold]" for key, digits
                  in (("value", 2), ("delta_shares", 2), ("gamma_shares_per_unit_spot", 3),
                      ("vega_per_vol_point", 2), ("theta_per_day", 2))))
    console.print(table)


@book_app.command("dashboard")
def dashboard_command(
    positions: PositionsFile,
    target_delta: TargetDelta = 0.0,
    target_gamma: TargetGamma = 0.0,
    target_vega: TargetVega = 0.0,
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Directory of the PNG dashboard__book_<file>__<time>.png (never "
                           "overwritten).")
    ] = Path("results"),
    valuation_date: DateOption = None,
    spot: SpotOption = None,
    vol: VolOption = None,
    rate: RateOption = None,
    dividend: DividendOption = None,
) -> None:
    """The book's Δ, Γ and vega against targets, with green / yellow / red alerts, and a PNG.

    deviation = |book − target| / max(|target|, gross), gross = Σ over lines of |the line's Greek| (how much of its
    gross exposure the book keeps); yellow above 10%, red above 25%.
    """
    import numpy as np

    from hedgegym.pricing.greeks import Greeks
    from hedgegym.risk.dashboard import COLOURS, dashboard_path, greek_dashboard, plot_dashboard
    from hedgegym.risk.positions import VOL_POINT

    book, market = _load(positions, valuation_date, spot, vol, rate, dividend)
    valuation = _valuation(book, market)

    def desk(greeks: Greeks) -> Greeks:  # vega per vol point: the deviations are unit-free, the table reads so
        return greeks._replace(vega=greeks.vega * VOL_POINT)

    try:
        table = greek_dashboard(desk(valuation.total), desk(valuation.gross),
                                {"delta": target_delta, "gamma": target_gamma, "vega": target_vega})
    except ValueError as error:
        raise fail(error) from None
    result = Table(
        title=f"Greeks dashboard: book {escape(positions.name)} at {market.valuation_date}",
        caption="deviation = |book − target| / max(|target|, gross Σ|line|); yellow > 10%, red > 25%. Δ in shares, "
        "Γ in shares per 1.00 of spot, vega per vol point", box=box.SIMPLE_HEAD,
    )
    for column in ("greek", "book", "target", "gross (scale)", "deviation", "status"):
        result.add_column(column, justify="left" if column in ("greek", "status") else "right", no_wrap=True)
    for row in table.itertuples(index=False):
        digits = 3 if row.greek == "gamma" else 2
        result.add_row(row.greek, *(_amount(x, digits) for x in (row.actual, row.target, row.book)),
                       "∞" if np.isinf(row.deviation) else f"{row.deviation:.1%}",
                       f"[{COLOURS[row.status]}]● {row.status}[/{COLOURS[row.status]}]")
    console.print(result)
    try:
        path = plot_dashboard(table, dashboard_path(out, f"book_{positions.stem}"),
                              title=f"book {positions.name} at {market.valuation_date}: Greeks vs targets")
    except (FileExistsError, OSError) as error:
        raise fail(f"--out: {error}") from None
    console.print(f"→ {escape(str(path))}")


@book_app.command("stress")
def stress_command(
    positions: PositionsFile,
    scenarios: ScenariosOption = None,
    events: EventsOption = False,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Directory for stress.csv and stress.md (never overwritten).")
    ] = None,
    valuation_date: DateOption = None,
    spot: SpotOption = None,
    vol: VolOption = None,
    rate: RateOption = None,
    dividend: DividendOption = None,
) -> None:
    """Revalue the book under spot and volatility shocks, instantly or after trading days.

    Spot × (1 + shock); every vol of the surface + shock (sticky strike); the options aged by the days (1/252 year
    each); an option expiring within them is settled at its intrinsic value at the shocked spot. Full BSM
    revaluation: ΔV, its Δ–Γ(–vega)(–Θ) estimates, the change of Δ and Γ, the loss.
    """
    from hedgegym.risk.positions import desk_units, stress_book
    from hedgegym.risk.stress import worst_scenario, write_stress_outputs

    chosen = chosen_scenarios(scenarios, events)
    if out is not None:
        existing = [out / name for name in ("stress.csv", "stress.md") if (out / name).exists()]
        if existing:
            raise fail(f"--out: {existing[0]} exists: hedgegym never overwrites results")
    book, market = _load(positions, valuation_date, spot, vol, rate, dividend)
    base = _valuation(book, market)
    try:
        table = stress_book(book, market, chosen)
    except ValueError as error:
        raise fail(error) from None
    console.print(_greeks_line("book today", desk_units(base.total)))
    console.print(stress_table(
        table, f"stress test: book {escape(positions.name)}, full revaluation (currency)",
        "estimates: Δ–Γ = Δ·dS + ½Γ·dS²; +vega adds vega·vol shock; +Θ adds Θ per calendar day × days × 365/252; "
        "vol in vol points (every strike's vol shifted); days: trading days before the shock is valued, 1/252 year = "
        "1.45 calendar days each (a 5-day week is 7.2 calendar days); Δ in shares, Γ in shares per 1.00 of spot; "
        "stress.csv keeps every digit", digits=0, gamma_digits=2, box=box.SIMPLE_HEAD))
    worst = worst_scenario(table)
    console.print(f"worst scenario: [bold]{escape(str(worst['scenario']))}[/bold], loss {_amount(worst['loss'])}")
    if out is not None:
        try:
            paths = write_stress_outputs(table, out, title=f"stress test: book {positions.name} at "
                                         f"{market.valuation_date}")
        except (FileExistsError, OSError) as error:
            raise fail(f"--out: {error}") from None
        console.print(f"→ {escape(str(paths[0]))}, {escape(str(paths[1]))}")


@book_app.command("trades")
def trades_command(
    positions: PositionsFile,
    target_delta: TargetDelta = 0.0,
    target_gamma: TargetGamma = 0.0,
    target_vega: TargetVega = 0.0,
    greeks: Annotated[
        str | None, typer.Option("--greeks", help="Greeks to hit, comma-separated, delta first (e.g. delta,gamma); "
                                 "default: delta with no listed hedge option, delta,gamma with one, delta,gamma,vega "
                                 "with two or more.")
    ] = None,
    stock_cost: Annotated[
        float, typer.Option("--stock-cost", help="Stock trading cost, fraction of notional (0.0005 = 5 bp).")
    ] = 0.0,
    option_cost: Annotated[
        float, typer.Option("--option-cost", help="Option trading cost, fraction of the premium traded (0.01 = 1%).")
    ] = 0.0,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="New or empty directory for trades.csv and "
                                  "positions_after.yaml (the book with the trades, and the market inputs used).")
    ] = None,
    valuation_date: DateOption = None,
    spot: SpotOption = None,
    vol: VolOption = None,
    rate: RateOption = None,
    dividend: DividendOption = None,
) -> None:
    """The trades in the stock and the file's listed hedge options that bring the book's Greeks to the targets,
    their costs, and the Greeks after.

    Solves A·x = −(book − target) with the k-Greek solver (equilibrated; an ill-conditioned system falls back to
    fewer Greeks, and says so). Trades in shares and contracts, + buy / − sell.
    """
    from hedgegym.output import atomic_directory, check_output_dir
    from hedgegym.risk.positions import VOL_POINT, desk_units, value_book, write_positions
    from hedgegym.risk.targets import apply_trades, book_trades

    chosen = None if greeks is None else [name.strip() for name in greeks.split(",") if name.strip()]
    if out is not None:
        try:
            check_output_dir(out, "--out")
        except ValueError as error:
            raise fail(error) from None
    book, market = _load(positions, valuation_date, spot, vol, rate, dividend)
    targets = {"delta": target_delta, "gamma": target_gamma, "vega": target_vega / VOL_POINT}
    try:
        plan = book_trades(book, market, targets, chosen, stock_cost=stock_cost, option_cost=option_cost)
    except ValueError as error:
        raise fail(error) from None
    after = apply_trades(book, plan)
    result = Table(title=f"trades to targets: book {escape(positions.name)} at {market.valuation_date}",
                   caption="quantity: shares for the stock, contracts for options (+ buy, − sell); price per share / "
                   "per contract; cost = rate × notional", box=box.SIMPLE_HEAD)
    for column in ("instrument", "trade", "quantity", "price", "notional", "cost rate", "cost"):
        result.add_column(column, justify="left" if column in ("instrument", "trade") else "right", no_wrap=True)
    for row in plan.trades.itertuples(index=False):
        side = "buy" if row.quantity > 0 else "sell" if row.quantity < 0 else "—"
        result.add_row(escape(row.instrument), side, f"{_amount(row.quantity)} {row.unit}", f"{row.price:,.4f}",
                       _amount(row.notional), f"{row.cost_rate:.4%}", _amount(row.cost))
    result.add_section()
    result.add_row("[bold]total[/bold]", "", "", "", _amount(float(plan.trades["notional"].sum())), "",
                   f"[bold]{_amount(plan.total_cost)}[/bold]")
    console.print(result)
    greeks_table = Table(title="book Greeks before and after the trades",
                         caption="Δ in shares, Γ in shares per 1.00 of spot, vega per vol point", box=box.SIMPLE_HEAD)
    for column in ("greek", "before", "target", "after", "hit"):
        greeks_table.add_column(column, justify="left" if column in ("greek", "hit") else "right", no_wrap=True)
    scale = {"delta": 1.0, "gamma": 1.0, "vega": VOL_POINT}
    for name in plan.before:
        digits = 3 if name == "gamma" else 2
        greeks_table.add_row(name, *(_amount(values[name] * scale[name], digits) for values in
                                     (plan.before, plan.targets, plan.after)),
                             "yes" if name in plan.neutralised else "—")
    console.print(greeks_table)
    console.print(f"neutralised to target: {', '.join(plan.neutralised)} (condition number {plan.condition:.3g})")
    if plan.fell_back:
        console.print(f"[yellow]the full system for {escape(', '.join(plan.requested))} is ill-conditioned or needs "
                      f"option trades beyond the limit: only {escape(', '.join(plan.neutralised))} reach their "
                      "targets[/yellow]")
    console.print(_greeks_line("book after the trades (positions only: the trades' cash is not a line)",
                               desk_units(value_book(after, market).total)))
    if out is not None:
        try:
            with atomic_directory(out, "--out") as staging:
                plan.trades.to_csv(staging / "trades.csv", index=False, float_format="%.10g")
                write_positions(after, staging / "positions_after.yaml", market)
        except (ValueError, OSError) as error:
            raise fail(f"--out: {error}") from None
        console.print(f"→ {escape(str(out / 'trades.csv'))}, {escape(str(out / 'positions_after.yaml'))}")
