r"""Run any hedger — a classical ``Hedger`` or a trained SB3 model — on held-out paths, with P&L attribution.

Every hedger of a comparison meets the same test paths (common random numbers): ``test_paths(config, n_paths,
seed)`` draws them from the child stream 1 of ``SeedSequence(seed)``, a stream no training env uses (training
envs are seeded by ``np_random(seed + i)``). Classical hedgers give target positions directly; SB3 models act
through the env's observation and action mapping (``HedgingCore``), stepped on the same engine.

Attribution of each step's P&L δW (per path, currency), with the net Greeks of book + hedges held over the step
(positions after trading at tᵢ) and δS = Sᵢ₊₁ − Sᵢ, δσ the change of the model's volatility state in its vega
unit (Heston: v; SABR: α; regime switching: σ; a data-driven market: its volatility proxy; none for GBM and
Merton)::

    delta = Δ_net δS,   gamma = ½ Γ_net δS²,   theta = Θ_net δt,   vega = vega_net δσ,
    vanna = (Δ⁺_net − Δ_net − Γ_net δS) δS        ≈ ∂²V/∂S∂σ · δS δσ,
    volga = ½ (vega⁺_net − vega_net) δσ − ½ vanna   ≈ ½ ∂²V/∂σ² · δσ²,
    carry = interest on cash + dividends,   cost = −transaction costs,
    residual = δW − (delta + gamma + theta + vega + vanna + volga + carry + cost)   (higher order; → 0 with δt)

Δ⁺_net and vega⁺_net are the net Greeks of the same positions at tᵢ₊₁. The cross and second volatility terms come
from the Greeks' change over the step: Δ⁺ − Δ = Γ δS + vanna·δσ + O(δt) and vega⁺ − vega = vanna·δS + volga·δσ +
O(δt), so no extra valuation is needed. delta + gamma + vega + vanna + volga is then the trapezoidal rule
½(Δ + Δ⁺) δS + ½(vega + vega⁺) δσ, exact to second order in (δS, δσ) (Wilmott, *Paul Wilmott on Quantitative
Finance*, ch. on the Greeks; the vanna–volga terms of Castagna & Mercurio 2007). Models without a volatility state
have no vega, vanna or volga term. On the shipped Heston straddle, delta-hedged, the residual's standard deviation
falls from 33% to 4.0% of the hedged P&L's with these two terms (``tests/evaluation/test_attribution.py``).

Lazy valuation: the engine values at reset only the Greeks the hedger reads (``Hedger.required_greeks``; for an SB3
model those of its env features) and those the attribution reads (``attribution_greeks``: Δ, Γ, Θ, and vega where
the model has a volatility state); with ``attribution=False`` the hedger's alone (prices for a no-hedge run).
"""

from __future__ import annotations

import dataclasses
import weakref
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from hedgegym.baselines.base import Hedger
from hedgegym.config import ExperimentConfig, check_evaluation_size
from hedgegym.engine import HedgingEngine, PathValuation
from hedgegym.env.core import HedgingCore
from hedgegym.env.features import Scales, reference_volatility
from hedgegym.evaluation.metrics import max_drawdown
from hedgegym.market import SABR, Heston, HistoricalMarket, MarketModel, MarketPaths, ProxyVolatilityMarket
from hedgegym.pricing.greeks import FloatArray
from hedgegym.risk.limits import LimitMonitor, held_greeks

__all__ = ["ATTRIBUTION_TERMS", "Evaluation", "attribution_greeks", "check_agent_fits", "evaluate", "test_paths"]

ATTRIBUTION_TERMS = ("delta", "gamma", "theta", "vega", "vanna", "volga", "carry", "cost", "residual")


TEST_STREAM, VALIDATION_STREAM = 1, 3  # child streams of SeedSequence(seed); training envs use none of them


def test_paths(config: ExperimentConfig, n_paths: int, seed: int, stream: int = TEST_STREAM) -> MarketPaths:
    """Held-out paths: real-world measure, child ``stream`` of ``SeedSequence(seed)`` (1: the comparison's test
    set; 3: the validation set of the training callbacks and the tuning of the classical rules).

    A historical market has fixed held-out sets instead: every window of its test period (stream 1) or validation
    period (stream 3), in date order (``HistoricalMarket.windows``); ``n_paths`` and ``seed`` do not apply and the
    set's size is the number of windows (reported as ``n_paths`` in every result).
    Raises: ``ValueError`` naming ``stream`` for a historical market and a stream other than 1 or 3."""
    model = config.market.build()
    n_steps = config.simulation.n_steps
    dt = config.horizon / n_steps
    if isinstance(model, HistoricalMarket):
        purposes = {TEST_STREAM: "test", VALIDATION_STREAM: "validation"}
        if stream not in purposes:
            raise ValueError(f"stream must be {TEST_STREAM} (test) or {VALIDATION_STREAM} (validation) for a "
                             f"historical market, got {stream!r}")
        return model.for_purpose(purposes[stream]).windows(n_steps, dt)
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(stream,)))
    return model.simulate(n_paths, n_steps, dt, rng, measure="real")


@dataclass
class Evaluation:
    """Per-path results (``per_path``: one row per path) and per-step series (arrays (n_steps, N) or
    (n_steps + 1, N) for ``wealth``) of one hedger on one path set."""

    name: str
    per_path: pd.DataFrame
    series: dict[str, FloatArray] = field(repr=False)
    fallback_steps: int = 0  # path-steps on which a Greek-neutral hedger neutralised fewer Greeks than asked

    def sampled(self, n_paths: int = 1) -> Evaluation:
        """The same results with only the first ``n_paths`` paths of every series, plus ``mean_cost_paid``
        (n_steps, 1): the per-step cost averaged over all paths. ``compare`` keeps this instead of the full
        (n_steps, N) series, so its memory grows with the number of hedgers by per-path rows, not by N × n_steps."""
        series = {name: values[:, :n_paths].copy() for name, values in self.series.items()}
        if "cost_paid" in self.series:
            series["mean_cost_paid"] = self.series["cost_paid"].mean(axis=1, keepdims=True)
        return Evaluation(self.name, self.per_path, series, self.fallback_steps)


_VALUED: weakref.WeakKeyDictionary[MarketPaths, dict[str, PathValuation]] = weakref.WeakKeyDictionary()
"""Valuations of path sets (while the paths live), per valuation-relevant config: hedgers evaluated on the same
``MarketPaths`` (``compare``) share one valuation of the book and hedge instruments at every node."""


def _volatility_state(model, variance: FloatArray) -> FloatArray | None:
    """The state vega refers to: Heston v, SABR α, σ = √variance of a proxy-volatility market (regime switching's
    regime σ, a data-driven market's implied-volatility proxy); ``None`` for constant-vol models (no vega term)."""
    if isinstance(model, Heston):
        return variance
    if isinstance(model, SABR | ProxyVolatilityMarket):
        return np.sqrt(variance)
    return None


def attribution_greeks(model: MarketModel) -> frozenset[str]:
    """The Greeks the P&L attribution reads (module docstring): price, Δ, Γ, Θ, and vega only for a model with a
    volatility state (Heston, SABR, regime switching; under GBM and Merton δσ = 0, so vega is not needed)."""
    base = {"price", "delta", "gamma", "theta"}
    return frozenset(base | {"vega"} if isinstance(model, Heston | SABR | ProxyVolatilityMarket) else base)


def check_agent_fits(training: ExperimentConfig, config: ExperimentConfig) -> None:
    """``ValueError`` unless an agent trained with ``training`` can act in ``config``: the same book, hedge
    options and time grid (its observations and actions are built on them); the market and costs may differ (a
    policy trained in one market, scored in another: GBM → S&P 500 history)."""
    for section, read in (("book", lambda c: c.model_dump(mode="json")["book"]),
                          ("hedging.hedge_options", lambda c: c.model_dump(mode="json")["hedging"]["hedge_options"]),
                          ("simulation.n_steps", lambda c: c.simulation.n_steps),
                          ("horizon", lambda c: c.horizon)):
        if read(training) != read(config):
            raise ValueError(f"agent: trained with {section} {read(training)!r} (config {training.name!r}), cannot "
                             f"act with {section} {read(config)!r} (config {config.name!r}): its observations and "
                             "actions are built on the book, the hedge options and the time grid")


def _core_for(hedger, config: ExperimentConfig, n_envs: int) -> HedgingCore:
    """The env core an SB3 model acts through: the config's market, book and costs with the agent's own env
    section (features, action mapping, limits) and its training market's scales when it carries its training
    config (``load_agent`` attaches it); otherwise the config's own. Between a Heston market (vega ∂V/∂v) and
    any other (∂V/∂σ) the vega features are converted at the acting market's reference volatility. Any agent
    carrying ``training_config`` (a deep hedger too) must fit the config (``check_agent_fits``)."""
    training = getattr(hedger, "training_config", None)
    if training is not None:
        check_agent_fits(training, config)
    if isinstance(hedger, Hedger) or training is None:  # a deep hedger builds its own features (its own config)
        return HedgingCore(config, n_envs=n_envs)
    trained_in, acting_in = training.market.build(), config.market.build()
    scales = Scales.from_setup(trained_in, training.build_book())
    if isinstance(trained_in, Heston) != isinstance(acting_in, Heston):
        # vega per unit of variance (Heston, ∂V/∂v) in one market, per unit of σ in the other: ∂V/∂v = ∂V/∂σ / 2σ,
        # converted at the acting market's reference volatility σ_r (exact where σ_t = σ_r)
        reference = reference_volatility(acting_in)
        factor = 1.0 / (2.0 * reference) if isinstance(trained_in, Heston) else 2.0 * reference
        scales = dataclasses.replace(scales, vega_unit=scales.vega_unit * factor)
    return HedgingCore(config.model_copy(update={"env": training.env}), n_envs=n_envs, scales=scales)


def evaluate(
    hedger, config: ExperimentConfig, n_paths: int = 10_000, seed: int = 1234, paths: MarketPaths | None = None,
    name: str | None = None, attribution: bool = True,
) -> Evaluation:
    """Hedge ``n_paths`` held-out paths with ``hedger`` (a ``Hedger`` or an SB3 model) and account for every step.

    ``paths``: reuse a path set (as ``compare`` does for all hedgers); otherwise ``test_paths(config, n_paths,
    seed)``. Returns an ``Evaluation`` with per-path P&L, cost, turnover, trades, drawdown and attribution.
    ``attribution=False``: no attribution (no ``attribution_*`` columns, no attribution terms and ``book_delta`` in
    ``series``), so the engine values only the Greeks the hedger reads.

    With ``limits:`` in the config, ``per_path`` gains ``hedgegym.risk.limits.LimitMonitor``'s columns (breaches and
    time in breach per limited Greek, the drawdown limit's) and ``series`` the net Greek, its bound (desk units) and
    its level (``hedgegym.risk.limits.WITHIN``, ``ALERT``, ``BREACH``) per step: ``limit_net_<greek>``,
    ``limit_bound_<greek>``, ``limit_level_<greek>``.

    Memory is proportional to the work, about 200 bytes per path and step while stepping and 104 kept in
    ``series`` (17 more of both per limited Greek); ``ValueError`` naming ``n_paths`` above
    ``hedgegym.config.MAX_EVALUATION_NODES`` nodes.
    """
    size = paths.n_paths if paths is not None else n_paths
    check_evaluation_size(size, config.simulation.n_steps, "n_paths" if paths is None else "paths.n_paths")
    paths = paths if paths is not None else test_paths(config, n_paths, seed)
    core = _core_for(hedger, config, paths.n_paths)
    engine: HedgingEngine = core.engine
    is_classical = isinstance(hedger, Hedger)
    # what reset values: the hedger's Greeks (an SB3 model's are its features', declared by the core) + attribution's
    needs = hedger.required_greeks if is_classical else engine.required_greeks
    engine.required_greeks = needs | attribution_greeks(engine.model) if attribution else needs
    limits = config.build_limits()
    if limits is not None:
        engine.required_greeks = engine.required_greeks | limits.required_greeks
    setup = config.model_dump_json(include={"market", "book", "hedging", "simulation"})
    cached = _VALUED.setdefault(paths, {})
    engine.reset(np.ascontiguousarray(paths.spot.T), np.ascontiguousarray(paths.variance.T), cached.get(setup))
    cached[setup] = engine.valuation_of_paths  # shared: fields valued for this hedger serve the next one
    if is_classical:
        hedger.reset(engine)
    else:
        core.start_on_engine()
    vol_state = _volatility_state(engine.model, engine.variance_path)
    n, steps = engine.n_paths, engine.n_steps
    terms = ATTRIBUTION_TERMS if attribution else ()
    net_greeks = ("delta", "gamma", "theta") + (("vega",) if vol_state is not None else ())
    series = {term: np.zeros((steps, n)) for term in terms}
    series.update(
        wealth=np.zeros((steps + 1, n)), stock_position=np.zeros((steps, n)),
        cost_paid=np.zeros((steps, n)), traded_notional=np.zeros((steps, n)), trades=np.zeros((steps, n)),
    )
    if attribution:
        series["book_delta"] = np.zeros((steps, n))
    monitor = None if limits is None else LimitMonitor(limits, n, steps)
    for i in range(steps):
        if is_classical:
            targets = hedger.targets(engine)
        else:
            actions, _ = hedger.predict(core.observe(), deterministic=True)
            targets = core.targets(actions)
        book, instruments = engine.book_greeks, engine.instrument_greeks
        spot = engine.spot
        prices_before = instruments.price
        if attribution:
            net = {g: getattr(book, g) + np.sum(targets * getattr(instruments, g), axis=1) for g in net_greeks}
            series["book_delta"][i] = book.delta
        if monitor is not None and limits.greeks:  # the positions held over the step, valued at its start
            monitor.observe(i, *held_greeks(limits, engine.model, book, instruments, targets))
        outcome = engine.step(targets)
        if attribution:
            prices_after = engine.instrument_path.price[i + 1]
            move = engine.spot_path[i + 1] - spot
            series["delta"][i] = net["delta"] * move
            series["gamma"][i] = 0.5 * net["gamma"] * move**2
            series["theta"][i] = net["theta"] * engine.dt
            if vol_state is not None:  # constant-vol models: δσ = 0, the vega, vanna and volga terms stay 0
                d_sigma = vol_state[i + 1] - vol_state[i]
                series["vega"][i] = net["vega"] * d_sigma
                after = {g: getattr(engine.book_path, g)[i + 1] + np.sum(targets * getattr(engine.instrument_path, g)[
                    i + 1], axis=1) for g in ("delta", "vega")}  # the same positions' Greeks at tᵢ₊₁
                vanna = (after["delta"] - net["delta"] - net["gamma"] * move) * move
                series["vanna"][i] = vanna
                series["volga"][i] = 0.5 * (after["vega"] - net["vega"]) * d_sigma - 0.5 * vanna
            payoff = engine.hedge_payoff_at(i + 1)  # a listed option expiring at tᵢ₊₁: its price there is 0, its payoff
            value_after = prices_after if payoff is None else prices_after + payoff  # cash (the engine settles it)
            mark_to_market = np.sum(targets * (value_after - prices_before), axis=1)  # positions held over the step
            series["carry"][i] = outcome.hedge_pnl - mark_to_market
            series["cost"][i] = -outcome.cost
            explained = sum(series[t][i] for t in ATTRIBUTION_TERMS[:-1])
            series["residual"][i] = outcome.pnl - explained
        series["wealth"][i + 1] = engine.wealth
        series["stock_position"][i] = targets[:, 0]
        series["cost_paid"][i] = outcome.cost
        series["traded_notional"][i] = np.sum(np.abs(outcome.trades) * prices_before, axis=1)
        series["trades"][i] = np.sum(outcome.trades != 0.0, axis=1)
    wealth = series["wealth"]
    drawdown = max_drawdown(wealth)
    notional = engine.book.notional * engine.model.spot
    per_path = pd.DataFrame({
        "pnl": wealth[-1],
        "cost": series["cost_paid"].sum(axis=0),
        "turnover": series["traded_notional"].sum(axis=0) / notional,
        "n_trades": series["trades"].sum(axis=0),
        "max_drawdown": drawdown,
        **{f"attribution_{t}": series[t].sum(axis=0) for t in terms},
    })
    if monitor is not None:
        per_path = pd.concat([per_path, monitor.per_path(wealth)], axis=1)
        for greek in limits.greeks:
            series[f"limit_net_{greek}"], series[f"limit_bound_{greek}"] = monitor.net[greek], monitor.bound[greek]
            series[f"limit_level_{greek}"] = monitor.level[greek]
    fallbacks = getattr(hedger, "fallbacks", None)  # a Greek-neutral hedger's FallbackCounter
    per_path["fallback_steps"] = fallbacks.per_path if fallbacks is not None else 0
    label = name or getattr(hedger, "name", type(hedger).__name__)
    return Evaluation(label, per_path, series, int(per_path["fallback_steps"].sum()))
