"""``HedgingEnv``: the single-episode Gymnasium face of the hedging engine (registered ``hedgegym/Hedging-v0``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from hedgegym.config import ExperimentConfig, load_config, parse_config
from hedgegym.env.core import CoreFace, HedgingCore

__all__ = ["HedgingEnv", "resolve_config"]


def resolve_config(config: ExperimentConfig | dict | str | Path | None) -> ExperimentConfig:
    """An ``ExperimentConfig`` from itself, a dict (validated), a YAML path, or ``None`` (the defaults)."""
    if config is None:
        return ExperimentConfig()
    if isinstance(config, ExperimentConfig):
        return config
    if isinstance(config, dict):
        return parse_config(config)
    if isinstance(config, str | Path):
        return load_config(config)
    raise ValueError(f"config must be an ExperimentConfig, a dict, a YAML path or None; got {type(config).__name__}")


class HedgingEnv(CoreFace, gym.Env):
    r"""Hedge an option book through one life of the options (one episode = maturity T in n_steps dates).

    Built from an ``ExperimentConfig`` (or a dict / YAML path): ``gymnasium.make("hedgegym/Hedging-v0",
    config="configs/gbm_call.yaml")``. The engine, features, rewards and action mapping are those of
    ``hedgegym.env.core.HedgingCore`` with N = 1, shared with ``BatchedHedgingVecEnv``.

    **Observation**: ``Box(-10, 10, (d,), float32)``, the named features ``env.feature_names`` (defaults:
    log_moneyness, time_to_maturity, volatility, book_delta, book_gamma, book_vega, book_theta,
    stock_position, pnl, then position/delta/gamma/vega/theta of each hedge option), each scaled to O(1) and
    clipped (table in ``hedgegym.env.features``).

    **Action**: ``Box(-1, 1, (a,), float32)``, k = 1 + number of hedge options: with ``action: absolute``
    (a = k) target positions (stock in shares, options in contracts) as a fraction of ``position_limit`` × the
    book's notional (``option_limit`` × its contracts for options); with ``action: delta_relative`` (a = k) the
    stock action is a deviation from the model delta hedge; with ``action: delta_band`` (a = k + 1) the first two
    actions are the widths of a no-transaction band around the delta hedge; with ``action: delta_vega_band``
    (a = 2k, one hedge option) a band on each instrument around the delta–vega hedge (``hedgegym.env.actions``).
    Out-of-range actions are clipped to [-1, 1]; NaN or inf raises ``ValueError``.

    **Reward**: a function of the scaled wealth increment δW/P, costs included: ``pnl``, ``mean_variance``
    (default, κ = ``risk_aversion``), terminal-only ``cvar`` / ``entropic``, or ``terminal_mean_variance``
    (stateful: running means of the P&L per step; ``hedgegym.env.rewards``). With Greek limits in the config
    (``limits:``, ``hedgegym.risk.limits``), ``limits.penalty`` is subtracted per limit the step's positions breach.

    **Episode end**: at maturity, ``terminated=True`` (never truncated: there is no time limit to bootstrap
    through). ``info`` holds the step's P&L decomposition in currency (``pnl``, ``book_pnl``, ``hedge_pnl``,
    ``cost``, ``wealth``) and, at the end, ``terminal_pnl`` and ``total_cost``; with Greek limits,
    ``limit_breaches`` and ``limit_alerts`` (the Greeks whose limit the positions held over the step breach, or
    reach the alert level).

    **Seeding**: ``reset(seed=s)`` re-seeds ``self.np_random``, the only source of randomness; episodes are
    simulated ``episodes_per_draw`` at a time from it.
    """

    metadata = {"render_modes": []}  # noqa: RUF012 - Gymnasium's convention

    def __init__(self, config: ExperimentConfig | dict | str | Path | None = None) -> None:
        super().__init__()
        self.config = resolve_config(config)
        self.core = HedgingCore(self.config, n_envs=1)
        self.observation_space = self.core.observation_space
        self.action_space = self.core.action_space
        self._needs_reset = True

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        had_generator = self._np_random is not None
        super().reset(seed=seed)
        if seed is not None or not had_generator or self.core.generators[0] is None:
            self.core.seed(generators=[self.np_random])
        observation = self.core.reset()[0]
        self._needs_reset = False
        return observation, self.core.info(0)

    def step(self, action):
        if self._needs_reset:
            raise RuntimeError("call reset() before step() (and again after an episode has terminated)")
        shape = self.action_space.shape
        array = None if action is None else np.asarray(action)
        if array is None or array.shape != shape:
            got = "None" if array is None else f"shape {array.shape}"
            raise ValueError(f"action must be an array of shape {shape} (stock"
                             f"{' + hedge options' if shape[0] > 1 else ''}, each in [-1, 1]), got {got}")
        observations, rewards, terminated, _outcome = self.core.step(array[None, :])
        self._needs_reset = terminated
        return observations[0], float(rewards[0]), bool(terminated), False, self.core.info(0)
