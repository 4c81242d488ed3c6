r"""The trades that bring a book's Greeks to targets: stock and listed options, with their transaction costs.

With b the book's Greeks and t the targets (rows: the Greeks to hit, Δ first), and A the hedge instruments' Greeks
per unit traded (columns: the stock first — Δ 1, Γ 0, vega 0 per share —, then each listed option per contract),
the trades x solve::

    A x = −(b − t)        (Hull, *Options, Futures, and Other Derivatives*, "Greek letters": making a portfolio
                           delta, gamma and vega neutral; here neutral to the targets instead of to zero)

through the k-Greek solver ``hedgegym.baselines.greek_solver.neutralise`` (equilibrated; when the full system is
ill-conditioned or needs an option position beyond its cap it drops the last Greek, down to Δ with the stock alone:
the plan says so with ``fell_back`` and names what it ``neutralised``). The Greeks to hit, by default: Δ alone with
no listed option, Δ and Γ with one, Δ, Γ and vega with two or more; or any list that starts with Δ, with at most
one more Greek than there are listed options.

After the trades each Greek is book + A x (``after``); for the neutralised Greeks it equals the target (checked to
1e-8 of the Greek's scale: an ``ArithmeticError`` otherwise).

Costs: proportional to traded notional (``hedgegym.costs.ProportionalCost``): ``stock_cost`` × |shares| × spot for
the stock and ``option_cost`` × |contracts| × contract price (premium × multiplier) for each option; 0 by default.

Units: the API's (Δ in shares, Γ in shares per unit of spot, vega per 1.00 of vol; the solver is unit-free, so
Hull's textbook numbers go in as they are); trades in shares (stock) and contracts (options); prices, notionals
and costs in currency.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from hedgegym.baselines.delta_gamma import DEFAULT_POSITION_LIMIT
from hedgegym.baselines.greek_solver import DEFAULT_MAX_CONDITION, neutralise
from hedgegym.costs import ProportionalCost
from hedgegym.risk.positions import (
    MarketInputs,
    OptionLine,
    PositionsBook,
    StockLine,
    contract_greeks,
    value_book,
)

__all__ = [
    "GREEKS",
    "TRADE_COLUMNS",
    "HedgeInstrument",
    "TradePlan",
    "apply_trades",
    "book_trades",
    "default_greeks",
    "solve_trades",
]

GREEKS = ("delta", "gamma", "vega")
TRADE_COLUMNS = ("instrument", "quantity", "unit", "price", "notional", "cost_rate", "cost")
_TOLERANCE = 1e-8


@dataclass(frozen=True)
class HedgeInstrument:
    """A listed option the trades may use, by its Greeks per contract (API units) and its price.

    Attributes:
        name: its label in the trade table.
        delta: Δ per contract, shares.
        gamma: Γ per contract, shares per unit of spot.
        vega: vega per contract, currency per 1.00 of vol.
        price: currency per contract (premium × multiplier), ≥ 0; ``None`` when unknown (then no cost can be
            charged on it: a positive ``option_cost`` is refused).
    """

    name: str
    delta: float
    gamma: float = 0.0
    vega: float = 0.0
    price: float | None = None

    def __post_init__(self) -> None:
        for name in ("delta", "gamma", "vega"):
            value = getattr(self, name)
            if isinstance(value, bool) or not np.isfinite(value):
                raise ValueError(f"hedge instrument {self.name!r}: {name} must be a finite number, got {value!r}")
            object.__setattr__(self, name, float(value))
        if self.price is not None and (isinstance(self.price, bool) or not np.isfinite(self.price) or self.price < 0):
            raise ValueError(f"hedge instrument {self.name!r}: price must be a number >= 0, got {self.price!r}")


@dataclass(frozen=True)
class TradePlan:
    """``solve_trades``' result.

    Attributes:
        trades: one row per instrument (the stock first, then the options in the order given), columns
            ``TRADE_COLUMNS``: ``instrument``, ``quantity`` (signed: + buy; shares or contracts), ``unit``
            (``shares`` / ``contracts``), ``price`` (currency per unit; NaN unknown), ``notional`` (|quantity| ×
            price), ``cost_rate`` (fraction of notional), ``cost`` (currency).
        requested: the Greeks asked for, Δ first.
        neutralised: the leading Greeks the trades bring to their targets (fewer than requested when the solver
            fell back).
        condition: the scaled condition number κ of the full system (inf: singular).
        before, after, targets: each Greek (``GREEKS`` that the book gave) before and after the trades, and the
            targets; API units.
    """

    trades: pd.DataFrame
    requested: tuple[str, ...]
    neutralised: tuple[str, ...]
    condition: float
    before: dict[str, float]
    after: dict[str, float]
    targets: dict[str, float]

    @property
    def fell_back(self) -> bool:
        """True when the solver could not hit every requested Greek (ill-conditioned, or beyond a position cap)."""
        return len(self.neutralised) < len(self.requested)

    @property
    def total_cost(self) -> float:
        """Σ cost over the trades, currency."""
        return float(self.trades["cost"].sum())


def default_greeks(n_options: int) -> tuple[str, ...]:
    """Δ alone with no listed option, Δ and Γ with one, Δ, Γ and vega with two or more."""
    return GREEKS[:1 + min(n_options, 2)]


def _check_greeks(greeks: Sequence[str] | None, n_options: int) -> tuple[str, ...]:
    if greeks is None:
        return default_greeks(n_options)
    greeks = tuple(greeks)
    unknown = [name for name in greeks if name not in GREEKS]
    if unknown:
        raise ValueError(f"greeks: unknown Greek {unknown[0]!r}; allowed: {', '.join(GREEKS)}")
    if not greeks or greeks[0] != "delta" or len(set(greeks)) != len(greeks):
        raise ValueError(f"greeks must start with delta and name each Greek once, got {list(greeks)}")
    if len(greeks) - 1 > n_options:
        raise ValueError(f"greeks: hitting {', '.join(greeks)} needs at least {len(greeks) - 1} listed option(s) "
                         f"next to the stock; there are {n_options}")
    return greeks


def _greek_mapping(name: str, values: Mapping[str, float] | None) -> dict[str, float]:
    values = dict(values or {})
    unknown = [key for key in values if key not in GREEKS]
    if unknown:
        raise ValueError(f"{name}: unknown Greek {unknown[0]!r}; allowed: {', '.join(GREEKS)}")
    out = {}
    for key, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating) \
                or not np.isfinite(value):
            raise ValueError(f"{name}.{key} must be a finite number, got {value!r}")
        out[key] = float(value)
    return out


def _rate(name: str, value: float) -> float:
    if isinstance(value, bool) or not np.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a fraction of notional >= 0 (0.001 = 10 bp), got {value!r}")
    return float(value)


def solve_trades(
    book: Mapping[str, float],
    options: Sequence[HedgeInstrument] = (),
    targets: Mapping[str, float] | None = None,
    greeks: Sequence[str] | None = None,
    *,
    spot: float | None = None,
    stock_cost: float = 0.0,
    option_cost: float = 0.0,
    max_condition: float = DEFAULT_MAX_CONDITION,
    position_limits: Sequence[float] | None = None,
) -> TradePlan:
    """The trades in the stock and ``options`` that bring the book's Greeks to ``targets`` (module docstring).

    A pure function of numbers, e.g. Hull's gamma-neutral example::

        solve_trades({"delta": 0.0, "gamma": -3000.0}, [HedgeInstrument("option", delta=0.62, gamma=1.5)])
        # → buy 2,000 options, sell 1,240 shares

    Args:
        book: the book's Greeks ``{"delta": …, "gamma": …, "vega": …}`` (API units); every Greek to hit must be
            given, the others are optional.
        options: the listed options that may be traded, per contract.
        targets: target Greeks (same keys and units); missing keys: 0 (neutral).
        greeks: the Greeks to hit, Δ first; ``None``: ``default_greeks(len(options))``.
        spot: the stock's price (currency per share), for its notional and cost; ``None``: unknown.
        stock_cost, option_cost: proportional cost rates (fractions of traded notional, ≥ 0).
        max_condition: the solver's largest scaled condition number (≥ 1).
        position_limits: a cap on |contracts| per listed option (same order); ``None``: no cap.

    Raises:
        ValueError: naming the argument: unknown Greeks, Greeks not starting with delta or needing more options
            than given, a Greek to hit missing from ``book``, negative cost rates, a cost on an instrument without a
            price, a cap list of the wrong length. ``ArithmeticError`` if the solved trades miss a target they claim to
            hit (a solver defect, never expected).
    """
    options = tuple(options)
    for index, option in enumerate(options):
        if not isinstance(option, HedgeInstrument):
            raise ValueError(f"options[{index}] must be a HedgeInstrument, got {type(option).__name__}")
    requested = _check_greeks(greeks, len(options))
    before = _greek_mapping("book", book)
    goals = {name: 0.0 for name in GREEKS} | _greek_mapping("targets", targets)
    missing = [name for name in requested if name not in before]
    if missing:
        raise ValueError(f"book: {missing[0]} is missing; the trades are asked to hit {', '.join(requested)}")
    stock_rate, option_rate = _rate("stock_cost", stock_cost), _rate("option_cost", option_cost)
    if spot is not None and (isinstance(spot, bool) or not np.isfinite(spot) or spot <= 0):
        raise ValueError(f"spot must be > 0, got {spot!r}")
    if stock_rate > 0 and spot is None:
        raise ValueError("stock_cost > 0 needs the stock's price: give spot")
    if option_rate > 0 and any(option.price is None for option in options):
        unpriced = next(option.name for option in options if option.price is None)
        raise ValueError(f"option_cost > 0 needs every option's price; {unpriced!r} has none")

    # A: (1, g, k), rows the requested Greeks, columns the stock then the options
    exposure = {name: np.array([1.0 if name == "delta" else 0.0, *(getattr(o, name) for o in options)])
                for name in GREEKS}
    matrix = np.stack([exposure[name] for name in requested])[np.newaxis]
    gap = np.array([[before[name] - goals[name] for name in requested]])
    limits = None
    if position_limits is not None:
        caps = np.asarray(position_limits, dtype=np.float64)
        if caps.shape != (len(options),):
            raise ValueError(f"position_limits must have one cap per listed option ({len(options)}), got "
                             f"{list(position_limits)}")
        limits = np.concatenate([[np.inf], caps])
    solution = neutralise(matrix, gap, max_condition, limits)
    quantities = solution.positions[0] + 0.0  # no −0.0
    neutralised = requested[:int(solution.neutralised[0])]

    after = {name: before[name] + float(exposure[name] @ quantities) for name in GREEKS if name in before}
    for name in neutralised:
        scale = max(abs(before[name]), abs(goals[name]), float(np.max(np.abs(exposure[name] * quantities))), 1e-300)
        if abs(after[name] - goals[name]) > _TOLERANCE * scale:
            raise ArithmeticError(f"the trades leave {name} at {after[name]!r}, target {goals[name]!r}")

    prices = np.array([np.nan if spot is None else spot, *(np.nan if o.price is None else o.price for o in options)])
    rates = np.array([stock_rate, *([option_rate] * len(options))])
    model = ProportionalCost(tuple(rates))
    k = quantities.size
    # one row per instrument: row j trades instrument j alone, so the model's row sums are the costs per instrument
    costs = model.cost(np.diag(quantities), np.broadcast_to(np.nan_to_num(prices), (k, k)))
    trades = pd.DataFrame({
        "instrument": ["stock", *(option.name for option in options)],
        "quantity": quantities,
        "unit": ["shares", *(["contracts"] * len(options))],
        "price": prices,
        "notional": np.abs(quantities) * prices,
        "cost_rate": rates,
        "cost": costs,
    }, columns=list(TRADE_COLUMNS))
    return TradePlan(trades, requested, neutralised, float(solution.condition[0]), before, after,
                     {name: goals[name] for name in GREEKS if name in before})


def book_trades(
    book: PositionsBook,
    market: MarketInputs,
    targets: Mapping[str, float] | None = None,
    greeks: Sequence[str] | None = None,
    *,
    stock_cost: float = 0.0,
    option_cost: float = 0.0,
    max_condition: float = DEFAULT_MAX_CONDITION,
    position_limit: float = DEFAULT_POSITION_LIMIT,
) -> TradePlan:
    """``solve_trades`` for a positions book: its Greeks (``value_book``) against the stock and its ``hedges``
    (each valued per contract by ``contract_greeks``, priced at its BSM premium × multiplier).

    ``position_limit``: each listed option's trade at most this many times the book's size in units of underlying
    (Σ |quantity| × multiplier over the option lines; no cap when the book holds no option), as the classical
    hedgers of ``hedgegym compare`` (``hedgegym.baselines.delta_gamma``).

    Raises:
        ValueError: those of ``value_book`` (for the book and the hedges) and of ``solve_trades``; a
            ``position_limit`` ≤ 0.
    """
    if isinstance(position_limit, bool) or np.isnan(position_limit) or position_limit <= 0:
        raise ValueError(f"position_limit must be > 0 (inf: no cap), got {position_limit!r}")
    total = value_book(book, market).total
    per_contract = contract_greeks(book.hedges, market)
    options = [HedgeInstrument(hedge.label, float(per_contract.delta[i]), float(per_contract.gamma[i]),
                               float(per_contract.vega[i]), float(per_contract.price[i]))
               for i, hedge in enumerate(book.hedges)]
    caps = None
    if book.notional > 0:
        caps = [position_limit * book.notional / hedge.multiplier for hedge in book.hedges]
    return solve_trades({"delta": total.delta, "gamma": total.gamma, "vega": total.vega}, options, targets, greeks,
                        spot=market.spot, stock_cost=stock_cost, option_cost=option_cost,
                        max_condition=max_condition, position_limits=caps)


def apply_trades(book: PositionsBook, plan: TradePlan) -> PositionsBook:
    """The book after ``plan`` (from ``book_trades(book, …)``): its lines plus one line per non-zero trade (the
    stock, then each hedge option with the traded contracts); hedges and market inputs unchanged.

    Raises:
        ValueError: when the plan does not have one row for the stock and one per hedge of ``book``.
    """
    quantities = plan.trades["quantity"].to_numpy(dtype=np.float64)
    if quantities.size != 1 + len(book.hedges) or list(plan.trades["instrument"][1:]) != [h.label for h in
                                                                                            book.hedges]:
        raise ValueError("plan: not the trades of this book (one row for the stock, then one per hedge option)")
    added: list[OptionLine | StockLine] = []
    if quantities[0] != 0.0:
        added.append(StockLine(float(quantities[0]), where="trade: stock"))
    for hedge, quantity in zip(book.hedges, quantities[1:], strict=True):
        if quantity != 0.0:
            added.append(dataclasses.replace(hedge, quantity=float(quantity), where=f"trade: {hedge.label}"))
    return dataclasses.replace(book, positions=(*book.positions, *added))
