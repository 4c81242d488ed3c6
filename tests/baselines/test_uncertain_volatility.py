"""Robust (uncertain-volatility) hedgers: their limits are Black–Scholes hedges, and they super-replicate."""

from __future__ import annotations

import numpy as np
import pytest

from hedgegym.baselines import DeltaHedger, GreekNeutralHedger
from hedgegym.baselines.uncertain_volatility import (
    RobustDeltaGammaHedger,
    UncertainVolatilityDeltaHedger,
    book_worst_case,
)
from hedgegym.config import parse_config
from hedgegym.env.core import HedgingCore
from hedgegym.evaluation import evaluate
from hedgegym.evaluation.metrics import cvar
from hedgegym.instruments import black_scholes_pricer
from hedgegym.market import RegimeSwitchingVolatility
from hedgegym.pricing import black_scholes as bs

GBM = {"model": "gbm", "spot": 100.0, "volatility": 0.2, "mu": 0.05, "rate": 0.02}
BUTTERFLY = [{"strike": 90.0, "maturity": 0.25, "call": True, "quantity": -10},
             {"strike": 100.0, "maturity": 0.25, "call": True, "quantity": 20},
             {"strike": 110.0, "maturity": 0.25, "call": True, "quantity": -10}]


def config(market=GBM, book=None, n_steps=20, hedge_options=None):
    return parse_config({
        "market": market,
        "book": book or [{"strike": 100.0, "maturity": 0.25, "call": True, "quantity": -10}],
        "simulation": {"n_steps": n_steps},
        "hedging": {"hedge_options": hedge_options or []},
    })


def engine_at_step(cfg, step: int, n_paths: int = 500, seed: int = 5):
    core = HedgingCore(cfg, n_envs=n_paths)
    model = cfg.market.build()
    paths = model.simulate(n_paths, cfg.simulation.n_steps, cfg.horizon / cfg.simulation.n_steps,
                           np.random.default_rng(seed))
    engine = core.engine
    engine.reset(np.ascontiguousarray(paths.spot.T), np.ascontiguousarray(paths.variance.T))
    for _ in range(step):
        engine.step(engine.positions)
    return engine


def test_uvm_delta_of_a_short_call_is_black_scholes_delta_at_the_top_of_the_band():
    """The call is convex: its seller's worst case is σ_max everywhere, so the UVM Δ is BS Δ(σ_max)."""
    engine = engine_at_step(config(), step=7)
    hedger = UncertainVolatilityDeltaHedger(0.15, 0.30, n_space=400, n_time=400)
    hedger.reset(engine)
    expected = 10 * 100 * bs.delta(engine.spot, 100.0, engine.time_to_maturity, 0.30, 0.02, 0.0, True)
    near = np.abs(np.log(engine.spot / 100.0)) < 0.3
    np.testing.assert_allclose(hedger.targets(engine)[near, 0], expected[near], rtol=2e-3, atol=0.5)


def test_robust_delta_gamma_with_a_point_band_is_the_black_scholes_delta_gamma_hedge():
    listed = [{"strike": 105.0, "maturity": 0.5, "call": True}]
    engine = engine_at_step(config(hedge_options=listed), step=5)
    robust = RobustDeltaGammaHedger(0.2, 0.2, hedge_volatility=0.2, n_space=400, n_time=400)
    robust.reset(engine)
    near = np.abs(np.log(engine.spot / 100.0)) < 0.25
    # the engine's Greeks under GBM are closed-form Black–Scholes at 20%
    classical = GreekNeutralHedger(("delta", "gamma")).targets(engine)
    np.testing.assert_allclose(robust.targets(engine)[near], classical[near], rtol=5e-3, atol=0.5)


def test_robust_delta_gamma_needs_a_listed_option():
    engine = engine_at_step(config(), step=0)
    with pytest.raises(ValueError, match="hedge_options"):
        RobustDeltaGammaHedger(0.15, 0.3, hedge_volatility=0.2).reset(engine)


def test_band_and_book_errors_name_the_problem():
    with pytest.raises(ValueError, match="volatility_min"):
        UncertainVolatilityDeltaHedger(0.3, 0.2)
    with pytest.raises(ValueError, match="hedge_volatility"):
        RobustDeltaGammaHedger(0.1, 0.2, hedge_volatility=0.0)
    from hedgegym.instruments import Book, EuropeanOption, Position  # the config refuses such a book at load time

    book = Book((Position(EuropeanOption(100.0, 0.25), -1.0), Position(EuropeanOption(100.0, 0.5), -1.0)))
    with pytest.raises(ValueError, match="one maturity"):
        book_worst_case(book, 0.02, 0.0, 0.1, 0.2)


def test_uvm_hedge_of_a_short_butterfly_survives_an_adversarial_volatility():
    """Short butterfly in a market whose volatility is chosen, inside [15%, 30%], to hurt a Black–Scholes (20%)
    delta hedger: σ_max where the long butterfly's BS Γ > 0, σ_min where it is < 0. Charged the UVM ask, the UVM
    hedge (Avellaneda–Levy–Parás) must not lose on average and its 1% CVaR must beat the BS-delta hedge's."""
    low, high, n_steps = 0.15, 0.30, 126
    legs = [(-q["quantity"], q["strike"]) for q in BUTTERFLY]  # the long butterfly the adversary inflates

    def adversary(time, spot):
        tau = max(0.25 - time, 1e-6)
        gamma = sum(q * bs.gamma(spot, k, tau, 0.2, 0.02, 0.0, True) for q, k in legs)
        return np.where(gamma > 0, high, low)

    market = {"model": "regime_switching", "spot": 100.0, "volatility_min": low, "volatility_max": high,
              "mu": 0.02, "rate": 0.02}
    cfg = config(market=market, book=BUTTERFLY, n_steps=n_steps)
    model = RegimeSwitchingVolatility(spot=100.0, volatility_min=low, volatility_max=high, mu=0.02, rate=0.02,
                                      volatility_rule=adversary)
    paths = model.simulate(4000, n_steps, 0.25 / n_steps, np.random.default_rng(11))
    uvm = evaluate(UncertainVolatilityDeltaHedger(low, high), cfg, paths=paths)
    delta = evaluate(DeltaHedger(volatility=0.2), cfg, paths=paths)
    # The engine credits the market's own (proxy) premium, BS at the first node's σ = σ_min. Re-base each hedger
    # on the premium its own model charges: the UVM ask, and BS at 20%; then the UVM hedge must not lose on
    # average while the BS hedge does. Both re-based on the same premium, the UVM tail must be the thinner one.
    book = cfg.build_book()
    spot = np.full(1, 100.0)
    growth = np.exp(0.02 * 0.25)
    credited = float(book.greeks(spot, 0.0, black_scholes_pricer(low, 0.02, 0.0)).price[0])
    uvm_ask = -float(book_worst_case(book, 0.02, 0.0, low, high).price(spot)[0])
    bs_premium = -float(book.greeks(spot, 0.0, black_scholes_pricer(0.2, 0.02, 0.0)).price[0])
    uvm_pnl = uvm.per_path["pnl"].to_numpy() + (uvm_ask + credited) * growth
    delta_pnl = delta.per_path["pnl"].to_numpy() + (bs_premium + credited) * growth
    assert uvm_ask > bs_premium
    assert uvm_pnl.mean() > 0.0
    assert delta_pnl.mean() < 0.0
    assert cvar(uvm_pnl, 0.99) < cvar(delta_pnl + (uvm_ask - bs_premium) * growth, 0.99)


def test_uvm_delta_of_a_down_and_out_book_matches_the_barrier_formula_and_stops_after_knock_out():
    """With σ_min = σ_max the worst case is the down-and-out call itself (QuantLib-checked closed form, continuous
    barrier); a path knocked out earlier holds no hedge even if the spot came back above the barrier."""
    from hedgegym.pricing import barrier

    book = [{"strike": 100.0, "maturity": 0.25, "call": True, "quantity": -10, "barrier": 90.0}]
    engine = engine_at_step(config(book=book, n_steps=40), step=10, n_paths=2000)
    hedger = UncertainVolatilityDeltaHedger(0.2, 0.2, n_space=400, n_time=400)
    hedger.reset(engine)
    targets = hedger.targets(engine)[:, 0]
    alive = engine.alive_path[0][engine.step_index]
    assert (~alive).any() and alive.any()
    np.testing.assert_array_equal(targets[~alive], 0.0)
    closed = 1000 * barrier.greeks(engine.spot, 100.0, engine.time_to_maturity, 0.2, 0.02, 0.0, True,
                                   barrier=90.0).delta
    near = alive & (engine.spot > 93.0) & (engine.spot < 120.0)
    np.testing.assert_allclose(targets[near], closed[near], rtol=5e-3, atol=0.5)
    with pytest.raises(ValueError, match="barrier"):
        book_worst_case(config(book=[*book, {"strike": 110.0, "maturity": 0.25, "quantity": 10}]).build_book(),
                        0.02, 0.0, 0.1, 0.2)
