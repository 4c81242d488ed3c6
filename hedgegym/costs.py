r"""Transaction-cost models: what it costs to trade, per path, for a batch of trades in k instruments.

Every model maps ``(trades, prices)`` to one non-negative cost per path, in currency (the hedger subtracts it):

  * ``trades``: shape (N, k), the signed quantity traded in each instrument on each path (units: shares for the
    stock, contracts for options; positive buys, negative sells). Column 0 is conventionally the stock.
  * ``prices``: shape (N, k), the unit price of each instrument, currency per share / per contract (≥ 0).
  * A 1-D input of shape (N,) is read as k = 1 (one instrument, N paths). The result has shape (N,).

Per-instrument parameters (``rate``, ``fee``, ``coefficient``, ``half_spread``, ``lot_size``) are a scalar (the same
for every instrument) or a sequence of length k (stock and options usually differ). Formulas, per path::

    ProportionalCost   Σ_i rate_i · |q_i| · P_i                   rate: fraction of traded notional (0.01 = 1 %)
    FixedCost          Σ_i fee_i · 1[|q_i| > threshold_i]          fee: currency per trade (ticket charge)
    QuadraticImpact    Σ_i coefficient_i · P_i · q_i²              coefficient: fractional price concession per
                                                                  unit traded (the concession c·|q| grows with size)
    SpreadCost         Σ_i half_spread_i · |q_i|                   half_spread: currency per unit (half the bid–ask)
    CompositeCost      sum of its components (also ``a + b`` for any two cost models)

``round_to_lot`` rounds target positions to whole lots (round half away from zero).
Everything is vectorised over paths; nothing loops over N. Sums over instruments run column by column in a fixed
order, so a path's cost does not depend on how many paths are in the batch.

One formula, two array kinds: ``unchecked_cost`` (the engine's hot path) takes numpy arrays or torch tensors
(any float dtype, CPU or CUDA) and returns the same kind, differentiable in ``trades`` for torch (deep hedging
backpropagates through it). ``FixedCost``'s indicator has zero derivative almost everywhere; when its trades carry
gradients it uses a straight-through estimator (Bengio, Léonard & Courville 2013, "Estimating or propagating
gradients through stochastic neurons"): the value is the exact fee, the gradient is that of the smooth surrogate
fee · σ((|q| − threshold) / smoothing), σ the logistic function — see ``FixedCost``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from numpy.typing import ArrayLike

from hedgegym import _validation as check
from hedgegym.pricing.greeks import FloatArray

__all__ = [
    "CompositeCost",
    "CostModel",
    "FixedCost",
    "ProportionalCost",
    "QuadraticImpact",
    "SpreadCost",
    "round_to_lot",
]

PerInstrument = float | tuple[float, ...]
Array = FloatArray | torch.Tensor  # numpy array or torch tensor: the cost formulas take either


def _row_sum(terms: Array) -> Array:
    """Σ_j terms[n, j] per row, added column by column in a fixed order (the same bits whatever N)."""
    total = terms[:, 0]
    for j in range(1, terms.shape[1]):
        total = total + terms[:, j]
    return total


def _like(parameter: FloatArray, array: Array) -> Array:
    """A (k,) parameter as the same kind of array as ``array``, in its floating dtype (float32 stays float32;
    integer input gets float64, never a rate truncated to an integer) — a tensor on its device."""
    if isinstance(array, torch.Tensor):
        dtype = array.dtype if array.dtype.is_floating_point else torch.float64
        return torch.as_tensor(parameter, dtype=dtype, device=array.device)
    dtype = array.dtype if np.issubdtype(array.dtype, np.floating) else np.float64
    return parameter.astype(dtype, copy=False)


def _as_matrix(name: str, array: FloatArray) -> FloatArray:
    """(N,) → (N, 1); (N, k) unchanged; anything else refused."""
    if array.ndim == 1:
        return array[:, np.newaxis]
    if array.ndim == 2:
        return array
    raise ValueError(f"{name} must have shape (N,) or (N, k), got shape {array.shape}")


def _trades_and_prices(trades: ArrayLike, prices: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Validated (N, k) float arrays; ValueError naming ``trades`` or ``prices``."""
    trades = _as_matrix("trades", check.finite("trades", trades))
    prices = _as_matrix("prices", check.non_negative("prices", prices))
    if trades.shape != prices.shape:
        raise ValueError(
            f"trades and prices must have the same shape (N, k), got trades {trades.shape} and prices {prices.shape}"
        )
    return trades, prices


def _parameter(name: str, value: object) -> PerInstrument:
    """Normalise a per-instrument parameter (≥ 0): a float, or a non-empty tuple of floats."""
    if isinstance(value, bool | np.bool_):
        raise ValueError(f"{name} must be a number >= 0 or a sequence of them, got {value!r}")
    array = check.non_negative(name, value)  # type: ignore[arg-type]
    if array.ndim == 0:
        return float(array)
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"{name} must be a number or a non-empty 1-D sequence (one per instrument), got {value!r}")
    return tuple(float(x) for x in array)


def _per_instrument(name: str, value: PerInstrument, like: Array) -> Array:
    """The parameter as a (k,) array of the same kind as ``like`` (N, k) (a scalar is repeated); ValueError naming
    it on a length mismatch."""
    k = like.shape[1]
    if isinstance(value, float):
        return _like(np.full(k, value), like)
    if len(value) != k:
        raise ValueError(f"{name} has {len(value)} entries but the trades have k = {k} instrument(s)")
    return _like(np.asarray(value, dtype=np.float64), like)


class CostModel(ABC):
    """Interface of every transaction-cost model; ``a + b`` builds a ``CompositeCost``."""

    def cost(self, trades: ArrayLike, prices: ArrayLike) -> FloatArray:
        """Total cost per path, currency, ≥ 0.

        Args:
            trades: signed quantities traded, shape (N, k) or (N,) (shares for the stock, contracts for options).
            prices: unit price of each instrument (currency per share / per contract), same shape as ``trades``.

        Raises:
            ValueError: naming ``trades`` (not finite, bad shape), ``prices`` (negative, not finite, bad shape) or the
                model's parameter (length differs from k).

        Shape: (N,).
        """
        return self._cost(*_trades_and_prices(trades, prices))

    def unchecked_cost(self, trades: Array, prices: Array) -> Array:
        """``cost`` for inputs already known to be finite (N, k) with prices ≥ 0 (the engine's hot path: it
        validates targets itself and its prices come from the pricers): numpy arrays, or torch tensors of one
        dtype and device (the result is a tensor, differentiable in ``trades``). Shape: (N,)."""
        return self._cost(trades, prices)

    @abstractmethod
    def _cost(self, trades: Array, prices: Array) -> Array:
        """The model's formula on validated (N, k) numpy arrays or torch tensors; shape (N,), the same kind."""

    def __add__(self, other: object) -> CompositeCost:
        if not isinstance(other, CostModel):
            return NotImplemented
        return CompositeCost(self, other)

    def __radd__(self, other: object) -> CostModel:
        if isinstance(other, int | float) and not isinstance(other, bool) and other == 0:
            return self  # lets ``sum(models)`` work
        return NotImplemented


@dataclass(frozen=True)
class ProportionalCost(CostModel):
    """Cost proportional to traded notional: Σ_i rate_i · |q_i| · P_i.

    ``rate`` is a fraction of notional (0.001 = 10 bp), ≥ 0: a scalar for every instrument or one per instrument,
    e.g. ``ProportionalCost((0.0005, 0.01))`` for 5 bp on the stock and 1 % on an option.
    """

    rate: PerInstrument

    def __post_init__(self) -> None:
        object.__setattr__(self, "rate", _parameter("rate", self.rate))

    def _cost(self, trades: Array, prices: Array) -> Array:
        """Σ_i rate_i · |q_i| · P_i per path, currency. Shape: (N,)."""
        return _row_sum(abs(trades) * prices * _per_instrument("rate", self.rate, trades))


@dataclass(frozen=True)
class FixedCost(CostModel):
    """A flat fee per instrument traded: Σ_i fee_i · 1[|q_i| > threshold_i].

    ``fee`` is currency per trade (per instrument, per rebalancing date), ≥ 0. ``threshold`` (≥ 0, same units as the
    trades, scalar or per instrument) is the size at or below which a trade counts as no trade; 0 by default, so any
    non-zero trade pays. Independent of trade size and of prices.

    Gradients (torch trades that require grad, e.g. deep hedging): the value stays the exact fee; the gradient is
    that of the surrogate fee_i · σ((|q_i| − threshold_i) / smoothing_i), σ the logistic function — a
    straight-through estimator (Bengio, Léonard & Courville 2013). ``smoothing`` (> 0, units traded, scalar or per
    instrument, default 1 share / contract) is the trade size over which the surrogate rises from ½·fee to ≈ fee:
    trades much smaller than it are pushed towards no trade, much larger ones feel no pull.
    """

    fee: PerInstrument
    threshold: PerInstrument = 0.0
    smoothing: PerInstrument = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "fee", _parameter("fee", self.fee))
        object.__setattr__(self, "threshold", _parameter("threshold", self.threshold))
        smoothing = _parameter("smoothing", self.smoothing)
        if min(smoothing if isinstance(smoothing, tuple) else (smoothing,)) <= 0.0:
            raise ValueError(f"smoothing must be > 0 (units traded), got {self.smoothing!r}")
        object.__setattr__(self, "smoothing", smoothing)

    def _cost(self, trades: Array, prices: Array) -> Array:
        """Σ_i fee_i · 1[|q_i| > threshold_i] per path, currency (straight-through gradient, see the class).
        Shape: (N,)."""
        fee = _per_instrument("fee", self.fee, trades)
        threshold = _per_instrument("threshold", self.threshold, trades)
        size = abs(trades)
        fees = (size > threshold) * fee
        if isinstance(trades, torch.Tensor) and trades.requires_grad:
            surrogate = fee * torch.sigmoid((size - threshold) / _per_instrument("smoothing", self.smoothing, trades))
            fees = fees + (surrogate - surrogate.detach())  # exactly 0 in value: the fee stays exact
        return _row_sum(fees)


@dataclass(frozen=True)
class QuadraticImpact(CostModel):
    """Temporary market impact: Σ_i coefficient_i · P_i · q_i².

    Trading q units moves the execution price against the trader by the fraction coefficient·|q| of P, so the cost
    (concession × size) is quadratic in size. ``coefficient`` is the fractional concession per unit traded
    (units: 1 / share for the stock, 1 / contract for options), ≥ 0; e.g. 1e-6 means 1 % worse price on 10,000 shares.
    """

    coefficient: PerInstrument

    def __post_init__(self) -> None:
        object.__setattr__(self, "coefficient", _parameter("coefficient", self.coefficient))

    def _cost(self, trades: Array, prices: Array) -> Array:
        """Σ_i coefficient_i · P_i · q_i² per path, currency. Shape: (N,)."""
        return _row_sum(prices * trades * trades * _per_instrument("coefficient", self.coefficient, trades))


@dataclass(frozen=True)
class SpreadCost(CostModel):
    """Crossing half the bid–ask spread: Σ_i half_spread_i · |q_i| (independent of the mid price).

    ``half_spread`` is absolute, currency per unit traded (per share for the stock, per contract for options), ≥ 0;
    the usual quote for listed options, e.g. ``SpreadCost((0.005, 5.0))`` = half a cent a share, $5 a contract
    (a $0.05 half-spread on an option premium × multiplier 100).
    """

    half_spread: PerInstrument

    def __post_init__(self) -> None:
        object.__setattr__(self, "half_spread", _parameter("half_spread", self.half_spread))

    def _cost(self, trades: Array, prices: Array) -> Array:
        """Σ_i half_spread_i · |q_i| per path, currency. Shape: (N,)."""
        return _row_sum(abs(trades) * _per_instrument("half_spread", self.half_spread, trades))


class CompositeCost(CostModel):
    """Sum of several cost models, e.g. ``ProportionalCost(0.001) + FixedCost(1.0)``.

    Nested composites are flattened. With no components the cost is zero (a frictionless market) but the inputs
    are still validated. Immutable (setting or deleting ``models`` raises ``AttributeError``); equal to any
    composite of equal components in the same order; ``copy``, ``deepcopy`` and ``pickle`` rebuild it from its
    components.
    """

    __slots__ = ("models",)
    models: tuple[CostModel, ...]

    def __init__(self, *models: CostModel) -> None:
        flat: list[CostModel] = []
        for index, model in enumerate(models):
            if isinstance(model, CompositeCost):
                flat.extend(model.models)
            elif isinstance(model, CostModel):
                flat.append(model)
            else:
                raise ValueError(f"models[{index}] must be a CostModel, got {type(model).__name__}")
        object.__setattr__(self, "models", tuple(flat))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __reduce__(self) -> tuple[type[CompositeCost], tuple[CostModel, ...]]:
        """Rebuild through ``__init__`` (``copy``, ``deepcopy`` and ``pickle`` all use this): the default protocol
        would restore the slot with ``setattr``, which an immutable object refuses."""
        return (type(self), self.models)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(repr(model) for model in self.models)})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CompositeCost) and self.models == other.models

    def __hash__(self) -> int:
        return hash((type(self), self.models))

    def breakdown(self, trades: ArrayLike, prices: ArrayLike) -> FloatArray:
        """The cost of each component per path (for cost attribution), currency. Shape: (N, number of models)."""
        trades, prices = _trades_and_prices(trades, prices)
        columns = [model._cost(trades, prices) for model in self.models]
        return np.stack(columns, axis=1) if columns else np.zeros((trades.shape[0], 0))

    def _cost(self, trades: Array, prices: Array) -> Array:
        """Σ over components of their cost per path, currency. Shape: (N,)."""
        total = abs(trades[:, 0]) * 0.0  # +0.0 of the input's kind, dtype and device
        for model in self.models:
            total = total + model._cost(trades, prices)
        return total


def round_to_lot(quantity: ArrayLike, lot_size: float | Sequence[float]) -> FloatArray:
    """Round target positions to the nearest whole number of lots per instrument, half away from zero.

    ``round(q / L) · L`` with ties (exactly half a lot) rounded away from zero, so +2.5 lots → 3 and −2.5 → −3:
    long and short targets are treated symmetrically. Ties are judged on ``q / L`` in floating point, so a lot size
    that is not exactly representable (e.g. 0.1) can move a nominal tie either way; integer lot sizes are exact.

    Args:
        quantity: target positions, shape (N, k) or (N,) (k = 1), finite.
        lot_size: lot size per instrument (> 0), a scalar or a sequence of length k (e.g. ``(100, 1)``: round lots of
            100 shares, whole option contracts).

    Shape: same as ``quantity``.
    """
    quantity = check.finite("quantity", quantity)
    one_dimensional = quantity.ndim == 1
    matrix = _as_matrix("quantity", quantity)
    if isinstance(lot_size, bool | np.bool_):
        raise ValueError(f"lot_size must be a number > 0 or a sequence of them, got {lot_size!r}")
    lots = check.positive("lot_size", lot_size)
    if lots.ndim > 1 or (lots.ndim == 1 and lots.size != matrix.shape[1]):
        raise ValueError(
            f"lot_size must be a scalar or have one entry per instrument (k = {matrix.shape[1]}), "
            f"got shape {lots.shape}"
        )
    ratio = matrix / lots
    rounded = np.sign(ratio) * np.floor(np.abs(ratio) + 0.5) * lots + 0.0  # + 0.0 turns −0.0 into 0.0
    return rounded[:, 0] if one_dimensional else rounded
