"""Merton jump-diffusion series against QuantLib (Bates engine at vanishing vol-of-vol), limits and FD Greeks."""

from __future__ import annotations

import numpy as np
import pytest

from hedgegym.pricing import black_scholes, merton
from tests.pricing.quantlib_oracle import merton_price as quantlib_merton_price


def test_prices_match_quantlib_on_200_random_sets():
    rng = np.random.default_rng(76)
    for _ in range(200):
        p = {
            "spot": 100.0, "strike": float(100 * np.exp(rng.uniform(-0.4, 0.4))), "days": int(rng.integers(7, 1826)),
            "volatility": float(rng.uniform(0.05, 0.6)), "intensity": float(rng.uniform(0.0, 5.0)),
            "jump_mean": float(rng.uniform(-0.3, 0.1)), "jump_std": float(rng.uniform(0.01, 0.4)),
            "rate": float(rng.uniform(0.0, 0.06)), "dividend": float(rng.uniform(0.0, 0.04)),
            "call": bool(rng.random() < 0.5),
        }
        expected = quantlib_merton_price(**p)
        ours = merton.price(p["spot"], p["strike"], p["days"] / 365.0, p["volatility"], p["intensity"],
                            p["jump_mean"], p["jump_std"], p["rate"], p["dividend"], p["call"])
        # the oracle is Merton up to its O(σᵥ²) vol-of-vol stand-in, ~1e-8 relative
        assert ours == pytest.approx(expected, rel=1e-6, abs=1e-8), p


def test_no_jumps_is_black_scholes():
    spot = np.linspace(60.0, 160.0, 11)
    for call in (True, False):
        g = merton.greeks(spot, 100.0, 0.75, 0.25, 0.0, -0.1, 0.2, 0.03, 0.01, call)
        b = black_scholes.greeks(spot, 100.0, 0.75, 0.25, 0.03, 0.01, call)
        for got, want in zip(g, b, strict=True):
            np.testing.assert_allclose(got, want, rtol=1e-14, atol=1e-14)


def test_vectorised_greeks_agree_with_finite_differences():
    spot = np.array([70.0, 95.0, 100.0, 105.0, 140.0])[:, None]
    tau = np.array([0.05, 0.5, 2.0])[None, :]
    args = (0.2, 1.5, -0.15, 0.2, 0.03, 0.01)
    for call in (True, False):
        g = merton.greeks(spot, 100.0, tau, *args, call=call)

        def value(s=spot, t=tau, vol=0.2, call=call):
            return merton.price(s, 100.0, t, vol, *args[1:], call=call)

        h = 5e-4 * spot  # short-dated Γ varies on the scale S·σ√τ: keep the stencil well inside it
        up, down, up2, down2 = (value(s=spot + c * h) for c in (1, -1, 2, -2))
        np.testing.assert_allclose(g.delta, (8 * (up - down) - (up2 - down2)) / (12 * h), rtol=1e-7, atol=1e-9)
        np.testing.assert_allclose(g.gamma, (16 * (up + down) - (up2 + down2) - 30 * value()) / (12 * h**2),
                                   rtol=1e-5, atol=1e-8)
        np.testing.assert_allclose(g.vega, (value(vol=0.2 + 1e-6) - value(vol=0.2 - 1e-6)) / 2e-6, rtol=1e-6,
                                   atol=1e-7)
        np.testing.assert_allclose(g.theta, -(value(t=tau + 1e-6) - value(t=tau - 1e-6)) / 2e-6, rtol=1e-6,
                                   atol=1e-6)


def test_put_call_parity_and_expiry_limits():
    spot = np.linspace(50.0, 200.0, 16)
    call = merton.price(spot, 100.0, 1.3, 0.2, 2.0, -0.2, 0.3, 0.05, 0.02, True)
    put = merton.price(spot, 100.0, 1.3, 0.2, 2.0, -0.2, 0.3, 0.05, 0.02, False)
    np.testing.assert_allclose(call - put, spot * np.exp(-0.02 * 1.3) - 100.0 * np.exp(-0.05 * 1.3), atol=1e-10)
    at_expiry = merton.greeks(spot, 100.0, 0.0, 0.2, 2.0, -0.2, 0.3, 0.05, 0.02, True)
    np.testing.assert_array_equal(at_expiry.price, np.maximum(spot - 100.0, 0.0))
    assert all(np.all(np.isfinite(field)) for field in at_expiry)


@pytest.mark.parametrize(
    ("position", "value", "argument"),
    [(4, -1.0, "jump_intensity"), (6, -0.1, "jump_std"), (3, -0.2, "volatility"), (2, -1.0, "time_to_maturity")],
)
def test_bad_input_raises_value_error_naming_the_argument(position, value, argument):
    args = [100.0, 100.0, 1.0, 0.2, 1.0, -0.1, 0.2]
    args[position] = value
    with pytest.raises(ValueError, match=argument):
        merton.price(*args)
