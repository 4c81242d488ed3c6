"""TQC (sb3-contrib; Kuznetsov et al. 2020, truncated quantile critics), the third SB3 agent, treated as SAC: it is
built with SAC's off-policy settings plus its own, trains and is seeded, evaluates, goes through a run directory
(final model, ``load_agent``) and resumes from a checkpoint (its replay buffer included) exactly as the
uninterrupted run."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import get_args

import numpy as np
import pytest
from sb3_contrib import TQC

from hedgegym.agents import make_model
from hedgegym.agents.checkpoint import checkpoint_steps, list_checkpoints
from hedgegym.agents.training import ALGORITHMS, load_agent, resume, train
from hedgegym.config import AgentConfig, ConfigError, load_config, parse_config
from hedgegym.evaluation import evaluate
from tests.agents.test_agents import BASE, policy_parameters
from tests.agents.test_training import EVERY_ROLLOUT, FAST, ROOT, SMOKE, interrupted, no_plots_again, scalars

TQC_KWARGS = {"learning_starts": 64, "top_quantiles_to_drop_per_net": 1,
              "policy_kwargs": {"n_quantiles": 5, "n_critics": 2}}
RUN_AGENT = {"algo": "tqc", "n_envs": 4, "batch_size": 16, "total_timesteps": 240, "net_arch": [8],
             "sb3_kwargs": {**TQC_KWARGS, "buffer_size": 1000}}


def config(**agent):
    return parse_config({**BASE, "agent": {"algo": "tqc", "n_envs": 8, "batch_size": 64, "seed": 3, "net_arch": [8],
                                           **agent}})


def smoke(**agent):
    return parse_config({**SMOKE, "agent": {**RUN_AGENT, **agent}})


def final_parameters(path) -> np.ndarray:
    return policy_parameters(TQC.load(path, device="cpu"))


def test_tqc_is_an_algorithm_everywhere_sac_is():
    from hedgegym.sweep.config import ALGORITHMS as SWEEP_ALGORITHMS
    from hedgegym.sweep.summary import ALGOS

    assert "tqc" in get_args(AgentConfig.model_fields["algo"].annotation)
    assert ALGORITHMS["tqc"] is TQC
    assert "tqc" in SWEEP_ALGORITHMS and "tqc" in ALGOS


def test_tqc_is_built_with_sacs_settings_and_its_own():
    model = make_model(config(batch_size=4096, sb3_kwargs={"top_quantiles_to_drop_per_net": 1,
                                                           "policy_kwargs": {"n_quantiles": 7, "n_critics": 3}}))
    assert isinstance(model, TQC)
    assert model.batch_size == 1024 and model.learning_starts == 1000  # as SAC: capped batch, 1000 warm-up steps
    assert model.top_quantiles_to_drop_per_net == 1
    assert (model.critic.n_quantiles, model.critic.n_critics, model.critic.quantiles_total) == (7, 3, 21)
    hidden = [m.out_features for m in model.actor.latent_pi if hasattr(m, "out_features")]
    assert hidden == [8]  # net_arch merged with the policy_kwargs
    with pytest.raises(ConfigError, match="sb3_kwargs"):
        make_model(config(sb3_kwargs={"n_epochs": 3}))  # a PPO argument


def test_tqc_trains_a_few_hundred_steps_evaluates_and_is_reproducible():
    first = make_model(config(sb3_kwargs=TQC_KWARGS))
    first.learn(total_timesteps=320)
    second = make_model(config(sb3_kwargs=TQC_KWARGS))
    second.learn(total_timesteps=320)
    assert first.num_timesteps == 320 and first._n_updates > 0
    np.testing.assert_array_equal(policy_parameters(first), policy_parameters(second))
    critics = [np.concatenate([p.detach().numpy().ravel() for p in m.critic.parameters()]) for m in (first, second)]
    np.testing.assert_array_equal(*critics)
    result = evaluate(first, config(sb3_kwargs=TQC_KWARGS), n_paths=200, seed=1, name="tqc")
    assert len(result.per_path) == 200 and np.isfinite(result.per_path["pnl"]).all()


def test_tqc_run_directory_holds_checkpoints_with_replay_and_the_final_model(tmp_path, monkeypatch):
    no_plots_again(monkeypatch)
    cfg = smoke()
    run = train(cfg, tmp_path, **FAST)
    assert run.name.startswith("smoke__tqc__0__")
    assert load_config(run / "config.yaml") == cfg
    checkpoints = list_checkpoints(run / "checkpoints")
    assert checkpoints and checkpoints[-1].with_name(checkpoints[-1].stem + ".replay.pkl").is_file()
    agent, loaded = load_agent(run)
    assert isinstance(agent, TQC) and agent.name == "tqc" and loaded == cfg
    assert agent.num_timesteps == 240
    table = (run / "evaluation" / "results.csv").read_text()
    assert "tqc" in table and "delta" in table


@pytest.mark.parametrize("sde", [False, True], ids=["tqc", "tqc-sde"])
def test_interrupted_and_resumed_tqc_run_equals_the_uninterrupted_run(sde, tmp_path, monkeypatch):
    """As SAC's test in test_training.py: Ctrl-C at 90 steps, resume; then a crash back to an earlier checkpoint.
    With gSDE the actor's exploration matrices of the interrupted rollout are restored as SAC's are."""
    no_plots_again(monkeypatch)
    cfg = smoke(**({"sb3_kwargs": {**RUN_AGENT["sb3_kwargs"], "use_sde": True}} if sde else {}))
    assert cfg.agent.sb3_kwargs.get("use_sde", False) == sde
    full = train(cfg, tmp_path / "full", **EVERY_ROLLOUT)
    stop = interrupted(cfg, tmp_path / "cut", monkeypatch)
    run = stop.checkpoint.parent.parent
    assert stop.steps >= 90 and not (run / "final_model.zip").exists()
    assert resume(run, **EVERY_ROLLOUT) == "trained"
    np.testing.assert_array_equal(final_parameters(run / "final_model.zip"), final_parameters(full / "final_model.zip"))
    assert scalars(run) == scalars(full)
    for name in ("results.csv", "per_path.csv"):
        assert (run / "evaluation" / name).read_bytes() == (full / "evaluation" / name).read_bytes()
    kept = list_checkpoints(run / "checkpoints")[-2]  # a crash: everything after an earlier checkpoint lost
    for path in (run / "checkpoints").iterdir():
        if checkpoint_steps(Path(path.name.split(".")[0] + ".zip")) > checkpoint_steps(kept):
            path.unlink()
    (run / "final_model.zip").unlink()
    shutil.rmtree(run / "evaluation")
    assert resume(run, **EVERY_ROLLOUT) == "trained"
    np.testing.assert_array_equal(final_parameters(run / "final_model.zip"), final_parameters(full / "final_model.zip"))
    assert scalars(run) == scalars(full)


def test_shipped_tqc_config_loads_and_builds():
    cfg = load_config(ROOT / "configs/tqc_gbm_cost_60d.yaml")
    sac = load_config(ROOT / "configs/sac_gbm_cost_60d.yaml")
    assert cfg.agent.algo == "tqc"
    # the task and SAC's settings: only the name, the algorithm and TQC's own arguments differ
    assert cfg.model_dump(exclude={"name", "agent"}) == sac.model_dump(exclude={"name", "agent"})
    tqc_only = {"top_quantiles_to_drop_per_net", "policy_kwargs"}
    assert {k: v for k, v in cfg.agent.sb3_kwargs.items() if k not in tqc_only} == sac.agent.sb3_kwargs
    assert cfg.agent.model_dump(exclude={"algo", "sb3_kwargs"}) == sac.agent.model_dump(exclude={"algo", "sb3_kwargs"})
    model = make_model(cfg)
    assert isinstance(model, TQC) and model.critic.quantiles_total == 50 and model.top_quantiles_to_drop_per_net == 2
