"""SABR (β = 1): Hagan's formula via QuantLib, the ν = 0 and ν → 0 limits, the α law and argument checks."""

from __future__ import annotations

import numpy as np
import pytest

from hedgegym.market import SABR, GeometricBrownianMotion
from tests.market.oracles import discounted_call_payoff, mean_and_standard_error, sabr_call, years

DAYS = 182
N_STEPS = 91
# Short maturity and moderate ν, where Hagan's expansion is accurate: against 3 million paths of this simulator
# the Hagan price differed by < 0.01 (< 1 standard error there), far below the 100 000-path error (~0.03) used here.
SMILE = {"alpha": 0.2, "vol_of_vol": 0.3, "correlation": -0.3}


@pytest.fixture(scope="module")
def pricing_paths():
    model = SABR(spot=100.0, mu=0.1, rate=0.03, dividend=0.01, **SMILE)
    maturity = years(DAYS)
    return model, model.simulate(100_000, N_STEPS, maturity / N_STEPS, np.random.default_rng(15), measure="pricing")


@pytest.mark.parametrize("strike", [90.0, 100.0, 110.0])
def test_call_price_matches_hagan(pricing_paths, strike: float) -> None:
    model, paths = pricing_paths
    payoff = discounted_call_payoff(paths.spot[:, -1], strike, model.rate, paths.maturity)
    mean, standard_error = mean_and_standard_error(payoff)
    expected = sabr_call(model.spot, strike, DAYS, rate=model.rate, dividend=model.dividend, **SMILE)
    assert abs(mean - expected) < 3.0 * standard_error, (mean, expected, standard_error)


def test_alpha_is_lognormal_martingale(pricing_paths) -> None:
    """α_T = α₀ exp(νW_T − ν²T/2): E[α_T] = α₀ and E[α_T²] = α₀² e^{ν²T}; variance holds α²."""
    model, paths = pricing_paths
    alpha = paths.volatility
    np.testing.assert_array_equal(paths.variance[:, 0], model.alpha**2)
    mean, standard_error = mean_and_standard_error(alpha[:, -1])
    assert abs(mean - model.alpha) < 3.0 * standard_error
    mean, standard_error = mean_and_standard_error(paths.variance[:, -1])
    assert abs(mean - model.alpha**2 * np.exp(model.vol_of_vol**2 * paths.maturity)) < 3.0 * standard_error


def test_zero_vol_of_vol_is_geometric_brownian_motion_path_by_path() -> None:
    sabr = SABR(spot=90.0, alpha=0.3, vol_of_vol=0.0, correlation=-0.6, mu=0.05, rate=0.02)
    gbm = GeometricBrownianMotion(spot=90.0, volatility=0.3, mu=0.05, rate=0.02)
    for measure in ("real", "pricing"):
        a = sabr.simulate(200, 30, 0.01, np.random.default_rng(16), measure=measure)
        b = gbm.simulate(200, 30, 0.01, np.random.default_rng(16), measure=measure)
        np.testing.assert_allclose(a.spot, b.spot, rtol=1e-14)
        np.testing.assert_array_equal(a.variance, b.variance)


@pytest.mark.parametrize("correlation", [-1.0 + 1e-12, -0.4, 0.0, 0.7, 1.0 - 1e-12])
def test_tiny_vol_of_vol_tends_to_the_zero_limit(correlation: float) -> None:
    """The ρ(α_{t+Δ} − α_t)/ν term stays well conditioned as ν → 0 and the step tends to α√Δ Z_S."""
    tiny = SABR(alpha=0.25, vol_of_vol=1e-9, correlation=correlation)
    zero = SABR(alpha=0.25, vol_of_vol=0.0, correlation=correlation)
    a = tiny.simulate(100, 50, 0.02, np.random.default_rng(17))
    b = zero.simulate(100, 50, 0.02, np.random.default_rng(17))
    np.testing.assert_allclose(a.spot, b.spot, rtol=1e-7)
    np.testing.assert_allclose(a.variance, b.variance, rtol=1e-7)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("beta", 0.5),
        ("beta", 0.0),
        ("alpha", 0.0),
        ("alpha", -0.2),
        ("vol_of_vol", -0.3),
        ("correlation", 1.5),
        ("correlation", 1.0),
        ("correlation", -1.0),
        ("correlation", np.nan),
    ],
)
def test_bad_parameters_name_the_field(field: str, value: float) -> None:
    with pytest.raises(ValueError, match=field):
        SABR(**{field: value})


def test_beta_message_says_only_one_is_supported() -> None:
    with pytest.raises(ValueError, match=r"only beta = 1\.0 is supported"):
        SABR(beta=0.5)


@pytest.mark.parametrize("correlation", [-1.0, 1.0])
def test_correlation_at_plus_or_minus_one_is_refused_like_the_pricer_does(correlation: float) -> None:
    """ρ = ±1 used to pass here and be refused by the pricer at the first valuation: both now name (-1, 1)."""
    with pytest.raises(ValueError, match=r"correlation must be in the open interval \(-1, 1\)"):
        SABR(correlation=correlation)


def test_huge_vol_of_vol_keeps_alpha_squared_and_the_spot_positive() -> None:
    """ν = 20 over 3 years: ln α_T ~ N(−600, 35²) and α² underflowed to 0.0 (a state no pricer accepts); every
    node now holds a positive variance (α ≥ 1.5e-154) and a positive spot (≥ 2.2e-308), and the pricer values it."""
    from hedgegym.pricing.model_greeks import model_greeks

    model = SABR(spot=100.0, alpha=0.2, vol_of_vol=20.0, correlation=-0.5)
    paths = model.simulate(500, 12, 0.25, np.random.default_rng(18))
    assert np.all(paths.variance > 0.0) and np.all(np.isfinite(paths.variance))
    assert np.all(paths.spot > 0.0) and np.all(np.isfinite(paths.spot))
    assert np.mean(paths.variance[:, -1] < 1e-300) > 0.5  # most paths did reach the floor
    tau = np.broadcast_to(paths.maturity - paths.time, paths.spot.shape)
    for call in (True, False):
        g = model_greeks(model, paths.spot, 100.0, tau, call, paths.variance)
        assert all(np.all(np.isfinite(value)) for value in g)
