r"""Threshold and event rebalancing: trade to an inner hedger's targets only when a trigger fires.

A desk does not rebalance a Greek-neutral hedge at every step. It rebalances when a net Greek leaves its band
(e.g. |Δ| > 0.05 or |Γ| > 0.01 per unit of the book), when the spot has moved 2% since the last trade, or on a
schedule per instrument (delta intraday, gamma daily). Hull, *Options, Futures, and Other Derivatives*, "Greek
letters"; Taleb, *Dynamic Hedging*, ch. 3. ``ThresholdRebalancing`` wraps any hedger, typically a
``GreekNeutralHedger``, with such rules. At every step, per path:

1. Net Greeks of what is held: g_net = g_book + Σ_j h_j g_j, for each Greek with a band (h the positions held,
   g_j the per-unit Greek of instrument j).
2. The path is *triggered* at step 0 (the initial hedge), when |g_net| > band_g for any banded Greek, or when
   |S / S_last − 1| > ``spot_move`` (S_last the spot at the path's last rebalancing).
3. A triggered path trades to the inner hedger's targets on every instrument allowed to trade at this step:
   instrument j trades only at steps that are multiples of ``every[j]`` (default 1 for all), and each option's
   interval must be a multiple of the stock's, so that an option never trades without the stock re-hedging delta.
   When a listed option may not trade, the stock instead neutralises delta given the options held:
   h_0 = −(Δ_book + Σ_{j≥1} h_j Δ_j) (this assumes a delta-neutral inner hedger, as every Greek-neutral one is).
   Untriggered paths keep their positions.

S_last is one reference for all instruments: the spot at the path's last step that fired with some instrument
allowed to trade. A stock-only re-hedge between option dates therefore resets it, which postpones the options'
spot trigger. The inner hedger's solver fallbacks (``fallbacks``, shared with it) count only paths that traded.

Bands are absolute, in the engine's units (Δ in shares, Γ in shares per unit of spot, vega per 1.00 of the model's
volatility input, Θ per year), or, with ``relative=True``, fractions of the book's own |Greek| at the node
(band × |g_book|: "within 5% of the book's delta").

Shapes: targets (N, k), as every hedger. Raises ``ValueError`` naming the argument for an unknown Greek, a
non-positive band or spot move, or an ``every`` that is not a positive integer per instrument (checked against the
instruments at ``reset``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from hedgegym.baselines.base import Hedger
from hedgegym.engine import HedgingEngine
from hedgegym.pricing.greeks import FloatArray

__all__ = ["BANDED_GREEKS", "ThresholdRebalancing"]

BANDED_GREEKS = ("delta", "gamma", "vega", "theta")


class ThresholdRebalancing(Hedger):
    """Rebalance ``hedger`` only when a net Greek leaves its band, the spot moves, or the schedule allows.

    Args:
        hedger: the inner hedger whose targets a triggered path trades to (any ``Hedger``).
        bands: Greek name → band (> 0), e.g. ``{"delta": 50.0, "gamma": 5.0}``; none: no Greek trigger.
        relative: bands as fractions of the book's |Greek| at the node instead of absolute units.
        spot_move: rebalance when |S / S_last − 1| exceeds it (> 0), e.g. 0.02; None: no spot trigger.
        every: steps between the trades of each instrument: an int for all, or one per instrument (stock first);
            None: every step. A path with neither bands nor a spot move rebalances at every allowed step.
        name: the label in tables (default ``<inner name>_threshold``).
    """

    def __init__(self, hedger: Hedger, bands: Mapping[str, float] | None = None, relative: bool = False,
                 spot_move: float | None = None, every: int | Sequence[int] | None = None,
                 name: str | None = None) -> None:
        if not isinstance(hedger, Hedger):
            raise ValueError(f"hedger must be a Hedger, got {type(hedger).__name__}")
        bands = dict(bands or {})
        for greek, band in bands.items():
            if greek not in BANDED_GREEKS:
                raise ValueError(f"bands: unknown Greek {greek!r}; allowed: {', '.join(BANDED_GREEKS)}")
            if isinstance(band, bool) or not isinstance(band, int | float) or not math.isfinite(band) or band <= 0:
                raise ValueError(f"bands.{greek} must be a finite number > 0, got {band!r}")
        if spot_move is not None and (isinstance(spot_move, bool) or not isinstance(spot_move, int | float)
                                      or not math.isfinite(spot_move) or spot_move <= 0):
            raise ValueError(f"spot_move must be a finite number > 0 (e.g. 0.02 for 2%) or None, got {spot_move!r}")
        self.intervals = self._intervals(every)
        self.hedger, self.bands, self.relative = hedger, {g: float(b) for g, b in bands.items()}, bool(relative)
        self.spot_move = None if spot_move is None else float(spot_move)
        self.required_greeks = frozenset(hedger.required_greeks | set(self.bands) | {"delta"})
        self.name = name or f"{hedger.name}_threshold"
        self.fallbacks = getattr(hedger, "fallbacks", None)  # the inner solver's counter, for compare's table
        self._last_spot: FloatArray | None = None
        self._every: np.ndarray | None = None

    @staticmethod
    def _intervals(every: int | Sequence[int] | None) -> tuple[int, ...] | None:
        """``every`` checked: one positive interval for all instruments or one per instrument, each option's a
        multiple of the stock's; None: every step."""
        if every is None:
            return None
        if isinstance(every, int | np.integer) and not isinstance(every, bool):
            values = [every]
        elif isinstance(every, Sequence) and not isinstance(every, str):
            values = list(every)
        else:
            values = []
        if not values or any(isinstance(v, bool) or not isinstance(v, int | np.integer) or v < 1 for v in values):
            raise ValueError(f"every must be a positive integer or one per instrument (stock first), got {every!r}")
        if any(interval % values[0] for interval in values[1:]):
            raise ValueError(f"every: each option's interval must be a multiple of the stock's ({values[0]}), so "
                             f"that an option never trades without the stock re-hedging delta, got {every!r}")
        return tuple(int(v) for v in values)

    def reset(self, engine: HedgingEngine) -> None:
        self.hedger.reset(engine)
        n, intervals = engine.n_instruments, self.intervals or (1,)
        if len(intervals) not in (1, n):
            raise ValueError(f"every must give one interval per instrument ({n}: the stock and {n - 1} listed "
                             f"option(s)), got {len(intervals)}")
        self._every = np.broadcast_to(np.asarray(intervals, dtype=np.int64), (n,)).copy()
        self._last_spot = np.array(engine.spot, dtype=np.float64, copy=True)

    def triggered(self, engine: HedgingEngine) -> np.ndarray:
        """Which paths rebalance at this node, (N,) bool (module docstring, step 2)."""
        n = engine.n_paths
        if engine.step_index == 0:
            return np.ones(n, dtype=bool)
        if not self.bands and self.spot_move is None:
            return np.ones(n, dtype=bool)
        fire = np.zeros(n, dtype=bool)
        held = engine.positions
        for greek, band in self.bands.items():
            book = np.asarray(getattr(engine.book_greeks, greek), dtype=np.float64)
            net = book + np.sum(held * getattr(engine.instrument_greeks, greek), axis=1)
            limit = band * np.abs(book) if self.relative else band
            fire |= np.abs(net) > limit
        if self.spot_move is not None:
            fire |= np.abs(engine.spot / self._last_spot - 1.0) > self.spot_move
        return fire

    def targets(self, engine: HedgingEngine) -> FloatArray:
        if self._every is None or self._last_spot is None:
            raise RuntimeError(f"{self.name}: call reset(engine) before targets()")
        fire = self.triggered(engine)
        held = np.array(engine.positions, dtype=np.float64, copy=True)
        if engine.step_index > 0 and not fire.any():
            return held
        allowed = (engine.step_index % self._every) == 0  # (k,): which instruments may trade now
        counter = self.fallbacks
        before = None if counter is None else counter.per_path.copy()
        inner = self.hedger.targets(engine)
        traded = fire & allowed.any()
        if before is not None and before.shape == counter.per_path.shape:  # count only the paths that trade
            counter.per_path[~traded] = before[~traded]
        new = np.where(allowed[None, :], inner, held)
        if allowed[0] and not allowed[1:].all():  # the stock re-hedges delta around the options held
            options = new[:, 1:]
            new[:, 0] = -(engine.book_greeks.delta + np.sum(options * engine.instrument_greeks.delta[:, 1:], axis=1))
        targets = np.where(fire[:, None], new, held)
        self._last_spot = np.where(traded, engine.spot, self._last_spot)
        return targets
