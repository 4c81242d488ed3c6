r"""Whalley & Wilmott (1997): a no-transaction band around the delta hedge, for the engine's cost structure.

With absolute risk aversion γ (per unit of currency), the book's gamma Γ (shares per unit of spot), τ = T − t and
h* = −Δ_book the delta hedge (shares):

* **Linear costs** (λ = c·S + h per share: proportional rate c and half-spread h) — Whalley & Wilmott (1997),
  Mathematical Finance 7(3), eq. for the optimal band: nothing is traded inside [h* − H, h* + H] and outside the
  position moves to the nearest edge, with

      H = (3 λ Γ² e^{−rτ} / (2γ))^{1/3}     (shares)

* **A fixed fee K per trade** (and no linear cost): outside [h* − H_K, h* + H_K] the position is reset to h*, with

      H_K = (12 K Γ² e^{−rτ} / γ)^{1/4}     (shares)

  — the same local asymptotic analysis as Whalley & Wilmott (1997), applied to a fixed cost as in Whalley & Wilmott
  (1999, Eur. J. Appl. Math. 10): the deviation y = position − h* diffuses with variance rate (Γ S σ)² per year;
  resetting it to 0 on exit from [−H, H] gives the stationary E[y²] = H²/6 and H²/(Γ S σ)² years between trades,
  and H_K minimises the rate of risk (γ/2)·S²σ²·E[y²] plus fee K e^{−rτ} per trade. (With the reflecting band of
  the linear case, E[y²] = H²/3 and the regulator's rate (Γ S σ)²/(2H) give back the 1997 band above.)

Refused with ``HedgerDomainError`` (and left out of ``compare`` with the reason): a stock with both linear and
fixed costs (the optimum is then a two-band impulse policy with no closed form), and quadratic impact (costs
not of either form). ``risk_aversion`` defaults to 1 / (1% of the book's notional value): γ = 100 / (n S₀).
"""

from __future__ import annotations

import numpy as np

from hedgegym.baselines.base import Hedger
from hedgegym.baselines.delta import book_delta
from hedgegym.baselines.stock_costs import HedgerDomainError, StockCosts
from hedgegym.engine import HedgingEngine
from hedgegym.pricing.greeks import FloatArray

__all__ = ["WhalleyWilmottHedger"]


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
        costs = self.costs
        if costs.quadratic_impact > 0:
            raise HedgerDomainError(f"whalley_wilmott: the stock has quadratic impact costs ({costs.describe()}); the "
                                    "band is derived for linear costs or a fixed fee")
        if costs.linear and costs.fixed > 0:
            raise HedgerDomainError(
                f"whalley_wilmott: the stock has both linear and fixed costs ({costs.describe()}); the optimal policy "
                "is then a two-band impulse control with no closed form (Whalley & Wilmott 1999): use the "
                "cost-benefit delta hedger, which prices each trade with the whole cost model")

    def _risk_aversion(self, engine: HedgingEngine) -> float:
        if self.risk_aversion is not None:
            return self.risk_aversion
        return 100.0 / (engine.book.notional * engine.model.spot)

    def half_width(self, engine: HedgingEngine) -> FloatArray:
        """H (shares, shape (N,)) at the engine's node: the linear-cost band, or H_K with a fixed fee."""
        gamma_risk = self._risk_aversion(engine)
        discount = np.exp(-engine.model.rate * engine.time_to_maturity)
        gamma = engine.book_greeks.gamma
        if self.costs.fixed > 0:
            return np.sqrt(np.sqrt(12.0 * self.costs.fixed * gamma**2 * discount / gamma_risk))
        return np.cbrt(3.0 * self.costs.per_share(engine.spot) * gamma**2 * discount / (2.0 * gamma_risk))

    def targets(self, engine: HedgingEngine) -> FloatArray:
        centre = -book_delta(engine, self.volatility)
        width = self.half_width(engine)
        positions = engine.positions.copy()
        if self.costs.fixed > 0:
            outside = np.abs(positions[:, 0] - centre) > width
            positions[:, 0] = np.where(outside, centre, positions[:, 0])
        else:
            positions[:, 0] = np.clip(positions[:, 0], centre - width, centre + width)
        return positions
