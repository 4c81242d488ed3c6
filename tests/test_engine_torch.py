"""The engine's step on torch tensors: numpy and torch targets give the same bits, float32 agrees with float64,
gradients through the step equal finite differences and each cost model's derivative, CUDA where present."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hedgegym.costs import FixedCost, ProportionalCost, QuadraticImpact, SpreadCost
from hedgegym.engine import HedgingEngine
from hedgegym.instruments import Book, EuropeanOption
from hedgegym.market import GeometricBrownianMotion

GBM = GeometricBrownianMotion(spot=100.0, volatility=0.2, mu=0.08, rate=0.03, dividend=0.01)
BOOK = Book.short_call(100.0, 0.25, contracts=10)
HEDGE = (EuropeanOption(105.0, 0.5),)
COSTS = ProportionalCost((0.002, 0.01)) + QuadraticImpact((1e-5, 1e-3)) + SpreadCost((0.01, 0.05)) + FixedCost(0.5)
N_STEPS, N_PATHS = 12, 64


def paths(seed: int = 0):
    dt = BOOK.maturity / N_STEPS
    simulated = GBM.simulate(N_PATHS, N_STEPS, dt, np.random.default_rng(seed))
    return simulated.spot.T.copy(), simulated.variance.T.copy()


def engine(**kwargs) -> HedgingEngine:
    built = HedgingEngine(GBM, BOOK, N_STEPS, hedge_options=HEDGE, costs=COSTS, liquidate_at_maturity=True, **kwargs)
    built.reset(*paths())
    return built


def delta_gamma_like_targets(seed: int = 1) -> np.ndarray:
    """Fixed targets (n_steps, N, k) far from zero trades (the costs' kinks), the same for every engine."""
    rng = np.random.default_rng(seed)
    return np.stack([rng.uniform(200.0, 800.0, (N_STEPS, N_PATHS)), rng.uniform(-12.0, 12.0, (N_STEPS, N_PATHS))],
                    axis=-1)


def test_torch_targets_give_the_numpy_targets_numbers_bit_for_bit():
    targets = delta_gamma_like_targets()
    with_numpy, with_torch = engine(), engine()
    for i in range(N_STEPS):
        numpy_outcome = with_numpy.step(targets[i])
        torch_outcome = with_torch.step(torch.from_numpy(targets[i]))
        assert isinstance(numpy_outcome.pnl, np.ndarray) and isinstance(torch_outcome.pnl, torch.Tensor)
        for a, b in zip(numpy_outcome[:-1], torch_outcome[:-1], strict=True):
            np.testing.assert_array_equal(a, b.numpy())
    np.testing.assert_array_equal(with_numpy.wealth, with_torch.wealth)


def test_numpy_state_is_a_zero_copy_view_of_the_tensors():
    built = engine()
    built.step(delta_gamma_like_targets()[0])
    assert built.positions.__array_interface__["data"][0] == built.state.positions.data_ptr()
    assert built.wealth.__array_interface__["data"][0] == built.state.wealth.data_ptr()


def test_float32_agrees_with_float64_within_single_precision():
    """Same paths, same targets: the float32 state drifts from float64 by rounding only. Bound: float32's
    ε = 1.2e-7 times the size of the numbers added per step (cash ~ 1e5 here) times the steps, with margin."""
    targets = delta_gamma_like_targets()
    double, single = engine(), engine(dtype=torch.float32)
    for i in range(N_STEPS):
        double_outcome, single_outcome = double.step(targets[i]), single.step(targets[i])
        assert single_outcome.pnl.dtype == np.float32
        # trades are differences of float32 positions (~800 shares: ±5e-5 each), so costs agree to ~1e-5
        np.testing.assert_allclose(single_outcome.cost, double_outcome.cost, rtol=1e-5, atol=1e-4)
    scale = np.abs(double.cash).max()
    assert np.abs(single.wealth - double.wealth).max() < 1.2e-7 * scale * N_STEPS * 4


def test_gradient_of_terminal_wealth_equals_finite_differences():
    """torch.autograd.gradcheck: the analytic gradient of W_T with respect to every target through the whole
    episode (trades, proportional/impact/spread costs, cash, dividends, liquidation) against central finite
    differences (the oracle independent of autograd). Fixed fees are left out: their gradient is a surrogate."""
    smooth_costs = ProportionalCost((0.002, 0.01)) + QuadraticImpact((1e-5, 1e-3)) + SpreadCost((0.01, 0.05))
    built = HedgingEngine(GBM, BOOK, N_STEPS, hedge_options=HEDGE, costs=smooth_costs, liquidate_at_maturity=True)
    spot, variance = paths()
    n = 4

    def terminal_wealth(targets: torch.Tensor) -> torch.Tensor:
        built.reset(spot[:, :n], variance[:, :n])
        for i in range(N_STEPS):
            built.step(targets[i])
        return built.state.wealth

    targets = torch.from_numpy(delta_gamma_like_targets()[:, :n].copy()).requires_grad_(True)
    assert torch.autograd.gradcheck(terminal_wealth, (targets,), eps=1e-4, atol=1e-5, rtol=1e-6)


@pytest.mark.parametrize(("cost", "derivative"), [
    (ProportionalCost((0.002, 0.01)), lambda q, p: np.array([0.002, 0.01]) * p * np.sign(q)),
    (QuadraticImpact((1e-5, 1e-3)), lambda q, p: 2.0 * np.array([1e-5, 1e-3]) * p * q),
    (SpreadCost((0.01, 0.05)), lambda q, p: np.array([0.01, 0.05]) * np.sign(q)),
])
def test_each_cost_models_gradient_is_its_formulas_derivative(cost, derivative):
    rng = np.random.default_rng(2)
    trades = rng.uniform(-50.0, 50.0, (32, 2))
    prices = rng.uniform(1.0, 120.0, (32, 2))
    q = torch.from_numpy(trades).requires_grad_(True)
    value = cost.unchecked_cost(q, torch.from_numpy(prices))
    np.testing.assert_array_equal(value.detach().numpy(), cost.cost(trades, prices))  # the same formula, both kinds
    value.sum().backward()
    np.testing.assert_allclose(q.grad.numpy(), derivative(trades, prices), rtol=1e-12)


def test_fixed_fee_value_is_exact_and_its_gradient_is_the_logistic_surrogates():
    """Straight-through estimator: forward fee·1[|q| > threshold]; backward d/dq of fee·σ((|q| − threshold)/s)."""
    fee, threshold, smoothing = np.array([2.0, 7.0]), np.array([0.5, 0.0]), np.array([3.0, 1.0])
    cost = FixedCost(tuple(fee), threshold=tuple(threshold), smoothing=tuple(smoothing))
    trades = np.array([[0.2, -4.0], [-6.0, 0.0], [1.5, 0.3]])
    q = torch.from_numpy(trades).requires_grad_(True)
    value = cost.unchecked_cost(q, torch.ones(3, 2, dtype=torch.float64))
    np.testing.assert_array_equal(value.detach().numpy(), ((np.abs(trades) > threshold) * fee).sum(axis=1))
    value.sum().backward()
    z = (np.abs(trades) - threshold) / smoothing
    logistic = 1.0 / (1.0 + np.exp(-z))
    expected = fee * logistic * (1.0 - logistic) / smoothing * np.sign(trades)
    np.testing.assert_allclose(q.grad.numpy(), expected, rtol=1e-12)


def test_fixed_cost_smoothing_must_be_positive():
    with pytest.raises(ValueError, match="smoothing must be > 0"):
        FixedCost(1.0, smoothing=0.0)


def test_dtype_and_device_are_checked():
    with pytest.raises(ValueError, match=r"dtype must be torch\.float64 or torch\.float32"):
        HedgingEngine(GBM, BOOK, N_STEPS, dtype=torch.int64)
    with pytest.raises(ValueError, match="device must be 'cpu' or a CUDA device"):
        HedgingEngine(GBM, BOOK, N_STEPS, device="tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            HedgingEngine(GBM, BOOK, N_STEPS, device="cuda")


def test_nan_tensor_targets_are_refused():
    built = engine()
    targets = torch.full((N_PATHS, 2), float("nan"), dtype=torch.float64)
    with pytest.raises(ValueError, match="targets must be finite"):
        built.step(targets)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_engine_gives_the_cpu_numbers():
    targets = delta_gamma_like_targets()
    cpu, cuda = engine(), engine(device="cuda")
    for i in range(N_STEPS):
        cpu.step(targets[i])
        outcome = cuda.step(torch.from_numpy(targets[i]).cuda())
        assert outcome.pnl.device.type == "cuda"
    np.testing.assert_allclose(cuda.wealth, cpu.wealth, rtol=1e-12, atol=1e-9)


def test_the_state_never_aliases_the_callers_targets():
    """A caller that changes its targets after the step must not change the engine's positions (numpy or torch)."""
    for as_tensor in (False, True):
        built = engine()
        targets = delta_gamma_like_targets()[0].copy()
        given = torch.from_numpy(targets) if as_tensor else targets
        built.step(given)
        held = built.positions.copy()
        given[:] += 1000.0
        np.testing.assert_array_equal(built.positions, held)


def test_float32_engine_refuses_targets_beyond_float32():
    for targets in (np.full((N_PATHS, 2), 1e39), torch.full((N_PATHS, 2), 1e39, dtype=torch.float64)):
        built = engine(dtype=torch.float32)
        with pytest.raises(ValueError, match=r"targets must be finite torch\.float32 numbers"):
            built.step(targets)
        assert np.all(np.isfinite(built.cash)) and built.step_index == 0


def test_paths_that_require_grad_are_detached_at_reset():
    built = HedgingEngine(GBM, BOOK, N_STEPS)
    spot, variance = (torch.from_numpy(x).requires_grad_(True) for x in paths())
    built.reset(spot, variance)
    np.testing.assert_allclose(built.spot_path, spot.detach().numpy())


def test_a_failed_reset_leaves_the_engine_as_it_was():
    built = engine()
    built.step(delta_gamma_like_targets()[0])
    before = (built.n_paths, built.step_index, built.positions.copy(), built.spot_path)
    spot, variance = paths()
    spot[3, 0] = np.nan
    with pytest.raises(ValueError, match="spot"):
        built.reset(spot[:, :3], variance[:, :3])
    assert (built.n_paths, built.step_index) == before[:2] and built.spot_path is before[3]
    np.testing.assert_array_equal(built.positions, before[2])
    built.step(delta_gamma_like_targets()[1])  # the episode goes on with N = 64


def test_a_copy_mid_way_through_a_differentiable_roll_out_keeps_the_values_not_the_graph():
    import copy

    built = engine()
    targets = torch.from_numpy(delta_gamma_like_targets()[0]).requires_grad_(True)
    built.step(targets)
    assert built.state.wealth.requires_grad
    duplicate = copy.deepcopy(built)
    assert not duplicate.state.wealth.requires_grad
    np.testing.assert_array_equal(duplicate.wealth, built.wealth)


def test_a_broadcast_variance_is_exposed_read_only():
    generator = torch.Generator().manual_seed(0)
    spot, variance = GBM.simulate_tensors(8, N_STEPS, BOOK.maturity / N_STEPS, generator, dtype=torch.float64)
    built = HedgingEngine(GBM, BOOK, N_STEPS)
    built.reset(spot, variance)
    with pytest.raises(ValueError, match="read-only"):
        built.variance_path[0, 0] = 1.0


@pytest.mark.skipif(torch.cuda.is_available() and torch.cuda.device_count() > 7, reason="has a cuda:7")
def test_a_cuda_device_index_the_machine_lacks_is_refused():
    with pytest.raises(ValueError, match="CUDA"):
        HedgingEngine(GBM, BOOK, N_STEPS, device="cuda:7")
