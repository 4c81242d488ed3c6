r"""Valuation of the paths: the book's and the hedge instruments' price and Greeks at every node of an episode.

These numbers depend on the market path alone, never on the hedger's actions, so the engine computes them once
per path set at ``reset`` (``value_paths``), in numpy float64, and its step reads them row by row.

A ``Valuation`` marks options: by default the market model's own pricer (``ModelValuation``: the exact price
under GBM, Heston, Merton, SABR); the regime-switching model has no closed form and is marked with
Black–Scholes at the current regime's volatility (``RegimeProxyValuation``, a stated proxy).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from hedgegym.instruments import Book, EuropeanOption, monitored
from hedgegym.market import GeometricBrownianMotion, MarketModel, RegimeSwitchingVolatility
from hedgegym.pricing import barrier as barrier_pricing
from hedgegym.pricing import black_scholes
from hedgegym.pricing.greeks import FloatArray, Greeks
from hedgegym.pricing.model_greeks import model_greeks

__all__ = [
    "BARRIER_MODELS",
    "ModelValuation",
    "PathValuation",
    "RegimeProxyValuation",
    "Valuation",
    "default_valuation",
    "value_paths",
]

_NODES_PER_VALUATION = 1_000_000  # nodes valued per pricer call at reset (bounds the temporary memory)

Valuation = Callable[..., Greeks]
"""(spot (N,), strike, time_to_maturity, call, variance (N,)) -> per-unit Greeks, each (N,). For a barrier option
the engine adds the keywords ``barrier`` (B) and ``monitoring_interval`` (its dt); a valuation for vanilla books
need not accept them."""

BARRIER_MODELS = (GeometricBrownianMotion, RegimeSwitchingVolatility)
"""The market models whose default valuation prices barrier options."""


@dataclass(frozen=True)
class ModelValuation:
    """A ``Valuation`` by the market model's own pricer: ``model_greeks(model, ...)`` (GBM, Heston, Merton, SABR;
    barrier options under GBM). A module-level value object (not a closure), so engines and envs holding it copy,
    deepcopy and pickle; equal when the models are equal.

    Shape: every field of the result has the broadcast shape of ``spot`` and ``variance``, e.g. (N,).
    Raises: ``ValueError`` from ``model_greeks`` for a model without a pricer or a barrier it cannot value.
    """

    model: MarketModel

    def __call__(self, spot: ArrayLike, strike: ArrayLike, time_to_maturity: ArrayLike, call: bool,
                 variance: ArrayLike, barrier: float | None = None,
                 monitoring_interval: float | None = None) -> Greeks:
        return model_greeks(self.model, spot, strike, time_to_maturity, call, variance, barrier=barrier,
                            monitoring_interval=monitoring_interval)


@dataclass(frozen=True)
class RegimeProxyValuation:
    """The regime-switching model's ``Valuation`` (it has no closed form): Black–Scholes (Black & Scholes 1973,
    Merton 1973) at the current regime's volatility √variance, the model's rate and dividend; barrier options by
    ``hedgegym.pricing.barrier`` at the same σ. A module-level value object, like ``ModelValuation``.

    Shape: every field of the result has the broadcast shape of ``spot`` and ``variance``, e.g. (N,).
    """

    model: RegimeSwitchingVolatility

    def __call__(self, spot: ArrayLike, strike: ArrayLike, time_to_maturity: ArrayLike, call: bool,
                 variance: ArrayLike, barrier: float | None = None,
                 monitoring_interval: float | None = None) -> Greeks:
        model, volatility = self.model, np.sqrt(variance)
        if barrier is None:
            return black_scholes.greeks(spot, strike, time_to_maturity, volatility, model.rate, model.dividend, call)
        return barrier_pricing.greeks(spot, strike, time_to_maturity, volatility, model.rate, model.dividend, call,
                                      barrier=barrier, monitoring_interval=monitoring_interval)


@dataclass(frozen=True, eq=False)
class _AtVariance:
    """``valuation`` with the per-path ``variance`` bound, as a ``Pricer`` ``(spot, strike, τ, call, **barrier
    terms)``: the engine's pricer for one block of nodes (a module-level class, not a lambda)."""

    valuation: Valuation
    variance: FloatArray

    def __call__(self, spot: ArrayLike, strike: ArrayLike, time_to_maturity: ArrayLike, call: bool,
                 **barrier_terms: float | None) -> Greeks:
        return self.valuation(spot, strike, time_to_maturity, call, self.variance, **barrier_terms)


def default_valuation(model: MarketModel) -> ModelValuation | RegimeProxyValuation:
    """The model's own pricer (``ModelValuation``); Black–Scholes at √variance for the regime-switching model
    (``RegimeProxyValuation``: no closed form).

    Barrier options: the closed form of ``hedgegym.pricing.barrier`` (GBM: at σ; regime switching: at √variance);
    other models raise ``ValueError`` when asked for one. The result is a picklable value object."""
    if isinstance(model, RegimeSwitchingVolatility):
        return RegimeProxyValuation(model)
    return ModelValuation(model)


def _concatenate(parts: list[Greeks]) -> Greeks:
    """Join Greeks computed on consecutive chunks of time rows."""
    if len(parts) == 1:
        return parts[0]
    return Greeks(*(np.concatenate(field) for field in zip(*parts, strict=True)))


class PathValuation(NamedTuple):
    """The action-independent part of an episode: knock-out masks per book position (or None), and the Greeks of
    the book ((n_steps + 1, N) per field) and of the hedge instruments ((n_steps + 1, N, k))."""

    alive_path: tuple[np.ndarray | None, ...] | None
    book_path: Greeks
    instrument_path: Greeks


def value_paths(
    book: Book,
    hedge_options: Sequence[EuropeanOption],
    valuation: Valuation,
    monitoring_interval: float,
    spot: FloatArray,
    variance: FloatArray,
    times: FloatArray,
    alive_path: Sequence[np.ndarray | None] | None = None,
) -> tuple[Greeks, Greeks]:
    """Greeks of the book (currency, the holder's) and of every hedge instrument (per unit held: the stock is
    (S, 1, 0, 0, 0), options per contract) at every node, valued in chunks of rows to bound the memory.

    Args:
        book, hedge_options: what is valued.
        valuation: marks options, ``(spot, strike, τ, call, variance, **barrier terms) -> Greeks``.
        monitoring_interval: barrier monitoring step (the engine's dt).
        spot, variance: the paths, time-major, shape (rows, N).
        times: years since inception of each row, shape (rows, 1).
        alive_path: per book position ``None`` or a bool (rows, N) knock-out mask; ``None`` without barriers.

    Shape: the book's fields (rows, N), the instruments' (rows, N, k) with k = 1 + len(hedge_options).
    Raises: ``ValueError`` from the pricer for inputs outside its domain.
    """
    rows = max(1, _NODES_PER_VALUATION // max(spot.shape[1], 1))
    book_parts, instrument_parts = [], []
    for start in range(0, spot.shape[0], rows):
        chunk = slice(start, start + rows)
        s, v, t = spot[chunk], variance[chunk], times[chunk]
        pricer = monitored(_AtVariance(valuation, v), monitoring_interval)
        alive = None if alive_path is None else [None if path is None else path[chunk] for path in alive_path]
        book_parts.append(book.greeks(s, t, pricer, alive))
        columns = [Greeks(s, np.ones_like(s), *(np.zeros_like(s) for _ in range(3)))]
        columns += [option.greeks(s, t, pricer) for option in hedge_options]
        instrument_parts.append(Greeks(*(np.stack(field, axis=-1) for field in zip(*columns, strict=True))))
    return _concatenate(book_parts), _concatenate(instrument_parts)
