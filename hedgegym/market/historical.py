r"""Historical market: episodes are windows of real daily closes, split chronologically into train, validation
and test periods.

A window of n steps is n + 1 consecutive trading-day closes C_d, …, C_{d+n} of the series, rescaled so that every
window starts at the config's spot: S_i = spot · C_{d+i} / C_d. One step is one trading day (dt = 1/252 year; the
config's ``simulation.n_steps`` must be 252 × the horizon, by default the book's maturity). The drift is whatever
history did: there is no ``mu`` and no pricing measure.

Periods: ``train``, ``validation`` and ``test`` are [start, end] date ranges (inclusive) in this order with no day
in two of them; a window lies wholly inside one period, so no test window shares a day with a train window. The
model's ``period`` selects which one it serves: ``simulate`` draws random windows of it (with replacement, every
start equally likely: the training envs' episodes), ``windows`` lists every window of it in date order, one start
every ``stride`` trading days (the validation and test sets). ``for_purpose("test")`` is the same market serving
the test period.

Options are valued with Black–Scholes at a volatility proxy σ_d known at each close (``hedgegym.market.series``):
the VIX, trailing realised volatility, or a GJR-GARCH forecast whose parameters are fitted on the *train period
only*; ``variance`` in the paths is σ_d².
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from hedgegym.market.base import FloatArray, MarketPaths
from hedgegym.market.data import DataMarket
from hedgegym.market.series import (
    GARCH_PROXIES,
    VOLATILITY_PROXIES,
    GarchFit,
    check_trading_day,
    closes,
    fit_garch,
    parse_date,
    proxy_volatility,
)

__all__ = ["PERIODS", "HistoricalMarket"]

PERIODS = ("train", "validation", "test")


@dataclass(frozen=True, kw_only=True)
class HistoricalMarket(DataMarket):
    r"""Windows of a real daily price series (module docstring).

    Args:
        series: ``"sp500"`` or ``"nasdaq"`` (``hedgegym.market.series.SERIES``).
        train, validation, test: (start, end) dates of each period, inclusive, in this order and disjoint; ISO
            text ("2016-01-04"), ``date`` or ``Timestamp``; stored as ISO text.
        period: the period this market serves: ``"train"`` (default), ``"validation"`` or ``"test"``.
        stride: trading days between the starts of consecutive windows listed by ``windows`` (integer >= 1; the
            book's maturity in days gives non-overlapping windows: options rolled at expiry).
        volatility_proxy: ``"vix"``, ``"realised"``, ``"garch"`` or ``"vix_else_garch"`` (default).
        realised_window: trailing days of the ``realised`` proxy (integer >= 2).
        spot: every window's first price (the closes are rescaled to it).
        rate, dividend: the constant r and q used to value options and carry cash (per year).
        mu: must stay 0: the drift is history's.

    Raises: ``ValueError`` naming the field: an unknown series or proxy, dates that do not parse, periods out of
    order or overlapping or outside the data, a proxy with no value inside a period (the VIX before 2014-01-03).
    """

    market_name: ClassVar[str] = "historical"
    drift_source: ClassVar[str] = "history's"
    no_pricing_measure: ClassVar[str] = "history has no pricing measure"

    train: tuple[str, str] = ("1999-01-04", "2012-12-31")
    validation: tuple[str, str] = ("2013-01-01", "2015-12-31")
    test: tuple[str, str] = ("2016-01-01", "2018-12-31")
    period: str = "train"
    stride: int = 21
    volatility_proxy: str = "vix_else_garch"
    realised_window: int = 21

    def _validate_data(self) -> None:
        self.choice("period", PERIODS)
        self.choice("volatility_proxy", VOLATILITY_PROXIES)
        for name in ("stride", "realised_window"):
            value, low = getattr(self, name), 1 if name == "stride" else 2
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
                raise ValueError(f"{name} must be an integer >= {low} (trading days), got {value!r}")
            object.__setattr__(self, name, int(value))
        dates = closes(self.series).index
        previous_end, previous = None, None
        for name in PERIODS:
            value = getattr(self, name)
            if not isinstance(value, list | tuple) or len(value) != 2:
                raise ValueError(f"{name} must be a [start, end] pair of dates, got {value!r}")
            start, end = parse_date(f"{name}[0]", value[0]), parse_date(f"{name}[1]", value[1])
            if end < start:
                raise ValueError(f"{name} must end on or after its start, got {start.date()} .. {end.date()}")
            if start < dates[0] or end > dates[-1]:
                raise ValueError(f"{name} must lie within the {self.series} data, {dates[0].date()} .. "
                                 f"{dates[-1].date()}, got {start.date()} .. {end.date()}")
            if previous_end is not None and start <= previous_end:
                raise ValueError(f"{name} must start after {previous} ends ({previous_end.date()}): periods are "
                                 f"chronological and share no day, got start {start.date()}")
            object.__setattr__(self, name, (start.date().isoformat(), end.date().isoformat()))
            previous_end, previous = end, name
        volatility = self._volatility()
        for name in PERIODS:
            inside = volatility.loc[slice(*getattr(self, name))]
            if inside.isna().any():
                first_missing = inside.index[inside.isna()][0].date()
                raise ValueError(f"volatility_proxy {self.volatility_proxy!r} has no value on {first_missing}, "
                                 f"inside {name} {getattr(self, name)}: choose another proxy or period (the VIX "
                                 f"starts 2014-01-03; realised needs {self.realised_window} earlier returns)")

    @property
    def proxy_fit(self) -> GarchFit | None:
        """The GJR-GARCH fit behind the volatility proxy (on the train period), or None for a proxy without one."""
        if self.volatility_proxy not in GARCH_PROXIES:
            return None
        start, end = (parse_date(f"train[{i}]", day) for i, day in enumerate(self.train))
        return fit_garch(self.series, start, end)

    def _volatility(self) -> pd.Series:
        return proxy_volatility(self.series, self.volatility_proxy, *self.train, window=self.realised_window)

    def for_purpose(self, purpose: str) -> HistoricalMarket:
        """The same market serving period ``purpose`` (``"train"``, ``"validation"`` or ``"test"``)."""
        if purpose not in PERIODS:
            raise ValueError(f"purpose must be one of {', '.join(PERIODS)}, got {purpose!r}")
        return dataclasses.replace(self, period=purpose)

    @property
    def reference_volatility(self) -> float:
        """The root mean square of the volatility proxy over the train period."""
        return float(np.sqrt(np.mean(np.square(self._volatility().loc[slice(*self.train)]))))

    @property
    def dates(self) -> pd.DatetimeIndex:
        """Every trading date of the series; ``extras["day"]`` of the paths indexes into it."""
        return closes(self.series).index

    def window_starts(self, n_steps: int) -> np.ndarray:
        """Day indices (into ``dates``) of every start d whose window d, …, d + n_steps lies inside the period."""
        dates = self.dates
        start, end = getattr(self, self.period)
        first = int(dates.searchsorted(pd.Timestamp(start), side="left"))
        last = int(dates.searchsorted(pd.Timestamp(end), side="right")) - 1
        starts = np.arange(first, last - n_steps + 1, dtype=np.int64)
        if starts.size == 0:
            raise ValueError(f"{self.period} {getattr(self, self.period)} holds {last - first + 1} trading days, "
                             f"fewer than a window of {n_steps} steps needs ({n_steps + 1})")
        return starts

    def windows(self, n_steps: int, dt: float) -> MarketPaths:
        """Every window of the period in date order, one start every ``stride`` trading days from its first day.

        Shape: ``spot``, ``variance``, ``extras["day"]``: (n_windows, n_steps + 1).
        Raises: ``ValueError`` naming ``dt`` unless it is one trading day, or the period when it is too short.
        """
        check_trading_day(dt, "historical")
        starts = self.window_starts(n_steps)[:: self.stride]
        return self._paths(starts, n_steps, dt)

    def _simulate(self, n_paths: int, n_steps: int, dt: float, rng: np.random.Generator,
                  drift: float) -> tuple[FloatArray, FloatArray, dict[str, Any]]:
        """``n_paths`` windows of the period drawn with replacement, every start equally likely (``rng`` only)."""
        starts = self.window_starts(n_steps)
        chosen = starts[rng.integers(0, starts.size, size=n_paths)]
        paths = self._paths(chosen, n_steps, dt)
        return paths.spot, paths.variance, paths.extras

    def _paths(self, starts: np.ndarray, n_steps: int, dt: float) -> MarketPaths:
        day = starts[:, None] + np.arange(n_steps + 1)[None, :]
        close = closes(self.series).to_numpy()
        spot = self.spot * close[day] / close[starts][:, None]
        variance = self._volatility().to_numpy()[day] ** 2
        time = np.arange(n_steps + 1, dtype=np.float64) * dt
        return MarketPaths(time=time, spot=spot, variance=variance, dt=dt, extras={"day": day})

