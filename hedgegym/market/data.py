r"""The base of the markets built from real data (historical, GARCH, bootstrap): what they share.

Each reads one bundled series (``hedgegym.market.series``), steps one trading day at a time (dt = 1/252 year), has
the drift of history or of a fit to it (``mu`` must stay 0) and no pricing measure, and marks options at
Black–Scholes on a volatility proxy (``ProxyVolatilityMarket``). ``DataMarket`` checks these once for all three
and gives them ``choice`` and ``date_range``, the checks of their own fields.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd

from hedgegym import _validation as check
from hedgegym.market.base import MarketPaths, ProxyVolatilityMarket, scalar
from hedgegym.market.series import SERIES, check_trading_day, closes, parse_date

__all__ = ["DataMarket"]


@dataclass(frozen=True, kw_only=True)
class DataMarket(ProxyVolatilityMarket):
    """A market built from the bundled ``series`` (``"sp500"`` or ``"nasdaq"``); subclasses validate their own
    fields in ``_validate_data`` and say, in ``market_name``, ``drift_source`` and ``no_pricing_measure``, how the
    messages name them."""

    market_name: ClassVar[str]
    """The market in messages: "historical", "GARCH", "bootstrap"."""
    drift_source: ClassVar[str]
    """Where its drift comes from, in the message refusing a ``mu``."""
    no_pricing_measure: ClassVar[str]
    """Why it has no pricing measure, in the message refusing ``measure="pricing"``."""

    series: str = "sp500"

    def _validate(self) -> None:
        self.choice("series", SERIES)
        if self.mu != 0.0:
            raise ValueError(f"mu must be 0 for a {self.market_name} market (its drift is {self.drift_source}), "
                             f"got {self.mu!r}")
        self._validate_data()

    def _validate_data(self) -> None:
        """Validate the subclass's own fields (override)."""

    def choice(self, name: str, choices: Sequence[str]) -> None:
        """``ValueError`` naming field ``name`` unless its value is one of ``choices``."""
        value = getattr(self, name)
        if value not in choices:
            raise ValueError(f"{name} must be one of {', '.join(choices)}, got {value!r}")

    def date_range(self, start_field: str, end_field: str) -> tuple[pd.Timestamp, pd.Timestamp]:
        """The increasing pair of dates in fields ``start_field`` .. ``end_field``, within the series' data, stored
        back as ISO text; ``ValueError`` naming both fields otherwise."""
        start = parse_date(start_field, getattr(self, start_field))
        end = parse_date(end_field, getattr(self, end_field))
        dates = closes(self.series).index
        if start < dates[0] or end > dates[-1] or end <= start:
            raise ValueError(f"{start_field} .. {end_field} must be an increasing pair within the {self.series} "
                             f"data, {dates[0].date()} .. {dates[-1].date()}, got {start.date()} .. {end.date()}")
        object.__setattr__(self, start_field, start.date().isoformat())
        object.__setattr__(self, end_field, end.date().isoformat())
        return start, end

    def simulate(self, n_paths: int, n_steps: int, dt: float, rng: np.random.Generator,
                 measure: str = "real") -> MarketPaths:
        """``MarketModel.simulate`` after two checks of its own: ``ValueError`` for ``measure="pricing"`` (no pricing
        measure) and for a ``dt`` other than one trading day."""
        if measure != "real":
            raise ValueError(f"measure must be 'real' for a {self.market_name} market ({self.no_pricing_measure}), "
                             f"got {measure!r}")
        check_trading_day(scalar("dt", dt, check.positive), self.market_name)
        return super().simulate(n_paths, n_steps, dt, rng, measure)
