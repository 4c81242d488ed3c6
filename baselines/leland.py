r"""Leland (1985): Black–Scholes delta with a volatility adjusted for transaction costs.

With a linear cost of λ = c·S + h per share traded (proportional rate c and half-spread h of the engine's cost
model, ``hedgegym.baselines.stock_costs``), i.e. a one-way rate λ/S and a round-trip rate k = 2λ/S, rebalancing
interval δt and volatility σ, the Leland number is

    Le = √(2/π) · k / (σ √δt)

and the hedge holds −Δ_book shares, Black–Scholes delta at the adjusted volatility

    σ_L² = σ² (1 − Le · sign(Γ_book))          (Hoggard, Whalley & Wilmott 1994, for a book of either sign)

— higher when the holder is short gamma (a written call: costs act like extra variance), lower when long gamma.
Rebalanced every step. Fixed fees per trade do not change the hedge ratio (the same fee is paid at every
rebalancing date whatever the size) and are simply paid.

Domain: where the book is long gamma and Le ≥ 1, σ_L² ≤ 0 and the model has no hedge (the nonlinear Leland PDE is
ill-posed there; Hoggard, Whalley & Wilmott 1994). ``reset`` refuses such a path set with ``HedgerDomainError``
naming the Leland number — rebalance less often (Le ∝ 1/√δt) or use Whalley–Wilmott —, never a silent floor.
Quadratic impact is refused too (Leland's derivation assumes costs linear in the trade size).
"""

from __future__ import annotations

import numpy as np

from hedgegym.baselines.base import Hedger, HedgerDomainError
from hedgegym.baselines.delta import book_delta
from hedgegym.baselines.stock_costs import StockCosts
from hedgegym.engine import HedgingEngine
from hedgegym.pricing.greeks import FloatArray

__all__ = ["LelandHedger"]


class LelandHedger(Hedger):
    """Leland's hedge (see the module docstring).

    Args:
        volatility: σ of the Black–Scholes delta, per √year (> 0).
        cost_rate: the stock's proportional cost rate c to assume (≥ 0); ``None`` (default): read the linear terms
            (proportional rate and half-spread) from the engine's cost model at ``reset``.

    Raises:
        ValueError: σ ≤ 0 or c < 0 (or not finite). ``HedgerDomainError`` at ``reset``: see the module docstring.
    """

    name = "leland"
    required_greeks = frozenset({"price", "gamma"})  # the sign of the model's Γ; Δ is its own (at σ)

    def __init__(self, volatility: float, cost_rate: float | None = None) -> None:
        if not (np.isfinite(volatility) and volatility > 0):
            raise ValueError(f"volatility must be a finite number > 0, got {volatility!r}")
        if cost_rate is not None and not (np.isfinite(cost_rate) and cost_rate >= 0):
            raise ValueError(f"cost_rate must be a finite number >= 0, got {cost_rate!r}")
        self.volatility = float(volatility)
        self.cost_rate = cost_rate
        self.costs = StockCosts(proportional=cost_rate or 0.0)

    def leland_number(self, dt: float, spot: FloatArray | float | None = None) -> FloatArray | float:
        """Le = √(2/π)·2(c + h/S)/(σ√dt) at ``spot`` (shape of ``spot``; a float when h = 0 and no spot given)."""
        rate = self.costs.proportional if spot is None else self.costs.per_share(spot) / np.asarray(spot)
        return np.sqrt(2.0 / np.pi) * 2.0 * rate / (self.volatility * np.sqrt(dt))

    def reset(self, engine: HedgingEngine) -> None:
        if self.cost_rate is None:
            self.costs = StockCosts.of(engine.costs)
        if self.costs.quadratic_impact > 0:
            raise HedgerDomainError(
                "the stock has quadratic impact costs; Leland's adjusted volatility assumes costs linear in "
                "the trade size")
        leland = self.leland_number(engine.dt, engine.spot_path[:-1])  # the rebalancing nodes (not expiry)
        outside = (leland >= 1.0) & (engine.book_path.gamma[:-1] > 0)
        if np.any(outside):
            raise HedgerDomainError(
                f"Leland number {float(np.max(leland[outside])):.3g} >= 1 where the book is long gamma "
                f"(cost {self.costs.describe()}, sigma {self.volatility:g}, dt {engine.dt:.4g} years): the adjusted "
                "variance sigma^2 (1 - Le) is negative, outside Leland's model (Hoggard, Whalley & Wilmott 1994); "
                "rebalance less often or use Whalley-Wilmott")

    def targets(self, engine: HedgingEngine) -> FloatArray:
        leland = self.leland_number(engine.dt, engine.spot)
        factor = 1.0 - leland * np.sign(engine.book_greeks.gamma)  # > 0 on every node reset accepted
        positions = engine.positions.copy()
        positions[:, 0] = -book_delta(engine, self.volatility * np.sqrt(factor))
        return positions
