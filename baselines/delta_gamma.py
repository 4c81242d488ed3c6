r"""Delta–gamma and delta–gamma–vega hedging with listed options, through the k-Greek solver.

At every step the hedge cancels the book's Δ and Γ (``greeks=("delta", "gamma")``, one listed option: the 2×2
system) or Δ, Γ and vega (``("delta", "gamma", "vega")``, two options: 3×3), with the Greeks of the market
model's pricer (Heston Greeks under Heston: vega is ∂/∂v for book and options alike). More options than
Greeks: least squares (minimum norm). Paths whose system is ill-conditioned (e.g. the hedge option's Γ ≈ 0)
are counted in ``ill_conditioned_count``; the solver then drops the degenerate direction.
"""

from __future__ import annotations

import numpy as np

from hedgegym.baselines.base import Hedger
from hedgegym.baselines.greek_solver import neutralise
from hedgegym.engine import HedgingEngine
from hedgegym.pricing.greeks import FloatArray

__all__ = ["GreekNeutralHedger"]


class GreekNeutralHedger(Hedger):
    def __init__(self, greeks: tuple[str, ...] = ("delta", "gamma"), name: str | None = None) -> None:
        allowed = ("delta", "gamma", "vega", "theta")
        unknown = [g for g in greeks if g not in allowed]
        if unknown or "delta" not in greeks:
            raise ValueError(f"greeks must include 'delta' and come from {allowed}; got {greeks}")
        self.greeks = tuple(greeks)
        self.name = name or "_".join(self.greeks)
        self.ill_conditioned_count = 0

    def reset(self, engine: HedgingEngine) -> None:
        if engine.n_instruments < len(self.greeks):
            raise ValueError(
                f"{self.name} needs at least {len(self.greeks) - 1} listed hedge option(s); the config has "
                f"{engine.n_instruments - 1} (hedging.hedge_options)"
            )
        self.ill_conditioned_count = 0

    def targets(self, engine: HedgingEngine) -> FloatArray:
        a = np.stack([getattr(engine.instrument_greeks, g) for g in self.greeks], axis=1)  # (N, g, k)
        b = np.stack([getattr(engine.book_greeks, g) for g in self.greeks], axis=1)  # (N, g)
        solution = neutralise(a, b)
        self.ill_conditioned_count += int(solution.ill_conditioned.sum())
        return solution.positions
