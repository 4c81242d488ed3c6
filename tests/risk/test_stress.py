"""Stress tests: full revaluation against independent closed forms (math, QuantLib), vol-bump semantics per model,
the Δ–Γ Taylor estimate's order, the t = 0 hedges, scenario parsing and the written files."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest
import QuantLib as ql

from hedgegym.instruments import Book, EuropeanOption, Position
from hedgegym.market import (
    SABR,
    GeometricBrownianMotion,
    Heston,
    MarketModel,
    MertonJumpDiffusion,
    RegimeSwitchingVolatility,
)
from hedgegym.pricing import black_scholes
from hedgegym.risk.stress import (
    DEFAULT_SCENARIOS,
    STRESS_COLUMNS,
    Hedge,
    Scenario,
    bump_volatility,
    default_hedge_mode,
    initial_hedge,
    initial_variance,
    parse_scenarios,
    portfolio_greeks,
    shock_model,
    stress_test,
    worst_scenario,
    write_stress_outputs,
)
from tests.pricing.quantlib_oracle import heston_price


# ------------------------------------------------------------------------------------------ independent formulas
def _normal_cdf(x: float) -> float:
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def _normal_pdf(x: float) -> float:
    return math.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)


def _d1(spot, strike, tau, sigma, rate, dividend):
    return (math.log(spot / strike) + (rate - dividend + 0.5 * sigma**2) * tau) / (sigma * math.sqrt(tau))


def _ql_call(spot, strike, tau, sigma, rate, dividend) -> float:
    """Black–Scholes–Merton call from QuantLib's ``blackFormula`` on the forward."""
    forward = spot * math.exp((rate - dividend) * tau)
    return ql.blackFormula(ql.Option.Call, strike, forward, sigma * math.sqrt(tau), math.exp(-rate * tau))


def _call_delta(spot, strike, tau, sigma, rate, dividend) -> float:
    return math.exp(-dividend * tau) * _normal_cdf(_d1(spot, strike, tau, sigma, rate, dividend))


def _call_gamma(spot, strike, tau, sigma, rate, dividend) -> float:
    d1 = _d1(spot, strike, tau, sigma, rate, dividend)
    return math.exp(-dividend * tau) * _normal_pdf(d1) / (spot * sigma * math.sqrt(tau))


# ------------------------------------------------------------------------------------------ full revaluation
def test_delta_hedged_short_call_under_gbm_matches_closed_form_black_scholes():
    """Short 10 calls (×100) + N(d1)e^{−qT}·1000 shares: ΔV, ΔΔ, ΔΓ per scenario from formulas in this test."""
    s0, strike, tau, sigma, rate, dividend, contracts = 100.0, 105.0, 0.3, 0.25, 0.03, 0.01, 10.0
    model = GeometricBrownianMotion(spot=s0, volatility=sigma, rate=rate, dividend=dividend)
    book = Book.short_call(strike, tau, contracts)
    hedge = initial_hedge(model, book, mode="delta")
    units = contracts * 100.0
    shares = units * _call_delta(s0, strike, tau, sigma, rate, dividend)
    assert hedge.stock == pytest.approx(shares, rel=1e-12)
    assert hedge.options == () and hedge.neutralised == ("delta",)

    table = stress_test(model, book, hedge, DEFAULT_SCENARIOS)
    assert list(table.columns) == list(STRESS_COLUMNS)
    assert list(table["scenario"]) == [s.name for s in DEFAULT_SCENARIOS]
    base_gamma = -units * _call_gamma(s0, strike, tau, sigma, rate, dividend)
    for scenario, row in zip(DEFAULT_SCENARIOS, table.itertuples(index=False), strict=True):
        s1, sigma1 = s0 * (1.0 + scenario.spot_shock), sigma + scenario.vol_shock
        expected = (-units * (_ql_call(s1, strike, tau, sigma1, rate, dividend)
                              - _ql_call(s0, strike, tau, sigma, rate, dividend)) + shares * (s1 - s0))
        assert row.spot == pytest.approx(s1, rel=1e-15)
        assert row.value_change == pytest.approx(expected, rel=1e-9, abs=1e-8)
        assert row.loss == pytest.approx(max(-expected, 0.0), rel=1e-9, abs=1e-8)
        new_delta = -units * _call_delta(s1, strike, tau, sigma1, rate, dividend) + shares
        assert row.delta_change == pytest.approx(new_delta - 0.0, rel=1e-9, abs=1e-9)
        new_gamma = -units * _call_gamma(s1, strike, tau, sigma1, rate, dividend)
        assert row.gamma_change == pytest.approx(new_gamma - base_gamma, rel=1e-9, abs=1e-12)
        d_spot = s1 - s0
        assert row.delta_gamma_estimate == pytest.approx(0.5 * base_gamma * d_spot**2, rel=1e-9, abs=1e-9)


def test_unhedged_heston_straddle_matches_quantlib_heston_engine():
    """Spot −10% with vol +20 points under Heston: v₀ and θ to (√v + 0.2)²; ΔV vs AnalyticHestonEngine."""
    days = 73
    tau = days / 365.0
    model = Heston(spot=100.0, initial_variance=0.05, mean_reversion=1.5, long_run_variance=0.03, vol_of_vol=0.6,
                   correlation=-0.6, rate=0.02, dividend=0.01)
    book = Book.short_straddle(100.0, tau, 2.0)
    scenario = Scenario("crash and vol", spot_shock=-0.10, vol_shock=0.20)
    row = stress_test(model, book, None, [scenario]).iloc[0]

    def straddle(spot, v0, theta):
        return sum(heston_price(spot, 100.0, days, v0, 1.5, theta, 0.6, -0.6, 0.02, 0.01, call) for call in (1, 0))

    v1, theta1 = (math.sqrt(0.05) + 0.2) ** 2, (math.sqrt(0.03) + 0.2) ** 2
    expected = -200.0 * (straddle(90.0, v1, theta1) - straddle(100.0, 0.05, 0.03))
    assert row["value_change"] == pytest.approx(expected, rel=1e-7)


def test_zero_scenario_changes_nothing_and_hedge_none_is_the_book():
    model = Heston(spot=100.0, rate=0.01)
    book = Book.short_straddle(95.0, 0.5, 3.0)
    table = stress_test(model, book, Hedge(), [Scenario("nothing")])
    assert table.loc[0, ["value_change", "delta_change", "gamma_change", "loss"]].abs().max() == 0.0
    assert portfolio_greeks(model, book) == portfolio_greeks(model, book, Hedge())


def test_stock_and_option_hedges_add_their_exact_values():
    model = GeometricBrownianMotion(spot=100.0, volatility=0.2, rate=0.01)
    book = Book.short_call(100.0, 0.25, 1.0)
    option = EuropeanOption(110.0, 0.5, call=False, multiplier=50.0)
    hedge = Hedge(stock=7.0, options=(Position(option, 3.0),))
    with_hedge, alone = portfolio_greeks(model, book, hedge), portfolio_greeks(model, book)
    put = black_scholes.greeks(100.0, 110.0, 0.5, 0.2, 0.01, 0.0, False)
    assert with_hedge.price == pytest.approx(alone.price + 700.0 + 150.0 * float(put.price), rel=1e-13)
    assert with_hedge.delta == pytest.approx(alone.delta + 7.0 + 150.0 * float(put.delta), rel=1e-13)
    assert with_hedge.vega == pytest.approx(alone.vega + 150.0 * float(put.vega), rel=1e-13)


# ------------------------------------------------------------------------------------------ Taylor estimates
MODELS = [
    GeometricBrownianMotion(spot=100.0, volatility=0.2, rate=0.02, dividend=0.01),
    MertonJumpDiffusion(spot=100.0, rate=0.02),
    SABR(spot=100.0, rate=0.01),
    Heston(spot=100.0, rate=0.02),
    RegimeSwitchingVolatility(spot=100.0, rate=0.02),
]


@pytest.mark.parametrize("model", MODELS, ids=lambda m: type(m).__name__)
def test_delta_gamma_estimate_is_exact_to_second_order(model):
    """The Taylor error |ΔV − (Δ dS + ½ Γ dS²)| is third order in dS: halving the shock divides it by ≈ 8."""
    book = Book.short_straddle(100.0, 0.25, 10.0)
    hedge = initial_hedge(model, book, mode="delta")
    errors = []
    for shock in (4e-3, 2e-3, 1e-3):
        table = stress_test(model, book, hedge, [Scenario("up", spot_shock=shock), Scenario("down", spot_shock=-shock)])
        errors.append((table["value_change"] - table["delta_gamma_estimate"]).abs().to_numpy())
        # the Γ term itself is second order: the estimate captures almost all of ΔV
        assert np.all(np.abs(table["value_change"] - table["delta_gamma_estimate"])
                      < 0.05 * np.abs(table["value_change"]))
    ratios = np.array(errors[:-1]) / np.array(errors[1:])
    assert np.all((ratios > 7.0) & (ratios < 9.0)), ratios


@pytest.mark.parametrize("model", [m for m in MODELS if not isinstance(m, Heston)], ids=lambda m: type(m).__name__)
def test_vega_term_is_exact_to_first_order_in_the_vol_shock(model):
    """ΔV − vega·dθ is second order in a small vol shock (ratio ≈ 4 when halved). Heston is left out on
    purpose: its vol bump also moves the long-run variance, which vega (∂V/∂v₀) does not see."""
    book = Book.short_straddle(100.0, 0.25, 10.0)
    errors = []
    for shock in (4e-3, 2e-3, 1e-3):
        row = stress_test(model, book, None, [Scenario("vol", vol_shock=shock)]).iloc[0]
        assert row["delta_gamma_estimate"] == 0.0
        errors.append(abs(row["value_change"] - row["delta_gamma_vega_estimate"]))
    ratios = np.array(errors[:-1]) / np.array(errors[1:])
    assert np.all((ratios > 3.5) & (ratios < 4.5)), ratios


# ------------------------------------------------------------------------------------------ vol bump semantics
def test_vol_bump_per_model():
    gbm = bump_volatility(GeometricBrownianMotion(volatility=0.2, mu=0.05), 0.2)
    assert gbm.volatility == pytest.approx(0.4) and gbm.mu == 0.05

    merton = MertonJumpDiffusion(volatility=0.15, jump_intensity=1.0, jump_mean=-0.1, jump_std=0.1)
    bumped = bump_volatility(merton, 0.2)
    assert bumped.volatility == pytest.approx(0.35)
    assert (bumped.jump_intensity, bumped.jump_mean, bumped.jump_std) == (1.0, -0.1, 0.1)

    heston = Heston(initial_variance=0.09, long_run_variance=0.04, mean_reversion=3.0, vol_of_vol=0.4)
    bumped = bump_volatility(heston, 0.2)
    assert bumped.initial_variance == pytest.approx(0.25)  # (0.3 + 0.2)²
    assert bumped.long_run_variance == pytest.approx(0.16)  # (0.2 + 0.2)²
    assert (bumped.mean_reversion, bumped.vol_of_vol, bumped.correlation) == (3.0, 0.4, heston.correlation)

    sabr = bump_volatility(SABR(alpha=0.25, vol_of_vol=0.4), 0.2)
    assert sabr.alpha == pytest.approx(0.45) and sabr.vol_of_vol == 0.4

    regime = bump_volatility(RegimeSwitchingVolatility(volatility_min=0.1, volatility_max=0.3, levels=(0.1, 0.2, 0.3)),
                             0.2)
    assert regime.levels == pytest.approx((0.3, 0.4, 0.5))
    assert (regime.volatility_min, regime.volatility_max) == pytest.approx((0.3, 0.5))

    model = GeometricBrownianMotion()
    assert bump_volatility(model, 0.0) is model


def test_shock_model_moves_spot_and_vol_together_and_leaves_the_rest():
    model = Heston(spot=80.0, initial_variance=0.04, long_run_variance=0.04, mu=0.1, rate=0.03)
    shocked = shock_model(model, Scenario("both", spot_shock=-0.1, vol_shock=0.2))
    assert shocked.spot == pytest.approx(72.0)
    assert shocked.initial_variance == pytest.approx(0.16)
    assert (shocked.mu, shocked.rate, shocked.dividend) == (0.1, 0.03, 0.0)


def test_regime_switching_is_marked_at_the_initial_regime_volatility():
    book = Book.short_call(100.0, 0.25, 1.0)
    model = RegimeSwitchingVolatility(volatility_min=0.15, volatility_max=0.3, initial_regime=1, rate=0.02)
    assert initial_variance(model) == pytest.approx(0.09)
    expected = -100.0 * float(black_scholes.price(100.0, 100.0, 0.25, 0.3, 0.02))
    assert portfolio_greeks(model, book).price == pytest.approx(expected, rel=1e-13)
    bumped = -100.0 * float(black_scholes.price(100.0, 100.0, 0.25, 0.5, 0.02))
    row = stress_test(model, book, None, [Scenario("vol", vol_shock=0.2)]).iloc[0]
    assert row["value_change"] == pytest.approx(bumped - expected, rel=1e-12)
    random_first = dataclasses.replace(model, initial_regime=None)
    assert initial_variance(random_first) == pytest.approx((0.15**2 + 0.3**2) / 2)


@pytest.mark.parametrize(
    ("model", "shift", "message"),
    [
        (GeometricBrownianMotion(volatility=0.1), -0.2, "negative"),
        (Heston(initial_variance=0.01), -0.2, "initial_variance"),
        (SABR(alpha=0.2), -0.2, "alpha"),
        (RegimeSwitchingVolatility(volatility_rule=lambda t, s: np.full_like(s, 0.2)), 0.2, "volatility_rule"),
    ],
)
def test_impossible_vol_bumps_are_refused(model, shift, message):
    with pytest.raises(ValueError, match=message):
        bump_volatility(model, shift)


def test_unknown_model_cannot_be_bumped():
    @dataclasses.dataclass(frozen=True, kw_only=True)
    class Constant(MarketModel):
        def _simulate(self, n_paths, n_steps, dt, rng, drift):  # pragma: no cover - never simulated here
            raise NotImplementedError

    with pytest.raises(ValueError, match="cannot bump the volatility of Constant"):
        bump_volatility(Constant(), 0.2)


# ------------------------------------------------------------------------------------------ the t = 0 hedge
def test_greek_hedge_with_one_option_is_delta_gamma_neutral():
    model = GeometricBrownianMotion(spot=100.0, volatility=0.2, rate=0.02)
    book = Book.short_call(100.0, 1 / 12, 10.0)
    options = (EuropeanOption(105.0, 2 / 12),)
    assert default_hedge_mode(options) == "greeks" and default_hedge_mode(()) == "delta"
    hedge = initial_hedge(model, book, options)
    assert hedge.neutralised == ("delta", "gamma") and not hedge.ill_conditioned
    greeks = portfolio_greeks(model, book, hedge)
    scale = portfolio_greeks(model, book)
    assert abs(greeks.delta) < 1e-9 * abs(scale.delta) and abs(greeks.gamma) < 1e-9 * abs(scale.gamma)
    # the Δ–Γ estimate of a Δ–Γ-neutral portfolio is zero for any spot move; its vega is left
    table = stress_test(model, book, hedge)
    assert np.allclose(table["delta_gamma_estimate"], 0.0, atol=1e-6)
    assert greeks.vega != pytest.approx(0.0)


def test_greek_hedge_with_two_options_under_heston_is_delta_gamma_vega_neutral():
    model = Heston(spot=100.0, vol_of_vol=0.6, rate=0.02)
    book = Book.short_straddle(100.0, 0.25, 5.0)
    options = (EuropeanOption(100.0, 0.5), EuropeanOption(110.0, 0.5))
    hedge = initial_hedge(model, book, options, "greeks")
    assert hedge.neutralised == ("delta", "gamma", "vega") and not hedge.ill_conditioned
    greeks, scale = portfolio_greeks(model, book, hedge), portfolio_greeks(model, book)
    for name in ("delta", "gamma", "vega"):
        assert abs(getattr(greeks, name)) < 1e-9 * abs(getattr(scale, name))


def test_collinear_gamma_and_vega_fall_back_to_delta_gamma():
    """Black–Scholes options of one maturity have vega = Γ S² σ τ: Δ, Γ, vega cannot all be cancelled."""
    model = GeometricBrownianMotion(spot=100.0, volatility=0.22, rate=0.02)
    book = Book.short_call(100.0, 1 / 6, 10.0)
    options = (EuropeanOption(100.0, 0.25), EuropeanOption(105.0, 0.25, call=False))
    hedge = initial_hedge(model, book, options, "greeks")
    assert hedge.ill_conditioned and hedge.neutralised == ("delta", "gamma")
    greeks = portfolio_greeks(model, book, hedge)
    assert abs(greeks.delta) < 1e-9 and abs(greeks.gamma) < 1e-9


def test_hedge_modes_and_their_errors():
    model, book = GeometricBrownianMotion(), Book.short_call(100.0, 0.25)
    assert initial_hedge(model, book, mode="none") == Hedge()
    with pytest.raises(ValueError, match="hedge must be one of none, delta, greeks; got 'gamma'"):
        initial_hedge(model, book, mode="gamma")
    with pytest.raises(ValueError, match="needs at least one listed hedge option"):
        initial_hedge(model, book, mode="greeks")


# ------------------------------------------------------------------------------------------ scenarios
def test_parse_scenarios_reads_lists_and_the_scenarios_key():
    data = [{"name": "gap down", "spot_shock": -0.3}, {"name": "vol spike", "vol_shock": 0.5}]
    assert parse_scenarios(data) == (Scenario("gap down", spot_shock=-0.3), Scenario("vol spike", vol_shock=0.5))
    assert parse_scenarios({"scenarios": data}) == parse_scenarios(data)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([{"name": "x", "spot": -0.1}], r"scenarios\[0\]\.spot is not a scenario field; allowed: name, spot_shock, "
                                        "vol_shock"),
        ([{"spot_shock": -0.1}], r"scenarios\[0\]\.name is missing"),
        ([{"name": "x"}, {"name": "x"}], "must be unique"),
        ([{"name": "x", "spot_shock": -1.0}], r"spot_shock of scenario 'x' must be > -1"),
        ([{"name": "x", "vol_shock": "high"}], "vol_shock of scenario 'x' must be a real number"),
        ([{"name": "x", "vol_shock": float("nan")}], "must be finite"),
        ([], "non-empty list"),
        ("spot -10%", "non-empty list"),
        ([3], r"scenarios\[0\] must be a mapping"),
    ],
)
def test_bad_scenarios_are_reported_with_the_entry_and_field(data, message):
    with pytest.raises(ValueError, match=message):
        parse_scenarios(data)


def test_stress_test_refuses_bad_scenario_lists():
    model, book = GeometricBrownianMotion(), Book.short_call(100.0, 0.25)
    with pytest.raises(ValueError, match="at least one Scenario"):
        stress_test(model, book, None, [])
    with pytest.raises(ValueError, match=r"scenarios\[0\] must be a Scenario"):
        stress_test(model, book, None, [{"name": "x"}])


def test_worst_scenario_is_the_largest_loss():
    table = pd.DataFrame({"scenario": ["a", "b", "c"], "value_change": [5.0, -7.0, -2.0], "loss": [0.0, 7.0, 2.0]})
    assert worst_scenario(table)["scenario"] == "b"
    gains = pd.DataFrame({"scenario": ["a", "b"], "value_change": [5.0, 1.0], "loss": [0.0, 0.0]})
    assert worst_scenario(gains)["scenario"] == "b"


def test_written_files_are_never_overwritten(tmp_path):
    model, book = GeometricBrownianMotion(), Book.short_call(100.0, 0.25, 10.0)
    table = stress_test(model, book, initial_hedge(model, book))
    csv, md = write_stress_outputs(table, tmp_path / "out", title="stress test: test")
    read = pd.read_csv(csv)
    assert list(read.columns) == list(STRESS_COLUMNS)
    np.testing.assert_allclose(read["value_change"], table["value_change"], rtol=1e-9)
    text = md.read_text()
    assert "flash crash -20%" in text and "Worst scenario: **flash crash -20%**" in text
    before = csv.read_bytes(), text
    with pytest.raises(FileExistsError, match="never overwrites"):
        write_stress_outputs(table.iloc[:1], tmp_path / "out")
    assert (csv.read_bytes(), md.read_text()) == before


def test_barrier_book_is_hedged_and_stressed_with_the_engines_monitoring():
    """A short down-and-out call (K 100, B 90, daily monitoring): the t = 0 delta hedge is Δ-neutral under the
    same BGK-corrected valuation, and a −10% shock (onto the barrier) knocks the book out: ΔV = −V_book + h·dS."""
    from hedgegym.pricing import barrier

    model = GeometricBrownianMotion(spot=100.0, volatility=0.2, mu=0.05, rate=0.02)
    option = EuropeanOption(strike=100.0, maturity=0.25, call=True, barrier=90.0)
    book = Book((Position(option, -10.0),))
    step = 0.25 / 63
    with pytest.raises(ValueError, match="monitoring_interval"):
        initial_hedge(model, book, (), "delta")
    hedge = initial_hedge(model, book, (), "delta", monitoring_interval=step)
    unit = barrier.greeks(100.0, 100.0, 0.25, 0.2, 0.02, 0.0, True, barrier=90.0, monitoring_interval=step)
    assert hedge.stock == pytest.approx(10 * 100 * float(unit.delta), rel=1e-12)
    base = portfolio_greeks(model, book, hedge, monitoring_interval=step)
    assert base.delta == pytest.approx(0.0, abs=1e-9)
    table = stress_test(model, book, hedge, [Scenario("onto the barrier", -0.10, 0.0)], monitoring_interval=step)
    expected = 10 * 100 * float(unit.price) + hedge.stock * (90.0 - 100.0)
    assert table["value_change"].iloc[0] == pytest.approx(expected, rel=1e-12)


def test_an_interrupted_write_leaves_no_file_and_the_rerun_succeeds(tmp_path, monkeypatch):
    import hedgegym.risk.stress as stress_module

    model, book = GeometricBrownianMotion(), Book.short_call(100.0, 0.25)
    table = stress_test(model, book, initial_hedge(model, book, mode="delta"))

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(stress_module, "_stress_markdown", interrupted)
        with pytest.raises(KeyboardInterrupt):
            write_stress_outputs(table, tmp_path / "out")
    assert list((tmp_path / "out").iterdir()) == []  # no stress.csv without its stress.md, no staging left
    paths = write_stress_outputs(table, tmp_path / "out")
    assert all(path.is_file() for path in paths)


def test_an_interrupt_between_the_two_links_leaves_neither_file(tmp_path, monkeypatch):
    """The review's case: Ctrl-C after stress.csv was linked into place left it alone, and the rerun refused."""
    import os as os_module

    import hedgegym.risk.stress as stress_module

    model, book = GeometricBrownianMotion(), Book.short_call(100.0, 0.25)
    table = stress_test(model, book, initial_hedge(model, book, mode="delta"))
    real_link, calls = os_module.link, []

    def link_then_interrupt(source, target):
        calls.append(target)
        if len(calls) == 2:
            raise KeyboardInterrupt
        real_link(source, target)

    with monkeypatch.context() as patch:
        patch.setattr(stress_module.os, "link", link_then_interrupt)
        with pytest.raises(KeyboardInterrupt):
            write_stress_outputs(table, tmp_path / "out")
    assert list((tmp_path / "out").iterdir()) == []
    assert all(path.is_file() for path in write_stress_outputs(table, tmp_path / "out"))
