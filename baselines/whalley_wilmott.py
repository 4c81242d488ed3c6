r"""Whalley & Wilmott (1997): a no-transaction band around the delta hedge, for the engine's cost structure.

With absolute risk aversion γ (per unit of currency), the book's gamma Γ (shares per unit of spot), τ = T − t,
h* = −Δ_book the delta hedge (shares) and the stock's costs per trade of q shares λ·|q| + K (λ = c·S + h: the
proportional rate c and half-spread h; K a fixed fee; ``hedgegym.baselines.stock_costs``):

* **Linear costs only** (K = 0) — Whalley & Wilmott (1997), Mathematical Finance 7(3): nothing is traded inside
  [h* − H, h* + H]; outside, the position moves to the nearest edge, with

      H = (3 λ Γ² e^{−rτ} / (2γ))^{1/3}     (shares)

* **A fixed fee** (K > 0, with or without λ) — the optimal policy is an impulse control with two bands (Whalley &
  Wilmott 1999, Eur. J. Appl. Math. 10; Zakamouline 2006): nothing is traded while |position − h*| ≤ H_o; beyond,
  the position jumps to h* ± H_i (the inner band, on the same side). The bands come from the same local
  asymptotic analysis as the 1997 band: the deviation y = position − h* diffuses with variance rate v = (Γ S σ)²;
  started at ±H_i and stopped at ±H_o it takes (H_o² − H_i²)/v years on average and has time-average
  E[y²] = (H_o² + H_i²)/6, so the rate of risk plus cost, with a = Γ² e^{−rτ},

      F(H_o, H_i) = γ (H_o² + H_i²) / 12 + a (K + λ (H_o − H_i)) / (H_o² − H_i²)      (per S²σ²)

  is minimised by H_o = s (u + w)/2, H_i = s (u − w)/2 with s = (aK/γ)^{1/4}, ρ = λ s / K, w the root of
  w⁸ (1 + ρ w) = 144 and u = 12 / w³ (setting ∂F = 0 gives (u w³ = 12, u³ w = 12 (1 + ρ w))). Limits: K alone
  (ρ = 0): H_i = 0, H_o = (12 K a / γ)^{1/4}, reset to the delta; K → 0 (ρ → ∞): H_i, H_o → the 1997 band H.

Refused with ``HedgerDomainError`` (and left out of ``compare`` with the reason): quadratic impact (costs of
neither form). A fixed fee's ``threshold`` (small trades free) is ignored by the band. ``risk_aversion`` defaults to
1 / (1% of the book's notional value): γ = 100 / (n S₀).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from hedgegym.baselines.base import Hedger, HedgerDomainError
from hedgegym.baselines.delta import book_delta
from hedgegym.baselines.stock_costs import StockCosts
from hedgegym.engine import HedgingEngine
from hedgegym.pricing.greeks import FloatArray

__all__ = ["WhalleyWilmottHedger", "impulse_bands"]


def impulse_bands(fixed: float, per_share: ArrayLike, gamma: ArrayLike, discount: ArrayLike,
                  risk_aversion: float) -> tuple[FloatArray, FloatArray]:
    """Outer and inner half-widths (H_o, H_i) in shares of the fixed-fee band (module docstring), broadcast shape.

    Args:
        fixed: K > 0, currency per trade.
        per_share: λ ≥ 0, linear cost per share, currency.
        gamma: the book's Γ, shares per unit of spot.
        discount: e^{−rτ}.
        risk_aversion: γ > 0, per unit of currency.
    """
    a = np.asarray(gamma, dtype=np.float64) ** 2 * np.asarray(discount, dtype=np.float64)
    scale = np.sqrt(np.sqrt(a * fixed / risk_aversion))  # s
    rho = np.asarray(per_share, dtype=np.float64) * scale / fixed
    # w⁸ (1 + ρ w) = 144: Newton on z = log w, g(z) = 8z + log(1 + ρ e^z) − log 144, g' ∈ [8, 9], from the root at ρ = 0
    z = np.full(np.broadcast(rho, scale).shape, np.log(144.0) / 8.0)
    for _ in range(60):
        w = np.exp(z)
        step = (8.0 * z + np.log1p(rho * w) - np.log(144.0)) / (8.0 + rho * w / (1.0 + rho * w))
        z = z - step
        if np.all(np.abs(step) < 1e-14):
            break
    w = np.exp(z)
    u = 12.0 / w**3
    return scale * (u + w) / 2.0, scale * (u - w) / 2.0


class WhalleyWilmottHedger(Hedger):
    """The Whalley–Wilmott band hedger (see the module docstring).

    Args:
        cost_rate: the stock's proportional cost rate c to assume (≥ 0); ``None`` (default): read the stock's
            terms (proportional rate, half-spread, fixed fee) from the engine's cost model at ``reset``.
        risk_aversion: γ per unit of currency (> 0); ``None``: 100 / (book notional · S₀).
        volatility: σ of the Black–Scholes delta at the band's centre; ``None``: the model's own Greeks.

    Raises:
        ValueError: c < 0 or γ ≤ 0 (or not finite). ``HedgerDomainError`` at ``reset``: see the module docstring.
    """

    name = "whalley_wilmott"
    required_greeks = frozenset({"price", "delta", "gamma"})  # the band's centre (Δ) and width (Γ)

    def __init__(self, cost_rate: float | None = None, risk_aversion: float | None = None,
                 volatility: float | None = None) -> None:
        if cost_rate is not None and not (np.isfinite(cost_rate) and cost_rate >= 0):
            raise ValueError(f"cost_rate must be a finite number >= 0, got {cost_rate!r}")
        if risk_aversion is not None and not (np.isfinite(risk_aversion) and risk_aversion > 0):
            raise ValueError(f"risk_aversion must be a finite number > 0, got {risk_aversion!r}")
        self.cost_rate = cost_rate
        self.risk_aversion = risk_aversion
        self.volatility = volatility
        self.costs = StockCosts(proportional=cost_rate or 0.0)

    def reset(self, engine: HedgingEngine) -> None:
        if self.cost_rate is None:
            self.costs = StockCosts.of(engine.costs)
        if self.costs.quadratic_impact > 0:
            raise HedgerDomainError(f"the stock has quadratic impact costs ({self.costs.describe()});"
                                    " the bands are derived for costs linear in the size plus a fixed fee")

    def _risk_aversion(self, engine: HedgingEngine) -> float:
        if self.risk_aversion is not None:
            return self.risk_aversion
        return 100.0 / (engine.book.notional * engine.model.spot)

    def bands(self, engine: HedgingEngine) -> tuple[FloatArray, FloatArray]:
        """(outer, inner) half-widths in shares, shape (N,), at the engine's node; equal without a fixed fee."""
        gamma_risk = self._risk_aversion(engine)
        discount = np.exp(-engine.model.rate * engine.time_to_maturity)
        gamma = engine.book_greeks.gamma
        per_share = self.costs.per_share(engine.spot)
        if self.costs.fixed > 0:
            return impulse_bands(self.costs.fixed, per_share, gamma, discount, gamma_risk)
        width = np.cbrt(3.0 * per_share * gamma**2 * discount / (2.0 * gamma_risk))
        return width, width

    def half_width(self, engine: HedgingEngine) -> FloatArray:
        """The no-trade half-width H (outer band), shares, shape (N,)."""
        return self.bands(engine)[0]

    def targets(self, engine: HedgingEngine) -> FloatArray:
        centre = -book_delta(engine, self.volatility)
        outer, inner = self.bands(engine)
        positions = engine.positions.copy()
        deviation = positions[:, 0] - centre
        positions[:, 0] = np.where(np.abs(deviation) > outer, centre + np.sign(deviation) * inner, positions[:, 0])
        return positions
