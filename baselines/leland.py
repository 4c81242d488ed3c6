r"""Leland (1985): Black–Scholes delta with a volatility adjusted for proportional transaction costs.

With a one-way proportional cost c (so the round-trip cost k = 2c), rebalancing interval δt and volatility σ,
the Leland number is Le = √(2/π) · k / (σ √δt), and the hedge uses Black–Scholes delta at

    σ_L² = σ² (1 − Le · sign(Γ_book))

— a higher volatility when the holder is short gamma (e.g. a written call: the costs act like extra
variance), a lower one when long gamma (floored at 1e-4 σ² where Le ≥ 1). Rebalanced every step.
"""

from __future__ import annotations

import numpy as np

from hedgegym.baselines.base import Hedger
from hedgegym.baselines.delta import book_delta
from hedgegym.engine import HedgingEngine
from hedgegym.pricing.greeks import FloatArray

__all__ = ["LelandHedger"]


class LelandHedger(Hedger):
    name = "leland"

    def __init__(self, volatility: float, cost_rate: float) -> None:
        if volatility <= 0 or cost_rate < 0:
            raise ValueError(f"volatility must be > 0 and cost_rate >= 0; got {volatility}, {cost_rate}")
        self.volatility = volatility
        self.cost_rate = cost_rate

    def leland_number(self, dt: float) -> float:
        return float(np.sqrt(2.0 / np.pi) * 2.0 * self.cost_rate / (self.volatility * np.sqrt(dt)))

    def targets(self, engine: HedgingEngine) -> FloatArray:
        gamma_sign = np.sign(engine.book_greeks.gamma)
        factor = np.maximum(1.0 - self.leland_number(engine.dt) * gamma_sign, 1e-4)
        positions = engine.positions.copy()
        positions[:, 0] = -book_delta(engine, self.volatility * np.sqrt(factor))
        return positions
