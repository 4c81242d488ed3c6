"""Lazy path valuation: only the declared Greeks are valued at reset, any other on first access with the same
numbers; pricers compute subsets; hedgers, features and evaluation declare what they read."""

from __future__ import annotations

import copy
import itertools
import pickle

import numpy as np
import pytest

from hedgegym import valuation as valuation_module
from hedgegym.baselines import DeltaHedger, GreekNeutralHedger, LelandHedger, NoHedge, WhalleyWilmottHedger
from hedgegym.config import parse_config
from hedgegym.engine import HedgingEngine
from hedgegym.env.core import HedgingCore
from hedgegym.env.features import default_features, greeks_read
from hedgegym.evaluation import evaluate
from hedgegym.evaluation.rollout import attribution_greeks
from hedgegym.evaluation.rollout import test_paths as held_out_paths
from hedgegym.instruments import Book, EuropeanOption
from hedgegym.market import SABR, GeometricBrownianMotion, Heston
from hedgegym.pricing import black_scholes
from hedgegym.pricing.greeks import Greeks
from tests.pricing.quantlib_oracle import black_scholes as quantlib_black_scholes

FIELDS = Greeks._fields
GBM = GeometricBrownianMotion(spot=100.0, volatility=0.2, mu=0.05, rate=0.03, dividend=0.01)
BOOK = Book.short_call(100.0, 0.25, contracts=10.0)  # holder: −1000 × the per-unit Greeks
HEDGE = (EuropeanOption(105.0, 0.5),)


def gbm_paths(n_paths: int = 6, n_steps: int = 5, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    paths = GBM.simulate(n_paths, n_steps, 0.25 / n_steps, np.random.default_rng(seed))
    return np.ascontiguousarray(paths.spot.T), np.ascontiguousarray(paths.variance.T)


class FieldLog:
    """Wraps ``black_scholes.greeks`` and records the fields each call asked for."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.asked: list[frozenset[str]] = []
        original = black_scholes.greeks

        def logged(*args, fields=None, **kwargs):
            self.asked.append(frozenset(FIELDS) if fields is None else frozenset(fields))
            return original(*args, fields=fields, **kwargs)

        monkeypatch.setattr(black_scholes, "greeks", logged)

    @property
    def union(self) -> frozenset[str]:
        return frozenset().union(*self.asked)


# ------------------------------------------------------------------------------------------ the pricer's subsets
def test_black_scholes_subsets_equal_the_full_call_field_by_field_and_quantlib():
    spot = np.array([80.0, 100.0, 120.0, 100.0, 95.0])
    days = np.array([30, 91, 365, 1, 180])
    volatility = np.array([0.2, 0.35, 0.1, 0.25, 0.5])
    rate, dividend = np.full(5, 0.03), np.full(5, 0.01)
    for call in (True, False):
        calls = np.full(5, call)
        args = (spot, 100.0, days / 365.0, volatility, rate, dividend, call)
        full = black_scholes.greeks(*args)
        oracle = quantlib_black_scholes(spot, np.full(5, 100.0), days, volatility, rate, dividend, calls)
        for size in range(1, 6):
            for subset in itertools.combinations(FIELDS, size):
                part = black_scholes.greeks(*args, fields=subset)
                for name in FIELDS:
                    if name in subset:
                        np.testing.assert_array_equal(getattr(part, name), getattr(full, name), err_msg=name)
                        np.testing.assert_allclose(getattr(part, name), oracle[name], rtol=1e-7, atol=1e-9,
                                                   err_msg=name)
                    else:
                        assert getattr(part, name) is None, (subset, name)


def test_black_scholes_subsets_at_the_limits_equal_the_full_call():
    """τ = 0 and σ = 0 (the s → 0 limits) take the same code in a subset call."""
    args = (np.array([90.0, 100.0, 110.0]), 100.0, np.array([0.0, 0.0, 0.5]), np.array([0.2, 0.0, 0.0]))
    full = black_scholes.greeks(*args, 0.02, 0.0, True)
    for name in FIELDS:
        part = black_scholes.greeks(*args, 0.02, 0.0, True, fields=[name])
        np.testing.assert_array_equal(getattr(part, name), getattr(full, name), err_msg=name)
    np.testing.assert_array_equal(full.price, [0.0, 0.0, 110.0 - 100.0 * np.exp(-0.01)])  # intrinsic limits


@pytest.mark.parametrize("fields", [["price", "rho"], [], "price", 3, ["Delta"]])
def test_bad_fields_are_refused_naming_the_argument(fields):
    with pytest.raises(ValueError, match=r"fields .*price, delta, gamma, vega, theta"):
        black_scholes.greeks(100.0, 100.0, 0.5, 0.2, fields=fields)


def test_bad_engine_declaration_is_refused_naming_greeks():
    with pytest.raises(ValueError, match="greeks"):
        HedgingEngine(GBM, BOOK, 5, greeks=["price", "vanna"])


# ------------------------------------------------------------------------------------------ the engine, lazily
def test_reset_values_only_the_declared_fields(monkeypatch):
    log = FieldLog(monkeypatch)
    engine = HedgingEngine(GBM, BOOK, 5, hedge_options=HEDGE, greeks={"delta"})
    assert engine.required_greeks == {"price", "delta"}
    engine.reset(*gbm_paths())
    assert log.union == {"price", "delta"}
    assert engine.book_path.computed == engine.instrument_path.computed == {"price", "delta"}


def test_an_undeclared_field_is_valued_on_first_access_with_the_eager_numbers(monkeypatch):
    spot, variance = gbm_paths()
    eager = HedgingEngine(GBM, BOOK, 5, hedge_options=HEDGE)
    eager.reset(spot, variance)
    log = FieldLog(monkeypatch)
    lazy = HedgingEngine(GBM, BOOK, 5, hedge_options=HEDGE, greeks=["price"])
    lazy.reset(spot, variance)
    assert log.union == {"price"}
    lazy.step(np.zeros((6, 2)))
    theta = lazy.book_greeks.theta  # node 1, but valued for every node in one pass
    assert log.asked[-1] == {"theta"} and lazy.book_path.computed == {"price", "theta"}
    calls = len(log.asked)
    np.testing.assert_array_equal(lazy.book_greeks.theta, theta)  # kept, not valued again
    assert len(log.asked) == calls
    # against Black–Scholes directly: the same expression, bit for bit
    tau = BOOK.maturity - lazy.times[:, None]
    direct = black_scholes.greeks(spot, 100.0, tau, 0.2, GBM.rate, GBM.dividend, True)
    np.testing.assert_array_equal(lazy.book_path.theta, -1000.0 * direct.theta)
    np.testing.assert_array_equal(lazy.book_path.gamma, -1000.0 * direct.gamma)
    option = black_scholes.greeks(spot, 105.0, 0.5 - lazy.times[:, None], 0.2, GBM.rate, GBM.dividend, True)
    np.testing.assert_array_equal(lazy.instrument_greeks.vega[:, 1], 100.0 * option.vega[1])
    np.testing.assert_array_equal(lazy.instrument_greeks.vega[:, 0], 0.0)  # the stock
    for name in FIELDS:  # every field, every node, as the eager engine valued it
        np.testing.assert_array_equal(getattr(lazy.book_path, name), getattr(eager.book_path, name), err_msg=name)
        np.testing.assert_array_equal(getattr(lazy.instrument_path, name), getattr(eager.instrument_path, name),
                                      err_msg=name)
    for got, expected in zip(lazy.book_greeks, eager.book_path.row(1), strict=True):  # iterating a node view
        np.testing.assert_array_equal(got, expected)
    assert Greeks(*lazy.instrument_greeks).gamma.shape == (6, 2)


def test_taking_paths_of_a_valuation_equals_valuing_those_paths():
    """``take_paths``: a mini-batch of a path set valued once (deep hedging's training set) has, field by field, the
    numbers of an engine reset on those paths alone — the declared fields copied, an undeclared one valued on the
    parent on first access — and the engine reset with it steps to the same wealth."""
    spot, variance = gbm_paths(n_paths=9, n_steps=5)
    columns = np.array([7, 0, 3, 3])
    pool = HedgingEngine(GBM, BOOK, 5, hedge_options=HEDGE, greeks={"delta"})
    pool.reset(spot, variance)
    taken = valuation_module.take_paths(pool.valuation_of_paths, columns)
    assert taken.book_path.computed == {"price", "delta"}
    alone = HedgingEngine(GBM, BOOK, 5, hedge_options=HEDGE)
    alone.reset(spot[:, columns], variance[:, columns])
    for name in FIELDS:  # gamma, vega, theta: valued on the pool on first access, then taken
        np.testing.assert_array_equal(getattr(taken.book_path, name), getattr(alone.book_path, name), err_msg=name)
        np.testing.assert_array_equal(getattr(taken.instrument_path, name), getattr(alone.instrument_path, name),
                                      err_msg=name)
    assert pool.book_path.computed == set(FIELDS)
    batch = HedgingEngine(GBM, BOOK, 5, hedge_options=HEDGE, greeks={"delta"})
    batch.reset(spot[:, columns], variance[:, columns], valued=valuation_module.take_paths(
        pool.valuation_of_paths, columns))
    targets = np.full((4, 2), 0.5)
    for engine in (batch, alone):
        for _ in range(5):
            engine.step(targets)
    np.testing.assert_array_equal(batch.wealth, alone.wealth)
    with pytest.raises(IndexError):
        pool.book_path.take(np.array([9]))


def test_valuing_in_blocks_fills_the_same_arrays_as_one_block(monkeypatch):
    spot, variance = gbm_paths(n_paths=7, n_steps=9)
    one = HedgingEngine(GBM, Book.short_straddle(100.0, 0.25), 9, hedge_options=HEDGE)
    one.reset(spot, variance)
    monkeypatch.setattr(valuation_module, "_NODES_PER_VALUATION", 15)  # blocks of 2 rows, the last one 2 rows
    blocks = HedgingEngine(GBM, Book.short_straddle(100.0, 0.25), 9, hedge_options=HEDGE, greeks={"gamma"})
    blocks.reset(spot, variance)
    for name in FIELDS:
        np.testing.assert_array_equal(getattr(blocks.book_path, name), getattr(one.book_path, name), err_msg=name)
        np.testing.assert_array_equal(getattr(blocks.instrument_path, name), getattr(one.instrument_path, name),
                                      err_msg=name)


def test_a_barrier_book_valued_lazily_keeps_its_knock_out():
    book = Book.single(EuropeanOption(100.0, 0.25, barrier=90.0), -10.0)
    spot = np.array([[100.0, 100.0], [95.0, 89.0], [97.0, 99.0], [101.0, 103.0]])
    eager, lazy = HedgingEngine(GBM, book, 3), HedgingEngine(GBM, book, 3, greeks=())
    for engine in (eager, lazy):
        engine.reset(spot, np.full_like(spot, 0.04))
    assert lazy.book_path.computed == {"price"}
    for name in FIELDS:
        np.testing.assert_array_equal(getattr(lazy.book_path, name), getattr(eager.book_path, name), err_msg=name)
    np.testing.assert_array_equal(lazy.book_path.delta[2:, 1], 0.0)  # knocked out at node 1


def test_a_valuation_without_fields_keeps_working():
    """A user valuation that does not take ``fields`` computes all five; the declared subset is kept."""
    calls = []

    def flat_vol(spot, strike, tau, call, variance):
        calls.append(1)
        return black_scholes.greeks(spot, strike, tau, 0.3, 0.0, 0.0, call)

    spot, variance = gbm_paths()
    engine = HedgingEngine(GBM, BOOK, 5, valuation=flat_vol, greeks={"price"})
    engine.reset(spot, variance)
    assert engine.book_path.computed == {"price"}
    direct = black_scholes.greeks(spot, 100.0, BOOK.maturity - engine.times[:, None], 0.3, 0.0, 0.0, True)
    np.testing.assert_array_equal(engine.book_path.price, -1000.0 * direct.price)
    np.testing.assert_array_equal(engine.book_greeks.delta, -1000.0 * direct.delta[0])
    assert len(calls) == 2


@pytest.mark.parametrize("model", [
    Heston(spot=100.0, initial_variance=0.04, mean_reversion=2.0, long_run_variance=0.04, vol_of_vol=0.3,
           correlation=-0.7, mu=0.0, rate=0.01),
    SABR(spot=100.0, alpha=0.2, beta=1.0, vol_of_vol=0.5, correlation=-0.3, mu=0.0, rate=0.01),
], ids=["heston", "sabr"])
def test_declaring_prices_only_gives_the_prices_of_the_full_valuation_bit_for_bit(model):
    """Declarations change the speed, never the numbers: a price-only engine (SABR's price-only function, Heston's
    full Greeks call) marks the book exactly as an engine that values every Greek (heston.price integrates
    differently from heston.greeks, by ~1e-11 relative: it is not used for price-only requests)."""
    paths = model.simulate(40, 4, 0.025, np.random.default_rng(3))
    spot, variance = np.ascontiguousarray(paths.spot.T), np.ascontiguousarray(paths.variance.T)
    book = Book.short_call(100.0, 0.1)
    prices_only, everything = HedgingEngine(model, book, 4, greeks={"price"}), HedgingEngine(model, book, 4)
    prices_only.reset(spot, variance)
    everything.reset(spot, variance)
    np.testing.assert_array_equal(prices_only.book_path.price, everything.book_path.price)
    np.testing.assert_array_equal(prices_only.book_path.delta, everything.book_path.delta)  # valued on access


def test_a_shared_valuation_values_only_what_the_next_engine_adds(monkeypatch):
    spot, variance = gbm_paths()
    first = HedgingEngine(GBM, BOOK, 5, hedge_options=HEDGE, greeks={"delta"})
    first.reset(spot, variance)
    log = FieldLog(monkeypatch)
    second = HedgingEngine(GBM, BOOK, 5, hedge_options=HEDGE, greeks={"delta", "gamma"})
    second.reset(spot, variance, first.valuation_of_paths)
    assert log.asked == [{"gamma"}, {"gamma"}]  # the book's option, then the hedge option: one pass each
    assert first.book_path.computed == {"price", "delta", "gamma"}  # the same object: the first engine sees it
    assert second.book_path is first.book_path


@pytest.mark.parametrize("copier", [copy.deepcopy, lambda engine: pickle.loads(pickle.dumps(engine))])
def test_a_copied_engine_values_missing_fields_like_the_original(copier):
    spot, variance = gbm_paths()
    engine = HedgingEngine(GBM, BOOK, 5, hedge_options=HEDGE, greeks={"price"})
    engine.reset(spot, variance)
    engine.step(np.zeros((6, 2)))
    clone = copier(engine)
    assert clone.book_path.computed == {"price"} and clone.required_greeks == {"price"}
    np.testing.assert_array_equal(clone.instrument_greeks.theta, engine.instrument_greeks.theta)
    np.testing.assert_array_equal(clone.book_greeks.gamma, engine.book_path.gamma[1])


# ------------------------------------------------------------------------------------------ declarations
def test_hedgers_declare_what_they_read():
    assert DeltaHedger.required_greeks == {"price", "delta"}
    assert DeltaHedger(volatility=0.25).required_greeks == {"price"}  # its own Black–Scholes delta
    assert NoHedge.required_greeks == {"price"}
    assert GreekNeutralHedger(("delta", "gamma", "vega")).required_greeks == {"price", "delta", "gamma", "vega"}
    assert LelandHedger(0.2).required_greeks == {"price", "gamma"}
    assert WhalleyWilmottHedger().required_greeks == {"price", "delta", "gamma"}


def test_features_declare_what_they_read():
    assert greeks_read(["log_moneyness", "time_to_maturity", "stock_position", "pnl"]) == {"price"}
    assert greeks_read(["book_delta", "option1_gamma", "option2_position"]) == {"price", "delta", "gamma"}
    assert greeks_read(default_features(1)) == set(FIELDS)
    core = HedgingCore(parse_config({"simulation": {"n_steps": 4},
                                     "env": {"features": ["log_moneyness", "book_delta"]}}), n_envs=2)
    assert core.engine.required_greeks == {"price", "delta"}
    relative = HedgingCore(parse_config({"simulation": {"n_steps": 4},
                                         "env": {"features": ["pnl"], "action": "delta_relative"}}), n_envs=2)
    assert relative.engine.required_greeks == {"price", "delta"}


def test_a_delta_hedger_evaluation_values_no_theta_gamma_or_vega(monkeypatch):
    config = parse_config({"simulation": {"n_steps": 10}})
    paths = held_out_paths(config, 50, 5)
    log = FieldLog(monkeypatch)
    plain = evaluate(DeltaHedger(), config, paths=paths, attribution=False)
    assert log.asked and log.union == {"price", "delta"}
    assert not any(column.startswith("attribution_") for column in plain.per_path)
    log.asked.clear()
    attributed = evaluate(DeltaHedger(), config, paths=held_out_paths(config, 50, 5))
    assert log.union == {"price", "delta", "gamma", "theta"}  # GBM: no volatility state, so no vega
    np.testing.assert_array_equal(plain.per_path["pnl"], attributed.per_path["pnl"])
    assert attribution_greeks(GBM) == {"price", "delta", "gamma", "theta"}


def test_evaluation_attribution_is_unchanged_by_lazy_valuation(monkeypatch):
    """With every field valued eagerly (the old behaviour) the attribution columns are the same numbers."""
    config = parse_config({"simulation": {"n_steps": 10}})
    lazy = evaluate(DeltaHedger(), config, paths=held_out_paths(config, 40, 2))
    monkeypatch.setattr(DeltaHedger, "required_greeks", frozenset(FIELDS))
    eager = evaluate(DeltaHedger(), config, paths=held_out_paths(config, 40, 2))
    np.testing.assert_array_equal(lazy.per_path.to_numpy(), eager.per_path.to_numpy())
