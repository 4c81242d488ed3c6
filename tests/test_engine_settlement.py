"""Books of several maturities: positions settle at their own expiry inside the episode (cash at the payoff,
value and Greeks 0 afterwards). Checked against the payoff formula, risk-neutral pricing (a martingale), the
Black–Scholes closed form of the positions left, and the convergence of the delta-hedging error."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.stats import norm

from hedgegym.baselines import DeltaHedger
from hedgegym.config import load_config
from hedgegym.engine import HedgingEngine
from hedgegym.evaluation.reports import compare
from hedgegym.instruments import Book, EuropeanOption, Position
from hedgegym.market import GeometricBrownianMotion

RATE = 0.03
GBM = GeometricBrownianMotion(spot=100.0, volatility=0.2, mu=0.08, rate=RATE)
# expiries 1.5 months (node 10 of 20) and 3 months (the end): short calls, short puts, long wing calls
BOOK = Book((Position(EuropeanOption(100.0, 0.125, call=True), -3.0),
             Position(EuropeanOption(95.0, 0.25, call=False), -2.0),
             Position(EuropeanOption(110.0, 0.25, call=True), 4.0)))


def _run(engine: HedgingEngine, n_paths: int, seed: int, hedger=None, measure: str = "pricing"):
    paths = GBM.simulate(n_paths, engine.n_steps, engine.dt, np.random.default_rng(seed), measure=measure)
    engine.reset(paths.spot.T.copy(), paths.variance.T.copy())
    outcomes = []
    if hedger is not None:
        hedger.reset(engine)
    for _ in range(engine.n_steps):
        targets = np.zeros((n_paths, engine.n_instruments)) if hedger is None else hedger.targets(engine)
        outcomes.append(engine.step(targets))
    return paths.spot, outcomes


def _bs_call_delta(spot, strike, tau, sigma=0.2, rate=RATE):
    d1 = (np.log(spot / strike) + (rate + 0.5 * sigma**2) * tau) / (sigma * np.sqrt(tau))
    return norm.cdf(d1)


def test_expiry_nodes():
    engine = HedgingEngine(GBM, BOOK, 20)
    assert engine.expiry_nodes == (10, None, None)
    assert HedgingEngine(GBM, BOOK, 20, horizon=0.125).expiry_nodes == (None, None, None)  # expires at the end


def test_unhedged_wealth_is_the_premium_and_each_payoff_at_its_own_expiry():
    engine = HedgingEngine(GBM, BOOK, 20)
    spot, _ = _run(engine, 2_000, seed=0)
    premium = -engine.book_path.price[0, 0]
    first = -3.0 * 100.0 * np.maximum(spot[:, 10] - 100.0, 0.0)  # paid at t = 0.125, then earns interest
    last = -2.0 * 100.0 * np.maximum(95.0 - spot[:, 20], 0.0) + 4.0 * 100.0 * np.maximum(spot[:, 20] - 110.0, 0.0)
    expected = premium * np.exp(RATE * 0.25) + first * np.exp(RATE * 0.125) + last
    np.testing.assert_allclose(engine.wealth, expected, rtol=1e-12, atol=1e-9)


def test_unhedged_discounted_wealth_is_a_martingale_under_the_pricing_measure():
    """The premium is the risk-neutral value of both payoffs: E[e^{−rT} W_T] = 0 within the Monte Carlo error."""
    engine = HedgingEngine(GBM, BOOK, 20)
    _run(engine, 200_000, seed=1)
    discounted = np.exp(-RATE * 0.25) * engine.wealth
    error = discounted.std() / np.sqrt(discounted.size)
    assert abs(discounted.mean()) < 4.0 * error


def test_expired_positions_leave_the_book_greeks_and_the_settlement_is_book_pnl():
    engine = HedgingEngine(GBM, BOOK, 20)
    spot, outcomes = _run(engine, 500, seed=2)
    # before expiry the 100 call counts; from its expiry node 10 on only the 3-month positions, by the closed form
    for node in (10, 15):
        tau = 0.25 - node * engine.dt
        s = spot[:, node]
        put_delta = _bs_call_delta(s, 95.0, tau) - 1.0
        expected = 100.0 * (-2.0 * put_delta + 4.0 * _bs_call_delta(s, 110.0, tau))
        np.testing.assert_allclose(engine.book_path.delta[node], expected, rtol=1e-9)
    assert not np.allclose(engine.book_path.delta[9], engine.book_path.delta[10])
    # the step into the expiry node: the book's value falls by the payoff, which it pays as cash
    step = outcomes[9]
    paid = -300.0 * np.maximum(spot[:, 10] - 100.0, 0.0)
    np.testing.assert_allclose(step.book_pnl, engine.book_path.price[10] - engine.book_path.price[9] + paid,
                               rtol=1e-12, atol=1e-9)
    # nothing held: the hedge P&L is the premium's interest alone, growing by e^{r dt} a step (the settlement is not
    # the hedge's; it earns interest from the next step on)
    np.testing.assert_allclose(step.hedge_pnl, outcomes[8].hedge_pnl * np.exp(RATE * engine.dt), rtol=1e-9)
    np.testing.assert_allclose(outcomes[10].hedge_pnl, outcomes[9].hedge_pnl * np.exp(RATE * engine.dt)
                               + paid * np.expm1(RATE * engine.dt), rtol=1e-9, atol=1e-9)
    for outcome in outcomes:
        np.testing.assert_allclose(outcome.pnl, outcome.book_pnl + outcome.hedge_pnl - outcome.cost, atol=1e-9)


def test_delta_hedging_error_halves_with_four_times_the_rebalancing():
    """Δ-hedging error of a book with an in-episode expiry ~ 1/√(n): ×4 steps → ~½ the standard deviation (the
    settled option must not leave a hedge behind, or the error would not fall)."""
    errors = {}
    for n in (20, 80):
        engine = HedgingEngine(GBM, BOOK, n)
        _run(engine, 20_000, seed=3, hedger=DeltaHedger())
        errors[n] = engine.wealth.std()
    assert 0.4 < errors[80] / errors[20] < 0.6


def test_torch_targets_settle_the_same_cash():
    engine = HedgingEngine(GBM, BOOK, 20)
    spot, _ = _run(engine, 64, seed=4)
    numpy_wealth = engine.wealth.copy()
    paths = np.ascontiguousarray(spot.T)
    engine.reset(paths, np.full_like(paths, 0.04))
    for _ in range(20):
        engine.step(torch.zeros((64, 1), dtype=torch.float64))
    np.testing.assert_allclose(engine.wealth, numpy_wealth, rtol=1e-12, atol=1e-9)


def test_knocked_out_barrier_expiring_inside_the_episode_pays_nothing():
    book = Book((Position(EuropeanOption(100.0, 0.125, call=True, barrier=90.0), -1.0),
                 Position(EuropeanOption(100.0, 0.25, call=True), -1.0)))
    engine = HedgingEngine(GBM, book, 20)
    spot = np.full((21, 2), 100.0)
    spot[5, 0] = 85.0  # path 0 knocked out at node 5; path 1 never
    spot[10] = 120.0  # both end the first expiry 20 in the money
    engine.reset(spot, np.full_like(spot, 0.04))
    for _ in range(20):
        engine.step(np.zeros((2, 1)))
    settled = engine.cash - engine.cash[0]  # same premium on both paths; path 1 alone paid the barrier call
    assert settled[1] == pytest.approx(-100.0 * 20.0 * np.exp(RATE * 0.125), rel=1e-12)


def test_the_shipped_market_maker_book_has_two_expiries_and_compares():
    config = load_config("configs/market_maker_book.yaml")
    maturities = sorted({position.maturity for position in config.book})
    assert len(maturities) == 2
    result = compare(config, n_paths=200, bootstrap=0)
    assert {"no_hedge", "delta", "delta_gamma"} <= set(result.table.index)
    assert result.table.loc["delta", "rmse"] < 0.5 * result.table.loc["no_hedge", "rmse"]


# ------------------------------------------------------------------------------------------ hedge options expiring
SHORT_CALL = EuropeanOption(100.0, 0.125, call=True)  # expires at node 10 of 20, inside the 3-month episode
LATE_BOOK = Book.short_call(100.0, 0.25, contracts=5)


def test_a_hedge_option_expiring_inside_the_episode_is_cash_settled_and_held_at_zero_after():
    from hedgegym.costs import FixedCost, ProportionalCost

    costs = ProportionalCost((0.001, 0.01)) + FixedCost(2.0)  # a fee per trade: none may be charged at settlement
    engine = HedgingEngine(GBM, LATE_BOOK, 20, hedge_options=(SHORT_CALL,), costs=costs)
    assert engine.hedge_expiry_nodes == (10,)
    paths = GBM.simulate(1_000, 20, engine.dt, np.random.default_rng(5))
    engine.reset(paths.spot.T.copy(), paths.variance.T.copy())
    premium, option_price = -engine.book_path.price[0, 0], engine.instrument_path.price[0, 0, 1]
    outcomes = [engine.step(np.tile([0.0, 3.0], (1_000, 1))) for _ in range(20)]  # asks for 3 calls throughout
    spot = paths.spot
    bought = 3.0 * option_price
    paid_in = 3.0 * 100.0 * np.maximum(spot[:, 10] - 100.0, 0.0)
    expected = ((premium - bought - 0.01 * bought - 2.0) * np.exp(RATE * 0.25) + paid_in * np.exp(RATE * 0.125)
                - 500.0 * np.maximum(spot[:, 20] - 100.0, 0.0))
    np.testing.assert_allclose(engine.wealth, expected, rtol=1e-12, atol=1e-8)
    assert all(np.all(o.cost == 0.0) for o in outcomes[1:])  # no trade, no fee, at or after the expiry
    np.testing.assert_array_equal(engine.positions[:, 1], 0.0)
    # the instrument is worth nothing and has no Greeks from its expiry node on; before it, the closed form
    for field in ("price", "delta", "gamma", "vega", "theta"):
        np.testing.assert_array_equal(getattr(engine.instrument_path, field)[10:, :, 1], 0.0)
    tau = 0.125 - 9 * engine.dt
    np.testing.assert_allclose(engine.instrument_path.delta[9, :, 1],
                               100.0 * _bs_call_delta(spot[:, 9], 100.0, tau), rtol=1e-9)


def test_delta_gamma_hedger_falls_back_to_the_live_option_when_one_expires():
    from hedgegym.baselines import GreekNeutralHedger

    hedges = (SHORT_CALL, EuropeanOption(105.0, 0.5, call=True))
    engine = HedgingEngine(GBM, LATE_BOOK, 20, hedge_options=hedges)
    paths = GBM.simulate(500, 20, engine.dt, np.random.default_rng(6))
    engine.reset(paths.spot.T.copy(), paths.variance.T.copy())
    hedger = GreekNeutralHedger(("delta", "gamma"))
    hedger.reset(engine)
    for node in range(20):
        targets = hedger.targets(engine)
        if node >= 10:  # the short-dated call has expired: Δ and Γ are cancelled with the stock and the 6-month call
            np.testing.assert_allclose(targets[:, 1], 0.0, atol=1e-9)
            book, instruments = engine.book_greeks, engine.instrument_greeks
            for greek in ("delta", "gamma"):
                net = getattr(book, greek) + np.sum(targets * getattr(instruments, greek), axis=1)
                np.testing.assert_allclose(net, 0.0, atol=1e-6 * np.abs(getattr(book, greek)).max())
        engine.step(targets)
    assert np.all(np.isfinite(engine.wealth))
    unhedged = HedgingEngine(GBM, LATE_BOOK, 20)
    unhedged.reset(paths.spot.T.copy(), paths.variance.T.copy())
    for _ in range(20):
        unhedged.step(np.zeros((500, 1)))
    assert engine.wealth.std() < 0.2 * unhedged.wealth.std()


def test_stress_initial_hedge_of_a_book_of_several_maturities():
    """Was: ``initial_hedge`` built a one-step engine over the last maturity, which refused the earlier expiry."""
    from hedgegym.risk.stress import initial_hedge, portfolio_greeks

    hedge = initial_hedge(GBM, BOOK, mode="delta")
    assert hedge.stock == pytest.approx(-portfolio_greeks(GBM, BOOK).delta, rel=1e-12)
    d1 = [(np.log(100.0 / k) + (RATE + 0.02) * t) / (0.2 * np.sqrt(t)) for k, t in ((100.0, 0.125), (95.0, 0.25),
                                                                                     (110.0, 0.25))]
    closed_form = 100.0 * (-3.0 * norm.cdf(d1[0]) - 2.0 * (norm.cdf(d1[1]) - 1.0) + 4.0 * norm.cdf(d1[2]))
    assert -hedge.stock == pytest.approx(closed_form, rel=1e-10)


def test_attribution_counts_an_expiring_hedge_option_payoff_as_its_mark_to_market():
    """Was: the expiring hedge option's price fell to 0 in the mark-to-market, so its payoff showed up as carry and
    the residual took the opposite amount on the expiry step (mean −363 against ~1 on the other steps)."""
    from hedgegym.baselines import GreekNeutralHedger
    from hedgegym.config import parse_config
    from hedgegym.evaluation.rollout import evaluate

    config = parse_config({
        "market": {"model": "gbm", "spot": 100.0, "volatility": 0.2, "mu": 0.08, "rate": RATE},
        "book": [{"strike": 100.0, "maturity": 0.25, "quantity": -5}],
        "hedging": {"hedge_options": [{"strike": 100.0, "maturity": 0.125}, {"strike": 105.0, "maturity": 0.5}]},
        "simulation": {"n_steps": 20},
    })
    result = evaluate(GreekNeutralHedger(("delta", "gamma")), config, n_paths=2_000, seed=7)
    residual, carry = np.abs(result.series["residual"]).mean(axis=1), result.series["carry"].mean(axis=1)
    # the step into the hedge option's expiry (9 → 10) is like the book's own last steps, whose Γ also grows
    assert residual[9] <= np.delete(residual, 9).max()
    assert abs(carry[9]) < 3.0 * np.median(np.abs(np.delete(carry, 9)))


def test_stress_after_an_expiry_counts_the_payoff_and_no_greeks_of_the_expired_options():
    """Was: the 5-day scenario kept the step delta of calls that had expired after 3 days (−3,000 shares too many)."""
    from hedgegym.risk.stress import Scenario, portfolio_greeks, stress_test

    book = Book((Position(EuropeanOption(100.0, 3 / 252, call=True), -30.0),
                 Position(EuropeanOption(105.0, 42 / 252, call=True), 10.0)))
    scenario = Scenario("up 10% after a week", spot_shock=0.10, days=5)
    table = stress_test(GBM, book, None, [scenario])
    shocked = portfolio_greeks(GeometricBrownianMotion(spot=110.0, volatility=0.2, mu=0.08, rate=RATE), book,
                               time=5 / 252)
    tau = 37 / 252
    live_delta = 1000.0 * _bs_call_delta(110.0, 105.0, tau)
    assert shocked.delta == pytest.approx(live_delta, rel=1e-10)
    base = portfolio_greeks(GBM, book)
    assert table.loc[0, "delta_change"] == pytest.approx(live_delta - base.delta, rel=1e-10)
    d1 = (np.log(110.0 / 105.0) + (RATE + 0.02) * tau) / (0.2 * np.sqrt(tau))
    call = 110.0 * norm.cdf(d1) - 105.0 * np.exp(-RATE * tau) * norm.cdf(d1 - 0.2 * np.sqrt(tau))
    assert shocked.price == pytest.approx(1000.0 * call - 3000.0 * 10.0, rel=1e-10)  # the short calls paid 10 each


def test_initial_hedge_with_a_hedge_option_expiring_before_the_book():
    from hedgegym.risk.stress import initial_hedge

    hedge = initial_hedge(GBM, LATE_BOOK, (SHORT_CALL,), mode="greeks")  # the hedge expires first: no grid refusal
    assert hedge.neutralised == ("delta", "gamma") and hedge.options[0].quantity > 0


def test_check_prices_each_option_at_its_own_expiry_with_a_horizon(tmp_path):
    """Was: check simulated on the last maturity's grid and read an earlier option at the wrong node (z = +14.9)."""
    import yaml
    from typer.testing import CliRunner

    from hedgegym.cli import app

    path = tmp_path / "horizon.yaml"
    path.write_text(yaml.safe_dump({
        "market": {"model": "gbm", "volatility": 0.2, "rate": 0.02},
        "book": [{"strike": 100.0, "maturity": 0.1, "quantity": -1}, {"strike": 100.0, "maturity": 0.25,
                                                                         "quantity": -1}],
        "simulation": {"n_paths": 200_000, "n_steps": 7, "horizon": 0.14},
    }))
    result = CliRunner().invoke(app, ["check", "--config", str(path)])
    assert result.exit_code == 0, result.output
    assert "call K=100 T=0.1" in result.output and "2 maturities" not in result.output  # (a transient status line)
