"""model_greeks dispatches each market model to its own pricer with the model's parameters."""

from __future__ import annotations

import numpy as np
import pytest

from hedgegym.market import SABR, GeometricBrownianMotion, Heston, MertonJumpDiffusion, RegimeSwitchingVolatility
from hedgegym.pricing import black_scholes, heston, merton, sabr
from hedgegym.pricing.model_greeks import model_greeks
from tests.pricing.test_heston import ISSUE, black_scholes_limit, oracle_greeks

SPOT = np.array([90.0, 100.0, 110.0])


def test_each_model_uses_its_own_pricer_and_parameters():
    gbm = GeometricBrownianMotion(volatility=0.3, rate=0.03, dividend=0.01)
    np.testing.assert_array_equal(model_greeks(gbm, SPOT, 100.0, 0.5, False).price,
                                  black_scholes.price(SPOT, 100.0, 0.5, 0.3, 0.03, 0.01, False))
    model = Heston(initial_variance=0.05, rate=0.02)
    np.testing.assert_array_equal(
        model_greeks(model, SPOT, 100.0, 0.5, True, variance=np.array([0.01, 0.04, 0.09])).vega,
        heston.greeks(SPOT, 100.0, 0.5, np.array([0.01, 0.04, 0.09]), 2.0, 0.04, 0.5, -0.7, 0.02).vega,
    )
    assert model_greeks(model, 100.0, 100.0, 0.5).price == pytest.approx(
        float(heston.price(100.0, 100.0, 0.5, 0.05, 2.0, 0.04, 0.5, -0.7, 0.02)), rel=1e-14)
    jumps = MertonJumpDiffusion(jump_intensity=2.0)
    np.testing.assert_array_equal(model_greeks(jumps, SPOT, 100.0, 0.5).theta,
                                  merton.greeks(SPOT, 100.0, 0.5, 0.2, 2.0, -0.1, 0.15).theta)
    smile = SABR(alpha=0.25)
    np.testing.assert_allclose(model_greeks(smile, SPOT, 100.0, 0.5, variance=0.09).price,
                               sabr.price(SPOT, 100.0, 0.5, 0.3, 1.0, 0.3, -0.3), rtol=1e-14)


def test_heston_without_vol_of_vol_is_black_scholes_at_the_average_variance():
    # reference: QuantLib's Black–Scholes at the deterministic average variance, vega and Θ by the chain rule
    deterministic = Heston(initial_variance=0.09, mean_reversion=1.5, long_run_variance=0.04, vol_of_vol=0.0,
                           correlation=0.0, rate=0.02)
    days = np.array([7, 91, 730])[:, None]
    g = model_greeks(deterministic, SPOT, 100.0, days / 365.0)
    want = black_scholes_limit(SPOT, 100.0, days, 0.09, 1.5, 0.04, 0.02, 0.0, True)
    for name, got, expected in zip(g._fields, g, want, strict=True):
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-13, err_msg=name)


def test_heston_greeks_are_continuous_and_accurate_across_the_former_vol_of_vol_switch():
    # model_greeks used Black–Scholes below σᵥ = 1e-8 (2e-9 off there: the O(σᵥ) skew) and the Fourier pricer
    # from 1e-8 (13 % off there: cancellation in the characteristic exponent); now one accurate formula for all σᵥ
    s, k, days, v, kappa, theta, rho, r, q = ISSUE
    want = oracle_greeks(s, k, days, v, kappa, theta, 1e-8, rho, r, q)  # mpmath, ≥ 30 digits
    for sigma in (1e-8 * (1.0 - 1e-9), 1e-8, 1e-8 * (1.0 + 1e-9)):
        model = Heston(initial_variance=v, mean_reversion=kappa, long_run_variance=theta, vol_of_vol=sigma,
                       correlation=rho, rate=r, dividend=q)
        got = np.array([float(x) for x in model_greeks(model, s, k, days / 365.0)])
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=0.0, err_msg=f"σᵥ = {sigma!r}")


def test_regime_switching_has_no_closed_form():
    with pytest.raises(ValueError, match="no closed-form pricer"):
        model_greeks(RegimeSwitchingVolatility(), 100.0, 100.0, 0.5)
