"""Cost-aware rules use the whole cost model or refuse with the reason (issue 10, cases 2 and 7).

References: Leland (1985) and Hoggard, Whalley & Wilmott (1994) for the Leland number and its domain; Whalley &
Wilmott (1997) for the proportional band; the fixed-fee bands' ingredients (time-average of y² and mean time
between trades of a restarted Brownian deviation) by a Monte Carlo written here and their optimum by a brute-force
grid; Greeks from QuantLib."""

from __future__ import annotations

import numpy as np
import pytest

from hedgegym.baselines import DeltaHedger, HedgerDomainError, LelandHedger, StockCosts, WhalleyWilmottHedger
from hedgegym.baselines.whalley_wilmott import impulse_bands
from hedgegym.config import parse_config
from hedgegym.engine import HedgingEngine
from hedgegym.evaluation import evaluate
from hedgegym.evaluation.reports import compare, default_hedgers
from hedgegym.market import GeometricBrownianMotion
from tests.pricing.quantlib_oracle import black_scholes


def config(quantity: float = -10, costs: dict | None = None, n_steps: int = 20, maturity: float = 20 / 252):
    return parse_config({
        "market": {"model": "gbm", "spot": 100.0, "volatility": 0.2, "mu": 0.05, "rate": 0.0},
        "book": [{"strike": 100.0, "maturity": maturity, "call": True, "quantity": quantity}],
        "simulation": {"n_steps": n_steps},
        "costs": costs if costs is not None else {"proportional": {"stock": 0.01}},
    })


def leland_number(rate: float, dt: float, sigma: float = 0.2) -> float:
    return np.sqrt(2 / np.pi) * 2 * rate / (sigma * np.sqrt(dt))


def test_leland_refuses_a_long_book_when_its_number_exceeds_one():
    """The audit's case: a long 10-call book, 1% cost, daily: Le = 1.27 and σ²(1 − Le) < 0."""
    assert leland_number(0.01, 1 / 252) == pytest.approx(1.27, abs=0.01)
    with pytest.raises(HedgerDomainError, match=r"Leland number 1.27 >= 1 where the book is long gamma"):
        evaluate(LelandHedger(volatility=0.2), config(quantity=+10), 50, seed=0)
    comparison = compare(config(quantity=+10), n_paths=50, bootstrap=0)
    assert "leland" not in comparison.table.index and "long gamma" in comparison.skipped["leland"]
    assert "whalley_wilmott" in comparison.table.index  # the band rule covers long books


def test_leland_accepts_the_same_long_book_below_one_and_every_short_book():
    assert leland_number(0.005, 1 / 252) < 1
    evaluate(LelandHedger(volatility=0.2), config(quantity=+10, costs={"proportional": {"stock": 0.005}}), 50, 0)
    evaluate(LelandHedger(volatility=0.2), config(quantity=-10), 50, seed=0)  # short gamma: σ²(1 + Le) > 0


QUANTLIB_DAYS = 73  # QuantLib counts whole days / 365: the one-path engines use τ = 73/365 = 0.2 years


def one_path_engine(costs, quantity: float = -10) -> HedgingEngine:
    cfg = config(quantity=quantity, maturity=QUANTLIB_DAYS / 365)
    model = GeometricBrownianMotion(spot=100.0, volatility=0.2, rate=0.0)
    engine = HedgingEngine(model, cfg.build_book(), n_steps=20, costs=costs)
    engine.reset(np.full((21, 1), 100.0), np.full((21, 1), 0.04))
    return engine


def quantlib_gamma(days: int = QUANTLIB_DAYS) -> float:
    one = np.ones(1)
    return float(black_scholes(100 * one, 100 * one, [days], 0.2 * one, 0 * one, 0 * one, [True])["gamma"][0])


def test_leland_uses_the_half_spread_as_a_linear_cost():
    costs = parse_config({**config().model_dump(), "costs": {"proportional": {"stock": 0.001},
                                                             "half_spread": {"stock": 0.03}}}).costs.build(0)
    engine = one_path_engine(costs)
    hedger = LelandHedger(volatility=0.2)
    hedger.reset(engine)
    expected = leland_number(0.001 + 0.03 / 100.0, QUANTLIB_DAYS / 365 / 20)
    assert float(hedger.leland_number(engine.dt, engine.spot)[0]) == pytest.approx(expected, rel=1e-12)


def test_whalley_wilmott_band_with_linear_costs_and_with_a_fixed_fee():
    gamma = 10 * 100 * quantlib_gamma()  # the short book's |Γ|, shares per unit of spot (Γ² enters the band)
    risk = 100.0 / (1_000 * 100.0)
    linear = parse_config({**config().model_dump(), "costs": {"proportional": {"stock": 0.001},
                                                              "half_spread": {"stock": 0.03}}}).costs.build(0)
    engine = one_path_engine(linear)
    hedger = WhalleyWilmottHedger()
    hedger.reset(engine)
    per_share = 0.001 * 100 + 0.03
    np.testing.assert_allclose(hedger.half_width(engine), (3 * per_share * gamma**2 / (2 * risk)) ** (1 / 3), rtol=1e-6)
    fixed = parse_config({**config().model_dump(), "costs": {"fixed": {"stock": 1.0}}}).costs.build(0)
    engine = one_path_engine(fixed)
    hedger = WhalleyWilmottHedger()
    hedger.reset(engine)
    np.testing.assert_allclose(hedger.half_width(engine), (12 * 1.0 * gamma**2 / risk) ** 0.25, rtol=1e-6)


@pytest.mark.parametrize("inner", [0.0, 0.5])
def test_impulse_band_ingredients_by_monte_carlo(inner):
    """A Brownian deviation (variance rate v) restarted at ±H_i on leaving [−H_o, H_o]: mean time between trades
    (H_o² − H_i²)/v and time-average of y² equal to (H_o² + H_i²)/6 — the two facts the bands minimise over."""
    rng = np.random.default_rng(0)
    outer, v, dt, n = 1.0, 1.0, 2e-4, 4_000
    y, alive = np.full(n, inner), np.ones(n, dtype=bool)
    exit_time, integral = np.zeros(n), np.zeros(n)
    while alive.any():
        integral += np.where(alive, y * y * dt, 0.0)
        exit_time += np.where(alive, dt, 0.0)
        y = np.where(alive, y + np.sqrt(v * dt) * rng.standard_normal(n), y)
        alive &= np.abs(y) < outer
    assert exit_time.mean() == pytest.approx((outer**2 - inner**2) / v, rel=0.05)
    assert integral.mean() / exit_time.mean() == pytest.approx((outer**2 + inner**2) / 6, rel=0.05)


@pytest.mark.parametrize("fixed, per_share", [(1.0, 0.0), (1.0, 0.05), (1.0, 3.0), (0.01, 1.0)])
def test_impulse_bands_minimise_risk_plus_cost(fixed, per_share):
    """The closed-form (H_o, H_i) against a brute-force grid minimum of F(H_o, H_i) written out here."""
    gamma, discount, risk = 50.0, 0.99, 1e-3
    a = gamma**2 * discount

    def objective(h_out, h_in):
        return risk * (h_out**2 + h_in**2) / 12 + a * (fixed + per_share * (h_out - h_in)) / (h_out**2 - h_in**2)

    outer, inner = impulse_bands(fixed, per_share, gamma, discount, risk)
    grid = np.linspace(0, 2 * float(outer), 1601)
    h_out, h_in = np.meshgrid(grid[1:], grid)
    values = np.where(h_in < h_out, objective(h_out, np.minimum(h_in, h_out * (1 - 1e-12))), np.inf)
    best = np.unravel_index(np.argmin(values), values.shape)
    assert float(outer) == pytest.approx(h_out[best], rel=2e-3)
    assert float(inner) == pytest.approx(h_in[best], abs=2e-3 * float(outer))
    assert objective(outer, inner) <= values[best] * (1 + 1e-9)


def test_impulse_bands_reach_both_published_limits():
    gamma, discount, risk = 50.0, 0.99, 1e-3
    a = gamma**2 * discount
    outer, inner = impulse_bands(2.0, 0.0, gamma, discount, risk)  # fixed fee alone: reset to the delta
    assert float(inner) == pytest.approx(0.0, abs=1e-12)
    assert float(outer) == pytest.approx((12 * 2.0 * a / risk) ** 0.25)
    outer, inner = impulse_bands(1e-9, 0.05, gamma, discount, risk)  # a vanishing fee: Whalley–Wilmott 1997
    band = (3 * 0.05 * a / (2 * risk)) ** (1 / 3)
    assert float(outer) == pytest.approx(band, rel=1e-3) and float(inner) == pytest.approx(band, rel=1e-3)


def test_whalley_wilmott_uses_both_fees_and_refuses_quadratic_costs_with_the_reason():
    """The documents' own example, $0.03/share + $1/trade: two bands, trading back to the inner one."""
    mixed = config(costs={"half_spread": {"stock": 0.03}, "fixed": {"stock": 1.0}})
    comparison = compare(mixed, n_paths=50, bootstrap=0)
    assert {"delta_cost_benefit", "leland", "whalley_wilmott"} <= set(comparison.table.index)
    assert comparison.skipped == {}
    costs = parse_config({**config().model_dump(), "costs": {"half_spread": {"stock": 0.03},
                                                             "fixed": {"stock": 1.0}}}).costs.build(0)
    engine = one_path_engine(costs)
    hedger = WhalleyWilmottHedger()
    hedger.reset(engine)
    outer, inner = hedger.bands(engine)
    assert 0 < inner[0] < outer[0]
    centre = float(-engine.book_greeks.delta[0])
    engine.positions[:, 0] = centre + 1.01 * outer[0]
    assert hedger.targets(engine)[0, 0] == pytest.approx(centre + inner[0])
    engine.positions[:, 0] = centre - 0.99 * outer[0]
    assert hedger.targets(engine)[0, 0] == pytest.approx(centre - 0.99 * outer[0])
    quadratic = config(costs={"quadratic_impact": {"stock": 1e-6}})
    names = [h.name for h in default_hedgers(quadratic)]
    assert "delta_cost_benefit" in names and "leland" not in names
    comparison = compare(quadratic, n_paths=50, bootstrap=0)
    assert "quadratic" in comparison.skipped["whalley_wilmott"]


def test_cost_benefit_prices_the_trade_with_the_whole_cost_model():
    """Trade iff γ/2 (m S σ)² τ > cost of trading m shares; with a fixed fee K only that is |m| > √(2K/(γτ))/(Sσ)."""
    fee, risk = 5.0, 1e-3
    costs = parse_config({**config().model_dump(), "costs": {"fixed": {"stock": fee}}}).costs.build(0)
    engine = one_path_engine(costs)
    hedger = DeltaHedger(cost_benefit=True, risk_aversion=risk)
    threshold = np.sqrt(2 * fee / (risk * engine.time_to_maturity)) / (100.0 * 0.2)
    target = float(-engine.book_greeks.delta[0])
    for offset, trades in ((0.9 * threshold, False), (1.1 * threshold, True)):
        engine.positions[:, 0] = target + offset
        assert bool(hedger.targets(engine)[0, 0] == pytest.approx(target)) is trades


def test_stock_costs_reads_the_stock_column():
    costs = parse_config({**config().model_dump(), "costs": {"proportional": {"stock": 0.001, "options": 0.02},
                                                             "fixed": {"stock": 2.0}}}).costs.build(1)
    terms = StockCosts.of(costs)
    assert (terms.proportional, terms.fixed, terms.half_spread, terms.quadratic_impact) == (0.001, 2.0, 0.0, 0.0)
    assert StockCosts.of(None) == StockCosts()
