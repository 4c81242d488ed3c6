"""Training runs: a new run directory per run, TensorBoard, checkpoints, the final model, an evaluation table.

Layout of ``runs/<config>__<algo>__<seed>__<YYYYmmdd-HHMMSS>/`` (an existing directory is never reused):

* ``config.yaml`` — the resolved configuration (seed and timesteps included);
* ``tb/`` — TensorBoard events (SB3's scalars and ``hedge/…``, see ``hedgegym.agents.callbacks``);
* ``checkpoints/model_<steps>_steps.zip`` — periodic SB3 checkpoints (also written on Ctrl-C);
* ``final_model.zip`` (PPO/SAC) or ``final_model.pt`` (deep hedging: the policy's state dict);
* ``evaluation/`` — ``hedgegym compare``'s files with the trained agent added to the classical hedgers.

``resume(run_dir)`` continues PPO/SAC from the newest checkpoint until the configured total timesteps.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import torch
from stable_baselines3 import PPO, SAC
from stable_baselines3.common.callbacks import CallbackList, CheckpointCallback
from torch.utils.tensorboard import SummaryWriter

from hedgegym.agents.callbacks import HedgeMetricsCallback, RichProgressCallback
from hedgegym.agents.deep_hedging import DeepHedger, DeepHedgingPolicy, train_deep_hedger
from hedgegym.agents.sb3 import make_model, make_vec_env
from hedgegym.config import ExperimentConfig, load_config
from hedgegym.env.core import HedgingCore
from hedgegym.evaluation.reports import Comparison, compare, default_hedgers, write_outputs

__all__ = ["evaluate_run", "load_agent", "new_run_directory", "resume", "train"]

ALGORITHMS = {"ppo": PPO, "sac": SAC}


def new_run_directory(config: ExperimentConfig, runs_dir: str | Path = "runs") -> Path:
    """``runs/<config>__<algo>__<seed>__<time>``, created now; an existing one is an error, never reused."""
    name = f"{config.name}__{config.agent.algo}__{config.agent.seed}__{time.strftime('%Y%m%d-%H%M%S')}"
    directory = Path(runs_dir) / name
    directory.mkdir(parents=True, exist_ok=False)
    return directory


def _checkpoint_every(config: ExperimentConfig) -> int:
    """Checkpoint about 10 times per run (in env.step calls of the VecEnv)."""
    return max(config.agent.total_timesteps // (10 * config.agent.n_envs), 1)


def train(config: ExperimentConfig, runs_dir: str | Path = "runs", eval_every: int | None = None,
          validation_paths: int = 2_000, evaluation_paths: int | None = None) -> Path:
    """Train ``config.agent`` into a new run directory and evaluate it; returns the directory."""
    directory = new_run_directory(config, runs_dir)
    config.save(directory / "config.yaml")
    if config.agent.algo == "deep_hedging":
        _train_deep(config, directory)
    else:
        model = make_model(config, tensorboard_log=str(directory / "tb"))
        _learn(model, config, directory, config.agent.total_timesteps, eval_every, validation_paths,
               reset_num_timesteps=True)
        model.save(directory / "final_model.zip")
    evaluate_run(directory, evaluation_paths, output_name="evaluation")
    return directory


def _learn(model, config: ExperimentConfig, directory: Path, timesteps: int, eval_every: int | None,
           validation_paths: int, reset_num_timesteps: bool) -> None:
    callbacks = CallbackList([
        RichProgressCallback(timesteps),
        CheckpointCallback(_checkpoint_every(config), str(directory / "checkpoints"), name_prefix="model"),
        HedgeMetricsCallback(config, eval_every or max(config.agent.total_timesteps // 20, 1), validation_paths),
    ])
    try:
        model.learn(total_timesteps=timesteps, callback=callbacks, reset_num_timesteps=reset_num_timesteps,
                    tb_log_name="run")
    except KeyboardInterrupt:
        path = directory / "checkpoints" / f"model_{model.num_timesteps}_steps.zip"
        path.parent.mkdir(exist_ok=True)
        model.save(path)
        raise


def _train_deep(config: ExperimentConfig, directory: Path) -> None:
    writer = SummaryWriter(str(directory / "tb"))
    writer.add_text("hparams", str(config.agent.model_dump(mode="json")))

    def progress(iteration: int, risk: float) -> None:
        writer.add_scalar("deep_hedging/risk", risk, iteration)

    policy, _history = train_deep_hedger(config, progress)
    torch.save(policy.state_dict(), directory / "final_model.pt")
    writer.close()


def resume(directory: str | Path, eval_every: int | None = None, validation_paths: int = 2_000) -> Path:
    """Continue a PPO/SAC run from its newest checkpoint up to the configured total timesteps."""
    directory = Path(directory)
    config = load_config(directory / "config.yaml")
    checkpoints = sorted((directory / "checkpoints").glob("model_*_steps.zip"),
                         key=lambda p: int(re.search(r"_(\d+)_steps", p.name).group(1)))
    if not checkpoints:
        raise FileNotFoundError(f"{directory}/checkpoints holds no checkpoint to resume from")
    model = ALGORITHMS[config.agent.algo].load(checkpoints[-1], env=make_vec_env(config), device="cpu",
                                               tensorboard_log=str(directory / "tb"))
    remaining = config.agent.total_timesteps - model.num_timesteps
    if remaining <= 0:
        return directory  # already complete: nothing to do, nothing rewritten
    _learn(model, config, directory, remaining, eval_every, validation_paths, reset_num_timesteps=False)
    final = directory / "final_model.zip"
    if final.exists():
        raise FileExistsError(f"{final} exists: the run was complete; hedgegym never overwrites a model")
    model.save(final)
    return directory


def load_agent(directory: str | Path):
    """The trained agent of a run: an SB3 model, or a ``DeepHedger``; and the run's config."""
    directory = Path(directory)
    config = load_config(directory / "config.yaml")
    if config.agent.algo == "deep_hedging":
        core = HedgingCore(config, n_envs=1)
        policy = DeepHedgingPolicy(len(core.feature_names), core.engine.n_instruments, list(config.agent.net_arch),
                                   core.position_scale)
        policy.load_state_dict(torch.load(directory / "final_model.pt"))
        return DeepHedger(policy, config), config
    model = ALGORITHMS[config.agent.algo].load(directory / "final_model.zip", device="cpu")
    model.name = config.agent.algo
    return model, config


def evaluate_run(directory: str | Path, n_paths: int | None = None, output_name: str | None = None) -> Comparison:
    """Put a run's trained agent into the comparison table with the classical hedgers (same held-out paths)."""
    directory = Path(directory)
    agent, config = load_agent(directory)
    settings = config.evaluation
    comparison = compare(config, [*default_hedgers(config), agent], n_paths or settings.n_paths, settings.seed,
                         settings.bootstrap, settings.cao_hull_c)
    write_outputs(comparison, directory / (output_name or f"evaluation_{time.strftime('%Y%m%d-%H%M%S')}"))
    return comparison
