"""CI-sized smoke tests of the learned hedgers: PPO, SAC and deep hedging train, evaluate, and are seeded."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hedgegym.agents import DeepHedger, make_model, train_deep_hedger
from hedgegym.baselines import DeltaHedger, NoHedge
from hedgegym.config import ConfigError, parse_config
from hedgegym.evaluation import evaluate

BASE = {
    "market": {"model": "gbm", "volatility": 0.2, "mu": 0.05, "rate": 0.02},
    "book": [{"strike": 100.0, "maturity": 0.05, "quantity": -10}],
    "simulation": {"n_steps": 8},
    "costs": {"proportional": {"stock": 0.002}},
}


def config(algo: str, **agent):
    return parse_config({**BASE, "agent": {"algo": algo, "n_envs": 8, "batch_size": 64, "seed": 3, **agent}})


def policy_parameters(model) -> np.ndarray:
    return np.concatenate([p.detach().numpy().ravel() for p in model.policy.parameters()])


@pytest.mark.parametrize(("algo", "extra"), [("ppo", {}), ("sac", {"sb3_kwargs": {"learning_starts": 64}})])
def test_sb3_agent_trains_a_few_hundred_steps_evaluates_and_is_reproducible(algo, extra):
    first = make_model(config(algo, **extra))
    first.learn(total_timesteps=320)
    second = make_model(config(algo, **extra))
    second.learn(total_timesteps=320)
    np.testing.assert_array_equal(policy_parameters(first), policy_parameters(second))
    result = evaluate(first, config(algo, **extra), n_paths=200, seed=1, name=algo)
    assert len(result.per_path) == 200 and np.isfinite(result.per_path["pnl"]).all()


def test_unknown_sb3_argument_is_reported_as_a_config_error():
    with pytest.raises(ConfigError, match="sb3_kwargs"):
        make_model(config("ppo", sb3_kwargs={"not_an_argument": 1}))


def test_policy_kwargs_are_merged_with_net_arch():
    model = make_model(config("ppo", net_arch=[16, 8], sb3_kwargs={"policy_kwargs": {"log_std_init": -2.0}}))
    np.testing.assert_allclose(model.policy.log_std.detach().numpy(), -2.0)
    hidden = [m.out_features for m in model.policy.mlp_extractor.policy_net if isinstance(m, torch.nn.Linear)]
    assert hidden == [16, 8]
    with pytest.raises(ConfigError, match="policy_kwargs"):
        make_model(config("ppo", sb3_kwargs={"policy_kwargs": 3}))


def test_train_freq_from_yaml_as_a_list_reaches_sb3_as_its_tuple():
    """YAML writes SB3's ``train_freq: (1, "episode")`` as a list; SB3 itself would read the list as a step count."""
    from stable_baselines3.common.type_aliases import TrainFrequencyUnit

    def sac(n_envs: int, train_freq: list):
        return parse_config({**BASE, "agent": {"algo": "sac", "n_envs": n_envs, "net_arch": [8], "sb3_kwargs": {
            "learning_starts": 8, "buffer_size": 500, "train_freq": train_freq}}})

    model = make_model(sac(1, [1, "episode"]))
    assert (model.train_freq.frequency, model.train_freq.unit) == (1, TrainFrequencyUnit.EPISODE)
    model.learn(total_timesteps=24)  # a rollout is one episode of 8 steps
    assert model.num_timesteps == 24
    model = make_model(sac(2, [4, "step"]))
    assert (model.train_freq.frequency, model.train_freq.unit) == (4, TrainFrequencyUnit.STEP)
    with pytest.raises(ConfigError, match=r"train_freq.*agent\.n_envs 1"):  # SB3 asserts it inside learn() only
        make_model(sac(2, [1, "episode"]))


def test_deep_hedger_learns_to_hedge_and_is_reproducible():
    cfg = config("deep_hedging", iterations=60, batch_paths=512, learning_rate=3e-3)
    policy, history = train_deep_hedger(cfg)
    assert history.risk[-1] < history.risk[0]
    again, _ = train_deep_hedger(cfg)
    for a, b in zip(policy.parameters(), again.parameters(), strict=True):
        assert torch.equal(a, b)
    learned = evaluate(DeepHedger(policy, cfg), cfg, n_paths=2_000, seed=5).per_path["pnl"]
    unhedged = evaluate(NoHedge(), cfg, n_paths=2_000, seed=5).per_path["pnl"]
    delta = evaluate(DeltaHedger(), cfg, n_paths=2_000, seed=5).per_path["pnl"]
    y = {name: -x.mean() + 1.5 * x.std() for name, x in (("deep", learned), ("none", unhedged), ("delta", delta))}
    assert y["deep"] < y["none"]
    assert y["deep"] < 1.5 * y["delta"]  # a short run gets near the delta hedge already


def test_deep_hedging_on_a_fixed_training_set_values_it_once_and_is_reproducible(monkeypatch):
    """``agent.training_paths``: the paths are simulated and valued once; each iteration draws a batch of them (the
    engine's ``valued`` mini-batch), so the pricer runs once, not once per iteration; training lowers the risk and
    repeats bit for bit. A training set smaller than a batch is refused naming both fields."""
    from hedgegym import engine as engine_module

    calls = []
    value_paths = engine_module.value_paths
    monkeypatch.setattr(engine_module, "value_paths",
                        lambda *args, **kwargs: calls.append(args[4].shape) or value_paths(*args, **kwargs))
    cfg = config("deep_hedging", iterations=30, batch_paths=256, training_paths=1024, learning_rate=3e-3)
    policy, history = train_deep_hedger(cfg)
    assert [shape for shape in calls if shape[1] > 1] == [(9, 1024)]  # the training set once (8 steps + 1 rows)
    assert np.mean(history.risk[-5:]) < np.mean(history.risk[:5])
    again, _ = train_deep_hedger(cfg)
    for a, b in zip(policy.parameters(), again.parameters(), strict=True):
        assert torch.equal(a, b)
    with pytest.raises(ConfigError, match=r"agent\.training_paths must be >= agent\.batch_paths \(256\)"):
        config("deep_hedging", batch_paths=256, training_paths=100)


WITH_OPTION = {"hedging": {"hedge_options": [{"strike": 100.0, "maturity": 0.1}]},
               "costs": {"proportional": {"stock": 0.002, "options": 0.01}}}


@pytest.mark.parametrize(("action", "extra", "size"), [
    ("delta_relative", {}, 1), ("delta_band", {}, 2), ("delta_vega_band", WITH_OPTION, 4)])
def test_deep_hedging_maps_its_outputs_by_the_env_action(action, extra, size):
    """Deep hedging trains through the env's own action mapping (``ActionMapping``, torch): the no-transaction band
    network of Imaki et al. with ``delta_band``. Its outputs at zero are the env's targets for zero actions, it
    trains, and the evaluated hedger (numpy positions) takes the same targets as the training roll-out."""
    from hedgegym.env.actions import ActionGreeks
    from hedgegym.env.core import HedgingCore

    cfg = parse_config({**BASE, **extra, "env": {"action": action, "position_limit": 0.5},
                        "agent": {"algo": "deep_hedging", "iterations": 30, "batch_paths": 256, "learning_rate": 3e-3,
                                  "seed": 3, "dtype": "float64"}})
    policy, history = train_deep_hedger(cfg)
    assert np.mean(history.risk[-5:]) < np.mean(history.risk[:5])
    core = HedgingCore(cfg, n_envs=4)
    assert policy.network[-1].out_features == core.action_space.shape[0] == size
    core.seed([1, 2, 3, 4])
    core.reset()
    core.step(np.full((4, core.action_space.shape[0]), 0.3))  # a position held: the band has something to keep
    observation = torch.as_tensor(core.observe(), dtype=torch.float64)
    engine = core.engine
    greeks = ActionGreeks.of(action, engine.book_greeks, engine.instrument_greeks).map(torch.as_tensor)
    positions = torch.as_tensor(engine.positions, dtype=torch.float64)
    with torch.no_grad():
        trained = policy.targets(observation, positions, greeks, core.action_mapping).numpy()
        actions = policy(observation).numpy()
    np.testing.assert_allclose(trained, core.targets(actions), rtol=1e-12)  # the env's mapping of the same actions
    hedger = DeepHedger(policy, cfg)
    assert "delta" in hedger.required_greeks
    np.testing.assert_allclose(hedger.targets(engine), trained, rtol=1e-12)
    zero = torch.zeros((4, core.action_space.shape[0]), dtype=torch.float64, requires_grad=True)
    targets = core.action_mapping.targets(zero, positions, greeks)
    targets.sum().backward()
    assert torch.all(torch.isfinite(zero.grad))
    assert torch.any(zero.grad != 0)


def test_deep_hedging_trains_with_spread_impact_and_fixed_costs():
    """Every cost model goes through the engine's differentiable step (fixed fees by the straight-through
    surrogate): training runs, lowers its risk, and the costs it pays are the engine's own."""
    cfg = parse_config({**BASE, "costs": {"half_spread": {"stock": 0.01}, "quadratic_impact": {"stock": 1e-4},
                                          "fixed": {"stock": 0.05}},
                        "agent": {"algo": "deep_hedging", "iterations": 40, "batch_paths": 512,
                                  "learning_rate": 3e-3, "seed": 3}})
    policy, history = train_deep_hedger(cfg)
    assert np.all(np.isfinite(history.risk))
    assert np.mean(history.risk[-5:]) < np.mean(history.risk[:5])
    result = evaluate(DeepHedger(policy, cfg), cfg, n_paths=1_000, seed=5)
    assert result.per_path["cost"].min() > 0.0  # the fixed fee alone: at least one trade per path
