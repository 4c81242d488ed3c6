"""European options, positions and books: payoffs by hand, aggregated Greeks, validation."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from hedgegym.instruments import Book, EuropeanOption, Position, Pricer, black_scholes_pricer
from hedgegym.pricing import black_scholes as bs
from hedgegym.pricing.greeks import Greeks

SPOT = np.array([80.0, 95.0, 100.0, 105.0, 130.0])


# --- EuropeanOption ---------------------------------------------------------------------------------------------


def test_call_payoff_by_hand():
    option = EuropeanOption(strike=100.0, maturity=1.0, call=True, multiplier=1.0)
    # max(S − 100, 0) at 80, 95, 100, 105, 130 → 0, 0, 0, 5, 30
    np.testing.assert_array_equal(option.payoff(SPOT), [0.0, 0.0, 0.0, 5.0, 30.0])


def test_put_payoff_by_hand():
    option = EuropeanOption(strike=100.0, maturity=1.0, call=False, multiplier=1.0)
    # max(100 − S, 0) → 20, 5, 0, 0, 0
    np.testing.assert_array_equal(option.payoff(SPOT), [20.0, 5.0, 0.0, 0.0, 0.0])


def test_multiplier_scales_payoff_and_defaults_to_100():
    option = EuropeanOption(strike=100.0, maturity=0.5)
    assert option.multiplier == 100.0 and option.call is True
    # 100 × max(S − 100, 0) → 0, 0, 0, 500, 3000
    np.testing.assert_array_equal(option.payoff(SPOT), [0.0, 0.0, 0.0, 500.0, 3000.0])


def test_payoff_keeps_shape_and_accepts_scalars():
    option = EuropeanOption(strike=50.0, maturity=1.0, call=False, multiplier=10.0)
    assert float(option.payoff(40.0)) == 100.0  # 10 × (50 − 40)
    assert option.payoff(np.ones((3, 4)) * 60.0).shape == (3, 4)


def test_time_to_maturity_is_clipped_at_zero():
    option = EuropeanOption(strike=100.0, maturity=0.5)
    np.testing.assert_allclose(option.time_to_maturity(np.array([0.0, 0.25, 0.5, 0.75])), [0.5, 0.25, 0.0, 0.0])
    assert float(option.time_to_maturity(0.1)) == pytest.approx(0.4)


def test_option_fields_are_normalised_and_frozen():
    option = EuropeanOption(strike=np.float64(100), maturity=1, call=np.bool_(False), multiplier=50)
    assert isinstance(option.strike, float) and isinstance(option.maturity, float)
    assert option.call is False and option.omega == -1.0
    with pytest.raises(AttributeError):
        option.strike = 90.0  # type: ignore[misc]
    assert option == EuropeanOption(100.0, 1.0, False, 50.0)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"strike": 0.0}, "strike"),
        ({"strike": -5.0}, "strike"),
        ({"strike": float("nan")}, "strike"),
        ({"strike": [100.0, 110.0]}, "strike"),
        ({"strike": True}, "strike"),
        ({"maturity": -1.0}, "maturity"),
        ({"maturity": 0.0}, "maturity"),
        ({"multiplier": 0.0}, "multiplier"),
        ({"multiplier": float("inf")}, "multiplier"),
        ({"call": "c"}, "call"),
        ({"call": 1}, "call"),
    ],
)
def test_option_validation_names_the_field(kwargs, field):
    arguments = {"strike": 100.0, "maturity": 1.0, "call": True, "multiplier": 100.0, **kwargs}
    with pytest.raises(ValueError, match=field):
        EuropeanOption(**arguments)


def test_payoff_and_time_validation():
    option = EuropeanOption(100.0, 1.0)
    with pytest.raises(ValueError, match="spot"):
        option.payoff(np.array([100.0, np.nan]))
    with pytest.raises(ValueError, match="time"):
        option.time_to_maturity(-0.1)


# --- Pricer -------------------------------------------------------------------------------------------------------


def test_black_scholes_pricer_matches_black_scholes_greeks():
    pricer = black_scholes_pricer(volatility=0.2, rate=0.03, dividend=0.01)
    assert isinstance(pricer, Pricer)
    got = pricer(SPOT, 100.0, 0.5, False)
    expected = bs.greeks(SPOT, 100.0, 0.5, 0.2, 0.03, 0.01, call=False)
    for name in Greeks._fields:
        np.testing.assert_array_equal(getattr(got, name), getattr(expected, name))


def test_black_scholes_pricer_accepts_per_path_volatility():
    volatility = np.array([0.1, 0.2, 0.3, 0.4, 0.5])
    got = black_scholes_pricer(volatility)(SPOT, 100.0, 1.0, True)
    np.testing.assert_array_equal(got.delta, bs.delta(SPOT, 100.0, 1.0, volatility))


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [({"volatility": -0.1}, "volatility"), ({"volatility": 0.2, "rate": np.nan}, "rate"),
     ({"volatility": 0.2, "dividend": np.inf}, "dividend")],
)
def test_black_scholes_pricer_validation(kwargs, name):
    with pytest.raises(ValueError, match=name):
        black_scholes_pricer(**kwargs)


def test_option_greeks_are_per_contract():
    option = EuropeanOption(100.0, 1.0, call=True, multiplier=100.0)
    got = option.greeks(SPOT, 0.25, black_scholes_pricer(0.2))
    expected = bs.greeks(SPOT, 100.0, 0.75, 0.2)
    for name in Greeks._fields:
        np.testing.assert_allclose(getattr(got, name), 100.0 * getattr(expected, name), rtol=1e-15)


# --- Position and Book --------------------------------------------------------------------------------------------


def test_short_ten_calls_greeks_are_minus_1000_times_black_scholes():
    book = Book.short_call(strike=100.0, maturity=1.0, contracts=10)
    pricer = black_scholes_pricer(0.25, rate=0.02)
    got = book.greeks(SPOT, 0.5, pricer)
    expected = bs.greeks(SPOT, 100.0, 0.5, 0.25, 0.02)
    for name in Greeks._fields:
        value = getattr(got, name)
        assert value.shape == (5,)
        np.testing.assert_allclose(value, -10 * 100 * getattr(expected, name), rtol=1e-14, atol=1e-12)
    # holder's sign: a short call has negative value, delta and gamma, and positive theta (with q = 0 a long
    # call's theta −S·n(d1)·σ/(2√τ) − r·K·e^(−rτ)·N(d2) is negative)
    assert np.all(got.price < 0) and np.all(got.delta < 0) and np.all(got.gamma < 0) and np.all(got.theta > 0)


def test_short_call_at_the_money_by_hand():
    # S = K = 100, σ = 0.2, τ = 1, r = q = 0: d1 = σ√τ/2 = 0.1, d2 = −0.1
    # call price = 100·(N(0.1) − N(−0.1)) = 100·(2·0.5398278372770290 − 1) = 7.965567455405798
    # delta = N(0.1) = 0.5398278372770290; gamma = n(0.1)/(100·0.2) = 0.3969525474770118/20 = 0.01984762737385059
    # vega = 100·n(0.1)·1 = 39.69525474770118; theta = −100·n(0.1)·0.2/2 = −3.969525474770118
    # book: short 3 contracts × 100 → factor −300
    book = Book.short_call(100.0, 1.0, contracts=3)
    got = book.greeks(np.array([100.0]), 0.0, black_scholes_pricer(0.2))
    np.testing.assert_allclose(got.price, [-300 * 7.965567455405798], rtol=1e-12)
    np.testing.assert_allclose(got.delta, [-300 * 0.5398278372770290], rtol=1e-12)
    np.testing.assert_allclose(got.gamma, [-300 * 0.01984762737385059], rtol=1e-12)
    np.testing.assert_allclose(got.vega, [-300 * 39.69525474770118], rtol=1e-12)
    np.testing.assert_allclose(got.theta, [300 * 3.969525474770118], rtol=1e-12)


def test_short_straddle_delta_is_minus_100_times_call_plus_put_delta():
    book = Book.short_straddle(strike=100.0, maturity=1.0)
    pricer = black_scholes_pricer(0.2, rate=0.01, dividend=0.02)
    got = book.greeks(SPOT, 0.0, pricer)
    call = bs.greeks(SPOT, 100.0, 1.0, 0.2, 0.01, 0.02, call=True)
    put = bs.greeks(SPOT, 100.0, 1.0, 0.2, 0.01, 0.02, call=False)
    np.testing.assert_allclose(got.delta, -100 * (call.delta + put.delta), rtol=1e-13, atol=1e-12)
    np.testing.assert_allclose(got.gamma, -100 * 2 * call.gamma, rtol=1e-13)  # call and put share Γ and vega
    np.testing.assert_allclose(got.vega, -100 * 2 * call.vega, rtol=1e-13)
    np.testing.assert_allclose(got.price, -100 * (call.price + put.price), rtol=1e-13)


def test_short_straddle_at_the_money_forward_by_hand():
    # r = q = 0, S = K: Δcall = N(d1), Δput = N(d1) − 1 → straddle delta per unit = 2·N(0.1) − 1 = 0.07965567455405798
    # (σ = 0.2, τ = 1); short 2 contracts × 100: −200 × 0.07965567455405798 = −15.931134910811595
    book = Book.short_straddle(100.0, 1.0, contracts=2)
    got = book.greeks(np.array([100.0]), 0.0, black_scholes_pricer(0.2))
    np.testing.assert_allclose(got.delta, [-15.931134910811595], rtol=1e-12)
    # value: call = put = 7.965567455405798 (parity with F = K) → −200 × 2 × 7.965567455405798 = −3186.226982162319
    np.testing.assert_allclose(got.price, [-3186.226982162319], rtol=1e-12)


def test_mixed_book_aggregates_positions_with_their_own_maturities():
    # long 2 puts (K=90, T=0.5, multiplier 100) and short 1 call (K=110, T=1.0, multiplier 10); at t=0.25
    put = EuropeanOption(90.0, 0.5, call=False, multiplier=100.0)
    call = EuropeanOption(110.0, 1.0, call=True, multiplier=10.0)
    book = Book([Position(put, 2.0), Position(call, -1.0)])
    pricer = black_scholes_pricer(0.3)
    got = book.greeks(SPOT, 0.25, pricer)
    put_greeks = bs.greeks(SPOT, 90.0, 0.25, 0.3, call=False)
    call_greeks = bs.greeks(SPOT, 110.0, 0.75, 0.3, call=True)
    for name in Greeks._fields:
        expected = 200.0 * getattr(put_greeks, name) - 10.0 * getattr(call_greeks, name)
        np.testing.assert_allclose(getattr(got, name), expected, rtol=1e-13, atol=1e-10)
    assert book.maturity == 1.0
    assert book.options == (put, call)
    assert isinstance(book.positions, tuple)


def test_book_past_a_maturity_values_that_position_at_intrinsic():
    # at t = 0.75 the put (T = 0.5) has expired: intrinsic 2 × 100 × max(90 − S, 0); at S = 80 that is 2000
    put = EuropeanOption(90.0, 0.5, call=False)
    book = Book.single(put, 2.0)
    got = book.greeks(np.array([80.0, 100.0]), 0.75, black_scholes_pricer(0.3))
    np.testing.assert_allclose(got.price, [2000.0, 0.0])
    np.testing.assert_allclose(got.delta, [-200.0, 0.0])


def test_book_greeks_accept_per_path_state_bound_with_partial():
    # the generic-protocol route later used for Heston: bind per-path state with functools.partial
    volatility = np.array([0.1, 0.2, 0.3, 0.4, 0.5])

    def per_path_pricer(spot, strike, time_to_maturity, call, *, volatility):
        return bs.greeks(spot, strike, time_to_maturity, volatility, call=call)

    book = Book.short_call(100.0, 1.0)
    got = book.greeks(SPOT, 0.0, functools.partial(per_path_pricer, volatility=volatility))
    np.testing.assert_allclose(got.vega, -100.0 * bs.vega(SPOT, 100.0, 1.0, volatility))


def test_book_payoff_by_hand():
    # short straddle, K = 100, 1 contract × 100: −100 × |S − 100| → −2000, −500, 0, −500, −3000
    book = Book.short_straddle(100.0, 1.0)
    np.testing.assert_array_equal(book.payoff(SPOT), [-2000.0, -500.0, 0.0, -500.0, -3000.0])
    # short 10 calls: −1000 × max(S − 100, 0) → 0, 0, 0, −5000, −30000
    np.testing.assert_array_equal(Book.short_call(100.0, 1.0, 10).payoff(SPOT), [0, 0, 0, -5000.0, -30000.0])


def test_book_greeks_shape_follows_spot_and_time():
    book = Book.short_call(100.0, 1.0)
    pricer = black_scholes_pricer(0.2)
    assert book.greeks(SPOT, 0.5, pricer).delta.shape == (5,)
    assert book.greeks(SPOT, np.full(5, 0.5), pricer).theta.shape == (5,)


@pytest.mark.parametrize(
    ("build", "name"),
    [
        (lambda: Book(()), "positions"),
        (lambda: Book([]), "positions"),
        (lambda: Book((EuropeanOption(100.0, 1.0),)), "positions"),
        (lambda: Book(None), "positions"),
        (lambda: Position("call", 1.0), "option"),
        (lambda: Position(EuropeanOption(100.0, 1.0), np.nan), "quantity"),
        (lambda: Book.short_call(100.0, 1.0, contracts=0), "contracts"),
        (lambda: Book.short_straddle(100.0, 1.0, contracts=-1), "contracts"),
        (lambda: Book.short_call(0.0, 1.0), "strike"),
        (lambda: Book.short_straddle(100.0, 1.0, multiplier=0.0), "multiplier"),
    ],
)
def test_book_validation_names_the_argument(build, name):
    with pytest.raises(ValueError, match=name):
        build()


def test_book_greeks_reject_bad_spot():
    with pytest.raises(ValueError, match="spot"):
        Book.short_call(100.0, 1.0).greeks(np.array([100.0, -1.0]), 0.0, black_scholes_pricer(0.2))
