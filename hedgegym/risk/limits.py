r"""Risk limits on a hedged book through time: Greek limits with alert levels, and VaR, CVaR and drawdown limits.

A desk runs its book inside limits — "net delta within ±500 shares", "vega at most 0.1% of capital per vol point",
"gamma no more than a quarter of the book's own" — and acts when they are breached (Hull, *Risk Management and
Financial Institutions*, ch. "Trading risk: the Greek letters": limits on delta, gamma and vega set by risk
management; Taleb, *Dynamic Hedging*, ch. on position limits). ``Limits`` holds them; the evaluation
(``hedgegym.evaluation.rollout.evaluate``) checks the portfolio's net Greeks (book + hedges, the positions held
over each step, valued at its start) at every step of every path, and the env (``hedgegym.env``) reports breaches
in ``info`` and can penalise them in the reward.

**Greek limits** (``GreekLimit``), in the units a desk reads (``DESK_UNITS``; ``desk_units`` converts from the
engine's)::

    delta   shares                              (units of the underlying)
    gamma   shares per unit of spot
    vega    currency per vol point               (0.01 of the model's volatility input: σ, SABR α, a data market's
                                                 volatility proxy; Heston: ∂V/∂v · 2σ₀ · 0.01 at σ₀ = √v₀)
    theta   currency per trading day             (1/252 year, whatever the config's step)

A limit's bound at a node is the tightest of those it sets::

    bound = min( absolute,  capital_fraction × capital,  relative × |book Greek at that node| )

and the net Greek g is at level ``BREACH`` when |g| > bound, ``ALERT`` when alert × bound < |g| ≤ bound, else
``WITHIN`` (a relative tolerance of 1e-9 absorbs round-off, so a hedge that cancels a Greek exactly does not
breach a bound of 0).

**Path statistics** (``LimitMonitor``), per path and Greek: ``breaches`` (entries into breach: steps in breach whose
previous step was not), ``steps_in_breach``, ``steps_in_alert`` (alert or breach) and the fraction of steps in
breach (``time_in_breach``).

**Distribution limits**: ``var_95`` and ``cvar_95`` on the hedged P&L's loss over the paths (``metrics.value_at_risk``,
``metrics.cvar``), in currency; ``max_drawdown`` on each path's drawdown of marked-to-market wealth from its running
peak, in currency (paths breaching it and the fraction of nodes in breach).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from hedgegym.market import Heston, MarketModel
from hedgegym.market.series import TRADING_DAYS_PER_YEAR
from hedgegym.pricing.greeks import FloatArray

__all__ = [
    "ALERT",
    "BREACH",
    "DESK_UNITS",
    "LIMIT_GREEKS",
    "WITHIN",
    "GreekLimit",
    "LimitMonitor",
    "Limits",
    "count_breaches",
    "describe_limits",
    "desk_units",
    "held_greeks",
    "limit_markdown",
    "limit_table",
]

LIMIT_GREEKS = ("delta", "gamma", "vega", "theta")
DESK_UNITS = {"delta": "shares", "gamma": "shares per unit of spot", "vega": "currency per vol point",
              "theta": "currency per trading day"}
WITHIN, ALERT, BREACH = 0, 1, 2
_TOLERANCE = 1e-9


def _positive(name: str, value: float | None) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating) or not (
            np.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return float(value)


@dataclass(frozen=True)
class GreekLimit:
    """A limit on one net Greek: the tightest of the bounds it sets (at least one), and its alert level.

    Attributes:
        absolute: bound on |net Greek| in ``DESK_UNITS`` (> 0), or ``None``.
        capital_fraction: bound as a fraction of ``Limits.capital`` (0.001 = 0.1% of capital), or ``None``.
        relative: bound as a fraction of the unhedged book's own |Greek| at the same node (0.25: a quarter), or
            ``None``.
        alert: the alert level, a fraction of the bound in (0, 1] (0.8: alert above 80% of the limit).
    """

    absolute: float | None = None
    capital_fraction: float | None = None
    relative: float | None = None
    alert: float = 0.8

    def __post_init__(self) -> None:
        for name in ("absolute", "capital_fraction", "relative"):
            object.__setattr__(self, name, _positive(name, getattr(self, name)))
        if self.absolute is None and self.capital_fraction is None and self.relative is None:
            raise ValueError("a Greek limit needs at least one of absolute, capital_fraction, relative")
        alert = _positive("alert", self.alert)
        if alert > 1.0:
            raise ValueError(f"alert must be in (0, 1] (a fraction of the limit), got {self.alert!r}")
        object.__setattr__(self, "alert", alert)

    def bound(self, book: FloatArray, capital: float | None) -> FloatArray:
        """The bound at each node, ≥ 0, in desk units. ``book``: the unhedged book's Greek (desk units), any shape.

        Raises ``ValueError`` when ``capital_fraction`` is set and ``capital`` is ``None``."""
        book = np.asarray(book, dtype=np.float64)
        bound = np.full(book.shape, np.inf)
        if self.absolute is not None:
            bound = np.minimum(bound, self.absolute)
        if self.capital_fraction is not None:
            if capital is None:
                raise ValueError("capital_fraction needs limits.capital (currency)")
            bound = np.minimum(bound, self.capital_fraction * capital)
        if self.relative is not None:
            bound = np.minimum(bound, self.relative * np.abs(book))
        return bound


@dataclass(frozen=True)
class Limits:
    """The limits of a book: per-Greek limits, distribution limits, and the env's penalty for breaches.

    Attributes:
        greeks: ``{greek: GreekLimit}`` for Greeks in ``LIMIT_GREEKS``.
        capital: the desk's capital in currency (> 0), the scale of ``capital_fraction`` limits; ``None``.
        var_95, cvar_95: limits on the 95% VaR and CVaR of the hedged P&L's loss over the paths, currency (> 0).
        max_drawdown: limit on a path's drawdown of marked-to-market wealth from its running peak, currency (> 0).
        penalty: the env's reward penalty per Greek limit breached per step, in the reward's scaled units
            (≥ 0; 0: none).

    Raises:
        ValueError: naming the field: an unknown Greek, a non-positive limit, a ``capital_fraction`` without capital.
    """

    greeks: Mapping[str, GreekLimit] = field(default_factory=dict)
    capital: float | None = None
    var_95: float | None = None
    cvar_95: float | None = None
    max_drawdown: float | None = None
    penalty: float = 0.0

    def __post_init__(self) -> None:
        unknown = sorted(set(self.greeks) - set(LIMIT_GREEKS))
        if unknown:
            raise ValueError(f"limits: unknown Greek {unknown[0]!r}; allowed: {', '.join(LIMIT_GREEKS)}")
        for greek, limit in self.greeks.items():
            if not isinstance(limit, GreekLimit):
                raise ValueError(f"limits.{greek} must be a GreekLimit, got {type(limit).__name__}")
            if limit.capital_fraction is not None and self.capital is None:
                raise ValueError(f"limits.{greek}.capital_fraction needs limits.capital (currency)")
        ordered = {greek: self.greeks[greek] for greek in LIMIT_GREEKS if greek in self.greeks}
        object.__setattr__(self, "greeks", ordered)
        for name in ("capital", "var_95", "cvar_95", "max_drawdown"):
            object.__setattr__(self, name, _positive(f"limits.{name}", getattr(self, name)))
        penalty = self.penalty
        if isinstance(penalty, bool) or not isinstance(penalty, int | float | np.integer | np.floating) or not (
                np.isfinite(penalty) and penalty >= 0):
            raise ValueError(f"limits.penalty must be a finite number >= 0, got {penalty!r}")
        object.__setattr__(self, "penalty", float(penalty))
        if self.penalty > 0 and not self.greeks:
            raise ValueError("limits.penalty needs at least one Greek limit: the env penalises the Greek limits a step "
                             "breaches")

    @property
    def required_greeks(self) -> frozenset[str]:
        """The Greeks the limits read (to be valued at every node)."""
        return frozenset(self.greeks)

    def levels(self, net: Mapping[str, FloatArray], book: Mapping[str, FloatArray]
               ) -> dict[str, tuple[np.ndarray, FloatArray]]:
        """``{greek: (level, bound)}`` for every limited Greek: level ``WITHIN`` / ``ALERT`` / ``BREACH`` (int8) and
        the bound, both of the shape of ``net[greek]``. ``net``, ``book``: the portfolio's and the unhedged book's
        Greeks in desk units (``desk_units``)."""
        out = {}
        for greek, limit in self.greeks.items():
            value = np.abs(np.asarray(net[greek], dtype=np.float64))
            exposure = np.abs(np.asarray(book[greek], dtype=np.float64))
            bound = limit.bound(exposure, self.capital)
            slack = _TOLERANCE * np.maximum(np.where(np.isfinite(bound), bound, 0.0), exposure)
            alert = np.where(value > limit.alert * bound + slack, ALERT, WITHIN)
            level = np.where(value > bound + slack, BREACH, alert)
            out[greek] = (level.astype(np.int8), bound)
        return out

    def breach_count(self, net: Mapping[str, FloatArray], book: Mapping[str, FloatArray]) -> np.ndarray:
        """How many Greek limits each element breaches (int, shape of the Greeks): the env's penalty multiplies it."""
        shape = np.shape(next(iter(net.values()))) if net else ()
        return count_breaches([level for level, _ in self.levels(net, book).values()], shape)


def count_breaches(levels: Iterable[np.ndarray], shape: tuple[int, ...] = ()) -> np.ndarray:
    """How many of the ``levels`` (one int array per limited Greek, as ``Limits.levels`` gives) are ``BREACH``,
    element by element (int64, ``shape`` when there are none)."""
    count = np.zeros(shape, dtype=np.int64)
    for level in levels:
        count = count + (level == BREACH)
    return count


def desk_units(greek: str, values: FloatArray, model: MarketModel) -> FloatArray:
    """A Greek from the engine's units (vega per 1.00 of the volatility input, theta per year) to ``DESK_UNITS``.

    Args:
        greek: one of ``LIMIT_GREEKS``.
        values: the Greek in the engine's units, any shape.
        model: the market model. Heston's vega is per unit of variance v: per vol point it is converted at the
            model's reference volatility σ₀ = √v₀ (floor 1%), ∂V/∂σ = ∂V/∂v · 2σ₀ — a fixed unit, as the env's
            vega features use, so that a limit does not switch off where the simulated variance touches 0
            (∂V/∂v · 2√v would be 0 there whatever the exposure).

    Returns: the Greek per share (Δ), per unit of spot (Γ), per vol point (vega, ×0.01), per trading day (Θ, /252).
    Raises: ``ValueError`` for an unknown Greek.
    """
    values = np.asarray(values, dtype=np.float64)
    if greek in ("delta", "gamma"):
        return values
    if greek == "theta":
        return values / TRADING_DAYS_PER_YEAR
    if greek != "vega":
        raise ValueError(f"greek must be one of {', '.join(LIMIT_GREEKS)}, got {greek!r}")
    if isinstance(model, Heston):
        return values * 2.0 * max(float(np.sqrt(model.initial_variance)), 0.01) * 0.01
    return values * 0.01  # σ, SABR's α, a proxy's σ: moved by vol points as in hedgegym.risk.stress.bump_volatility


def held_greeks(limits: Limits, model: MarketModel, book, instruments, positions: FloatArray
                ) -> tuple[dict[str, FloatArray], dict[str, FloatArray]]:
    """The limited Greeks, in desk units, of book + ``positions`` (N, k) and of the book alone, at one node.

    ``book``, ``instruments``: the engine's ``book_greeks`` (fields (N,)) and ``instrument_greeks`` (fields (N, k),
    per unit held). Returns ``(held, exposure)``: {greek: (N,)} each — what ``Limits.levels`` reads."""
    held, exposure = {}, {}
    for greek in limits.greeks:
        own = getattr(book, greek)
        held[greek] = desk_units(greek, own + np.sum(positions * getattr(instruments, greek), axis=1), model)
        exposure[greek] = desk_units(greek, own, model)
    return held, exposure


class LimitMonitor:
    """Per-path limit statistics over the steps of an evaluation (``evaluate`` feeds it one step at a time).

    Args:
        limits: the limits.
        n_paths: N.
        n_steps: T.

    ``observe(i, net, book)`` records step i (net and book Greeks in desk units, (N,) each); ``net`` and ``bound``
    keep the series (T, N) of every limited Greek; ``per_path(wealth)`` gives the statistics.
    """

    def __init__(self, limits: Limits, n_paths: int, n_steps: int) -> None:
        self.limits = limits
        self.n_steps = n_steps
        self.net = {greek: np.zeros((n_steps, n_paths)) for greek in limits.greeks}
        self.bound = {greek: np.zeros((n_steps, n_paths)) for greek in limits.greeks}
        self.level = {greek: np.zeros((n_steps, n_paths), dtype=np.int8) for greek in limits.greeks}

    def observe(self, step: int, net: Mapping[str, FloatArray], book: Mapping[str, FloatArray]) -> None:
        for greek, (level, bound) in self.limits.levels(net, book).items():
            self.net[greek][step] = net[greek]
            self.bound[greek][step] = bound
            self.level[greek][step] = level

    def per_path(self, wealth: FloatArray) -> pd.DataFrame:
        """Columns per limited Greek g: ``breaches_<g>``, ``steps_in_breach_<g>``, ``steps_in_alert_<g>``,
        ``time_in_breach_<g>`` and ``time_in_alert_<g>`` (fractions of steps; alert counts alert or breach); with a
        drawdown limit, ``drawdown_breached`` (bool) and
        ``time_in_breach_drawdown`` (fraction of the T steps whose end is in breach). ``wealth``: (T + 1, N),
        marked to market."""
        columns: dict[str, np.ndarray] = {}
        for greek, level in self.level.items():
            breach = level == BREACH
            entries = breach & ~np.vstack([np.zeros((1, breach.shape[1]), dtype=bool), breach[:-1]])
            columns[f"breaches_{greek}"] = entries.sum(axis=0)
            columns[f"steps_in_breach_{greek}"] = breach.sum(axis=0)
            columns[f"steps_in_alert_{greek}"] = (level >= ALERT).sum(axis=0)
            columns[f"time_in_breach_{greek}"] = breach.mean(axis=0)
            columns[f"time_in_alert_{greek}"] = (level >= ALERT).mean(axis=0)
        if self.limits.max_drawdown is not None:
            wealth = np.asarray(wealth, dtype=np.float64)
            drawdown = np.maximum.accumulate(wealth, axis=0) - wealth
            over = drawdown[1:] > self.limits.max_drawdown  # the end of each step (node 0 has no drawdown)
            columns["drawdown_breached"] = over.any(axis=0)
            columns["time_in_breach_drawdown"] = over.mean(axis=0)
        return pd.DataFrame(columns)


def limit_table(per_path: Mapping[str, pd.DataFrame], limits: Limits) -> pd.DataFrame:
    """The limit report: one row per hedger (``per_path``: hedger → its per-path results with ``LimitMonitor``'s
    columns and ``pnl``).

    Columns, per limited Greek g: ``<g>_paths_breached`` (fraction of paths with a breach), ``<g>_breaches`` (mean
    entries into breach per path), ``<g>_time_in_breach`` and ``<g>_time_in_alert`` (mean fraction of steps);
    with distribution limits: ``var_95`` / ``cvar_95`` (currency) and ``var_95_breached`` / ``cvar_95_breached``;
    ``drawdown_paths_breached`` and ``drawdown_time_in_breach``.
    """
    from hedgegym.evaluation.metrics import cvar, value_at_risk

    rows = {}
    for name, table in per_path.items():
        row: dict[str, float | bool] = {}
        for greek in limits.greeks:
            row[f"{greek}_paths_breached"] = float((table[f"breaches_{greek}"] > 0).mean())
            row[f"{greek}_breaches"] = float(table[f"breaches_{greek}"].mean())
            row[f"{greek}_time_in_breach"] = float(table[f"time_in_breach_{greek}"].mean())
            row[f"{greek}_time_in_alert"] = float(table[f"time_in_alert_{greek}"].mean())
        pnl = table["pnl"].to_numpy(dtype=np.float64)
        for metric, function in (("var_95", value_at_risk), ("cvar_95", cvar)):
            limit = getattr(limits, metric)
            if limit is not None:
                value = float(function(pnl, 0.95))
                row[metric], row[f"{metric}_breached"] = value, value > limit
        if limits.max_drawdown is not None:
            row["drawdown_paths_breached"] = float(table["drawdown_breached"].mean())
            row["drawdown_time_in_breach"] = float(table["time_in_breach_drawdown"].mean())
        rows[name] = row
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "hedger"
    return table


def describe_limits(limits: Limits) -> list[str]:
    """One line per limit, e.g. ``"delta: |Δ| ≤ min(50 shares, 50% of the book's) (alert at 80%)"``."""
    lines = []
    for greek, limit in limits.greeks.items():
        parts = []
        if limit.absolute is not None:
            parts.append(f"{limit.absolute:,.6g} {DESK_UNITS[greek]}")
        if limit.capital_fraction is not None:
            parts.append(f"{limit.capital_fraction:.4%} of capital {limits.capital:,.6g} = "
                         f"{limit.capital_fraction * limits.capital:,.6g} {DESK_UNITS[greek]}")
        if limit.relative is not None:
            parts.append(f"{limit.relative:.4g} × the unhedged book's |{greek}|")
        bound = parts[0] if len(parts) == 1 else "min(" + "; ".join(parts) + ")"
        lines.append(f"{greek}: |net {greek}| ≤ {bound} (alert at {limit.alert:.0%})")
    for name, text in (("var_95", "95% VaR of the loss"), ("cvar_95", "95% CVaR of the loss"),
                       ("max_drawdown", "a path's drawdown")):
        value = getattr(limits, name)
        if value is not None:
            lines.append(f"{name}: {text} ≤ {value:,.6g} (currency)")
    if limits.penalty:
        lines.append(f"env penalty: {limits.penalty:g} per Greek limit breached per step (scaled reward units)")
    return lines


def limit_markdown(table: pd.DataFrame, limits: Limits, title: str = "risk limits") -> str:
    """``limit_table``'s report as Markdown: the limits, then one row per hedger (percentages of paths and steps)."""
    header = ["hedger"]
    for greek in limits.greeks:
        header += [f"{greek}: paths breached", f"{greek}: breaches per path", f"{greek}: time in breach",
                   f"{greek}: time in alert"]
    for name in ("var_95", "cvar_95"):
        if getattr(limits, name) is not None:
            header.append(name)
    if limits.max_drawdown is not None:
        header += ["drawdown: paths breached", "drawdown: time in breach"]
    lines = [f"# {title}", "", *(f"- {line}" for line in describe_limits(limits)), "",
             "Greeks of book + hedges held over each step (valued at its start); time in breach / alert: the mean "
             "fraction of steps (alert: above the alert level, breaches included).", "",
             "| " + " | ".join(header) + " |", "|---|" + "---:|" * (len(header) - 1)]
    for name, row in table.iterrows():
        cells = [str(name)]
        for greek in limits.greeks:
            cells += [f"{row[f'{greek}_paths_breached']:.1%}", f"{row[f'{greek}_breaches']:.3g}",
                      f"{row[f'{greek}_time_in_breach']:.1%}", f"{row[f'{greek}_time_in_alert']:.1%}"]
        for metric in ("var_95", "cvar_95"):
            if getattr(limits, metric) is not None:
                cells.append(f"{row[metric]:,.2f}" + (" (breach)" if row[f"{metric}_breached"] else ""))
        if limits.max_drawdown is not None:
            cells += [f"{row['drawdown_paths_breached']:.1%}", f"{row['drawdown_time_in_breach']:.1%}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
