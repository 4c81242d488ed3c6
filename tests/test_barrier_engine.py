"""HedgingEngine with a short down-and-out call: knock-out at the nodes, the accounting identity, refusals."""

from __future__ import annotations

import numpy as np
import pytest

from hedgegym.baselines import DeltaHedger
from hedgegym.engine import HedgingEngine
from hedgegym.instruments import Book, EuropeanOption, Position, black_scholes_pricer
from hedgegym.market import GeometricBrownianMotion, Heston, RegimeSwitchingVolatility
from hedgegym.pricing import barrier, black_scholes

GBM = GeometricBrownianMotion(spot=100.0, volatility=0.2, mu=0.08, rate=0.03, dividend=0.01)
SHORT_DOC = Book.single(EuropeanOption(100.0, 0.25, call=True, barrier=90.0), -10.0)  # holder: −1000 × per unit

# time-major (n_steps + 1 = 6 nodes, 3 paths): alive throughout; knocked out at node 2 then recovers far above
# the strike; knocked out by touching the barrier exactly (S = B) at node 3
HAND_PATHS = np.array([
    [100.0, 100.0, 100.0],
    [104.0, 95.0, 96.0],
    [98.0, 89.0, 93.0],
    [103.0, 95.0, 90.0],
    [107.0, 105.0, 120.0],
    [112.0, 115.0, 120.0],
])
KNOCK_OUT_NODE = [None, 2, 3]


def hand_engine(book: Book = SHORT_DOC, **kwargs) -> HedgingEngine:
    engine = HedgingEngine(GBM, book, 5, **kwargs)
    engine.reset(HAND_PATHS, np.full_like(HAND_PATHS, 0.04))
    return engine


def closed_form(spot, tau, dt, volatility=0.2):
    return barrier.greeks(spot, 100.0, tau, volatility, GBM.rate, GBM.dividend, barrier=90.0, monitoring_interval=dt)


def test_value_and_greeks_are_zero_from_the_knock_out_node_on():
    engine = hand_engine()
    tau = engine.maturity - engine.times[:, None]
    expected = closed_form(HAND_PATHS, tau, engine.dt)
    for path, node in enumerate(KNOCK_OUT_NODE):
        alive = slice(None) if node is None else slice(0, node)
        for name, field in zip(expected._fields, engine.book_path, strict=True):
            np.testing.assert_allclose(field[alive, path], -1000.0 * getattr(expected, name)[alive, path],
                                       rtol=1e-13, err_msg=f"{name}, path {path}")
            if node is not None:
                np.testing.assert_array_equal(field[node:, path], 0.0, err_msg=f"{name}, path {path}")
    np.testing.assert_array_equal(engine.alive_path[0][:, 1], [True, True, False, False, False, False])


def test_terminal_value_is_the_call_payoff_on_alive_paths_and_zero_on_knocked_out_ones():
    engine = hand_engine()
    # path 0: −10 × 100 × (112 − 100); paths 1 and 2 end at 115 and 120 but were knocked out
    np.testing.assert_array_equal(engine.book_path.price[-1], [-12_000.0, 0.0, 0.0])


def test_the_step_p_and_l_carries_the_knock_out():
    engine = hand_engine()
    outcomes = [engine.step(np.zeros((3, 1))) for _ in range(5)]
    book_pnl = np.array([o.book_pnl for o in outcomes])
    # unhedged short: the writer keeps the premium (grown at r) when the option dies, pays the payoff otherwise
    premium = -engine.book_path.price[0]
    np.testing.assert_allclose(engine.wealth, premium * engine.cash_growth**5 + [-12_000.0, 0.0, 0.0], rtol=1e-12)
    np.testing.assert_allclose(book_pnl[1, 1], -engine.book_path.price[1, 1])  # the liability vanishes at node 2


def test_vanilla_positions_in_the_same_book_are_not_knocked_out():
    put = EuropeanOption(95.0, 0.25, call=False)
    book = Book((*SHORT_DOC.positions, Position(put, -5.0)))
    engine = hand_engine(book)
    tau = engine.maturity - engine.times[:, None]
    put_value = -500.0 * black_scholes.price(HAND_PATHS, 95.0, tau, 0.2, GBM.rate, GBM.dividend, call=False)
    np.testing.assert_allclose(engine.book_path.price[3:, 2], put_value[3:, 2], rtol=1e-13)
    assert engine.alive_path[1] is None


def test_delta_hedged_terminal_wealth_matches_an_independent_replication_formula():
    """The identity of tests/test_engine.py, with the knocked-out paths' delta and payoff set to zero."""
    n_steps, n_paths = 20, 2_000
    model = GeometricBrownianMotion(spot=100.0, volatility=0.3, mu=0.05, rate=0.03, dividend=0.01)
    book = Book.single(EuropeanOption(100.0, 0.25, barrier=93.0), -10.0)
    engine = HedgingEngine(model, book, n_steps)
    paths = model.simulate(n_paths, n_steps, engine.dt, np.random.default_rng(5))
    engine.reset(paths.spot.T, paths.variance.T)
    outcomes = []
    while not engine.done:
        outcomes.append(engine.step(-engine.book_greeks.delta[:, None]))

    r, q, dt, maturity = model.rate, model.dividend, engine.dt, engine.maturity
    spot = paths.spot  # (N, n_steps + 1)
    alive = np.minimum.accumulate(spot, axis=1) > 93.0
    assert 0.2 < 1.0 - alive[:, -1].mean() < 0.8  # both kinds of path are well represented
    per_unit = barrier.greeks(spot[:, :-1], 100.0, maturity - paths.time[:-1], 0.3, r, q, barrier=93.0,
                              monitoring_interval=dt)
    shares = -(-1000.0 * per_unit.delta * alive[:, :-1])
    premium = 1000.0 * float(barrier.price(100.0, 100.0, maturity, 0.3, r, q, barrier=93.0, monitoring_interval=dt))
    grow = np.exp(r * (maturity - paths.time[1:]))
    dividends = shares * spot[:, :-1] * np.expm1(q * dt) * grow
    gains = np.sum(shares * (spot[:, 1:] - spot[:, :-1] * np.exp(r * dt)) * grow + dividends, axis=1)
    payoff = 1000.0 * np.maximum(spot[:, -1] - 100.0, 0.0) * alive[:, -1]
    expected = premium * np.exp(r * maturity) + gains - payoff
    np.testing.assert_allclose(engine.wealth, expected, rtol=1e-10, atol=1e-7)
    np.testing.assert_allclose(np.sum([o.pnl for o in outcomes], axis=0), engine.wealth, rtol=1e-12, atol=1e-8)
    for o in outcomes:
        np.testing.assert_allclose(o.book_pnl + o.hedge_pnl - o.cost, o.pnl, atol=1e-8)


def test_regime_switching_marks_barrier_options_with_the_closed_form_at_root_variance():
    model = RegimeSwitchingVolatility(spot=100.0, volatility_min=0.15, volatility_max=0.3, rate=0.02)
    engine = HedgingEngine(model, SHORT_DOC, 10)
    paths = model.simulate(50, 10, engine.dt, np.random.default_rng(0))
    engine.reset(paths.spot.T, paths.variance.T)
    expected = barrier.price(paths.spot[:, 0], 100.0, 0.25, np.sqrt(paths.variance[:, 0]), 0.02, barrier=90.0,
                             monitoring_interval=engine.dt)
    np.testing.assert_allclose(engine.book_path.price[0], -1000.0 * expected, rtol=1e-13)


def test_book_greeks_under_another_pricer_honour_the_knock_out():
    engine = hand_engine()
    pricer = black_scholes_pricer(0.35, GBM.rate, GBM.dividend)
    for _ in range(3):
        engine.step(np.zeros((3, 1)))  # node 3: path 0 alive, paths 1 and 2 dead
    got = engine.book_greeks_under(pricer)
    expected = closed_form(HAND_PATHS[3, 0], engine.time_to_maturity, engine.dt, volatility=0.35)
    np.testing.assert_allclose(got.delta[0], -1000.0 * expected.delta, rtol=1e-13)
    np.testing.assert_array_equal(got.delta[1:], 0.0)
    # a fixed-volatility delta hedger holds no shares against a dead option
    targets = DeltaHedger(volatility=0.35).targets(engine)
    np.testing.assert_array_equal(targets[1:, 0], 0.0)
    assert targets[0, 0] == pytest.approx(1000.0 * float(expected.delta), rel=1e-13)


def test_book_greeks_under_a_pricer_is_book_greeks_for_a_vanilla_book():
    engine = HedgingEngine(GBM, Book.short_call(100.0, 0.25, 10), 5)
    engine.reset(HAND_PATHS, np.full_like(HAND_PATHS, 0.04))
    engine.step(np.zeros((3, 1)))
    pricer = black_scholes_pricer(0.3, GBM.rate, GBM.dividend)
    got, expected = engine.book_greeks_under(pricer), engine.book.greeks(engine.spot, engine.time, pricer)
    for a, b in zip(got, expected, strict=True):
        np.testing.assert_array_equal(a, b)
    assert engine.alive_path is None


def test_custom_valuation_receives_the_barrier_and_the_monitoring_interval():
    seen = []

    def valuation(spot, strike, tau, call, variance, barrier=None, monitoring_interval=None):
        seen.append((barrier, monitoring_interval))
        return black_scholes.greeks(spot, strike, tau, 0.2, call=call)

    HedgingEngine(Heston(), SHORT_DOC, 5, valuation=valuation).reset(HAND_PATHS, np.full_like(HAND_PATHS, 0.04))
    assert set(seen) == {(90.0, 0.05)}


def test_unsupported_barrier_setups_are_refused_with_a_clear_message():
    with pytest.raises(ValueError, match=r"gbm or regime_switching.*Heston"):
        HedgingEngine(Heston(), SHORT_DOC, 5)
    with pytest.raises(ValueError, match=r"barrier must be below the initial spot"):
        HedgingEngine(GBM, Book.single(EuropeanOption(100.0, 0.25, barrier=100.0), -1.0), 5)
    with pytest.raises(ValueError, match=r"hedge_options\[0\]\.barrier"):
        HedgingEngine(GBM, Book.short_call(100.0, 0.25), 5, hedge_options=(EuropeanOption(100.0, 0.5, barrier=80.0),))
