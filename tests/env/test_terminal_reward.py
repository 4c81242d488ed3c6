"""The terminal_mean_variance reward: per-step shaping that telescopes to the terminal mean–variance of the episode's
P&L around running means, which follow the batch means of the scaled wealth by their stated update."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from hedgegym.config import ConfigError, parse_config
from hedgegym.env.core import HedgingCore
from hedgegym.env.rewards import Reward, TerminalMeanVariance

CONFIG = {
    "market": {"model": "gbm", "volatility": 0.2, "mu": 0.05, "rate": 0.02},
    "book": [{"strike": 100.0, "maturity": 0.05, "quantity": -10}],
    "simulation": {"n_steps": 6},
    "costs": {"proportional": {"stock": 0.002}},
    "env": {"reward": "terminal_mean_variance", "risk_aversion": 4.0, "action": "delta_relative",
            "position_limit": 0.5},
}


def run_episode(core: HedgingCore, rng: np.random.Generator):
    """One episode of random actions: per-step rewards (T, N), the scaled wealth after each step (T, N) and the
    running means m_0 … m_T the episode's rewards used, recorded as each step starts."""
    core.reset()
    rewards, wealth, used = [], [], [core.reward.means[0]]
    for _ in range(core.n_steps):
        step = core.engine.step_index + 1
        used.append(core.reward.means[step])
        _, r, _, _ = core.step(rng.uniform(-1, 1, (core.n_envs, 1)))
        rewards.append(r)
        wealth.append(core.engine.wealth / core.scales.value)
    return np.array(rewards), np.array(wealth), np.array(used)


def test_an_episodes_return_is_the_terminal_mean_variance_around_the_running_mean():
    core = HedgingCore(parse_config(CONFIG), n_envs=16)
    core.seed(list(range(16)))
    rng = np.random.default_rng(0)
    for _ in range(3):  # later episodes: the running means are no longer 0
        rewards, wealth, used = run_episode(core, rng)
        terminal = wealth[-1]
        expected = terminal - 0.5 * 4.0 * (terminal - used[-1]) ** 2  # X_0 = 0 and m_0 = 0
        np.testing.assert_allclose(rewards.sum(axis=0), expected, rtol=1e-10, atol=1e-12)
    assert np.all(used[1:] != 0)


def test_running_means_follow_the_batch_means_by_the_stated_update():
    core = HedgingCore(parse_config(CONFIG), n_envs=16)
    core.seed(list(range(100, 116)))
    rng = np.random.default_rng(1)
    before = core.reward.means.copy()
    _, wealth, _ = run_episode(core, rng)
    weight = 16 / (16 + 1_000)
    np.testing.assert_allclose(core.reward.means[1:], before[1:] + weight * (wealth.mean(axis=1) - before[1:]),
                               rtol=1e-12)
    assert core.reward.means[0] == 0.0


def test_a_pickled_core_keeps_its_running_means():
    core = HedgingCore(parse_config(CONFIG), n_envs=4)
    core.seed([0, 1, 2, 3])
    run_episode(core, np.random.default_rng(2))
    twin = pickle.loads(pickle.dumps(core))
    np.testing.assert_array_equal(twin.reward.means, core.reward.means)


def test_bad_use_is_refused_by_name():
    with pytest.raises(ValueError, match="TerminalMeanVariance"):
        Reward("terminal_mean_variance")(np.zeros(2), np.zeros(2), True)
    with pytest.raises(ValueError, match=r"step must be in \[1, 6\]"):
        TerminalMeanVariance(1.0, 6)(np.zeros(2), np.zeros(2), False, 0)
    with pytest.raises(ValueError, match="risk_aversion"):
        TerminalMeanVariance(0.0, 6)
    with pytest.raises(ConfigError, match="reward"):
        parse_config({**CONFIG, "env": {"reward": "terminal_variance"}})
    with pytest.raises(ConfigError, match=r"only with agent\.gamma 1, got 0\.99"):
        parse_config({**CONFIG, "agent": {"algo": "ppo", "gamma": 0.99}})


def test_a_seeded_reset_replays_the_same_rewards():
    from hedgegym.env import HedgingEnv

    env = HedgingEnv(parse_config(CONFIG))
    actions = np.random.default_rng(3).uniform(-1, 1, (3 * 6, 1)).astype(np.float32)

    def rewards():
        env.reset(seed=5)
        out = []
        for action in actions:
            _, reward, terminated, _, _ = env.step(action)
            out.append(reward)
            if terminated:
                env.reset()
        return out

    first = rewards()
    assert np.any(env.core.reward.means != 0)  # three episodes moved the means
    assert rewards() == first


def test_every_face_replays_its_rewards_after_a_seeded_reset():
    """The same for the vector faces: Gymnasium's vector env reset(seed=…) and SB3's VecEnv seed() + reset()."""
    from hedgegym.env import BatchedHedgingVecEnv, HedgingVectorEnv

    actions = np.random.default_rng(4).uniform(-1, 1, (3 * 6, 2, 1)).astype(np.float32)

    def gymnasium_rewards(env):
        env.reset(seed=9)
        return [env.step(action)[1].copy() for action in actions]

    def sb3_rewards(env):
        env.seed(9)
        env.reset()
        out = []
        for action in actions:
            env.step_async(action)
            out.append(env.step_wait()[1].copy())
        return out

    for env, run in ((HedgingVectorEnv(parse_config(CONFIG), num_envs=2), gymnasium_rewards),
                     (BatchedHedgingVecEnv(parse_config(CONFIG), n_envs=2), sb3_rewards)):
        first = run(env)
        assert np.any(env.core.reward.means != 0)
        np.testing.assert_array_equal(np.array(run(env)), np.array(first))
