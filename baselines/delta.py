r"""Black–Scholes / model delta hedging, rebalanced by time, by a delta band, or by a cost–benefit rule.

The hedge holds h = −Δ_book shares, where Δ_book is the book's delta either from the market model's own
pricer (``volatility=None``: the engine's Greeks) or from Black–Scholes at a fixed ``volatility`` (an implied
or assumed vol, the practitioner's choice). Rebalancing rules (Δ_port = Δ_book + h, in shares):

* every ``rebalance_every`` steps (1: every step) — time-based;
* ``band``: only when |Δ_port| > band × notional, then back to delta-neutral — delta-threshold;
* ``cost_benefit``: only when the variance the mismatch would carry to expiry, priced at ``risk_aversion`` γ
  (per unit of currency), exceeds ``safety`` × the cost of removing it: γ/2 (Δ_port S σ)² τ > safety · C(Δ_port),
  with τ the time to maturity and C(q) the cost of trading q shares under the engine's **whole** cost model
  (proportional, half-spread, fixed fee, quadratic impact: ``engine.costs``). For proportional costs alone,
  C(q) = c |q| S and the rule is the band |Δ_port| > 2 · safety · c / (γ S σ² τ) — narrow early in the life,
  wide (no trading) near expiry; a fixed fee K adds the threshold |Δ_port| > √(2 · safety · K / (γ τ)) / (S σ).
"""

from __future__ import annotations

import numpy as np

from hedgegym.baselines.base import Hedger
from hedgegym.engine import HedgingEngine
from hedgegym.instruments import black_scholes_pricer
from hedgegym.pricing.greeks import FloatArray

__all__ = ["DeltaHedger", "book_delta"]


def book_delta(engine: HedgingEngine, volatility: float | FloatArray | None) -> FloatArray:
    """Δ of the book (shares, holder's) from the model (``None``) or Black–Scholes at ``volatility``."""
    if volatility is None:
        return engine.book_greeks.delta
    pricer = black_scholes_pricer(volatility, engine.model.rate, engine.model.dividend)
    return engine.book_greeks_under(pricer).delta  # knocked-out barrier options count 0


class DeltaHedger(Hedger):
    required_greeks = frozenset({"price", "delta"})  # the book's Δ; prices for the cost-benefit rule

    def __init__(
        self,
        volatility: float | None = None,
        rebalance_every: int = 1,
        band: float | None = None,
        cost_benefit: bool = False,
        risk_aversion: float = 1.0,
        safety: float = 1.0,
        name: str | None = None,
    ) -> None:
        if rebalance_every < 1:
            raise ValueError(f"rebalance_every must be >= 1, got {rebalance_every}")
        if band is not None and band < 0:
            raise ValueError(f"band must be >= 0, got {band}")
        self.volatility = volatility
        if volatility is not None:  # its own Black–Scholes Δ (book_greeks_under), not the engine's
            self.required_greeks = frozenset({"price"})
        self.rebalance_every = int(rebalance_every)
        self.band = band
        if not (np.isfinite(risk_aversion) and risk_aversion > 0) or not (np.isfinite(safety) and safety > 0):
            raise ValueError(f"risk_aversion and safety must be finite numbers > 0, got {risk_aversion!r}, {safety!r}")
        self.cost_benefit = cost_benefit
        self.risk_aversion = risk_aversion
        self.safety = safety
        self.name = name or self._default_name()

    def _default_name(self) -> str:
        if self.band is not None:
            return f"delta_band_{self.band:g}"
        if self.cost_benefit:
            return "delta_cost_benefit"
        return "delta" if self.rebalance_every == 1 else f"delta_every_{self.rebalance_every}"

    def targets(self, engine: HedgingEngine) -> FloatArray:
        positions = engine.positions.copy()
        if engine.step_index % self.rebalance_every != 0:
            return positions
        target = -book_delta(engine, self.volatility)
        mismatch = positions[:, 0] - target
        if self.band is not None:
            notional = engine.book.notional
            trade = np.abs(mismatch) > self.band * notional
        elif self.cost_benefit:
            sigma = np.sqrt(engine.variance) if self.volatility is None else self.volatility
            benefit = 0.5 * self.risk_aversion * (mismatch * engine.spot * sigma) ** 2 * engine.time_to_maturity
            trade = benefit > self.safety * self.trade_cost(engine, -mismatch)
        else:
            trade = np.ones(engine.n_paths, dtype=bool)
        positions[:, 0] = np.where(trade, target, positions[:, 0])
        return positions

    @staticmethod
    def trade_cost(engine: HedgingEngine, stock_trade: FloatArray) -> FloatArray:
        """C(q): what trading ``stock_trade`` shares (N,) now costs under the engine's cost model, currency (N,)."""
        if engine.costs is None:
            return np.zeros(engine.n_paths)
        trades = np.zeros((engine.n_paths, engine.n_instruments))
        trades[:, 0] = stock_trade
        return engine.costs.unchecked_cost(trades, engine.instrument_greeks.price)
