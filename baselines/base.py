"""The hedger interface: target positions for N paths from the engine's state, plus SB3's ``predict``.

A ``Hedger`` looks at the ``HedgingEngine`` (spot, time, Greeks of the book and of the hedge instruments,
current positions) and returns target positions, shape (N, k): shares of stock in column 0, contracts of
listed option j in column j. Evaluation drives baselines through ``targets`` (no clipping) and SB3 models
through ``predict`` on the same engine, so every hedger meets the same paths.

``predict(observation, state, episode_start, deterministic)`` mirrors SB3's signature for use inside an env
loop: bound to an env core (``bind``), it ignores the observation, reads the engine and returns the action
that maps to its targets (``targets / position_scale``, clipped to [−1, 1] as the env would).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import numpy as np

from hedgegym.engine import HedgingEngine
from hedgegym.pricing.fields import ALL
from hedgegym.pricing.greeks import FloatArray

__all__ = ["Hedger", "HedgerDomainError"]


class HedgerDomainError(ValueError):
    """The hedger's model does not cover this book, market or cost structure (e.g. Leland's adjusted variance
    turning negative); raised by ``Hedger.reset``, the message says why. ``compare`` leaves such a hedger out and
    prints the reason."""


class Hedger(ABC):
    """Base class of the classical hedgers (one per file in ``hedgegym.baselines``)."""

    name: str = "hedger"
    required_greeks: frozenset[str] = ALL
    """The Greeks (``Greeks`` field names) this hedger reads from ``engine.book_greeks`` / ``instrument_greeks``:
    ``evaluate`` declares them to the engine, whose ``reset`` then values nothing else. A Greek read but not declared
    is still right (valued on first access), only slower. Default: all five."""
    _core: Any = None

    def reset(self, engine: HedgingEngine) -> None:  # noqa: B027 - optional hook
        """Called once per episode batch before the first step (state-keeping hedgers override it)."""

    @abstractmethod
    def targets(self, engine: HedgingEngine) -> FloatArray:
        """Target positions (N, k) at the engine's current node."""

    # ------------------------------------------------------------------ SB3-style face
    def bind(self, core: Any) -> Hedger:
        """Attach to an env core (``HedgingCore``) so that ``predict`` can read its engine."""
        self._core = core
        return self

    def predict(self, observation: np.ndarray, state: Any = None, episode_start: Any = None,
                deterministic: bool = True) -> tuple[np.ndarray, None]:
        if self._core is None:
            raise RuntimeError(f"{self.name}: call bind(env_core) before predict(), or use evaluate()")
        if self._core.action_mapping.is_band:  # a band moves the position to its nearest edge: not every target
            raise ValueError(f"{self.name}: predict cannot express target positions as env.action "
                             f"{self._core.action} actions; use evaluate() (or an env with action absolute or "
                             "delta_relative)")
        engine = self._core.engine
        if engine.step_index == 0 and (episode_start is None or np.any(episode_start)):
            self.reset(engine)
        targets = self.targets(engine)
        if self._core.action == "delta_relative":
            targets = targets.copy()
            targets[:, 0] += engine.book_greeks.delta
        return np.clip(targets / self._core.position_scale, -1.0, 1.0).astype(np.float32), None

    def __repr__(self) -> str:
        return self.name
