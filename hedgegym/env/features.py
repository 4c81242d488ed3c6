r"""Named observation features, each scaled by the env to O(1) so agents need no VecNormalize.

Every feature maps the engine's current state to one number per path, shape (N,). The scales come from the
configuration, once (``Scales``): S₀ the initial spot, σ₀ the model's reference volatility, T the maturity,
n the book's notional in units of the underlying (Σ|quantity|·multiplier), c its number of contracts and
P = 0.4·n·S₀·σ₀·√T (about the premium of an at-the-money book) for values.

============================  ==============================================================================
name                          value
============================  ==============================================================================
``log_moneyness``             ln(S/K) / (σ₀√T), K the book's (notional-weighted) strike
``time_to_maturity``          τ / T ∈ [0, 1]
``volatility``                √v / σ₀ (model volatility: GBM σ, Heston √v, SABR α, regime σ)
``stock_position``            shares held / n
``book_delta``                Δ_book / n (the holder's; a delta hedge holds −Δ_book shares)
``book_gamma``                Γ_book · S σ₀√T / n (change of delta, in notionals, over a 1-σ move of the life)
``book_vega``                 vega_book · u / P, u the model's vega unit move (σ₀; Heston: the variance σ₀²)
``book_theta``                Θ_book · T / P
``pnl``                       wealth so far / P
``option{j}_position``        contracts of hedge option j held / c   (j = 1, 2, … in config order)
``option{j}_delta``           per-contract Δ / multiplier
``option{j}_gamma``           per-contract Γ · S σ₀√T / multiplier
``option{j}_vega``            per-contract vega · u / (multiplier · p), p = P / n
``option{j}_theta``           per-contract Θ · T / (multiplier · p)
============================  ==============================================================================

Every feature is clipped to [−10, 10] by the env (documented in its observation space), so no observation is
ever infinite or NaN.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from hedgegym.engine import HedgingEngine
from hedgegym.instruments import Book
from hedgegym.market import SABR, Heston, MarketModel, MertonJumpDiffusion, RegimeSwitchingVolatility
from hedgegym.pricing.greeks import FloatArray

__all__ = [
    "CLIP", "Scales", "check_features", "default_features", "evaluate_features", "is_known_feature", "known_features",
]

CLIP = 10.0


@dataclass(frozen=True)
class Scales:
    """Normalising constants fixed by the configuration (see the module docstring)."""

    spot: float
    volatility: float
    maturity: float
    notional: float
    contracts: float
    strike: float
    value: float
    vega_unit: float

    @classmethod
    def from_setup(cls, model: MarketModel, book: Book) -> Scales:
        volatility = reference_volatility(model)
        notional = sum(abs(p.quantity) * p.option.multiplier for p in book.positions)
        contracts = sum(abs(p.quantity) for p in book.positions)
        strike = sum(abs(p.quantity) * p.option.multiplier * p.option.strike for p in book.positions) / notional
        value = 0.4 * notional * model.spot * volatility * np.sqrt(book.maturity)
        vega_unit = volatility**2 if isinstance(model, Heston) else volatility
        return cls(model.spot, volatility, book.maturity, notional, contracts, strike, value, vega_unit)


def reference_volatility(model: MarketModel) -> float:
    """σ₀: the volatility that sets the scales (a floor of 1% keeps zero-vol models finite)."""
    if isinstance(model, Heston):
        volatility = np.sqrt(model.initial_variance)
    elif isinstance(model, SABR):
        volatility = model.alpha
    elif isinstance(model, RegimeSwitchingVolatility):
        levels = model.levels or (model.volatility_min, model.volatility_max)
        volatility = float(np.sqrt(np.mean(np.square(levels))))
    elif isinstance(model, MertonJumpDiffusion):
        jump_variance = model.jump_intensity * (model.jump_mean**2 + model.jump_std**2)
        volatility = np.sqrt(model.volatility**2 + jump_variance)
    else:
        volatility = model.volatility
    return float(max(volatility, 0.01))


Feature = Callable[[HedgingEngine, Scales], FloatArray]

_BOOK_FEATURES: dict[str, Feature] = {
    "log_moneyness": lambda e, s: np.log(e.spot / s.strike) / (s.volatility * np.sqrt(s.maturity)),
    "time_to_maturity": lambda e, s: np.full(e.n_paths, e.time_to_maturity / s.maturity),
    "volatility": lambda e, s: np.sqrt(e.variance) / s.volatility,
    "stock_position": lambda e, s: e.positions[:, 0] / s.notional,
    "book_delta": lambda e, s: e.book_greeks.delta / s.notional,
    "book_gamma": lambda e, s: e.book_greeks.gamma * e.spot * s.volatility * np.sqrt(s.maturity) / s.notional,
    "book_vega": lambda e, s: e.book_greeks.vega * s.vega_unit / s.value,
    "book_theta": lambda e, s: e.book_greeks.theta * s.maturity / s.value,
    "pnl": lambda e, s: e.wealth / s.value,
}
_OPTION_FEATURE = re.compile(r"^option([1-9][0-9]*)_(position|delta|gamma|vega|theta)$")


def _option_feature(engine: HedgingEngine, scales: Scales, column: int, kind: str) -> FloatArray:
    multiplier = engine.hedge_options[column - 1].multiplier
    unit_value = scales.value / scales.notional
    g = engine.instrument_greeks
    if kind == "position":
        return engine.positions[:, column] / scales.contracts
    if kind == "delta":
        return g.delta[:, column] / multiplier
    if kind == "gamma":
        return g.gamma[:, column] * engine.spot * scales.volatility * np.sqrt(scales.maturity) / multiplier
    if kind == "vega":
        return g.vega[:, column] * scales.vega_unit / (multiplier * unit_value)
    return g.theta[:, column] * scales.maturity / (multiplier * unit_value)


def known_features(n_hedge_options: int = 1) -> list[str]:
    """Every feature name (option features listed for ``n_hedge_options`` options)."""
    names = list(_BOOK_FEATURES)
    for j in range(1, n_hedge_options + 1):
        names += [f"option{j}_{kind}" for kind in ("position", "delta", "gamma", "vega", "theta")]
    return names


def is_known_feature(name: str) -> bool:
    return name in _BOOK_FEATURES or _OPTION_FEATURE.match(name) is not None


def default_features(n_hedge_options: int) -> list[str]:
    """All book features plus position, Δ, Γ, vega, Θ of every hedge option."""
    return known_features(n_hedge_options)


def check_features(names: list[str], n_hedge_options: int) -> None:
    """``ValueError`` naming the first feature that does not exist for this many hedge options."""
    for name in names:
        match = _OPTION_FEATURE.match(name)
        if name in _BOOK_FEATURES or (match is not None and int(match.group(1)) <= n_hedge_options):
            continue
        raise ValueError(
            f"feature {name!r} is not available with {n_hedge_options} hedge option(s); allowed: "
            f"{', '.join(known_features(n_hedge_options))}"
        )


def evaluate_features(names: list[str], engine: HedgingEngine, scales: Scales) -> FloatArray:
    """The observation matrix, (N, len(names)) float32, clipped to [−CLIP, CLIP]; NaN never passes."""
    observation = np.empty((engine.n_paths, len(names)))
    for j, name in enumerate(names):
        if name in _BOOK_FEATURES:
            observation[:, j] = _BOOK_FEATURES[name](engine, scales)
        else:
            match = _OPTION_FEATURE.match(name)
            observation[:, j] = _option_feature(engine, scales, int(match.group(1)), match.group(2))
    np.clip(observation, -CLIP, CLIP, out=observation)  # ±inf become ±CLIP; only NaN can survive
    if np.isnan(observation).any():
        bad = [names[j] for j in np.flatnonzero(np.isnan(observation).any(axis=0))]
        raise FloatingPointError(f"NaN in feature(s) {bad}")
    return observation.astype(np.float32)
