"""Down-and-out call: QuantLib, a 40-digit mpmath Haug formula, finite differences, limits, and a discretely
monitored Monte Carlo against the Broadie–Glasserman–Kou correction."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest

from hedgegym.pricing import barrier, black_scholes
from hedgegym.pricing.greeks import Greeks
from tests.pricing.quantlib_oracle import down_and_out_call as quantlib_down_and_out_call

GREEK_NAMES = ("price", "delta", "gamma", "vega", "theta")


def random_parameter_sets(n: int, seed: int) -> dict[str, np.ndarray]:
    """Spot 1%–60% above the barrier, strikes on both sides of it, 5 days to 2 years, negative rates, dividends."""
    rng = np.random.default_rng(seed)
    spot = rng.uniform(50.0, 150.0, n)
    return {
        "spot": spot,
        "barrier": spot / rng.uniform(1.01, 1.6, n),
        "strike": spot * np.exp(rng.normal(0.0, 0.25, n)),
        "days": rng.integers(5, 731, n),
        "volatility": rng.uniform(0.05, 0.8, n),
        "rate": rng.uniform(-0.02, 0.08, n),
        "dividend": rng.uniform(0.0, 0.06, n),
    }


def ours(p: dict[str, np.ndarray], monitoring_interval: float | None = None) -> Greeks:
    return barrier.greeks(p["spot"], p["strike"], p["days"] / 365.0, p["volatility"], p["rate"], p["dividend"],
                          barrier=p["barrier"], monitoring_interval=monitoring_interval)


# --- QuantLib ---------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def grid_and_quantlib():
    p = random_parameter_sets(400, seed=20260515)
    oracle = quantlib_down_and_out_call(
        p["spot"], p["strike"], p["barrier"], p["days"], p["volatility"], p["rate"], p["dividend"]
    )
    return p, oracle, ours(p)


def test_grid_covers_strikes_on_both_sides_of_the_barrier(grid_and_quantlib):
    p, _, _ = grid_and_quantlib
    below = p["strike"] < p["barrier"]
    assert 40 < below.sum() < 360


@pytest.mark.parametrize(
    ("name", "tolerance"),
    # price: QuantLib's closed form; delta and gamma: Richardson-extrapolated differences of QuantLib's price,
    # whose rounding (~1e-15 of the price over h² ~ 1e-5) bounds the gamma comparison, not our formula (the
    # 40-digit oracle below checks every Greek to 1e-10); compared where the option is worth >= 1 bp of spot
    [("price", 1e-10), ("delta", 1e-8), ("gamma", 1e-4)],
)
def test_matches_quantlib_on_400_random_parameter_sets(grid_and_quantlib, name, tolerance):
    p, oracle, got = grid_and_quantlib
    expected, value = oracle[name], getattr(got, name)
    scale = {"price": p["spot"], "delta": np.ones_like(p["spot"]), "gamma": 1.0 / p["spot"]}[name]
    resolvable = (oracle["price"] >= 1e-4 * p["spot"]) & (np.abs(expected) >= 1e-6 * scale)
    assert resolvable.sum() > 360
    relative = np.abs(value[resolvable] - expected[resolvable]) / np.abs(expected[resolvable])
    assert relative.max() <= tolerance, f"{name}: worst relative error {relative.max():.3e}"


# --- an independent 40-digit closed form: Haug's A − C (K > B) / B − D (K < B) --------------------------------


def haug_down_and_out_call(spot, strike, level, tau, volatility, rate, dividend, monitoring_interval=None):
    """Reiner–Rubinstein in Haug's notation, in mpmath (BGK: the same formula at the shifted barrier)."""
    mp = mpmath.mpf
    s_, k_, h_, t_, v_, r_, q_ = (mp(x) for x in (spot, strike, level, tau, volatility, rate, dividend))
    if monitoring_interval is not None:
        beta = -mpmath.zeta(mp(1) / 2) / mpmath.sqrt(2 * mpmath.pi)
        h_ = h_ * mpmath.exp(-beta * v_ * mpmath.sqrt(mp(monitoring_interval)))
    b = r_ - q_
    std = v_ * mpmath.sqrt(t_)
    mu = (b - v_**2 / 2) / v_**2
    n = mpmath.ncdf

    def leg(x: mpmath.mpf, reflected: bool) -> mpmath.mpf:
        weight_s = (h_ / s_) ** (2 * (mu + 1)) if reflected else 1
        weight_k = (h_ / s_) ** (2 * mu) if reflected else 1
        return (s_ * mpmath.exp((b - r_) * t_) * weight_s * n(x)
                - k_ * mpmath.exp(-r_ * t_) * weight_k * n(x - std))

    x1 = mpmath.log(s_ / k_) / std + (1 + mu) * std
    x2 = mpmath.log(s_ / h_) / std + (1 + mu) * std
    y1 = mpmath.log(h_**2 / (s_ * k_)) / std + (1 + mu) * std
    y2 = mpmath.log(h_ / s_) / std + (1 + mu) * std
    return leg(x1, False) - leg(y1, True) if k_ > h_ else leg(x2, False) - leg(y2, True)


def haug_greeks(args: tuple, monitoring_interval: float | None) -> dict[str, float]:
    spot, strike, level, tau, volatility, rate, dividend = args

    def f(**changes):
        values = {"spot": spot, "tau": tau, "volatility": volatility, **changes}
        return haug_down_and_out_call(values["spot"], strike, level, values["tau"], values["volatility"], rate,
                                      dividend, monitoring_interval)

    with mpmath.workdps(40):
        return {
            "price": float(f()),
            "delta": float(mpmath.diff(lambda x: f(spot=x), spot)),
            "gamma": float(mpmath.diff(lambda x: f(spot=x), spot, 2)),
            "vega": float(mpmath.diff(lambda x: f(volatility=x), volatility)),
            "theta": float(-mpmath.diff(lambda x: f(tau=x), tau)),
        }


@pytest.mark.parametrize("monitoring_interval", [None, 1.0 / 252.0], ids=["continuous", "daily"])
def test_every_greek_matches_a_40_digit_differentiated_haug_formula(monitoring_interval):
    p = random_parameter_sets(24, seed=11)
    got = ours(p, monitoring_interval)
    p["tau"] = p["days"] / 365.0
    for i in range(24):
        args = tuple(float(p[k][i]) for k in ("spot", "strike", "barrier", "tau", "volatility", "rate", "dividend"))
        expected = haug_greeks(args, monitoring_interval)
        for name in GREEK_NAMES:
            value = float(getattr(got, name)[i])
            scale = {"price": args[0], "delta": 1.0, "gamma": 1.0 / args[0], "vega": args[0], "theta": args[0]}[name]
            assert value == pytest.approx(expected[name], rel=1e-10, abs=1e-13 * scale), (name, i, args)


# --- finite differences of our own price ------------------------------------------------------------------------


@pytest.mark.parametrize("monitoring_interval", [None, 1.0 / 252.0], ids=["continuous", "daily"])
def test_greeks_match_central_differences_of_the_price(monitoring_interval):
    p = random_parameter_sets(200, seed=3)
    s, k, b, tau = p["spot"], p["strike"], p["barrier"], p["days"] / 365.0
    sigma, r, q = p["volatility"], p["rate"], p["dividend"]
    g = ours(p, monitoring_interval)

    def v(**kw):
        a = {"spot": s, "tau": tau, "sigma": sigma, **kw}
        return barrier.price(a["spot"], k, a["tau"], a["sigma"], r, q, barrier=b,
                             monitoring_interval=monitoring_interval)

    def close(got, expected, rtol, atol):
        bad = np.abs(got - expected) > rtol * np.abs(expected) + atol
        assert not np.any(bad), (got[bad], expected[bad])

    h = 1e-3 * np.minimum(s - b, s * sigma * np.sqrt(tau))  # well inside the scales of the price
    close(g.delta, (v(spot=s + h) - v(spot=s - h)) / (2 * h), 1e-5, 1e-8)
    close(g.gamma, (v(spot=s + h) - 2 * v() + v(spot=s - h)) / h**2, 1e-4, 1e-6 / s)  # rounding: ε V / h²
    dv = 1e-5
    close(g.vega, (v(sigma=sigma + dv) - v(sigma=sigma - dv)) / (2 * dv), 1e-6, 1e-8 * s)
    dt = 1e-6
    close(g.theta, -(v(tau=tau + dt) - v(tau=tau - dt)) / (2 * dt), 1e-5, 1e-8 * s)


# --- structure and limits ---------------------------------------------------------------------------------------


def test_value_and_every_greek_are_zero_at_and_below_the_barrier():
    spot = np.array([50.0, 89.0, 90.0])
    for strike in (80.0, 100.0):
        for interval in (None, 1.0 / 252.0):
            g = barrier.greeks(spot, strike, 0.25, 0.2, 0.02, 0.0, barrier=90.0, monitoring_interval=interval)
            for field in g:
                np.testing.assert_array_equal(field, 0.0)


def test_continuous_value_vanishes_continuously_at_the_barrier_but_not_under_discrete_monitoring():
    continuous = barrier.price(90.0 * (1 + 1e-9), 100.0, 0.25, 0.2, 0.02, barrier=90.0)
    assert 0.0 <= continuous < 1e-7
    discrete = barrier.price(90.0 * (1 + 1e-9), 100.0, 0.25, 0.2, 0.02, barrier=90.0, monitoring_interval=1 / 252)
    assert discrete > 0.1  # one more day of life for the paths near the barrier


def test_far_barrier_gives_the_vanilla_call():
    g = barrier.greeks(np.array([90.0, 100.0, 120.0]), 100.0, 0.5, 0.2, 0.03, 0.01, barrier=1.0)
    expected = black_scholes.greeks(np.array([90.0, 100.0, 120.0]), 100.0, 0.5, 0.2, 0.03, 0.01)
    for name in GREEK_NAMES:
        np.testing.assert_allclose(getattr(g, name), getattr(expected, name), rtol=1e-12, atol=1e-14)


def test_expiry_pays_the_call_payoff_on_surviving_spots():
    spot = np.array([80.0, 95.0, 100.0, 110.0])
    g = barrier.greeks(spot, 100.0, 0.0, 0.2, 0.02, barrier=90.0)
    np.testing.assert_array_equal(g.price, [0.0, 0.0, 0.0, 10.0])
    np.testing.assert_array_equal(g.delta, [0.0, 0.0, 0.5, 1.0])
    g = barrier.greeks(spot, 85.0, 0.0, 0.2, 0.02, barrier=90.0)  # K < B: dead at 80, (S − K) above B
    np.testing.assert_array_equal(g.price, [0.0, 10.0, 15.0, 25.0])


@pytest.mark.parametrize(("rate", "dividend"), [(0.05, 0.0), (0.0, 0.0), (0.0, 0.2)])
def test_zero_volatility_is_the_deterministic_path_limit(rate, dividend):
    spot = np.array([93.0, 97.0, 110.0])
    got = barrier.greeks(spot, 95.0, 0.25, 0.0, rate, dividend, barrier=92.0)
    forward = spot * np.exp((rate - dividend) * 0.25)
    survives = np.minimum(spot, forward) > 92.0
    expected = np.exp(-rate * 0.25) * np.maximum(forward - 95.0, 0.0) * survives
    np.testing.assert_allclose(got.price, expected, rtol=1e-14)
    small = barrier.price(spot, 95.0, 0.25, 1e-3, rate, dividend, barrier=92.0)  # the limit is the limit
    np.testing.assert_allclose(small, expected, atol=1e-6)
    assert all(np.all(np.isfinite(field)) for field in got)


def test_tiny_volatility_with_a_large_negative_carry_stays_finite():
    spot = np.array([91.0, 100.0, 150.0])
    g = barrier.greeks(spot, 100.0, 1.0, 0.01, 0.0, 0.3, barrier=90.0)  # (S/B')^p with p = 6001
    assert all(np.all(np.isfinite(field)) for field in g)
    # the forward path S e^{-0.3} falls through the barrier from 91 and 100, not from 150: 150 e^{-0.3} − 100
    np.testing.assert_allclose(g.price, [0.0, 0.0, 150.0 * np.exp(-0.3) - 100.0], atol=1e-9, rtol=1e-6)


def test_shifted_barrier_is_the_bgk_correction():
    assert barrier.BGK_BETA == pytest.approx(float(-mpmath.zeta(0.5) / mpmath.sqrt(2 * mpmath.pi)), rel=1e-15)
    assert float(barrier.shifted_barrier(90.0, 0.2, 1 / 252)) == pytest.approx(90.0 * np.exp(-0.5826 * 0.2 / 252**0.5),
                                                                              rel=1e-4)
    assert float(barrier.shifted_barrier(90.0, 0.2, None)) == 90.0


def test_broadcasting_shapes():
    spot = np.linspace(95.0, 120.0, 12).reshape(3, 4)
    g = barrier.greeks(spot, np.array([90.0, 100.0, 110.0, 120.0]), 0.5, 0.2, barrier=92.0)
    assert all(field.shape == (3, 4) for field in g)
    assert np.ndim(barrier.price(100.0, 100.0, 0.5, 0.2, barrier=90.0)) == 0


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"barrier": 0.0}, "barrier"),
        ({"barrier": np.nan}, "barrier"),
        ({"monitoring_interval": 0.0}, "monitoring_interval"),
        ({"monitoring_interval": -1.0}, "monitoring_interval"),
        ({"call": False}, "call"),
        ({"volatility": -0.2}, "volatility"),
        ({"spot": 0.0}, "spot"),
        ({"time_to_maturity": -0.1}, "time_to_maturity"),
    ],
)
def test_validation_names_the_argument(kwargs, name):
    arguments = {"spot": 100.0, "strike": 100.0, "time_to_maturity": 0.25, "volatility": 0.2, "barrier": 90.0,
                 **kwargs}
    with pytest.raises(ValueError, match=name):
        barrier.greeks(**arguments)


# --- discrete monitoring: Monte Carlo against the BGK correction --------------------------------------------------


def discretely_monitored_monte_carlo(spot, strike, level, tau, n_steps, volatility, rate, dividend, n_paths, seed):
    """Exact GBM steps, knocked out when the spot at a step is ≤ the barrier; discounted mean and its SE."""
    rng = np.random.default_rng(seed)
    dt = tau / n_steps
    log_spot = np.full(n_paths, np.log(spot))
    alive = np.ones(n_paths, dtype=bool)
    for _ in range(n_steps):  # over time steps; every step is vectorised over the paths
        log_spot += (rate - dividend - 0.5 * volatility**2) * dt + volatility * np.sqrt(dt) * rng.standard_normal(
            n_paths)
        alive &= log_spot > np.log(level)
    discounted = np.exp(-rate * tau) * np.maximum(np.exp(log_spot) - strike, 0.0) * alive
    return discounted.mean(), discounted.std(ddof=1) / np.sqrt(n_paths)


@pytest.mark.parametrize("strike", [100.0, 90.0], ids=["K>B", "K<B"])
def test_bgk_price_agrees_with_a_daily_monitored_monte_carlo(strike):
    spot, level, tau, n_steps, sigma, r, q = 100.0, 95.0, 0.25, 63, 0.25, 0.03, 0.01
    mean, error = discretely_monitored_monte_carlo(spot, strike, level, tau, n_steps, sigma, r, q, 200_000, seed=1)
    corrected = float(barrier.price(spot, strike, tau, sigma, r, q, barrier=level, monitoring_interval=tau / n_steps))
    continuous = float(barrier.price(spot, strike, tau, sigma, r, q, barrier=level))
    assert abs(mean - corrected) / error < 3.0
    assert abs(mean - continuous) / error > 10.0  # the test can tell continuous from daily monitoring


def test_gamma_fades_towards_the_barrier_while_delta_stays_large():
    """The guide's claim (docs/guide/configs.md) about the down-and-out book (K 100, B 90, σ 20%, r 2%, 3 months,
    daily BGK monitoring): per-unit Γ falls towards the barrier, Δ stays near 0.3 just above it (what jumps at
    knock-out is Δ). Reference: QuantLib's continuous-barrier engine at the BGK-shifted barrier, Γ and Δ by central
    differences of its price."""
    days, volatility, rate, interval = 91, 0.2, 0.02, 1 / 252
    level = float(barrier.shifted_barrier(90.0, volatility, interval))
    spots = np.array([100.0, 92.0, 90.5, 90.05])
    step = 1e-3

    def quantlib(spot):
        one = np.ones_like(spot)
        return quantlib_down_and_out_call(spot, 100 * one, level * one, days * one, volatility * one, rate * one,
                                          0 * one)["price"]

    up, mid, down = quantlib(spots + step), quantlib(spots), quantlib(spots - step)
    reference_delta, reference_gamma = (up - down) / (2 * step), (up - 2 * mid + down) / step**2
    ours = barrier.greeks(spots, 100.0, days / 365, volatility, rate, 0.0, barrier=90.0, monitoring_interval=interval)
    np.testing.assert_allclose(ours.gamma, reference_gamma, rtol=1e-3)
    np.testing.assert_allclose(ours.delta, reference_delta, rtol=1e-5)
    assert np.all(np.diff(ours.gamma) < 0)  # fades as S falls towards B
    assert ours.gamma[-1] < 0.1 * ours.gamma[0] and ours.delta[-1] > 0.25
