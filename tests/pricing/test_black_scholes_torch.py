"""Black–Scholes on torch tensors: QuantLib, the numpy path, float32 vs float64, limits, tails, errors, CUDA.

The torch path is the numpy code run with torch functions (hedgegym.pricing.namespace); the references are
QuantLib (the same oracle and tolerances as tests/pricing/test_black_scholes.py), scipy's ndtr, 50-digit mpmath and
closed-form limits computed here.
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
import torch
from scipy.special import ndtr

from hedgegym.pricing import black_scholes as bs
from hedgegym.pricing.namespace import namespace
from tests.pricing.quantlib_oracle import black_scholes as quantlib_black_scholes
from tests.pricing.test_black_scholes import GREEK_NAMES, natural_scale, random_parameter_sets

EPS64 = float(np.finfo(np.float64).eps)
CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def as_tensors(p: dict[str, np.ndarray], dtype: torch.dtype, device: str = "cpu") -> tuple:
    """The grid's arguments as tensors (τ = days/365 as QuantLib reads it), ``call`` as a bool tensor."""
    floats = (p["spot"], p["strike"], p["days"] / 365.0, p["volatility"], p["rate"], p["dividend"])
    return (*(torch.tensor(x, dtype=dtype, device=device) for x in floats), torch.tensor(p["call"], device=device))


def numpy_args(p: dict[str, np.ndarray]) -> tuple:
    return p["spot"], p["strike"], p["days"] / 365.0, p["volatility"], p["rate"], p["dividend"], p["call"]


@pytest.fixture(scope="module")
def grid():
    p = random_parameter_sets(10_000, seed=20261121)
    oracle = quantlib_black_scholes(p["spot"], p["strike"], p["days"], p["volatility"], p["rate"], p["dividend"],
                                    p["call"])
    return p, oracle, bs.greeks(*numpy_args(p))


@pytest.mark.parametrize("name", GREEK_NAMES)
def test_float64_tensors_match_quantlib_as_numpy_does(grid, name):
    p, oracle, _ = grid
    got = getattr(bs.greeks(*as_tensors(p, torch.float64)), name)
    assert isinstance(got, torch.Tensor) and got.dtype == torch.float64
    got, expected = got.numpy(), oracle[name]
    resolvable = np.abs(expected) >= 1e-6 * natural_scale(name, p["spot"])
    assert resolvable.sum() > 9_600
    relative = np.abs(got[resolvable] - expected[resolvable]) / np.abs(expected[resolvable])
    assert relative.max() <= 1e-9, f"{name}: worst relative error {relative.max():.3e}"
    assert np.all(np.abs(got - expected) <= 1e-12 * natural_scale(name, p["spot"]) + 1e-9 * np.abs(expected))


@pytest.mark.parametrize("seed", [20261121, 5])
def test_float64_tensors_equal_numpy_to_a_few_ulp(seed):
    """|torch − numpy| ≤ 32 ε · max(natural scale, |value|) on every Greek. Measured worst: 22 ε (Γ of a short-dated
    option: d₁ inherits one ulp of ln(S/K) from torch's log, and Γ ∝ e^{−d₁²/2} multiplies it by d₁²)."""
    p = random_parameter_sets(10_000, seed=seed)
    ours, reference = bs.greeks(*as_tensors(p, torch.float64)), bs.greeks(*numpy_args(p))
    for name, got, expected in zip(GREEK_NAMES, ours, reference, strict=True):
        bound = 32 * EPS64 * np.maximum(natural_scale(name, p["spot"]), np.abs(expected))
        assert np.all(np.abs(got.numpy() - expected) <= bound), name


@pytest.mark.parametrize("name", GREEK_NAMES)
def test_float32_matches_float64_within_the_stated_tolerance(grid, name):
    """float32 vs float64 on the same grid: ≤ 1e-4 relative where |value| ≥ 1e-4 × the natural scale (measured
    worst 7e-5: Θ, where carry and diffusion cancel) and ≤ 2e-5 × the natural scale everywhere (measured 1.1e-5)."""
    p, _, reference = grid
    got = getattr(bs.greeks(*as_tensors(p, torch.float32)), name)
    assert got.dtype == torch.float32
    got, expected, scale = got.double().numpy(), getattr(reference, name), natural_scale(name, p["spot"])
    resolvable = np.abs(expected) >= 1e-4 * scale
    assert resolvable.sum() > 9_400
    assert np.max(np.abs(got - expected)[resolvable] / np.abs(expected[resolvable])) <= 1e-4
    assert np.all(np.abs(got - expected) <= 2e-5 * scale)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_limits_at_expiry_and_zero_volatility(dtype):
    """s = σ√τ = 0: the discounted forward intrinsic value, Δ = ω e^{−qτ} 1[ωF > ωK] (ω e^{−qτ}/2 at F = K), Γ = 0;
    at τ = 0 also vega = 0 and Θ = ω (q S − r K) 1[ωS > ωK] (the carry of the intrinsic value)."""
    spot = np.array([90.0, 100.0, 110.0, 90.0, 100.0, 110.0])
    call = np.array([True, True, True, False, False, False])
    strike, rate, dividend = 100.0, 0.03, 0.01
    omega = np.where(call, 1.0, -1.0)
    for tau, volatility in ((0.0, 0.2), (0.5, 0.0)):
        forward = spot * math.exp((rate - dividend) * tau)
        # at τ = 0 the rows with S = 100 sit exactly at the forward strike F = K; at σ = 0 none does
        strikes = np.full_like(spot, strike)
        g = bs.greeks(torch.tensor(spot, dtype=dtype), torch.tensor(strikes, dtype=dtype), tau, volatility, rate,
                      dividend, torch.tensor(call))
        intrinsic = np.maximum(omega * (spot * math.exp(-dividend * tau) - strikes * math.exp(-rate * tau)), 0.0)
        in_the_money = np.where(omega * (forward - strikes) > 0, 1.0, np.where(forward == strikes, 0.5, 0.0))
        tolerance = 1e-12 if dtype == torch.float64 else 2e-5
        np.testing.assert_allclose(g.price.double().numpy(), intrinsic, atol=tolerance * 100)
        np.testing.assert_allclose(g.delta.double().numpy(), omega * math.exp(-dividend * tau) * in_the_money,
                                   atol=tolerance)
        assert torch.all(g.gamma == 0.0)
        assert all(torch.isfinite(field).all() for field in g)
        if tau == 0.0:
            assert torch.all(g.vega == 0.0)
            at_money = spot == 100.0
            carry = omega * (dividend * spot - rate * strikes) * (omega * (spot - strikes) > 0)
            np.testing.assert_allclose(g.theta.double().numpy()[~at_money], carry[~at_money], atol=tolerance * 100)


def test_normal_cdf_in_the_deep_tails():
    """N(x) = erfc(−x/√2)/2 against scipy's ndtr.

    float64: ≤ max(16, x²)·ε relative down to x = −37 (measured: 11 ε for x ≥ −8, then 0.35·x²·ε: torch's erfc
    rounds e^{−x²/2} at x²·ε, scipy's does not). float32: ≤ 4e-7·(x² + 1) relative while N(x) is a normal float32
    (x ≥ −13), exactly 0 below x ≈ −14.2 (float32's smallest subnormal is 1.4e-45), never negative. For contrast,
    ``torch.special.ndtr`` computes (1 + erf(x/√2))/2 and returns 0 from x ≈ −8.6 in float64 (N(−8.6) ≈ 4e-18)."""
    xp64 = namespace(torch.zeros(1, dtype=torch.float64))
    x = -np.linspace(0.0, 37.0, 3701)
    got, expected = xp64.ndtr(torch.tensor(x)).numpy(), ndtr(x)
    relative = np.abs(got - expected) / expected
    assert np.all(relative <= np.maximum(16.0, x * x) * EPS64)
    xp32 = namespace(torch.zeros(1, dtype=torch.float32))
    x32 = x.astype(np.float32)
    got32 = xp32.ndtr(torch.tensor(x32)).double().numpy()
    expected32 = ndtr(x32.astype(np.float64))
    normal = x32 >= -13.0
    assert np.all(np.abs(got32 - expected32)[normal] / expected32[normal] <= 4e-7 * (x[normal] ** 2 + 1.0))
    assert np.all(got32[x32 < -14.2] == 0.0) and np.all(got32 >= 0.0)
    assert float(torch.special.ndtr(torch.tensor(-8.7, dtype=torch.float64))) == 0.0  # why it is not used


def test_deep_out_of_the_money_float64_prices_match_a_50_digit_closed_form():
    """Prices down to 1e-40 of the spot keep full relative precision (both N(ωd₁) and N(ωd₂) in the far tail)."""
    mpmath.mp.dps = 50
    strikes = np.array([200.0, 300.0, 500.0, 800.0])
    got = bs.price(torch.tensor(100.0, dtype=torch.float64), torch.tensor(strikes), 0.25, 0.2).numpy()
    for strike, value in zip(strikes, got, strict=True):
        s, k, t, v = (mpmath.mpf(x) for x in (100.0, strike, 0.25, 0.2))
        d1 = (mpmath.log(s / k) + v * v * t / 2) / (v * mpmath.sqrt(t))
        expected = s * mpmath.ncdf(d1) - k * mpmath.ncdf(d1 - v * mpmath.sqrt(t))
        assert expected < 1e-6
        assert abs(value - float(expected)) <= 1e-12 * float(expected), (strike, value, float(expected))


def test_subset_of_fields_equals_the_full_call_bit_for_bit_and_named_functions_agree():
    p = random_parameter_sets(500, seed=3)
    args = as_tensors(p, torch.float32)
    full = bs.greeks(*args)
    part = bs.greeks(*args, fields={"delta", "theta"})
    assert part.price is None and part.gamma is None and part.vega is None
    assert torch.equal(part.delta, full.delta) and torch.equal(part.theta, full.theta)
    for name in GREEK_NAMES:
        assert torch.equal(getattr(bs, name)(*args), getattr(full, name)), name


def test_mixed_arguments_broadcast_to_tensors_of_the_promoted_dtype():
    spot = torch.linspace(80.0, 120.0, 5, dtype=torch.float32)
    time_to_maturity = np.array([[0.1], [0.5]])  # numpy, broadcast against (5,)
    g = bs.greeks(spot, 100.0, time_to_maturity, 0.2, 0.01, 0.0, True)
    assert all(field.shape == (2, 5) and field.dtype == torch.float32 for field in g)
    expected = bs.greeks(spot.double().numpy(), 100.0, time_to_maturity, 0.2, 0.01, 0.0, True)
    np.testing.assert_allclose(g.price.double().numpy(), expected.price, rtol=1e-5, atol=1e-5)
    promoted = bs.delta(spot, torch.tensor(100.0, dtype=torch.float64), 0.5, 0.2)
    assert promoted.dtype == torch.float64


def test_delta_and_vega_are_the_autograd_derivatives_of_the_price():
    """The torch path is differentiable: ∂V/∂S and ∂V/∂σ by autograd equal the closed-form Δ and vega."""
    spot = torch.tensor([80.0, 100.0, 125.0], dtype=torch.float64, requires_grad=True)
    volatility = torch.tensor([0.15, 0.3, 0.45], dtype=torch.float64, requires_grad=True)
    call = torch.tensor([True, False, True])
    bs.price(spot, 100.0, 0.75, volatility, 0.02, 0.01, call).sum().backward()
    args = (spot.detach(), 100.0, 0.75, volatility.detach(), 0.02, 0.01, call)
    torch.testing.assert_close(spot.grad, bs.delta(*args), rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(volatility.grad, bs.vega(*args), rtol=1e-12, atol=1e-12)


BAD = [
    ({"spot": [-1.0, 100.0]}, "spot"),
    ({"spot": [float("nan"), 100.0]}, "spot"),
    ({"strike": [0.0, 100.0]}, "strike"),
    ({"time_to_maturity": [-0.5, 1.0]}, "time_to_maturity"),
    ({"volatility": [float("inf"), 0.2]}, "volatility"),
    ({"rate": [float("nan"), 0.0]}, "rate"),
    ({"dividend": [float("-inf"), 0.0]}, "dividend"),
]


@pytest.mark.parametrize(("bad", "argument"), BAD)
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_bad_tensor_arguments_raise_the_numpy_message(bad, argument, dtype):
    arguments = {"spot": [100.0, 100.0], "strike": [100.0, 100.0], "time_to_maturity": [1.0, 1.0],
                 "volatility": [0.2, 0.2], "rate": [0.0, 0.0], "dividend": [0.0, 0.0]} | bad
    with pytest.raises(ValueError) as numpy_error:
        bs.price(**{k: np.array(v) for k, v in arguments.items()})
    with pytest.raises(ValueError) as torch_error:
        bs.price(**{k: torch.tensor(v, dtype=dtype) for k, v in arguments.items()})
    assert str(torch_error.value) == str(numpy_error.value) and str(numpy_error.value).startswith(argument)


def test_bool_tensor_spot_and_tensors_on_two_devices_are_refused_by_name():
    with pytest.raises(ValueError, match=r"^spot must be an array of real numbers"):
        bs.price(torch.tensor([True]), 100.0, 1.0, 0.2)
    with pytest.raises(ValueError, match=r"^strike is a tensor on meta"):
        bs.price(torch.tensor([100.0]), torch.empty(1, device="meta"), 1.0, 0.2)


def test_implied_volatility_refuses_tensors():
    with pytest.raises(ValueError, match="implied_volatility takes numbers or numpy arrays, not torch tensors"):
        bs.implied_volatility(torch.tensor([10.0]), 100.0, 100.0, 1.0)


@CUDA
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_cuda_gives_the_cpu_numbers(dtype):
    p = random_parameter_sets(2_000, seed=7)
    cpu, cuda = bs.greeks(*as_tensors(p, dtype)), bs.greeks(*as_tensors(p, dtype, "cuda"))
    tolerance = 1e-13 if dtype == torch.float64 else 1e-5
    for name, a, b in zip(GREEK_NAMES, cpu, cuda, strict=True):
        assert b.device.type == "cuda" and b.dtype == dtype
        scale = torch.tensor(natural_scale(name, p["spot"]), dtype=dtype)
        assert torch.all((b.cpu() - a).abs() <= tolerance * torch.maximum(scale, a.abs())), name
