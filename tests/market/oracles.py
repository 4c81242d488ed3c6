"""Independent closed forms for the Monte Carlo checks: QuantLib engines and a scipy Black–Scholes.

QuantLib is given whole days with Actual/365 Fixed, so a maturity of ``days`` days is T = days / 365 years in
the simulators too.
"""

from __future__ import annotations

import numpy as np
import QuantLib as ql
from scipy.stats import norm, poisson

TODAY = ql.Date(15, ql.January, 2025)
DAY_COUNT = ql.Actual365Fixed()


def years(days: int) -> float:
    return days / 365.0


def _flat(rate: float) -> ql.YieldTermStructureHandle:
    return ql.YieldTermStructureHandle(ql.FlatForward(TODAY, rate, DAY_COUNT))


def _flat_volatility(volatility: float) -> ql.BlackVolTermStructureHandle:
    return ql.BlackVolTermStructureHandle(ql.BlackConstantVol(TODAY, ql.NullCalendar(), volatility, DAY_COUNT))


def _call(strike: float, days: int) -> ql.VanillaOption:
    ql.Settings.instance().evaluationDate = TODAY
    payoff = ql.PlainVanillaPayoff(ql.Option.Call, strike)
    return ql.VanillaOption(payoff, ql.EuropeanExercise(TODAY + days))


def black_scholes_call(spot: float, strike: float, days: int, volatility: float, rate: float, dividend: float) -> float:
    """QuantLib AnalyticEuropeanEngine."""
    option = _call(strike, days)
    process = ql.BlackScholesMertonProcess(
        ql.QuoteHandle(ql.SimpleQuote(spot)), _flat(dividend), _flat(rate), _flat_volatility(volatility)
    )
    option.setPricingEngine(ql.AnalyticEuropeanEngine(process))
    return option.NPV()


def heston_call(
    spot: float,
    strike: float,
    days: int,
    *,
    initial_variance: float,
    mean_reversion: float,
    long_run_variance: float,
    vol_of_vol: float,
    correlation: float,
    rate: float,
    dividend: float,
) -> float:
    """QuantLib AnalyticHestonEngine (semi-closed form)."""
    option = _call(strike, days)
    process = ql.HestonProcess(
        _flat(rate),
        _flat(dividend),
        ql.QuoteHandle(ql.SimpleQuote(spot)),
        initial_variance,
        mean_reversion,
        long_run_variance,
        vol_of_vol,
        correlation,
    )
    option.setPricingEngine(ql.AnalyticHestonEngine(ql.HestonModel(process)))
    return option.NPV()


def merton_call(
    spot: float,
    strike: float,
    days: int,
    *,
    volatility: float,
    jump_intensity: float,
    jump_mean: float,
    jump_std: float,
    rate: float,
    dividend: float,
) -> float:
    """QuantLib's Bates engine with the Heston part frozen: v₀ = θ = σ², σ_v = 1e-4 (negligible), i.e. Merton 1976.

    This QuantLib build has ``Merton76Process`` but no ``JumpDiffusionEngine``; Bates with a constant variance is
    Merton's model (jump sizes ln J ~ N(ν, δ²), intensity λ, drift compensated by λ(e^{ν + δ²/2} − 1)).
    ``merton_series_call`` checks this choice.
    """
    option = _call(strike, days)
    variance = volatility**2
    process = ql.BatesProcess(
        _flat(rate),
        _flat(dividend),
        ql.QuoteHandle(ql.SimpleQuote(spot)),
        variance,  # v0
        1.0,  # kappa
        variance,  # theta = v0: the variance stays put
        1e-4,  # sigma_v, negligible
        0.0,  # rho
        jump_intensity,
        jump_mean,
        jump_std,
    )
    option.setPricingEngine(ql.BatesEngine(ql.BatesModel(process)))
    return option.NPV()


def merton_series_call(
    spot: float,
    strike: float,
    maturity: float,
    *,
    volatility: float,
    jump_intensity: float,
    jump_mean: float,
    jump_std: float,
    rate: float,
    dividend: float,
    n_terms: int = 60,
) -> float:
    """Merton's (1976) series Σₙ Poisson(n; λ'T) · BS(σₙ, rₙ).

    λ' = λ(1 + k), σₙ² = σ² + nδ²/T, rₙ = r − λk + n ln(1 + k)/T.
    """
    k = np.expm1(jump_mean + 0.5 * jump_std**2)
    intensity = jump_intensity * (1.0 + k)
    n = np.arange(n_terms)
    weights = poisson.pmf(n, intensity * maturity)
    sigma_n = np.sqrt(volatility**2 + n * jump_std**2 / maturity)
    rate_n = rate - jump_intensity * k + n * np.log1p(k) / maturity
    prices = scipy_black_scholes_call(spot, strike, maturity, sigma_n, rate_n, dividend)
    return float(np.sum(weights * prices))


def sabr_call(
    spot: float,
    strike: float,
    days: int,
    *,
    alpha: float,
    vol_of_vol: float,
    correlation: float,
    rate: float,
    dividend: float,
) -> float:
    """Hagan's β = 1 implied volatility (ql.sabrVolatility) into QuantLib's Black formula on the forward."""
    maturity = years(days)
    forward = spot * np.exp((rate - dividend) * maturity)
    volatility = ql.sabrVolatility(strike, forward, maturity, alpha, 1.0, vol_of_vol, correlation)
    discount = float(np.exp(-rate * maturity))
    return ql.blackFormula(ql.Option.Call, strike, forward, volatility * np.sqrt(maturity), discount)


def scipy_black_scholes_call(spot, strike, maturity, volatility, rate, dividend) -> np.ndarray:
    """Vectorised Black–Scholes–Merton call from scipy's normal CDF (volatility > 0)."""
    volatility = np.asarray(volatility, dtype=np.float64)
    std = volatility * np.sqrt(maturity)
    forward = spot * np.exp((rate - dividend) * maturity)
    d1 = np.log(forward / strike) / std + 0.5 * std
    d2 = d1 - std
    return np.exp(-rate * maturity) * (forward * norm.cdf(d1) - strike * norm.cdf(d2))


def discounted_call_payoff(spot_at_maturity: np.ndarray, strike: float, rate: float, maturity: float) -> np.ndarray:
    return np.exp(-rate * maturity) * np.maximum(spot_at_maturity - strike, 0.0)


def mean_and_standard_error(sample: np.ndarray) -> tuple[float, float]:
    return float(np.mean(sample)), float(np.std(sample, ddof=1) / np.sqrt(sample.size))
