r"""Whalley & Wilmott (1997): a no-transaction band around the delta hedge.

For proportional cost c (one-way), absolute risk aversion γ (per unit of currency) and the book's gamma Γ
(shares per unit of spot), the asymptotically optimal band around h* = −Δ_book has half-width

    H = (3 c S Γ² e^{−r(T−t)} / (2γ))^{1/3}     (shares)

Inside [h* − H, h* + H] nothing is traded; outside, the position moves to the nearest edge of the band.
``risk_aversion`` defaults to 1 / (1% of the book's notional value): γ = 100 / (n S₀).
"""

from __future__ import annotations

import numpy as np

from hedgegym.baselines.base import Hedger
from hedgegym.baselines.delta import book_delta
from hedgegym.engine import HedgingEngine
from hedgegym.pricing.greeks import FloatArray

__all__ = ["WhalleyWilmottHedger"]


class WhalleyWilmottHedger(Hedger):
    name = "whalley_wilmott"

    def __init__(self, cost_rate: float, risk_aversion: float | None = None, volatility: float | None = None) -> None:
        if cost_rate < 0:
            raise ValueError(f"cost_rate must be >= 0, got {cost_rate}")
        if risk_aversion is not None and risk_aversion <= 0:
            raise ValueError(f"risk_aversion must be > 0, got {risk_aversion}")
        self.cost_rate = cost_rate
        self.risk_aversion = risk_aversion
        self.volatility = volatility

    def half_width(self, engine: HedgingEngine) -> FloatArray:
        gamma_risk = self.risk_aversion
        if gamma_risk is None:
            notional = engine.book.notional
            gamma_risk = 100.0 / (notional * engine.model.spot)
        discount = np.exp(-engine.model.rate * engine.time_to_maturity)
        gamma = engine.book_greeks.gamma
        return np.cbrt(3.0 * self.cost_rate * engine.spot * gamma**2 * discount / (2.0 * gamma_risk))

    def targets(self, engine: HedgingEngine) -> FloatArray:
        centre = -book_delta(engine, self.volatility)
        width = self.half_width(engine)
        positions = engine.positions.copy()
        positions[:, 0] = np.clip(positions[:, 0], centre - width, centre + width)
        return positions
