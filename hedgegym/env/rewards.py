r"""Rewards: functions of the scaled wealth increment x = δW / P (P the env's value scale, see features).

Costs are always inside δW. Per-step rewards:

* ``pnl``:            r = x                                  (risk-neutral: maximises expected P&L)
* ``mean_variance``:  r = x − (κ/2) x²                       (Kolm & Ritter 2019; κ = ``risk_aversion``)

Terminal-only rewards (0 before maturity, a function of the episode's scaled P&L X = W_T / P at the end):

* ``cvar``:      r_T = −(w + max(−X − w, 0) / (1 − α))       Rockafellar–Uryasev (2000): −E[r_T] is an upper bound
  of CVaR_α of the loss −X for every threshold w (``cvar_threshold``), equal to it when w is the loss's VaR_α;
  min_w −E[r_T] = CVaR_α. Over N equally weighted paths that minimum is exactly ``metrics.cvar`` (the one
  definition in the package, shared with deep hedging's ``cvar`` risk): the mean of the worst (1 − α)N losses
  with the boundary path weighted fractionally.
* ``entropic``:  r_T = −exp(−λX) / λ                        exponential utility (λ = ``risk_aversion``); its
  certainty equivalent is minus the entropic risk. The exponent is capped at 50 so r stays finite.

Shape: x and X are (N,); rewards (N,), float64.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hedgegym import _validation as check
from hedgegym.pricing.greeks import FloatArray

__all__ = ["Reward"]


@dataclass(frozen=True)
class Reward:
    """A reward rule (``kind`` one of pnl, mean_variance, cvar, entropic) and its parameters."""

    kind: str = "mean_variance"
    risk_aversion: float = 1.0
    cvar_level: float = 0.95
    cvar_threshold: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in ("pnl", "mean_variance", "cvar", "entropic"):
            raise ValueError(f"reward must be one of pnl, mean_variance, cvar, entropic; got {self.kind!r}")
        check.positive("risk_aversion", self.risk_aversion)
        check.finite("cvar_threshold", self.cvar_threshold)
        if not 0 < check.finite("cvar_level", self.cvar_level) < 1:
            raise ValueError(f"cvar_level must be in (0, 1), got {self.cvar_level}")

    @property
    def terminal_only(self) -> bool:
        return self.kind in ("cvar", "entropic")

    def __call__(self, scaled_pnl: FloatArray, scaled_wealth: FloatArray, terminal: bool) -> FloatArray:
        """Reward of one step: ``scaled_pnl`` = δW/P, ``scaled_wealth`` = W/P after the step."""
        if self.kind == "pnl":
            return scaled_pnl
        if self.kind == "mean_variance":
            return scaled_pnl - 0.5 * self.risk_aversion * scaled_pnl**2
        if not terminal:
            return np.zeros_like(scaled_pnl)
        if self.kind == "cvar":
            loss = -scaled_wealth
            return -(self.cvar_threshold + np.maximum(loss - self.cvar_threshold, 0.0) / (1.0 - self.cvar_level))
        exponent = np.minimum(-self.risk_aversion * scaled_wealth, 50.0)
        return -np.exp(exponent) / self.risk_aversion
