"""Delta–vega hedging with fixed no-transaction bands: the classical rule behind ``env.action: delta_vega_band``.

With one listed option, the vega-neutral position is r₁ = −vega_book / vega₁ contracts and the delta hedge of the
book plus that option is r₀ = −(Δ_book + h₁ Δ₁) shares (Hull, *Options, Futures, and Other Derivatives*, "Greek
letters": neutralise vega with the option, then delta with the stock). Under proportional costs a hedger trades
only when a position leaves a band around its reference, and then only to the band's edge (Davis & Norman 1990;
Whalley & Wilmott 1997): h₁ = clip(h₁^prev, r₁ − b₁ c, r₁ + b₁ c), then h₀ = clip(h₀^prev, r₀ − b₀ n, r₀ + b₀ n),
with n the book's notional (shares), c its number of contracts and b₀, b₁ the bands. Bands of 0 are the
daily-rebalanced delta–vega hedge. The arithmetic is the env's own mapping (``hedgegym.env.actions``) at the widest
action, so this rule is the constant-band policy an RL agent with that action starts from and improves on (the
state-dependent band of Imaki et al. 2021's no-transaction band network).
"""

from __future__ import annotations

import numpy as np

from hedgegym.baselines.base import Hedger
from hedgegym.baselines.delta_gamma import DEFAULT_POSITION_LIMIT, check_solver_limits, option_position_limits
from hedgegym.engine import HedgingEngine
from hedgegym.env.actions import ActionGreeks, ActionMapping
from hedgegym.pricing.greeks import FloatArray

__all__ = ["DeltaVegaBandHedger"]


class DeltaVegaBandHedger(Hedger):
    """Delta–vega hedge with one listed option, each position kept within a band around its reference.

    Args:
        option_band: b₁, half-width of the option's band in multiples of the book's contracts (≥ 0; 0: trade to
            the vega-neutral position every step).
        stock_band: b₀, half-width of the stock's band in multiples of the book's notional (≥ 0).
        position_limit: the vega-neutral position's cap, |r₁| ≤ position_limit · n / the option's multiplier
            contracts (> 0; the Greek-neutral hedgers' cap). Where the cap binds, r₁ is clipped to it (the Greek
            solver's ``GreekNeutralHedger(("delta", "vega"))`` instead drops vega and holds no option), so with
            bands 0 the two agree wherever the cap does not bind; the reference is 0 where the option has no vega.
        name: the label in tables (default ``delta_vega_band_<b₁>``, ``_<b₀>`` appended when the stock has a band).

    Raises:
        ValueError: a band < 0 or not finite, a limit ≤ 0; at ``reset``, a set-up without exactly one hedge option.
    """

    required_greeks = frozenset({"price", "delta", "vega"})

    def __init__(self, option_band: float = 0.0, stock_band: float = 0.0,
                 position_limit: float = DEFAULT_POSITION_LIMIT, name: str | None = None) -> None:
        for field, value in (("option_band", option_band), ("stock_band", stock_band)):
            if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)) or not (
                    np.isfinite(value) and value >= 0):
                raise ValueError(f"{field} must be a finite number >= 0 (a multiple of the book's size), got "
                                 f"{value!r}")
        _, position_limit = check_solver_limits(1.0, position_limit)
        self.option_band, self.stock_band, self.position_limit = float(option_band), float(stock_band), position_limit
        if name is None:
            name = f"delta_vega_band_{option_band:g}" + (f"_{stock_band:g}" if stock_band else "")
        self.name = name
        self._mapping: ActionMapping | None = None

    def reset(self, engine: HedgingEngine) -> None:
        if engine.n_instruments != 2:
            raise ValueError(f"{self.name} needs exactly one listed hedge option (hedging.hedge_options); the config "
                             f"has {engine.n_instruments - 1}")
        scale = np.array([self.stock_band * engine.book.notional, self.option_band * engine.book.contracts])
        self._mapping = ActionMapping("delta_vega_band", scale, option_position_limits(engine, self.position_limit)[1])

    def targets(self, engine: HedgingEngine) -> FloatArray:
        if self._mapping is None:
            self.reset(engine)
        greeks = ActionGreeks.of("delta_vega_band", engine.book_greeks, engine.instrument_greeks)
        widest = np.ones((engine.n_paths, 4))  # a = 1: each band's half-width is its whole scale
        return self._mapping.targets(widest, engine.positions, greeks)
