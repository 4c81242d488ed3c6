r"""The batched environment logic shared by ``HedgingEnv`` (N = 1) and ``BatchedHedgingVecEnv`` (N = n_envs).

One ``HedgingCore`` owns the engine, the per-env random streams, the feature list, the reward and the action
mapping; both faces only translate its arrays into their APIs, so their trajectories are the same numbers.

Episodes and randomness. Env i has its own ``np.random.Generator``. Paths are drawn ``episodes_per_draw`` (K)
at a time: one ``model.simulate(K, …, rng_i)`` call per env fills a block of K episodes, consumed in order
(K keeps the per-env Python call off the hot path: one call every K episodes). Env i's episode sequence
depends only on its own generator and K, so N single envs seeded s, s+1, … and one VecEnv seeded s replay
the same episodes. Real-world measure (drift ``mu``): hedging P&L depends on it.

Actions: a ∈ [−1, 1]^a (values outside are clipped; NaN raises ``ValueError``), mapped to target positions by
``env.action`` (``hedgegym.env.actions``: ``absolute``, ``delta_relative``, ``delta_band``, ``delta_vega_band``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from gymnasium import spaces
from gymnasium.utils import seeding

from hedgegym.baselines.delta_gamma import option_position_limits
from hedgegym.config import MAX_SIMULATION_NODES, ExperimentConfig
from hedgegym.engine import HedgingEngine, StepOutcome
from hedgegym.env.actions import ActionGreeks, ActionMapping
from hedgegym.env.features import (
    CLIP,
    Scales,
    check_features,
    configured_features,
    evaluate_features,
    evaluate_node_features,
    greeks_read,
)
from hedgegym.env.rewards import make_reward
from hedgegym.pricing.greeks import FloatArray
from hedgegym.risk.limits import ALERT, BREACH, count_breaches, held_greeks

__all__ = ["CoreFace", "HedgingCore"]


class HedgingCore:
    """N synchronised hedging episodes (they all end at maturity, on the same step)."""

    def __init__(self, config: ExperimentConfig, n_envs: int, dtype: torch.dtype = torch.float64,
                 device: str | torch.device = "cpu", scales: Scales | None = None) -> None:
        """``dtype``, ``device``: the engine's (``HedgingEngine``); the envs keep the float64 CPU default, deep
        hedging trains at ``agent.dtype`` on ``agent.device``. ``scales``: the features' and rewards' units;
        default ``Scales.from_setup`` of this config's market and book (an agent evaluated in another market
        passes its training market's, so that it sees the units it was trained on)."""
        self.config = config
        self.model = config.market.build()
        self.book = config.build_book()
        self.engine = HedgingEngine(
            self.model, self.book, config.simulation.n_steps, hedge_options=config.build_hedge_options(),
            costs=config.build_costs(), liquidate_at_maturity=config.hedging.liquidate_at_maturity,
            horizon=config.simulation.horizon, dtype=dtype, device=device,
        )
        self.n_envs = n_envs
        self.n_steps = config.simulation.n_steps
        self.scales = Scales.from_setup(self.model, self.book) if scales is None else scales
        env = config.env
        n_options = len(self.engine.hedge_options)
        self.feature_names = configured_features(env.features, n_options)
        check_features(self.feature_names, n_options)
        self.reward = make_reward(env.reward, env.risk_aversion, env.cvar_level, env.cvar_threshold, self.n_steps)
        k = self.engine.n_instruments
        option_limit = env.position_limit if env.option_limit is None else env.option_limit
        self.position_scale = np.array([self.scales.notional * env.position_limit]
                                       + [self.scales.contracts * option_limit] * (k - 1))
        self.action = env.action
        # the Greek-neutral hedgers' cap on a listed option's position (read by delta_vega_band, one option)
        option_bound = option_position_limits(self.engine, config.hedging.position_limit)[1:].min(initial=np.inf)
        self.action_mapping = ActionMapping(env.action, self.position_scale, float(option_bound))
        # reset values only the Greeks the features and the action mapping read; others on first access
        self.engine.required_greeks = greeks_read(self.feature_names) | self.action_mapping.greeks
        self.limits = config.build_limits()
        if self.limits is not None and self.limits.greeks:
            self.engine.required_greeks = self.engine.required_greeks | self.limits.required_greeks
        else:
            self.limits = None  # distribution limits alone are an evaluation's, not a step's
        self.last_levels: dict[str, np.ndarray] | None = None
        self.observation_space = spaces.Box(-CLIP, CLIP, shape=(len(self.feature_names),), dtype=np.float32)
        self.action_space = spaces.Box(-1.0, 1.0, shape=(self.action_mapping.size,), dtype=np.float32)
        self.episodes_per_draw = env.episodes_per_draw
        self.generators: list[np.random.Generator | None] = [None] * n_envs
        self._cursor = self.episodes_per_draw  # empty block
        # allocated by the first draw: evaluation on fixed paths (N = number of test paths) never draws
        self._spot_block: np.ndarray | None = None
        self._variance_block: np.ndarray | None = None
        self.last_outcome: StepOutcome | None = None

    # ------------------------------------------------------------------ randomness
    def seed(self, seeds: list[int | None] | None = None, generators: list[np.random.Generator] | None = None) -> None:
        """Re-seed env i from ``seeds[i]`` (or adopt ``generators[i]``); the next reset draws a fresh block. A
        stateful reward (``terminal_mean_variance``) restarts its running means: a seeded reset replays the same
        numbers."""
        self.reward.restart()
        if generators is not None:
            self.generators = list(generators)
        else:
            seeds = seeds if seeds is not None else [None] * self.n_envs
            self.generators = [seeding.np_random(seed)[0] for seed in seeds]
        self._cursor = self.episodes_per_draw

    def check_block_size(self) -> None:
        """``ValueError`` unless a block of drawn paths fits the memory bound: env.episodes_per_draw × (n_steps + 1)
        × n_envs ≤ ``MAX_SIMULATION_NODES`` (spot and variance in float64: 16 bytes per node)."""
        nodes = self.episodes_per_draw * (self.n_steps + 1) * self.n_envs
        if nodes > MAX_SIMULATION_NODES:
            raise ValueError(
                f"env.episodes_per_draw × (n_steps + 1) × n_envs must be <= {MAX_SIMULATION_NODES:,} (the block of "
                f"paths drawn at once, 16 bytes per node), got {self.episodes_per_draw:,} × {self.n_steps + 1} × "
                f"{self.n_envs:,} = {nodes:,}; lower env.episodes_per_draw to at most "
                f"{max(1, MAX_SIMULATION_NODES // ((self.n_steps + 1) * self.n_envs)):,}"
            )

    def _draw_block(self) -> None:
        if self._spot_block is None:
            self.check_block_size()
            self._spot_block = np.empty((self.episodes_per_draw, self.n_steps + 1, self.n_envs))
            self._variance_block = np.empty_like(self._spot_block)
        for i, generator in enumerate(self.generators):
            if generator is None:
                generator = self.generators[i] = seeding.np_random(None)[0]
            paths = self.model.simulate(self.episodes_per_draw, self.n_steps, self.engine.dt, generator)
            self._spot_block[:, :, i] = paths.spot
            self._variance_block[:, :, i] = paths.variance
        self._cursor = 0

    # ------------------------------------------------------------------ episodes
    def reset(self) -> FloatArray:
        """Start the next episode of every env; observations (N, d) float32."""
        if self._cursor >= self.episodes_per_draw:
            self._draw_block()
        self.engine.reset(self._spot_block[self._cursor], self._variance_block[self._cursor])
        self._cursor += 1
        self._node_features = evaluate_node_features(self.feature_names, self.engine, self.scales)
        self.last_outcome = None
        self.total_cost = np.zeros(self.n_envs)
        return self.observe()

    def start_on_engine(self) -> FloatArray:
        """Begin an episode on paths the caller loaded with ``engine.reset`` (evaluation on fixed test paths);
        returns the first observations (N, d)."""
        self._node_features = evaluate_node_features(self.feature_names, self.engine, self.scales)
        self.last_outcome = None
        self.total_cost = np.zeros(self.engine.n_paths)
        return self.observe()

    def observe(self) -> FloatArray:
        return evaluate_features(self.feature_names, self.engine, self.scales, self._node_features)

    def targets(self, actions: np.ndarray) -> FloatArray:
        """Target positions (N, k) for actions (N, a) in [−1, 1] (a = the action size of ``env.action``).

        ``ValueError`` naming the expected shape (N, a) when ``actions`` has another shape (a scalar, ``None``, a
        batch of the wrong size), is not numeric, or holds NaN or inf.
        """
        k, n = self.action_space.shape[0], self.engine.n_paths
        what = {"delta_band": "band below, band above",
                "delta_vega_band": "stock band below, above, option band below, above"}.get(self.action, "stock")
        if self.action in ("absolute", "delta_relative", "delta_band") and self.engine.n_instruments > 1:
            what += " + hedge options"
        raw = np.asarray(actions) if actions is not None else None
        if raw is None or raw.dtype.kind not in "iuf":
            kind = "None" if raw is None else f"dtype {raw.dtype}"
            raise ValueError(f"actions must be real numbers of shape ({n}, {k}) (envs × {what}), got {kind}")
        if raw.shape != (n, k):
            raise ValueError(f"actions must have shape ({n}, {k}) (envs × {what}), got shape {raw.shape}")
        actions = raw.astype(np.float64, copy=False)
        if not np.all(np.isfinite(actions)):
            raise ValueError("actions must be finite numbers in [-1, 1]; got NaN or inf")
        engine = self.engine
        greeks = ActionGreeks.of(self.action, engine.book_greeks, engine.instrument_greeks)
        return self.action_mapping.targets(np.clip(actions, -1.0, 1.0), engine.positions, greeks)

    def step(self, actions: np.ndarray) -> tuple[FloatArray, FloatArray, bool, StepOutcome]:
        """Advance every env one step: observations (N, d), rewards (N,), terminated (same for all), outcome."""
        targets = self.targets(actions)
        if self.limits is not None:
            self.last_levels = self._limit_levels(targets)
        outcome = self.engine.step(targets)
        self.last_outcome = outcome
        self.total_cost = self.total_cost + outcome.cost
        rewards = self.reward(outcome.pnl / self.scales.value, self.engine.wealth / self.scales.value,
                              outcome.terminal, self.engine.step_index)
        if self.limits is not None and self.limits.penalty:
            rewards = rewards - self.limits.penalty * count_breaches(self.last_levels.values(), rewards.shape)
        return self.observe(), rewards, outcome.terminal, outcome

    def _limit_levels(self, targets: FloatArray) -> dict[str, np.ndarray]:
        """Each limited Greek's level (``hedgegym.risk.limits``: within, alert, breach), (N,) int8, for the positions
        ``targets`` held over the coming step, valued at its start (as ``evaluate`` checks them)."""
        engine = self.engine
        held, exposure = held_greeks(self.limits, engine.model, engine.book_greeks, engine.instrument_greeks, targets)
        return {greek: level for greek, (level, _) in self.limits.levels(held, exposure).items()}

    def infos(self) -> list[dict[str, Any]]:
        """The last step's P&L decomposition of every env (currency): a list of N dicts for ``info``.

        Keys: ``pnl``, ``book_pnl``, ``hedge_pnl``, ``cost``, ``wealth``, ``time_to_maturity``; at maturity also
        ``terminal_pnl`` and ``total_cost``. Right after a reset only ``wealth`` and ``time_to_maturity``. With Greek
        limits (``limits:``), after a step also ``limit_breaches`` and ``limit_alerts``: the Greeks (a list of names)
        whose limit the positions held over that step breach, and those at the alert level or beyond.
        """
        outcome, engine = self.last_outcome, self.engine
        columns: dict[str, list] = {"wealth": engine.wealth.tolist()}
        if outcome is not None:
            for name in ("pnl", "book_pnl", "hedge_pnl", "cost"):
                columns[name] = getattr(outcome, name).tolist()
            if outcome.terminal:
                columns["terminal_pnl"] = columns["wealth"]
                columns["total_cost"] = self.total_cost.tolist()
        if outcome is not None and self.last_levels is not None:
            names_of = np.array(list(self.last_levels), dtype=object)
            levels = np.stack(list(self.last_levels.values()), axis=1)  # (N, number of limited Greeks)
            columns["limit_breaches"] = [names_of[row == BREACH].tolist() for row in levels]
            columns["limit_alerts"] = [names_of[row >= ALERT].tolist() for row in levels]
        names = list(columns)
        tau = engine.time_to_maturity
        return [dict(zip(names, values, strict=True), time_to_maturity=tau) for values in zip(*columns.values(),
                                                                                                strict=True)]

    def info(self, index: int) -> dict[str, Any]:
        """``infos()[index]``, for the single env."""
        return self.infos()[index]


class CoreFace:
    """What every face of a ``HedgingCore`` (``HedgingEnv``, ``BatchedHedgingVecEnv``, ``HedgingVectorEnv``) reads
    straight from it; a face sets ``self.core``."""

    core: HedgingCore

    @property
    def feature_names(self) -> list[str]:
        """The names of the d observation columns (``hedgegym.env.features``)."""
        return self.core.feature_names

    @property
    def last_outcome(self) -> StepOutcome | None:
        """The last step's P&L decomposition, arrays of shape (N,) (N the face's number of envs); None right after
        a reset."""
        return self.core.last_outcome
