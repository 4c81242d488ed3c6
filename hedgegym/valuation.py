r"""Valuation of the paths: the book's and the hedge instruments' price and Greeks at every node of an episode.

These numbers depend on the market path alone, never on the hedger's actions, so the engine computes them once
per path set at ``reset`` (``value_paths``), in numpy float64 (or, for tensor paths and a Black–Scholes-based
valuation, in torch at the engine's dtype and device: ``values_tensors``), and its step reads them row by row.
Lazily: only the fields declared (``HedgingEngine.required_greeks``: what the features, the hedger and the
attribution read) are valued at ``reset``; any other is valued on its first access (``PathGreeks``), so a
declaration changes the time spent, never the numbers.

A ``Valuation`` marks options: by default the market model's own pricer (``ModelValuation``: the exact price
under GBM, Heston, Merton, SABR); the regime-switching model and the data-driven markets (historical, GARCH,
bootstrap) have no closed form and are marked with Black–Scholes at each node's volatility √variance
(``ProxyValuation``, a stated proxy: the current regime's σ, or an implied-volatility proxy).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch
from numpy.typing import ArrayLike

from hedgegym.instruments import Book, EuropeanOption, monitored
from hedgegym.market import GeometricBrownianMotion, MarketModel, ProxyVolatilityMarket, RegimeSwitchingVolatility
from hedgegym.pricing import barrier as barrier_pricing
from hedgegym.pricing import black_scholes
from hedgegym.pricing.fields import accepts_fields, check_fields, keep
from hedgegym.pricing.greeks import FloatArray, Greeks
from hedgegym.pricing.model_greeks import model_greeks
from hedgegym.pricing.namespace import namespace

__all__ = [
    "BARRIER_MODELS",
    "ModelValuation",
    "NodeGreeks",
    "PathGreeks",
    "PathValuation",
    "ProxyValuation",
    "Valuation",
    "default_valuation",
    "take_paths",
    "value_paths",
    "values_tensors",
]

_NODES_PER_VALUATION = 1_000_000  # nodes valued per pricer call at reset (bounds the temporary memory)

Valuation = Callable[..., Greeks]
"""(spot (N,), strike, time_to_maturity, call, variance (N,)) -> per-unit Greeks, each (N,). For a barrier option
the engine adds the keywords ``barrier`` (B) and ``monitoring_interval`` (its dt); a valuation for vanilla books
need not accept them. A valuation that takes a ``fields`` keyword is asked only for the Greeks needed (the others
may be ``None``); one that does not computes all five, as before."""

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
                 monitoring_interval: float | None = None, fields: Iterable[str] | None = None) -> Greeks:
        """``model_greeks`` of the model; ``fields``: the Greeks wanted (``None``: all; the others ``None``)."""
        return model_greeks(self.model, spot, strike, time_to_maturity, call, variance, barrier=barrier,
                            monitoring_interval=monitoring_interval, fields=fields)


@dataclass(frozen=True)
class ProxyValuation:
    """The ``Valuation`` of a ``ProxyVolatilityMarket`` (no closed form): Black–Scholes (Black & Scholes 1973,
    Merton 1973) at each node's volatility √variance (regime switching: the current regime's σ; a data-driven
    market: its implied-volatility proxy), the model's rate and dividend; barrier options by
    ``hedgegym.pricing.barrier`` at the same σ. A module-level value object, like ``ModelValuation``.

    Shape: every field of the result has the broadcast shape of ``spot`` and ``variance``, e.g. (N,).
    """

    model: ProxyVolatilityMarket

    def __call__(self, spot: ArrayLike, strike: ArrayLike, time_to_maturity: ArrayLike, call: bool,
                 variance: ArrayLike, barrier: float | None = None,
                 monitoring_interval: float | None = None, fields: Iterable[str] | None = None) -> Greeks:
        """Black–Scholes (or the barrier closed form) at √variance; ``fields``: the Greeks wanted (``None``: all;
        the others ``None``)."""
        model, volatility = self.model, namespace(variance).sqrt(variance)
        if barrier is None:
            return black_scholes.greeks(spot, strike, time_to_maturity, volatility, model.rate, model.dividend, call,
                                        fields=fields)
        return keep(barrier_pricing.greeks(spot, strike, time_to_maturity, volatility, model.rate, model.dividend,
                                           call, barrier=barrier, monitoring_interval=monitoring_interval),
                    check_fields(fields))


@dataclass(frozen=True, eq=False)
class _AtVariance:
    """``valuation`` with the per-path ``variance`` bound, as a ``Pricer`` ``(spot, strike, τ, call, **barrier
    terms, fields=None)``: the engine's pricer for one block of nodes (a module-level class, not a lambda).
    ``fields`` goes on to a valuation that takes it; any other computes all five and the rest is dropped."""

    valuation: Valuation
    variance: FloatArray

    def __call__(self, spot: ArrayLike, strike: ArrayLike, time_to_maturity: ArrayLike, call: bool,
                 fields: Iterable[str] | None = None, **barrier_terms: float | None) -> Greeks:
        if fields is None:
            return self.valuation(spot, strike, time_to_maturity, call, self.variance, **barrier_terms)
        chosen = check_fields(fields)
        if accepts_fields(self.valuation):
            return keep(self.valuation(spot, strike, time_to_maturity, call, self.variance, **barrier_terms,
                                       fields=chosen), chosen)
        return keep(self.valuation(spot, strike, time_to_maturity, call, self.variance, **barrier_terms), chosen)


def values_tensors(valuation: Valuation, book: Book) -> bool:
    """True when ``value_paths`` values ``book`` with ``valuation`` in torch on tensor paths: a Black–Scholes
    valuation (``ModelValuation`` of a ``GeometricBrownianMotion``, ``ProxyValuation``: both end in
    ``black_scholes.greeks``, which takes tensors) and no barrier option in the book (the barrier pricer and the
    knock-out masks are numpy), nor positions of several maturities (the expiry masks are numpy too). Any other
    valuation values numpy float64 arrays."""
    if book.has_barrier or len({option.maturity for option in book.options}) > 1:
        return False
    return isinstance(valuation, ProxyValuation) or (
        isinstance(valuation, ModelValuation) and isinstance(valuation.model, GeometricBrownianMotion))


def default_valuation(model: MarketModel) -> ModelValuation | ProxyValuation:
    """The model's own pricer (``ModelValuation``); Black–Scholes at √variance for a ``ProxyVolatilityMarket``
    (regime switching, the data-driven markets: ``ProxyValuation``, no closed form).

    Barrier options: the closed form of ``hedgegym.pricing.barrier`` (GBM: at σ; regime switching: at √variance);
    other models raise ``ValueError`` when asked for one. The result is a picklable value object."""
    if isinstance(model, ProxyVolatilityMarket):
        return ProxyValuation(model)
    return ModelValuation(model)


class PathGreeks:
    """Price and Greeks of one thing (the book, or the hedge instruments side by side) at every node of an
    episode, each field valued on its first access: the fields asked for at construction are valued then, any
    other one (``delta``, ``gamma``, ``vega``, ``theta``) the first time it is read — one more pricer pass over
    the whole path set, then kept. So results never depend on what was declared; declaring only makes it fast.

    Reads like the ``Greeks`` it replaces: ``path.delta`` is the (rows, N) or (rows, N, k) array, iterating gives
    the five fields in ``Greeks`` order (valuing those still missing in one pass), ``path[1]`` is ``delta``;
    ``row(i)`` is the node view the engine hands out as ``book_greeks`` / ``instrument_greeks``. Copies, deep
    copies and pickles (with what it needs to value the rest: the paths, the book and a picklable valuation).

    Shape: every field (rows, N) for the book, (rows, N, k) for the instruments. Units: those of ``Greeks``.
    Raises: ``ValueError`` naming ``fields`` for an unknown Greek name (``ensure``); the pricer's errors when a
    field is valued.
    """

    _fields = Greeks._fields

    def __init__(self, values: dict[str, FloatArray], fill: _Fill | None = None) -> None:
        self._values = dict(values)
        self._fill = fill

    @property
    def computed(self) -> frozenset[str]:
        """The fields valued so far."""
        return frozenset(self._values)

    def ensure(self, fields: Iterable[str] | None) -> PathGreeks:
        """Value, in one pricer pass, the fields of ``fields`` (``None``: all) not valued yet; returns ``self``."""
        missing = check_fields(fields) - self._values.keys()
        if missing:
            if self._fill is None:
                raise ValueError(f"fields {sorted(missing)} were not valued and this PathGreeks cannot value them")
            self._values.update(self._fill(frozenset(missing)))
        return self

    def _field(self, name: str) -> FloatArray:
        values = self._values.get(name)
        if values is None:
            values = self.ensure((name,))._values[name]
        return values

    price = property(lambda self: self._field("price"), doc="Value at every node, currency.")
    delta = property(lambda self: self._field("delta"), doc="∂V/∂S at every node (valued on first access).")
    gamma = property(lambda self: self._field("gamma"), doc="∂²V/∂S² at every node (valued on first access).")
    vega = property(lambda self: self._field("vega"), doc="∂V/∂σ at every node (valued on first access).")
    theta = property(lambda self: self._field("theta"), doc="∂V/∂t per year at every node (valued on first access).")

    def __iter__(self) -> Iterator[FloatArray]:
        self.ensure(None)
        return iter([self._values[name] for name in self._fields])

    def __len__(self) -> int:
        return len(self._fields)

    def __getitem__(self, index: int) -> FloatArray:
        return self._field(self._fields[index])

    def as_greeks(self) -> Greeks:
        """Every field, valued if need be, as a ``Greeks`` of arrays."""
        return Greeks(*self)

    def take(self, columns: np.ndarray) -> PathGreeks:
        """The paths ``columns`` (integer indices in [0, N) along axis 1, shape (M,)) of every field: a new
        ``PathGreeks`` of shape (rows, M) / (rows, M, k) holding copies of the fields valued so far; any other field
        is valued on the whole of this path set on first access, then taken (``_Take``). Raises ``IndexError`` for an
        index out of range."""
        columns = np.asarray(columns, dtype=np.intp)
        return PathGreeks({name: values[:, columns] for name, values in self._values.items()},
                          _Take(self, columns))

    def row(self, index: int) -> NodeGreeks:
        """The view of node ``index`` (lazy like this object): ``row(i).delta`` is ``self.delta[i]``."""
        return NodeGreeks(self, index)

    def __repr__(self) -> str:
        return f"PathGreeks(shape={self._values['price'].shape if 'price' in self._values else '?'}, " \
               f"computed={sorted(self._values, key=self._fields.index)})"


class NodeGreeks:
    """One node (or slice of nodes) of a ``PathGreeks``: ``.price``, ``.delta``, … read ``path.<field>[index]``,
    so a field not valued yet is valued for the whole path set on first access. Iterates like ``Greeks``.

    Shape: every field (N,) for the book, (N, k) for the instruments (a slice index keeps its leading axis).
    """

    __slots__ = ("_index", "_path")
    _fields = Greeks._fields

    def __init__(self, path: PathGreeks, index: int | slice) -> None:
        self._path, self._index = path, index

    def __getstate__(self) -> tuple[PathGreeks, int | slice]:
        return self._path, self._index

    def __setstate__(self, state: tuple[PathGreeks, int | slice]) -> None:
        self._path, self._index = state

    price = property(lambda self: self._path.price[self._index], doc="Value, currency.")
    delta = property(lambda self: self._path.delta[self._index], doc="∂V/∂S.")
    gamma = property(lambda self: self._path.gamma[self._index], doc="∂²V/∂S².")
    vega = property(lambda self: self._path.vega[self._index], doc="∂V/∂σ (the model's volatility unit).")
    theta = property(lambda self: self._path.theta[self._index], doc="∂V/∂t per year.")

    def __iter__(self) -> Iterator[FloatArray]:
        return (field[self._index] for field in self._path)

    def __len__(self) -> int:
        return len(self._fields)

    def __getitem__(self, index: int) -> FloatArray:
        return self._path[index][self._index]

    def __repr__(self) -> str:
        return f"NodeGreeks(index={self._index!r}, computed={sorted(self._path.computed, key=self._fields.index)})"


@dataclass(frozen=True, eq=False)
class _Take:
    """Values fields of a ``PathGreeks.take``: on the parent path set (valued there once, kept), then taken."""

    parent: PathGreeks
    columns: np.ndarray

    def __call__(self, fields: frozenset[str]) -> dict[str, FloatArray]:
        self.parent.ensure(fields)
        return {name: self.parent._values[name][:, self.columns] for name in fields}


@dataclass(frozen=True, eq=False)
class _Fill:
    """Values fields of the book (``instruments=False``) or of the hedge instruments at every node, block by block
    into preallocated arrays (``value_paths``' inputs, kept so that a ``PathGreeks`` can value a field later)."""

    instruments: bool
    book: Book
    hedge_options: tuple[EuropeanOption, ...]
    valuation: Valuation
    monitoring_interval: float
    spot: FloatArray
    variance: FloatArray
    times: FloatArray
    alive_path: tuple[np.ndarray | None, ...] | None

    def __call__(self, fields: frozenset[str]) -> dict[str, FloatArray]:
        spot = self.spot
        rows_total, n_paths = spot.shape
        names = [name for name in Greeks._fields if name in fields]
        shape = (rows_total, n_paths, 1 + len(self.hedge_options)) if self.instruments else (rows_total, n_paths)
        tensors = isinstance(spot, torch.Tensor)
        rows = max(1, _NODES_PER_VALUATION // max(n_paths, 1))
        # a book valued in one block keeps the pricer's fresh arrays: copying them into preallocated ones costs a
        # page-faulting pass over new memory
        whole_book = not self.instruments and rows >= rows_total
        out = {} if whole_book else {
            name: torch.empty(shape, dtype=spot.dtype, device=spot.device) if tensors else np.empty(shape)
            for name in names}
        for start in range(0, rows_total, rows):
            block = slice(start, start + rows)
            s, t = spot[block], self.times[block]
            pricer = monitored(_AtVariance(self.valuation, self.variance[block]), self.monitoring_interval)
            if not self.instruments:
                alive = None if self.alive_path is None else [
                    None if path is None else path[block] for path in self.alive_path]
                greeks = self.book.greeks(s, t, pricer, alive, fields=fields)
                for name in names:
                    if whole_book:
                        out[name] = getattr(greeks, name)
                    else:
                        out[name][block] = getattr(greeks, name)
                continue
            for name in names:  # the stock: (S, 1, 0, 0, 0) per share
                out[name][block, :, 0] = s if name == "price" else (1.0 if name == "delta" else 0.0)
            for j, option in enumerate(self.hedge_options, start=1):
                greeks = option.greeks(s, t, pricer, fields=fields)
                keep = self._unsettled(option, t)
                if keep is not None and tensors:
                    keep = torch.as_tensor(keep, dtype=spot.dtype, device=spot.device)
                for name in names:
                    value = getattr(greeks, name)
                    out[name][block, :, j] = value if keep is None else value * keep
        if tensors:  # numpy for every reader: views of the tensors on the CPU, host copies from a GPU
            return {name: values.cpu().numpy() for name, values in out.items()}
        return out

    def _unsettled(self, option: EuropeanOption, times: FloatArray) -> FloatArray | None:
        """1.0 at the rows before a hedge option's expiry, 0.0 from it on, (rows, 1), when it expires before the last
        row (inside the episode: cash-settled there by the engine, worth nothing after); ``None`` otherwise."""
        tolerance = 1e-6 * self.monitoring_interval  # maturities inside the episode lie on the grid (the engine)
        if option.maturity >= float(np.max(self.times)) - tolerance:
            return None
        return (np.asarray(times) < option.maturity - tolerance).astype(np.float64)


class PathValuation(NamedTuple):
    """The action-independent part of an episode: knock-out masks per book position (or None), and the Greeks of
    the book ((n_steps + 1, N) per field) and of the hedge instruments ((n_steps + 1, N, k)), as ``PathGreeks``:
    engines sharing one ``PathValuation`` share the fields any of them has valued."""

    alive_path: tuple[np.ndarray | None, ...] | None
    book_path: PathGreeks
    instrument_path: PathGreeks


def take_paths(valued: PathValuation, columns: np.ndarray) -> PathValuation:
    """The paths ``columns`` (integer indices, shape (M,)) of a ``PathValuation``: knock-out masks and the book's and
    instruments' ``PathGreeks`` (``PathGreeks.take``), for ``HedgingEngine.reset(spot[:, columns],
    variance[:, columns], valued=...)`` — a mini-batch of a path set valued once (deep hedging's ``training_paths``)."""
    columns = np.asarray(columns, dtype=np.intp)
    alive = None if valued.alive_path is None else tuple(
        None if mask is None else mask[:, columns] for mask in valued.alive_path)
    return PathValuation(alive, valued.book_path.take(columns), valued.instrument_path.take(columns))


def value_paths(
    book: Book,
    hedge_options: Sequence[EuropeanOption],
    valuation: Valuation,
    monitoring_interval: float,
    spot: FloatArray,
    variance: FloatArray,
    times: FloatArray,
    alive_path: Sequence[np.ndarray | None] | None = None,
    fields: Iterable[str] | None = None,
) -> tuple[PathGreeks, PathGreeks]:
    """Greeks of the book (currency, the holder's) and of every hedge instrument (per unit held: the stock is
    (S, 1, 0, 0, 0), options per contract) at every node, valued in blocks of rows (bounded temporary memory)
    written straight into preallocated arrays.

    Args:
        book, hedge_options: what is valued.
        valuation: marks options, ``(spot, strike, τ, call, variance, **barrier terms) -> Greeks``; asked for the
            ``fields`` only when it takes a ``fields`` keyword (``ModelValuation``, ``ProxyValuation`` do),
            else it computes all five and the rest is dropped.
        monitoring_interval: barrier monitoring step (the engine's dt).
        spot, variance: the paths, time-major, shape (rows, N).
        times: years since inception of each row, shape (rows, 1).
        alive_path: per book position ``None`` or a bool (rows, N) knock-out mask; ``None`` without barriers.
        fields: the Greeks valued now (``None``: all five); ``"price"`` is always valued. Any other field is valued
            on its first access (``PathGreeks``), with the same numbers.

    Tensors: ``spot`` and ``variance`` may be torch tensors of one dtype on one device when
    ``values_tensors(valuation, book)`` (Black–Scholes-based, no barrier): every field is then valued in torch at
    that dtype and device, and held as a numpy array of that dtype (a zero-copy view of the CPU tensor; a host
    copy from a GPU), so the readers of ``PathGreeks`` are unchanged.

    Shape: the book's fields (rows, N), the instruments' (rows, N, k) with k = 1 + len(hedge_options).
    Raises: ``ValueError`` from the pricer for inputs outside its domain; naming ``fields`` for an unknown Greek.
    """
    chosen = check_fields(fields) | {"price"}
    alive = None if alive_path is None else tuple(alive_path)
    common = (book, tuple(hedge_options), valuation, monitoring_interval, spot, variance, times, alive)
    book_fill, instrument_fill = _Fill(False, *common), _Fill(True, *common)
    return PathGreeks(book_fill(chosen), book_fill), PathGreeks(instrument_fill(chosen), instrument_fill)
