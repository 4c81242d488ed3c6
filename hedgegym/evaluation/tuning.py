r"""A fair opponent: the classical rules' free parameters tuned on the validation paths for the agents' objective.

The textbook rules each leave a parameter to the user — Whalley–Wilmott's and the cost–benefit band's risk
aversion γ, the delta band's width, the rebalancing interval — and ``default_hedgers`` fixes them by convention
(γ = 100 / (book notional · S₀), a 5% band, every 5 steps). A learned hedger selected on the validation stream
should meet rules selected the same way. ``tune_classical(config)`` scores every candidate value of each rule on
the validation paths (child stream 3 of ``SeedSequence(evaluation.seed)``, the stream the agents' training
callbacks and sweeps select on; never the test paths) by Cao–Hull Y (``evaluation.cao_hull_c``), and returns the
best per rule as a hedger named ``<rule>_tuned``, ready for ``compare`` on the test paths.

Rules and candidates (each includes the default):

=====================  ======================================================  =================================
rule                   parameter                                               candidates
=====================  ======================================================  =================================
``delta_every``        rebalancing interval k (steps; ``DeltaHedger``)          1, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30,
                                                                                 … up to n_steps
``delta_band``         band (× book notional, shares; ``DeltaHedger``)          0.05 · 2^(j/2), j = −8…10
``delta_cost_benefit`` risk aversion γ (per currency unit; ``DeltaHedger``)     γ₀ · 10^(j/4), j = −12…12
``whalley_wilmott``    risk aversion γ (``WhalleyWilmottHedger``)               γ₀ · 10^(j/4), j = −12…12
``delta_vega_band``    the option's band b₁ (× book contracts;                 0, 0.01 · 2^(j/2), j = 0…12
                       ``DeltaVegaBandHedger``, stock delta-hedged every step)
=====================  ======================================================  =================================

γ₀ = 100 / (book notional · S₀), the default. The cost-aware rules are tuned only where ``default_hedgers`` runs
them (a stock cost; Whalley–Wilmott where its band covers the cost model); the delta–vega band with exactly one
listed option and a cost on it (without one, its best band is 0, the daily delta–vega hedge). A best value at
either end of its candidates is flagged (``TunedRule.at_edge``): the optimum may lie beyond. Leland's rule has no
free parameter (its volatility is the model's) and the delta–gamma(–vega) and daily delta–vega hedgers none
either: they are not tuned. (Every step is the shortest rebalancing interval, a band of 0 the narrowest: a best
interval of 1 or a best band of 0 is not flagged.)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from hedgegym.baselines import DeltaHedger, DeltaVegaBandHedger, Hedger, WhalleyWilmottHedger
from hedgegym.baselines.base import HedgerDomainError
from hedgegym.baselines.stock_costs import StockCosts
from hedgegym.config import ExperimentConfig, check_evaluation_size
from hedgegym.env.features import Scales
from hedgegym.evaluation.metrics import metric_values
from hedgegym.evaluation.rollout import VALIDATION_STREAM, evaluate, test_paths

__all__ = ["RULES", "TunedRule", "TuningRule", "default_risk_aversion", "tune_classical", "tuning_rules"]


@dataclass(frozen=True)
class TuningRule:
    """A classical rule with one free parameter: ``make(value)`` builds the hedger; ``candidates`` the values tried
    (ascending, the default among them); ``open_below``: whether values below the first candidate exist (not for
    the rebalancing interval, whose first candidate is 1 step)."""

    name: str
    parameter: str
    default: float
    candidates: tuple[float, ...]
    make: Callable[[float], Hedger]
    open_below: bool = True


@dataclass
class TunedRule:
    """The outcome for one rule: the chosen ``value`` (lowest validation Y), the default, every candidate's
    validation Y (currency; NaN where the rule refused the market), whether the choice is at an end of the
    candidates, and the tuned hedger (named ``<rule>_tuned``)."""

    rule: str
    parameter: str
    value: float
    default: float
    validation_y: dict[float, float] = field(default_factory=dict)
    at_edge: bool = False
    hedger: Hedger | None = None

    @property
    def default_y(self) -> float:
        return self.validation_y[self.default]

    @property
    def best_y(self) -> float:
        return self.validation_y[self.value]


def default_risk_aversion(config: ExperimentConfig) -> float:
    """γ₀ = 100 / (book notional · S₀), per unit of currency: ``default_hedgers``' risk aversion."""
    return 100.0 / (config.build_book().notional * config.market.build().spot)


def _named(hedger: Hedger, name: str) -> Hedger:
    hedger.name = name
    return hedger


def tuning_rules(config: ExperimentConfig) -> list[TuningRule]:
    """The rules ``tune_classical`` tunes for ``config`` (see the module docstring)."""
    n_steps = config.simulation.n_steps
    intervals = tuple(float(k) for k in (1, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 40, 60, 80, 120, 160, 250)
                      if k <= n_steps)
    rules = [
        TuningRule("delta_every", "rebalance_every", 1.0, intervals,
                   lambda k: DeltaHedger(rebalance_every=int(k), name="delta_every_tuned"), open_below=False),
        TuningRule("delta_band", "band", 0.05, tuple(0.05 * 2 ** (j / 2) for j in range(-8, 11)),
                   lambda b: DeltaHedger(band=b, name="delta_band_tuned")),
    ]
    stock_costs = StockCosts.of(config.costs.build(len(config.hedging.hedge_options)))
    if stock_costs.any:
        gamma0 = default_risk_aversion(config)
        risk = tuple(gamma0 * 10 ** (j / 4) for j in range(-12, 13))
        rules.append(TuningRule("delta_cost_benefit", "risk_aversion", gamma0, risk,
                                lambda g: DeltaHedger(cost_benefit=True, risk_aversion=g,
                                                      name="delta_cost_benefit_tuned")))
        rules.append(TuningRule("whalley_wilmott", "risk_aversion", gamma0, risk,
                                lambda g: _named(WhalleyWilmottHedger(risk_aversion=g), "whalley_wilmott_tuned")))
    options = config.hedging.hedge_options
    if len(options) == 1 and _option_cost(config):
        bands = (0.0, *(0.01 * 2 ** (j / 2) for j in range(13)))
        limit = config.hedging.position_limit
        rules.append(TuningRule("delta_vega_band", "option_band", 0.0, bands,
                                lambda b: DeltaVegaBandHedger(option_band=b, position_limit=limit,
                                                              name="delta_vega_band_tuned"), open_below=False))
    return rules


def _option_cost(config: ExperimentConfig) -> bool:
    """Whether trading the listed options costs anything (a proportional rate, a spread, impact or a fixed fee)."""
    n_options = len(config.hedging.hedge_options)
    trade = np.array([[0.0] + [1_000.0] * n_options])  # a large option trade, no stock, at a price of 1
    costs = config.costs.build(n_options)  # None: no cost at all
    return costs is not None and bool(costs.cost(trade, np.ones_like(trade))[0] > 0)


RULES = ("delta_every", "delta_band", "delta_cost_benefit", "whalley_wilmott", "delta_vega_band")
"""Every rule ``tuning_rules`` may return, in its order."""


def tune_classical(config: ExperimentConfig, n_paths: int = 10_000, rules: Sequence[str] | None = None,
                   progress: Callable[[str, float], None] | None = None) -> list[TunedRule]:
    """Tune each classical rule's parameter on ``n_paths`` validation paths (see the module docstring).

    Args:
        config: the experiment (market, book, costs, grid; ``evaluation.seed`` and ``evaluation.cao_hull_c``).
        n_paths: validation paths (the bounds of ``evaluation.n_paths``).
        rules: names among ``RULES`` (default: every rule that applies to ``config``).
        progress: called with (rule, candidate) before each evaluation.

    Returns: one ``TunedRule`` per rule tuned, in ``RULES`` order; a rule that refuses the market for every
    candidate (``HedgerDomainError``) is left out.

    Raises: ``ValueError`` naming ``n_paths`` out of bounds or an unknown rule.
    """
    check_evaluation_size(n_paths, config.simulation.n_steps, "n_paths", minimum=10)
    available = tuning_rules(config)
    if rules is not None:
        unknown = sorted(set(rules) - set(RULES))
        if unknown:
            raise ValueError(f"rules: unknown rule(s) {', '.join(unknown)}; choose among {', '.join(RULES)}")
        available = [rule for rule in available if rule.name in set(rules)]
    paths = test_paths(config, n_paths, config.evaluation.seed, stream=VALIDATION_STREAM)
    scale = Scales.from_setup(config.market.build(), config.build_book()).value
    tuned = []
    for rule in available:
        scores: dict[float, float] = {}
        for value in rule.candidates:
            if progress is not None:
                progress(rule.name, value)
            try:
                pnl = evaluate(rule.make(value), config, paths=paths, attribution=False).per_path
            except HedgerDomainError:
                scores[value] = float("nan")
                continue
            scores[value] = float(metric_values(pnl, None, scale, config.evaluation.cao_hull_c)["y"])
        finite = {value: y for value, y in scores.items() if np.isfinite(y)}
        if not finite:
            continue
        best = min(finite, key=finite.get)
        edge = len(rule.candidates) > 1 and (best == rule.candidates[-1] or (
            rule.open_below and best == rule.candidates[0]))
        tuned.append(TunedRule(rule.name, rule.parameter, best, rule.default, scores, edge, rule.make(best)))
    return tuned
