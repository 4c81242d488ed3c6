r"""Uncertain volatility: σ_t moves inside a band [σ_min, σ_max], by a Markov chain or an adversarial rule.

Model (drift = ``mu`` under ``measure="real"``, ``rate - dividend`` under ``measure="pricing"``)::

    dS_t = drift · S_t dt + σ_t S_t dW_t,    σ_t ∈ [σ_min, σ_max]

σ_t is piecewise constant on the simulation grid: the volatility at node t_i applies over [t_i, t_{i+1}), so
each spot step is exact log-normal given it::

    S_{t+Δ} = S_t exp((drift − σ_t²/2) Δ + σ_t √Δ Z)

Two ways to choose σ_t:

  * Markov regimes (default). σ_t = levels[regime_t], where the regime is a continuous-time Markov chain that
    leaves its level at rate ``switching_rate`` (per year) for one of the other K − 1 levels chosen uniformly.
    The chain is sampled exactly at the grid times: over a step it stays with probability
    1/K + (1 − 1/K) exp(−q K Δ / (K − 1)), otherwise it moves to a uniformly chosen other level. (Switches
    inside a step take effect at the next node.) Volatility is independent of the spot's Brownian motion, so
    by Hull–White mixing an option's price is E[BS(σ̄²)], σ̄² the path's time-average variance.
  * ``volatility_rule(time, spot) -> volatility``: an adversary (or any feedback rule) sets σ at each node
    from the current time (years, float) and spots (shape (n_paths,)). Its output is clipped into
    [σ_min, σ_max] (so ±inf select the bounds); NaN raises ``ValueError``. It replaces the Markov chain.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import numpy as np

from hedgegym import _validation as check
from hedgegym.market.base import FloatArray, ProxyVolatilityMarket, exponentiate_log_spot, paths_major

__all__ = ["RegimeSwitchingVolatility", "VolatilityRule"]

VolatilityRule = Callable[[float, np.ndarray], np.ndarray]
"""``(time, spot) -> volatility``: time in years, spot and volatility of shape (n_paths,)."""


@dataclass(frozen=True, kw_only=True)
class RegimeSwitchingVolatility(ProxyVolatilityMarket):
    r"""Log-normal spot whose volatility switches between levels in [volatility_min, volatility_max].

    Args:
        spot: initial spot S₀ (> 0).
        volatility_min: σ_min per √year (>= 0).
        volatility_max: σ_max per √year (>= volatility_min).
        levels: the regime volatilities, each in [volatility_min, volatility_max]; default
            (volatility_min, volatility_max).
        switching_rate: q, the rate (per year) at which the chain leaves its current level (>= 0).
        initial_regime: index into ``levels`` of every path's first regime; ``None`` draws it uniformly per path.
        volatility_rule: optional ``(time, spot) -> volatility`` that replaces the chain (see the module docstring).
        mu, rate, dividend: see ``MarketModel``.

    ``variance`` in the paths is σ² of the volatility in force at each node. With the Markov chain,
    ``extras["regime"]`` holds the regime index at each node (int64); with a ``volatility_rule`` there is no
    regime and ``extras`` is empty.

    Shape: ``spot``, ``variance``, ``extras["regime"]``: (n_paths, n_steps + 1).
    """

    volatility_min: float = 0.1
    volatility_max: float = 0.3
    levels: tuple[float, ...] | None = None
    switching_rate: float = 2.0
    initial_regime: int | None = None
    volatility_rule: VolatilityRule | None = None

    def _validate(self) -> None:
        self._set("volatility_min", check.non_negative)
        self._set("volatility_max", check.non_negative)
        if self.volatility_max < self.volatility_min:
            raise ValueError(
                f"volatility_max must be >= volatility_min = {self.volatility_min!r}, got {self.volatility_max!r}"
            )
        levels = (self.volatility_min, self.volatility_max) if self.levels is None else self.levels
        levels_array = check.in_closed_range("levels", levels, self.volatility_min, self.volatility_max)
        if levels_array.ndim != 1 or levels_array.size == 0:
            raise ValueError(f"levels must be a non-empty sequence of volatilities, got {self.levels!r}")
        object.__setattr__(self, "levels", tuple(float(level) for level in levels_array))
        self._set("switching_rate", check.non_negative)
        if self.initial_regime is not None:
            regime = self.initial_regime
            if isinstance(regime, bool) or not isinstance(regime, int | np.integer) or not 0 <= regime < len(levels):
                raise ValueError(
                    f"initial_regime must be None or an integer in [0, {len(levels_array) - 1}], got {regime!r}"
                )
            object.__setattr__(self, "initial_regime", int(regime))
        if self.volatility_rule is not None and not callable(self.volatility_rule):
            raise ValueError(
                f"volatility_rule must be None or a callable (time, spot) -> volatility, got {self.volatility_rule!r}"
            )

    @property
    def reference_volatility(self) -> float:
        """The root mean square of the regime volatilities."""
        return float(np.sqrt(np.mean(np.square(self.levels))))

    def stay_probability(self, dt: float) -> float:
        """P(regime after ``dt`` years = regime now) for the Markov chain; 1 when there is a single level."""
        n_levels = len(self.levels)
        if n_levels == 1:
            return 1.0
        leave_rate = self.switching_rate * n_levels / (n_levels - 1)
        return 1.0 / n_levels + (1.0 - 1.0 / n_levels) * float(np.exp(-leave_rate * dt))

    def _simulate(
        self, n_paths: int, n_steps: int, dt: float, rng: np.random.Generator, drift: float
    ) -> tuple[FloatArray, FloatArray, dict[str, Any]]:
        if self.volatility_rule is not None:
            return self._simulate_rule(n_paths, n_steps, dt, rng, drift)

        levels = np.asarray(self.levels, dtype=np.float64)
        n_levels = levels.size
        if self.initial_regime is None:
            first = rng.integers(0, n_levels, size=n_paths)
        else:
            first = np.full(n_paths, self.initial_regime)
        switch = rng.random((n_paths, n_steps)) >= self.stay_probability(dt)
        shift = rng.integers(1, max(n_levels, 2), size=(n_paths, n_steps))  # to a uniformly chosen other level
        regime = np.empty((n_paths, n_steps + 1), dtype=np.int64)
        regime[:, 0] = first
        regime[:, 1:] = first[:, None] + np.cumsum(switch * shift, axis=1)
        regime %= n_levels

        sigma = levels[regime]
        z_spot = rng.standard_normal((n_paths, n_steps))
        step_sigma = sigma[:, :-1]
        log_increments = (drift - 0.5 * step_sigma**2) * dt + step_sigma * np.sqrt(dt) * z_spot
        return exponentiate_log_spot(self.spot, log_increments), sigma**2, {"regime": regime}

    def _simulate_rule(
        self, n_paths: int, n_steps: int, dt: float, rng: np.random.Generator, drift: float
    ) -> tuple[FloatArray, FloatArray, dict[str, Any]]:
        """Step by step: σ_i = clip(rule(t_i, S_i)), then an exact log-normal step with σ_i."""
        spot = np.empty((n_steps + 1, n_paths))
        variance = np.empty((n_steps + 1, n_paths))
        spot[0] = self.spot
        for i in range(n_steps + 1):
            sigma = self._rule_volatility(i * dt, spot[i])
            variance[i] = sigma**2
            if i < n_steps:
                z_spot = rng.standard_normal(n_paths)
                spot[i + 1] = spot[i] * np.exp((drift - 0.5 * sigma**2) * dt + sigma * np.sqrt(dt) * z_spot)
        return paths_major(spot), paths_major(variance), {}

    def _rule_volatility(self, time: float, spot: FloatArray) -> FloatArray:
        """The rule's volatility at one node, checked and clipped into [volatility_min, volatility_max]."""
        rule = cast(VolatilityRule, self.volatility_rule)
        view = spot.view()
        view.flags.writeable = False  # the rule may read the spots, not change them
        raw = np.asarray(rule(time, view), dtype=np.float64)
        if np.any(np.isnan(raw)):
            raise ValueError(f"volatility_rule returned NaN at time {time!r}; it must return real volatilities")
        try:
            sigma = np.broadcast_to(raw, spot.shape)
        except ValueError as error:
            raise ValueError(
                f"volatility_rule must return a scalar or an array of shape {spot.shape}, got shape {raw.shape}"
            ) from error
        return np.clip(sigma, self.volatility_min, self.volatility_max)
