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

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from hedgegym.engine import HedgingEngine
from hedgegym.instruments import Book
from hedgegym.market import SABR, Heston, MarketModel, MertonJumpDiffusion, ProxyVolatilityMarket
from hedgegym.pricing.greeks import FloatArray

__all__ = [
    "CLIP", "NodeView", "Scales", "check_features", "configured_features", "default_features", "evaluate_features",
    "evaluate_node_features", "greeks_read", "is_known_feature", "is_state_feature", "known_features", "state_features",
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
        notional = book.notional
        contracts = book.contracts
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
    elif isinstance(model, ProxyVolatilityMarket):
        volatility = model.reference_volatility
    elif isinstance(model, MertonJumpDiffusion):
        jump_variance = model.jump_intensity * (model.jump_mean**2 + model.jump_std**2)
        volatility = np.sqrt(model.volatility**2 + jump_variance)
    else:
        volatility = model.volatility
    return float(max(volatility, 0.01))


Feature = Callable[[HedgingEngine, Scales], FloatArray]

# Node features depend only on the market path (spot, variance, time) and the valuations the engine made at
# reset, so they are computed for the whole episode at once (``NodeView`` with a leading time axis); state
# features depend on the hedger's positions and wealth and are computed at every step.
_NODE_FEATURES: dict[str, Feature] = {
    "log_moneyness": lambda e, s: np.log(e.spot / s.strike) / (s.volatility * np.sqrt(s.maturity)),
    "time_to_maturity": lambda e, s: np.broadcast_to(e.time_to_maturity / s.maturity, e.spot.shape),
    "volatility": lambda e, s: np.sqrt(e.variance) / s.volatility,
    "book_delta": lambda e, s: e.book_greeks.delta / s.notional,
    "book_gamma": lambda e, s: e.book_greeks.gamma * e.spot * s.volatility * np.sqrt(s.maturity) / s.notional,
    "book_vega": lambda e, s: e.book_greeks.vega * s.vega_unit / s.value,
    "book_theta": lambda e, s: e.book_greeks.theta * s.maturity / s.value,
}
_STATE_FEATURES: dict[str, Feature] = {
    "stock_position": lambda e, s: e.positions[:, 0] / s.notional,
    "pnl": lambda e, s: e.wealth / s.value,
}
_BOOK_FEATURES = {**_NODE_FEATURES, **_STATE_FEATURES}
_OPTION_FEATURE = re.compile(r"^option([1-9][0-9]*)_(position|delta|gamma|vega|theta)$")


@dataclass(frozen=True)
class NodeView:
    """The engine's path valuations seen like its current-node attributes, with a leading time axis.

    ``spot``, ``variance``: (n_steps + 1, N); ``time_to_maturity``: (n_steps + 1, 1); ``book_greeks``: Greeks of
    (n_steps + 1, N); ``instrument_greeks``: Greeks of (n_steps + 1, N, k).
    """

    spot: FloatArray
    variance: FloatArray
    time_to_maturity: FloatArray
    book_greeks: object
    instrument_greeks: object
    hedge_options: tuple

    @classmethod
    def of(cls, engine: HedgingEngine) -> NodeView:
        tau = (engine.maturity - engine.times)[:, None]
        return cls(engine.spot_path, engine.variance_path, tau, engine.book_path, engine.instrument_path,
                   engine.hedge_options)


def _option_feature(engine, scales: Scales, column: int, kind: str) -> FloatArray:
    if kind == "position":  # a state feature: ``engine`` may be an EngineState (positions only)
        return engine.positions[:, column] / scales.contracts
    multiplier = engine.hedge_options[column - 1].multiplier
    unit_value = scales.value / scales.notional
    g = engine.instrument_greeks
    if kind == "delta":
        return g.delta[..., column] / multiplier
    if kind == "gamma":
        return g.gamma[..., column] * engine.spot * scales.volatility * np.sqrt(scales.maturity) / multiplier
    if kind == "vega":
        return g.vega[..., column] * scales.vega_unit / (multiplier * unit_value)
    return g.theta[..., column] * scales.maturity / (multiplier * unit_value)


def is_state_feature(name: str) -> bool:
    """True for features of the hedger's state (positions, P&L), False for features of the market node."""
    return name in _STATE_FEATURES or name.endswith("_position")


@functools.lru_cache(maxsize=64)
def _state_columns(names: tuple[str, ...]) -> list[int]:
    return [j for j, name in enumerate(names) if is_state_feature(name)]


def state_columns(names: list[str]) -> list[int]:
    """Indices of the state features in ``names`` (cached: the same list is asked for at every step)."""
    return _state_columns(tuple(names))


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


def configured_features(features: list[str] | None, n_hedge_options: int) -> list[str]:
    """The observation's feature names for a config's ``env.features``: that list, or ``default_features`` when it
    is empty or None (the rule every face and the deep hedger follow)."""
    return list(features) if features else default_features(n_hedge_options)


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


def greeks_read(names: list[str]) -> frozenset[str]:
    """The Greeks (``Greeks`` field names) the features ``names`` read from the engine: ``book_<g>`` and
    ``option{j}_<g>`` read g; every set holds ``"price"`` (the engine's step needs prices). The env declares
    it as the engine's ``required_greeks``, so ``reset`` values nothing else (others are valued if read)."""
    read = {"price"}
    for name in names:
        match = _OPTION_FEATURE.match(name)
        kind = match.group(2) if match is not None else name.removeprefix("book_")
        if kind in ("delta", "gamma", "vega", "theta"):
            read.add(kind)
    return frozenset(read)


def _column(name: str, view, scales: Scales) -> FloatArray:
    if name in _BOOK_FEATURES:
        return _BOOK_FEATURES[name](view, scales)
    match = _OPTION_FEATURE.match(name)
    return _option_feature(view, scales, int(match.group(1)), match.group(2))


def _finite(observation: FloatArray, names: list[str]) -> FloatArray:
    """Clip in place to [−CLIP, CLIP] (±inf become ±CLIP); NaN, the only value that survives, raises."""
    np.clip(observation, -CLIP, CLIP, out=observation)
    if np.isnan(observation).any():
        raise FloatingPointError(f"NaN in one of the features {names}")
    return observation


def state_features(names: list[str], state, scales: Scales) -> list[tuple[int, FloatArray]]:
    """The state features of ``names`` (``pnl``, ``stock_position``, ``option{j}_position``), unclipped, as
    (index in ``names``, values (N,)) pairs, from anything with ``positions`` (N, k) and ``wealth`` (N,): the
    engine (numpy views) or its ``EngineState`` (torch tensors — differentiable, as deep hedging needs). The one
    place these features are computed, for every face."""
    return [(j, _column(names[j], state, scales)) for j in state_columns(names)]


def evaluate_node_features(names: list[str], engine: HedgingEngine, scales: Scales) -> FloatArray:
    """The market-node features of ``names`` at every node of the episode, clipped: shape
    (n_steps + 1, len(names), N) (feature-major rows, so each column is written contiguously); the rows of state
    features are left at 0 and filled at each step."""
    view = NodeView.of(engine)
    steps, n_paths = engine.spot_path.shape
    features = np.zeros((steps, len(names), n_paths))
    for j, name in enumerate(names):
        if not is_state_feature(name):
            features[:, j, :] = _column(name, view, scales)
    return _finite(features, names)


def evaluate_features(
    names: list[str], engine: HedgingEngine, scales: Scales, node_features: FloatArray | None = None
) -> FloatArray:
    """The observation matrix at the current step, (N, len(names)) float32, clipped to [−CLIP, CLIP].

    ``node_features``: the output of ``evaluate_node_features`` for this episode (else everything is computed
    here from the engine's current node).
    """
    if node_features is None:
        observation = np.empty((len(names), engine.n_paths))
        for j, name in enumerate(names):
            observation[j] = _column(name, engine, scales)
        return _finite(observation, names).T.astype(np.float32, order="C")
    observation = node_features[engine.step_index].copy()
    state = state_columns(names)
    for j, values in state_features(names, engine, scales):
        observation[j] = values
    if state:
        _finite(observation[state[0]:state[-1] + 1], names)
    return observation.T.astype(np.float32, order="C")
