"""HedgingVectorEnv: equals N single envs and Gymnasium's SyncVectorEnv over them, the VectorEnv contract, wrappers.

Gymnasium 1.4 ships no checker for vector envs (``gymnasium.utils.env_checker.check_env`` accepts only a
``gymnasium.Env``; its vector tests are not installed), so the documented contract is tested here directly: spaces,
dtypes, shapes, seeding, next-step autoreset (against ``SyncVectorEnv`` itself, which defines it), infos with
masks, errors, and Gymnasium's own vector wrappers running on it.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.spaces import Box
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.wrappers.vector import (
    ClipAction,
    DictInfoToList,
    NormalizeObservation,
    RecordEpisodeStatistics,
)

from hedgegym.env import ENV_ID, HedgingEnv, HedgingVectorEnv

N_STEPS = 4
CONFIG = {
    "market": {"model": "gbm", "mu": 0.05},
    "book": [{"strike": 100.0, "maturity": 0.1, "call": True, "quantity": -10}],
    "simulation": {"n_steps": N_STEPS},
    "hedging": {"hedge_options": [{"strike": 105.0, "maturity": 0.2}]},
    "costs": {"proportional": {"stock": 0.001, "options": 0.01}},
    "env": {"episodes_per_draw": 2},
}
DELTA_RELATIVE = {**CONFIG, "env": {"episodes_per_draw": 2, "action": "delta_relative", "reward": "cvar"}}
P_AND_L = ("pnl", "book_pnl", "hedge_pnl", "cost", "wealth", "time_to_maturity")


def _actions(n_calls: int, n_envs: int, k: int = 2, seed: int = 5) -> np.ndarray:
    """Random actions, some outside [-1, 1] (clipped by the env)."""
    return np.random.default_rng(seed).uniform(-1.2, 1.2, (n_calls, n_envs, k)).astype(np.float32)


def _make(n_envs: int, config: dict = CONFIG, mode: str = "vector_entry_point") -> VectorEnv:
    return gym.make_vec(ENV_ID, num_envs=n_envs, vectorization_mode=mode, config=config)


def _assert_same_step(got: tuple, expected: tuple) -> None:
    """Equal arrays (values and dtypes) and equal infos (keys, dtypes, values, masks)."""
    for a, b in zip(got[:-1], expected[:-1], strict=True):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)
    infos, expected_infos = got[-1], expected[-1]
    assert sorted(infos) == sorted(expected_infos)
    for key, value in expected_infos.items():
        assert infos[key].dtype == value.dtype, key
        np.testing.assert_array_equal(infos[key], value, err_msg=key)


# ---------------------------------------------------------------------------------------------- same numbers
def test_env_i_replays_hedging_env_seeded_seed_plus_i_bit_for_bit_on_gbm():
    """Three episodes (two path-block refills) through next-step autoreset: every observation, reward, flag and
    P&L info of env i equals HedgingEnv reset with seed 100 + i, exactly."""
    n_envs, seed = 3, 100
    actions = _actions(3 * (N_STEPS + 1), n_envs)
    vec = _make(n_envs)
    observations, infos = vec.reset(seed=seed)
    record = [vec.step(action) for action in actions]
    for i in range(n_envs):
        env = HedgingEnv(CONFIG)
        observation, info = env.reset(seed=seed + i)
        np.testing.assert_array_equal(observations[i], observation)
        assert infos["wealth"][i] == info["wealth"]
        terminated = False
        for action, (obs, rewards, terminations, truncations, vec_info) in zip(actions, record, strict=True):
            if terminated:  # the autoreset call: the next episode starts, the action is not applied
                observation, info = env.reset()
                reward, terminated = 0.0, False
            else:
                observation, reward, terminated, _, info = env.step(action[i])
            np.testing.assert_array_equal(obs[i], observation)
            assert rewards[i] == reward and terminations[i] == terminated and not truncations[i]
            assert {key for key in vec_info if not key.startswith("_")} == set(info)
            for key, value in info.items():
                assert vec_info[key][i] == value and vec_info[f"_{key}"][i], key
    assert sum(bool(step[2].all()) for step in record) == 3  # three episode ends seen


@pytest.mark.parametrize("config", [CONFIG, DELTA_RELATIVE], ids=["absolute", "delta_relative_cvar"])
def test_make_vec_entry_point_equals_gymnasiums_sync_vector_env(config):
    """``SyncVectorEnv`` over N ``HedgingEnv`` defines Gymnasium's next-step autoreset and info convention: the
    vector face returns the same observations, rewards, terminations, truncations and infos (keys, masks,
    dtypes), through episode ends, an unseeded reset mid-episode and a reset with per-env seeds (a None entry
    continues env i's stream; with one episode per draw, as a single env's unseeded reset does)."""
    n_envs = 3
    config = {**config, "env": {**config["env"], "episodes_per_draw": 1}}
    fast, sync = _make(n_envs, config), _make(n_envs, config, mode="sync")
    assert isinstance(fast.unwrapped, HedgingVectorEnv) and isinstance(sync, gym.vector.SyncVectorEnv)
    assert fast.metadata["autoreset_mode"] == sync.metadata["autoreset_mode"] == AutoresetMode.NEXT_STEP
    for space in ("single_observation_space", "single_action_space", "observation_space", "action_space"):
        assert getattr(fast, space) == getattr(sync, space), space
    actions = _actions(2 * (N_STEPS + 1) + 2, n_envs)
    for reset in ({"seed": 7}, {}, {"seed": [3, None, 11]}):
        _assert_same_step(fast.reset(**reset), sync.reset(**reset))
        for action in actions[: len(actions) - 2 * ("seed" not in reset)]:  # the unseeded reset comes mid-episode
            _assert_same_step(fast.step(action), sync.step(action))


# ---------------------------------------------------------------------------------------------- the contract
def test_spaces_dtypes_shapes_and_containment():
    n_envs = 5
    vec = _make(n_envs)
    k, d = 2, len(vec.unwrapped.feature_names)
    assert vec.single_observation_space == Box(-10.0, 10.0, (d,), np.float32)
    assert vec.single_action_space == Box(-1.0, 1.0, (k,), np.float32)
    assert vec.observation_space == Box(-10.0, 10.0, (n_envs, d), np.float32)
    assert vec.action_space == Box(-1.0, 1.0, (n_envs, k), np.float32)
    assert vec.num_envs == n_envs and vec.render_mode is None and vec.render() is None
    observations, _ = vec.reset(seed=0)
    assert observations in vec.observation_space
    vec.action_space.seed(0)
    for _ in range(2 * (N_STEPS + 1)):
        observations, rewards, terminations, truncations, infos = vec.step(vec.action_space.sample())
        assert observations in vec.observation_space and observations.dtype == np.float32
        assert rewards.shape == terminations.shape == truncations.shape == (n_envs,)
        assert rewards.dtype == np.float64 and terminations.dtype == truncations.dtype == np.bool_
        for key, value in infos.items():
            assert value.shape == (n_envs,) and value.dtype == (np.bool_ if key.startswith("_") else np.float64)
            assert key.startswith("_") or infos[f"_{key}"].all()
    assert repr(vec) == f"HedgingVectorEnv({ENV_ID}, num_envs={n_envs})"
    vec.close()
    assert vec.closed


def test_terminal_step_reports_terminal_pnl_and_total_cost_then_autoresets():
    n_envs = 2
    vec = _make(n_envs)
    vec.reset(seed=1)
    costs = np.zeros(n_envs)
    for t in range(N_STEPS):
        _, _, terminations, truncations, infos = vec.step(np.full((n_envs, 2), 0.3 * (-1) ** t, np.float32))
        costs += infos["cost"]
        assert not truncations.any()
    assert terminations.all()
    np.testing.assert_array_equal(infos["terminal_pnl"], infos["wealth"])
    np.testing.assert_allclose(infos["total_cost"], costs, rtol=1e-12)
    assert infos["time_to_maturity"].tolist() == [0.0] * n_envs
    _, rewards, terminations, truncations, infos = vec.step(np.ones((n_envs, 2), np.float32))
    assert rewards.tolist() == [0.0] * n_envs and not terminations.any() and not truncations.any()
    assert set(infos) == {"wealth", "_wealth", "time_to_maturity", "_time_to_maturity"}
    assert infos["wealth"].tolist() == [0.0] * n_envs and infos["time_to_maturity"].tolist() == [0.1] * n_envs
    assert vec.unwrapped.last_outcome is None  # the actions of the autoreset call were not applied


def test_seeding_is_deterministic_and_unseeded_resets_continue_the_streams():
    def run(seed: Any) -> list[np.ndarray]:
        vec = _make(3)
        out = [vec.reset(seed=seed)[0]]
        out += [vec.step(action)[0] for action in _actions(N_STEPS + 2, 3)]
        vec.reset()  # the next episode of the same streams
        out.append(vec.step(np.zeros((3, 2), np.float32))[0])
        return out

    first, again, other = run(4), run(4), run([4, 5, 6])
    for a, b, c in zip(first, again, other, strict=True):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)  # seed 4 is seeds [4, 5, 6]
    shifted = run(5)
    moneyness = 0  # column of log_moneyness: the path, whatever the actions
    np.testing.assert_array_equal(shifted[1][:2, moneyness], first[1][1:, moneyness])  # seed 5 + i is 4 + (i + 1)
    assert shifted[1][2, moneyness] != first[1][2, moneyness]
    assert not np.array_equal(first[-1][:, moneyness], first[1][:, moneyness])  # after the unseeded reset: new paths


def test_kwargs_pass_through_make_vec():
    vec = gym.make_vec(ENV_ID, num_envs=2, config={**CONFIG, "hedging": {}, "env": {"features": ["pnl"]}})
    assert isinstance(vec.unwrapped, HedgingVectorEnv)  # the vector entry point is the default mode
    assert vec.single_observation_space.shape == (1,) and vec.single_action_space.shape == (1,)
    assert vec.spec.kwargs["config"]["env"] == {"features": ["pnl"]}


# ---------------------------------------------------------------------------------------------- bad input
def test_bad_actions_raise_the_cores_value_error_also_on_the_autoreset_call():
    vec = _make(3)
    with pytest.raises(RuntimeError, match="reset"):
        vec.step(np.zeros((3, 2), np.float32))
    vec.reset(seed=0)
    for bad, match in ((np.zeros((2, 2)), r"shape \(3, 2\)"), (np.zeros(6), r"shape \(3, 2\)"),
                       (None, r"\(3, 2\)"), (np.full((3, 2), np.nan), "finite"), (np.array([["a"] * 2] * 3), "real")):
        with pytest.raises(ValueError, match=match):
            vec.step(bad)
    for _ in range(N_STEPS):
        vec.step(np.zeros((3, 2), np.float32))
    with pytest.raises(ValueError, match="finite"):
        vec.step(np.full((3, 2), np.inf))


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"num_envs": 0}, "num_envs"), ({"num_envs": True}, "num_envs"), ({"num_envs": 2.0}, "num_envs"),
    ({"num_envs": 2, "render_mode": "human"}, "render_mode"), ({"config": 3}, "config"),
])
def test_bad_construction_raises_value_error(kwargs, match):
    with pytest.raises(ValueError, match=match):
        HedgingVectorEnv(**{"config": CONFIG, **kwargs})


@pytest.mark.parametrize(("reset", "match"), [
    ({"seed": -1}, "seed"), ({"seed": [1, 2]}, "seed"), ({"seed": 1.5}, "seed"), ({"seed": [1, -2, 3]}, "seed"),
    ({"options": {"foo": 1}}, "options"), ({"options": {"reset_mask": np.array([True, False, True])}}, "reset_mask"),
    ({"options": {"reset_mask": np.ones(2, bool)}}, "reset_mask"),
])
def test_bad_reset_arguments_raise_value_error(reset, match):
    vec = HedgingVectorEnv(CONFIG, num_envs=3)
    with pytest.raises(ValueError, match=match):
        vec.reset(**reset)
    observations, _ = vec.reset(seed=0, options={"reset_mask": np.ones(3, bool)})  # all together: accepted
    assert observations.shape == (3, len(vec.feature_names))


def test_block_size_bound_is_checked_at_construction():
    with pytest.raises(ValueError, match="episodes_per_draw"):
        HedgingVectorEnv({**CONFIG, "env": {"episodes_per_draw": 10_000}}, num_envs=100_000)


# ---------------------------------------------------------------------------------------------- Gymnasium's wrappers
def test_record_episode_statistics_and_normalize_observation_run_on_it():
    n_envs = 4
    vec = RecordEpisodeStatistics(NormalizeObservation(ClipAction(_make(n_envs))))
    vec.reset(seed=2)
    returns = np.zeros(n_envs)
    for action in _actions(N_STEPS + 1, n_envs, seed=9)[:N_STEPS]:
        observations, rewards, terminations, _, infos = vec.step(action)
        returns += rewards
        assert np.isfinite(observations).all()
    assert terminations.all()
    np.testing.assert_allclose(infos["episode"]["r"], returns, rtol=1e-12)
    assert infos["episode"]["l"].tolist() == [N_STEPS] * n_envs and infos["_episode"].all()
    assert vec.episode_count == n_envs
    _, rewards, _, _, infos = vec.step(np.zeros((n_envs, 2), np.float32))  # autoreset: no new statistics
    assert "episode" not in infos and rewards.tolist() == [0.0] * n_envs


def test_dict_info_to_list_runs_on_it():
    listed = DictInfoToList(_make(2))
    _, infos = listed.reset(seed=0)
    assert isinstance(infos, list) and len(infos) == 2 and set(infos[0]) == {"wealth", "time_to_maturity"}
    _, _, _, _, infos = listed.step(np.zeros((2, 2), np.float32))
    assert set(infos[1]) == set(P_AND_L)
