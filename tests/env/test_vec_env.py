"""BatchedHedgingVecEnv: equals N single envs, SB3 VecEnv conventions, VecMonitor and a PPO smoke run."""

from __future__ import annotations

import numpy as np
import pytest
from stable_baselines3 import PPO
from stable_baselines3.common.vec_env import VecMonitor

from hedgegym.env import BatchedHedgingVecEnv, HedgingEnv

CONFIG = {
    "market": {"model": "heston"},
    "book": [{"strike": 100.0, "maturity": 0.1, "call": True, "quantity": -10},
             {"strike": 100.0, "maturity": 0.1, "call": False, "quantity": -10}],
    "simulation": {"n_steps": 6},
    "hedging": {"hedge_options": [{"strike": 105.0, "maturity": 0.2}]},
    "costs": {"proportional": {"stock": 0.001, "options": 0.01}},
    "env": {"episodes_per_draw": 3},
}


@pytest.mark.parametrize("market", ["gbm", "heston"])
def test_batched_trajectories_equal_n_single_envs_on_the_same_seeds(market):
    """Observations and rewards (float32) are bit-identical. The float64 P&L is too under GBM; under Heston the
    Fourier pricer groups nodes across the batch (shared abscissae and control variate), so a node's value can
    move in the last ~12 digits with the batch's other paths — within the pricer's own accuracy."""
    config = {**CONFIG, "market": {"model": market}}
    n_envs, seed, n_steps = 4, 100, 6
    actions = np.random.default_rng(5).uniform(-1.2, 1.2, (3 * n_steps + 2, n_envs, 2)).astype(np.float32)
    vec = BatchedHedgingVecEnv(config, n_envs=n_envs, seed=seed, step_infos=True)
    vec_obs = [vec.reset()]
    vec_rewards, vec_dones, vec_terminal, vec_pnl = [], [], [], []
    for action in actions:  # 3+ episodes: crosses two block refills (episodes_per_draw = 3)
        observation, reward, done, infos = vec.step(action)
        vec_obs.append(observation)
        vec_rewards.append(reward)
        vec_dones.append(done)
        vec_terminal.append([info.get("terminal_observation") for info in infos])
        vec_pnl.append([info["pnl"] for info in infos])
    for i in range(n_envs):
        env = HedgingEnv(config)
        observation, _ = env.reset(seed=seed + i)
        np.testing.assert_array_equal(vec_obs[0][i], observation)
        for t, action in enumerate(actions):
            observation, reward, terminated, _truncated, info = env.step(action[i])
            assert vec_dones[t][i] == terminated
            assert vec_rewards[t][i] == np.float32(reward)
            if market == "gbm":
                assert vec_pnl[t][i] == info["pnl"]
            else:
                assert vec_pnl[t][i] == pytest.approx(info["pnl"], rel=1e-11, abs=1e-9)
            if terminated:
                np.testing.assert_array_equal(vec_terminal[t][i], observation)
                observation, _ = env.reset()
            np.testing.assert_array_equal(vec_obs[t + 1][i], observation)


def test_sb3_vec_env_interface():
    vec = BatchedHedgingVecEnv(CONFIG, n_envs=5, seed=0)
    assert vec.num_envs == 5
    assert vec.get_attr("feature_names") == [vec.feature_names] * 5
    assert len(vec.get_attr("n_steps", indices=[0, 2])) == 2
    assert vec.env_is_wrapped(object) == [False] * 5
    assert vec.seed(3) == [3, 4, 5, 6, 7]
    with pytest.raises(AttributeError, match="batched"):
        vec.set_attr("n_steps", 3)
    observations = vec.reset()
    assert observations.shape == (5, len(vec.feature_names)) and observations.dtype == np.float32
    _, rewards, dones, infos = vec.step(np.zeros((5, 2), dtype=np.float32))
    assert rewards.shape == (5,) and dones.shape == (5,) and len(infos) == 5
    assert vec.last_outcome.pnl.shape == (5,)


def test_vec_monitor_records_episodes_with_terminal_pnl_and_cost():
    vec = VecMonitor(BatchedHedgingVecEnv(CONFIG, n_envs=3, seed=1), info_keywords=("terminal_pnl", "total_cost"))
    vec.reset()
    for _ in range(6):
        _, _, dones, infos = vec.step(np.full((3, 2), 0.2, dtype=np.float32))
    assert dones.all()
    for info in infos:
        assert info["episode"]["l"] == 6
        assert np.isfinite(info["terminal_pnl"]) and info["total_cost"] > 0
        assert info["TimeLimit.truncated"] is False


def test_ppo_trains_for_a_few_updates_on_the_batched_env():
    vec = VecMonitor(BatchedHedgingVecEnv({**CONFIG, "market": {"model": "gbm"}}, n_envs=16, seed=0))
    model = PPO("MlpPolicy", vec, n_steps=12, batch_size=64, n_epochs=1, seed=0, device="cpu")
    model.learn(total_timesteps=16 * 12 * 2)
    assert model.num_timesteps == 16 * 12 * 2


@pytest.mark.parametrize("shape", [(3, 2), (4, 1), (8,), (4, 2, 1)])
def test_action_batch_of_the_wrong_size_names_the_expected_shape(shape):
    """Was: a raw numpy 'cannot reshape array of size 6 into shape (4,newaxis)' (or a silent reinterpretation)."""
    env = BatchedHedgingVecEnv(CONFIG, n_envs=4, seed=0)
    env.reset()
    with pytest.raises(ValueError, match=r"actions must have shape \(4, 2\) \(envs × stock \+ hedge options\)"):
        env.step(np.zeros(shape, dtype=np.float32))


def test_evaluation_sized_core_allocates_no_episode_buffer():
    """Was: ``HedgingCore(config, n_envs=N)`` allocated episodes_per_draw × (n_steps + 1) × N floats twice at
    construction (30 GiB for evaluation.n_paths = 10^6), though evaluation on fixed paths never draws episodes."""
    from hedgegym.config import parse_config
    from hedgegym.env.core import HedgingCore

    core = HedgingCore(parse_config(CONFIG), n_envs=1_000_000)
    assert core._spot_block is None and core._variance_block is None


def test_a_path_block_beyond_the_memory_bound_is_refused_before_anything_is_drawn():
    """The review's case: episodes_per_draw 100,000 × 64 nodes × 65,536 envs validated, then asked for 3 TiB."""
    config = {"simulation": {"n_steps": 63}, "env": {"episodes_per_draw": 100_000}}
    with pytest.raises(ValueError, match=r"env\.episodes_per_draw × \(n_steps \+ 1\) × n_envs must be <= 67,108,864"):
        BatchedHedgingVecEnv(config, n_envs=65_536)


def test_step_with_no_actions_names_the_expected_shape():
    env = BatchedHedgingVecEnv(None, n_envs=3)
    env.reset()
    with pytest.raises(ValueError, match=r"shape \(3, 1\)"):
        env.step(None)
