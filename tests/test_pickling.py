"""Every public object survives ``copy.copy``, ``copy.deepcopy`` and ``pickle`` as an EQUAL object.

Gymnasium's ``AsyncVectorEnv`` and SB3's ``SubprocVecEnv`` move objects between processes by pickling, and users
deep-copy envs, configs and cost models. Equality means something here:

* value objects (configs, books, options, market models, cost models, pricers and valuations) must compare ``==``
  to their copy (their ``__eq__``), and a cost model, pricer or valuation must give the same numbers — checked
  against an outside reference (a hand-written closed form, QuantLib);
* objects without ``__eq__`` (envs, engines, hedgers) must be structurally identical (``assert_same``: same types,
  same attributes recursively, arrays entry for entry, random generators in the same state) AND behave the same:
  an env copied mid-episode continues with the same observations, rewards and infos for the same actions as its
  original, across the episode end into the next (unseeded) episode; a hedger copied gives the same targets on
  the same engine state and hedges a whole episode to the same P&L.

A shallow ``copy.copy`` of an object with mutable state shares that state with its original (that is what a
shallow copy is), so for envs and hedgers its behaviour is checked by replaying from a seed, not side by side.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import pickle
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch

from hedgegym import baselines
from hedgegym.agents import DeepHedger, DeepHedgingPolicy
from hedgegym.config import ExperimentConfig, load_config
from hedgegym.costs import CompositeCost, CostModel, FixedCost, ProportionalCost, QuadraticImpact, SpreadCost
from hedgegym.engine import HedgingEngine, ModelValuation, ProxyValuation, default_valuation
from hedgegym.env import BatchedHedgingVecEnv, HedgingEnv, HedgingVectorEnv
from hedgegym.env.features import Scales
from hedgegym.env.rewards import Reward
from hedgegym.evaluation.misspecification import load_study, study_hedgers
from hedgegym.evaluation.reports import default_hedgers
from hedgegym.instruments import Book, EuropeanOption, MonitoredPricer, Position, black_scholes_pricer, monitored
from hedgegym.market import (
    SABR,
    BootstrapMarket,
    GarchMarket,
    GeometricBrownianMotion,
    Heston,
    HistoricalMarket,
    MertonJumpDiffusion,
    RegimeSwitchingVolatility,
)
from hedgegym.pricing import barrier as barrier_pricing
from hedgegym.risk.stress import DEFAULT_SCENARIOS, Hedge
from tests.pricing import quantlib_oracle as ql_oracle

CONFIG_DIR = Path(__file__).resolve().parents[1] / "configs"
CONFIGS = sorted(CONFIG_DIR.glob("*.yaml"))
STUDIES = sorted((CONFIG_DIR / "studies").glob("*.yaml"))
# the default run covers every market model, costs (composite), option hedges, a barrier book and a horizon (Heston,
# slow to value, by pickle only); the slow run covers every shipped config and every round trip
FAST_CONFIGS = ("gbm_call_option_hedge", "merton_put", "sabr_call", "regime_call", "down_and_out_call",
                "market_maker_book")
FAST_HESTON = "heston_straddle"


def _pickled(obj: object) -> object:
    return pickle.loads(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL))


def _pickled_default_protocol(obj: object) -> object:
    return pickle.loads(pickle.dumps(obj))


ROUND_TRIPS: dict[str, Callable[[object], object]] = {
    "copy": copy.copy,
    "deepcopy": copy.deepcopy,
    "pickle": _pickled,
    "pickle_default_protocol": _pickled_default_protocol,
}
INDEPENDENT = ("deepcopy", "pickle", "pickle_default_protocol")  # round trips that share no state with the original


def _config_param(path: Path) -> Any:
    marks = () if path.stem in (*FAST_CONFIGS, FAST_HESTON) else (pytest.mark.slow,)
    return pytest.param(path, id=path.stem, marks=marks)


def _round_trip_params(hows: tuple[str, ...]) -> list[Any]:
    """(config, round trip) pairs: fast for FAST_CONFIGS, and for FAST_HESTON by pickle; the rest slow."""
    params = []
    for path in CONFIGS:
        for how in hows:
            fast = path.stem in FAST_CONFIGS or (path.stem == FAST_HESTON and how == "pickle")
            params.append(pytest.param(path, how, id=f"{path.stem}-{how}", marks=() if fast else (pytest.mark.slow,)))
    return params


ALL_CONFIGS = [_config_param(path) for path in CONFIGS]


def test_fast_configs_are_shipped() -> None:
    assert {*FAST_CONFIGS, FAST_HESTON} <= {path.stem for path in CONFIGS}


# ---------------------------------------------------------------------------------------------- structural equality
def _has_own_eq(value: object) -> bool:
    return type(value).__eq__ is not object.__eq__


def assert_same(a: object, b: object, where: str = "obj", _seen: set | None = None) -> None:
    """``a`` and ``b`` are equal: by their ``__eq__`` where the class defines one, else attribute by attribute.

    Arrays compare shape, dtype and entries (NaN equal to NaN); generators their bit-generator state; torch
    tensors their entries; functions, classes and modules by identity (pickle stores them by reference).
    """
    seen = set() if _seen is None else _seen
    if a is b:
        return
    key = (id(a), id(b))
    if key in seen:
        return
    seen.add(key)
    assert type(a) is type(b), f"{where}: type {type(a).__name__} != {type(b).__name__}"
    if isinstance(a, np.ndarray):
        assert a.shape == b.shape and a.dtype == b.dtype, f"{where}: array {a.shape}/{a.dtype} != {b.shape}/{b.dtype}"
        assert np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"), f"{where}: arrays differ"
        return
    if isinstance(a, np.random.Generator):
        assert_same(a.bit_generator.state, b.bit_generator.state, f"{where}.bit_generator.state", seen)
        return
    if isinstance(a, torch.Tensor):
        assert a.shape == b.shape and a.dtype == b.dtype and torch.equal(a, b), f"{where}: tensors differ"
        return
    if isinstance(a, float):
        assert a == b or (np.isnan(a) and np.isnan(b)), f"{where}: {a!r} != {b!r}"
        return
    if isinstance(a, types.FunctionType | types.BuiltinFunctionType | type | types.ModuleType):
        raise AssertionError(f"{where}: {a!r} was copied into another object (pickle stores it by reference)")
    if isinstance(a, types.MethodType):
        assert a.__func__ is b.__func__, f"{where}: bound methods of different functions"
        assert_same(a.__self__, b.__self__, f"{where}.__self__", seen)
        return
    if isinstance(a, dict | types.MappingProxyType):
        assert list(a) == list(b), f"{where}: keys {list(a)} != {list(b)}"
        for name in a:
            assert_same(a[name], b[name], f"{where}[{name!r}]", seen)
        return
    if isinstance(a, list | tuple):
        assert len(a) == len(b), f"{where}: length {len(a)} != {len(b)}"
        for index, (left, right) in enumerate(zip(a, b, strict=True)):
            assert_same(left, right, f"{where}[{index}]", seen)
        return
    if _has_own_eq(a):
        equal = a == b
        assert isinstance(equal, bool | np.bool_) and equal, f"{where}: {a!r} != {b!r}"
        return
    attributes = _attributes(a)
    assert attributes is not None, f"{where}: {type(a).__name__} has no __eq__ and no attributes to compare"
    assert_same(attributes, _attributes(b), f"{where}.__dict__", seen)


def _attributes(value: object) -> dict[str, object] | None:
    """An object's instance attributes: ``__dict__`` plus any ``__slots__`` that are set."""
    names = [name for cls in type(value).__mro__ for name in getattr(cls, "__slots__", ()) if name != "__dict__"]
    state = {name: getattr(value, name) for name in names if hasattr(value, name)}
    if hasattr(value, "__dict__"):
        state.update(vars(value))
    return state if state or hasattr(value, "__dict__") else None


def test_assert_same_can_fail() -> None:
    """The structural comparison is not vacuous: it sees a changed array entry, generator state and attribute."""
    env = HedgingEnv(CONFIG_DIR / "gbm_call.yaml")
    env.reset(seed=0)
    other = copy.deepcopy(env)
    assert_same(env, other)
    other.core.engine.cash[0] += 1e-12  # a numpy view of the engine's state tensor: the change reaches the tensor
    with pytest.raises(AssertionError, match=r"\['state'\]\[1\]: tensors differ"):
        assert_same(env, other)
    other = copy.deepcopy(env)
    other.np_random.random()
    with pytest.raises(AssertionError, match="bit_generator"):
        assert_same(env, other)
    hedger, changed = baselines.DeltaHedger(), baselines.DeltaHedger(rebalance_every=2)
    with pytest.raises(AssertionError, match="rebalance_every"):
        assert_same(hedger, changed)


# ---------------------------------------------------------------------------------------------- envs
def _actions(k: int, n: int, n_envs: int | None = None, seed: int = 7) -> np.ndarray:
    shape = (n, k) if n_envs is None else (n, n_envs, k)
    return np.random.default_rng(seed).uniform(-1.0, 1.0, size=shape).astype(np.float32)


def _run_env(env: HedgingEnv, actions: np.ndarray) -> list[tuple]:
    """Step through ``actions``, resetting (unseeded) at each episode end; every observation, reward and info."""
    record = []
    for action in actions:
        observation, reward, terminated, truncated, info = env.step(action)
        record.append((observation, reward, terminated, truncated, info))
        if terminated:
            record.append(env.reset())
    return record


@pytest.mark.parametrize(("path", "how"), _round_trip_params(tuple(ROUND_TRIPS)))
def test_env_round_trip(path: Path, how: str) -> None:
    env = HedgingEnv(path)
    env.reset(seed=11)
    n_steps, k = env.config.simulation.n_steps, env.action_space.shape[0]
    actions = _actions(k, n_steps + 3)
    split = max(1, n_steps // 2)
    _run_env(env, actions[:split])  # mid-episode
    twin = ROUND_TRIPS[how](env)
    assert type(twin) is HedgingEnv
    assert_same(twin, env, "env")
    if how in INDEPENDENT:  # continue both side by side, through the episode end into the next episode
        assert_same(_run_env(twin, actions[split:]), _run_env(env, actions[split:]), "continuation")
        assert twin.core is not env.core
    else:  # shares its core with env: replay the same seeded episode on one, then on the other
        twin.reset(seed=5)
        replay = _run_env(twin, actions)
        env.reset(seed=5)
        assert_same(replay, _run_env(env, actions), "replay")


@pytest.mark.parametrize(("path", "how"), _round_trip_params(INDEPENDENT))
def test_vec_env_round_trip(path: Path, how: str) -> None:
    vec_env = BatchedHedgingVecEnv(path, n_envs=3, seed=2)
    vec_env.reset()
    n_steps, k = vec_env.config.simulation.n_steps, vec_env.action_space.shape[0]
    actions = _actions(k, n_steps + 2, n_envs=3)
    split = max(1, n_steps // 2)
    for action in actions[:split]:
        vec_env.step(action)
    twin = ROUND_TRIPS[how](vec_env)
    assert_same(twin, vec_env, "vec_env")
    assert_same([twin.step(a) for a in actions[split:]], [vec_env.step(a) for a in actions[split:]], "continuation")


@pytest.mark.parametrize("how", INDEPENDENT)
def test_gymnasium_vector_env_round_trip(how: str) -> None:
    """The Gymnasium vector face copied mid-episode equals its original and continues with the same returns (infos
    included) through the episode end, the next-step autoreset and into the next (unseeded) episode."""
    vector_env = HedgingVectorEnv(CONFIG_DIR / "gbm_call_option_hedge.yaml", num_envs=3)
    vector_env.reset(seed=2)
    n_steps, k = vector_env.config.simulation.n_steps, vector_env.single_action_space.shape[0]
    actions = _actions(k, n_steps + 3, n_envs=3)
    split = max(1, n_steps // 2)
    for action in actions[:split]:
        vector_env.step(action)
    twin = ROUND_TRIPS[how](vector_env)
    assert type(twin) is HedgingVectorEnv
    assert_same(twin, vector_env, "vector_env")
    assert_same([twin.step(a) for a in actions[split:]], [vector_env.step(a) for a in actions[split:]], "continuation")


def test_vec_env_shallow_copy_replays() -> None:
    vec_env = BatchedHedgingVecEnv(CONFIG_DIR / "gbm_call_option_hedge.yaml", n_envs=2, seed=4)
    twin = copy.copy(vec_env)
    assert_same(twin, vec_env)
    actions = _actions(vec_env.action_space.shape[0], 5, n_envs=2)
    twin.seed(9)
    twin.reset()
    replay = [twin.step(a) for a in actions]
    vec_env.seed(9)
    vec_env.reset()
    assert_same(replay, [vec_env.step(a) for a in actions])


def test_async_vector_env_steps_and_returns_attributes() -> None:
    """Gymnasium's AsyncVectorEnv builds the envs in worker processes and pickles what ``get_attr`` returns."""
    path = CONFIG_DIR / "gbm_call_option_hedge.yaml"
    local = [HedgingEnv(path), HedgingEnv(path)]
    envs = gym.vector.AsyncVectorEnv([functools.partial(HedgingEnv, path)] * 2, context="fork")
    try:
        observations, _ = envs.reset(seed=0)  # env i is seeded 0 + i
        expected = np.stack([env.reset(seed=i)[0] for i, env in enumerate(local)])
        np.testing.assert_array_equal(observations, expected)
        for action in _actions(local[0].action_space.shape[0], 3, n_envs=2):
            observations, rewards, _, _, _ = envs.step(action)
            steps = [env.step(a) for env, a in zip(local, action, strict=True)]
            np.testing.assert_array_equal(observations, np.stack([step[0] for step in steps]))
            np.testing.assert_array_equal(rewards, [step[1] for step in steps])
        cores = envs.get_attr("core")  # pickled in the workers, unpickled here
        for core, env in zip(cores, local, strict=True):
            assert_same(core, env.core, "core")
    finally:
        envs.close()


# ---------------------------------------------------------------------------------------------- configs and parts
def _value_round_trips(obj: object) -> None:
    for how, round_trip in ROUND_TRIPS.items():
        twin = round_trip(obj)
        assert type(twin) is type(obj), how
        assert twin == obj, f"{how}: {twin!r} != {obj!r}"
        if _hashable(obj):
            assert hash(twin) == hash(obj), how


def _hashable(obj: object) -> bool:
    try:
        hash(obj)
    except TypeError:  # e.g. a frozen pydantic config holding a list
        return False
    return True


@pytest.mark.parametrize("path", [pytest.param(path, id=path.stem) for path in CONFIGS])
def test_config_and_its_parts_round_trip(path: Path) -> None:
    config = load_config(path)
    model = config.market.build()
    for obj in (config, model, config.build_book(), *config.build_book().positions, *config.build_hedge_options(),
                default_valuation(model)):
        _value_round_trips(obj)
    costs = config.build_costs()
    if costs is not None:
        _value_round_trips(costs)


@pytest.mark.parametrize("path", [pytest.param(path, id=path.stem) for path in STUDIES])
def test_study_round_trips(path: Path) -> None:
    _value_round_trips(load_study(path))


MARKETS = [
    GeometricBrownianMotion(spot=100.0, mu=0.05, volatility=0.2, rate=0.01, dividend=0.02),
    Heston(spot=100.0, initial_variance=0.05, mean_reversion=2.0, long_run_variance=0.04, vol_of_vol=0.5,
           correlation=-0.7),
    MertonJumpDiffusion(spot=100.0, volatility=0.15, jump_intensity=0.5, jump_mean=-0.1, jump_std=0.15),
    SABR(spot=100.0, alpha=0.2, vol_of_vol=0.4, correlation=-0.3),
    RegimeSwitchingVolatility(spot=100.0, volatility_min=0.1, volatility_max=0.35, levels=(0.1, 0.2, 0.35)),
    HistoricalMarket(spot=100.0, rate=0.02),
    GarchMarket(spot=100.0),
    BootstrapMarket(spot=100.0, block_length=20.0),
]


@pytest.mark.parametrize("model", MARKETS, ids=lambda model: type(model).__name__)
def test_market_model_round_trips_and_simulates_the_same_paths(model) -> None:
    _value_round_trips(model)
    for how, round_trip in ROUND_TRIPS.items():
        twin = round_trip(model)
        paths = twin.simulate(3, 5, 1 / 252, np.random.default_rng(3))  # one trading day: the data markets' step
        expected = model.simulate(3, 5, 1 / 252, np.random.default_rng(3))
        np.testing.assert_array_equal(paths.spot, expected.spot, err_msg=how)
        np.testing.assert_array_equal(paths.variance, expected.variance, err_msg=how)
        assert_same(round_trip(expected), expected, f"paths {how}")


def test_every_market_model_is_covered() -> None:
    import hedgegym.market as market

    classes = {getattr(market, name) for name in market.__all__}
    models = {cls for cls in classes if isinstance(cls, type) and dataclasses.is_dataclass(cls)
              and not getattr(cls, "__abstractmethods__", None)}
    assert models - {type(m) for m in MARKETS} <= {market.MarketPaths}, "add the new market model to MARKETS"


def test_env_and_risk_value_objects_round_trip() -> None:
    config = load_config(CONFIG_DIR / "market_maker_book.yaml")
    model, book = config.market.build(), config.build_book()
    hedge = Hedge(stock=-120.0, options=(Position(EuropeanOption(100.0, 0.25), 2.0),), neutralised=("delta",))
    for obj in (Scales.from_setup(model, book), Reward("cvar", 2.0, 0.9, -0.1), hedge, *DEFAULT_SCENARIOS):
        _value_round_trips(obj)


def test_book_and_options_round_trip() -> None:
    barrier_call = EuropeanOption(100.0, 0.5, call=True, multiplier=100.0, barrier=85.0)
    book = Book((Position(EuropeanOption(95.0, 0.5, call=False), -3.0), Position(barrier_call, 2.5)))
    for obj in (book, barrier_call, Book.short_straddle(100.0, 0.25, 4)):
        _value_round_trips(obj)


# ---------------------------------------------------------------------------------------------- costs
def _cost_models() -> list[CostModel]:
    proportional = ProportionalCost((0.001, 0.01))
    fixed = FixedCost((1.0, 2.5), threshold=(0.0, 0.5))
    impact = QuadraticImpact(1e-6)
    spread = SpreadCost((0.005, 5.0))
    return [proportional, fixed, impact, spread, proportional + fixed, proportional + fixed + impact + spread,
            CompositeCost(), CompositeCost(CompositeCost(spread), impact)]


TRADES = np.array([[150.0, -2.0], [-40.0, 0.25], [0.0, 3.0]])
PRICES = np.array([[101.0, 6.5], [99.0, 4.0], [100.5, 7.25]])


def _hand_cost(model: CostModel) -> list[float]:
    """The documented formulas written out per path in plain Python (no numpy, no hedgegym arithmetic)."""
    def one(kind: type, q: list[float], p: list[float]) -> float:
        if kind is ProportionalCost:
            return 0.001 * abs(q[0]) * p[0] + 0.01 * abs(q[1]) * p[1]
        if kind is FixedCost:
            return (1.0 if abs(q[0]) > 0.0 else 0.0) + (2.5 if abs(q[1]) > 0.5 else 0.0)
        if kind is QuadraticImpact:
            return 1e-6 * p[0] * q[0] ** 2 + 1e-6 * p[1] * q[1] ** 2
        if kind is SpreadCost:
            return 0.005 * abs(q[0]) + 5.0 * abs(q[1])
        raise AssertionError(kind)

    parts = model.models if isinstance(model, CompositeCost) else (model,)
    return [sum(one(type(part), q, p) for part in parts) for q, p in zip(TRADES.tolist(), PRICES.tolist(),
                                                                        strict=True)]


@pytest.mark.parametrize("model", _cost_models(), ids=repr)
def test_cost_model_round_trips_to_an_equal_model_with_the_same_costs(model: CostModel) -> None:
    _value_round_trips(model)
    expected = _hand_cost(model)
    for how, round_trip in ROUND_TRIPS.items():
        twin = round_trip(model)
        np.testing.assert_allclose(twin.cost(TRADES, PRICES), expected, rtol=1e-14, atol=1e-12, err_msg=how)
        if isinstance(model, CompositeCost):
            assert twin.models == model.models


def test_composite_cost_stays_immutable_after_a_round_trip() -> None:
    model = ProportionalCost(0.001) + FixedCost(1.0)
    for how, round_trip in ROUND_TRIPS.items():
        twin = round_trip(model)
        with pytest.raises(AttributeError, match="immutable"):
            twin.models = ()  # type: ignore[misc]
        with pytest.raises(AttributeError, match="immutable"):
            del twin.models
        assert twin.models == model.models, how


def test_composite_cost_equality_can_fail() -> None:
    assert ProportionalCost(0.001) + FixedCost(1.0) != ProportionalCost(0.001) + FixedCost(2.0)
    assert ProportionalCost(0.001) + FixedCost(1.0) != FixedCost(1.0) + ProportionalCost(0.001)


# ---------------------------------------------------------------------------------------------- pricers, valuations
def test_pricers_round_trip_and_price_like_quantlib() -> None:
    spot, strike, days = np.array([90.0, 100.0, 112.0]), np.full(3, 100.0), np.array([91, 91, 91])
    tau, volatility, rate, dividend = days / 365.0, np.array([0.15, 0.2, 0.3]), 0.03, 0.01

    def quantlib(sigma: np.ndarray) -> np.ndarray:
        return ql_oracle.black_scholes(spot, strike, days, sigma, np.full(3, rate), np.full(3, dividend),
                                       np.full(3, True))["price"]

    per_path, flat = quantlib(volatility), quantlib(np.full(3, 0.2))
    gbm = GeometricBrownianMotion(spot=100.0, volatility=0.2, rate=rate, dividend=dividend)
    regime = RegimeSwitchingVolatility(spot=100.0, volatility_min=0.1, volatility_max=0.3, rate=rate,
                                       dividend=dividend)
    array_pricer = black_scholes_pricer(volatility, rate, dividend)

    def pricer_price(pricer: Any) -> np.ndarray:
        return pricer(spot, 100.0, tau, True).price

    cases: list[tuple[object, Callable[[Any], np.ndarray], np.ndarray]] = [
        (black_scholes_pricer(0.2, rate, dividend), pricer_price, flat),
        (array_pricer, pricer_price, per_path),
        (monitored(array_pricer, 1 / 252), pricer_price, per_path),
        (default_valuation(gbm), lambda v: v(spot, 100.0, tau, True, np.full(3, 0.04)).price, flat),
        (default_valuation(regime), lambda v: v(spot, 100.0, tau, True, volatility**2).price, per_path),
    ]
    assert isinstance(cases[2][0], MonitoredPricer)
    assert isinstance(cases[3][0], ModelValuation) and isinstance(cases[4][0], ProxyValuation)
    for obj, price, reference in cases:
        _value_round_trips(obj)
        for how, round_trip in ROUND_TRIPS.items():
            np.testing.assert_allclose(price(round_trip(obj)), reference, rtol=1e-10, err_msg=f"{obj!r} {how}")


def test_monitored_pricer_round_trip_keeps_the_monitoring_interval() -> None:
    """A barrier call through an unpickled ``monitored`` pricer is valued with its Δt (BGK-shifted barrier)."""
    pricer = monitored(black_scholes_pricer(0.25, 0.02), 1 / 52)
    spot = np.array([95.0, 110.0])
    expected = barrier_pricing.greeks(spot, 100.0, 0.5, 0.25, 0.02, 0.0, True, barrier=85.0,
                                      monitoring_interval=1 / 52).price
    continuous = barrier_pricing.greeks(spot, 100.0, 0.5, 0.25, 0.02, 0.0, True, barrier=85.0).price
    assert np.all(np.abs(expected - continuous) > 1e-3)  # the interval matters
    for how, round_trip in ROUND_TRIPS.items():
        np.testing.assert_array_equal(round_trip(pricer)(spot, 100.0, 0.5, True, barrier=85.0).price, expected,
                                      err_msg=how)


def test_pricer_equality_can_fail() -> None:
    assert black_scholes_pricer(np.array([0.2, 0.3])) != black_scholes_pricer(np.array([0.2, 0.31]))
    assert black_scholes_pricer(0.2) != black_scholes_pricer(np.array([0.2]))
    assert monitored(black_scholes_pricer(0.2), 0.01) != monitored(black_scholes_pricer(0.2), 0.02)
    assert default_valuation(GeometricBrownianMotion(volatility=0.2)) != default_valuation(
        GeometricBrownianMotion(volatility=0.21))


# ---------------------------------------------------------------------------------------------- engines and hedgers
def _engine(config: ExperimentConfig, n_paths: int = 6, seed: int = 3) -> HedgingEngine:
    model = config.market.build()
    engine = HedgingEngine(model, config.build_book(), config.simulation.n_steps,
                           hedge_options=config.build_hedge_options(), costs=config.build_costs(),
                           liquidate_at_maturity=config.hedging.liquidate_at_maturity,
                           horizon=config.simulation.horizon)
    paths = model.simulate(n_paths, engine.n_steps, engine.dt, np.random.default_rng(seed))
    engine.reset(paths.spot.T, paths.variance.T)
    return engine


def _hedge(hedger: baselines.Hedger, engine: HedgingEngine, steps: int | None = None) -> list[np.ndarray]:
    """Run ``hedger`` on ``engine`` for ``steps`` steps (default: to the end); targets and wealth at each step."""
    record = []
    while not engine.done and (steps is None or len(record) < steps):
        targets = hedger.targets(engine)
        engine.step(targets)
        record.append(np.concatenate([targets.ravel(), engine.wealth]))
    return record


def _check_hedger(hedger: baselines.Hedger, config: ExperimentConfig, start: HedgingEngine | None = None) -> None:
    """``hedger`` copied mid-episode equals its original and hedges the rest of the episode the same way.
    ``start``: an engine of ``config`` right after ``reset`` (default: built here)."""
    engine = copy.deepcopy(start) if start is not None else _engine(config)
    hedger.reset(engine)
    _hedge(hedger, engine, steps=config.simulation.n_steps // 2)  # state-keeping hedgers have state now
    for how, round_trip in ROUND_TRIPS.items():
        twin = round_trip(hedger)
        assert type(twin) is type(hedger)
        assert_same(twin, hedger, f"{hedger.name} {how}")
        np.testing.assert_array_equal(twin.targets(engine), hedger.targets(engine), err_msg=how)
        if how in INDEPENDENT:  # both finish the episode on their own copy of the engine
            assert_same(_hedge(twin, copy.deepcopy(engine)), _hedge(hedger, copy.deepcopy(engine)), how)


def _check_engine(engine: HedgingEngine) -> None:
    """An engine pickled mid-episode equals its original and finishes the episode with the same numbers."""
    hedger = baselines.DeltaHedger()
    _hedge(hedger, engine, steps=engine.n_steps // 2)
    for how in INDEPENDENT:
        twin = ROUND_TRIPS[how](engine)
        assert_same(twin, engine, f"engine {how}")
        assert_same(_hedge(hedger, twin), _hedge(hedger, copy.deepcopy(engine)), f"engine {how}")


HEDGER_CONFIG = CONFIG_DIR / "market_maker_book.yaml"  # costs, two listed options, two expiries
HEDGER_FACTORIES: dict[str, Callable[[], baselines.Hedger]] = {
    "NoHedge": baselines.NoHedge,
    "DeltaHedger": lambda: baselines.DeltaHedger(volatility=0.22, band=0.02),
    "GreekNeutralHedger": lambda: baselines.GreekNeutralHedger(("delta", "gamma", "vega")),
    "LelandHedger": lambda: baselines.LelandHedger(volatility=0.2, cost_rate=0.002),
    "WhalleyWilmottHedger": lambda: baselines.WhalleyWilmottHedger(cost_rate=0.002, risk_aversion=0.01),
    "UncertainVolatilityDeltaHedger": lambda: baselines.UncertainVolatilityDeltaHedger(0.15, 0.3, 40, 40),
    "RobustDeltaGammaHedger": lambda: baselines.RobustDeltaGammaHedger(0.15, 0.3, 0.2, 40, 40),
    "DeltaVegaBandHedger": lambda: baselines.DeltaVegaBandHedger(option_band=0.05, stock_band=0.02),
    "ThresholdRebalancing": lambda: baselines.ThresholdRebalancing(
        baselines.GreekNeutralHedger(("delta", "gamma", "vega")), bands={"delta": 20.0, "gamma": 2.0},
        spot_move=0.01, every=(1, 2, 3)),
}
ONE_OPTION_CONFIG = CONFIG_DIR / "gbm_call_option_hedge.yaml"  # for the hedgers that need exactly one listed option
ONE_OPTION_HEDGERS = {"DeltaVegaBandHedger"}
ONE_MATURITY_HEDGERS = {"UncertainVolatilityDeltaHedger", "RobustDeltaGammaHedger"}  # their PDE: one payoff date


def test_every_baseline_hedger_is_covered() -> None:
    exported = {name for name in baselines.__all__ if isinstance(getattr(baselines, name), type)
                and issubclass(getattr(baselines, name), baselines.Hedger) and name != "Hedger"}
    assert exported == set(HEDGER_FACTORIES), "add the new hedger to HEDGER_FACTORIES"


@pytest.mark.parametrize("name", list(HEDGER_FACTORIES))
def test_baseline_hedger_round_trips(name: str) -> None:
    _check_hedger(HEDGER_FACTORIES[name](), load_config(
        ONE_OPTION_CONFIG if name in ONE_OPTION_HEDGERS | ONE_MATURITY_HEDGERS else HEDGER_CONFIG))


def test_bound_hedger_round_trips_with_its_env_core() -> None:
    env = HedgingEnv(HEDGER_CONFIG)
    observation, _ = env.reset(seed=1)
    hedger = baselines.DeltaHedger().bind(env.core)
    for how in INDEPENDENT:
        twin = ROUND_TRIPS[how](hedger)
        assert_same(twin, hedger, how)
        np.testing.assert_array_equal(twin.predict(observation)[0], hedger.predict(observation)[0], err_msg=how)


def test_deep_hedger_round_trips() -> None:
    config = load_config(CONFIG_DIR / "deep_gbm_cost_20d.yaml")
    generator = torch.Generator().manual_seed(0)
    env = HedgingEnv(config)
    policy = DeepHedgingPolicy(len(env.feature_names), env.action_space.shape[0], [8], env.core.position_scale)
    with torch.no_grad():
        for parameter in policy.parameters():
            parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.3)
    _check_hedger(DeepHedger(policy, config), config)


@pytest.mark.parametrize("path", ALL_CONFIGS)
def test_engine_and_default_hedgers_of_every_config_round_trip(path: Path) -> None:
    config = load_config(path)
    start = _engine(config)
    for hedger in default_hedgers(config):
        _check_hedger(hedger, config, start)
    _check_engine(start)


@pytest.mark.slow
@pytest.mark.parametrize("path", [pytest.param(path, id=path.stem) for path in STUDIES])
def test_study_hedgers_round_trip(path: Path) -> None:
    study = load_study(path)
    start = _engine(study.experiment)
    for hedger in study_hedgers(study):
        _check_hedger(hedger, study.experiment, start)
