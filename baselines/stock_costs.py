r"""What trading the stock costs, read from the engine's cost model: the terms the cost-aware rules need.

The engine charges a ``hedgegym.costs.CostModel`` (a sum of proportional, fixed, quadratic-impact and spread
components, each with one parameter per instrument; column 0 is the stock). The cost-aware hedgers (cost–benefit
delta, Leland, Whalley–Wilmott) need the stock's terms separately, since each rule is derived for a cost
structure:

    cost of trading q shares at spot S  =  (c·S + h)·|q|  +  K·1[|q| > threshold]  +  κ·S·q²
                                            linear          fixed fee                 quadratic impact

with c the proportional rate (fraction of notional), h the half-spread (currency per share), K the fixed fee
(currency per trade) and κ the quadratic-impact coefficient (per share). A cost structure the rules do not know
raises ``hedgegym.baselines.base.HedgerDomainError``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from hedgegym.baselines.base import HedgerDomainError
from hedgegym.costs import CompositeCost, CostModel, FixedCost, ProportionalCost, QuadraticImpact, SpreadCost
from hedgegym.pricing.greeks import FloatArray

__all__ = ["StockCosts"]


def _stock_entry(value: float | tuple[float, ...]) -> float:
    return float(value if np.ndim(value) == 0 else value[0])


@dataclass(frozen=True)
class StockCosts:
    """The stock's cost terms (column 0 of the cost model); all ≥ 0, currency units as in the module docstring."""

    proportional: float = 0.0  # c, fraction of traded notional
    half_spread: float = 0.0  # h, currency per share
    fixed: float = 0.0  # K, currency per trade
    fixed_threshold: float = 0.0  # trades of at most this many shares pay no fee
    quadratic_impact: float = 0.0  # κ, fractional price concession per share traded

    @classmethod
    def of(cls, costs: CostModel | None) -> StockCosts:
        """The stock's terms of an engine's cost model (``None``: no costs).

        Raises:
            HedgerDomainError: a cost model of a type the rules do not know (its cost structure is unknown).
        """
        terms: dict[str, float] = {}
        models = costs.models if isinstance(costs, CompositeCost) else (() if costs is None else (costs,))
        for model in models:
            if isinstance(model, ProportionalCost):
                terms["proportional"] = terms.get("proportional", 0.0) + _stock_entry(model.rate)
            elif isinstance(model, SpreadCost):
                terms["half_spread"] = terms.get("half_spread", 0.0) + _stock_entry(model.half_spread)
            elif isinstance(model, FixedCost):
                if terms.get("fixed", 0.0) > 0 and _stock_entry(model.fee) > 0:
                    raise HedgerDomainError("the stock has two fixed-fee components; combine them into one")
                if _stock_entry(model.fee) > 0:
                    terms["fixed"] = _stock_entry(model.fee)
                    terms["fixed_threshold"] = _stock_entry(model.threshold)
            elif isinstance(model, QuadraticImpact):
                terms["quadratic_impact"] = terms.get("quadratic_impact", 0.0) + _stock_entry(model.coefficient)
            else:
                raise HedgerDomainError(f"cost model {type(model).__name__} has no known cost structure for the "
                                        "cost-aware rules")
        return cls(**terms)

    @property
    def linear(self) -> bool:
        """True when trading costs something per share (proportional rate or half-spread)."""
        return self.proportional > 0 or self.half_spread > 0

    @property
    def any(self) -> bool:
        return self.linear or self.fixed > 0 or self.quadratic_impact > 0

    def per_share(self, spot: ArrayLike) -> FloatArray:
        """λ = c·S + h: the linear cost of one share traded at ``spot``, currency; shape of ``spot``."""
        return self.proportional * np.asarray(spot, dtype=np.float64) + self.half_spread

    def describe(self) -> str:
        parts = [f"{name.replace('_', ' ')} {value:g}" for name, value in (
            ("proportional", self.proportional), ("half_spread", self.half_spread), ("fixed", self.fixed),
            ("quadratic_impact", self.quadratic_impact)) if value > 0]
        return ", ".join(parts) or "none"
