"""Threshold and event rebalancing on hand-built paths: the trades happen exactly where the rules say."""

from __future__ import annotations

import re

import numpy as np
import pytest

from hedgegym.baselines import DeltaHedger, GreekNeutralHedger, ThresholdRebalancing
from hedgegym.config import parse_config
from hedgegym.engine import HedgingEngine

CALL = parse_config({"market": {"model": "gbm", "volatility": 0.2}, "simulation": {"n_steps": 6},
                     "book": [{"strike": 100.0, "maturity": 0.1, "quantity": -10}]})
WITH_OPTION = parse_config({"market": {"model": "gbm", "volatility": 0.2}, "simulation": {"n_steps": 12},
                            "book": [{"strike": 100.0, "maturity": 0.1, "quantity": -10}],
                            "hedging": {"hedge_options": [{"strike": 105.0, "maturity": 0.25}]}})


def run(config, hedger, spots: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """Step ``hedger`` along the given spot paths (n_steps + 1, N); the positions held after each trade and the
    book's delta at each node."""
    model = config.market.build()
    engine = HedgingEngine(model, config.build_book(), config.simulation.n_steps,
                           hedge_options=config.build_hedge_options())
    engine.reset(spots, np.full_like(spots, 0.04))
    hedger.reset(engine)
    held, deltas = [], []
    while not engine.done:
        deltas.append(np.array(engine.book_greeks.delta))
        engine.step(hedger.targets(engine))
        held.append(np.array(engine.positions))
    return np.array(held), deltas


def test_a_spot_move_trigger_trades_only_after_a_two_percent_move():
    spots = np.array([[100.0, 100.5, 101.0, 101.5, 103.0, 103.0, 100.9]]).T  # one path
    held, deltas = run(CALL, ThresholdRebalancing(DeltaHedger(), spot_move=0.02), spots)
    traded = [0, 4, 6]  # 103 is 3% above 100; 100.9 is 2.04% below 103; 101.5 only 1.5% above 100
    for step in range(6):
        last = max(s for s in traded if s <= step)
        assert held[step, 0, 0] == pytest.approx(-deltas[last][0], rel=1e-12), step


def test_an_absolute_delta_band_trades_when_the_net_delta_leaves_it():
    rng = np.random.default_rng(3)
    spots = 100.0 * np.exp(np.cumsum(np.r_[0.0, rng.normal(0, 0.01, 6)]))[:, None]
    band = 60.0  # shares
    held, deltas = run(CALL, ThresholdRebalancing(DeltaHedger(), bands={"delta": band}), spots)
    position = -deltas[0][0]
    assert held[0, 0, 0] == pytest.approx(position)
    trades = 0
    for step in range(1, 6):
        if abs(deltas[step][0] + position) > band:  # net delta of book + stock held
            position, trades = -deltas[step][0], trades + 1
        assert held[step, 0, 0] == pytest.approx(position, rel=1e-12), step
    assert 0 < trades < 5  # the path was chosen so that the band both holds and fires


def test_options_trade_on_their_schedule_and_the_stock_keeps_delta_neutral_between():
    rng = np.random.default_rng(1)
    spots = 100.0 * np.exp(np.cumsum(np.r_[np.zeros((1, 3)), rng.normal(0, 0.01, (12, 3))], axis=0))
    inner = GreekNeutralHedger(("delta", "gamma"))
    held, _ = run(WITH_OPTION, ThresholdRebalancing(inner, every=(1, 5)), spots)
    options = held[:, :, 1]
    for step in range(12):
        expected = options[5 * (step // 5)]  # set at steps 0, 5, 10
        np.testing.assert_array_equal(options[step], expected)
    assert not np.allclose(options[4], options[5])  # the schedule did trade the option at step 5
    # between option trades the stock neutralises delta given the options held
    model = WITH_OPTION.market.build()
    engine = HedgingEngine(model, WITH_OPTION.build_book(), 12, hedge_options=WITH_OPTION.build_hedge_options())
    engine.reset(spots, np.full_like(spots, 0.04))
    for step in range(12):
        if step in (3, 7):
            net = engine.book_greeks.delta + held[step, :, 0] + held[step, :, 1] * engine.instrument_greeks.delta[:, 1]
            np.testing.assert_allclose(net, 0.0, atol=1e-9)
        engine.step(held[step])


def test_a_relative_gamma_band_compares_with_the_books_own_gamma():
    rng = np.random.default_rng(2)
    spots = 100.0 * np.exp(np.cumsum(np.r_[np.zeros((1, 4)), rng.normal(0, 0.015, (12, 4))], axis=0))
    hedger = ThresholdRebalancing(GreekNeutralHedger(("delta", "gamma")), bands={"gamma": 0.2}, relative=True)
    model = WITH_OPTION.market.build()
    engine = HedgingEngine(model, WITH_OPTION.build_book(), 12, hedge_options=WITH_OPTION.build_hedge_options())
    engine.reset(spots, np.full_like(spots, 0.04))
    hedger.reset(engine)
    fired = 0
    while not engine.done:
        held = np.array(engine.positions)
        book = engine.book_greeks.gamma
        net = book + np.sum(held * engine.instrument_greeks.gamma, axis=1)
        expected = np.abs(net) > 0.2 * np.abs(book) if engine.step_index else np.ones(4, dtype=bool)
        np.testing.assert_array_equal(hedger.triggered(engine), expected)
        fired += int(expected.sum()) if engine.step_index else 0
        targets = hedger.targets(engine)
        np.testing.assert_array_equal(targets[~expected], held[~expected])
        engine.step(targets)
    assert fired > 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"bands": {"rho": 1.0}}, "bands: unknown Greek 'rho'"), ({"bands": {"delta": 0}}, "bands.delta must be"),
     ({"spot_move": -0.01}, "spot_move must be a finite number > 0"), ({"every": 0}, "every must be a positive"),
     ({"every": (1, 2.5)}, "every must be a positive")],
)
def test_bad_rules_are_refused_by_name(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ThresholdRebalancing(DeltaHedger(), **kwargs)


def test_every_needs_one_interval_per_instrument():
    spots = np.full((13, 1), 100.0)
    with pytest.raises(ValueError, match=r"every must give one interval per instrument \(2: the stock and 1"):
        run(WITH_OPTION, ThresholdRebalancing(GreekNeutralHedger(), every=(1, 5, 5)), spots)


def test_hedging_rebalancing_adds_a_threshold_variant_of_each_daily_hedger_to_compare():
    from hedgegym.evaluation.reports import compare, default_hedgers

    config = parse_config({**WITH_OPTION.model_dump(mode="json"), "hedging": {
        "hedge_options": [{"strike": 105.0, "maturity": 0.25}],
        "rebalancing": {"bands": {"delta": 30.0, "gamma": 5.0}, "spot_move": 0.02, "every": [1, 4]}}})
    hedgers = {h.name: h for h in default_hedgers(config)}
    assert {"delta_threshold", "delta_gamma_threshold", "delta_vega_threshold"} <= set(hedgers)
    assert hedgers["delta_threshold"].bands == {"delta": 30.0}  # no gamma band on a hedger that cannot hedge it
    assert hedgers["delta_gamma_threshold"].bands == {"delta": 30.0, "gamma": 5.0}
    table = compare(config, [hedgers[n] for n in ("delta", "delta_threshold", "delta_gamma", "delta_gamma_threshold")],
                    n_paths=500, seed=3, bootstrap=0).table
    assert table.loc["delta_threshold", "turnover"] < table.loc["delta", "turnover"]
    assert table.loc["delta_gamma_threshold", "turnover"] < table.loc["delta_gamma", "turnover"]


def test_rebalancing_config_errors_name_the_field():
    from hedgegym.config import ConfigError

    base = {"book": [{"strike": 100.0, "maturity": 0.25, "quantity": -1}],
            "hedging": {"hedge_options": [{"strike": 100.0, "maturity": 0.5}]}}
    for rules, message in (({"bands": {"rho": 1.0}}, "hedging.rebalancing: bands: unknown Greek 'rho'"),
                           ({"every": [1, 2, 3]}, "rebalancing.every must give one interval for all instruments"),
                           ({"spot_move": 0}, "hedging.rebalancing.spot_move")):
        with pytest.raises(ConfigError, match=re.escape(message)):
            parse_config({**base, "hedging": {**base["hedging"], "rebalancing": rules}})


def test_an_option_never_trades_without_the_stock_and_fallbacks_count_only_traded_paths():
    with pytest.raises(ValueError, match=r"every: each option's interval must be a multiple of the stock's \(5\)"):
        ThresholdRebalancing(GreekNeutralHedger(), every=(5, 1))
    # a spot trigger on many paths: the inner solver runs on all N, but only the paths that trade are counted
    rng = np.random.default_rng(4)
    spots = 100.0 * np.exp(np.cumsum(np.r_[np.zeros((1, 50)), rng.normal(0, 0.01, (12, 50))], axis=0))
    inner = GreekNeutralHedger(("delta", "gamma"), position_limit=0.05)  # a tight cap: the solver falls back
    hedger = ThresholdRebalancing(inner, spot_move=0.015)
    model = WITH_OPTION.market.build()
    engine = HedgingEngine(model, WITH_OPTION.build_book(), 12, hedge_options=WITH_OPTION.build_hedge_options())
    engine.reset(spots, np.full_like(spots, 0.04))
    hedger.reset(engine)
    expected = np.zeros(50, dtype=np.int64)
    while not engine.done:
        fire = hedger.triggered(engine)
        expected += fire & inner.solve(engine).fell_back
        engine.step(hedger.targets(engine))
    assert expected.sum() > 0
    np.testing.assert_array_equal(hedger.fallbacks.per_path, expected)
