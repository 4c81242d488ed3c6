r"""Stress tests: spot and volatility shocks to a hedged book, instantly or after days pass, fully repriced under the
market model.

The portfolio is the liability ``book`` plus its hedge at t = 0 (``Hedge``: shares of stock and contracts of
listed options), the positions the classical hedgers of ``hedgegym.baselines`` take at inception:

* ``"none"``: no hedge;
* ``"delta"``: ``DeltaHedger`` — −Δ_book shares of stock;
* ``"greeks"``: ``GreekNeutralHedger`` through the k-Greek solver — stock and the listed options neutralise
  Δ and Γ (one listed option) or Δ, Γ and vega (two or more), as in ``hedgegym compare``.

A ``Scenario`` moves the market (positions stay): the spot by a relative ``spot_shock`` (S → S·(1 + spot_shock))
and the volatility by ``vol_shock`` (0.20 = +20 vol points), through a bumped copy of the market model
(``shock_model``), after ``days`` trading days (1/252 year each; default 0: instantly). With days > 0 the book and
the listed options are revalued aged by that time (their Θ decay; the stock's financing and dividends are not
counted), so an event such as an implied-vol crush the day after earnings, or a gap down with a vol spike over a
weekend, is one scenario (``EVENT_SCENARIOS``). "Volatility + x" per model (``bump_volatility``)::

    GBM, Merton          σ → σ + x               (Merton: the diffusion σ; the jumps are unchanged)
    regime switching     every level σ_k → σ_k + x, and the band [σ_min, σ_max] with them
    Heston               v₀ → (√v₀ + x)²,  θ → (√θ + x)²   (initial and long-run variance; κ, ξ, ρ unchanged)
    SABR                 α → α + x

Every instrument is revalued at t = 0 with the model's own pricer (``hedgegym.engine.default_valuation``: the
closed form or Fourier price; Black–Scholes at the initial regime's volatility for the regime-switching
model, which has no closed form — the root-mean-square level when the first regime is drawn at random). For
each scenario, with Δ, Γ, vega the portfolio's Greeks before the shock and dS = S' − S::

    ΔV                     V(shocked) − V(base)                        full revaluation, currency
    Δ–Γ estimate           Δ·dS + ½ Γ·dS²                              second-order Taylor in the spot
    Δ–Γ–vega estimate      Δ–Γ estimate + vega·d(vol input)            vol input: σ (GBM, Merton, regime),
                                                                       v₀ (Heston), α (SABR)
    Δ–Γ–vega–Θ estimate    Δ–Γ–vega estimate + Θ·days/252              Θ per year
    loss                   max(−ΔV, 0)

The Δ–Γ estimate is exact to second order in dS (its error is O(dS³)); it is blind to volatility, which the
vega term adds to first order. For Heston the vol bump also moves θ, which vega = ∂V/∂v₀ does not see: there
the Δ–Γ–vega estimate misses the long-run part of the shock.

Units: currency for values; Δ in shares (units of underlying); Γ in shares per unit of spot; vega in currency
per 1.00 of the model's volatility input (Heston: per unit of variance v).
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from hedgegym.baselines.delta_gamma import DEFAULT_POSITION_LIMIT
from hedgegym.baselines.greek_solver import DEFAULT_MAX_CONDITION
from hedgegym.engine import HedgingEngine, default_valuation
from hedgegym.instruments import Book, EuropeanOption, Position, monitored
from hedgegym.market import (
    SABR,
    GeometricBrownianMotion,
    Heston,
    MarketModel,
    MertonJumpDiffusion,
    ProxyVolatilityMarket,
    RegimeSwitchingVolatility,
)
from hedgegym.market.series import TRADING_DAYS_PER_YEAR
from hedgegym.pricing.greeks import Greeks

__all__ = [
    "DEFAULT_SCENARIOS",
    "EVENT_SCENARIOS",
    "HEDGE_MODES",
    "PATH_COLUMNS",
    "STRESS_COLUMNS",
    "Hedge",
    "Scenario",
    "bump_volatility",
    "check_scenarios",
    "classical_hedger",
    "default_hedge_mode",
    "format_amount",
    "initial_hedge",
    "initial_variance",
    "parse_scenarios",
    "path_scenario",
    "portfolio_greeks",
    "shock_model",
    "stress_test",
    "volatility_input",
    "worst_scenario",
    "write_stress_outputs",
]

HEDGE_MODES = ("none", "delta", "greeks")
STRESS_COLUMNS = (
    "scenario", "spot_shock", "vol_shock", "days", "spot", "value_change", "delta_gamma_estimate",
    "delta_gamma_vega_estimate", "delta_gamma_vega_theta_estimate", "delta_change", "gamma_change", "loss",
)


@dataclass(frozen=True)
class Scenario:
    """A market move, instantly or after some trading days.

    Attributes:
        name: the label of the scenario in tables (non-empty).
        spot_shock: relative spot move, S → S·(1 + spot_shock); > −1 (−0.10: spot −10%).
        vol_shock: absolute volatility move in annualised volatility (0.20: +20 vol points), applied to the
            model as documented on ``bump_volatility``; 0 leaves the volatility alone.
        days: trading days that pass before the revaluation (integer >= 0; 1 day = 1/252 year); the positions are
            aged by them (``stress_test`` refuses days reaching the book's maturity).
    """

    name: str
    spot_shock: float = 0.0
    vol_shock: float = 0.0
    days: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise ValueError(f"name must be a non-empty string, got {self.name!r}")
        for field in ("spot_shock", "vol_shock"):
            value = getattr(self, field)
            if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
                raise ValueError(f"{field} of scenario {self.name!r} must be a real number, got {value!r}")
            if not np.isfinite(value):
                raise ValueError(f"{field} of scenario {self.name!r} must be finite, got {value!r}")
            object.__setattr__(self, field, float(value))
        if self.spot_shock <= -1.0:
            raise ValueError(f"spot_shock of scenario {self.name!r} must be > -1 (the spot stays positive), "
                             f"got {self.spot_shock!r}")
        if isinstance(self.days, bool) or not isinstance(self.days, int | np.integer) or self.days < 0:
            raise ValueError(f"days of scenario {self.name!r} must be an integer >= 0 (trading days), got "
                             f"{self.days!r}")
        object.__setattr__(self, "days", int(self.days))


DEFAULT_SCENARIOS: tuple[Scenario, ...] = (
    Scenario("spot +10%", spot_shock=0.10),
    Scenario("spot -10%", spot_shock=-0.10),
    Scenario("vol +20 pts", vol_shock=0.20),
    Scenario("spot -10%, vol +20 pts", spot_shock=-0.10, vol_shock=0.20),
    Scenario("flash crash -20%", spot_shock=-0.20),
)
"""The practitioners' set: spot ±10%, vol +20 points, spot −10% with vol +20 points, a −20% flash crash."""

EVENT_SCENARIOS: tuple[Scenario, ...] = (
    Scenario("week of theta", days=5),
    Scenario("IV crush -10 pts", vol_shock=-0.10, days=1),
    Scenario("gap -7%, vol +15 pts", spot_shock=-0.07, vol_shock=0.15, days=1),
    Scenario("grind -5%, vol +5 pts", spot_shock=-0.05, vol_shock=0.05, days=10),
)
"""Scenarios with time: Θ alone over a week (5 days), an implied-vol crush the day after an event such as earnings
(1 day), a gap down with a vol spike over a weekend (1 trading day), a slow sell-off over two weeks (10 days)
(``hedgegym stress --events`` adds them to the run)."""

_SCENARIO_FIELDS = tuple(field.name for field in dataclasses.fields(Scenario))


def parse_scenarios(data: object, source: str = "scenarios") -> tuple[Scenario, ...]:
    """Scenarios from parsed YAML/JSON: a list of mappings ``{name, spot_shock, vol_shock}`` (or a mapping with
    that list under ``scenarios``).

    Raises:
        ValueError: naming the entry and field, e.g. ``scenarios[1].spot is not a scenario field; allowed: name,
            spot_shock, vol_shock``; names must be unique.
    """
    if isinstance(data, Mapping) and set(data) == {"scenarios"}:
        data = data["scenarios"]
    if not isinstance(data, Sequence) or isinstance(data, str) or not data:
        raise ValueError(f"{source} must be a non-empty list of scenarios ({{name, spot_shock, vol_shock}}), "
                         f"got {type(data).__name__}")
    scenarios = []
    for index, entry in enumerate(data):
        where = f"{source}[{index}]"
        if not isinstance(entry, Mapping):
            raise ValueError(f"{where} must be a mapping with keys {', '.join(_SCENARIO_FIELDS)}, got {entry!r}")
        unknown = sorted(str(key) for key in entry if key not in _SCENARIO_FIELDS)
        if unknown:
            raise ValueError(f"{where}.{unknown[0]} is not a scenario field; allowed: {', '.join(_SCENARIO_FIELDS)}")
        if "name" not in entry:
            raise ValueError(f"{where}.name is missing: every scenario needs a name")
        try:
            scenarios.append(Scenario(**entry))
        except (TypeError, ValueError) as error:
            raise ValueError(f"{where}: {error}") from None
    names = [scenario.name for scenario in scenarios]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"{source}: scenario names must be unique, {duplicates[0]!r} appears more than once")
    return tuple(scenarios)


# ---------------------------------------------------------------------------------------------- the model's state
def initial_variance(model: MarketModel) -> float:
    """The variance state at t = 0 that the model's pricer is evaluated at (``default_valuation``'s argument).

    GBM and Merton: σ² (unused by their pricers); Heston: v₀; SABR: α₀²; regime switching: σ² of the initial
    regime, or the mean of the squared levels when the first regime is drawn at random (with a
    ``volatility_rule``: the rule's volatility at t = 0, clipped into the band); a data-driven market: its
    ``reference_volatility``² (each episode's own first variance is its data's).
    """
    if isinstance(model, Heston):
        return float(model.initial_variance)
    if isinstance(model, SABR):
        return float(model.alpha) ** 2
    if isinstance(model, GeometricBrownianMotion | MertonJumpDiffusion):
        return float(model.volatility) ** 2
    if isinstance(model, RegimeSwitchingVolatility):
        if model.volatility_rule is not None:
            sigma = np.asarray(model.volatility_rule(0.0, np.array([model.spot])), dtype=np.float64).ravel()[0]
            return float(np.clip(sigma, model.volatility_min, model.volatility_max)) ** 2
        levels = np.asarray(model.levels, dtype=np.float64)
        if model.initial_regime is not None:
            return float(levels[model.initial_regime]) ** 2
        return float(np.mean(levels**2))
    if isinstance(model, ProxyVolatilityMarket):
        return model.reference_volatility**2
    raise ValueError(f"model: no t = 0 volatility state known for {type(model).__name__}; supported: "
                     "GeometricBrownianMotion, Heston, MertonJumpDiffusion, SABR, RegimeSwitchingVolatility")


def volatility_input(model: MarketModel) -> float:
    """The model's volatility input that its ``vega`` is taken against: σ (GBM, Merton), v₀ (Heston), α (SABR),
    the marking volatility √(initial_variance) (regime switching, marked with Black–Scholes)."""
    if isinstance(model, Heston):
        return float(model.initial_variance)
    if isinstance(model, SABR):
        return float(model.alpha)
    if isinstance(model, GeometricBrownianMotion | MertonJumpDiffusion):
        return float(model.volatility)
    return float(np.sqrt(initial_variance(model)))


def bump_volatility(model: MarketModel, shift: float) -> MarketModel:
    """A copy of ``model`` with its volatility moved by ``shift`` (annualised volatility; 0.20 = +20 vol points).

    GBM, Merton: σ + shift; regime switching: every level and both band edges + shift; Heston: initial and
    long-run variance to (√v + shift)²; SABR: α + shift. The model's own validation re-runs on the copy.

    Raises:
        ValueError: when the bumped volatility would be negative (or α ≤ 0), or the model cannot be bumped (a
            regime-switching model driven by a ``volatility_rule``, an unknown model class).
    """
    shift = float(shift)
    if not np.isfinite(shift):
        raise ValueError(f"shift must be finite, got {shift!r}")
    if shift == 0.0:
        return model

    def moved(name: str, volatility: float) -> float:
        bumped = volatility + shift
        if bumped < 0.0:
            raise ValueError(f"vol_shock {shift:+g} would make the {type(model).__name__} volatility {name} "
                             f"negative ({volatility:g} {shift:+g})")
        return bumped

    if isinstance(model, GeometricBrownianMotion | MertonJumpDiffusion):
        return dataclasses.replace(model, volatility=moved("volatility", model.volatility))
    if isinstance(model, Heston):
        return dataclasses.replace(
            model,
            initial_variance=moved("sqrt(initial_variance)", np.sqrt(model.initial_variance)) ** 2,
            long_run_variance=moved("sqrt(long_run_variance)", np.sqrt(model.long_run_variance)) ** 2,
        )
    if isinstance(model, SABR):
        alpha = moved("alpha", model.alpha)
        if alpha <= 0.0:
            raise ValueError(f"vol_shock {shift:+g} would make the SABR alpha {alpha:g}; it must stay > 0")
        return dataclasses.replace(model, alpha=alpha)
    if isinstance(model, RegimeSwitchingVolatility):
        if model.volatility_rule is not None:
            raise ValueError("model: a RegimeSwitchingVolatility driven by a volatility_rule cannot be vol-bumped "
                             "(the rule, not a level, sets σ); use scenarios with vol_shock = 0")
        return dataclasses.replace(
            model,
            volatility_min=moved("volatility_min", model.volatility_min),
            volatility_max=moved("volatility_max", model.volatility_max),
            levels=tuple(moved("levels", level) for level in model.levels),
        )
    raise ValueError(f"model: cannot bump the volatility of {type(model).__name__}; supported: "
                     "GeometricBrownianMotion, Heston, MertonJumpDiffusion, SABR, RegimeSwitchingVolatility")


def shock_model(model: MarketModel, scenario: Scenario) -> MarketModel:
    """The market right after ``scenario``: spot × (1 + spot_shock), volatility per ``bump_volatility``."""
    shocked = bump_volatility(model, scenario.vol_shock)
    if scenario.spot_shock != 0.0:
        shocked = dataclasses.replace(shocked, spot=model.spot * (1.0 + scenario.spot_shock))
    return shocked


# ---------------------------------------------------------------------------------------------- the portfolio
@dataclass(frozen=True)
class Hedge:
    """The hedge held next to the book: ``stock`` shares and listed ``options`` (``Position``: contracts).

    ``neutralised`` names the Greeks the hedge cancels (empty: no hedge). ``ill_conditioned`` is True when the
    Greek solver could not cancel every Greek asked for (an ill-conditioned system or a position beyond the limit)
    and fell back to the leading ones in ``neutralised``.
    """

    stock: float = 0.0
    options: tuple[Position, ...] = ()
    neutralised: tuple[str, ...] = ()
    ill_conditioned: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.stock, bool) or not np.isfinite(self.stock):
            raise ValueError(f"stock must be a finite number of shares, got {self.stock!r}")
        object.__setattr__(self, "stock", float(self.stock))
        object.__setattr__(self, "options", tuple(self.options))
        object.__setattr__(self, "neutralised", tuple(self.neutralised))
        for index, position in enumerate(self.options):
            if not isinstance(position, Position):
                raise ValueError(f"options[{index}] must be a Position, got {type(position).__name__}")


def default_hedge_mode(hedge_options: Sequence[EuropeanOption]) -> str:
    """``"greeks"`` when listed hedge options exist, else ``"delta"``."""
    return "greeks" if len(hedge_options) > 0 else "delta"


def classical_hedger(mode: str, hedge_options: Sequence[EuropeanOption] = (),
                     max_condition: float = DEFAULT_MAX_CONDITION, position_limit: float = DEFAULT_POSITION_LIMIT):
    """The classical hedger of a hedge mode (``HEDGE_MODES``): ``NoHedge``, ``DeltaHedger``, or a
    ``GreekNeutralHedger`` of Δ, Γ with one listed option and Δ, Γ, vega with two or more (``initial_hedge`` holds its
    positions at t = 0; ``hedgegym dashboard`` runs it through time). ``ValueError`` for an unknown mode."""
    from hedgegym.baselines import DeltaHedger, GreekNeutralHedger, NoHedge

    if mode not in HEDGE_MODES:
        raise ValueError(f"hedge must be one of {', '.join(HEDGE_MODES)}; got {mode!r}")
    if mode == "none":
        return NoHedge()
    if mode == "delta":
        return DeltaHedger()
    greeks = ("delta", "gamma") if len(hedge_options) == 1 else ("delta", "gamma", "vega")
    return GreekNeutralHedger(greeks, max_condition, position_limit)


def initial_hedge(
    model: MarketModel, book: Book, hedge_options: Sequence[EuropeanOption] = (), mode: str | None = None,
    monitoring_interval: float | None = None, max_condition: float = DEFAULT_MAX_CONDITION,
    position_limit: float = DEFAULT_POSITION_LIMIT,
) -> Hedge:
    """The hedge the classical hedger of ``mode`` holds at t = 0 (see the module docstring).

    Runs the hedger of ``hedgegym.baselines`` (``DeltaHedger`` or ``GreekNeutralHedger``: the k-Greek solver)
    on a one-path ``HedgingEngine`` at inception, so the positions are exactly the ones ``hedgegym compare``
    starts from. ``"greeks"`` neutralises Δ, Γ with one listed option and Δ, Γ, vega with two or more; when
    that system is ill-conditioned (e.g. the options' Γ and vega collinear, as for Black–Scholes options of one
    maturity) or needs positions beyond the hedger's limit, the solver's policy drops the last Greek
    (``hedgegym.baselines.greek_solver``): ``Hedge.neutralised`` names what is cancelled and
    ``Hedge.ill_conditioned`` is set.

    Args:
        model: the market model (its spot and t = 0 state).
        book: the liability (its options may expire at different dates).
        hedge_options: the listed options available (config ``hedging.hedge_options``).
        mode: ``"none"``, ``"delta"``, ``"greeks"``; ``None``: ``default_hedge_mode(hedge_options)``.
        monitoring_interval: years between the barrier's monitoring dates (the config's step, T / n_steps), which
            the engine's barrier valuation corrects for; required when the book holds a barrier option.
        max_condition, position_limit: the Greek solver's limits (config ``hedging.max_condition`` and
            ``hedging.position_limit``).

    Raises:
        ValueError: for an unknown ``mode``, ``"greeks"`` without listed options, or a barrier book without
            ``monitoring_interval``.
    """
    hedge_options = tuple(hedge_options)
    mode = default_hedge_mode(hedge_options) if mode is None else mode
    hedger = classical_hedger(mode, hedge_options, max_condition, position_limit)
    if mode == "none":
        return Hedge()
    if mode == "greeks" and not hedge_options:
        raise ValueError("hedge 'greeks' needs at least one listed hedge option (hedging.hedge_options); there are "
                         "none: use 'delta'")
    options = hedge_options if mode == "greeks" else ()
    if monitoring_interval is None and book.has_barrier:
        raise ValueError("monitoring_interval is required for a book with a barrier option (the config's step)")
    # an engine over [0, the first expiry of the book and the hedges]: only t = 0 is read, and nothing expires inside
    # it (options of several maturities need no grid that fits them all)
    first = min(option.maturity for option in (*book.options, *options))
    n_steps = 1 if monitoring_interval is None else max(1, round(first / monitoring_interval))
    engine = HedgingEngine(model, book, n_steps=n_steps, hedge_options=options, horizon=first)
    spot = np.full((n_steps + 1, 1), model.spot)
    engine.reset(spot, np.full((n_steps + 1, 1), initial_variance(model)))
    if mode == "delta":
        hedger.reset(engine)
        return Hedge(stock=float(hedger.targets(engine)[0, 0]), neutralised=("delta",))
    greeks = hedger.greeks
    # the solver's policy: fewer Greeks when ill-conditioned or beyond the position limit
    solution = hedger.solve(engine)
    targets, neutralised = solution.positions[0], greeks[:int(solution.neutralised[0])]
    positions = tuple(Position(option, float(q)) for option, q in zip(options, targets[1:], strict=True))
    return Hedge(stock=float(targets[0]), options=positions, neutralised=neutralised,
                 ill_conditioned=bool(solution.fell_back[0]))


def portfolio_greeks(model: MarketModel, book: Book, hedge: Hedge | None = None,
                     monitoring_interval: float | None = None, time: float = 0.0) -> Greeks:
    """Value and Greeks at ``time`` (years since inception, default 0) of book + hedge, every option priced by the
    model's own pricer with its time to maturity reduced by ``time``; an option that has expired by ``time`` counts
    its payoff at the spot (cash-settled, as the engine settles it) and no Greeks.

    A barrier option is valued as the engine values it: knocked out (0) at a spot at or below its barrier,
    with the discrete-monitoring correction for ``monitoring_interval`` years between dates (``None``:
    continuous monitoring).

    Returns:
        ``Greeks`` of Python floats, the holder's: value (currency), delta (shares), gamma (shares per unit of
        spot), vega (currency per 1.00 of the model's volatility input), theta (currency per year).
        ``hedge=None`` (or an empty ``Hedge``) gives the book alone.
    """
    hedge = Hedge() if hedge is None else hedge
    spot = np.array([float(model.spot)])
    variance = np.array([initial_variance(model)])
    valuation = default_valuation(model)

    pricer = monitored(lambda s, strike, tau, call, **terms: valuation(s, strike, tau, call, variance, **terms),
                       monitoring_interval)

    total = [np.zeros(1) for _ in Greeks._fields]
    for position in (*book.positions, *hedge.options):
        option = position.option
        if option.maturity <= time:  # expired by then: settled in cash at its payoff, no Greeks (as the engine does)
            paid = option.payoff(spot) * option.alive(spot)  # a knock-out at this spot pays nothing
            contract = Greeks(paid, *(np.zeros(1) for _ in Greeks._fields[1:]))
        else:
            contract = option.greeks(spot, time, pricer)
        total = [a + position.quantity * np.asarray(b, dtype=np.float64) for a, b in zip(total, contract, strict=True)]
    total[0] = total[0] + hedge.stock * spot
    total[1] = total[1] + hedge.stock
    return Greeks(*(float(field[0]) for field in total))


# ---------------------------------------------------------------------------------------------- the stress test
def check_scenarios(scenarios: Sequence[Scenario]) -> tuple[Scenario, ...]:
    """``scenarios`` as a tuple; ``ValueError`` when it is empty or holds something else than a ``Scenario``."""
    scenarios = tuple(scenarios)
    if not scenarios:
        raise ValueError("scenarios must hold at least one Scenario")
    for index, scenario in enumerate(scenarios):
        if not isinstance(scenario, Scenario):
            raise ValueError(f"scenarios[{index}] must be a Scenario, got {type(scenario).__name__}")
    return scenarios


def stress_test(
    model: MarketModel, book: Book, hedge: Hedge | None = None, scenarios: Sequence[Scenario] = DEFAULT_SCENARIOS,
    monitoring_interval: float | None = None,
) -> pd.DataFrame:
    """Full revaluation of book + hedge under each scenario, next to its Δ–Γ(–vega) Taylor estimates.

    Args:
        model: the market model at t = 0 (spot, volatility state, rate, dividend).
        book: the liability.
        hedge: the hedge held (``initial_hedge``); ``None``: unhedged.
        scenarios: the market moves (positions stay), after each scenario's ``days``.
        monitoring_interval: barrier monitoring step in years (``portfolio_greeks``); ``None``: continuous.

    Returns:
        One row per scenario, columns ``STRESS_COLUMNS``: ``scenario``, ``spot_shock``, ``vol_shock``, ``days``,
        ``spot`` (after the shock), ``value_change`` ΔV, ``delta_gamma_estimate``, ``delta_gamma_vega_estimate``,
        ``delta_gamma_vega_theta_estimate``, ``delta_change`` (shares), ``gamma_change`` (shares per unit of spot),
        ``loss`` = max(−ΔV, 0); formulas and units in the module docstring.

    Raises:
        ValueError: for an empty scenario list, a non-``Scenario`` entry, a scenario whose days reach the book's
            maturity, or a model that cannot be shocked.
    """
    scenarios = check_scenarios(scenarios)
    for scenario in scenarios:
        if scenario.days / TRADING_DAYS_PER_YEAR >= book.maturity:
            raise ValueError(f"days of scenario {scenario.name!r} must be fewer than the book's maturity "
                             f"({book.maturity * TRADING_DAYS_PER_YEAR:.4g} trading days), got {scenario.days}")
    base = portfolio_greeks(model, book, hedge, monitoring_interval)
    rows = []
    for scenario in scenarios:
        shocked_model = shock_model(model, scenario)
        elapsed = scenario.days / TRADING_DAYS_PER_YEAR
        shocked = portfolio_greeks(shocked_model, book, hedge, monitoring_interval, time=elapsed)
        d_spot = shocked_model.spot - model.spot
        delta_gamma = base.delta * d_spot + 0.5 * base.gamma * d_spot**2
        d_volatility = volatility_input(shocked_model) - volatility_input(model)
        change = shocked.price - base.price
        rows.append({
            "scenario": scenario.name,
            "spot_shock": scenario.spot_shock,
            "vol_shock": scenario.vol_shock,
            "days": scenario.days,
            "spot": float(shocked_model.spot),
            "value_change": change,
            "delta_gamma_estimate": delta_gamma,
            "delta_gamma_vega_estimate": delta_gamma + base.vega * d_volatility,
            "delta_gamma_vega_theta_estimate": delta_gamma + base.vega * d_volatility + base.theta * elapsed,
            "delta_change": shocked.delta - base.delta,
            "gamma_change": shocked.gamma - base.gamma,
            "loss": max(-change, 0.0),
        })
    return pd.DataFrame(rows, columns=list(STRESS_COLUMNS))


PATH_COLUMNS = ("day", "spot", "vol_shift", "value", "value_change", "daily_change", "delta", "gamma")


def path_scenario(model: MarketModel, book: Book, hedge: Hedge | None, spot_moves: Sequence[float],
                  vol_moves: Sequence[float] | None = None, monitoring_interval: float | None = None) -> pd.DataFrame:
    """A path scenario: the market moves day by day (``spot_moves[d]`` the relative spot move of day d + 1,
    ``vol_moves[d]`` its volatility move in annualised vol, as ``Scenario.vol_shock``), the positions stay, and the
    portfolio is revalued at every close, aged by the days passed (1/252 year each).

    Returns: one row per day 0 … D, columns ``PATH_COLUMNS``: ``spot``, ``vol_shift`` (cumulative), ``value`` of
    book + hedge, ``value_change`` since day 0, ``daily_change``, and the portfolio's ``delta`` (shares) and
    ``gamma`` (shares per unit of spot) at that close.
    Raises: ``ValueError`` naming ``spot_moves`` / ``vol_moves`` (empty, not finite, a move ≤ −100%, lengths that
    differ, a path reaching the book's maturity) and ``bump_volatility``'s errors.
    """
    moves = np.asarray(spot_moves, dtype=np.float64)
    if moves.ndim != 1 or moves.size == 0 or not np.isfinite(moves).all() or (moves <= -1.0).any():
        raise ValueError(f"spot_moves must be a non-empty list of finite relative moves > -1, got {spot_moves!r}")
    shifts = np.zeros_like(moves) if vol_moves is None else np.asarray(vol_moves, dtype=np.float64)
    if shifts.shape != moves.shape or not np.isfinite(shifts).all():
        raise ValueError(f"vol_moves must be finite and as long as spot_moves ({moves.size}), got {vol_moves!r}")
    if moves.size / TRADING_DAYS_PER_YEAR >= book.maturity:
        raise ValueError(f"spot_moves: a path of {moves.size} days must end before the book's maturity "
                         f"({book.maturity * TRADING_DAYS_PER_YEAR:.4g} trading days)")
    spots = model.spot * np.concatenate([[1.0], np.cumprod(1.0 + moves)])
    vol_shift = np.concatenate([[0.0], np.cumsum(shifts)])
    rows = []
    for day, (spot, shift) in enumerate(zip(spots, vol_shift, strict=True)):
        moved = dataclasses.replace(bump_volatility(model, float(shift)), spot=float(spot))
        greeks = portfolio_greeks(moved, book, hedge, monitoring_interval, time=day / TRADING_DAYS_PER_YEAR)
        rows.append({"day": day, "spot": float(spot), "vol_shift": float(shift), "value": greeks.price,
                     "delta": greeks.delta, "gamma": greeks.gamma})
    table = pd.DataFrame(rows)
    table["value_change"] = table["value"] - table["value"].iloc[0]
    table["daily_change"] = table["value"].diff().fillna(0.0)
    return table[list(PATH_COLUMNS)]


def worst_scenario(table: pd.DataFrame) -> pd.Series:
    """The row of ``stress_test``'s table with the largest loss (the lowest ΔV when nothing loses money)."""
    if table.empty:
        raise ValueError("table has no scenarios")
    return table.loc[table["value_change"].idxmin()]


def format_amount(value: float, digits: int = 2) -> str:
    """``value`` with thousands separators and ``digits`` decimals; no "-0.00" for a rounding-level negative."""
    text = f"{value:,.{digits}f}"
    return text.lstrip("-") if float(text.replace(",", "")) == 0.0 else text


def write_stress_outputs(table: pd.DataFrame, directory: str | Path, title: str = "stress test") -> tuple[Path, Path]:
    """Write ``stress.csv`` and ``stress.md`` into ``directory`` (created if missing), both or neither: the files
    are written into a hidden temporary directory inside ``directory`` and hard-linked into place at the end (an
    error or Ctrl-C before then leaves nothing behind).

    Raises:
        FileExistsError: when either file exists: results are never overwritten.
    """
    directory = Path(directory)
    paths = (directory / "stress.csv", directory / "stress.md")
    existing = [str(path) for path in paths if path.exists()]
    if existing:
        raise FileExistsError(f"{existing[0]} exists: hedgegym never overwrites results; choose another --out")
    directory.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=directory, prefix=".stress-") as staging:
        staged = [Path(staging) / path.name for path in paths]
        table.to_csv(staged[0], index=False, float_format="%.10g")
        staged[1].write_text(_stress_markdown(table, title))
        linked: list[Path] = []
        try:
            for source, target in zip(staged, paths, strict=True):
                os.link(source, target)  # FileExistsError rather than overwrite
                linked.append(target)
        except BaseException:
            for target in linked:
                target.unlink(missing_ok=True)
            raise
    return paths


def _stress_markdown(table: pd.DataFrame, title: str) -> str:
    worst = worst_scenario(table)
    header = ["scenario", "spot shock", "vol shock", "days", "ΔV", "Δ–Γ estimate", "Δ–Γ–vega estimate",
              "Δ–Γ–vega–Θ estimate", "change of Δ", "change of Γ", "loss"]
    lines = [f"# {title}", "", "Shocks after the stated trading days (0: instantly), full revaluation under the market "
             "model; currency, Δ in shares, Γ in shares per unit of spot.", "", "| " + " | ".join(header) + " |",
             "|---|" + "---:|" * (len(header) - 1)]
    for row in table.itertuples(index=False):
        cells = [row.scenario, f"{row.spot_shock:+.0%}", f"{row.vol_shock * 100:+.0f} pts", str(row.days),
                 format_amount(row.value_change), format_amount(row.delta_gamma_estimate),
                 format_amount(row.delta_gamma_vega_estimate), format_amount(row.delta_gamma_vega_theta_estimate),
                 format_amount(row.delta_change, 3),
                 format_amount(row.gamma_change, 4), format_amount(row.loss)]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", f"Worst scenario: **{worst['scenario']}**, loss {worst['loss']:,.2f}.", ""]
    return "\n".join(lines)
