"""Black–Scholes–Merton against QuantLib, a 50-digit mpmath closed form, finite differences and properties."""

from __future__ import annotations

import itertools

import mpmath
import numpy as np
import pytest
import QuantLib as ql
from hypothesis import given, settings
from hypothesis import strategies as st

from hedgegym.pricing import black_scholes as bs
from tests.pricing.quantlib_oracle import black_scholes as quantlib_black_scholes

GREEK_NAMES = ("price", "delta", "gamma", "vega", "theta")


def random_parameter_sets(n: int, seed: int) -> dict[str, np.ndarray]:
    """Wide random grid: puts and calls, dividends, negative rates, 1 day to 10 years, deep ITM/OTM."""
    rng = np.random.default_rng(seed)
    spot = rng.uniform(10.0, 500.0, n)
    return {
        "spot": spot,
        "strike": spot * np.exp(rng.normal(0.0, 0.6, n)),  # |log-moneyness| up to ~2.5
        "days": rng.integers(1, 3651, n),
        "volatility": rng.uniform(0.01, 1.5, n),
        "rate": rng.uniform(-0.02, 0.10, n),
        "dividend": rng.uniform(0.0, 0.08, n),
        "call": rng.random(n) < 0.5,
    }


def natural_scale(name: str, spot: np.ndarray) -> np.ndarray:
    """The size of a Greek for an at-the-money option, to tell meaningful values from tail dust."""
    return {"price": spot, "delta": np.ones_like(spot), "gamma": 1.0 / spot, "vega": spot, "theta": spot}[name]


@pytest.fixture(scope="module")
def grid_and_quantlib():
    p = random_parameter_sets(10_000, seed=20261121)
    oracle = quantlib_black_scholes(
        p["spot"], p["strike"], p["days"], p["volatility"], p["rate"], p["dividend"], p["call"]
    )
    ours = bs.greeks(p["spot"], p["strike"], p["days"] / 365.0, p["volatility"], p["rate"], p["dividend"], p["call"])
    return p, oracle, ours


@pytest.mark.parametrize("name", GREEK_NAMES)
def test_matches_quantlib_on_10k_random_parameter_sets(grid_and_quantlib, name):
    p, oracle, ours = grid_and_quantlib
    expected, got = oracle[name], getattr(ours, name)
    # QuantLib's normal CDF loses relative accuracy in the far tails (its error reaches 1e-5 relative on
    # values ~1e-10 × spot, while ours matches a 50-digit closed form there, see the next test), so the 1e-9
    # relative comparison is made where |value| >= 1e-6 × the Greek's natural scale (~97% of the grid).
    resolvable = np.abs(expected) >= 1e-6 * natural_scale(name, p["spot"])
    assert resolvable.sum() > 9_600
    relative = np.abs(got[resolvable] - expected[resolvable]) / np.abs(expected[resolvable])
    assert relative.max() <= 1e-9, f"{name}: worst relative error {relative.max():.3e}"
    # everywhere else the absolute difference is tail dust
    assert np.all(np.abs(got - expected) <= 1e-12 * natural_scale(name, p["spot"]) + 1e-9 * np.abs(expected))


def mpmath_price_and_delta(spot, strike, tau, volatility, rate, dividend, call):
    mpmath.mp.dps = 50
    s, k, t, v, r, q = (mpmath.mpf(float(x)) for x in (spot, strike, tau, volatility, rate, dividend))
    d1 = (mpmath.log(s / k) + (r - q + v * v / 2) * t) / (v * mpmath.sqrt(t))
    d2 = d1 - v * mpmath.sqrt(t)
    w = 1 if call else -1
    value = w * (s * mpmath.exp(-q * t) * mpmath.ncdf(w * d1) - k * mpmath.exp(-r * t) * mpmath.ncdf(w * d2))
    return float(value), float(w * mpmath.exp(-q * t) * mpmath.ncdf(w * d1))


def test_far_tails_match_a_50_digit_closed_form(grid_and_quantlib):
    p, oracle, ours = grid_and_quantlib
    tail = np.flatnonzero((np.abs(oracle["price"]) < 1e-6 * p["spot"]) & (np.abs(oracle["price"]) > 1e-250))
    assert tail.size >= 50
    for i in tail[:200]:
        price, delta = mpmath_price_and_delta(
            p["spot"][i], p["strike"][i], p["days"][i] / 365.0, p["volatility"][i], p["rate"][i],
            p["dividend"][i], p["call"][i],
        )
        assert ours.price[i] == pytest.approx(price, rel=1e-9)
        assert ours.delta[i] == pytest.approx(delta, rel=1e-9)


@pytest.mark.parametrize("tau", [1e-6, 1e-4, 1.0 / 365.0 / 24.0])
def test_near_expiry_matches_quantlib_black_calculator(tau):
    rng = np.random.default_rng(7)
    for _ in range(200):
        spot, volatility = rng.uniform(50, 150), rng.uniform(0.05, 1.0)
        strike = spot * np.exp(rng.normal(0.0, 3.0 * volatility * np.sqrt(tau)))
        rate, dividend, call = rng.uniform(-0.01, 0.08), rng.uniform(0.0, 0.05), bool(rng.random() < 0.5)
        forward = spot * np.exp((rate - dividend) * tau)
        calculator = ql.BlackCalculator(
            ql.PlainVanillaPayoff(ql.Option.Call if call else ql.Option.Put, strike), forward,
            volatility * np.sqrt(tau), np.exp(-rate * tau),
        )
        g = bs.greeks(spot, strike, tau, volatility, rate, dividend, call)
        assert g.price == pytest.approx(calculator.value(), rel=1e-9, abs=1e-13 * spot)
        assert g.delta == pytest.approx(calculator.delta(spot), rel=1e-9, abs=1e-13)
        assert g.gamma == pytest.approx(calculator.gamma(spot), rel=1e-9, abs=1e-13 / spot)
        assert g.vega == pytest.approx(calculator.vega(tau), rel=1e-9, abs=1e-13 * spot)
        assert g.theta == pytest.approx(calculator.theta(spot, tau), rel=1e-8, abs=1e-9 * spot)


def test_limits_at_expiry_and_zero_volatility_are_the_intrinsic_values():
    spot = np.array([80.0, 100.0, 120.0])
    for call, omega in ((True, 1.0), (False, -1.0)):
        at_expiry = bs.greeks(spot, 100.0, 0.0, 0.3, 0.05, 0.02, call)
        np.testing.assert_array_equal(at_expiry.price, np.maximum(omega * (spot - 100.0), 0.0))
        np.testing.assert_array_equal(at_expiry.delta, omega * np.array([omega < 0, 0.5, omega > 0], dtype=float))
        np.testing.assert_array_equal(at_expiry.gamma, 0.0)
        np.testing.assert_array_equal(at_expiry.vega, 0.0)
        # zero volatility: discounted forward intrinsic value, Δ = e^{-qτ}·1[F > K]
        tau, rate, dividend = 0.5, 0.05, 0.01
        deterministic = bs.greeks(spot, 100.0, tau, 0.0, rate, dividend, call)
        forward_value = spot * np.exp(-dividend * tau) - 100.0 * np.exp(-rate * tau)
        np.testing.assert_allclose(deterministic.price, np.maximum(omega * forward_value, 0.0), rtol=1e-15)
        np.testing.assert_array_equal(deterministic.gamma, 0.0)
    # and the limits are approached continuously
    for tau in (1e-3, 1e-6, 1e-9):
        assert bs.price(120.0, 100.0, tau, 0.3) == pytest.approx(20.0, abs=1e-2)


def test_extreme_inputs_give_finite_values_without_warnings():
    spot = np.array([1e-6, 1.0, 100.0, 1e6])[:, None, None]
    tau = np.array([0.0, 1e-12, 1e-3, 1.0, 50.0])[None, :, None]
    volatility = np.array([0.0, 1e-8, 0.2, 5.0, 50.0])[None, None, :]
    for call in (True, False):
        g = bs.greeks(spot, 100.0, tau, volatility, 0.05, 0.03, call)
        for name, value in zip(GREEK_NAMES, g, strict=True):
            assert value.shape == (4, 5, 5)
            assert np.all(np.isfinite(value)), name
        assert np.all(g.price >= 0.0)


def finite_difference_greeks(spot, strike, tau, volatility, rate, dividend, call):
    h_d, h_s, h_v, h_t = 1e-5 * spot, 1e-4 * spot, 1e-5, 1e-6
    f = bs.price
    fd_delta = (f(spot + h_d, strike, tau, volatility, rate, dividend, call)
                - f(spot - h_d, strike, tau, volatility, rate, dividend, call)) / (2 * h_d)
    fd_gamma = (f(spot + h_s, strike, tau, volatility, rate, dividend, call)
                - 2 * f(spot, strike, tau, volatility, rate, dividend, call)
                + f(spot - h_s, strike, tau, volatility, rate, dividend, call)) / h_s**2
    fd_vega = (f(spot, strike, tau, volatility + h_v, rate, dividend, call)
               - f(spot, strike, tau, volatility - h_v, rate, dividend, call)) / (2 * h_v)
    fd_theta = -(f(spot, strike, tau + h_t, volatility, rate, dividend, call)
                 - f(spot, strike, tau - h_t, volatility, rate, dividend, call)) / (2 * h_t)
    return fd_delta, fd_gamma, fd_vega, fd_theta


def test_greeks_agree_with_finite_differences_on_a_product_grid():
    grid = itertools.product(
        [60.0, 90.0, 100.0, 110.0, 150.0], [0.05, 0.25, 1.0, 3.0], [0.1, 0.3, 0.8], [0.0, 0.05], [0.0, 0.03],
        [True, False],
    )
    spot, tau, volatility, rate, dividend, call = (np.array(column) for column in zip(*grid, strict=True))
    g = bs.greeks(spot, 100.0, tau, volatility, rate, dividend, call)
    fd_delta, fd_gamma, fd_vega, fd_theta = finite_difference_greeks(spot, 100.0, tau, volatility, rate, dividend, call)
    np.testing.assert_allclose(g.delta, fd_delta, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(g.gamma, fd_gamma, rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(g.vega, fd_vega, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(g.theta, fd_theta, rtol=1e-5, atol=1e-6)


def test_each_named_function_equals_the_matching_field_of_greeks():
    args = (np.array([90.0, 100.0, 110.0]), 100.0, 0.4, 0.25, 0.03, 0.01, np.array([True, False, True]))
    g = bs.greeks(*args)
    for name in GREEK_NAMES:
        np.testing.assert_array_equal(getattr(bs, name)(*args), getattr(g, name))


positive_spot = st.floats(1.0, 1_000.0)
maturities = st.floats(1e-4, 10.0)
volatilities = st.floats(1e-3, 3.0)
rates = st.floats(-0.05, 0.2)
dividends = st.floats(0.0, 0.1)


@settings(max_examples=300, deadline=None)
@given(positive_spot, st.floats(0.2, 5.0), maturities, volatilities, rates, dividends)
def test_put_call_parity(spot, moneyness, tau, volatility, rate, dividend):
    strike = spot * moneyness
    call = bs.price(spot, strike, tau, volatility, rate, dividend, True)
    put = bs.price(spot, strike, tau, volatility, rate, dividend, False)
    forward_value = spot * np.exp(-dividend * tau) - strike * np.exp(-rate * tau)
    assert call - put == pytest.approx(forward_value, abs=1e-10 * (spot + strike))
    delta_call = bs.delta(spot, strike, tau, volatility, rate, dividend, True)
    delta_put = bs.delta(spot, strike, tau, volatility, rate, dividend, False)
    assert delta_call - delta_put == pytest.approx(np.exp(-dividend * tau), abs=1e-12)


@settings(max_examples=300, deadline=None)
@given(positive_spot, maturities, volatilities, rates, dividends, st.booleans())
def test_monotone_in_strike_and_within_no_arbitrage_bounds(spot, tau, volatility, rate, dividend, call):
    strikes = spot * np.exp(np.linspace(-1.5, 1.5, 41))
    prices = bs.price(spot, strikes, tau, volatility, rate, dividend, call)
    steps = np.diff(prices)
    tolerance = 1e-12 * spot
    assert np.all(steps <= tolerance) if call else np.all(steps >= -tolerance)
    discounted_spot, discounted_strike = spot * np.exp(-dividend * tau), strikes * np.exp(-rate * tau)
    omega = 1.0 if call else -1.0
    lower = np.maximum(omega * (discounted_spot - discounted_strike), 0.0)
    upper = discounted_spot if call else discounted_strike
    assert np.all(prices >= lower - tolerance)
    assert np.all(prices <= upper + tolerance)
    # convexity in strike: second differences on an evenly spaced strike grid are non-negative
    even = bs.price(spot, spot * np.linspace(0.2, 5.0, 49), tau, volatility, rate, dividend, call)
    second = even[:-2] - 2 * even[1:-1] + even[2:]
    assert np.all(second >= -1e-9 * spot)


def test_implied_volatility_round_trips_on_a_wide_grid():
    p = random_parameter_sets(20_000, seed=3)
    tau = p["days"] / 365.0
    prices = bs.price(p["spot"], p["strike"], tau, p["volatility"], p["rate"], p["dividend"], p["call"])
    vegas = bs.vega(p["spot"], p["strike"], tau, p["volatility"], p["rate"], p["dividend"], p["call"])
    # a volatility is only identifiable where the price carries it: time value above rounding noise
    intrinsic = np.maximum(
        np.where(p["call"], 1.0, -1.0)
        * (p["spot"] * np.exp(-p["dividend"] * tau) - p["strike"] * np.exp(-p["rate"] * tau)),
        0.0,
    )
    identifiable = (prices - intrinsic > 1e-10 * p["spot"]) & (vegas > 1e-8 * p["spot"])
    assert identifiable.mean() > 0.9
    recovered = bs.implied_volatility(
        prices[identifiable], p["spot"][identifiable], p["strike"][identifiable], tau[identifiable],
        p["rate"][identifiable], p["dividend"][identifiable], p["call"][identifiable],
    )
    # achievable accuracy is (rounding error of the price) / vega: allow 1e-9 relative plus that conditioning
    conditioning = 64 * np.finfo(float).eps * p["spot"][identifiable] / vegas[identifiable]
    error = np.abs(recovered - p["volatility"][identifiable])
    assert np.all(error <= 1e-9 * p["volatility"][identifiable] + conditioning)
    assert np.median(error / p["volatility"][identifiable]) < 1e-13


def test_implied_volatility_matches_quantlib():
    ql.Settings.instance().evaluationDate = ql.Date(15, ql.January, 2025)
    rng = np.random.default_rng(11)
    for _ in range(50):
        spot, strike, vol = 100.0, rng.uniform(60, 150), rng.uniform(0.05, 0.9)
        tau, call = rng.integers(5, 1000) / 365.0, bool(rng.random() < 0.5)
        price = float(bs.price(spot, strike, tau, vol, 0.02, 0.01, call))
        calculator_vol = ql.blackFormulaImpliedStdDev(
            ql.Option.Call if call else ql.Option.Put, strike, spot * np.exp(0.01 * tau), price,
            np.exp(-0.02 * tau), 0.0, ql.nullDouble(), 1e-14, 200,
        ) / np.sqrt(tau)
        ours = bs.implied_volatility(price, spot, strike, tau, 0.02, 0.01, call)
        assert ours == pytest.approx(calculator_vol, rel=1e-7)
        assert ours == pytest.approx(vol, rel=1e-9)


def test_implied_volatility_of_the_intrinsic_value_is_zero():
    assert bs.implied_volatility(20.0, 120.0, 100.0, 0.5, 0.0, 0.0, True) == 0.0


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"volatility": -0.1}, "volatility"),
        ({"time_to_maturity": -1.0}, "time_to_maturity"),
        ({"strike": 0.0}, "strike"),
        ({"strike": -5.0}, "strike"),
        ({"spot": np.array([100.0, np.nan])}, "spot"),
        ({"rate": np.inf}, "rate"),
    ],
)
def test_bad_input_raises_value_error_naming_the_argument(kwargs, argument):
    arguments = {"spot": 100.0, "strike": 100.0, "time_to_maturity": 1.0, "volatility": 0.2} | kwargs
    for function in (bs.price, bs.delta, bs.gamma, bs.vega, bs.theta, bs.greeks):
        with pytest.raises(ValueError, match=argument):
            function(**arguments)


def test_implied_volatility_rejects_prices_outside_the_no_arbitrage_bounds():
    with pytest.raises(ValueError, match="option_price"):
        bs.implied_volatility(150.0, 100.0, 100.0, 1.0)  # a call cannot be worth more than the spot
    with pytest.raises(ValueError, match="option_price"):
        bs.implied_volatility(5.0, 120.0, 100.0, 1.0)  # below intrinsic
    with pytest.raises(ValueError, match="time_to_maturity"):
        bs.implied_volatility(5.0, 100.0, 100.0, 0.0)


# --- implied volatility against a 50-digit mpmath oracle (issue 10, case 4) ---------------------------------------

EPS = np.finfo(float).eps


def mpmath_price(spot, strike, tau, volatility, rate=0.0, dividend=0.0, call=True) -> mpmath.mpf:
    """50-digit Black–Scholes–Merton value (mpmath, independent of hedgegym)."""
    mpmath.mp.dps = 50
    s, k, t, v, r, q = (mpmath.mpf(float(x)) if not isinstance(x, mpmath.mpf) else x
                        for x in (spot, strike, tau, volatility, rate, dividend))
    d1 = (mpmath.log(s / k) + (r - q + v * v / 2) * t) / (v * mpmath.sqrt(t))
    d2 = d1 - v * mpmath.sqrt(t)
    w = 1 if call else -1
    return w * (s * mpmath.exp(-q * t) * mpmath.ncdf(w * d1) - k * mpmath.exp(-r * t) * mpmath.ncdf(w * d2))


def mpmath_implied_volatility(price, spot, strike, tau, rate=0.0, dividend=0.0, call=True, bracket=(1e-3, 50.0)):
    """The σ whose 50-digit price equals the float ``price`` exactly: bisection on log σ inside ``bracket``, then
    Newton on log price with the analytic vega (all in mpmath at 50 digits, independent of hedgegym)."""
    mpmath.mp.dps = 50
    target = mpmath.log(mpmath.mpf(float(price)))
    s, k, t, q = (mpmath.mpf(float(x)) for x in (spot, strike, tau, dividend))

    def gap(volatility):
        return mpmath.log(mpmath_price(spot, strike, tau, volatility, rate, dividend, call)) - target

    low, high = (mpmath.log(mpmath.mpf(b)) for b in bracket)
    assert gap(mpmath.exp(low)) < 0 < gap(mpmath.exp(high)), "the bracket does not contain the root"
    for _ in range(30):
        middle = (low + high) / 2
        low, high = (middle, high) if gap(mpmath.exp(middle)) < 0 else (low, middle)
    volatility = mpmath.exp((low + high) / 2)
    for _ in range(8):
        d1 = (mpmath.log(s / k) + (mpmath.mpf(float(rate)) - q + volatility**2 / 2) * t) / (volatility * mpmath.sqrt(t))
        vega = s * mpmath.exp(-q * t) * mpmath.npdf(d1) * mpmath.sqrt(t)
        value = mpmath_price(spot, strike, tau, volatility, rate, dividend, call)
        volatility -= (mpmath.log(value) - target) * value / vega
    assert abs(gap(volatility)) < mpmath.mpf(10) ** -30
    return float(volatility)


def test_implied_volatility_of_a_time_value_of_4e_13_is_not_zero():
    # the case: a call, r = q = 0, F = 100, K = 300, τ = 0.25, priced at σ = 0.30 (4.109167e-13)
    assert float(mpmath_price(100.0, 300.0, 0.25, 0.3)) == pytest.approx(4.109167e-13, rel=1e-6)
    expected = mpmath_implied_volatility(4.109167e-13, 100.0, 300.0, 0.25, bracket=(0.2, 0.4))
    assert bs.implied_volatility(4.109167e-13, 100.0, 300.0, 0.25) == pytest.approx(expected, rel=1e-12)
    exact = float(mpmath_price(100.0, 300.0, 0.25, 0.3))
    assert bs.implied_volatility(exact, 100.0, 300.0, 0.25) == pytest.approx(0.3, rel=1e-12)


def otm_and_itm_cases():
    """Calls and puts, deep OTM to deep ITM, τ from 0.3 s to 3 years, σ from 1% to 500%, with carry."""
    cases = []
    for strike, tau, volatility, (rate, dividend), call in itertools.product(
        (1.0, 60.0, 99.0, 100.0, 101.0, 160.0, 3000.0), (1e-8, 1e-3, 0.25, 3.0), (0.01, 0.3, 5.0),
        ((0.0, 0.0), (0.05, 0.03), (-0.01, 0.02)), (True, False),
    ):
        price = float(mpmath_price(100.0, strike, tau, volatility, rate, dividend, call))
        forward = 100.0 * np.exp((rate - dividend) * tau)
        if price > 0.0:  # a positive float64 (else nothing to invert)
            in_the_money = (forward - strike) * (1 if call else -1) > 0
            cases.append((price, strike, tau, volatility, rate, dividend, call, in_the_money))
    return cases


def test_implied_volatility_out_of_the_money_recovers_sigma_to_1e_10_everywhere():
    cases = [c for c in otm_and_itm_cases() if not c[-1]]
    price, strike, tau, volatility, rate, dividend, call = (np.array([c[j] for c in cases]) for j in range(7))
    upper = np.where(call, 100.0 * np.exp(-dividend * tau), strike * np.exp(-rate * tau))
    invertible = price < upper  # σ = 5 over 3 years can round a price onto its upper bound S·e^(-qτ)
    assert invertible.sum() >= 150 and np.min(price) < 1e-200  # down to prices below 1e-200
    recovered = bs.implied_volatility(price[invertible], 100.0, strike[invertible], tau[invertible],
                                      rate[invertible], dividend[invertible], call[invertible])
    relative = np.abs(recovered - volatility[invertible]) / volatility[invertible]
    assert relative.max() <= 1e-10, f"worst {relative.max():.2e} at case {np.argmax(relative)}"


def test_implied_volatility_in_the_money_inverts_through_parity_or_gives_zero_for_an_unresolved_time_value():
    inverted = unresolved = 0
    for price, strike, tau, volatility, rate, dividend, call, itm in otm_and_itm_cases():
        if not itm:
            continue
        intrinsic = (1 if call else -1) * (mpmath.mpf(100.0) * mpmath.exp(-mpmath.mpf(dividend) * tau)
                                           - mpmath.mpf(strike) * mpmath.exp(-mpmath.mpf(rate) * tau))
        time_value = float(mpmath.mpf(price) - intrinsic)  # exact time value of the float price
        resolution = 16 * EPS * max(price, 100.0, strike)
        ours = float(bs.implied_volatility(price, 100.0, strike, tau, rate, dividend, call))
        if ours == 0.0:  # at the lower bound to rounding: the price does not resolve σ
            assert abs(time_value) <= resolution
            unresolved += 1
            continue
        assert time_value > 0.0
        reference = mpmath_implied_volatility(price, 100.0, strike, tau, rate, dividend, call,
                                              bracket=(volatility / 4, volatility * 4))
        vega = float(bs.vega(100.0, strike, tau, reference, rate, dividend, call))
        # σ carries the rounding of the parity subtraction, ≈ ε·max(P, S, K), divided by vega
        assert abs(ours - reference) <= 1e-10 * reference + EPS * max(price, 100.0, strike) / vega
        inverted += 1
    assert inverted >= 80 and unresolved >= 10


def test_implied_volatility_of_tiny_prices_and_of_an_in_the_money_price_a_few_ulp_above_intrinsic():
    for price, call in itertools.product((1e-300, 1e-200, 1e-20), (True, False)):
        spot, strike = (100.0, 300.0) if call else (300.0, 100.0)  # out of the money
        reference = mpmath_implied_volatility(price, spot, strike, 0.25, 0.02, 0.01, call, bracket=(1e-3, 1.0))
        ours = bs.implied_volatility(price, spot, strike, 0.25, 0.02, 0.01, call)
        assert ours == pytest.approx(reference, rel=1e-10)
    # the smallest positive float64 still inverts: its 50-digit price rounds back to it
    volatility = float(bs.implied_volatility(5e-324, 100.0, 300.0, 0.25))
    assert float(mpmath_price(100.0, 300.0, 0.25, volatility)) == 5e-324
    # a deep ITM call 14 ulp above its intrinsic value (r = q = 0, so parity is exact): inverts like the OTM put
    price = 200.0 + 4.109167e-13
    expected = mpmath_implied_volatility(price, 300.0, 100.0, 0.25, call=True, bracket=(0.2, 0.4))
    assert bs.implied_volatility(price, 300.0, 100.0, 0.25) == pytest.approx(expected, rel=1e-12)
    # 1 ulp above or at the intrinsic value the time value is not resolved: 0, the same answer either way
    assert bs.implied_volatility(np.nextafter(200.0, 300.0), 300.0, 100.0, 0.25) == 0.0
    assert bs.implied_volatility(200.0, 300.0, 100.0, 0.25) == 0.0  # exactly the intrinsic value


def test_implied_volatility_is_vectorised_over_broadcast_shapes():
    strike = np.array([[40.0], [100.0], [250.0]])
    tau = np.array([1e-6, 0.1, 2.0])
    volatility = np.array([[0.05], [0.6], [3.0]])
    call = np.array([[False], [True], [True]])  # out of the money or at the money
    price = np.vectorize(lambda k, t, v, c: float(mpmath_price(100.0, k, t, v, 0.01, 0.02, c)))(
        strike, tau, volatility, call)
    ours = bs.implied_volatility(price, 100.0, strike, tau, 0.01, 0.02, call)
    assert ours.shape == (3, 3)
    expected = np.broadcast_to(volatility, (3, 3)).copy()
    expected[price <= 0.0] = 0.0  # prices that underflow to 0 sit at the lower bound
    assert ours == pytest.approx(expected, rel=1e-10)


def test_implied_volatility_refuses_prices_on_or_beyond_the_bounds_with_the_bounds_in_the_message():
    tau, rate, dividend = 0.5, 0.04, 0.02
    call_upper, put_upper = 100.0 * np.exp(-dividend * tau), 120.0 * np.exp(-rate * tau)
    for price, call in ((call_upper, True), (put_upper, False), (1.5 * call_upper, True), (1.5 * put_upper, False)):
        with pytest.raises(ValueError, match=r"option_price must lie in \[discounted intrinsic value, upper bound\)"):
            bs.implied_volatility(price, 100.0, 120.0, tau, rate, dividend, call)
    # σ = 20 over a year prices a call onto its upper bound in float64: refused, not a huge or NaN volatility
    on_bound = float(mpmath_price(100.0, 100.0, 1.0, 20.0, 0.02, 0.01))
    with pytest.raises(ValueError, match="option_price"):
        bs.implied_volatility(on_bound, 100.0, 100.0, 1.0, 0.02, 0.01)
    # below the discounted intrinsic value of an in-the-money put, K·e^(-rτ) − S·e^(-qτ) = 18.62…
    with pytest.raises(ValueError, match="option_price"):
        bs.implied_volatility(18.5, 100.0, 120.0, tau, rate, dividend, False)
    for argument, value in (("tolerance", 0.0), ("max_iterations", 0)):
        with pytest.raises(ValueError, match=argument):
            bs.implied_volatility(1.0, 100.0, 120.0, tau, **{argument: value})


def test_implied_volatility_broadcasts_a_vector_of_prices_against_scalar_parameters():
    """A smile's prices with one spot, strike and maturity (the shape came only from the parameters before)."""
    volatilities = np.array([0.1, 0.2, 0.3, 0.8])
    one = np.ones_like(volatilities)
    prices = quantlib_black_scholes(100 * one, 105 * one, 182 * one, volatilities, 0.02 * one, 0.01 * one,
                                    one.astype(bool))["price"]
    recovered = bs.implied_volatility(prices, 100.0, 105.0, 182 / 365, 0.02, 0.01)
    assert recovered.shape == (4,)
    np.testing.assert_allclose(recovered, volatilities, rtol=1e-9)


def test_implied_volatility_of_far_out_of_the_money_prices_converges():
    """Prices of 1e-18 and 1e-24 (their 50-digit mpmath values) once stopped after max_iterations far from the
    root (σ 0.0207 for 0.2232); a round trip of a smile through deep in-the-money strikes returns values, not an
    error for the whole array."""
    for spot, strike, tau, volatility, rate in ((100.0, 385.81987320763795, 0.46414928619106616, 0.2231861718976165,
                                                 0.03), (100.0, 2893.94, 0.05574, 1.37152, 0.0)):
        price = float(mpmath_price(spot, strike, tau, volatility, rate))
        assert 0 < price < 1e-17
        reference = mpmath_implied_volatility(price, spot, strike, tau, rate, bracket=(volatility / 2, volatility * 2))
        assert bs.implied_volatility(price, spot, strike, tau, rate) == pytest.approx(reference, rel=1e-10)
    strikes = np.linspace(5.0, 300.0, 60)
    smile = bs.implied_volatility(bs.price(100.0, strikes, 1.0, 0.25, 0.03, 0.01), 100.0, strikes, 1.0, 0.03, 0.01)
    resolved = smile > 0
    assert resolved.sum() >= 55
    np.testing.assert_allclose(smile[resolved], 0.25, rtol=1e-4)
