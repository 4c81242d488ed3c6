"""HedgingEngine: accounting against an independent formula, the √δt law of discrete delta hedging, costs."""

from __future__ import annotations

import numpy as np
import pytest

from hedgegym.costs import ProportionalCost
from hedgegym.engine import HedgingEngine
from hedgegym.instruments import Book, EuropeanOption
from hedgegym.market import GeometricBrownianMotion, Heston, MertonJumpDiffusion
from hedgegym.pricing import black_scholes

GBM = GeometricBrownianMotion(spot=100.0, volatility=0.2, mu=0.08, rate=0.03, dividend=0.0)
BOOK = Book.short_call(100.0, 0.25, contracts=10)


def run_delta_hedge(model, book, n_steps, n_paths, seed, costs=None, liquidate=False, hedge_options=()):
    engine = HedgingEngine(model, book, n_steps, hedge_options=hedge_options, costs=costs,
                           liquidate_at_maturity=liquidate)
    paths = model.simulate(n_paths, n_steps, engine.dt, np.random.default_rng(seed))
    engine.reset(paths.spot.T, paths.variance.T)
    outcomes = []
    while not engine.done:
        targets = np.zeros((n_paths, engine.n_instruments))
        targets[:, 0] = -engine.book_greeks.delta
        outcomes.append(engine.step(targets))
    return engine, paths, outcomes


def test_terminal_wealth_matches_an_independent_replication_formula():
    n_steps = 20
    engine, paths, outcomes = run_delta_hedge(GBM, BOOK, n_steps, 500, seed=1)
    r, dt, T = GBM.rate, engine.dt, engine.maturity
    spot = paths.spot
    deltas = -10 * 100 * black_scholes.delta(spot[:, :-1], 100.0, T - paths.time[:-1], 0.2, r)  # holder's delta
    shares = -deltas
    premium = 10 * 100 * black_scholes.price(100.0, 100.0, T, 0.2, r)
    grow = np.exp(r * (T - paths.time[1:]))
    gains = np.sum(shares * (spot[:, 1:] - spot[:, :-1] * np.exp(r * dt)) * grow, axis=1)
    expected = premium * np.exp(r * T) + gains - 10 * 100 * np.maximum(spot[:, -1] - 100.0, 0.0)
    np.testing.assert_allclose(engine.wealth, expected, rtol=1e-10, atol=1e-8)
    np.testing.assert_allclose(np.sum([o.pnl for o in outcomes], axis=0), engine.wealth, rtol=1e-12, atol=1e-9)
    # the P&L decomposition adds up at every step
    for o in outcomes:
        np.testing.assert_allclose(o.book_pnl + o.hedge_pnl - o.cost, o.pnl, atol=1e-9)


def test_discrete_delta_hedging_error_shrinks_like_root_dt():
    steps = np.array([8, 32, 128])
    errors = [np.std(run_delta_hedge(GBM, BOOK, n, 20_000, seed=n)[0].wealth) for n in steps]
    slope = np.polyfit(np.log(1.0 / steps), np.log(errors), 1)[0]
    assert slope == pytest.approx(0.5, abs=0.05)


def test_proportional_costs_are_charged_on_every_trade_and_on_liquidation():
    costs = ProportionalCost(0.01)
    engine, _paths, outcomes = run_delta_hedge(GBM, BOOK, 10, 200, seed=3, costs=costs, liquidate=True)
    first = outcomes[0]
    np.testing.assert_allclose(first.cost, 0.01 * np.abs(first.trades[:, 0]) * 100.0)
    assert np.all(engine.positions == 0.0)
    free, _, _ = run_delta_hedge(GBM, BOOK, 10, 200, seed=3, liquidate=True)
    total_cost = np.sum([o.cost for o in outcomes], axis=0)
    assert np.all(total_cost > 0)
    # the same paths and trades: costs (which earn no interest after they are paid) only lower the P&L
    assert np.all(engine.wealth < free.wealth)
    assert np.all(free.wealth - engine.wealth >= total_cost * 0.999)


def test_option_hedge_instrument_is_priced_per_contract():
    hedge = EuropeanOption(105.0, 0.5, call=True, multiplier=100.0)
    engine = HedgingEngine(GBM, BOOK, 5, hedge_options=(hedge,))
    paths = GBM.simulate(3, 5, engine.dt, np.random.default_rng(0))
    engine.reset(paths.spot.T, paths.variance.T)
    per_unit = black_scholes.greeks(paths.spot[:, 0], 105.0, 0.5, 0.2, 0.03)
    np.testing.assert_allclose(engine.instrument_greeks.price[:, 1], 100.0 * per_unit.price)
    np.testing.assert_allclose(engine.instrument_greeks.gamma[:, 1], 100.0 * per_unit.gamma)
    np.testing.assert_array_equal(engine.instrument_greeks.delta[:, 0], 1.0)


@pytest.mark.parametrize("model", [GBM, Heston(), MertonJumpDiffusion(jump_intensity=3.0)], ids=type)
def test_extreme_paths_give_finite_accounting(model):
    n_steps = 10
    engine = HedgingEngine(model, Book.short_straddle(100.0, 0.01, contracts=5), n_steps)
    paths = model.simulate(4, n_steps, engine.dt, np.random.default_rng(0))
    spot = paths.spot.T.copy()
    spot[5:, 0] *= 0.2  # flash crash
    spot[5:, 1] *= 5.0  # melt-up
    engine.reset(spot, paths.variance.T)
    while not engine.done:
        outcome = engine.step(np.stack([-engine.book_greeks.delta], axis=1))
        assert all(np.all(np.isfinite(x)) for x in outcome[:4])


def test_bad_targets_and_bad_books_are_refused():
    engine = HedgingEngine(GBM, BOOK, 4)
    with pytest.raises(RuntimeError, match="reset"):
        engine.step(np.zeros((1, 1)))
    paths = GBM.simulate(2, 4, engine.dt, np.random.default_rng(0))
    engine.reset(paths.spot.T, paths.variance.T)
    with pytest.raises(ValueError, match="finite"):
        engine.step(np.array([[np.nan], [0.0]]))
    with pytest.raises(ValueError, match="shape"):
        engine.step(np.zeros((3, 1)))
    mixed = Book((*Book.short_call(100.0, 0.3).positions, *Book.short_call(100.0, 0.5).positions))
    with pytest.raises(ValueError, match=r"positions\[0\] expires at T = 0.3, between two rebalancing dates"):
        HedgingEngine(GBM, mixed, 4)
    with pytest.raises(ValueError, match="hedge_options"):
        HedgingEngine(GBM, BOOK, 4, hedge_options=(EuropeanOption(100.0, 0.1),))
