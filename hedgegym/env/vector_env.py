"""``HedgingVectorEnv``: num_envs hedging episodes stepped by one engine call, as a ``gymnasium.vector.VectorEnv``.

``gymnasium.make_vec("hedgegym/Hedging-v0", num_envs=N, vectorization_mode="vector_entry_point", config=...)``
builds it (the id's ``vector_entry_point``), so CleanRL-, TorchRL- and skrl-style loops written for Gymnasium's
vector API drive the batched engine directly. It is the third face of ``hedgegym.env.core.HedgingCore`` (beside
``HedgingEnv`` and the SB3 ``BatchedHedgingVecEnv``): no step logic lives here.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from hedgegym.config import ExperimentConfig
from hedgegym.env.core import CoreFace, HedgingCore
from hedgegym.env.hedging_env import resolve_config
from hedgegym.pricing.greeks import FloatArray

__all__ = ["HedgingVectorEnv"]

Seed = int | Sequence[int | None] | None


class HedgingVectorEnv(CoreFace, VectorEnv):
    r"""``num_envs`` synchronised ``HedgingEnv`` episodes in one batched engine, Gymnasium's vector API.

    Built by ``gymnasium.make_vec("hedgegym/Hedging-v0", num_envs=N, vectorization_mode="vector_entry_point",
    config=...)`` or directly: ``HedgingVectorEnv(config, num_envs=N)``; ``config`` is an ``ExperimentConfig``,
    a dict (validated) or a YAML path, resolved as for ``HedgingEnv``. The features, rewards, actions and
    episodes are those of ``hedgegym.env.core.HedgingCore`` with N = ``num_envs``: env i of a vector env reset
    with ``seed=s`` replays ``HedgingEnv`` reset with ``seed=s + i``, step for step, bit for bit (as the SB3
    ``BatchedHedgingVecEnv`` and Gymnasium's ``SyncVectorEnv`` do).

    **Observation**: ``single_observation_space = Box(-10, 10, (d,), float32)``, the named features
    ``feature_names`` (table in ``hedgegym.env.features``); ``observation_space`` its batch, shape (N, d).

    **Action**: ``single_action_space = Box(-1, 1, (a,), float32)``, a = k = 1 + number of hedge options (target
    positions as a fraction of ``position_limit`` × the book's notional), k + 1 with ``action: delta_band``, 2k
    with ``delta_vega_band`` (see ``HedgingEnv``, ``hedgegym.env.actions``); ``action_space`` shape (N, a).
    Out-of-range actions are clipped; a wrong shape, a non-numeric array, NaN or inf raises the core's
    ``ValueError`` naming the expected shape (N, a).

    **Reward**: (N,) float64, a function of each env's scaled wealth increment δW/P (``hedgegym.env.rewards``);
    ``terminal_mean_variance`` also of running means shared by the N envs (so, from the second batch of episodes
    on, env i no longer replays a single ``HedgingEnv``, which keeps its own).

    **Episode end**: all episodes last ``n_steps`` and end together at maturity: ``terminations`` is all True
    on that step, ``truncations`` is always all False (no time limit to bootstrap through).

    **Autoreset**: ``metadata["autoreset_mode"] = AutoresetMode.NEXT_STEP`` (Gymnasium's default,
    https://farama.org/Vector-Autoreset-Mode): the step() call after the episodes ended starts the next
    episodes and returns their first observations, rewards 0.0, terminations and truncations False and the
    reset infos; its actions are not applied (they are still checked). Since every env ends on the same step,
    ``reset(options={"reset_mask": mask})`` accepts only an all-True mask.

    **Infos** (Gymnasium's vector convention: a dict of (N,) float64 arrays, each key with its ``_key`` bool
    mask, all True): the step's P&L decomposition in currency, ``pnl``, ``book_pnl``, ``hedge_pnl``, ``cost``,
    ``wealth``, and ``time_to_maturity`` (years); on the last step also ``terminal_pnl`` (= ``wealth``) and
    ``total_cost``. After a reset (explicit or automatic) only ``wealth`` and ``time_to_maturity``. The same
    keys and values as ``SyncVectorEnv`` over N ``HedgingEnv``, built without per-env dicts.

    **Seeding**: ``reset(seed=s)`` with an int seeds env i with s + i; a sequence of N ints or None seeds each
    env (a None entry keeps that env's stream); ``None`` continues every env's stream (random seeds on the first
    reset). Paths are drawn ``env.episodes_per_draw`` episodes at a time for all envs together, so a seeded reset
    redraws every env's block: a None entry in a seed list continues env i's generator, not its drawn block (the
    same as ``HedgingEnv`` only when ``episodes_per_draw`` is 1).

    **Rendering**: none (``render_mode`` is None). ``close()`` releases nothing (no subprocesses).

    Raises:
        ValueError: ``num_envs`` not an integer ≥ 1; ``render_mode`` not None; a config that does not validate;
            a path block over the memory bound (``HedgingCore.check_block_size``); bad seeds, options or actions.
    """

    metadata = {"render_modes": [], "autoreset_mode": AutoresetMode.NEXT_STEP}  # noqa: RUF012 - Gymnasium's convention

    def __init__(
        self,
        config: ExperimentConfig | dict | str | Path | None = None,
        num_envs: int = 1,
        render_mode: str | None = None,
    ) -> None:
        if isinstance(num_envs, bool) or not isinstance(num_envs, int | np.integer) or num_envs < 1:
            raise ValueError(f"num_envs must be an integer >= 1, got {num_envs!r}")
        if render_mode is not None:
            raise ValueError(f"render_mode must be None (the hedging env draws nothing), got {render_mode!r}")
        self.config = resolve_config(config)
        self.num_envs = int(num_envs)
        self.core = HedgingCore(self.config, self.num_envs)
        self.core.check_block_size()  # refuse a path block that cannot fit before anything is drawn
        self.render_mode = None
        self.single_observation_space = self.core.observation_space
        self.single_action_space = self.core.action_space
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self._needs_reset = True
        self._autoreset = False

    # ------------------------------------------------------------------ VectorEnv API
    def reset(self, *, seed: Seed = None, options: dict[str, Any] | None = None) -> tuple[FloatArray, dict[str, Any]]:
        """Start the next episode of every env; observations (N, d) float32 and the reset infos.

        ``seed``: an int s ≥ 0 (env i gets s + i), a sequence of N ints ≥ 0 or None, or None (continue).
        ``options``: None, or ``{"reset_mask": m}`` with m an all-True bool array of shape (N,).
        Raises ``ValueError`` for any other seed or option.
        """
        seeds = self._seeds(seed)
        self._check_options(options)
        if isinstance(seed, int | np.integer):
            super().reset(seed=int(seed))  # the VectorEnv's own np_random; the envs draw from the core's streams
        if seeds is not None:  # a None entry keeps env i's stream (its next block is drawn from it)
            kept = self.core.generators
            self.core.seed(generators=[seeding.np_random(value)[0] if value is not None or kept[i] is None else kept[i]
                                       for i, value in enumerate(seeds)])
        elif any(generator is None for generator in self.core.generators):
            self.core.seed()
        return self._start()

    def step(self, actions: np.ndarray) -> tuple[FloatArray, FloatArray, np.ndarray, np.ndarray, dict[str, Any]]:
        """Advance every env one rebalancing date with ``actions`` (N, k) in [−1, 1].

        Returns (observations (N, d) float32, rewards (N,) float64, terminations (N,) bool, truncations (N,)
        bool, infos). The call after the episodes ended resets them instead (next-step autoreset, see the class
        docstring). ``ValueError`` for bad actions; ``RuntimeError`` before the first ``reset``.
        """
        if self._needs_reset:
            raise RuntimeError("call reset() before step()")
        if self._autoreset:
            self.core.targets(actions)  # checked, not applied
            observations, infos = self._start()
            zeros = np.zeros(self.num_envs, dtype=np.bool_)
            return observations, np.zeros(self.num_envs), zeros, zeros.copy(), infos
        observations, rewards, terminated, outcome = self.core.step(actions)
        self._autoreset = bool(terminated)
        engine = self.core.engine
        columns = {name: getattr(outcome, name) for name in ("pnl", "book_pnl", "hedge_pnl", "cost")}
        columns["wealth"] = engine.wealth
        if terminated:
            columns["terminal_pnl"] = engine.wealth
            columns["total_cost"] = self.core.total_cost
        return (observations, np.array(rewards, dtype=np.float64), np.full(self.num_envs, self._autoreset),
                np.zeros(self.num_envs, dtype=np.bool_), self._infos(columns))

    def render(self) -> None:
        """Nothing to draw: ``render_mode`` is None."""
        return None

    # ------------------------------------------------------------------ helpers
    def _start(self) -> tuple[FloatArray, dict[str, Any]]:
        observations = self.core.reset()
        self._needs_reset = self._autoreset = False
        return observations, self._infos({"wealth": self.core.engine.wealth})

    def _infos(self, columns: dict[str, np.ndarray]) -> dict[str, Any]:
        """Gymnasium's vector infos from per-env columns: copies (float64) + all-True masks, and
        ``time_to_maturity``."""
        columns = {**columns, "time_to_maturity": np.full(self.num_envs, self.core.engine.time_to_maturity)}
        infos: dict[str, Any] = {}
        for name, values in columns.items():
            infos[name] = np.array(values, dtype=np.float64)
            infos[f"_{name}"] = np.ones(self.num_envs, dtype=np.bool_)
        return infos

    def _seeds(self, seed: Seed) -> list[int | None] | None:
        """Per-env seeds from ``reset``'s ``seed`` (None: keep the streams)."""
        def valid(value: object) -> bool:
            return value is None or (isinstance(value, int | np.integer) and not isinstance(value, bool)
                                     and value >= 0)

        if seed is None:
            return None
        if isinstance(seed, int | np.integer) and valid(seed):
            return [int(seed) + i for i in range(self.num_envs)]
        if isinstance(seed, Sequence) and not isinstance(seed, str) and len(seed) == self.num_envs and all(
                valid(value) for value in seed):
            return [None if value is None else int(value) for value in seed]
        raise ValueError(f"seed must be None, an integer >= 0 (env i gets seed + i) or a sequence of {self.num_envs} "
                         f"integers >= 0 or None (one per env), got {seed!r}")

    def _check_options(self, options: dict[str, Any] | None) -> None:
        if options is None:
            return
        if not isinstance(options, dict) or set(options) - {"reset_mask"}:
            raise ValueError("options must be None or {'reset_mask': all-True bool array of shape "
                             f"({self.num_envs},)}}; got {options!r}")
        if "reset_mask" in options:
            mask = np.asarray(options["reset_mask"])
            if mask.dtype != np.bool_ or mask.shape != (self.num_envs,) or not mask.all():
                raise ValueError(
                    f"options['reset_mask'] must be an all-True bool array of shape ({self.num_envs},): the "
                    f"{self.num_envs} episodes share one engine and reset together; got {options['reset_mask']!r}"
                )
