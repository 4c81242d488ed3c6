"""No hedge: hold nothing; the reference for the cost–benefit ratio."""

from __future__ import annotations

import numpy as np

from hedgegym.baselines.base import Hedger
from hedgegym.engine import HedgingEngine


class NoHedge(Hedger):
    name = "no_hedge"
    required_greeks = frozenset({"price"})

    def targets(self, engine: HedgingEngine) -> np.ndarray:
        return np.zeros((engine.n_paths, engine.n_instruments))
