"""Classical hedgers on common paths: convergence orders, cost savings of band rules, the Greek solver."""

from __future__ import annotations

import numpy as np
import pytest

from hedgegym.baselines import (
    DeltaHedger,
    GreekNeutralHedger,
    LelandHedger,
    NoHedge,
    WhalleyWilmottHedger,
    neutralise,
)
from hedgegym.config import parse_config
from hedgegym.evaluation import evaluate


def config(n_steps: int, cost: float = 0.0, hedge_options: list | None = None, horizon: float | None = None):
    return parse_config({
        "market": {"model": "gbm", "spot": 100.0, "volatility": 0.2, "mu": 0.1, "rate": 0.03},
        "book": [{"strike": 100.0, "maturity": 0.25, "call": True, "quantity": -10}],
        "simulation": {"n_steps": n_steps, "horizon": horizon},
        "hedging": {"hedge_options": hedge_options or []},
        "costs": {"proportional": {"stock": cost, "options": cost}},
    })


def fitted_order(hedger_factory, steps, hedge_options=None, n_paths=10_000, horizon=None) -> float:
    rmse = [np.sqrt(np.mean(evaluate(hedger_factory(), config(n, 0.0, hedge_options, horizon), n_paths, seed=n)
                            .per_path["pnl"] ** 2)) for n in steps]
    return float(np.polyfit(np.log(1.0 / np.asarray(steps)), np.log(rmse), 1)[0])


def test_delta_hedging_rmse_falls_like_root_dt():
    assert fitted_order(DeltaHedger, [8, 32, 128]) == pytest.approx(0.5, abs=0.05)


def test_delta_gamma_hedging_rmse_falls_like_dt():
    """Over a horizon that stops before expiry (half the book's life, book marked to model there), where Γ stays
    bounded: the per-step error is third order in δS, so the RMSE falls like δt. Hedged to expiry the kink of
    the payoff makes Γ blow up in the last steps and the order drops (measured ~0.67, next test)."""
    hedge = [{"strike": 100.0, "maturity": 0.5, "call": True}]
    order = fitted_order(lambda: GreekNeutralHedger(("delta", "gamma")), [8, 16, 32, 64], hedge, horizon=0.125)
    assert order == pytest.approx(1.0, abs=0.15)


def test_delta_gamma_to_expiry_still_beats_root_dt():
    hedge = [{"strike": 100.0, "maturity": 0.5, "call": True}]
    order = fitted_order(lambda: GreekNeutralHedger(("delta", "gamma")), [8, 16, 32, 64], hedge, n_paths=5_000)
    assert 0.55 < order < 1.0


def test_band_and_whalley_wilmott_pay_less_cost_than_every_step_delta():
    costly = config(63, cost=0.01)
    every_step = evaluate(DeltaHedger(), costly, 5_000, seed=3).per_path
    band = evaluate(DeltaHedger(band=0.05), costly, 5_000, seed=3).per_path
    ww = evaluate(WhalleyWilmottHedger(cost_rate=0.01), costly, 5_000, seed=3).per_path
    assert band["cost"].mean() < every_step["cost"].mean()
    assert ww["cost"].mean() < every_step["cost"].mean()
    # and both end with a better mean P&L here: the cost saving outweighs the extra risk in the mean
    assert ww["pnl"].mean() > every_step["pnl"].mean()


def test_leland_volatility_rises_for_a_short_gamma_book():
    hedger = LelandHedger(volatility=0.2, cost_rate=0.01)
    le = hedger.leland_number(1.0 / 252)
    assert le == pytest.approx(np.sqrt(2 / np.pi) * 0.02 / (0.2 * np.sqrt(1 / 252)))
    result = evaluate(hedger, config(21, cost=0.01), 200, seed=0)
    assert np.isfinite(result.per_path["pnl"]).all()


def test_no_hedge_never_trades():
    result = evaluate(NoHedge(), config(10), 100, seed=0).per_path
    assert (result["cost"] == 0).all() and (result["n_trades"] == 0).all()


def test_solver_reproduces_a_hand_computed_delta_gamma_vega_hedge():
    # book: Δ = −50, Γ = −4, vega = −300. Instruments: stock (Δ 1), option A (Δ 0.5, Γ 0.1, vega 10),
    # option B (Δ 0.3, Γ 0.05, vega 15). Γ and vega: 0.1a + 0.05b = 4, 10a + 15b = 300
    # → a = (4·15 − 0.05·300)/(0.1·15 − 0.05·10) = 45/1 = 45, b = (300 − 10·45)/15 = −10;
    # stock = −(−50 + 0.5·45 + 0.3·(−10)) = 30.5
    greeks = np.array([[[1.0, 0.5, 0.3], [0.0, 0.1, 0.05], [0.0, 10.0, 15.0]]])
    book = np.array([[-50.0, -4.0, -300.0]])
    solution = neutralise(greeks, book)
    np.testing.assert_allclose(solution.positions, [[30.5, 45.0, -10.0]], rtol=1e-12)
    assert not solution.fell_back.any()


def test_solver_flags_an_option_without_gamma():
    greeks = np.array([[[1.0, 0.0], [0.0, 0.0]]])  # the hedge option has Δ = Γ = 0 (expired far OTM)
    solution = neutralise(greeks, np.array([[-5.0, -1.0]]))
    assert solution.fell_back.all()
    np.testing.assert_allclose(solution.positions, [[5.0, 0.0]])


def test_delta_gamma_vega_hedger_runs_with_two_listed_options():
    hedges = [{"strike": 100.0, "maturity": 0.5}, {"strike": 110.0, "maturity": 1.0}]
    hedger = GreekNeutralHedger(("delta", "gamma", "vega"))
    result = evaluate(hedger, config(21, hedge_options=hedges), 500, seed=0).per_path
    delta = evaluate(DeltaHedger(), config(21), 500, seed=0).per_path
    assert np.sqrt(np.mean(result["pnl"] ** 2)) < np.sqrt(np.mean(delta["pnl"] ** 2))
    with pytest.raises(ValueError, match="hedge option"):
        evaluate(GreekNeutralHedger(("delta", "gamma", "vega")), config(21, hedge_options=hedges[:1]), 10, 0)
