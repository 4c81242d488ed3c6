r"""Delta–gamma and delta–gamma–vega hedging with listed options, through the k-Greek solver.

At every step the hedge cancels the book's Δ and Γ (``greeks=("delta", "gamma")``, one listed option: the 2×2
system) or Δ, Γ and vega (``("delta", "gamma", "vega")``, two options: 3×3), with the Greeks of the market
model's pricer (Heston Greeks under Heston: vega is ∂/∂v for book and options alike); Hull, *Options, Futures and
Other Derivatives*, ch. 19 (Greek letters: making a portfolio gamma and vega neutral). More options than Greeks:
minimum norm in unit-free (equilibrated) variables.

Where the system is ill-conditioned (scaled condition number above ``max_condition``) or a listed option's
position would exceed ``position_limit`` × the book's size, the solver drops the last Greek (keeping every
option), down to the plain delta hedge with the stock alone (``hedgegym.baselines.greek_solver``). ``fallbacks``
counts the path-steps that did so (``evaluate`` reports it per path, ``compare`` per hedger as ``fallback_steps``).
"""

from __future__ import annotations

import numpy as np

from hedgegym.baselines.base import Hedger
from hedgegym.baselines.greek_solver import (
    DEFAULT_MAX_CONDITION,
    FallbackCounter,
    NeutralisingSolution,
    check_max_condition,
    neutralise,
)
from hedgegym.engine import HedgingEngine
from hedgegym.pricing.greeks import FloatArray

__all__ = ["DEFAULT_POSITION_LIMIT", "GreekNeutralHedger", "check_solver_limits", "option_position_limits"]

DEFAULT_POSITION_LIMIT = 10.0
"""Each listed option's position, in units of the underlying (contracts × multiplier), at most this many times the
book's size Σ|quantity|·multiplier."""


def option_position_limits(engine: HedgingEngine, position_limit: float) -> FloatArray:
    """Caps on |position| per instrument (k,), in the instruments' units: inf for the stock, and for listed option j
    ``position_limit`` · book notional / multiplier_j contracts."""
    notional = engine.book.notional
    return np.array([np.inf, *(position_limit * notional / option.multiplier for option in engine.hedge_options)])


def check_solver_limits(max_condition: float, position_limit: float) -> tuple[float, float]:
    """Validate the solver policy's limits; ``ValueError`` naming the argument and its allowed range."""
    max_condition = check_max_condition(max_condition)
    if np.isnan(position_limit) or position_limit <= 0:
        raise ValueError(f"position_limit must be > 0 (inf: no cap), got {position_limit!r}")
    return max_condition, float(position_limit)


class GreekNeutralHedger(Hedger):
    """Cancel the book's ``greeks`` (Δ first) with the stock and the listed options at every step.

    Args:
        greeks: the Greeks to neutralise, in priority order; must start with ``"delta"``; from delta, gamma, vega,
            theta.
        max_condition: largest scaled condition number accepted before a Greek is dropped (≥ 1).
        position_limit: largest listed-option position, in multiples of the book's size (> 0; inf: no cap).
        name: the label in tables (default: the Greeks joined by ``_``).

    Raises:
        ValueError: unknown Greeks, Greeks not starting with delta, or limits out of range; at ``reset``, fewer
            listed options than the Greeks need.
    """

    def __init__(
        self,
        greeks: tuple[str, ...] = ("delta", "gamma"),
        max_condition: float = DEFAULT_MAX_CONDITION,
        position_limit: float = DEFAULT_POSITION_LIMIT,
        name: str | None = None,
    ) -> None:
        allowed = ("delta", "gamma", "vega", "theta")
        greeks = tuple(greeks)
        unknown = [g for g in greeks if g not in allowed]
        if unknown or not greeks or greeks[0] != "delta" or len(set(greeks)) != len(greeks):
            raise ValueError(f"greeks must start with 'delta' and come (once each) from {allowed}; got {greeks}")
        self.greeks = greeks
        self.required_greeks = frozenset({"price", *greeks})
        self.max_condition, self.position_limit = check_solver_limits(max_condition, position_limit)
        self.name = name or "_".join(self.greeks)
        self.fallbacks = FallbackCounter()

    def reset(self, engine: HedgingEngine) -> None:
        if engine.n_instruments < len(self.greeks):
            raise ValueError(
                f"{self.name} needs at least {len(self.greeks) - 1} listed hedge option(s); the config has "
                f"{engine.n_instruments - 1} (hedging.hedge_options)"
            )
        self.fallbacks.reset(engine.n_paths)

    def solve(self, engine: HedgingEngine) -> NeutralisingSolution:
        """The solver's ``NeutralisingSolution`` at the engine's current node (no bookkeeping)."""
        a = np.stack([getattr(engine.instrument_greeks, g) for g in self.greeks], axis=1)  # (N, g, k)
        b = np.stack([getattr(engine.book_greeks, g) for g in self.greeks], axis=1)  # (N, g)
        return neutralise(a, b, self.max_condition, option_position_limits(engine, self.position_limit))

    def targets(self, engine: HedgingEngine) -> FloatArray:
        solution = self.solve(engine)
        self.fallbacks.add(solution)
        return solution.positions
