"""Heston (Andersen QE): QuantLib prices, QE moments, non-negative variance, martingale, deterministic limits."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.polynomial.hermite_e import hermegauss
from numpy.polynomial.laguerre import laggauss

from hedgegym.market import Heston
from hedgegym.market.heston import DETERMINISTIC_VOL_OF_VOL, PSI_CRITICAL, qe_step
from tests.market.oracles import (
    black_scholes_call,
    discounted_call_payoff,
    heston_call,
    mean_and_standard_error,
    years,
)

DAYS = 182
N_STEPS = 91
PARAMETER_SETS = {
    "feller_satisfied": {
        "initial_variance": 0.05,
        "mean_reversion": 3.0,
        "long_run_variance": 0.04,
        "vol_of_vol": 0.4,
        "correlation": -0.7,
    },
    "feller_violated": {
        "initial_variance": 0.04,
        "mean_reversion": 0.5,
        "long_run_variance": 0.04,
        "vol_of_vol": 1.0,
        "correlation": -0.9,
    },
}
FELLER_VIOLATED = PARAMETER_SETS["feller_violated"]


@pytest.fixture(scope="module", params=list(PARAMETER_SETS))
def pricing_paths(request):
    parameters = PARAMETER_SETS[request.param]
    model = Heston(spot=100.0, mu=0.1, rate=0.03, dividend=0.01, **parameters)
    maturity = years(DAYS)
    paths = model.simulate(100_000, N_STEPS, maturity / N_STEPS, np.random.default_rng(13), measure="pricing")
    return model, parameters, paths


def test_call_prices_match_quantlib_analytic_heston(pricing_paths) -> None:
    model, parameters, paths = pricing_paths
    for strike in (90.0, 100.0, 110.0):
        payoff = discounted_call_payoff(paths.spot[:, -1], strike, model.rate, paths.maturity)
        mean, standard_error = mean_and_standard_error(payoff)
        expected = heston_call(model.spot, strike, DAYS, rate=model.rate, dividend=model.dividend, **parameters)
        assert abs(mean - expected) < 3.0 * standard_error, (strike, mean, expected, standard_error)


def test_feller_flag() -> None:
    assert Heston(**PARAMETER_SETS["feller_satisfied"]).feller_satisfied
    assert not Heston(**FELLER_VIOLATED).feller_satisfied


@pytest.mark.parametrize("dt", [1.0 / 365.0, 0.1, 0.5])
def test_variance_never_negative_when_feller_fails(dt: float) -> None:
    model = Heston(**FELLER_VIOLATED)
    paths = model.simulate(20_000, 20, dt, np.random.default_rng(6))
    assert np.all(np.isfinite(paths.variance)) and paths.variance.min() >= 0.0
    assert np.all(np.isfinite(paths.spot)) and paths.spot.min() > 0.0


def test_variance_reaches_zero_when_feller_fails() -> None:
    """The exponential branch puts mass exactly at 0, as the continuous-time process does."""
    paths = Heston(**FELLER_VIOLATED).simulate(20_000, 50, 0.02, np.random.default_rng(7))
    assert np.mean(paths.variance[:, 1:] == 0.0) > 0.01


@pytest.mark.parametrize("initial_variance", [0.09, 0.0005], ids=["quadratic_branch", "exponential_branch"])
def test_one_qe_step_matches_the_exact_conditional_moments(initial_variance: float) -> None:
    kappa, theta, sigma, dt = 0.5, 0.04, 1.0, 0.05
    model = Heston(initial_variance=initial_variance, mean_reversion=kappa, long_run_variance=theta, vol_of_vol=sigma)
    decay = np.exp(-kappa * dt)
    mean = theta + (initial_variance - theta) * decay
    variance = initial_variance * sigma**2 * decay * (1 - decay) / kappa + theta * sigma**2 * (1 - decay) ** 2 / (
        2 * kappa
    )
    psi = variance / mean**2
    assert (psi <= PSI_CRITICAL) == (initial_variance == 0.09)

    v = model.simulate(200_000, 1, dt, np.random.default_rng(8)).variance[:, 1]
    sample_mean, mean_error = mean_and_standard_error(v)
    assert abs(sample_mean - mean) < 3.0 * mean_error
    sample_variance, variance_error = mean_and_standard_error((v - v.mean()) ** 2)
    assert abs(sample_variance - variance) < 3.0 * variance_error


def _one_step_by_quadrature(
    initial_variance: float, correlation: float, branch: str, martingale_correction: bool
) -> tuple[float, float, float]:
    """E[v'], Var[v'] and E[S_Δ/S_0]·e^{−drift·Δ} of one ``qe_step`` from v₀, by exact quadrature.

    Z_S and (quadratic branch) Z_v by Gauss–Hermite; (exponential branch) U by the point mass p at v' = 0 plus
    Gauss–Laguerre nodes y_k mapped to U = 1 − (1 − p) e^{−y_k}, i.e. v' = y_k / β.
    """
    kappa, theta, sigma, dt = FELLER_VIOLATED["mean_reversion"], FELLER_VIOLATED["long_run_variance"], 1.0, 0.1
    z_nodes, z_weights = hermegauss(40)
    z_weights = z_weights / z_weights.sum()
    decay = np.exp(-kappa * dt)
    mean = theta + (initial_variance - theta) * decay
    variance = initial_variance * sigma**2 * decay * (1 - decay) / kappa + theta * sigma**2 * (1 - decay) ** 2 / (
        2 * kappa
    )
    psi = variance / mean**2
    if branch == "quadratic":
        assert psi <= PSI_CRITICAL
        z_variance, uniform, weights = z_nodes, np.full(z_nodes.shape, 0.5), z_weights
    else:
        assert psi > PSI_CRITICAL
        p = (psi - 1) / (psi + 1)
        y, y_weights = laggauss(8)
        uniform = np.concatenate([[0.0], 1.0 - (1.0 - p) * np.exp(-y)])
        weights = np.concatenate([[p], (1.0 - p) * y_weights])
        z_variance = np.zeros(uniform.shape)
    n = z_nodes.size
    next_v, log_increment = qe_step(
        np.full(weights.size * n, initial_variance),
        np.repeat(z_variance, n),
        np.repeat(uniform, n),
        np.tile(z_nodes, weights.size),
        dt=dt,
        mean_reversion=kappa,
        long_run_variance=theta,
        vol_of_vol=sigma,
        correlation=correlation,
        martingale_correction=martingale_correction,
    )
    grid_weights = np.repeat(weights, n) * np.tile(z_weights, weights.size)
    expected_v = grid_weights @ next_v
    return (
        expected_v / mean - 1.0,
        grid_weights @ (next_v - expected_v) ** 2 / variance - 1.0,
        grid_weights @ np.exp(log_increment) - 1.0,
    )


@pytest.mark.parametrize("correlation", [-0.9, 0.0, 0.9])
@pytest.mark.parametrize(("initial_variance", "branch"), [(0.09, "quadratic"), (0.0005, "exponential")])
def test_qe_step_moments_and_martingale_correction_by_quadrature(
    initial_variance: float, branch: str, correlation: float
) -> None:
    """QE matches the conditional mean and variance of v exactly, and the corrected step is an exact martingale."""
    mean_error, variance_error, martingale_error = _one_step_by_quadrature(initial_variance, correlation, branch, True)
    assert abs(mean_error) < 1e-12 and abs(variance_error) < 1e-12
    assert abs(martingale_error) < 1e-12
    # Andersen's uncorrected K₀ misses by ~1e-7..1e-5 here (0 when ρ = 0): the check above can tell them apart.
    uncorrected = _one_step_by_quadrature(initial_variance, correlation, branch, False)[2]
    assert (abs(uncorrected) > 1e-7) == (correlation != 0.0)


@pytest.mark.parametrize("correlation", [-1.0, 1.0])
def test_perfect_correlation_works(correlation: float) -> None:
    paths = Heston(correlation=correlation).simulate(1_000, 10, 0.01, np.random.default_rng(10))
    assert np.all(np.isfinite(paths.spot)) and paths.variance.min() >= 0.0


@pytest.mark.parametrize("measure", ["real", "pricing"])
def test_zero_variance_is_deterministic(measure: str) -> None:
    model = Heston(
        spot=90.0, initial_variance=0.0, long_run_variance=0.0, vol_of_vol=0.0, mu=0.08, rate=0.02, dividend=0.01
    )
    paths = model.simulate(3, 100, 0.01, np.random.default_rng(0), measure=measure)
    np.testing.assert_allclose(paths.spot, np.broadcast_to(90.0 * np.exp(model.drift(measure) * paths.time), (3, 101)))
    np.testing.assert_array_equal(paths.variance, 0.0)


@pytest.mark.parametrize("mean_reversion", [0.0, 2.0])
def test_zero_vol_of_vol_follows_the_variance_ode_and_prices_like_black_scholes(mean_reversion: float) -> None:
    """σ_v = 0: v_t = θ + (v₀ − θ) e^{−κt} exactly, and the call is Black–Scholes with σ² = ∫v dt / T."""
    v0, theta = 0.09, 0.02
    model = Heston(
        initial_variance=v0,
        mean_reversion=mean_reversion,
        long_run_variance=theta,
        vol_of_vol=0.0,
        correlation=-0.5,
        rate=0.03,
    )
    maturity = years(DAYS)
    paths = model.simulate(50_000, N_STEPS, maturity / N_STEPS, np.random.default_rng(14), measure="pricing")
    expected_variance = theta + (v0 - theta) * np.exp(-mean_reversion * paths.time)
    np.testing.assert_allclose(paths.variance, np.broadcast_to(expected_variance, paths.variance.shape), rtol=1e-12)

    if mean_reversion == 0.0:
        integrated = v0 * maturity
    else:
        integrated = theta * maturity + (v0 - theta) * (1.0 - np.exp(-mean_reversion * maturity)) / mean_reversion
    expected = black_scholes_call(100.0, 100.0, DAYS, np.sqrt(integrated / maturity), 0.03, 0.0)
    mean, standard_error = mean_and_standard_error(discounted_call_payoff(paths.spot[:, -1], 100.0, 0.03, maturity))
    assert abs(mean - expected) < 3.0 * standard_error, (mean, expected, standard_error)


@pytest.mark.parametrize("vol_of_vol", [1e-200, 1e-12, 0.99e-8])
def test_negligible_vol_of_vol_uses_the_exact_variance_ode(vol_of_vol: float) -> None:
    """Below DETERMINISTIC_VOL_OF_VOL the ill-conditioned 1/σ_v terms are avoided: same paths as σ_v = 0."""
    assert vol_of_vol < DETERMINISTIC_VOL_OF_VOL
    tiny = Heston(initial_variance=0.09, vol_of_vol=vol_of_vol, correlation=0.8)
    zero = Heston(initial_variance=0.09, vol_of_vol=0.0, correlation=0.8)
    a = tiny.simulate(100, 20, 0.05, np.random.default_rng(26))
    b = zero.simulate(100, 20, 0.05, np.random.default_rng(26))
    np.testing.assert_array_equal(a.spot, b.spot)
    np.testing.assert_array_equal(a.variance, b.variance)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("correlation", 1.5),
        ("correlation", -1.01),
        ("vol_of_vol", -0.1),
        ("initial_variance", -0.01),
        ("mean_reversion", -1.0),
        ("long_run_variance", -0.04),
        ("long_run_variance", np.inf),
    ],
)
def test_bad_parameters_name_the_field(field: str, value: float) -> None:
    with pytest.raises(ValueError, match=field):
        Heston(**{field: value})
