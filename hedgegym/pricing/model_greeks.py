"""The closed-form (or Fourier) value and Greeks of a European option under a market model's own dynamics.

``model_greeks(model, spot, strike, time_to_maturity, call, variance)`` dispatches on the type of
``model`` to the pricing module of the same model, passing the model's parameters and, for stochastic
volatility models, the current per-path state ``variance`` (Heston v, SABR α²; default: the model's
initial value). Units of ``vega`` follow the model's pricing module: per 1.00 of σ (GBM, Merton diffusion),
per 1.00 of variance v (Heston), per 1.00 of α (SABR).

The regime-switching model has no closed form (its price is a mixture over the volatility path): it raises
``ValueError``; price it by Monte Carlo, or use ``black_scholes`` at a chosen volatility as a hedger would.

Barrier options (keyword ``barrier`` B: a down-and-out call, zero rebate; ``monitoring_interval`` Δt for the BGK
discrete-monitoring correction, ``None`` continuous) have a closed form under GBM only
(``hedgegym.pricing.barrier``); Heston, Merton and SABR raise ``ValueError``.

``fields`` (keyword): ``None`` for all five Greeks, or the names wanted; the others are ``None`` in the result
(``hedgegym.pricing.fields``). Black–Scholes computes only those asked; Heston and SABR use their price-only
function when only the price is asked (``heston.price``: its Fourier tail is cut for the price alone, so it may
differ from ``heston.greeks(...).price`` in the last digits); the other pricers compute all and keep the subset.

Shape: outputs have the broadcast shape of ``spot, strike, time_to_maturity, call, variance``.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import singledispatch

import numpy as np
from numpy.typing import ArrayLike

from hedgegym.market import SABR, GeometricBrownianMotion, Heston, MarketModel, MertonJumpDiffusion
from hedgegym.pricing import barrier as barrier_pricing
from hedgegym.pricing import black_scholes, heston, merton, sabr
from hedgegym.pricing.fields import check_fields, keep
from hedgegym.pricing.greeks import Greeks

__all__ = ["model_greeks"]


def _no_barrier(model: MarketModel) -> ValueError:
    return ValueError(f"barrier options need the gbm or regime_switching market (a closed form under Black–Scholes "
                      f"dynamics); the {type(model).__name__} model has none")


@singledispatch
def model_greeks(
    model: MarketModel, spot: ArrayLike, strike: ArrayLike, time_to_maturity: ArrayLike, call: ArrayLike = True,
    variance: ArrayLike | None = None, *, barrier: float | None = None, monitoring_interval: float | None = None,
    fields: Iterable[str] | None = None,
) -> Greeks:
    """Value and Greeks of a European option under ``model`` (see the module docstring); ``barrier`` B makes it a
    down-and-out call (GBM only), ``monitoring_interval`` Δt > 0 monitors the barrier every Δt years, ``fields``
    the Greeks wanted (``None``: all; the others are ``None``).

    Raises: ``ValueError`` for a model without a pricer, a barrier it cannot value, or bad ``fields``."""
    raise ValueError(
        f"model: no closed-form pricer for {type(model).__name__}; price it by Monte Carlo or value options with "
        "black_scholes at a chosen volatility"
    )


def _price_only(price: ArrayLike) -> Greeks:
    return Greeks(price, None, None, None, None)


@model_greeks.register
def _(model: GeometricBrownianMotion, spot, strike, time_to_maturity, call=True, variance=None, *, barrier=None,
      monitoring_interval=None, fields=None) -> Greeks:
    chosen = check_fields(fields)
    if barrier is not None:
        return keep(barrier_pricing.greeks(spot, strike, time_to_maturity, model.volatility, model.rate,
                                           model.dividend, call, barrier=barrier,
                                           monitoring_interval=monitoring_interval), chosen)
    return black_scholes.greeks(spot, strike, time_to_maturity, model.volatility, model.rate, model.dividend, call,
                                fields=chosen)


@model_greeks.register
def _(model: Heston, spot, strike, time_to_maturity, call=True, variance=None, *, barrier=None,
      monitoring_interval=None, fields=None) -> Greeks:
    chosen = check_fields(fields)
    if barrier is not None:
        raise _no_barrier(model)
    v = model.initial_variance if variance is None else variance
    parameters = (v, model.mean_reversion, model.long_run_variance, model.vol_of_vol, model.correlation, model.rate,
                  model.dividend, call)
    # no price-only shortcut: heston.price integrates differently from heston.greeks (they differ by ~1e-11
    # relative), and what a hedger declares must never change the numbers, only the speed
    # every σᵥ ≥ 0, no switch: heston.greeks is accurate uniformly as σᵥ → 0 and exact (Black–Scholes at the
    # deterministic average variance, Greeks by the chain rule) at σᵥ = 0
    return keep(heston.greeks(spot, strike, time_to_maturity, *parameters), chosen)


@model_greeks.register
def _(model: MertonJumpDiffusion, spot, strike, time_to_maturity, call=True, variance=None, *, barrier=None,
      monitoring_interval=None, fields=None) -> Greeks:
    chosen = check_fields(fields)
    if barrier is not None:
        raise _no_barrier(model)
    return keep(merton.greeks(
        spot, strike, time_to_maturity, model.volatility, model.jump_intensity, model.jump_mean, model.jump_std,
        model.rate, model.dividend, call,
    ), chosen)


@model_greeks.register
def _(model: SABR, spot, strike, time_to_maturity, call=True, variance=None, *, barrier=None,
      monitoring_interval=None, fields=None) -> Greeks:
    chosen = check_fields(fields)
    if barrier is not None:
        raise _no_barrier(model)
    alpha = model.alpha if variance is None else np.sqrt(variance)
    parameters = (alpha, model.beta, model.vol_of_vol, model.correlation, model.rate, model.dividend, call)
    if chosen == {"price"}:
        return _price_only(sabr.price(spot, strike, time_to_maturity, *parameters))
    return keep(sabr.greeks(spot, strike, time_to_maturity, *parameters), chosen)
