"""Properties every market model shares: shapes, time grid, determinism, argument checks, drift under each measure."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from hedgegym.market import (
    SABR,
    GeometricBrownianMotion,
    Heston,
    MarketModel,
    MarketPaths,
    MertonJumpDiffusion,
    RegimeSwitchingVolatility,
)
from tests.market.oracles import mean_and_standard_error


def _adversary(time: float, spot: np.ndarray) -> np.ndarray:
    """High volatility above the initial spot, low below."""
    return np.where(spot > 100.0, np.inf, 0.0)


MODELS = {
    "gbm": lambda **kw: GeometricBrownianMotion(volatility=0.25, **kw),
    "heston": lambda **kw: Heston(
        initial_variance=0.05, mean_reversion=1.5, long_run_variance=0.04, vol_of_vol=0.6, correlation=-0.7, **kw
    ),
    "heston_feller_violated": lambda **kw: Heston(
        initial_variance=0.04, mean_reversion=0.5, long_run_variance=0.04, vol_of_vol=1.0, correlation=-0.9, **kw
    ),
    "merton": lambda **kw: MertonJumpDiffusion(volatility=0.2, jump_intensity=1.0, jump_mean=-0.1, jump_std=0.15, **kw),
    "sabr": lambda **kw: SABR(alpha=0.25, vol_of_vol=0.5, correlation=-0.5, **kw),
    "regime": lambda **kw: RegimeSwitchingVolatility(
        volatility_min=0.1, volatility_max=0.4, levels=(0.1, 0.25, 0.4), switching_rate=3.0, **kw
    ),
    "regime_rule": lambda **kw: RegimeSwitchingVolatility(
        volatility_min=0.1, volatility_max=0.4, volatility_rule=_adversary, **kw
    ),
}
MODEL_IDS = list(MODELS)


@pytest.fixture(params=MODEL_IDS)
def model(request) -> MarketModel:
    return MODELS[request.param](spot=100.0, mu=0.05, rate=0.03, dividend=0.01)


def test_shapes_dtypes_grid_and_initial_spot(model: MarketModel) -> None:
    n_paths, n_steps, dt = 7, 12, 1.0 / 52.0
    paths = model.simulate(n_paths, n_steps, dt, np.random.default_rng(0))
    assert isinstance(paths, MarketPaths)
    assert paths.time.shape == (n_steps + 1,)
    assert paths.spot.shape == paths.variance.shape == (n_paths, n_steps + 1)
    assert paths.spot.dtype == paths.variance.dtype == paths.time.dtype == np.float64
    np.testing.assert_allclose(paths.time, np.arange(n_steps + 1) * dt, rtol=0, atol=1e-15)
    assert paths.time[0] == 0.0
    assert paths.dt == dt
    assert np.all(paths.spot[:, 0] == model.spot)
    assert np.all(np.isfinite(paths.spot)) and np.all(paths.spot > 0.0)
    assert np.all(np.isfinite(paths.variance)) and np.all(paths.variance >= 0.0)
    assert (paths.n_paths, paths.n_steps) == (n_paths, n_steps)
    assert paths.maturity == pytest.approx(n_steps * dt, rel=1e-15)
    np.testing.assert_array_equal(paths.volatility, np.sqrt(paths.variance))
    for value in paths.extras.values():
        assert value.shape[0] == n_paths and value.shape[1] in (n_steps, n_steps + 1)


def test_same_seed_identical_different_seed_differs(model: MarketModel) -> None:
    first = model.simulate(50, 20, 0.01, np.random.default_rng(123))
    again = model.simulate(50, 20, 0.01, np.random.default_rng(123))
    other = model.simulate(50, 20, 0.01, np.random.default_rng(124))
    np.testing.assert_array_equal(first.spot, again.spot)
    np.testing.assert_array_equal(first.variance, again.variance)
    assert first.extras.keys() == again.extras.keys()
    for name in first.extras:
        np.testing.assert_array_equal(first.extras[name], again.extras[name])
    assert not np.array_equal(first.spot, other.spot)


def test_single_path_single_step(model: MarketModel) -> None:
    paths = model.simulate(1, 1, 0.5, np.random.default_rng(1))
    assert paths.spot.shape == (1, 2)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_paths": 0}, "n_paths"),
        ({"n_paths": 2.5}, "n_paths"),
        ({"n_paths": True}, "n_paths"),
        ({"n_steps": 0}, "n_steps"),
        ({"dt": 0.0}, "dt"),
        ({"dt": -0.1}, "dt"),
        ({"dt": np.nan}, "dt"),
        ({"dt": [0.1, 0.2]}, "dt"),
        ({"rng": 42}, "rng"),
        ({"rng": None}, "rng"),
        ({"measure": "foo"}, "measure"),
        ({"measure": "Real"}, "measure"),
    ],
)
def test_bad_simulate_arguments_name_the_argument(model: MarketModel, kwargs: dict, match: str) -> None:
    arguments = {"n_paths": 3, "n_steps": 2, "dt": 0.1, "rng": np.random.default_rng(0), "measure": "real"}
    arguments.update(kwargs)
    with pytest.raises(ValueError, match=match):
        model.simulate(**arguments)


@pytest.mark.parametrize("name", MODEL_IDS)
@pytest.mark.parametrize(("field", "value"), [("spot", 0.0), ("spot", -1.0), ("mu", np.inf), ("rate", np.nan)])
def test_bad_common_fields_name_the_field(name: str, field: str, value: float) -> None:
    with pytest.raises(ValueError, match=field):
        MODELS[name](**{field: value})


def test_models_are_frozen(model: MarketModel) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        model.spot = 1.0  # type: ignore[misc]


def test_market_model_is_abstract() -> None:
    with pytest.raises(TypeError):
        MarketModel()  # type: ignore[abstract]


def test_drift_per_measure() -> None:
    model = GeometricBrownianMotion(mu=0.07, rate=0.03, dividend=0.01)
    assert model.drift("real") == 0.07
    assert model.drift("pricing") == pytest.approx(0.02)


def test_market_paths_rejects_inconsistent_shapes() -> None:
    with pytest.raises(ValueError, match="shape"):
        MarketPaths(time=np.zeros(3), spot=np.ones((2, 3)), variance=np.ones((2, 4)), dt=0.1)
    with pytest.raises(ValueError, match="time"):
        MarketPaths(time=np.zeros(4), spot=np.ones((2, 3)), variance=np.ones((2, 3)), dt=0.1)


@pytest.mark.parametrize("measure", ["real", "pricing"])
def test_mean_terminal_spot_grows_at_the_measure_drift(model: MarketModel, measure: str) -> None:
    """E[S_T] = S₀ e^{drift·T}: drift = mu (real) or rate − dividend (pricing), within 3 standard errors."""
    n_steps, dt = 25, 1.0 / 50.0
    paths = model.simulate(50_000, n_steps, dt, np.random.default_rng(2024), measure=measure)
    mean, standard_error = mean_and_standard_error(paths.spot[:, -1])
    expected = model.spot * np.exp(model.drift(measure) * n_steps * dt)
    assert abs(mean - expected) < 3.0 * standard_error, (mean, expected, standard_error)
