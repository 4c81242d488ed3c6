"""HedgingEngine.reset on torch tensors: the book and the hedges valued in torch (Black–Scholes-based valuations,
no barrier) at the engine's dtype and device; other set-ups fall back to numpy float64 with identical numbers.

References: the numpy float64 reset (whose valuation is tested against QuantLib in tests/pricing) — a float64
torch reset must reproduce it to 1e-12 relative, a float32 one to a stated tolerance — and QuantLib for the
premium of a book valued in torch.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch

from hedgegym.baselines import DeltaHedger
from hedgegym.costs import ProportionalCost
from hedgegym.engine import HedgingEngine
from hedgegym.instruments import Book, EuropeanOption
from hedgegym.market import GeometricBrownianMotion, Heston, RegimeSwitchingVolatility
from tests.pricing.quantlib_oracle import black_scholes as quantlib_black_scholes

N_PATHS, N_STEPS = 1_000, 40
GBM = GeometricBrownianMotion(spot=100.0, volatility=0.25, mu=0.05, rate=0.03, dividend=0.01)
BOOK = Book.short_straddle(100.0, 0.5, contracts=2)
HEDGES = (EuropeanOption(110.0, 1.0, call=True),)
SCALE = BOOK.notional * GBM.spot  # currency scale of the book


def paths(model=GBM, n_paths: int = N_PATHS, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    simulated = model.simulate(n_paths, N_STEPS, BOOK.maturity / N_STEPS, np.random.default_rng(seed))
    return np.ascontiguousarray(simulated.spot.T), np.ascontiguousarray(simulated.variance.T)


def delta_hedge(spot, variance, model=GBM, book=BOOK, dtype=torch.float64, device="cpu", greeks=None,
                hedges=HEDGES) -> HedgingEngine:
    engine = HedgingEngine(model, book, N_STEPS, hedge_options=hedges, costs=ProportionalCost(0.001), dtype=dtype,
                           device=device, greeks=DeltaHedger.required_greeks if greeks is None else greeks)
    engine.reset(spot, variance)
    hedger = DeltaHedger()
    hedger.reset(engine)
    while not engine.done:
        engine.step(hedger.targets(engine))
    return engine


def assert_relative(got: np.ndarray, expected: np.ndarray, tolerance: float) -> None:
    assert got.shape == expected.shape
    assert np.max(np.abs(got - expected)) <= tolerance * np.max(np.abs(expected)), np.max(np.abs(got - expected))


def test_float64_tensor_reset_equals_the_numpy_reset_to_1e_12():
    spot, variance = paths()
    numpy_engine = delta_hedge(spot, variance)
    torch_engine = delta_hedge(torch.from_numpy(spot), torch.from_numpy(variance))
    assert_relative(torch_engine.wealth, numpy_engine.wealth, 1e-12)
    for name in ("price", "delta", "gamma", "vega", "theta"):  # gamma, vega, theta: valued lazily, in torch too
        assert_relative(getattr(torch_engine.book_path, name), getattr(numpy_engine.book_path, name), 1e-12)
        assert_relative(getattr(torch_engine.instrument_path, name), getattr(numpy_engine.instrument_path, name),
                        1e-12)


def test_float32_tensor_reset_agrees_with_float64_within_1e_5_of_the_book_scale():
    """Stated tolerance: |W_T(float32) − W_T(float64)| ≤ 1e-5 × notional × S₀ per path (measured ≈ 5e-7: the
    float32 rounding of ~40 steps of prices of size notional × S₀); the P&L's mean and sd agree to 1e-4 of the sd."""
    spot, variance = paths()
    reference = delta_hedge(spot, variance)
    engine = delta_hedge(torch.tensor(spot, dtype=torch.float32), torch.tensor(variance, dtype=torch.float32),
                         dtype=torch.float32)
    assert engine.book_path.price.dtype == np.float32 and engine.book_path.delta.dtype == np.float32
    assert np.max(np.abs(engine.wealth.astype(np.float64) - reference.wealth)) <= 1e-5 * SCALE
    sd = reference.wealth.std()
    assert abs(engine.wealth.mean() - reference.wealth.mean()) <= 1e-4 * sd
    assert abs(engine.wealth.std() - sd) <= 1e-4 * sd


def test_the_valuation_runs_in_torch_on_the_callers_tensor_without_copies():
    """float32 paths into a float32 engine: spot_path is a zero-copy view of the caller's tensor and every
    valued field is float32 (a numpy float64 valuation would give float64 arrays), and the book's premium at
    inception matches QuantLib to float32 precision."""
    days = 146  # QuantLib counts whole days: T = 146/365 = 0.4 years
    book = Book.short_straddle(100.0, days / 365.0, contracts=2)
    spot, variance = GBM.simulate_tensors(500, N_STEPS, book.maturity / N_STEPS, torch.Generator().manual_seed(0),
                                          dtype=torch.float32)
    engine = HedgingEngine(GBM, book, N_STEPS, dtype=torch.float32, greeks={"delta"})
    engine.reset(spot, variance)
    assert engine.spot_path.ctypes.data == spot.data_ptr() and engine.spot_path.dtype == np.float32
    assert engine.book_path.computed == {"price", "delta"}
    assert engine.book_path.price.dtype == engine.instrument_path.price.dtype == np.float32
    oracle = quantlib_black_scholes(np.full(2, 100.0), np.full(2, 100.0), np.full(2, days), np.full(2, 0.25),
                                    np.full(2, 0.03), np.full(2, 0.01), np.array([True, False]))
    premium = -2 * 100.0 * oracle["price"].sum()  # short 2 contracts × 100 of a call and of a put
    assert engine.book_path.price[0] == pytest.approx(premium, rel=1e-6)


def test_regime_switching_proxy_valuation_runs_in_torch_and_equals_numpy():
    model = RegimeSwitchingVolatility(spot=100.0, volatility_min=0.1, volatility_max=0.4, switching_rate=6.0,
                                      rate=0.02)
    spot, variance = paths(model)
    reference = delta_hedge(spot, variance, model=model)
    engine = delta_hedge(torch.from_numpy(spot), torch.from_numpy(variance), model=model)
    assert_relative(engine.wealth, reference.wealth, 1e-12)
    assert_relative(engine.book_path.delta, reference.book_path.delta, 1e-12)


def test_barrier_books_and_other_models_fall_back_to_numpy_float64_bit_for_bit():
    barrier_book = Book.single(EuropeanOption(100.0, 0.5, barrier=85.0), -2.0)
    for model, book in ((GBM, barrier_book), (Heston(spot=100.0, rate=0.03), BOOK)):
        spot, variance = paths(model, n_paths=200)
        spot = spot.astype(np.float32).astype(np.float64)  # the float32 tensor's values, exactly
        reference = delta_hedge(spot, variance, model=model, book=book, hedges=())
        engine = delta_hedge(torch.tensor(spot, dtype=torch.float32), torch.from_numpy(variance), model=model,
                             book=book, hedges=())
        np.testing.assert_array_equal(engine.wealth, reference.wealth)
        assert engine.book_path.price.dtype == np.float64


def test_a_copy_mid_episode_continues_identically_and_lazy_fields_are_valued_on_access():
    spot, variance = GBM.simulate_tensors(300, N_STEPS, BOOK.maturity / N_STEPS, torch.Generator().manual_seed(5),
                                          dtype=torch.float64)
    engine = HedgingEngine(GBM, BOOK, N_STEPS, hedge_options=HEDGES, greeks={"delta"})
    engine.reset(spot, variance)
    hedger = DeltaHedger()
    hedger.reset(engine)
    for _ in range(N_STEPS // 2):
        engine.step(hedger.targets(engine))
    twin = copy.deepcopy(engine)
    while not engine.done:
        targets = hedger.targets(engine)
        engine.step(targets)
        twin.step(targets)
    np.testing.assert_array_equal(twin.wealth, engine.wealth)
    assert "theta" not in engine.book_path.computed
    numpy_engine = HedgingEngine(GBM, BOOK, N_STEPS, hedge_options=HEDGES)
    numpy_engine.reset(spot.numpy(), variance.numpy())
    assert_relative(engine.book_path.theta, numpy_engine.book_path.theta, 1e-12)  # valued now, in torch


def test_bad_tensor_paths_raise_value_error():
    engine = HedgingEngine(GBM, BOOK, N_STEPS)
    spot, variance = (torch.from_numpy(x) for x in paths(n_paths=10))
    with pytest.raises(ValueError, match=r"spot and variance must have shape \(n_steps \+ 1, N\)"):
        engine.reset(spot[1:], variance[1:])
    bad = spot.clone()
    bad[5, 3] = -1.0
    with pytest.raises(ValueError, match=r"^spot must be > 0"):
        engine.reset(bad, variance)
    bad[5, 3] = math.nan
    with pytest.raises(ValueError, match=r"^spot must be finite"):
        engine.reset(bad, variance)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_cuda_tensor_reset_gives_the_cpu_numbers(dtype):
    spot, variance = paths()
    cpu = delta_hedge(torch.tensor(spot, dtype=dtype), torch.tensor(variance, dtype=dtype), dtype=dtype)
    cuda = delta_hedge(torch.tensor(spot, dtype=dtype, device="cuda"), torch.tensor(variance, dtype=dtype,
                       device="cuda"), dtype=dtype, device="cuda")
    assert cuda.book_path.price.dtype == cpu.book_path.price.dtype
    tolerance = 1e-12 if dtype == torch.float64 else 1e-5
    assert np.max(np.abs(cuda.wealth.astype(np.float64) - cpu.wealth)) <= tolerance * SCALE
