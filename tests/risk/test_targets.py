"""Trades to target Greeks: Hull's worked examples, costs, the solver's fallback, and the round trip on a book."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hedgegym.risk.positions import market_inputs, read_positions, value_book
from hedgegym.risk.targets import (
    TRADE_COLUMNS,
    HedgeInstrument,
    apply_trades,
    book_trades,
    default_greeks,
    solve_trades,
)

BOOKS = Path(__file__).parent.parent.parent / "configs" / "books"


def test_hull_gamma_neutral_example():
    """Hull, *Options, Futures, and Other Derivatives* ("Making a portfolio gamma neutral"): a delta-neutral
    portfolio has Γ = −3,000; a traded option has Δ = 0.62, Γ = 1.50. Buying 3,000 / 1.5 = 2,000 options makes it
    gamma neutral and adds Δ = 2,000 × 0.62 = 1,240: sell 1,240 shares to keep it delta neutral."""
    plan = solve_trades({"delta": 0.0, "gamma": -3000.0}, [HedgeInstrument("traded option", delta=0.62, gamma=1.5)])
    assert list(plan.trades.columns) == list(TRADE_COLUMNS)
    trades = plan.trades.set_index("instrument")["quantity"]
    assert trades["traded option"] == pytest.approx(2000.0, rel=1e-12)
    assert trades["stock"] == pytest.approx(-1240.0, rel=1e-12)
    assert plan.requested == plan.neutralised == ("delta", "gamma") and not plan.fell_back
    assert plan.after["delta"] == pytest.approx(0.0, abs=1e-9) and plan.after["gamma"] == pytest.approx(0.0, abs=1e-9)


def test_hull_delta_gamma_vega_example():
    """Hull, *Options, Futures, and Other Derivatives* ("Making a portfolio gamma and vega neutral"): a
    delta-neutral portfolio with Γ = −5,000 and vega = −8,000; option 1: Δ 0.6, Γ 0.5, vega 2.0; option 2: Δ 0.5,
    Γ 0.8, vega 1.2. Solving −5,000 + 0.5 w₁ + 0.8 w₂ = 0, −8,000 + 2.0 w₁ + 1.2 w₂ = 0 gives w₁ = 400,
    w₂ = 6,000; their Δ, 400 × 0.6 + 6,000 × 0.5 = 3,240, is sold in the stock."""
    plan = solve_trades({"delta": 0.0, "gamma": -5000.0, "vega": -8000.0},
                        [HedgeInstrument("option 1", 0.6, 0.5, 2.0), HedgeInstrument("option 2", 0.5, 0.8, 1.2)])
    trades = plan.trades.set_index("instrument")["quantity"]
    np.testing.assert_allclose(trades[["option 1", "option 2", "stock"]], [400.0, 6000.0, -3240.0], rtol=1e-12)
    assert plan.neutralised == ("delta", "gamma", "vega")
    assert list(plan.trades["unit"]) == ["shares", "contracts", "contracts"]


def test_targets_other_than_zero_are_reached():
    options = [HedgeInstrument("a", 0.6, 0.5, 2.0), HedgeInstrument("b", 0.5, 0.8, 1.2)]
    targets = {"delta": 150.0, "gamma": -200.0, "vega": 1000.0}
    plan = solve_trades({"delta": 25.0, "gamma": -5000.0, "vega": -8000.0}, options, targets)
    for name, target in targets.items():
        assert plan.after[name] == pytest.approx(target, abs=1e-8 * 8000)
    assert plan.targets == targets


def test_default_and_explicit_greeks():
    assert default_greeks(0) == ("delta",)
    assert default_greeks(1) == ("delta", "gamma")
    assert default_greeks(3) == ("delta", "gamma", "vega")
    stock_only = solve_trades({"delta": -52_200.0, "gamma": -650.0}, spot=49.0)
    assert stock_only.trades["quantity"].tolist() == [52_200.0]
    assert stock_only.after == {"delta": 0.0, "gamma": -650.0}  # Γ reported, not hit
    options = [HedgeInstrument("a", 0.6, 0.5, 2.0), HedgeInstrument("b", 0.5, 0.8, 1.2)]
    vega_only = solve_trades({"delta": 0.0, "gamma": -5000.0, "vega": -8000.0}, options, greeks=["delta", "vega"])
    assert vega_only.neutralised == ("delta", "vega")
    assert vega_only.after["vega"] == pytest.approx(0.0, abs=1e-8) and abs(vega_only.after["gamma"]) > 1.0


@pytest.mark.parametrize(("greeks", "options", "message"), [
    (["gamma", "delta"], 1, "must start with delta"),
    (["delta", "gamma", "vega"], 1, "needs at least 2 listed option"),
    (["delta", "rho"], 1, "unknown Greek 'rho'"),
    (["delta", "delta"], 1, "name each Greek once"),
])
def test_bad_greek_choices_are_refused(greeks, options, message):
    with pytest.raises(ValueError, match=message):
        solve_trades({"delta": 0.0, "gamma": 1.0, "vega": 1.0}, [HedgeInstrument("a", 0.5, 1.0, 1.0)] * options,
                     greeks=greeks)


def test_a_greek_to_hit_must_be_given_and_costs_need_prices():
    with pytest.raises(ValueError, match="book: gamma is missing"):
        solve_trades({"delta": 0.0}, [HedgeInstrument("a", 0.5, 1.0)])
    with pytest.raises(ValueError, match="stock_cost > 0 needs the stock's price"):
        solve_trades({"delta": 10.0}, stock_cost=0.001)
    with pytest.raises(ValueError, match="option_cost > 0 needs every option's price; 'a' has none"):
        solve_trades({"delta": 0.0, "gamma": 1.0}, [HedgeInstrument("a", 0.5, 1.0)], option_cost=0.01, spot=100.0)
    with pytest.raises(ValueError, match="stock_cost must be a fraction of notional >= 0"):
        solve_trades({"delta": 10.0}, spot=100.0, stock_cost=-0.001)


def test_costs_are_proportional_to_traded_notional_per_instrument():
    plan = solve_trades({"delta": 0.0, "gamma": -3000.0}, [HedgeInstrument("opt", 0.62, 1.5, price=350.0)],
                        spot=49.0, stock_cost=0.0005, option_cost=0.01)
    rows = plan.trades.set_index("instrument")
    assert rows.loc["stock", "notional"] == pytest.approx(1240 * 49.0, rel=1e-12)
    assert rows.loc["stock", "cost"] == pytest.approx(0.0005 * 1240 * 49.0, rel=1e-12)  # 30.38
    assert rows.loc["opt", "cost"] == pytest.approx(0.01 * 2000 * 350.0, rel=1e-12)  # 7,000
    assert plan.total_cost == pytest.approx(30.38 + 7000.0, rel=1e-12)


def test_collinear_options_fall_back_to_fewer_greeks_and_say_so():
    """Two options whose Γ and vega are proportional (one maturity under Black–Scholes: vega = Γ S² σ τ) cannot
    hit Δ, Γ and vega: the solver keeps Δ and Γ."""
    options = [HedgeInstrument("a", 0.5, 1.0, 10.0), HedgeInstrument("b", 0.3, 2.0, 20.0)]
    plan = solve_trades({"delta": 100.0, "gamma": -50.0, "vega": -800.0}, options)
    assert plan.fell_back and plan.requested == ("delta", "gamma", "vega")
    assert plan.neutralised == ("delta", "gamma") and not np.isfinite(plan.condition)
    assert plan.after["delta"] == pytest.approx(0.0, abs=1e-9) and plan.after["gamma"] == pytest.approx(0.0, abs=1e-9)
    capped = solve_trades({"delta": 0.0, "gamma": -3000.0}, [HedgeInstrument("o", 0.62, 1.5)], position_limits=[100])
    assert capped.neutralised == ("delta",) and capped.trades["quantity"].tolist() == [0.0, 0.0]


@pytest.mark.parametrize("targets", [None, {"delta": 500.0, "gamma": 50.0, "vega": 100_000.0}])
def test_book_trades_round_trip_full_revaluation_reaches_the_targets(targets):
    book = read_positions(BOOKS / "desk_book.yaml")
    market = market_inputs(book)
    plan = book_trades(book, market, targets, stock_cost=0.0005, option_cost=0.01)
    assert plan.neutralised == ("delta", "gamma", "vega") and not plan.fell_back
    after = value_book(apply_trades(book, plan), market).total  # the book with the trades, repriced line by line
    goal = targets or {"delta": 0.0, "gamma": 0.0, "vega": 0.0}
    assert after.delta == pytest.approx(goal["delta"], abs=1e-6)
    assert after.gamma == pytest.approx(goal["gamma"], abs=1e-8)
    assert after.vega == pytest.approx(goal["vega"], abs=1e-5)
    prices = plan.trades["price"].to_numpy()
    assert prices[0] == market.spot and np.all(prices[1:] > 50)  # per contract: premium × 100
    expected_cost = 0.0005 * abs(plan.trades["quantity"].iloc[0]) * market.spot + 0.01 * np.sum(
        np.abs(plan.trades["quantity"].to_numpy()[1:]) * prices[1:])
    assert plan.total_cost == pytest.approx(expected_cost, rel=1e-12)


def test_book_trades_cap_option_trades_by_the_book_size():
    book = read_positions(BOOKS / "desk_book.yaml")
    plan = book_trades(book, market_inputs(book), position_limit=1e-4)  # at most 0.0275 contracts
    assert plan.fell_back and plan.neutralised == ("delta",)
    with pytest.raises(ValueError, match="position_limit must be > 0"):
        book_trades(book, market_inputs(book), position_limit=0.0)
