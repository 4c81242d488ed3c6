"""An independent Heston oracle in mpmath: the textbook formula evaluated at high precision.

Lewis' (2000) single integral with the characteristic function in Albrecher et al.'s (2007) "little Heston trap"
form, written exactly as published (with its divisions by σᵥ²), integrated by ``mpmath.quad`` (tanh-sinh) at
``digits`` significant digits. The divisions by σᵥ² cost about 2·log10(1/σᵥ) digits to cancellation, so the
working precision is raised by that much: every value carries ≥ 30 correct digits for σᵥ ≥ 1e-12.

Greeks are central differences of this price in mpmath (step 1e-10 relative, 20 extra digits: truncation error ~1e-20
relative, rounding error ~1e-(digits)): Δ, Γ in the spot, vega = ∂V/∂v₀, Θ = −∂V/∂τ.
It shares no code with ``hedgegym``; it is slow (~0.1 s per price) and meant for a handful of reference values.
"""

from __future__ import annotations

import mpmath as mp


def _price(spot, strike, tau, variance, kappa, theta, sigma, rho, rate, dividend, call: bool):
    """C = S e^{−qτ} − √(SK) e^{−(r+q)τ/2}/π ∫₀^∞ Re[e^{iuk} φ(u − i/2)] / (u² + ¼) du, k = ln(S/K) + (r − q)τ;
    the put by parity. All arguments are mpf."""
    k = mp.log(spot / strike) + (rate - dividend) * tau

    def integrand(u):
        w = mp.mpc(u, -0.5)
        beta = kappa - rho * sigma * 1j * w
        d = mp.sqrt(beta * beta + sigma * sigma * (w * w + 1j * w))
        g = (beta - d) / (beta + d)
        e = mp.exp(-d * tau)
        big_d = (beta - d) / sigma**2 * (1 - e) / (1 - g * e)
        big_c = kappa * theta / sigma**2 * ((beta - d) * tau - 2 * mp.log((1 - g * e) / (1 - g)))
        return mp.re(mp.exp(1j * u * k + big_c + big_d * variance)) / (u * u + mp.mpf(1) / 4)

    scale = 1 / mp.sqrt(max(variance, theta, mp.mpf("1e-4")) * tau)
    cuts = [0, 1, scale, 4 * scale, 16 * scale, 64 * scale, mp.inf]
    integral = mp.quad(integrand, sorted(set(cuts)))
    prefactor = mp.sqrt(spot * strike) * mp.exp(-(rate + dividend) * tau / 2) / mp.pi
    call_value = spot * mp.exp(-dividend * tau) - prefactor * integral
    if call:
        return call_value
    return call_value - spot * mp.exp(-dividend * tau) + strike * mp.exp(-rate * tau)


def _working_digits(sigma: float, digits: int) -> int:
    return digits + int(2 * max(0.0, -float(mp.log10(sigma)))) + 5


def heston_price(spot, strike, tau, variance, kappa, theta, sigma, rho, rate, dividend, call=True, digits=30):
    """Heston European price to ``digits`` significant digits (as a float)."""
    with mp.workdps(_working_digits(sigma, digits)):
        args = [mp.mpf(x) for x in (spot, strike, tau, variance, kappa, theta, sigma, rho, rate, dividend)]
        return float(_price(*args, call))


def heston_greeks(spot, strike, tau, variance, kappa, theta, sigma, rho, rate, dividend, call=True, digits=30):
    """(price, Δ, Γ, vega = ∂V/∂v₀, Θ = ∂V/∂t) as floats, by mpmath central differences of the price."""
    with mp.workdps(_working_digits(sigma, digits) + 20):
        s, kk, t, v = (mp.mpf(x) for x in (spot, strike, tau, variance))
        model = [mp.mpf(x) for x in (kappa, theta, sigma, rho, rate, dividend)]

        def value(s_=s, t_=t, v_=v):
            return _price(s_, kk, t_, v_, *model, call)

        h = mp.mpf("1e-10")
        p = value()
        hs, hv, ht = h * s, h * max(v, mp.mpf("1e-3")), h * t
        up, down = value(s_=s + hs), value(s_=s - hs)
        delta = (up - down) / (2 * hs)
        gamma = (up - 2 * p + down) / hs**2
        vega = (value(v_=v + hv) - value(v_=v - hv)) / (2 * hv)
        theta_ = -(value(t_=t + ht) - value(t_=t - ht)) / (2 * ht)
        return tuple(float(x) for x in (p, delta, gamma, vega, theta_))
