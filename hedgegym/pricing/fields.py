"""Which fields of ``Greeks`` a caller asks a pricer for: the ``fields`` keyword of the pricers and valuations.

``fields=None`` asks for all five (price, delta, gamma, vega, theta); a collection of names asks for those only,
and the pricer returns a ``Greeks`` whose other fields are ``None`` (``keep``). A pricer that can compute a subset
faster (Black–Scholes: Θ costs as much as the rest) does so; others compute everything and ``keep`` the subset.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable

from hedgegym.pricing.greeks import Greeks

__all__ = ["ALL", "accepts_fields", "check_fields", "keep"]

ALL: frozenset[str] = frozenset(Greeks._fields)
"""Every field: price, delta, gamma, vega, theta."""


def check_fields(fields: Iterable[str] | None, name: str = "fields", allow_empty: bool = False) -> frozenset[str]:
    """``fields`` as a frozenset of ``Greeks`` field names (``None``: all five).

    Raises: ``ValueError`` naming ``name`` for a bare string, a non-iterable, an unknown field or (unless
    ``allow_empty``) an empty set, and listing the allowed names."""
    if fields is None:
        return ALL
    if isinstance(fields, str) or not isinstance(fields, Iterable):
        raise ValueError(f"{name} must be a collection of Greek names from {', '.join(Greeks._fields)}, got {fields!r}")
    chosen = frozenset(fields)
    unknown = sorted(str(field) for field in chosen - ALL)
    if unknown or not (chosen or allow_empty):
        raise ValueError(f"{name} must be a non-empty collection of Greek names from {', '.join(Greeks._fields)}, "
                         f"got {sorted(map(str, chosen))}")
    return chosen


def keep(greeks: Greeks, fields: frozenset[str]) -> Greeks:
    """``greeks`` with the fields outside ``fields`` set to ``None`` (the same arrays otherwise, no copy)."""
    if fields == ALL:
        return greeks
    return Greeks(*(value if name in fields else None for name, value in zip(Greeks._fields, greeks, strict=True)))


def accepts_fields(function: Callable[..., object]) -> bool:
    """True when ``function`` (a pricer or valuation) takes a ``fields`` keyword by name (an explicit parameter,
    not only ``**kwargs``: those may be passed on to something that does not take it)."""
    try:
        parameters = inspect.signature(function).parameters
    except (TypeError, ValueError):  # builtins without a signature
        return False
    parameter = parameters.get("fields")
    return parameter is not None and parameter.kind in (inspect.Parameter.KEYWORD_ONLY,
                                                        inspect.Parameter.POSITIONAL_OR_KEYWORD)
