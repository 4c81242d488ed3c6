"""The delta–vega band rule: at band 0 the Greek solver's delta–vega hedge; inside its band it does not trade; with
bands it is the env's delta_vega_band mapping at the widest actions; tuned on the validation paths when the
listed option costs something."""

from __future__ import annotations

import numpy as np
import pytest

from hedgegym.baselines import DeltaVegaBandHedger, GreekNeutralHedger
from hedgegym.config import parse_config
from hedgegym.engine import HedgingEngine
from hedgegym.evaluation import evaluate
from hedgegym.evaluation.reports import default_hedgers
from hedgegym.evaluation.tuning import tune_classical, tuning_rules

CONFIG = parse_config({
    "market": {"model": "heston", "spot": 100.0, "initial_variance": 0.04, "mean_reversion": 2.0,
               "long_run_variance": 0.04, "vol_of_vol": 0.6, "correlation": -0.7, "mu": 0.06, "rate": 0.02},
    "book": [{"strike": 100.0, "maturity": 0.25, "call": True, "quantity": -5},
             {"strike": 100.0, "maturity": 0.25, "call": False, "quantity": -5}],
    "hedging": {"hedge_options": [{"strike": 100.0, "maturity": 0.5, "call": True}]},
    "costs": {"proportional": {"stock": 0.0005, "options": 0.005}},
    "simulation": {"n_steps": 12},
    "evaluation": {"seed": 5},
})


def engine_on(n_paths: int = 64) -> HedgingEngine:
    model = CONFIG.market.build()
    paths = model.simulate(n_paths, 12, CONFIG.horizon / 12, np.random.default_rng(0), measure="real")
    engine = HedgingEngine(model, CONFIG.build_book(), 12, hedge_options=CONFIG.build_hedge_options(),
                           costs=CONFIG.build_costs())
    engine.reset(paths.spot.T, paths.variance.T)
    return engine


def test_band_zero_is_the_solvers_delta_vega_hedge_at_every_step():
    engine = engine_on()
    band, solver = DeltaVegaBandHedger(), GreekNeutralHedger(("delta", "vega"))
    band.reset(engine)
    solver.reset(engine)
    assert band.name == "delta_vega_band_0"
    while not engine.done:
        targets = band.targets(engine)
        np.testing.assert_allclose(targets, solver.targets(engine), rtol=1e-9, atol=1e-9)
        engine.step(targets)


def test_positions_stay_inside_their_bands_and_trade_only_to_the_edge():
    engine = engine_on()
    hedger = DeltaVegaBandHedger(option_band=0.1, stock_band=0.05)
    hedger.reset(engine)
    contracts, notional = 10.0, 1000.0
    trades = holds = 0
    while not engine.done:
        held = engine.positions.copy()
        targets = hedger.targets(engine)
        book, options = engine.book_greeks, engine.instrument_greeks
        vega_neutral = -book.vega / options.vega[:, 1]
        assert np.all(np.abs(targets[:, 1] - vega_neutral) <= 0.1 * contracts + 1e-9)
        moved = targets[:, 1] != held[:, 1]
        assert np.allclose(np.abs(targets[moved, 1] - vega_neutral[moved]), 0.1 * contracts)  # to the edge
        trades, holds = trades + moved.sum(), holds + (~moved).sum()
        centre = -(book.delta + targets[:, 1] * options.delta[:, 1])
        assert np.all(np.abs(targets[:, 0] - centre) <= 0.05 * notional + 1e-9)
        engine.step(targets)
    assert trades > 64 and holds > 64  # both cases were exercised (the first step trades on every path)


def test_bad_bands_and_set_ups_are_refused():
    with pytest.raises(ValueError, match="option_band must be a finite number >= 0"):
        DeltaVegaBandHedger(option_band=-0.1)
    with pytest.raises(ValueError, match="stock_band"):
        DeltaVegaBandHedger(stock_band=float("nan"))
    with pytest.raises(ValueError, match="position_limit must be > 0"):
        DeltaVegaBandHedger(position_limit=0.0)
    with pytest.raises(ValueError, match="option_band must be a finite number >= 0"):
        DeltaVegaBandHedger(option_band=None)
    no_option = parse_config({**CONFIG.model_dump(mode="json", exclude={"hedging"}), "name": "x"})
    with pytest.raises(ValueError, match=r"exactly one listed hedge option .* has 0"):
        evaluate(DeltaVegaBandHedger(), no_option, n_paths=10)


def test_where_the_cap_binds_the_band_clips_and_the_solver_drops_vega():
    """Documented difference: a cap of 0.05 × the notional (0.5 contracts) binds on this book."""
    engine = engine_on(8)
    band = DeltaVegaBandHedger(position_limit=0.05)
    solver = GreekNeutralHedger(("delta", "vega"), position_limit=0.05)
    band.reset(engine)
    solver.reset(engine)
    clipped, dropped = band.targets(engine), solver.targets(engine)
    np.testing.assert_allclose(np.abs(clipped[:, 1]), 0.5)
    np.testing.assert_allclose(dropped[:, 1], 0.0)
    np.testing.assert_allclose(dropped[:, 0], -engine.book_greeks.delta)


def test_compare_refuses_two_hedgers_with_one_name():
    from hedgegym.evaluation.reports import compare

    with pytest.raises(ValueError, match="repeated: delta_vega_band_0"):
        compare(CONFIG, [DeltaVegaBandHedger(), DeltaVegaBandHedger()], n_paths=10)


def test_compare_offers_delta_vega_and_tuning_picks_the_band_on_validation_paths():
    assert "delta_vega" in [hedger.name for hedger in default_hedgers(CONFIG)]
    assert [rule.name for rule in tuning_rules(CONFIG)][-1] == "delta_vega_band"
    free = parse_config({**CONFIG.model_dump(mode="json"), "costs": {"proportional": {"stock": 0.0005}}})
    assert "delta_vega_band" not in [rule.name for rule in tuning_rules(free)]  # no option cost: band 0 is best
    (rule,) = tune_classical(CONFIG, n_paths=300, rules=["delta_vega_band"])
    assert rule.default == 0.0 and rule.value == min(rule.validation_y, key=rule.validation_y.get)
    assert rule.hedger.option_band == rule.value and rule.hedger.name == "delta_vega_band_tuned"


def test_band_zero_matches_the_black_scholes_delta_vega_hedge_by_closed_form():
    """Reference outside hedgegym: Black–Scholes delta N(d1) and vega S φ(d1) √τ from scipy. At t = 0 the hedger holds
    h₁ = −vega_book / vega_option calls and h₀ = −(Δ_book + h₁ Δ_option) shares."""
    from scipy.stats import norm

    config = parse_config({
        "market": {"model": "gbm", "spot": 100.0, "volatility": 0.25, "mu": 0.05, "rate": 0.03},
        "book": [{"strike": 95.0, "maturity": 0.25, "call": False, "quantity": -7},
                 {"strike": 110.0, "maturity": 0.25, "call": True, "quantity": -3}],
        "hedging": {"hedge_options": [{"strike": 100.0, "maturity": 0.5, "call": True}]},
        "simulation": {"n_steps": 5},
    })
    model = config.market.build()
    paths = model.simulate(3, 5, config.horizon / 5, np.random.default_rng(1), measure="real")
    engine = HedgingEngine(model, config.build_book(), 5, hedge_options=config.build_hedge_options())
    engine.reset(paths.spot.T, paths.variance.T)

    def d1(strike, tau):
        return (np.log(100.0 / strike) + (0.03 + 0.5 * 0.25**2) * tau) / (0.25 * np.sqrt(tau))

    def delta(strike, tau, call):
        return norm.cdf(d1(strike, tau)) - (0.0 if call else 1.0)

    def vega(strike, tau):
        return 100.0 * norm.pdf(d1(strike, tau)) * np.sqrt(tau)

    book_delta = 100 * (-7 * delta(95.0, 0.25, False) - 3 * delta(110.0, 0.25, True))
    book_vega = 100 * (-7 * vega(95.0, 0.25) - 3 * vega(110.0, 0.25))
    calls = -book_vega / (100 * vega(100.0, 0.5))
    shares = -(book_delta + calls * 100 * delta(100.0, 0.5, True))
    targets = DeltaVegaBandHedger().targets(engine)
    np.testing.assert_allclose(targets, np.tile([shares, calls], (3, 1)), rtol=1e-9)
