"""Uncertain volatility (Black–Scholes–Barenblatt) PDE pricer against independent oracles.

Oracles: the Black–Scholes closed form (σ_min = σ_max, and convex payoffs whose worst case is a constant σ),
QuantLib's AnalyticBarrierEngine (down-and-out call), the butterfly value published by Pooley, Forsyth & Vetzal
(2003), closed-form sub/super-additivity bounds, and an independent monotone explicit scheme in log-spot written
here (different variable, grid, time stepping and control choice from the module under test).
"""

from __future__ import annotations

import numpy as np
import pytest
import QuantLib as ql
from hypothesis import given, settings
from hypothesis import strategies as st

from hedgegym.pricing import black_scholes as bs
from hedgegym.pricing.uncertain_volatility import (
    MAX_POLICY_ITERATIONS,
    GridGreeks,
    Payoff,
    UncertainVolatilityGrid,
    solve_uncertain_volatility,
)
from tests.pricing.quantlib_oracle import DAY_COUNT, TODAY, flat_volatility

# Pooley, Forsyth & Vetzal (2003) butterfly: σ ∈ [0.15, 0.25], r = 0.1, T = 0.25, strikes 90/100/110, S = 100
PFV = {"maturity": 0.25, "rate": 0.1, "volatility_min": 0.15, "volatility_max": 0.25}
PFV_BID = 2.29769


def black_scholes_legs(payoff: Payoff, spot, tau: float, volatility: float, rate: float, dividend: float = 0.0):
    """Black–Scholes value and Δ of a portfolio of vanilla legs (the closed-form oracle)."""
    spot = np.asarray(spot, dtype=float)
    value, delta = np.zeros_like(spot), np.zeros_like(spot)
    for quantity, strike, call in payoff.legs:
        value += quantity * bs.price(spot, strike, tau, volatility, rate, dividend, call)
        delta += quantity * bs.delta(spot, strike, tau, volatility, rate, dividend, call)
    return value, delta


def explicit_log_scheme(payoff: Payoff, spot: float, maturity: float, rate: float, volatility_min: float,
                        volatility_max: float, ask: bool, dx: float = 0.0025, half_width: float = 1.2) -> float:
    """Independent oracle: monotone explicit finite differences for V_τ = ½σ²(V_xx − V_x) + rV_x − rV in
    x = ln S on a uniform grid centred on ``spot``, σ² chosen per node from the sign of the explicit
    S²Γ = V_xx − V_x (sup/inf of a function linear in σ², attained at an end of the band), Δt = 0.9 / (σ_max²/dx²
    + r) (positive weights: converges to the viscosity solution, Barles–Souganidis), payoff averaged over each
    cell, far-field Dirichlet values at both ends (0 at the lower end: for payoffs made of calls, no dividend).
    Error about 1e-4 relative at the default dx."""
    n_half = round(half_width / dx)
    s = spot * np.exp(dx * np.arange(-n_half, n_half + 1))
    low, high = s * np.exp(-dx / 2), s * np.exp(dx / 2)
    value = np.zeros_like(s)
    for quantity, strike, call in payoff.legs:
        if call:
            integral = np.maximum(high - strike, 0) ** 2 - np.maximum(low - strike, 0) ** 2
        else:
            integral = np.maximum(strike - low, 0) ** 2 - np.maximum(strike - high, 0) ** 2
        value += quantity * 0.5 * integral / (high - low)
    top_slope, top_intercept = payoff.far_field
    n_steps = int(np.ceil(maturity * (volatility_max**2 / dx**2 + rate) / 0.9))
    dt = maturity / n_steps
    for step in range(n_steps):
        first = (value[2:] - value[:-2]) / (2 * dx)
        s2_gamma = (value[2:] - 2 * value[1:-1] + value[:-2]) / dx**2 - first
        variance = np.where((s2_gamma > 0) == ask, volatility_max**2, volatility_min**2)
        inner = value[1:-1] + dt * (0.5 * variance * s2_gamma + rate * first - rate * value[1:-1])
        tau = (step + 1) * dt
        value = np.concatenate(([0.0], inner, [top_slope * s[-1] + top_intercept * np.exp(-rate * tau)]))
    return float(value[n_half])


@pytest.fixture(scope="module")
def butterfly_pfv() -> dict[str, UncertainVolatilityGrid]:
    payoff = Payoff.butterfly(90.0, 100.0, 110.0)
    return {side: solve_uncertain_volatility(payoff, **PFV, side=side, n_space=400, n_time=400)
            for side in ("ask", "bid")}


# --------------------------------------------------------------------------------------------------- payoffs


def test_payoff_constructors_evaluate_their_formulas():
    s = np.array([0.0, 50.0, 89.0, 90.0, 95.0, 100.0, 104.0, 110.0, 150.0])
    np.testing.assert_array_equal(Payoff.call(100.0)(s), np.maximum(s - 100, 0))
    np.testing.assert_array_equal(Payoff.put(100.0)(s), np.maximum(100 - s, 0))
    np.testing.assert_array_equal(Payoff.straddle(100.0)(s), np.abs(s - 100))
    np.testing.assert_array_equal(Payoff.call_spread(90.0, 110.0)(s), np.clip(s - 90, 0, 20))
    np.testing.assert_array_equal(Payoff.butterfly(90.0, 100.0, 110.0)(s), np.maximum(10 - np.abs(s - 100), 0))
    np.testing.assert_array_equal(Payoff.down_and_out_call(100.0, 90.0)(s), np.where(s > 90, np.maximum(s - 100, 0), 0))
    short_call = Payoff.from_legs([(-1.5, 100.0, True)], name="short")
    np.testing.assert_array_equal(short_call(s), -1.5 * np.maximum(s - 100, 0))
    assert Payoff.butterfly(90.0, 100.0, 110.0).strikes == (90.0, 100.0, 110.0)
    assert Payoff.straddle(100.0).far_field == (1.0, -100.0)
    assert Payoff.butterfly(90.0, 100.0, 110.0).far_field == (0.0, 0.0)


def test_cell_average_is_the_exact_mean_of_the_payoff():
    payoff = Payoff.butterfly(90.0, 100.0, 110.0)
    low, high = np.array([80.0, 95.0, 99.0, 108.0]), np.array([85.0, 96.0, 101.5, 112.0])
    fine = [np.linspace(a, b, 200_001) for a, b in zip(low, high, strict=True)]
    expected = [np.trapezoid(payoff(x), x) / (x[-1] - x[0]) for x in fine]
    np.testing.assert_allclose(payoff.cell_average(low, high), expected, rtol=0, atol=1e-8)


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: Payoff.call(-1.0), "strike"),
        (lambda: Payoff.put(float("nan")), "strike"),
        (lambda: Payoff.butterfly(100.0, 90.0, 110.0), "middle_strike"),
        (lambda: Payoff.call_spread(100.0, 100.0), "high_strike"),
        (lambda: Payoff.down_and_out_call(100.0, 0.0), "barrier"),
        (lambda: Payoff.from_legs([]), "legs"),
        (lambda: Payoff.from_legs([(1.0, 100.0)]), "legs"),
        (lambda: Payoff.from_legs([(float("inf"), 100.0, True)]), "quantity"),
        (lambda: Payoff.call(100.0)(np.array([1.0, np.nan])), "spot"),
    ],
)
def test_payoff_errors_name_the_field(build, field):
    with pytest.raises(ValueError, match=field):
        build()


# ------------------------------------------------------------------------------------ Black–Scholes limits

BS_CASES = [  # maturity, rate, dividend, volatility
    (1.0, 0.05, 0.02, 0.20),
    (0.25, 0.10, 0.00, 0.15),
    (2.0, 0.03, 0.05, 0.40),
    (0.05, 0.02, 0.00, 0.30),
]


@pytest.mark.parametrize("call", [True, False])
@pytest.mark.parametrize(("maturity", "rate", "dividend", "volatility"), BS_CASES)
def test_equal_bounds_reproduce_black_scholes_price_and_delta(maturity, rate, dividend, volatility, call):
    """σ_min = σ_max: the PDE is Black–Scholes. On the grid nodes with S in [K/2, 2K], prices worth at least 1% of
    the strike within 1e-3 relative and Deltas with |Δ| >= 0.1 within 1e-3 relative, at t = 0 and at mid-life.
    Measured worst over these cases on this 600×100 grid: 6.4e-4 (price) and 3.0e-4 (Δ); on 400×100: 9.9e-4 and
    9.5e-4; on the default 200×200 grid: 2.6e-3 and 3.5e-3 (about 1e-4 at the money), so a finer grid is used."""
    payoff = Payoff.call(100.0) if call else Payoff.put(100.0)
    grid = solve_uncertain_volatility(payoff, maturity, rate, volatility, volatility, dividend=dividend,
                                      n_space=600, n_time=100)
    region = (grid.spot >= 50.0) & (grid.spot <= 200.0)
    s = grid.spot[region]
    for level in (0, grid.n_time // 2):
        tau = maturity - grid.time[level]
        value = bs.price(s, 100.0, tau, volatility, rate, dividend, call)
        delta = bs.delta(s, 100.0, tau, volatility, rate, dividend, call)
        worth = value >= 1.0
        moving = np.abs(delta) >= 0.1
        assert worth.sum() > 50 and moving.sum() > 50
        price_error = np.abs(grid.values[level, region] - value)[worth] / value[worth]
        delta_error = np.abs(grid.delta[level, region] - delta)[moving] / np.abs(delta[moving])
        assert price_error.max() <= 1e-3, f"level {level}: worst relative price error {price_error.max():.2e}"
        assert delta_error.max() <= 1e-3, f"level {level}: worst relative delta error {delta_error.max():.2e}"


def test_rannacher_start_removes_crank_nicolson_gamma_oscillations():
    """A call with Δτ = 0.025 ≫ h² / (σ²S²): pure Crank–Nicolson (``rannacher_steps=0``) leaves the payoff's kink
    as undamped oscillations of Γ at t = 0 (error many times the peak, negative Γ); the default Rannacher start
    (two steps as four implicit half-steps) gives Γ within 1% of the closed form's peak."""
    kwargs = {"maturity": 0.25, "rate": 0.05, "volatility_min": 0.2, "volatility_max": 0.2,
              "n_space": 400, "n_time": 10}
    with_start = solve_uncertain_volatility(Payoff.call(100.0), **kwargs)
    without = solve_uncertain_volatility(Payoff.call(100.0), **kwargs, rannacher_steps=0)
    region = (with_start.spot > 80) & (with_start.spot < 120)
    exact = bs.gamma(with_start.spot[region], 100.0, 0.25, 0.2, 0.05)
    assert np.abs(with_start.gamma[0, region] - exact).max() <= 0.01 * exact.max()
    assert with_start.gamma[0, region].min() > 0.0
    assert np.abs(without.gamma[0, region] - exact).max() > exact.max()
    assert without.gamma[0, region].min() < 0.0


@pytest.mark.parametrize("make", [lambda: Payoff.call(100.0), lambda: Payoff.put(100.0),
                                  lambda: Payoff.straddle(100.0)])
def test_convex_payoffs_ask_is_black_scholes_at_max_and_bid_at_min(make):
    """Γ ≥ 0 everywhere for a long call, put or straddle: the seller's worst case is σ_max throughout, the buyer's
    σ_min (relative 1e-3 where the value is at least 1% of the strike)."""
    payoff = make()
    for side, volatility in (("ask", 0.3), ("bid", 0.1)):
        grid = solve_uncertain_volatility(payoff, 0.5, 0.04, 0.1, 0.3, dividend=0.01, side=side)
        region = (grid.spot >= 60.0) & (grid.spot <= 160.0)
        exact, _ = black_scholes_legs(payoff, grid.spot[region], 0.5, volatility, 0.04, 0.01)
        worth = exact >= 1.0
        relative = np.abs(grid.values[0, region] - exact)[worth] / exact[worth]
        assert relative.max() <= 1e-3, f"{side}: {relative.max():.2e}"
        material = np.abs(grid.gamma[:-1, 1:-1]) > 1e-9  # where Γ is not rounding noise, σ is the convex one
        assert np.all(grid.volatility[:-1, 1:-1][material] == volatility)


# -------------------------------------------------------------------------------------- nonlinear cases


def test_butterfly_bid_matches_pooley_forsyth_vetzal_2003(butterfly_pfv):
    """Published value: Pooley, Forsyth & Vetzal (2003), "Numerical convergence properties of option pricing PDEs
    with uncertain volatility", IMA J. Numer. Anal. 23, 241–267: butterfly long 90 call, short 2 × 100 calls, long
    110 call, σ ∈ [0.15, 0.25], r = 0.1, T = 0.25, S = 100, worst case for the long position (our "bid"):
    2.29769 (their converged value, as quoted by the QuantScale test suite of F. Le Floc'h, which cites the paper
    for it). The paper's short-position (ask) value was not found; the ask is checked against the explicit
    scheme below. Measured here: 2.29810 (400×400); 2.29779 (800×800, see benchmarks/uvm.md)."""
    value = float(butterfly_pfv["bid"].price(100.0))
    assert value == pytest.approx(PFV_BID, rel=5e-3)
    assert value == pytest.approx(PFV_BID, rel=5e-4)  # what the 400×400 grid actually achieves


@pytest.mark.parametrize("band", [(0.15, 0.25), (0.10, 0.20)])
@pytest.mark.parametrize("side", ["ask", "bid"])
def test_butterfly_matches_an_independent_explicit_scheme(band, side):
    """Both worst cases of the 90/100/110 butterfly (r = 0.1, T = 0.25, S = 100) for the band of Pooley et al.
    and for σ ∈ [0.1, 0.2], against ``explicit_log_scheme`` (≈ 1e-4 accurate): within 1e-3 relative."""
    payoff = Payoff.butterfly(90.0, 100.0, 110.0)
    grid = solve_uncertain_volatility(payoff, 0.25, 0.1, *band, side=side, n_space=400, n_time=400)
    oracle = explicit_log_scheme(payoff, 100.0, 0.25, 0.1, *band, ask=side == "ask")
    assert float(grid.price(100.0)) == pytest.approx(oracle, rel=1e-3)


def test_butterfly_bounds_from_black_scholes_legs(butterfly_pfv):
    """Worst cases are sub/super-additive: ask(fly) ≤ C90(σ_max) + C110(σ_max) − 2·C100(σ_min) and
    bid(fly) ≥ C90(σ_min) + C110(σ_min) − 2·C100(σ_max); and bid ≤ BS(σ) ≤ ask for σ across the band."""
    ask, bid = butterfly_pfv["ask"], butterfly_pfv["bid"]
    s = ask.spot[(ask.spot >= 70) & (ask.spot <= 140)]
    tau, r = 0.25, 0.1

    def call(k, sigma):
        return bs.price(s, k, tau, sigma, r)

    upper = call(90, 0.25) + call(110, 0.25) - 2 * call(100, 0.15)
    lower = call(90, 0.15) + call(110, 0.15) - 2 * call(100, 0.25)
    tolerance = 1e-3
    assert np.all(ask.price(s) <= upper + tolerance)
    assert np.all(bid.price(s) >= lower - tolerance)
    for sigma in (0.15, 0.18, 0.2, 0.22, 0.25):
        fly = call(90, sigma) - 2 * call(100, sigma) + call(110, sigma)
        assert np.all(bid.price(s) <= fly + tolerance)
        assert np.all(ask.price(s) >= fly - tolerance)
    assert np.all(bid.values <= ask.values + 1e-10 * np.abs(ask.values) + 1e-12)  # rounding where Γ ≈ 0
    # Γ changes sign: both volatilities are used in the interior
    assert set(np.unique(ask.volatility[0, 1:-1])) == {0.15, 0.25}


def test_straddle_and_call_spread_band_ordering():
    """bid ≤ BS(σ) ≤ ask for σ in the band, for a straddle (convex) and a call spread (Γ changes sign)."""
    for payoff in (Payoff.straddle(100.0), Payoff.call_spread(95.0, 110.0)):
        ask = solve_uncertain_volatility(payoff, 0.5, 0.03, 0.15, 0.35, side="ask")
        bid = solve_uncertain_volatility(payoff, 0.5, 0.03, 0.15, 0.35, side="bid")
        s = np.linspace(60.0, 160.0, 41)
        for sigma in (0.15, 0.25, 0.35):
            value, _ = black_scholes_legs(payoff, s, 0.5, sigma, 0.03)
            slack = 1e-3 * value + 1e-4  # discretisation error of the default grid (measured ≤ 1.3e-4 relative)
            assert np.all(bid.price(s) <= value + slack)
            assert np.all(ask.price(s) >= value - slack)
        assert np.all(bid.values <= ask.values + 1e-10 * np.abs(ask.values) + 1e-12)  # rounding where Γ ≈ 0


def test_butterfly_converges_at_second_order():
    """Successive changes of the bid at S = 100 shrink by ≈ 4 per doubling of both grids (Rannacher + CN)."""
    payoff = Payoff.butterfly(90.0, 100.0, 110.0)
    values = [float(solve_uncertain_volatility(payoff, **PFV, side="bid", n_space=n, n_time=n).price(100.0))
              for n in (50, 100, 200)]
    changes = np.diff(values)
    assert abs(changes[1]) < abs(changes[0])
    assert 3.0 <= changes[0] / changes[1] <= 5.0


def test_policy_iteration_converges_in_few_solves(butterfly_pfv):
    for grid in butterfly_pfv.values():
        assert grid.policy_converged
        assert grid.policy_iterations.shape == (grid.n_time,)
        assert grid.policy_iterations.min() >= 1
        assert grid.policy_iterations.max() < MAX_POLICY_ITERATIONS
        assert grid.policy_iterations.mean() < 3.0


# ---------------------------------------------------------------------------------------- down-and-out


def quantlib_down_and_out_call(spot: float, strike: float, barrier: float, days: int, volatility: float,
                               rate: float, dividend: float) -> tuple[float, float]:
    """AnalyticBarrierEngine (continuous monitoring, rebate 0): value and a central-bump Δ (the engine gives none)."""
    ql.Settings.instance().evaluationDate = TODAY
    quote = ql.SimpleQuote(spot)
    process = ql.BlackScholesMertonProcess(
        ql.QuoteHandle(quote),
        ql.YieldTermStructureHandle(ql.FlatForward(TODAY, dividend, DAY_COUNT)),
        ql.YieldTermStructureHandle(ql.FlatForward(TODAY, rate, DAY_COUNT)),
        flat_volatility(volatility),
    )
    option = ql.BarrierOption(ql.Barrier.DownOut, barrier, 0.0, ql.PlainVanillaPayoff(ql.Option.Call, strike),
                              ql.EuropeanExercise(TODAY + days))
    option.setPricingEngine(ql.AnalyticBarrierEngine(process))
    value = option.NPV()
    bump = 1e-4 * spot
    quote.setValue(spot + bump)
    up = option.NPV()
    quote.setValue(spot - bump)
    down = option.NPV()
    return value, (up - down) / (2 * bump)


@pytest.mark.parametrize(("strike", "barrier"), [(100.0, 90.0), (100.0, 95.0), (90.0, 95.0)])
def test_down_and_out_call_with_equal_bounds_matches_quantlib(strike, barrier):
    """σ_min = σ_max = 0.25, r = 5%, q = 2%, 182 days: value and Δ within 1e-3 relative on the default grid
    (measured: ≤ 7e-5)."""
    days = 182
    grid = solve_uncertain_volatility(Payoff.down_and_out_call(strike, barrier), days / 365, 0.05, 0.25, 0.25,
                                      dividend=0.02)
    assert grid.spot[0] == barrier
    for spot in (barrier + 1.0, 100.0, 110.0, 130.0):
        value, delta = quantlib_down_and_out_call(spot, strike, barrier, days, 0.25, 0.05, 0.02)
        assert float(grid.price(spot)) == pytest.approx(value, rel=1e-3)
        assert float(grid.delta_at(spot)) == pytest.approx(delta, rel=1e-3)


def test_down_and_out_lookups_at_or_below_the_barrier_give_the_rebate():
    grid = solve_uncertain_volatility(Payoff.down_and_out_call(100.0, 90.0), 0.5, 0.05, 0.15, 0.3)
    s = np.array([0.0, 50.0, 89.99, 90.0])
    greeks = grid.greeks(s, 0.2)
    for array in greeks:
        np.testing.assert_array_equal(array, 0.0)
    assert float(grid.price(90.5, 0.2)) > 0.0
    assert np.all(grid.values[:, 0] == 0.0)


# ------------------------------------------------------------------------------------------------ lookups


@pytest.fixture(scope="module")
def call_grid() -> UncertainVolatilityGrid:
    return solve_uncertain_volatility(Payoff.call(100.0), 0.5, 0.03, 0.2, 0.2, dividend=0.01)


def test_lookups_reproduce_the_nodes_exactly(butterfly_pfv):
    grid = butterfly_pfv["ask"]
    for level in (0, 17, grid.n_time - 1, grid.n_time):
        t = grid.time[level]
        np.testing.assert_array_equal(grid.price(grid.spot, t), grid.values[level])
        np.testing.assert_array_equal(grid.delta_at(grid.spot, t), grid.delta[level])
        np.testing.assert_array_equal(grid.gamma_at(grid.spot, t), grid.gamma[level])
        per_path_time = np.full(grid.spot.size, t)
        np.testing.assert_array_equal(grid.price(grid.spot, per_path_time), grid.values[level])
        np.testing.assert_array_equal(grid.delta_at(grid.spot, per_path_time), grid.delta[level])


def test_lookups_vectorised_over_100k_paths(call_grid):
    rng = np.random.default_rng(7)
    spot = rng.uniform(40.0, 1.2 * call_grid.spot_max, 100_000)
    times = rng.uniform(0.0, 0.5, 100_000)
    greeks = call_grid.greeks(spot, 0.3)
    assert isinstance(greeks, GridGreeks)
    for array in greeks:
        assert array.shape == (100_000,) and np.all(np.isfinite(array))
    np.testing.assert_array_equal(call_grid.price(spot, 0.3), greeks.price)
    np.testing.assert_array_equal(call_grid.delta_at(spot, 0.3), greeks.delta)
    np.testing.assert_array_equal(call_grid.gamma_at(spot, 0.3), greeks.gamma)
    per_path = call_grid.greeks(spot, times)
    sample = rng.choice(100_000, 25, replace=False)
    for j in sample:  # the vectorised per-path times agree with scalar lookups
        one = call_grid.greeks(spot[j], times[j])
        for a, b in zip(per_path, one, strict=True):
            assert a[j] == pytest.approx(float(b), rel=1e-12, abs=1e-14)


def test_lookups_between_nodes_and_levels_match_black_scholes(call_grid):
    """Hermite interpolation in S and linear in t keep the 1e-3 accuracy of the nodes between them (values of at
    least 1% of the strike, Δ >= 0.15; Γ within 1% of its peak) on the default grid. Small Deltas are resolved
    less well (Δ >= 0.1: 1.3e-3 here), the more so near expiry (τ = 0.05: 4e-3 at Δ ≈ 0.13), so τ >= 0.25 here."""
    rng = np.random.default_rng(11)
    spot = rng.uniform(85.0, 130.0, 2_000)
    times = rng.uniform(0.0, 0.25, 2_000)  # τ >= 0.25: nearer expiry the fixed grid resolves Δ less well
    got = call_grid.greeks(spot, times)
    tau = 0.5 - times
    value = bs.price(spot, 100.0, tau, 0.2, 0.03, 0.01)
    delta = bs.delta(spot, 100.0, tau, 0.2, 0.03, 0.01)
    gamma = bs.gamma(spot, 100.0, tau, 0.2, 0.03, 0.01)
    worth, moving = value >= 1.0, delta >= 0.15
    assert worth.sum() > 1_000 and moving.sum() > 1_000
    assert np.max(np.abs(got.price - value)[worth] / value[worth]) <= 1e-3
    assert np.max(np.abs(got.delta - delta)[moving] / delta[moving]) <= 1e-3
    assert np.max(np.abs(got.gamma - gamma)) <= 1e-2 * gamma.max()


def test_lookup_time_is_linear_between_levels(call_grid):
    spot = np.array([90.0, 100.0, 117.3])
    t0, t1 = call_grid.time[40], call_grid.time[41]
    middle = call_grid.greeks(spot, 0.5 * (t0 + t1))
    for got, a, b in zip(middle, call_grid.greeks(spot, t0), call_grid.greeks(spot, t1), strict=True):
        np.testing.assert_allclose(got, 0.5 * (a + b), rtol=1e-12)


def test_lookup_at_maturity_is_the_payoff(butterfly_pfv):
    grid = butterfly_pfv["bid"]
    spot = np.random.default_rng(3).uniform(50.0, 150.0, 1_000)
    np.testing.assert_allclose(grid.price(spot, grid.maturity), grid.payoff(spot), rtol=0, atol=1e-12)


def test_lookup_above_the_grid_continues_linearly(call_grid):
    top = call_grid.spot_max
    far = np.array([top, 1.5 * top, 3.0 * top])
    greeks = call_grid.greeks(far, 0.0)
    slope = np.exp(-0.01 * 0.5)
    np.testing.assert_allclose(greeks.delta, slope, rtol=1e-12)
    np.testing.assert_array_equal(greeks.gamma, 0.0)
    np.testing.assert_allclose(np.diff(greeks.price) / np.diff(far), slope, rtol=1e-12)
    np.testing.assert_allclose(greeks.price, bs.price(far, 100.0, 0.5, 0.2, 0.03, 0.01), rtol=1e-6)


@pytest.mark.parametrize(
    ("spot", "time", "field"),
    [
        (np.array([100.0, np.nan]), 0.0, "spot"),
        (np.array([100.0, -1.0]), 0.0, "spot"),
        (100.0, 0.6, "time"),
        (100.0, -0.1, "time"),
        (100.0, float("nan"), "time"),
        (np.array([100.0, 100.0]), np.array([0.1, 0.51]), "time"),
    ],
)
def test_lookup_errors_name_the_field(call_grid, spot, time, field):
    with pytest.raises(ValueError, match=field):
        call_grid.greeks(spot, time)


def test_grid_arrays_are_read_only_and_shaped(call_grid):
    m, n = call_grid.n_space, call_grid.n_time
    assert (m, n) == (200, 200)
    assert call_grid.spot.shape == (m + 1,) and call_grid.time.shape == (n + 1,)
    assert call_grid.time[0] == 0.0 and call_grid.time[-1] == call_grid.maturity
    assert np.all(np.diff(call_grid.spot) > 0) and call_grid.spot[0] == 0.0
    for array in (call_grid.values, call_grid.delta, call_grid.gamma, call_grid.volatility):
        assert array.shape == (n + 1, m + 1)
        with pytest.raises(ValueError):
            array[0, 0] = 1.0


# --------------------------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"payoff": "call"}, "payoff"),
        ({"maturity": 0.0}, "maturity"),
        ({"rate": float("nan")}, "rate"),
        ({"dividend": float("inf")}, "dividend"),
        ({"volatility_min": -0.1}, "volatility_min"),
        ({"volatility_max": 0.05}, "volatility_max"),
        ({"side": "mid"}, "side"),
        ({"spot_max": 100.0}, "spot_max"),
        ({"n_space": 9}, "n_space"),
        ({"n_space": 50.0}, "n_space"),
        ({"n_time": 0}, "n_time"),
        ({"rannacher_steps": -1}, "rannacher_steps"),
        ({"rannacher_steps": 11}, "rannacher_steps"),
    ],
)
def test_solver_errors_name_the_argument(change, field):
    arguments = {"payoff": Payoff.call(100.0), "maturity": 1.0, "rate": 0.02, "volatility_min": 0.1,
                 "volatility_max": 0.3, "n_time": 10}
    arguments.update(change)
    with pytest.raises(ValueError, match=field):
        solve_uncertain_volatility(**arguments)


@settings(max_examples=25, deadline=None)
@given(sigma=st.floats(0.15, 0.25), spot=st.floats(75.0, 125.0))
def test_every_constant_volatility_in_the_band_lies_between_bid_and_ask(butterfly_pfv, sigma, spot):
    bid, ask = butterfly_pfv["bid"], butterfly_pfv["ask"]
    value, _ = black_scholes_legs(Payoff.butterfly(90.0, 100.0, 110.0), spot, 0.25, sigma, 0.1)
    assert float(bid.price(spot)) <= float(value) + 1e-3 <= float(ask.price(spot)) + 2e-3
