"""A down-and-out call in the book: the instrument, its config, and every face over the engine (env, classical
hedgers via compare, deep hedging, ``hedgegym check``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from hedgegym.agents.deep_hedging import DeepHedgingPolicy, _rollout
from hedgegym.cli import app
from hedgegym.config import ConfigError, load_config, parse_config
from hedgegym.env import HedgingEnv
from hedgegym.env.core import HedgingCore
from hedgegym.instruments import Book, EuropeanOption, Position, black_scholes_pricer
from hedgegym.pricing import barrier

CONFIG = Path(__file__).parent.parent / "configs" / "down_and_out_call.yaml"
runner = CliRunner()


# --- the instrument -----------------------------------------------------------------------------------------------


def test_alive_reads_the_running_minimum_along_the_time_axis():
    option = EuropeanOption(100.0, 1.0, barrier=90.0)
    path = np.array([[100.0, 95.0, 90.0, 120.0], [100.0, 91.0, 99.0, 80.0]])  # (N, time): dies at 90 and at 80
    np.testing.assert_array_equal(option.alive(path), [[True, True, False, False], [True, True, True, False]])
    np.testing.assert_array_equal(option.alive(path.T, axis=0), option.alive(path).T)
    assert np.all(EuropeanOption(100.0, 1.0).alive(path))


def test_greeks_pass_the_barrier_to_the_pricer_and_payoff_is_the_alive_payoff():
    option = EuropeanOption(100.0, 1.0, barrier=90.0, multiplier=10.0)
    spot = np.array([85.0, 95.0, 110.0])
    got = option.greeks(spot, 0.5, black_scholes_pricer(0.25, 0.02))
    expected = barrier.greeks(spot, 100.0, 0.5, 0.25, 0.02, barrier=90.0)
    for a, b in zip(got, expected, strict=True):
        np.testing.assert_allclose(a, 10.0 * b, rtol=1e-15)
    np.testing.assert_array_equal(option.payoff(spot), [0.0, 0.0, 100.0])  # given alive; knock-out needs the path


def test_vanilla_pricers_never_see_the_barrier_keywords():
    def vanilla_only(spot, strike, tau, call):
        return black_scholes_pricer(0.2)(spot, strike, tau, call)

    book = Book((Position(EuropeanOption(100.0, 1.0), -1.0),))
    assert float(book.greeks(np.array([100.0]), 0.0, vanilla_only).price[0]) < 0


def test_book_alive_masks_zero_the_dead_positions_only():
    book = Book((Position(EuropeanOption(100.0, 1.0, barrier=90.0), -2.0), Position(EuropeanOption(95.0, 1.0), 1.0)))
    spot, pricer = np.array([95.0, 95.0]), black_scholes_pricer(0.2)
    alive = [np.array([True, False]), None]
    got = book.greeks(spot, 0.0, pricer, alive)
    vanilla = 100.0 * black_scholes_pricer(0.2)(spot, 95.0, 1.0, True).price
    doc = -200.0 * barrier.price(95.0, 100.0, 1.0, 0.2, barrier=90.0)
    np.testing.assert_allclose(got.price, [doc + vanilla[0], vanilla[1]], rtol=1e-14)
    with pytest.raises(ValueError, match="alive"):
        book.greeks(spot, 0.0, pricer, [None])
    assert book.has_barrier and not Book.short_call(100.0, 1.0).has_barrier


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"barrier": 0.0}, "barrier"), ({"barrier": -90.0}, "barrier"), ({"barrier": float("nan")}, "barrier"),
     ({"barrier": [80.0, 90.0]}, "barrier"), ({"barrier": 90.0, "call": False}, "barrier.*put")],
)
def test_option_barrier_validation_names_the_field(kwargs, message):
    with pytest.raises(ValueError, match=message):
        EuropeanOption(100.0, 1.0, **kwargs)


def test_barrier_above_the_strike_is_a_legal_contract():
    assert EuropeanOption(100.0, 1.0, barrier=105.0).barrier == 105.0


# --- the config ---------------------------------------------------------------------------------------------------


def barrier_config(barrier_level=90.0, call=True, model="gbm") -> dict:
    return {"market": {"model": model, "spot": 100.0},
            "book": [{"strike": 100.0, "maturity": 0.25, "call": call, "quantity": -10, "barrier": barrier_level}]}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"barrier_level": -1.0}, r"book\.0\.barrier"),
        ({"barrier_level": 100.0}, r"book\.0\.barrier must be below market\.spot"),
        ({"call": False}, r"book\.0.*barrier: only down-and-out calls"),
        ({"model": "heston"}, r"book\.0\.barrier: barrier options need the gbm or regime_switching market, got heston"),
    ],
)
def test_config_barrier_errors_name_the_field(changes, message):
    with pytest.raises(ConfigError, match=message):
        parse_config(barrier_config(**changes))


def test_the_shipped_config_builds_a_short_down_and_out_call_book():
    config = load_config(CONFIG)
    (position,) = config.build_book().positions
    assert position.quantity == -10 and position.option.barrier == 90.0 and position.option.strike == 100.0
    assert parse_config(barrier_config(model="regime_switching")).build_book().has_barrier


# --- the faces ----------------------------------------------------------------------------------------------------


def small_config() -> dict:
    config = barrier_config(95.0)
    config.update(simulation={"n_steps": 20}, env={"episodes_per_draw": 4})
    return config


def test_env_episode_runs_and_its_reward_sums_to_the_hedged_p_and_l():
    env = HedgingEnv(small_config())
    observation, _ = env.reset(seed=3)
    total_pnl, terminated = 0.0, False
    while not terminated:
        observation, _reward, terminated, truncated, info = env.step(np.zeros(env.action_space.shape))
        assert np.all(np.isfinite(observation)) and not truncated
        total_pnl += info["pnl"]
    engine = env.core.engine
    assert total_pnl == pytest.approx(float(engine.wealth[0]), rel=1e-9, abs=1e-6)


def test_deep_hedging_rollout_sees_the_knock_out_through_the_engine():
    """The deep hedger reads the book's value from the engine, so a dead option pays nothing there too."""
    config = parse_config(small_config())
    core = HedgingCore(config, n_envs=256)
    engine = core.engine
    paths = core.model.simulate(256, engine.n_steps, engine.dt, np.random.default_rng(0), measure="real")
    engine.reset(np.ascontiguousarray(paths.spot.T), np.ascontiguousarray(paths.variance.T))
    policy = DeepHedgingPolicy(len(core.feature_names), engine.n_instruments, [8], core.position_scale)
    torch.nn.init.zeros_(policy.network[-1].weight)
    torch.nn.init.zeros_(policy.network[-1].bias)  # holds nothing: W_T = premium · e^{rT} − payoff · alive
    wealth = _rollout(policy, core).detach().numpy()
    alive = np.min(paths.spot, axis=1) > 95.0
    assert 0 < alive.sum() < 256
    premium = -engine.book_path.price[0]
    expected = premium * engine.cash_growth**engine.n_steps - 1000.0 * np.maximum(paths.spot[:, -1] - 100.0, 0) * alive
    np.testing.assert_allclose(wealth, expected, rtol=1e-4, atol=0.5)


def test_check_compares_the_bgk_value_with_a_knocked_out_monte_carlo():
    result = runner.invoke(app, ["check", "--config", str(CONFIG), "--paths", "20000"])
    assert result.exit_code == 0, result.output
    assert "B=90" in result.output and "Broadie–Glasserman–Kou" in " ".join(result.output.split())


def test_compare_runs_every_classical_hedger_on_the_barrier_book(tmp_path):
    out = tmp_path / "results"
    result = runner.invoke(app, ["compare", "--config", str(CONFIG), "--paths", "300", "--bootstrap", "10",
                                 "--output-dir", str(out)])
    assert result.exit_code == 0, result.output
    assert "delta" in result.output and "no_hedge" in result.output
