"""SB3 PPO and SAC, and sb3-contrib's TQC, built from an ``ExperimentConfig``, always on the batched VecEnv (wrapped
in VecMonitor).

``make_model(config, tensorboard_log=None)`` returns an untrained SB3 model; ``config.agent`` selects the
algorithm and its settings (net sizes, learning rate, n_envs, batch, gamma, …; ``sb3_kwargs`` are passed
through). PPO's rollout is one episode per env (``n_steps`` = the episode length) unless ``sb3_kwargs`` says
otherwise; SAC's replay buffer defaults to 1M transitions and its entropy coefficient to "auto". TQC (Kuznetsov et
al. 2020: SAC with truncated mixtures of quantile critics, ``sb3_contrib.TQC``) is built exactly as SAC; its own
settings go through ``sb3_kwargs`` (``top_quantiles_to_drop_per_net``; ``policy_kwargs``: ``n_quantiles``,
``n_critics``).
``sb3_kwargs["policy_kwargs"]`` (e.g. ``log_std_init``) is merged into ``{"net_arch": agent.net_arch}``;
``sb3_kwargs["train_freq"]`` given as a YAML list (``[1, episode]``) is passed to SB3 as the tuple it expects
(episodes need ``n_envs`` 1: ``ConfigError`` otherwise, not SB3's assert inside ``learn``).
"""

from __future__ import annotations

from typing import Any

from sb3_contrib import TQC
from stable_baselines3 import PPO, SAC
from stable_baselines3.common.vec_env import VecMonitor

from hedgegym.config import ConfigError, ExperimentConfig
from hedgegym.env import BatchedHedgingVecEnv

__all__ = ["make_model", "make_vec_env"]

INFO_KEYWORDS = ("terminal_pnl", "total_cost")


def make_vec_env(config: ExperimentConfig, n_envs: int | None = None, seed: int | None = None) -> VecMonitor:
    agent = config.agent
    env = BatchedHedgingVecEnv(config, n_envs=n_envs or agent.n_envs, seed=agent.seed if seed is None else seed)
    return VecMonitor(env, info_keywords=INFO_KEYWORDS)


def make_model(config: ExperimentConfig, tensorboard_log: str | None = None, device: str = "cpu") -> Any:
    """An untrained PPO, SAC or TQC model on a fresh batched env seeded by ``agent.seed``; ``ConfigError`` when SB3
    refuses the settings (an unknown or out-of-range ``sb3_kwargs`` entry, PPO's ``batch_size`` 1, …)."""
    agent = config.agent
    env = make_vec_env(config)
    common: dict[str, Any] = {
        "learning_rate": agent.learning_rate, "gamma": agent.gamma, "seed": agent.seed, "device": device,
        "tensorboard_log": tensorboard_log, "verbose": 0,
    }
    extra = dict(agent.sb3_kwargs)
    policy_kwargs = extra.pop("policy_kwargs", {})
    if not isinstance(policy_kwargs, dict):
        raise ConfigError(f"agent.sb3_kwargs.policy_kwargs must be a mapping, got {policy_kwargs!r}")
    common["policy_kwargs"] = {"net_arch": list(agent.net_arch), **policy_kwargs}
    if isinstance(extra.get("train_freq"), list):  # YAML has no tuples; SB3 reads a list as a number of steps
        extra["train_freq"] = tuple(extra["train_freq"])
    freq = extra.get("train_freq")
    if isinstance(freq, tuple) and len(freq) == 2 and freq[1] == "episode" and agent.n_envs > 1:
        # SB3 asserts this only inside learn()
        raise ConfigError(f"agent.sb3_kwargs.train_freq {list(freq)} (episodes) needs agent.n_envs 1, got "
                          f"{agent.n_envs}; or use [n, step]")
    if agent.algo == "ppo":
        settings = {"n_steps": config.simulation.n_steps, "batch_size": agent.batch_size, "n_epochs": agent.n_epochs,
                    **common, **extra}
        cls = PPO
    elif agent.algo in ("sac", "tqc"):  # TQC: SAC with distributional critics, the same off-policy settings
        settings = {"batch_size": min(agent.batch_size, 1024), "learning_starts": 1000, **common, **extra}
        cls = SAC if agent.algo == "sac" else TQC
    else:
        raise ConfigError(f"agent.algo {agent.algo!r} is not an SB3 algorithm (use hedgegym.agents.deep_hedging)")
    try:
        return cls("MlpPolicy", env, **settings)
    except TypeError as error:
        raise ConfigError(f"agent.sb3_kwargs: {error}") from None
    except (AssertionError, ValueError) as error:  # SB3 checks its settings with asserts and ValueErrors
        raise ConfigError(f"agent (sb3_kwargs or a field SB3 receives: batch_size, n_envs, ...): {error}") from None
