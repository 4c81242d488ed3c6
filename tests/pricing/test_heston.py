"""Heston Fourier pricer against QuantLib's AnalyticHestonEngine, finite differences and limits."""

from __future__ import annotations

import numpy as np
import pytest

from hedgegym.pricing import black_scholes, heston
from tests.pricing.quantlib_oracle import heston_price as quantlib_heston_price

PARAMETERS = {"mean_reversion": 1.5, "long_run_variance": 0.04, "vol_of_vol": 0.6, "correlation": -0.7}


def random_heston_sets(n: int, seed: int) -> list[dict]:
    """Wide ranges incl. Feller violations (σᵥ up to 1, κθ down to 0.002), ρ near −1, 1 week to 10 years."""
    rng = np.random.default_rng(seed)
    return [
        {
            "spot": 100.0,
            "strike": float(100.0 * np.exp(rng.uniform(-0.5, 0.5))),
            "days": int(rng.integers(7, 3651)),
            "variance": float(rng.uniform(0.005, 0.3)),
            "kappa": float(rng.uniform(0.2, 5.0)),
            "theta": float(rng.uniform(0.01, 0.2)),
            "sigma": float(rng.uniform(0.1, 1.0)),
            "rho": float(rng.uniform(-0.95, 0.5)),
            "rate": float(rng.uniform(0.0, 0.06)),
            "dividend": float(rng.uniform(0.0, 0.04)),
            "call": bool(rng.random() < 0.5),
        }
        for _ in range(n)
    ]


def test_prices_match_quantlib_analytic_heston_engine_on_300_random_sets():
    sets = random_heston_sets(300, seed=2026)
    expected = np.array([quantlib_heston_price(**p) for p in sets])
    column = {key: np.array([p[key] for p in sets]) for key in sets[0]}
    # one vectorised call for all 300 sets is not possible (model parameters are scalars), so group by set
    ours = np.array([
        heston.price(p["spot"], p["strike"], p["days"] / 365.0, p["variance"], p["kappa"], p["theta"], p["sigma"],
                     p["rho"], p["rate"], p["dividend"], p["call"])
        for p in sets
    ])
    feller_violations = int(np.sum(2 * column["kappa"] * column["theta"] < column["sigma"] ** 2))
    assert feller_violations > 50
    # relative error where the price is above 1e-6 of the spot (QuantLib rounds the far tail to 0)
    resolvable = expected >= 1e-6 * column["spot"]
    assert resolvable.sum() >= 295
    relative = np.abs(ours - expected)[resolvable] / expected[resolvable]
    assert relative.max() <= 1e-6, f"worst relative error {relative.max():.2e}"
    assert np.median(relative) < 1e-12
    np.testing.assert_allclose(ours[~resolvable], expected[~resolvable], atol=1e-10 * column["spot"][0])


def test_vectorised_call_equals_one_call_per_node():
    rng = np.random.default_rng(1)
    spot = 100.0 * np.exp(rng.normal(0.0, 0.15, 400))
    tau = rng.choice([1.0 / 252, 0.1, 0.5, 2.0], 400)
    variance = rng.gamma(4.0, 0.01, 400)
    call = rng.random(400) < 0.5
    together = heston.greeks(spot, 100.0, tau, variance, **PARAMETERS, rate=0.03, dividend=0.01, call=call)
    for i in range(0, 400, 37):
        alone = heston.greeks(spot[i], 100.0, tau[i], variance[i], **PARAMETERS, rate=0.03, dividend=0.01,
                              call=call[i])
        for got, want in zip(together, alone, strict=True):
            assert got[i] == pytest.approx(float(want), rel=1e-7, abs=1e-10)


def test_greeks_agree_with_finite_differences():
    spot = np.array([70.0, 90.0, 100.0, 110.0, 140.0])[:, None, None]
    tau = np.array([0.05, 0.5, 2.0])[None, :, None]
    variance = np.array([0.01, 0.04, 0.16])[None, None, :]
    for call in (True, False):
        def value(s=spot, t=tau, v=variance, call=call):
            return heston.price(s, 100.0, t, v, **PARAMETERS, rate=0.03, dividend=0.01, call=call)

        g = heston.greeks(spot, 100.0, tau, variance, **PARAMETERS, rate=0.03, dividend=0.01, call=call)
        # fourth-order stencils in spot: short-dated Γ varies on a scale of S·σ√τ, too fast for 2nd order
        h_s, h_v, h_t = 2e-3 * spot, 1e-5, 1e-5
        up, down, up2, down2 = (value(s=spot + c * h_s) for c in (1, -1, 2, -2))
        fd_delta = (8 * (up - down) - (up2 - down2)) / (12 * h_s)
        fd_gamma = (16 * (up + down) - (up2 + down2) - 30 * value()) / (12 * h_s**2)
        fd_vega = (value(v=variance + h_v) - value(v=variance - h_v)) / (2 * h_v)
        fd_theta = -(value(t=tau + h_t) - value(t=tau - h_t)) / (2 * h_t)
        np.testing.assert_allclose(g.delta, fd_delta, rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(g.gamma, fd_gamma, rtol=1e-3, atol=1e-6)
        np.testing.assert_allclose(g.vega, fd_vega, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(g.theta, fd_theta, rtol=1e-5, atol=1e-5)


def test_put_call_parity():
    spot = np.linspace(60.0, 160.0, 21)
    call = heston.price(spot, 100.0, 0.7, 0.05, **PARAMETERS, rate=0.04, dividend=0.02, call=True)
    put = heston.price(spot, 100.0, 0.7, 0.05, **PARAMETERS, rate=0.04, dividend=0.02, call=False)
    forward_value = spot * np.exp(-0.02 * 0.7) - 100.0 * np.exp(-0.04 * 0.7)
    np.testing.assert_allclose(call - put, forward_value, atol=1e-9)


def test_tiny_vol_of_vol_reduces_to_black_scholes_with_the_expected_average_variance():
    # σᵥ → 0 with v = θ: the variance stays at θ, so Heston = Black–Scholes with σ = √θ. With ρ = 0 the
    # difference is O(σᵥ²) (with ρ ≠ 0 it is O(ρσᵥ), the skew), so σᵥ = 1e-3 leaves ~1e-6 relative.
    spot = np.linspace(70.0, 140.0, 15)
    g = heston.greeks(spot, 100.0, 1.0, 0.04, 2.0, 0.04, 1e-3, 0.0, rate=0.02, call=True)
    b = black_scholes.greeks(spot, 100.0, 1.0, 0.2, rate=0.02, call=True)
    np.testing.assert_allclose(g.price, b.price, rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(g.delta, b.delta, rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(g.gamma, b.gamma, rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(g.theta, b.theta, rtol=1e-5, atol=1e-7)
    # vega per unit variance: ∂V/∂v = vega_BS / (2σ) × (1 − e^{−κτ})/(κτ)
    expected_vega = b.vega / (2 * 0.2) * (1 - np.exp(-2.0)) / 2.0
    np.testing.assert_allclose(g.vega, expected_vega, rtol=1e-4, atol=1e-8)


def test_expiry_and_extreme_nodes_are_finite():
    spot = np.array([1.0, 50.0, 100.0, 200.0, 1e4])[:, None, None]
    tau = np.array([0.0, 1e-8, 1.0 / 252, 1.0, 30.0])[None, :, None]
    variance = np.array([0.0, 1e-6, 0.04, 2.0])[None, None, :]
    for call in (True, False):
        g = heston.greeks(spot, 100.0, tau, variance, **PARAMETERS, rate=0.02, call=call)
        for field in g:
            assert field.shape == (5, 5, 4)
            assert np.all(np.isfinite(field))
        at_expiry = g.price[:, 0, :]
        intrinsic = np.maximum((1 if call else -1) * (spot[:, 0, :] - 100.0), 0.0)
        np.testing.assert_array_equal(at_expiry, np.broadcast_to(intrinsic, at_expiry.shape))


@pytest.mark.parametrize(
    ("overrides", "argument"),
    [
        ({"correlation": 1.5}, "correlation"),
        ({"vol_of_vol": -0.1}, "vol_of_vol"),
        ({"mean_reversion": -1.0}, "mean_reversion"),
        ({"long_run_variance": -0.01}, "long_run_variance"),
    ],
)
def test_bad_model_parameters_raise_value_error_naming_them(overrides, argument):
    with pytest.raises(ValueError, match=argument):
        heston.price(100.0, 100.0, 1.0, 0.04, **(PARAMETERS | overrides))


def test_bad_node_inputs_raise_value_error_naming_them():
    with pytest.raises(ValueError, match="variance"):
        heston.price(100.0, 100.0, 1.0, -0.04, **PARAMETERS)
    with pytest.raises(ValueError, match="time_to_maturity"):
        heston.price(100.0, 100.0, -1.0, 0.04, **PARAMETERS)
    with pytest.raises(ValueError, match="strike"):
        heston.price(100.0, 0.0, 1.0, 0.04, **PARAMETERS)


def test_short_dated_far_from_the_money_nodes_match_quantlib():
    """Nodes as they occur along simulated paths: 1 day to 3 months, up to 11 standard deviations away."""
    model = (2.0, 0.04, 0.8, -0.8)
    worst = 0.0
    for days in (1, 5, 21, 63):
        tau = days / 365.0
        for variance in (0.005, 0.04, 0.2):
            std = np.sqrt(variance * tau)
            for distance in (-11, -8, -5, -3, -1, 0, 1, 3, 5, 8, 11):
                strike = float(100.0 * np.exp(distance * std))
                for call in (True, False):
                    expected = quantlib_heston_price(100.0, strike, days, variance, *model, 0.0, 0.0, call)
                    ours = float(heston.price(100.0, strike, tau, variance, *model, call=call))
                    worst = max(worst, abs(ours - expected))
    assert worst <= 1e-10 * 100.0
