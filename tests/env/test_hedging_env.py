"""HedgingEnv: Gymnasium/SB3 API conformance on every market model, determinism, robustness, rewards."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gymnasium_check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import hedgegym  # noqa: F401 - registers hedgegym/Hedging-v0
from hedgegym.config import parse_config
from hedgegym.env import HedgingEnv

MARKETS = {
    "gbm": {"model": "gbm"},
    "heston": {"model": "heston"},
    "merton": {"model": "merton"},
    "sabr": {"model": "sabr"},
    "regime_switching": {"model": "regime_switching"},
}


def small_config(market: dict, **overrides) -> dict:
    config = {
        "market": market,
        "book": [{"strike": 100.0, "maturity": 0.1, "call": True, "quantity": -10}],
        "simulation": {"n_steps": 10},
        "env": {"episodes_per_draw": 4},
    }
    config.update(overrides)
    return config


@pytest.mark.parametrize("name", MARKETS)
def test_gymnasium_and_sb3_checkers_pass_for_every_market_model(name):
    env = HedgingEnv(small_config(MARKETS[name]))
    gymnasium_check_env(env, skip_render_check=True)
    sb3_check_env(HedgingEnv(small_config(MARKETS[name])), warn=True)


DATA_MARKETS = {
    "historical": {"model": "historical"},
    "garch": {"model": "garch"},
    "bootstrap": {"model": "bootstrap", "block_length": 20},
}


@pytest.mark.parametrize("name", DATA_MARKETS)
def test_checkers_pass_on_the_data_markets(name):
    """One step per trading day: 10 steps to a 10-day maturity."""
    config = small_config(DATA_MARKETS[name], book=[{"strike": 100.0, "maturity": 10 / 252, "quantity": -10}],
                          hedging={"hedge_options": [{"strike": 100.0, "maturity": 21 / 252}]})
    env = HedgingEnv(config)
    gymnasium_check_env(env, skip_render_check=True)
    sb3_check_env(HedgingEnv(config), warn=True)
    observation, _ = env.reset(seed=1)
    assert np.isfinite(observation).all()


def test_checkers_pass_with_a_listed_option_hedge_and_costs():
    config = small_config(
        MARKETS["gbm"], hedging={"hedge_options": [{"strike": 105.0, "maturity": 0.25}]},
        costs={"proportional": {"stock": 0.001, "options": 0.01}},
    )
    env = HedgingEnv(config)
    gymnasium_check_env(env, skip_render_check=True)
    assert env.action_space.shape == (2,)
    assert "option1_gamma" in env.feature_names


def test_registered_id_makes_the_env():
    env = gym.make("hedgegym/Hedging-v0", config=small_config(MARKETS["gbm"]))
    observation, _info = env.reset(seed=0)
    assert observation.shape == env.observation_space.shape
    env.close()


def rollout(env: HedgingEnv, seed: int, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    observations, rewards = [env.reset(seed=seed)[0]], []
    for action in actions:
        observation, reward, terminated, _truncated, _info = env.step(action)
        observations.append(observation)
        rewards.append(reward)
        if terminated:
            observations.append(env.reset()[0])
    return np.array(observations), np.array(rewards)


def test_same_seed_gives_identical_episodes_and_different_seeds_differ():
    actions = np.random.default_rng(0).uniform(-1, 1, (25, 1)).astype(np.float32)  # 2.5 episodes
    first = rollout(HedgingEnv(small_config(MARKETS["heston"])), 7, actions)
    second = rollout(HedgingEnv(small_config(MARKETS["heston"])), 7, actions)
    other = rollout(HedgingEnv(small_config(MARKETS["heston"])), 8, actions)
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])
    assert not np.array_equal(first[0], other[0])


def test_step_pnls_add_up_to_the_terminal_pnl_and_the_episode_terminates_not_truncates():
    env = HedgingEnv(small_config(MARKETS["merton"], costs={"proportional": {"stock": 0.002}}))
    env.reset(seed=3)
    total, total_cost, terminated, truncated = 0.0, 0.0, False, False
    while not terminated:
        _obs, _reward, terminated, truncated, info = env.step(np.array([0.5], dtype=np.float32))
        total += info["pnl"]
        total_cost += info["cost"]
        assert not truncated
    assert total == pytest.approx(info["terminal_pnl"], rel=1e-12, abs=1e-9)
    assert total_cost == pytest.approx(info["total_cost"], rel=1e-12)
    assert total_cost > 0
    with pytest.raises(RuntimeError, match="reset"):
        env.step(np.array([0.0], dtype=np.float32))


@pytest.mark.parametrize(
    ("market", "book"),
    [
        ({"model": "gbm", "volatility": 0.0}, {"strike": 100.0, "maturity": 0.1}),  # zero vol, at the money
        ({"model": "gbm", "volatility": 3.0}, {"strike": 100.0, "maturity": 0.1}),  # huge vol
        ({"model": "gbm"}, {"strike": 30.0, "maturity": 0.1}),  # deep in the money
        ({"model": "gbm"}, {"strike": 400.0, "maturity": 0.1}),  # deep out of the money
        ({"model": "gbm"}, {"strike": 100.0, "maturity": 1.0 / 365}),  # one day to expiry
        ({"model": "merton", "jump_intensity": 30.0, "jump_mean": -0.7, "jump_std": 0.3},  # flash crashes
         {"strike": 100.0, "maturity": 0.1}),
        ({"model": "heston", "vol_of_vol": 1.5, "long_run_variance": 0.01}, {"strike": 100.0, "maturity": 0.1}),
    ],
)
def test_observations_and_rewards_stay_finite_in_extreme_markets(market, book):
    for reward in ("pnl", "mean_variance", "cvar", "entropic"):
        env = HedgingEnv(small_config(market, book=[book | {"call": True, "quantity": -10}],
                                      env={"reward": reward, "episodes_per_draw": 4}))
        rng = np.random.default_rng(1)
        for episode in range(3):
            observation, _ = env.reset(seed=episode)
            terminated = False
            while not terminated:
                observation, reward_value, terminated, _, _ = env.step(rng.uniform(-1, 1, 1).astype(np.float32))
                assert np.all(np.isfinite(observation)) and np.isfinite(reward_value)
                assert env.observation_space.contains(observation)


def test_out_of_range_actions_are_clipped_and_nan_actions_raise():
    clipped = HedgingEnv(small_config(MARKETS["gbm"]))
    bounded = HedgingEnv(small_config(MARKETS["gbm"]))
    clipped.reset(seed=0)
    bounded.reset(seed=0)
    np.testing.assert_array_equal(clipped.step(np.array([7.0]))[0], bounded.step(np.array([1.0]))[0])
    with pytest.raises(ValueError, match="finite"):
        clipped.step(np.array([np.nan]))
    with pytest.raises(ValueError, match=r"shape \(1,\)"):
        clipped.step(np.array([0.1, 0.2]))


@pytest.mark.parametrize("action", [0.5, None, np.float32(0.5), "0.5", [[0.5]]], ids=repr)
def test_actions_of_the_wrong_shape_or_type_name_the_expected_shape(action):
    """Was: ``step(0.5)`` / ``step(None)`` → IndexError 'too many indices for array: array is 0-dimensional'."""
    env = HedgingEnv(small_config(MARKETS["gbm"]))
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"action must be an array of shape \(1,\)"):
        env.step(action)
    env.step(np.array([0.5]))  # the env is still usable


def test_core_refuses_non_numeric_actions_by_name():
    env = HedgingEnv(small_config(MARKETS["gbm"]))
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"actions must be real numbers of shape \(1, 1\)"):
        env.core.targets(np.array([["x"]]))


@pytest.mark.parametrize("field", ["risk_aversion", "cvar_threshold", "cvar_level"])
@pytest.mark.parametrize("value", [float("inf"), float("nan")])
def test_reward_refuses_non_finite_parameters(field, value):
    """Was: ``Reward(risk_aversion=inf)`` accepted, then rewards of −inf/NaN; ``cvar_threshold=nan`` accepted."""
    from hedgegym.env.rewards import Reward

    with pytest.raises(ValueError, match=field):
        Reward("cvar", **{field: value})


def test_delta_relative_action_zero_is_the_model_delta_hedge():
    env = HedgingEnv(small_config(MARKETS["gbm"], env={"action": "delta_relative", "episodes_per_draw": 4}))
    env.reset(seed=0)
    delta_before = env.core.engine.book_greeks.delta.copy()
    env.step(np.array([0.0], dtype=np.float32))
    np.testing.assert_allclose(env.core.engine.positions[:, 0], -delta_before)


def test_delta_band_action_moves_the_stock_position_only_to_the_band_around_the_delta_hedge():
    """``delta_band`` (Imaki et al. 2021): widths w = (a + 1)/2 · L · n below and above −Δ, the position clipped into
    [−Δ − w_lo, −Δ + w_hi] — kept inside the band, moved to its nearest edge outside; (−1, −1) is the delta hedge;
    the hedge option's action follows as absolute."""
    config = small_config(MARKETS["gbm"], env={"action": "delta_band", "position_limit": 0.5, "episodes_per_draw": 4})
    env = HedgingEnv(config)
    assert env.action_space.shape == (2,)
    gymnasium_check_env(HedgingEnv(config), skip_render_check=True)
    env.reset(seed=0)
    engine = env.core.engine
    notional = 1000.0  # 10 calls × 100 shares
    delta = engine.book_greeks.delta.copy()
    env.step(np.array([-1.0, -1.0], dtype=np.float32))  # zero widths: the delta hedge
    np.testing.assert_allclose(engine.positions[:, 0], -delta)
    held = engine.positions[:, 0].copy()
    delta = engine.book_greeks.delta.copy()
    env.step(np.array([1.0, 1.0], dtype=np.float32))  # widths 0.5 · 1000 = 500 shares either side: no trade
    assert abs(held[0] + delta[0]) < 500.0
    np.testing.assert_array_equal(engine.positions[:, 0], held)
    held = engine.positions[:, 0].copy()
    delta = engine.book_greeks.delta.copy()
    env.step(np.array([-1.0, -0.9], dtype=np.float32))  # band [−Δ, −Δ + 25]: to the nearest edge
    low, high = -delta[0], -delta[0] + (-0.9 + 1.0) / 2 * 0.5 * notional
    assert engine.positions[0, 0] == pytest.approx(min(max(held[0], low), high), rel=1e-12)
    with pytest.raises(ValueError, match=r"band below, band above"):
        env.core.targets(np.zeros((1, 1)))
    options = small_config(MARKETS["gbm"], env={"action": "delta_band", "position_limit": 0.5, "episodes_per_draw": 4},
                           hedging={"hedge_options": [{"strike": 100.0, "maturity": 0.2}]})
    env = HedgingEnv(options)
    assert env.action_space.shape == (3,)
    env.reset(seed=0)
    env.step(np.array([-1.0, -1.0, 0.4], dtype=np.float32))
    assert env.core.engine.positions[0, 1] == pytest.approx(0.4 * 0.5 * 10.0)  # 0.4 · L · contracts


def test_mean_variance_reward_is_kolm_ritter_on_the_scaled_increment():
    env = HedgingEnv(small_config(MARKETS["gbm"], env={"reward": "mean_variance", "risk_aversion": 2.0,
                                                        "episodes_per_draw": 4}))
    env.reset(seed=0)
    _, reward, _, _, info = env.step(np.array([0.3], dtype=np.float32))
    x = info["pnl"] / env.core.scales.value
    assert reward == pytest.approx(x - x * x, rel=1e-12)


def test_terminal_rewards_are_zero_until_maturity():
    env = HedgingEnv(small_config(MARKETS["gbm"], env={"reward": "cvar", "cvar_level": 0.9,
                                                        "episodes_per_draw": 4}))
    env.reset(seed=0)
    rewards = []
    terminated = False
    while not terminated:
        _, reward, terminated, _, info = env.step(np.array([0.5], dtype=np.float32))
        rewards.append(reward)
    assert all(r == 0.0 for r in rewards[:-1])
    loss = -info["terminal_pnl"] / env.core.scales.value
    assert rewards[-1] == pytest.approx(-(max(loss, 0.0) / 0.1), rel=1e-12)


def test_unknown_feature_is_named_with_the_allowed_list():
    with pytest.raises(ValueError, match="unknown feature 'gamma'"):
        parse_config({"env": {"features": ["gamma"]}})
    env = HedgingEnv(small_config(MARKETS["gbm"], env={"features": ["book_delta", "time_to_maturity"]}))
    assert env.observation_space.shape == (2,)
    with pytest.raises(ValueError, match="hedge option"):
        HedgingEnv(small_config(MARKETS["gbm"], env={"features": ["option1_delta"]}))
