"""``BatchedHedgingVecEnv``: n_envs hedging episodes stepped by one engine call, as an SB3 ``VecEnv``.

Same features, rewards, actions and episodes as ``HedgingEnv`` (both are faces of ``HedgingCore``): env i of
a VecEnv seeded s replays ``HedgingEnv`` reset with seed s + i, step for step. All episodes last n_steps and
end together at maturity: then every env reports ``done`` (a termination: ``TimeLimit.truncated`` is False,
so SB3 does not bootstrap), its ``info["terminal_observation"]``, ``terminal_pnl`` and ``total_cost``, and the
VecEnv starts the next episodes (SB3's auto-reset convention). Wrap with
``VecMonitor(env, info_keywords=("terminal_pnl", "total_cost"))`` to log them.

Per-step infos carry the step's P&L decomposition (as ``HedgingEnv``'s) only when ``step_infos=True`` (a dict
per env and step). Off by default, for speed: then the infos between episode ends are empty read-only mappings,
those at episode ends hold only ``terminal_observation``, ``TimeLimit.truncated``, ``terminal_pnl`` and
``total_cost``, and the decomposition of the last step is always in ``last_outcome`` as arrays.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3.common.vec_env.base_vec_env import VecEnv, VecEnvIndices, VecEnvStepReturn

from hedgegym.config import ExperimentConfig
from hedgegym.env.core import CoreFace, HedgingCore
from hedgegym.env.hedging_env import resolve_config

__all__ = ["BatchedHedgingVecEnv"]


class BatchedHedgingVecEnv(CoreFace, VecEnv):
    """``n_envs`` synchronised ``HedgingEnv`` episodes in one batched engine (see the module docstring)."""

    def __init__(
        self,
        config: ExperimentConfig | dict | str | Path | None = None,
        n_envs: int = 64,
        seed: int | None = None,
        step_infos: bool = False,
    ) -> None:
        if isinstance(n_envs, bool) or not isinstance(n_envs, int) or n_envs < 1:
            raise ValueError(f"n_envs must be an integer >= 1, got {n_envs!r}")
        self.config = resolve_config(config)
        self.core = HedgingCore(self.config, n_envs)
        self.core.check_block_size()  # refuse a path block that cannot fit before anything is drawn
        self.render_mode = None
        super().__init__(n_envs, self.core.observation_space, self.core.action_space)
        self.step_infos = step_infos
        self._actions: np.ndarray | None = None
        self._cached_infos: list[dict] | None = None
        if seed is not None:
            self.seed(seed)

    # ------------------------------------------------------------------ VecEnv API
    def reset(self):
        if any(seed is not None for seed in self._seeds) or any(g is None for g in self.core.generators):
            self.core.seed(seeds=list(self._seeds))
        self._reset_seeds()
        self._reset_options()
        observations = self.core.reset()
        self.reset_infos = self.core.infos() if self.step_infos else [{} for _ in range(self.num_envs)]
        return observations

    def step_async(self, actions: np.ndarray) -> None:
        if actions is None:
            raise ValueError(f"actions must be an array of shape ({self.num_envs}, {self.action_space.shape[0]}) "
                             "(envs × instruments), got None")
        self._actions = actions

    def step_wait(self) -> VecEnvStepReturn:
        if self._actions is None:
            raise RuntimeError("step_async must be called before step_wait")
        observations, rewards, terminated, _outcome = self.core.step(self._actions)
        self._actions = None
        dones = np.full(self.num_envs, terminated)
        if terminated:
            if self.step_infos:
                infos = self.core.infos()
                for info, final in zip(infos, observations, strict=True):
                    info["terminal_observation"] = final
                    info["TimeLimit.truncated"] = False
            else:
                infos = [
                    {"terminal_observation": final, "TimeLimit.truncated": False, "terminal_pnl": pnl,
                     "total_cost": cost}
                    for final, pnl, cost in zip(observations, self.core.engine.wealth.tolist(),
                                                self.core.total_cost.tolist(), strict=True)
                ]
            observations = self.core.reset()
        elif self.step_infos:
            infos = self.core.infos()
        else:
            infos = self._empty_infos()
        return observations, rewards.astype(np.float32), dones, infos

    def _empty_infos(self) -> list:
        """N empty, read-only info mappings, built once: between episode ends there is nothing to report per env,
        and SB3's wrappers only write into the infos of finished episodes (VecMonitor copies them first). A
        consumer that writes into one gets a TypeError instead of a silently shared dict."""
        if self._cached_infos is None:
            empty = MappingProxyType({})
            self._cached_infos = [empty] * self.num_envs
        return list(self._cached_infos)

    def __getstate__(self) -> dict[str, Any]:
        """Copy and pickle state: the cached read-only infos (``mappingproxy``, which cannot be pickled) travel as a
        flag and are rebuilt by ``__setstate__``."""
        state = self.__dict__.copy()
        state["_cached_infos"] = self._cached_infos is not None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        cached = state.pop("_cached_infos")
        self.__dict__.update(state, _cached_infos=None)
        if cached:
            self._empty_infos()

    def close(self) -> None:
        return None

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        value = getattr(self, attr_name) if hasattr(self, attr_name) else getattr(self.core, attr_name)
        return [value for _ in self._get_indices(indices)]

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        raise AttributeError(
            f"cannot set {attr_name!r} per env: the {self.num_envs} envs share one batched engine; "
            "build a new BatchedHedgingVecEnv from a modified config instead"
        )

    def env_method(self, method_name: str, *method_args, indices: VecEnvIndices = None, **method_kwargs) -> list[Any]:
        method = getattr(self.core, method_name)
        return [method(*method_args, **method_kwargs) for _ in self._get_indices(indices)]

    def env_is_wrapped(self, wrapper_class: type[gym.Wrapper], indices: VecEnvIndices = None) -> list[bool]:
        return [False for _ in self._get_indices(indices)]

    def get_images(self) -> Sequence[np.ndarray | None]:
        return [None for _ in range(self.num_envs)]
