"""GeometricBrownianMotion.simulate_tensors: the law of log S_T (closed form), determinism, layout, errors, CUDA.

Closed form: ln S_T ~ N(ln S₀ + (drift − σ²/2) T, σ² T), drift = μ ("real") or r − q ("pricing"). Every moment test
is a z-score against that law; the family of all of them in this file is held to a 1e-3 false-alarm rate by
Bonferroni: |z| < Φ⁻¹(1 − 1e-3 / (2 · FAMILY)).
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pytest
import torch

from hedgegym.market import GeometricBrownianMotion, Heston

FAMILY = 17  # moment z-scores in this file: 2 dtypes × 2 measures × (mean, variance) × 2 horizons, + 1 on CUDA
Z_BOUND = NormalDist().inv_cdf(1 - 1e-3 / (2 * FAMILY))
MODEL = GeometricBrownianMotion(spot=100.0, volatility=0.3, mu=0.08, rate=0.03, dividend=0.01)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("measure", ["real", "pricing"])
def test_log_spot_has_the_closed_form_mean_and_variance(dtype, measure):
    n_paths, n_steps, dt = 200_000, 50, 1.0 / 100.0
    spot, variance = MODEL.simulate_tensors(n_paths, n_steps, dt, torch.Generator().manual_seed(1), dtype=dtype,
                                            measure=measure)
    assert spot.shape == variance.shape == (n_steps + 1, n_paths) and spot.dtype == variance.dtype == dtype
    sigma, drift = MODEL.volatility, MODEL.drift(measure)
    for step in (n_steps // 2, n_steps):  # the middle and the end of the path: 2 horizons
        horizon = step * dt
        log_spot = torch.log(spot[step].double()).numpy()
        mean, var = math.log(MODEL.spot) + (drift - 0.5 * sigma**2) * horizon, sigma**2 * horizon
        z_mean = (log_spot.mean() - mean) / math.sqrt(var / n_paths)
        z_var = (log_spot.var(ddof=1) - var) / (var * math.sqrt(2.0 / (n_paths - 1)))  # sd of a normal sample var
        assert abs(z_mean) < Z_BOUND and abs(z_var) < Z_BOUND, (step, z_mean, z_var)
    assert torch.all(spot[0] == MODEL.spot)
    assert torch.all(variance == sigma**2)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_zero_volatility_path_is_exact_to_the_dtype(dtype):
    model = GeometricBrownianMotion(spot=80.0, volatility=0.0, mu=0.07)
    spot, _ = model.simulate_tensors(3, 250, 1.0 / 250.0, torch.Generator().manual_seed(0), dtype=dtype)
    expected = 80.0 * np.exp(0.07 * np.arange(251) / 250.0)
    tolerance = 1e-12 if dtype == torch.float64 else 2e-6
    np.testing.assert_allclose(spot.double().numpy(), np.repeat(expected[:, None], 3, axis=1), rtol=tolerance)


def test_same_generator_seed_gives_the_same_tensors_and_another_seed_others():
    def draw(seed: int) -> torch.Tensor:
        return MODEL.simulate_tensors(1_000, 20, 0.01, torch.Generator().manual_seed(seed))[0]

    assert torch.equal(draw(7), draw(7))
    assert not torch.equal(draw(7), draw(8))
    generator = torch.Generator().manual_seed(7)
    first, _ = MODEL.simulate_tensors(1_000, 20, 0.01, generator)
    second, _ = MODEL.simulate_tensors(1_000, 20, 0.01, generator)
    assert not torch.equal(first, second)  # the generator's stream moves on


def test_spot_stays_in_the_dtypes_normal_range_under_a_huge_volatility():
    """A large σ√T: ln S_T spreads over ±60, far beyond float32's exp range, and every spot stays in
    [smallest normal, largest finite] of the dtype."""
    model = GeometricBrownianMotion(spot=1.0, volatility=6.0)
    for dtype in (torch.float32, torch.float64):
        spot, _ = model.simulate_tensors(2_000, 100, 1.0, torch.Generator().manual_seed(3), dtype=dtype)
        info = torch.finfo(dtype)
        assert torch.all(spot >= info.tiny) and torch.all(spot <= info.max) and torch.all(torch.isfinite(spot))


BAD = [
    ({"n_paths": 0}, "n_paths"),
    ({"n_paths": 2.5}, "n_paths"),
    ({"n_steps": -1}, "n_steps"),
    ({"dt": 0.0}, "dt"),
    ({"dt": float("nan")}, "dt"),
    ({"generator": np.random.default_rng(0)}, "generator"),
    ({"dtype": torch.float16}, "dtype"),
    ({"device": "cuda"}, "device"),  # the generator is on the CPU
    ({"device": "tpu"}, "device"),
    ({"measure": "risk-neutral"}, "measure"),
]


@pytest.mark.parametrize(("bad", "argument"), BAD)
def test_bad_arguments_raise_value_error_naming_them(bad, argument):
    arguments = {"n_paths": 10, "n_steps": 5, "dt": 0.01, "generator": torch.Generator()} | bad
    with pytest.raises(ValueError, match=rf"^{argument}"):
        MODEL.simulate_tensors(**arguments)


def test_a_model_without_a_torch_simulator_says_so():
    with pytest.raises(ValueError, match="Heston model simulates in numpy only"):
        Heston().simulate_tensors(10, 5, 0.01, torch.Generator())


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_simulates_on_the_generators_device_with_the_same_law():
    generator = torch.Generator(device="cuda").manual_seed(0)
    spot, variance = MODEL.simulate_tensors(100_000, 10, 0.1, generator, device="cuda")
    assert spot.device.type == variance.device.type == "cuda"
    log_spot = torch.log(spot[-1].double()).cpu().numpy()
    mean, var = math.log(MODEL.spot) + (MODEL.mu - 0.045) * 1.0, 0.09
    assert abs((log_spot.mean() - mean) / math.sqrt(var / log_spot.size)) < Z_BOUND
