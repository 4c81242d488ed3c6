r"""Bootstrap market: synthetic paths resampled from real daily returns by a block bootstrap (``arch.bootstrap``).

Each historical day d of the sample contributes a row (σ_d, r_{d+1}): the volatility proxy at its close and the
next day's log return. A path of n steps is n + 1 consecutive rows of a bootstrap resample of the rows,
i_0, …, i_n::

    S_0 = spot,   S_{k+1} = S_k exp(r_{i_k} / 100),   variance_k = σ_{i_k}²

so every return keeps the volatility that was quoted the evening before it, and blocks of consecutive days keep
volatility clustering. The resample is Politis & Romano's (1994) stationary bootstrap (geometric block lengths of
mean ``block_length``) or the circular block bootstrap (Politis & Romano 1992) of arch (``StationaryBootstrap``,
``CircularBlockBootstrap``); ``block_length`` null chooses it by Politis & White's (2004, with Patton, Politis &
White 2009's correction) ``arch.bootstrap.optimal_block_length`` applied to the squared returns of the sample —
the dependence that matters for hedging is in the volatility: on the returns themselves the estimate is a few days
(8.8 for the S&P 500 1999–2018), on their squares 137 (measured with arch 8.0).

Each resample has the sample's length T; it is cut into ⌊T / (n + 1)⌋ paths, and resamples are drawn until there
are ``n_paths`` (a loop over resamples, each vectorised: about T / (n + 1) paths per iteration). One step is one
trading day (dt = 1/252). Options are valued with Black–Scholes at σ (a stated proxy); the drift is history's.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from hedgegym.market.base import FloatArray
from hedgegym.market.data import DataMarket
from hedgegym.market.series import (
    VOLATILITY_PROXIES,
    closes,
    log_returns,
    proxy_volatility,
)

__all__ = ["BOOTSTRAP_METHODS", "BootstrapMarket", "optimal_block_length"]

BOOTSTRAP_METHODS = ("stationary", "circular")


@functools.cache
def optimal_block_length(series: str, start: pd.Timestamp, end: pd.Timestamp, method: str) -> float:
    """arch's ``optimal_block_length`` of the squared percentage log returns of ``series`` on [start, end]: the
    ``stationary`` (mean block length) or ``circular`` column, in trading days."""
    from arch.bootstrap import optimal_block_length as politis_white

    squared = log_returns(series).loc[start:end] ** 2
    return float(politis_white(squared.to_numpy())[method].iloc[0])


@dataclass(frozen=True, kw_only=True)
class BootstrapMarket(DataMarket):
    r"""Block-bootstrap paths of ``series`` on [``sample_start``, ``sample_end``] (module docstring).

    Args:
        series: ``"sp500"`` or ``"nasdaq"``.
        sample_start, sample_end: the days resampled, inclusive (ISO text, ``date`` or ``Timestamp``; stored as
            ISO text). Default: the S&P 500 train period of ``HistoricalMarket`` (1999-01-04 .. 2012-12-31).
        method: ``"stationary"`` (default) or ``"circular"``.
        block_length: the (mean) block length in trading days, > 0 (circular: rounded, at least 1); null: arch's
            ``optimal_block_length`` of the squared returns.
        volatility_proxy: as ``HistoricalMarket`` (the GARCH proxy is fitted on the sample); realised_window
            likewise.
        spot: S₀; rate, dividend: r and q for valuation and cash; mu must stay 0 (the drift is history's).

    Raises: ``ValueError`` naming the field: unknown series, method or proxy, dates that do not parse or lie
    outside the data, a sample shorter than 250 days, a non-positive block length, a proxy missing in the sample.
    """

    market_name: ClassVar[str] = "bootstrap"
    drift_source: ClassVar[str] = "history's"
    no_pricing_measure: ClassVar[str] = "resampled history"

    sample_start: str = "1999-01-04"
    sample_end: str = "2012-12-31"
    method: str = "stationary"
    block_length: float | None = None
    volatility_proxy: str = "vix_else_garch"
    realised_window: int = 21

    def _validate_data(self) -> None:
        self.choice("method", BOOTSTRAP_METHODS)
        self.choice("volatility_proxy", VOLATILITY_PROXIES)
        if self.block_length is not None:
            length = self.block_length
            if isinstance(length, bool) or not isinstance(length, int | float) or not math.isfinite(length) \
                    or length <= 0:
                raise ValueError(f"block_length must be a number of trading days > 0 or null, got {length!r}")
            object.__setattr__(self, "block_length", float(length))
        self.date_range("sample_start", "sample_end")
        volatility, returns = self.rows()
        if returns.size < 250:
            raise ValueError(f"sample_start .. sample_end must hold at least 250 daily returns, got {returns.size}")
        if np.isnan(volatility).any():
            raise ValueError(f"volatility_proxy {self.volatility_proxy!r} has no value on some days of the sample "
                             f"{self.sample_start} .. {self.sample_end} (the VIX starts 2014-01-03; realised needs "
                             f"{self.realised_window} earlier returns): choose another proxy or sample")

    def rows(self) -> tuple[FloatArray, FloatArray]:
        """The resampled rows: σ_d (per √year) at the close of each day d of the sample and r_{d+1}, the
        percentage log return from d to the next day (also in the sample). Shape: (T,) each."""
        start, end = pd.Timestamp(self.sample_start), pd.Timestamp(self.sample_end)
        sigma = proxy_volatility(self.series, self.volatility_proxy, start, end, self.realised_window)
        close = closes(self.series)
        next_return = 100.0 * np.log(close.shift(-1) / close)  # r_{d+1}, indexed by d
        days = sigma.loc[start:end].index[:-1]  # the last day's next return lies outside the sample
        return sigma.reindex(days).to_numpy(), next_return.reindex(days).to_numpy()

    @property
    def mean_block_length(self) -> float:
        """The block length used: ``block_length`` or arch's ``optimal_block_length`` (trading days)."""
        if self.block_length is not None:
            return self.block_length
        return optimal_block_length(self.series, pd.Timestamp(self.sample_start), pd.Timestamp(self.sample_end),
                                    self.method)

    @property
    def reference_volatility(self) -> float:
        """The root mean square of the volatility proxy over the sample."""
        return float(np.sqrt(np.mean(np.square(self.rows()[0]))))

    def _simulate(self, n_paths: int, n_steps: int, dt: float, rng: np.random.Generator,
                  drift: float) -> tuple[FloatArray, FloatArray, dict[str, Any]]:
        from arch.bootstrap import CircularBlockBootstrap, StationaryBootstrap

        sigma, returns = self.rows()
        length = n_steps + 1
        per_resample = returns.size // length
        if per_resample == 0:
            raise ValueError(f"the sample holds {returns.size} days, fewer than a path of {n_steps} steps needs "
                             f"({length})")
        block = self.mean_block_length
        index = np.arange(returns.size)
        if self.method == "stationary":
            bootstrap = StationaryBootstrap(block, index, seed=rng)
        else:
            bootstrap = CircularBlockBootstrap(max(1, round(block)), index, seed=rng)
        chunks = []
        for _ in range(-(-n_paths // per_resample)):  # over resamples, each cut into many paths
            resample = bootstrap.update_indices()[: per_resample * length]
            chunks.append(resample.reshape(per_resample, length))
        rows = np.concatenate(chunks)[:n_paths]
        log_spot = np.zeros((n_paths, length))
        np.cumsum(returns[rows[:, :-1]] / 100.0, axis=1, out=log_spot[:, 1:])
        return self.spot * np.exp(log_spot), sigma[rows] ** 2, {"row": rows}
