"""Sweep configuration: every bad field refused with its name; grid and random plans; the shipped sweep files load."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from hedgegym.config import ConfigError
from hedgegym.sweep.config import SweepConfigError, load_sweep_config, parse_sweep_config
from hedgegym.sweep.runner import plan_trials

ROOT = Path(__file__).resolve().parents[2]
DEEP = "configs/deep_gbm_cost_20d.yaml"


def sweep(**changes) -> dict:
    data = {"name": "t", "tasks": [{"name": "gbm_cost_20d", "configs": {"deep_hedging": DEEP}}], "seeds": [0, 1]}
    data.update(changes)
    return data


@pytest.mark.parametrize(("changes", "field"), [
    ({"name": "a/b"}, "name"),
    ({"tasks": []}, "tasks"),
    ({"seeds": [0, 0]}, "seeds must be distinct"),
    ({"seeds": [-1]}, "seeds.0"),
    ({"tasks": [{"name": "x", "configs": {"dqn": DEEP}}]}, "tasks.0.configs.dqn"),
    ({"overrides": {"deep_hedging": {"market.spot": 90}}}, "overrides.deep_hedging.market.spot"),
    ({"overrides": {"ppo": {"agent.seed": 3}}}, "overrides.ppo.agent.seed"),
    ({"search_space": {"ppo": {"evaluation.seed": {"grid": [1, 2]}}}}, "search_space.ppo.evaluation.seed"),
    ({"search_space": {"ppo": {"agent.learning_rate": {"normal": [0, 1]}}}}, "search_space.ppo.agent.learning_rate"),
    ({"search_space": {"ppo": {"agent.learning_rate": {"loguniform": [0.0, 1e-3]}}}}, "loguniform needs 0 < low"),
    ({"search_space": {"ppo": {"agent.learning_rate": {"uniform": [2, 1]}}}, "search": {"algorithm": "random"}},
     "uniform must be [low, high]"),
    ({"search_space": {"ppo": {"agent.learning_rate": {"grid": []}}}}, "grid must be a non-empty list"),
    ({"search_space": {"ppo": {"agent.learning_rate": {"loguniform": [1e-4, 1e-3]}}}},
     "loguniform cannot be enumerated by search.algorithm grid"),
    ({"search": {"algorithm": "grid", "num_samples": 3}}, "search.num_samples must be 1"),
    ({"search": {"algorithm": "optuna", "num_samples": 3}}, "search.algorithm optuna needs a search_space"),
    ({"search": {"algorithm": "bayes"}}, "search.algorithm"),
    ({"scheduler": {"type": "asha"}}, "scheduler: early stopping needs a hyper-parameter search"),
    ({"scheduler": {"type": "asha", "reduction_factor": 1}, "search_space": {"ppo": {"agent.n_epochs": {"grid": [1]}}}},
     "scheduler.reduction_factor"),
    ({"cpus_per_trial": 0}, "cpus_per_trial"),
    ({"evaluation_paths": 5}, "evaluation_paths"),
    ({"validation_paths": 0}, "validation_paths"),
    ({"iterations": 0}, "iterations"),
    ({"unknown": 1}, "unknown"),
])
def test_bad_fields_are_named(changes, field):
    with pytest.raises(SweepConfigError, match=field.replace("[", r"\[").replace(".", r"\.")) as error:
        parse_sweep_config(sweep(**changes))
    assert isinstance(error.value, ConfigError)


def test_task_configs_must_share_the_market_and_test_paths():
    data = sweep(tasks=[{"name": "mixed", "configs": {"deep_hedging": DEEP, "ppo": "configs/ppo_gbm_cost_60d.yaml"}}])
    with pytest.raises(SweepConfigError, match=r"tasks\.0\.configs\.ppo: .* differs from .* in book"):
        parse_sweep_config(data).experiment_configs(ROOT)


def test_config_of_the_wrong_algorithm_and_bad_override_are_named():
    data = sweep(tasks=[{"name": "x", "configs": {"ppo": DEEP}}])
    with pytest.raises(SweepConfigError, match=r"tasks\.0\.configs\.ppo: .* trains agent\.algo 'deep_hedging'"):
        parse_sweep_config(data).experiment_configs(ROOT)
    data = sweep(overrides={"deep_hedging": {"agent.batch_paths": 2}})
    with pytest.raises(SweepConfigError, match=r"(?s)tasks\.0\.configs\.deep_hedging: .*agent\.batch_paths: "
                                               r"Input should be greater than or equal to 16"):
        parse_sweep_config(data).experiment_configs(ROOT)
    with pytest.raises(SweepConfigError, match="not found"):
        load_sweep_config(ROOT / "configs/sweeps/none.yaml")


def test_grid_plan_is_the_cartesian_product_times_seeds():
    space = {"agent.learning_rate": {"grid": [1e-3, 1e-4]}, "agent.net_arch": {"choice": [[8], [16, 16]]}}
    config = parse_sweep_config(sweep(search_space={"deep_hedging": space}, iterations=7))
    trials = plan_trials(config)
    expected = {(seed, lr, tuple(arch)) for lr, arch, seed in itertools.product([1e-3, 1e-4], [[8], [16, 16]], [0, 1])}
    assert {(t.seed, t.hyperparameters["agent.learning_rate"], tuple(t.hyperparameters["agent.net_arch"]))
            for t in trials} == expected
    assert all(t.hyperparameters["agent.iterations"] == 7 for t in trials)  # the CI-size override is recorded
    assert len({t.trial_id for t in trials}) == len(trials) == 8


def test_random_plan_is_seeded_and_within_bounds():
    space = {"agent.learning_rate": {"loguniform": [1e-4, 1e-2]}, "env.risk_aversion": {"uniform": [0.5, 2.0]},
             "agent.net_arch": {"grid": [[8], [16]]}}
    data = sweep(search_space={"deep_hedging": space}, search={"algorithm": "random", "num_samples": 200, "seed": 3})
    first, again = plan_trials(parse_sweep_config(data)), plan_trials(parse_sweep_config(data))
    assert [t.trial_id for t in first] == [t.trial_id for t in again]
    rates = np.array([t.hyperparameters["agent.learning_rate"] for t in first])
    assert rates.min() >= 1e-4 and rates.max() <= 1e-2
    # log-uniform: the mean of log10(rate) is near -3 (sd of the mean 0.577/sqrt(200) ~ 0.04)
    assert abs(np.mean(np.log10(rates)) + 3.0) < 0.2
    risk = [t.hyperparameters["env.risk_aversion"] for t in first]
    assert 0.5 <= min(risk) and max(risk) <= 2.0
    assert {tuple(t.hyperparameters["agent.net_arch"]) for t in first} == {(8,), (16,)}
    data["search"]["seed"] = 4
    assert [t.trial_id for t in plan_trials(parse_sweep_config(data))] != [t.trial_id for t in first]


@pytest.mark.parametrize("name", sorted(path.stem for path in (ROOT / "configs/sweeps").glob("*.yaml")))
def test_shipped_sweeps_load(name, monkeypatch):
    monkeypatch.chdir(ROOT)
    config = load_sweep_config(ROOT / f"configs/sweeps/{name}.yaml")
    trials = plan_trials(config)
    if name == "benchmark":
        assert sorted(task.name for task in config.tasks) == ["gbm_cost_20d", "gbm_cost_60d", "heston_straddle"]
        assert config.seeds == [0, 1, 2, 3, 4]
        assert len(trials) == 3 * 3 * 5
        assert {t.algo for t in trials} == {"ppo", "sac", "deep_hedging"}
    elif name == "smoke":
        assert len(trials) == 2
    else:
        assert trials
    assert config.summaries_dir == Path(f"benchmarks/sweeps/{name}")


def test_asha_grace_period_beyond_max_t_is_refused_naming_both_fields():
    from hedgegym.sweep.config import SchedulerConfig

    with pytest.raises(ValueError, match=r"scheduler\.grace_period must be <= scheduler\.max_t \(3\), got 5"):
        SchedulerConfig(grace_period=5, max_t=3)


@pytest.mark.parametrize(("changes", "message"), [
    ({"search_space": {"deep_hedging": {"agent.learning_rate": {"grid": [1e-3, 1e-3]}}}},
     r"search_space\.deep_hedging\.agent\.learning_rate\.grid repeats a value"),
    ({"search_space": {"deep_hedging": {"agent.risk_aversion": {"choice": [1.0, 2.0]}}},
      "search": {"algorithm": "random", "num_samples": 5}},
     r"random draws for task gbm_cost_20d, deep_hedging repeat a hyper-parameter set \(5 draws, 2 distinct\)"),
    ({"search": {"algorithm": "random", "num_samples": 3}, "scheduler": {"type": "asha"}},
     "scheduler: early stopping needs a hyper-parameter search"),
    ({"tasks": [{"name": "gbm_cost_20d", "configs": {"deep_hedging": DEEP, "ppo": "configs/ppo_gbm_cost_20d.yaml"}}],
      "search": {"algorithm": "optuna", "num_samples": 2},
      "search_space": {"ppo": {"agent.learning_rate": {"loguniform": [1e-5, 1e-3]}}}},
     r"search\.algorithm optuna: search_space\.deep_hedging is empty but the tasks train deep_hedging"),
])
def test_sweeps_whose_trials_would_collide_or_vanish_are_refused(changes, message):
    """Repeated hyper-parameter sets share one trial id (one run directory, one summary), and an algorithm without
    a space would silently not run under Optuna: both are refused at load, naming the field."""
    with pytest.raises(SweepConfigError, match=message):
        parse_sweep_config(sweep(**changes))


def test_a_sweep_trains_tqc_like_sac():
    """TQC (sb3-contrib) is a sweep algorithm like SAC: its task config loads next to SAC's (same task), takes the
    SB3 ``total_timesteps`` override and its own searched keys, and names its trials and Optuna experiments."""
    from hedgegym.sweep.config import ALGORITHMS
    from hedgegym.sweep.runner import _keys_of
    from hedgegym.sweep.summary import ALGOS

    assert ALGORITHMS[:3] == ("ppo", "sac", "deep_hedging")  # the index seeds random draws: appended, never inserted
    assert set(ALGOS) == set(ALGORITHMS)
    drop = "agent.sb3_kwargs.top_quantiles_to_drop_per_net"
    data = sweep(tasks=[{"name": "gbm_cost_60d", "configs": {"sac": "configs/sac_gbm_cost_60d.yaml",
                                                             "tqc": "configs/tqc_gbm_cost_60d.yaml"}}],
                 total_timesteps=500, search_space={"tqc": {drop: {"grid": [0, 2]}}})
    config = parse_sweep_config(data)
    configs = config.experiment_configs(ROOT)
    assert configs["gbm_cost_60d", "tqc"].agent.algo == "tqc"
    assert configs["gbm_cost_60d", "tqc"].agent.total_timesteps == configs["gbm_cost_60d", "sac"].agent.total_timesteps
    assert configs["gbm_cost_60d", "tqc"].agent.total_timesteps == 500
    trials = [t for t in plan_trials(config) if t.algo == "tqc"]
    assert sorted(t.hyperparameters[drop] for t in trials) == [0, 0, 2, 2]  # 2 values x 2 seeds
    assert all("__tqc__" in t.trial_id and t.hyperparameters["agent.total_timesteps"] == 500 for t in trials)
    optuna = parse_sweep_config({**data, "tasks": [{"name": "gbm_cost_60d",
                                                    "configs": {"tqc": "configs/tqc_gbm_cost_60d.yaml"}}],
                                 "search": {"algorithm": "optuna", "num_samples": 2},
                                 "search_space": {"tqc": {drop: {"choice": [0, 2]}}}})
    assert _keys_of(optuna, "gbm_cost_60d__tqc__1") == {"hp_0": drop}
