"""Argument checks shared by every public function: bad input fails early with the argument's name.

Each check returns its argument as a float64 array (broadcasting is left to the caller) and raises
``ValueError`` naming the argument and the allowed range when any element is out of range or not finite.
Booleans are not numbers here (``True`` is not a spot of 1.0): a bool, or an array or sequence of bools, is
refused with the argument's name, as is anything numpy cannot read as real numbers (``None``, strings, objects).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray


def _is_real_scalar(value: object) -> bool:
    """A Python/numpy real number (not a bool): checked with ``math`` instead of numpy reductions (fast path)."""
    return isinstance(value, float | int | np.floating | np.integer) and not isinstance(value, bool | np.bool_)


def _scalar(name: str, value: float, ok: bool, allowed: str) -> np.float64:
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite (no NaN or inf), got {float(value)!r}")
    if not ok:
        raise ValueError(f"{name} must be {allowed}, got {float(value)!r}")
    return np.float64(value)


def _as_float_array(name: str, value: ArrayLike) -> NDArray[np.float64]:
    if isinstance(value, bool | np.bool_):
        raise ValueError(f"{name} must be a real number, not a boolean, got {value!r}")
    if isinstance(value, list | tuple):  # Python sequences: every element a real number (no bools, no None)
        elements = np.asarray(value, dtype=object).ravel() if value else np.empty(0, dtype=object)
        bad = [x for x in elements if not _is_real_scalar(x)]
        if bad:
            raise ValueError(f"{name} must be real numbers (not booleans, None or text), got an element {bad[0]!r}")
    elif isinstance(value, np.ndarray) and value.dtype.kind not in "iuf":
        raise ValueError(f"{name} must be an array of real numbers, got an array of dtype {value.dtype}")
    if value is None or isinstance(value, str | bytes):
        raise ValueError(f"{name} must be a real number or an array of real numbers, got {value!r}")
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name} must be a real number or an array of real numbers, got {value!r}") from error
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite (no NaN or inf), got {_describe(array)}")
    return array


def _describe(array: NDArray[np.float64]) -> str:
    if array.ndim == 0:
        return repr(float(array))
    bad = array[~np.isfinite(array)] if not np.all(np.isfinite(array)) else array
    return f"an array containing {float(bad.ravel()[0])!r}"


def finite(name: str, value: ArrayLike) -> NDArray[np.float64]:
    """Any finite real number."""
    if _is_real_scalar(value):
        return _scalar(name, value, True, "finite")
    return _as_float_array(name, value)


def positive(name: str, value: ArrayLike) -> NDArray[np.float64]:
    """A finite number > 0."""
    if _is_real_scalar(value):
        return _scalar(name, value, value > 0, "> 0")
    array = _as_float_array(name, value)
    if not np.all(array > 0.0):
        raise ValueError(f"{name} must be > 0, got {_offender(array, array <= 0.0)}")
    return array


def non_negative(name: str, value: ArrayLike) -> NDArray[np.float64]:
    """A finite number >= 0."""
    if _is_real_scalar(value):
        return _scalar(name, value, value >= 0, ">= 0")
    array = _as_float_array(name, value)
    if not np.all(array >= 0.0):
        raise ValueError(f"{name} must be >= 0, got {_offender(array, array < 0.0)}")
    return array


def in_closed_range(name: str, value: ArrayLike, low: float, high: float) -> NDArray[np.float64]:
    """A finite number in [low, high]."""
    if _is_real_scalar(value):
        return _scalar(name, value, low <= value <= high, f"in [{low}, {high}]")
    array = _as_float_array(name, value)
    outside = (array < low) | (array > high)
    if np.any(outside):
        raise ValueError(f"{name} must be in [{low}, {high}], got {_offender(array, outside)}")
    return array


def positive_int(name: str, value: int) -> int:
    """An integer >= 1 (bools are refused)."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    return int(value)


def generator(name: str, value: object) -> np.random.Generator:
    """An explicit ``np.random.Generator`` (no global seeding, no integers silently turned into streams)."""
    if not isinstance(value, np.random.Generator):
        raise ValueError(
            f"{name} must be a numpy.random.Generator (e.g. np.random.default_rng(seed)), got {type(value).__name__}"
        )
    return value


def _offender(array: NDArray[np.float64], mask: NDArray[np.bool_]) -> str:
    if array.ndim == 0:
        return repr(float(array))
    return f"{int(np.count_nonzero(mask))} bad element(s), e.g. {float(array[mask].ravel()[0])!r}"
