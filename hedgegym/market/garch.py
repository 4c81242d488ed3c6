r"""GARCH market: a GJR-GARCH(1,1) with Student-t innovations fitted by ``arch`` to real daily returns, simulated
batched over N paths.

Daily percentage log returns (``hedgegym.market.series.GarchFit``, Glosten, Jagannathan & Runkle 1993)::

    r_i = μ + ε_i,   ε_i = √h_i z_i,   z_i iid Student-t with ν degrees of freedom scaled to unit variance,
    h_{i+1} = ω + (α + γ·1[ε_i < 0]) ε_i² + β h_i,        S_{i+1} = S_i exp(r_i / 100)

with μ, ω, α, γ, β, ν the maximum-likelihood estimates on the series from ``fit_start`` to ``fit_end``. One step is
one trading day (dt = 1/252). h_0 is ``initial_variance``: ``"sampled"`` (default) draws it per path from the fitted
conditional variances of the estimation sample (episodes start in calm and in stressed states as often as history
did), ``"unconditional"`` starts every path at ω / (1 − α − γ/2 − β).

``variance`` at node i is h_i annualised, 252 h_i / 100² — the conditional variance of the next day's return,
known at node i — and options are valued with Black–Scholes at its square root (a stated proxy, as for regime
switching: GARCH has no closed-form option price). The drift is the fitted μ: there is no pricing measure.

Moments, used by the tests (symmetric z, κ_z = E z⁴ = 3(ν − 2)/(ν − 4) for ν > 4, a(z) = β + (α + γ 1[z<0]) z²)::

    E h_{i+1} = ω + p E h_i,              p = E a = α + γ/2 + β
    E h_{i+1}² = ω² + 2ωp E h_i + E[a²] E h_i²,   E a² = β² + 2β(α + γ/2) + κ_z (α² + αγ + γ²/2)
    E ε_i² = E h_i,   E ε_i⁴ = κ_z E h_i²
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from hedgegym.market.base import FloatArray, exponentiate_log_spot
from hedgegym.market.data import DataMarket
from hedgegym.market.series import (
    TRADING_DAYS_PER_YEAR,
    GarchFit,
    closes,
    fit_garch,
    parse_date,
)

__all__ = ["INITIAL_VARIANCES", "GarchMarket"]

INITIAL_VARIANCES = ("sampled", "unconditional")


@dataclass(frozen=True, kw_only=True)
class GarchMarket(DataMarket):
    r"""GJR-GARCH(1,1)-t fitted to ``series`` on [``fit_start``, ``fit_end``] (module docstring).

    Args:
        series: ``"sp500"`` or ``"nasdaq"``.
        fit_start, fit_end: the estimation sample, inclusive (ISO text, ``date`` or ``Timestamp``; stored as ISO
            text). Default: the S&P 500 train period of ``HistoricalMarket`` (1999-01-04 .. 2012-12-31), so that a
            GARCH-trained agent never saw the validation or test years.
        initial_variance: ``"sampled"`` or ``"unconditional"``.
        spot: S₀; rate, dividend: r and q for valuation and cash; mu must stay 0 (the drift is the fitted μ).

    Raises: ``ValueError`` naming the field: unknown series or initial variance, dates that do not parse or lie
    outside the data, fewer than 250 returns in the sample, a fit that is not covariance-stationary.
    """

    market_name: ClassVar[str] = "GARCH"
    drift_source: ClassVar[str] = "the fitted mean"
    no_pricing_measure: ClassVar[str] = "fitted to real-world returns"

    fit_start: str = "1999-01-04"
    fit_end: str = "2012-12-31"
    initial_variance: str = "sampled"

    def _validate_data(self) -> None:
        self.choice("initial_variance", INITIAL_VARIANCES)
        start, end = self.date_range("fit_start", "fit_end")
        dates = closes(self.series).index
        n_returns = int(((dates > start) & (dates <= end)).sum())
        if n_returns < 250:
            raise ValueError(f"fit_start .. fit_end must hold at least 250 daily returns for a GARCH fit, got "
                             f"{n_returns} ({start.date()} .. {end.date()})")
        self.fit  # noqa: B018 - fit now, so that a non-stationary sample is refused when the model is built

    @property
    def fit(self) -> GarchFit:
        """The ``arch`` fit (parameters, standard errors, ``table()``); one per process and sample."""
        return fit_garch(self.series, parse_date("fit_start", self.fit_start), parse_date("fit_end", self.fit_end))

    @property
    def reference_volatility(self) -> float:
        """The unconditional volatility, √(252 ω / (1 − α − γ/2 − β)) / 100 per √year."""
        return float(np.sqrt(TRADING_DAYS_PER_YEAR * self.fit.unconditional_variance) / 100.0)

    def _simulate(self, n_paths: int, n_steps: int, dt: float, rng: np.random.Generator,
                  drift: float) -> tuple[FloatArray, FloatArray, dict[str, Any]]:
        """Simulate the fitted model (module docstring)."""
        fit = self.fit
        p = fit.params
        mu, omega, alpha, gamma, beta, nu = (float(p[name]) for name in
                                            ("mu", "omega", "alpha[1]", "gamma[1]", "beta[1]", "nu"))
        if self.initial_variance == "unconditional":
            h = np.full(n_paths, fit.unconditional_variance)
        else:
            history = fit.result.conditional_volatility.dropna().to_numpy() ** 2
            h = history[rng.integers(0, history.size, size=n_paths)]
        scale = np.sqrt((nu - 2.0) / nu)
        log_increments = np.empty((n_steps, n_paths))
        variance = np.empty((n_steps + 1, n_paths))
        for i in range(n_steps):  # the recursion runs over time, vectorised over paths
            variance[i] = h
            shock = np.sqrt(h) * scale * rng.standard_t(nu, size=n_paths)
            log_increments[i] = (mu + shock) / 100.0
            h = omega + (alpha + gamma * (shock < 0.0)) * shock**2 + beta * h
        variance[n_steps] = h
        spot = exponentiate_log_spot(self.spot, log_increments.T)
        return spot, np.ascontiguousarray(variance.T) * TRADING_DAYS_PER_YEAR / 1e4, {}
