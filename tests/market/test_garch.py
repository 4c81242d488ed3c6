"""The GARCH market against arch's own fit and the GJR-GARCH-t moment recursions (closed forms)."""

from __future__ import annotations

import arch.data.sp500
import numpy as np
import pytest
from arch import arch_model

from hedgegym.market import GarchMarket

DAY = 1.0 / 252.0


def test_the_fit_is_archs_fit_of_the_same_model_and_sample():
    returns = 100.0 * np.log(arch.data.sp500.load()["Close"]).diff().dropna()
    expected = arch_model(returns.loc["2003-01-02":"2012-12-31"], mean="Constant", vol="GARCH", p=1, o=1, q=1,
                          dist="t").fit(disp="off")
    fit = GarchMarket(fit_start="2003-01-01", fit_end="2012-12-31").fit
    assert fit.result.nobs == expected.nobs == len(returns.loc["2003-01-02":"2012-12-31"])
    np.testing.assert_allclose(fit.params.to_numpy(), expected.params.to_numpy(), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(fit.std_err.to_numpy(), expected.std_err.to_numpy(), rtol=1e-3, atol=1e-6)
    assert list(fit.table().columns) == ["estimate", "std_err", "t"]


def moments(market: GarchMarket, n_steps: int, h0: float) -> tuple[np.ndarray, np.ndarray]:
    """E ε_i² and E ε_i⁴ for i = 0 … n_steps − 1 from h_0 = h0 (module docstring of hedgegym.market.garch)."""
    p = market.fit.params
    omega, alpha, gamma, beta, nu = (float(p[k]) for k in ("omega", "alpha[1]", "gamma[1]", "beta[1]", "nu"))
    kurtosis_z = 3.0 * (nu - 2.0) / (nu - 4.0)
    persistence = alpha + gamma / 2 + beta
    second = beta**2 + 2 * beta * (alpha + gamma / 2) + kurtosis_z * (alpha**2 + alpha * gamma + gamma**2 / 2)
    h, h2, e2, e4 = h0, h0**2, [], []
    for _ in range(n_steps):
        e2.append(h)
        e4.append(kurtosis_z * h2)
        h, h2 = omega + persistence * h, omega**2 + 2 * omega * persistence * h + second * h2
    return np.array(e2), np.array(e4)


@pytest.mark.parametrize("start", ["unconditional", "sampled"])
def test_simulated_variance_and_kurtosis_match_the_fitted_model(start):
    market = GarchMarket(initial_variance=start)
    n_paths, n_steps = 200_000, 21
    paths = market.simulate(n_paths, n_steps, DAY, np.random.default_rng(11))
    shocks = 100.0 * np.diff(np.log(paths.spot), axis=1) - float(market.fit.params["mu"])
    # the paths' variance is h_i annualised: the conditional variance of the step's shock
    h = paths.variance[:, :-1] * 1e4 / 252.0
    if start == "unconditional":
        np.testing.assert_allclose(h[:, 0], market.fit.unconditional_variance, rtol=1e-12)
        e2, e4 = moments(market, n_steps, market.fit.unconditional_variance)
        for i in (0, 10, 20):
            squared, fourth = shocks[:, i] ** 2, shocks[:, i] ** 4
            assert abs(squared.mean() - e2[i]) < 5 * squared.std() / np.sqrt(n_paths)
            assert abs(fourth.mean() - e4[i]) < 5 * fourth.std() / np.sqrt(n_paths)
        # stationary start: the unconditional variance at every step
        assert shocks.var() == pytest.approx(market.fit.unconditional_variance, rel=0.02)
    # given h_i the shock is √h_i z with z a unit-variance Student t: its kurtosis is κ_z whatever the start
    z = shocks / np.sqrt(h)
    nu = float(market.fit.params["nu"])
    assert z.var() == pytest.approx(1.0, abs=0.01)
    assert np.mean(z**4) == pytest.approx(3.0 * (nu - 2.0) / (nu - 4.0), rel=0.05)


def test_simulation_repeats_with_the_seed_and_starts_at_the_spot():
    market = GarchMarket(spot=50.0)
    first = market.simulate(100, 21, DAY, np.random.default_rng(5))
    np.testing.assert_array_equal(first.spot, market.simulate(100, 21, DAY, np.random.default_rng(5)).spot)
    assert (first.spot[:, 0] == 50.0).all()
    assert market.reference_volatility == pytest.approx(np.sqrt(252 * market.fit.unconditional_variance) / 100)


@pytest.mark.parametrize(
    ("fields", "message"),
    [({"series": "dax"}, "series must be one of"), ({"mu": 0.1}, "mu must be 0 for a GARCH market"),
     ({"initial_variance": "last"}, "initial_variance must be one of sampled, unconditional"),
     ({"fit_start": "2012-06-01", "fit_end": "2012-12-31"}, "must hold at least 250 daily returns"),
     ({"fit_end": "2020-01-01"}, "fit_start .. fit_end must be an increasing pair within the sp500 data")],
)
def test_bad_fields_are_refused_by_name(fields, message):
    with pytest.raises(ValueError, match=message):
        GarchMarket(**fields)

