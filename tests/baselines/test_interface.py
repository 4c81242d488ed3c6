"""One loop for every hedger: classical hedgers through SB3's predict, SB3 models through evaluate."""

from __future__ import annotations

import numpy as np
import pytest
from stable_baselines3 import PPO

from hedgegym.baselines import DeltaHedger
from hedgegym.config import parse_config
from hedgegym.env import BatchedHedgingVecEnv, HedgingEnv
from hedgegym.evaluation import evaluate

CONFIG = {"book": [{"strike": 100.0, "maturity": 0.1, "quantity": -10}], "simulation": {"n_steps": 10}}


def test_a_baseline_drives_the_gymnasium_env_through_predict():
    env = HedgingEnv(CONFIG)
    hedger = DeltaHedger().bind(env.core)
    observation, _ = env.reset(seed=0)
    terminated = False
    while not terminated:
        delta_before = env.core.engine.book_greeks.delta.copy()
        action, _ = hedger.predict(observation, episode_start=np.array([env.core.engine.step_index == 0]))
        observation, _reward, terminated, _truncated, _info = env.step(action[0])
        np.testing.assert_allclose(env.core.engine.positions[:, 0], -delta_before, rtol=1e-6)


def test_predict_refuses_the_band_action_and_inverts_the_delta_relative_one():
    """A band cannot reach every target (the position only moves to the band's nearest edge), so ``predict`` refuses
    ``delta_band`` naming it; under ``delta_relative`` the delta hedge is the zero action."""
    band = HedgingEnv({**CONFIG, "env": {"action": "delta_band"}})
    observation, _ = band.reset(seed=0)
    with pytest.raises(ValueError, match="delta_band"):
        DeltaHedger().bind(band.core).predict(observation)
    relative = HedgingEnv({**CONFIG, "env": {"action": "delta_relative"}})
    observation, _ = relative.reset(seed=0)
    action, _ = DeltaHedger().bind(relative.core).predict(observation)
    np.testing.assert_allclose(action, 0.0, atol=1e-6)


def test_an_sb3_model_is_evaluated_on_the_same_paths_as_the_baselines():
    config = parse_config(CONFIG)
    model = PPO("MlpPolicy", BatchedHedgingVecEnv(config, n_envs=4, seed=0), n_steps=10, batch_size=40, seed=0,
                device="cpu")
    learned = evaluate(model, config, n_paths=64, seed=7, name="ppo_untrained")
    delta = evaluate(DeltaHedger(), config, n_paths=64, seed=7)
    assert learned.name == "ppo_untrained" and len(learned.per_path) == 64
    np.testing.assert_array_equal(learned.series["book_delta"][0], delta.series["book_delta"][0])  # same paths
    assert np.all(np.isfinite(learned.per_path["pnl"]))
