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


def merton_price(spot, strike, days, volatility, intensity, jump_mean, jump_std, rate, dividend, call) -> float:
    """QuantLib has no Python binding of its Merton engine, so: BatesEngine (Heston + Merton jumps, Fourier
    integration to 1e-12) with constant variance v = σ², vol-of-vol 1e-4 and ρ = 0, which is Merton's model up
    to an O(σᵥ²) ≈ 1e-8 relative difference."""
    ql.Settings.instance().evaluationDate = TODAY
    variance = volatility**2
    process = ql.BatesProcess(
        _flat(rate), _flat(dividend), ql.QuoteHandle(ql.SimpleQuote(spot)), variance, 1.0, variance, 1e-4, 0.0,
        intensity, jump_mean, jump_std,
    )
    option = _option(strike, days, call)
    option.setPricingEngine(ql.BatesEngine(ql.BatesModel(process), 1e-12, 100_000_000))
    return option.NPV()


def down_and_out_call(spot, strike, barrier, days, volatility, rate, dividend) -> dict[str, np.ndarray]:
    """Down-and-out call, zero rebate, continuously monitored: AnalyticBarrierEngine (Reiner–Rubinstein).

    The engine gives the price only; delta and gamma are central differences of its price in the spot quote,
    Richardson-extrapolated over the steps h and h/2 (error O(h⁴)), with h = 0.003 · min(S, S − B) so that no
    bumped spot reaches the barrier.
    """
    ql.Settings.instance().evaluationDate = TODAY
    out = {name: np.empty(len(spot)) for name in ("price", "delta", "gamma")}
    for i in range(len(spot)):
        quote = ql.SimpleQuote(float(spot[i]))
        process = ql.BlackScholesMertonProcess(
            ql.QuoteHandle(quote), _flat(float(dividend[i])), _flat(float(rate[i])),
            flat_volatility(float(volatility[i])),
        )
        option = ql.BarrierOption(
            ql.Barrier.DownOut, float(barrier[i]), 0.0, ql.PlainVanillaPayoff(ql.Option.Call, float(strike[i])),
            ql.EuropeanExercise(TODAY + int(days[i])),
        )
        option.setPricingEngine(ql.AnalyticBarrierEngine(process))

        def value_at(s: float, quote=quote, option=option) -> float:
            quote.setValue(s)
            return option.NPV()

        s0 = float(spot[i])
        h = 0.003 * min(s0, s0 - float(barrier[i]))
        centre = value_at(s0)
        first, second = [], []
        for step in (h, h / 2):
            up, down = value_at(s0 + step), value_at(s0 - step)
            first.append((up - down) / (2 * step))
            second.append((up - 2 * centre + down) / step**2)
        out["price"][i] = centre
        out["delta"][i] = (4 * first[1] - first[0]) / 3
        out["gamma"][i] = (4 * second[1] - second[0]) / 3
    return out
