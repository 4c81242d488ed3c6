"""QuantLib as the independent oracle: thin loops that build QuantLib objects per parameter set.

Times are given to QuantLib as whole days with Actual/365 Fixed, so the parameter sets use τ = days/365.
"""

from __future__ import annotations

import numpy as np
import QuantLib as ql

TODAY = ql.Date(15, ql.January, 2025)
DAY_COUNT = ql.Actual365Fixed()


def _flat(rate: float) -> ql.YieldTermStructureHandle:
    return ql.YieldTermStructureHandle(ql.FlatForward(TODAY, rate, DAY_COUNT))


def flat_volatility(volatility: float) -> ql.BlackVolTermStructureHandle:
    return ql.BlackVolTermStructureHandle(ql.BlackConstantVol(TODAY, ql.NullCalendar(), volatility, DAY_COUNT))


def _option(strike: float, days: int, call: bool) -> ql.VanillaOption:
    payoff = ql.PlainVanillaPayoff(ql.Option.Call if call else ql.Option.Put, strike)
    return ql.VanillaOption(payoff, ql.EuropeanExercise(TODAY + int(days)))


def black_scholes(spot, strike, days, volatility, rate, dividend, call) -> dict[str, np.ndarray]:
    """Price, delta, gamma, vega (per 1.00 vol), theta (per year) from AnalyticEuropeanEngine."""
    ql.Settings.instance().evaluationDate = TODAY
    out = {name: np.empty(len(spot)) for name in ("price", "delta", "gamma", "vega", "theta")}
    for i in range(len(spot)):
        process = ql.BlackScholesMertonProcess(
            ql.QuoteHandle(ql.SimpleQuote(float(spot[i]))),
            _flat(float(dividend[i])),
            _flat(float(rate[i])),
            flat_volatility(float(volatility[i])),
        )
        option = _option(float(strike[i]), int(days[i]), bool(call[i]))
        option.setPricingEngine(ql.AnalyticEuropeanEngine(process))
        out["price"][i] = option.NPV()
        out["delta"][i] = option.delta()
        out["gamma"][i] = option.gamma()
        out["vega"][i] = option.vega()
        out["theta"][i] = option.theta()
    return out


def heston_price(spot, strike, days, variance, kappa, theta, sigma, rho, rate, dividend, call) -> float:
    """AnalyticHestonEngine with adaptive Gauss–Lobatto integration at 1e-13 relative tolerance."""
    ql.Settings.instance().evaluationDate = TODAY
    process = ql.HestonProcess(
        _flat(rate), _flat(dividend), ql.QuoteHandle(ql.SimpleQuote(spot)), variance, kappa, theta, sigma, rho
    )
    option = _option(strike, days, call)
    option.setPricingEngine(ql.AnalyticHestonEngine(ql.HestonModel(process), 1e-13, 1_000_000))
    return option.NPV()
