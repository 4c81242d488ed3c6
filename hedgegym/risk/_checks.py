"""Checks of the values a positions file and its volatility surface give, with messages that name where and what."""

from __future__ import annotations

import math
from datetime import date, datetime

import numpy as np

__all__ = ["as_date", "positive", "real"]


def real(where: str, name: str, value: object) -> float:
    """``value`` as a finite float; a bool, text or None is refused naming ``where`` and ``name``."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | float | np.integer | np.floating):
        raise ValueError(f"{where}: {name} must be a number, got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{where}: {name} must be finite, got {value!r}")
    return float(value)


def positive(where: str, name: str, value: object) -> float:
    number = real(where, name, value)
    if number <= 0.0:
        raise ValueError(f"{where}: {name} must be > 0, got {number!r}")
    return number


def as_date(where: str, name: str, value: object) -> date:
    """A ``datetime.date`` (not a datetime) or an ISO text YYYY-MM-DD."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValueError(f"{where}: {name} must be a date YYYY-MM-DD, got {value!r}")
