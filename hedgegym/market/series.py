r"""Real daily market data bundled with the ``arch`` package, and the volatility proxies that value options on it.

Series (``arch.data``, installed with ``arch``; nothing is downloaded at run time):

  * ``sp500``: S&P 500 index daily closes, 1999-01-04 to 2018-12-31 (5,031 trading days);
  * ``nasdaq``: NASDAQ Composite daily closes, 1999-01-04 to 2018-12-31;
  * the VIX (CBOE volatility index, the 30-day implied volatility of S&P 500 options, in volatility points),
    2014-01-03 to 2019-01-03.

Time is counted in trading days: one step is 1/``TRADING_DAYS_PER_YEAR`` year, and a window of n steps is n + 1
consecutive closes (weekends and holidays are not steps).

Volatility proxies σ_d (per √year) known at the close of day d, used as the implied volatility of every option
on that day (Black–Scholes at σ_d; the data have no option prices):

  * ``vix``: VIX_d / 100 (the S&P 500's own implied volatility; 2014-01-03 to 2018-12-31 only);
  * ``realised``: trailing realised volatility √(252/w · Σ r²) over the last w log returns up to and including
    day d (zero-mean estimator; the first w days have none);
  * ``garch``: the one-step-ahead GJR-GARCH(1,1) forecast σ_{d+1|d} (Glosten, Jagannathan & Runkle 1993) with
    Student-t innovations, fitted by ``arch`` on the percentage log returns of a stated sample only (the training
    period: no later data enters the parameters), then run through the whole series (the filter reads returns up
    to day d only), annualised √(252) σ / 100;
  * ``vix_else_garch``: the VIX where it exists, the GARCH forecast on the other days.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "GARCH_PROXIES",
    "SERIES",
    "TRADING_DAYS_PER_YEAR",
    "VOLATILITY_PROXIES",
    "GarchFit",
    "check_trading_day",
    "closes",
    "fit_garch",
    "log_returns",
    "parse_date",
    "proxy_volatility",
    "vix",
]

TRADING_DAYS_PER_YEAR = 252
"""Trading days per year: the clock of the data-driven markets (one step = one trading day = 1/252 year)."""

VOLATILITY_PROXIES = ("vix", "realised", "garch", "vix_else_garch")
GARCH_PROXIES = ("garch", "vix_else_garch")
"""The proxies that read a GJR-GARCH fit."""


def check_trading_day(dt: float, market: str) -> None:
    """``ValueError`` naming ``dt`` unless it is one trading day, 1/252 year (the data-driven markets' clock)."""
    if not np.isclose(dt * TRADING_DAYS_PER_YEAR, 1.0, rtol=1e-9, atol=0.0):
        raise ValueError(f"dt must be one trading day, 1/{TRADING_DAYS_PER_YEAR} year, for a {market} market (set "
                         f"simulation.n_steps = {TRADING_DAYS_PER_YEAR} × the horizon in years), got dt = "
                         f"{dt!r} = {dt * TRADING_DAYS_PER_YEAR:.4g} trading days")


def _load_sp500() -> pd.DataFrame:
    import arch.data.sp500

    return arch.data.sp500.load()


def _load_nasdaq() -> pd.DataFrame:
    import arch.data.nasdaq

    return arch.data.nasdaq.load()


_LOADERS: dict[str, Callable[[], pd.DataFrame]] = {"sp500": _load_sp500, "nasdaq": _load_nasdaq}
SERIES = tuple(_LOADERS)
"""The bundled price series: ``sp500`` (S&P 500) and ``nasdaq`` (NASDAQ Composite), daily 1999-01-04 to 2018-12-31."""


def _check_series(series: str) -> str:
    if series not in _LOADERS:
        raise ValueError(f"series must be one of {', '.join(SERIES)}, got {series!r}")
    return series


@functools.cache
def closes(series: str) -> pd.Series:
    """The daily closes of ``series`` (index points, float64), indexed by trading date (ascending, unique).

    Raises: ``ValueError`` naming ``series`` when it is not one of ``SERIES``.
    """
    frame = _LOADERS[_check_series(series)]()
    close = frame["Close"].astype(np.float64).sort_index()
    close.index = pd.DatetimeIndex(close.index).normalize()
    close.name = series
    return close


@functools.cache
def vix() -> pd.Series:
    """The VIX close in volatility points (e.g. 13.76 for 13.76%), indexed by date, 2014-01-03 to 2019-01-03."""
    import arch.data.vix

    level = arch.data.vix.load()["vix"].astype(np.float64).sort_index()
    level.index = pd.DatetimeIndex(level.index).normalize()
    return level


def log_returns(series: str) -> pd.Series:
    """Percentage log returns 100 · ln(C_d / C_{d−1}), indexed by day d (the first trading day has none)."""
    close = closes(series)
    return (100.0 * np.log(close).diff()).iloc[1:]


def parse_date(field: str, value: object) -> pd.Timestamp:
    """``value`` (ISO text such as ``"2016-01-04"``, a ``date`` or a ``Timestamp``) as a normalised Timestamp;
    ``ValueError`` naming ``field`` otherwise."""
    if isinstance(value, bool) or (not isinstance(value, str | pd.Timestamp) and not hasattr(value, "year")):
        raise ValueError(f"{field} must be a date such as '2016-01-04', got {value!r}")
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError) as error:
        raise ValueError(f"{field} must be a date such as '2016-01-04', got {value!r}") from error
    if pd.isna(stamp):
        raise ValueError(f"{field} must be a date such as '2016-01-04', got {value!r}")
    return stamp.normalize()


class GarchFit:
    """A GJR-GARCH(1,1) with a constant mean and standardised Student-t innovations, fitted by ``arch``
    (``arch_model(r, mean="Constant", vol="GARCH", p=1, o=1, q=1, dist="t")``) to the percentage log returns of
    ``series`` from ``start`` to ``end`` (inclusive) by maximum likelihood, robust standard errors::

        r_d = μ + ε_d,   ε_d = σ_d z_d,   z_d ~ t_ν scaled to unit variance,
        σ_d² = ω + (α + γ·1[ε_{d−1} < 0]) ε_{d−1}² + β σ_{d−1}²        (percent², daily)

    The optimum's last digits depend on the BLAS thread count (measured on the S&P 500 1999–2012: ν = 10.3654 with
    two threads, 10.3649 with ``OMP_NUM_THREADS=1``; the other parameters agree to 5 digits): results are
    reproducible for a given thread setting, which the experiment scripts fix at one.

    Attributes: ``params`` and ``std_err`` (``pd.Series`` named mu, omega, alpha[1], gamma[1], beta[1], nu),
    ``result`` (arch's ``ARCHModelResult``), ``series``, ``start``, ``end``.
    """

    def __init__(self, series: str, start: pd.Timestamp, end: pd.Timestamp) -> None:
        from arch import arch_model

        self.series, self.start, self.end = series, start, end
        returns = log_returns(series)
        self.model = arch_model(returns, mean="Constant", vol="GARCH", p=1, o=1, q=1, dist="t")
        self.result = self.model.fit(disp="off", first_obs=start, last_obs=end + pd.Timedelta(days=1))
        self.params: pd.Series = self.result.params
        self.std_err: pd.Series = self.result.std_err
        if self.persistence >= 1:
            raise ValueError(f"the GJR-GARCH fit of {series} on {start.date()}..{end.date()} is not covariance-"
                             f"stationary (α + γ/2 + β = {self.persistence:.4f} >= 1): choose a longer sample")

    @property
    def persistence(self) -> float:
        """α + γ/2 + β: E[σ²_{d+1}] − ω = persistence · E[σ²_d] for symmetric innovations."""
        p = self.params
        return float(p["alpha[1]"] + 0.5 * p["gamma[1]"] + p["beta[1]"])

    @property
    def unconditional_variance(self) -> float:
        """ω / (1 − α − γ/2 − β): the stationary variance of the daily percentage return."""
        return float(self.params["omega"]) / (1.0 - self.persistence)

    def forecast_volatility(self) -> pd.Series:
        """σ_{d+1|d}: the one-step-ahead conditional volatility (percent, daily) made at the close of every day d
        of the series, with this fit's parameters (the filter reads returns up to day d only)."""
        fixed = self.model.fix(self.params)
        variance = fixed.forecast(horizon=1, start=0, reindex=False, method="analytic").variance["h.1"]
        variance.index = pd.DatetimeIndex(variance.index).normalize()
        return np.sqrt(variance)

    def table(self) -> pd.DataFrame:
        """Parameters with their robust standard errors and t-statistics (one row per parameter)."""
        return pd.DataFrame({"estimate": self.params, "std_err": self.std_err,
                             "t": self.params / self.std_err.replace(0.0, np.nan)})


@functools.cache
def fit_garch(series: str, start: pd.Timestamp, end: pd.Timestamp) -> GarchFit:
    """The ``GarchFit`` of ``series`` on [start, end], fitted once per process (about a second) and shared."""
    return GarchFit(_check_series(series), start, end)


@functools.cache
def _proxy(series: str, proxy: str, fit_start: pd.Timestamp, fit_end: pd.Timestamp, window: int) -> pd.Series:
    dates = closes(series).index
    if proxy == "realised":
        squared = (log_returns(series) / 100.0) ** 2
        rolled = squared.rolling(window, min_periods=window).mean()
        return np.sqrt(TRADING_DAYS_PER_YEAR * rolled).reindex(dates)
    garch = None
    if proxy in GARCH_PROXIES:
        daily = fit_garch(series, fit_start, fit_end).forecast_volatility()
        garch = (np.sqrt(TRADING_DAYS_PER_YEAR) * daily / 100.0).reindex(dates)
        # the first day has no return to filter from: its forecast is the next day's (arch's backcast start)
        garch.iloc[0] = garch.iloc[1]
    if proxy == "garch":
        return garch
    implied = (vix() / 100.0).reindex(dates)
    if proxy == "vix":
        return implied
    return implied.fillna(garch)


def proxy_volatility(series: str, proxy: str, fit_start: object = None, fit_end: object = None,
                     window: int = 21) -> pd.Series:
    """The volatility proxy σ_d (per √year) at the close of every trading day d of ``series`` (module docstring).

    Args:
        series: one of ``SERIES``.
        proxy: one of ``VOLATILITY_PROXIES``.
        fit_start, fit_end: the GARCH estimation sample (dates; ``garch`` and ``vix_else_garch`` only).
        window: the realised-volatility window in trading days (``realised`` only; integer >= 2).

    Returns: a float64 ``pd.Series`` indexed like ``closes(series)``; NaN where the proxy does not exist (before the
    VIX starts, the first ``window`` days of ``realised``).
    Raises: ``ValueError`` naming ``series``, ``proxy``, ``window`` or the dates when they are not valid.
    """
    _check_series(series)
    if proxy not in VOLATILITY_PROXIES:
        raise ValueError(f"volatility_proxy must be one of {', '.join(VOLATILITY_PROXIES)}, got {proxy!r}")
    if isinstance(window, bool) or not isinstance(window, int | np.integer) or window < 2:
        raise ValueError(f"realised_window must be an integer >= 2 (trading days), got {window!r}")
    start: Any = None if fit_start is None else parse_date("fit_start", fit_start)
    end: Any = None if fit_end is None else parse_date("fit_end", fit_end)
    if proxy in GARCH_PROXIES and (start is None or end is None):
        raise ValueError(f"volatility_proxy {proxy!r} needs the GARCH estimation sample (fit_start, fit_end)")
    return _proxy(series, proxy, start, end, int(window))
