r"""Heston (1993) European option price and Greeks by a Fourier integral, vectorised over many nodes.

Model (pricing measure), with v the instantaneous variance::

    dS/S = (r − q) dt + √v dW₁,     dv = κ(θ − v) dt + σᵥ √v dW₂,     d⟨W₁, W₂⟩ = ρ dt

Arguments: ``variance`` v at the node, ``mean_reversion`` κ ≥ 0, ``long_run_variance`` θ ≥ 0,
``vol_of_vol`` σᵥ ≥ 0 (σᵥ = 0: Black–Scholes at the deterministic average variance, exactly),
``correlation`` ρ ∈ [−1, 1]. Parameters that violate the Feller condition 2κθ ≥ σᵥ²
are allowed: the formula holds for them (v can touch 0, the price stays well defined).

Method. Lewis' (2000) single-integral form with a Black–Scholes control variate (as in QuantLib's
``AnalyticHestonEngine`` with Andersen–Piterbarg's control variate): for any variance v_cv,

    V = V_BS(σ = √v_cv) − √(SK) e^{−(r+q)τ/2} / π · ∫₀^∞ Re[e^{iuk} (φ(u − i/2) − φ_BS(u − i/2))] / (u² + ¼) du

with k = ln(S/K) + (r − q)τ, φ the characteristic function of ln(S_T/S) − (r−q)τ in Albrecher et al.'s
"little Heston trap" form, φ = exp(C(u, τ) + D(u, τ) v), rewritten so that nothing is divided by σᵥ² (accurate
uniformly as σᵥ → 0, see ``_characteristic_exponent``), and φ_BS(u − i/2) = exp(−½ v_cv τ (u² + ¼)).
v_cv is (the geometric mean over a group of nodes of) the expected average variance E[∫v dt]/τ, which makes
the integrand small. The identity is exact for every v_cv, so the Greeks differentiate it with v_cv held fixed:
Δ and Γ bring down powers of iu, vega (∂V/∂v, per unit of variance) brings D, and Θ = ∂V/∂t uses
∂C/∂τ = κθD and the Riccati equation ∂D/∂τ = −½(u² + ¼) − (κ − ρσᵥiz)D + ½σᵥ²D² (z = u − i/2).
The same call/put correction holds for puts (parity is the same in both models), so puts are not derived
from calls by parity and out-of-the-money values keep their accuracy.

Quadrature (per group of nodes): Gauss–Legendre panels on [0, ½-scale knee] for the 1/(u² + ¼) factor,
on the Gaussian body of φ (width 1/√(E[∫v dt])) and on its exponential tail up to where the price's integrand
|φ|/(u² + ¼) falls below ``tail_tolerance`` and, further where needed, until the Greeks' integrands (Γ's is |φ|
itself, without the 1/(u² + ¼) factor) leave a tail bounded below π·1e-9 (probed for the group's smallest v, see
``_tail_cutoff``); the body and tail panels get enough abscissae for
the e^{iuk} oscillation of the group's most out-of-the-money node plus φ's own phase, which turns at up to
|ρ|(v + κθτ)/σᵥ per unit of u. Panels longer than 512 points are composite (64-point sub-panels), and at most
``max_abscissae`` abscissae are used per group: where φ decays only like e^{−c√u} (ρ = ±1, large σᵥ, v ≈ 0)
the tail is cut there, and a ``RuntimeWarning`` states the resulting bounds on the errors of the price and of
every Greek.
Nodes are grouped by (τ, a factor-√2 bucket of E[∫v dt], a factor-2 bucket of the moneyness in standard
deviations), so that C and D, the
expensive complex part, are computed once per group and abscissa; each node then costs one real exponential
and three trigonometric functions per abscissa, and every sum is a matrix product. The (nodes × abscissae)
work runs in torch, whose vectorised float64 sin/cos measured 5–6× faster than numpy's on this project's 2-core
machine (exp: numpy 1.6× faster; the kernel is dominated by sin/cos). A Python loop runs over the groups (a few
dozen per distinct τ), never over nodes.

Units: ``vega`` is ∂V/∂v per 1.00 of instantaneous variance (to turn it into a sensitivity to √v multiply
by 2√v); ``theta`` is ∂V/∂t per year. At τ = 0 the functions return the intrinsic-value limits of
``black_scholes`` (vega 0).

Shape: every output has the broadcast shape of ``spot, strike, time_to_maturity, variance, rate, dividend,
call``; the model parameters are scalars.
"""

from __future__ import annotations

import contextlib
import functools
import warnings
from collections.abc import Iterator

import numpy as np
import torch
from numpy.typing import ArrayLike

from hedgegym import _validation as check
from hedgegym.pricing import black_scholes
from hedgegym.pricing.greeks import FloatArray, Greeks

__all__ = ["greeks", "price"]

_CHUNK = 8192  # nodes per block inside a group: keeps the (nodes × abscissae) work arrays in cache
_BLOCK_ELEMENTS = 1 << 22  # at most this many (node, abscissa) pairs per block (~32 MiB per work array)
_MAX_RULE = 512  # longest single Gauss–Legendre rule (leggauss is O(n³)); longer panels are composite
_SUB_PANEL = 64  # points per sub-panel of a composite rule
_TRUNCATION_WARNING = 1e-9  # warn when the tail cut by max_abscissae may move a price by more than this × √(SK)
# (or a Greek by as much in its units, see _tail_bound); the Greeks' tails are integrated down to this level
MAX_ABSCISSAE = 1 << 15
"""Default bound on the quadrature abscissae per group of nodes (``max_abscissae``): the work per node."""


@functools.lru_cache(maxsize=512)
def _legendre_nodes(points: int) -> tuple[FloatArray, FloatArray]:
    """Gauss–Legendre nodes and weights on [−1, 1] (cached: ``leggauss`` costs ~2 ms, once per group otherwise)."""
    x, w = np.polynomial.legendre.leggauss(points)
    x.flags.writeable = False
    w.flags.writeable = False
    return x, w


@contextlib.contextmanager
def _one_torch_thread() -> Iterator[None]:
    """Run the kernel on one torch thread: its blocks (≤ 8,192 nodes × a few hundred abscissae) are too small for
    intra-op threads (on 2 cores one thread was 1.6–2.9× faster, more when other processes compete for them)."""
    previous = torch.get_num_threads()
    if previous == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _gauss_legendre(points: int, low: float, high: float) -> tuple[FloatArray, FloatArray]:
    """Gauss–Legendre abscissae and weights on [low, high]; shapes (points,)."""
    x, w = _legendre_nodes(points)
    half = 0.5 * (high - low)
    return low + half * (x + 1.0), half * w


def _oscillatory_panel(points: int, low: float, high: float) -> tuple[FloatArray, FloatArray]:
    """``points`` abscissae on [low, high] as one Gauss–Legendre rule up to ``_MAX_RULE`` points, else as equal
    sub-panels of ``_SUB_PANEL`` points each covering at most the same phase per point; shapes (≥ points,).

    ``leggauss`` solves an eigenproblem, O(n³): 0.06 s for 500 points, 21 s for 4,000 on this project's machine
    (at σᵥ = 3, ρ = −1 single rules of 10⁴–10⁶ points made one valuation take many minutes); a composite rule of
    fixed-size panels costs O(n) and integrates the e^{iuk} oscillation just as well."""
    if points <= _MAX_RULE:
        return _gauss_legendre(points, low, high)
    panels = int(np.ceil(points / (_SUB_PANEL - _SUB_PANEL // 4)))
    edges = np.linspace(low, high, panels + 1)
    x, w = _legendre_nodes(_SUB_PANEL)
    half = 0.5 * np.diff(edges)[:, None]
    return (edges[:-1, None] + half * (x + 1.0)).ravel(), (half * w).ravel()


def _abscissae(
    tail_end: float, min_scale: float, max_phase: float, points: int, max_abscissae: int
) -> tuple[FloatArray, FloatArray, float]:
    """Quadrature on [0, tail_end] for one group: three Gauss–Legendre panels.

    [0, knee]: the 1/(u² + ¼) factor (scale ½); [knee, body_end]: the Gaussian body of φ (scale 1/√(vτ)),
    with enough points for the e^{iuk} oscillation (max |k| = ``max_phase``); [body_end, tail_end]: the
    exponential tail of φ at high vol-of-vol, again with enough points for the oscillation. The tail panel is
    cut short where the group's abscissae would exceed ``max_abscissae`` (the work bound per node: ½|k| points
    per unit of u resolve e^{iuk}, so a tail that decays only like e^{−c√u} — ρ = ±1, σᵥ large, v ≈ 0 — would
    otherwise need |k|·10⁶ of them).
    Returns (u, weight, end), u and weight (M,), end the upper limit actually integrated to (≤ tail_end).
    """
    knee = min(tail_end, 2.0)
    body_end = min(tail_end, knee + 8.5 / np.sqrt(min_scale))  # e^{-8.5²/2} ≈ 2e-16
    body_points = max(points, int(np.ceil(0.5 * max_phase * (body_end - knee))) + points // 2)
    u_a, w_a = _gauss_legendre(points // 2, 0.0, knee)
    u_b, w_b = _oscillatory_panel(body_points, knee, body_end)
    parts_u, parts_w = [u_a, u_b], [w_a, w_b]
    end = body_end
    if tail_end > body_end * (1.0 + 1e-9):
        # tail points per unit of u (as for the body); the budget left after the body caps the tail's length
        density = 0.5 * max_phase * _SUB_PANEL / (_SUB_PANEL - _SUB_PANEL // 4)
        budget = max(max_abscissae - u_a.size - u_b.size - points // 2, points)
        end = min(tail_end, body_end + budget / max(density, 1e-300))
        tail_points = max(points, int(np.ceil(0.5 * max_phase * (end - body_end))) + points // 2)
        u_c, w_c = _oscillatory_panel(tail_points, body_end, end)
        parts_u.append(u_c)
        parts_w.append(w_c)
    return np.concatenate(parts_u), np.concatenate(parts_w), float(end)


def _expm1(z: np.ndarray) -> np.ndarray:
    """e^z − 1 for complex z without cancellation near 0 (numpy's complex expm1 is not accurate there):
    Re = expm1(x)·cos y − 2 sin²(y/2), Im = eˣ sin y."""
    x, y = z.real, z.imag
    half_sine = np.sin(0.5 * y)
    return (np.expm1(x) * np.cos(y) - 2.0 * half_sine * half_sine) + 1j * (np.exp(x) * np.sin(y))


def _log1p_ratio(w: np.ndarray) -> np.ndarray:
    """log(1 + w)/w for complex w (principal branch), accurate as w → 0 (limit 1); numpy's complex log1p is
    log(1 + w) and loses the digits of small w. Re log(1 + w) = ½ log1p(2a + a² + b²) for |w| < ½, else log|1 + w|."""
    a, b = w.real, w.imag
    small = np.abs(w) < 0.5
    real = np.where(small, 0.5 * np.log1p(a * (2.0 + a) + b * b), np.log(np.hypot(1.0 + a, b)))
    log1p = real + 1j * np.arctan2(b, 1.0 + a)
    nonzero = w != 0.0
    return np.where(nonzero, log1p / np.where(nonzero, w, 1.0), 1.0)


def _characteristic_exponent(
    u: FloatArray, tau: FloatArray, kappa: float, theta: float, sigma: float, rho: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""C, D and ∂D/∂τ of φ(u − i/2) = exp(C + D v) ("little trap" form); u and tau broadcast.

    The published form (Albrecher et al. 2007), with β = κ − ρσᵥiz, d = √(β² + σᵥ²(u² + ¼)), g = (β − d)/(β + d),

        D = (β − d)/σᵥ² · (1 − e^{−dτ})/(1 − g e^{−dτ}),   C = κθ/σᵥ² · [(β − d)τ − 2 log((1 − g e^{−dτ})/(1 − g))],

    divides differences of nearly equal numbers by σᵥ², which loses ~2·log10(1/σᵥ) digits (1 % at σᵥ = 1e-7).
    It is rewritten without that division: (β − d)/σᵥ² = −(u² + ¼)/(β + d), 1 − g = 2d/(β + d),
    (1 − g e^{−dτ})/(1 − g) = 1 + ω with ω = g(1 − e^{−dτ})/(1 − g), so that with h = (1 − e^{−dτ})/(dτ),

        D = −(u² + ¼) τ h · d/(β + d) / (1 − g e^{−dτ}),   C = −κθ (u² + ¼) τ/(β + d) · (1 − h · log(1 + ω)/ω),
        ∂D/∂τ = −2 (u² + ¼) (d/(β + d))² e^{−dτ}/(1 − g e^{−dτ})²,

    with e^z − 1 and log(1 + ω)/ω evaluated without cancellation. κ, σᵥ, β and d enter only through ratios, so
    they are scaled by max(κ, σᵥ) (no underflow for any σᵥ > 0). At σᵥ → 0 this is exactly the Black–Scholes
    exponent −½(u² + ¼)·E[∫v dt]; the error is a few ulps of the exponent uniformly in σᵥ > 0.
    """
    scale = max(kappa, sigma)
    kappa_hat, sigma_hat = kappa / scale, sigma / scale
    z = u - 0.5j
    quadratic = u * u + 0.25  # z² + iz, real on this contour
    beta = kappa_hat - rho * sigma_hat * 1j * z
    d = np.sqrt(beta * beta + sigma_hat * sigma_hat * quadratic)
    beta_plus_d = beta + d
    ratio = d / beta_plus_d  # d/(β + d) = (1 − g)/2
    g = -sigma_hat * sigma_hat * quadratic / (beta_plus_d * beta_plus_d)
    d_tau = scale * d * tau
    decay = np.exp(-d_tau)
    nonzero = d_tau != 0.0
    h = np.where(nonzero, -_expm1(-d_tau) / np.where(nonzero, d_tau, 1.0), 1.0)  # (1 − e^{−dτ})/(dτ)
    one_minus_g_decay = 1.0 - g * decay
    omega = g * (h * d_tau) / (2.0 * ratio)
    d_coefficient = -quadratic * tau * h * ratio / one_minus_g_decay
    c_coefficient = -theta * kappa_hat * quadratic * tau / beta_plus_d * (1.0 - h * _log1p_ratio(omega))
    d_rate = -2.0 * quadratic * ratio * ratio * decay / (one_minus_g_decay * one_minus_g_decay)
    return c_coefficient, d_coefficient, d_rate


_PROBE = np.geomspace(0.5, 1e6, 80)
_ROOT_PROBE = np.sqrt(_PROBE)


def _secant_decay(log_envelope: FloatArray) -> FloatArray:
    """Rate c at which a log envelope falls per unit of √u over the last two probe abscissae, (...); 0 where it has
    not yet fallen (c√P < 2 at the last probe P: φ's decay, e.g. its Gaussian body at τ → 0, lies beyond the probes,
    and nothing is extrapolated: the integral ends at P there, as before 2026-05). Heston's |φ(u − i/2)| decays like
    e^{−c√u} (ρ = ±1) or faster, like e^{−cu}: its log is concave in √u, so the secant through the last two probes
    over-estimates it beyond the last one."""
    decay = (log_envelope[..., -2] - log_envelope[..., -1]) / (_ROOT_PROBE[-1] - _ROOT_PROBE[-2])
    return np.where(decay * _ROOT_PROBE[-1] > 2.0, decay, 0.0)


def _tail_integrals(log_envelope: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Upper bounds B(u) on ∫_u^∞ e^{log_envelope} du at each probe abscissa u, (..., P): left Riemann sums on the
    probe grid (upper bounds wherever the envelope does not increase along u, as at every parameter set probed) plus,
    beyond the last probe P, ∫_P^∞ e^{L(P) − c(√u − √P)} du = e^{L(P)}·2(√P/c + 1/c²) (c from ``_secant_decay``;
    not counted where the envelope has not started to fall there). Also returns c and the beyond-P term, (...)."""
    magnitude = np.exp(log_envelope)
    decay = _secant_decay(log_envelope)
    safe = np.where(decay > 0.0, decay, 1.0)
    beyond = np.where(decay > 0.0, magnitude[..., -1] * 2.0 * (_ROOT_PROBE[-1] / safe + 1.0 / safe**2), 0.0)
    pieces = magnitude[..., :-1] * np.diff(_PROBE)
    within = np.flip(np.cumsum(np.flip(pieces, axis=-1), axis=-1), axis=-1)
    return np.concatenate([within, np.zeros_like(within[..., :1])], axis=-1) + beyond[..., None], decay, beyond


def _first_below(values: FloatArray, limit: float) -> tuple[FloatArray, FloatArray]:
    """Index of the first probe from which the non-increasing-in-intent ``values`` (G, P) stay ≤ limit, and whether
    they are still above it at the last probe, (G,) each."""
    above = values > limit
    last_above = _PROBE.size - 1 - np.argmax(above[:, ::-1], axis=1)
    index = np.where(above.any(axis=1), np.minimum(last_above + 1, _PROBE.size - 1), 0)
    return index, above[:, -1]


def _tail_cutoff(
    tau: FloatArray, min_variance: FloatArray, max_variance: FloatArray, kappa: float, theta: float, sigma: float,
    rho: float, tolerance: float, with_greeks: bool = True,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Where the integral may stop for one group of nodes, so that neither the price nor any Greek loses its tail
    (``with_greeks`` False: the price only, rule (i) below, and the envelope is the price's integrand).

    The integrands, per unit of u and in the units of each quantity's prefactor (see ``greeks``), are at most |φ|
    times: 1/(u² + ¼) (price), 1/√(u² + ¼) (Δ: ½ + iu over u² + ¼), 1 (Γ: no 1/(u² + ¼) factor), |D|/(u² + ¼)
    (vega), (κθ|D| + v_max|∂D/∂τ|)/(u² + ¼) (Θ), with |φ| = e^{Re C + v_min Re D} (the slowest-decaying node);
    their maximum is the envelope. The end is the larger of (i) where the price's integrand stays below
    ``tolerance`` and (ii) where the bound B (``_tail_integrals``) on the envelope's remaining integral falls below
    π·``_TRUNCATION_WARNING``. (i) alone, the rule until 2026-05, left Γ 0.2–0.6 % and Δ 1e-8 off at ρ = 1, σᵥ = 3
    (the price's integrand was below 1e-15 at u ≈ 3e5 where |φ|, Γ's, was still 1e-4); (ii) binds only where φ
    decays slowly, and a pointwise rule on the envelope instead measured ~18 % slower at ordinary parameters.
    Past the last probe P each end is extrapolated along e^{−c√u} (``_secant_decay``).

    Returns the end, (G,); log of the envelope at the probe abscissae ``_PROBE``, (G, P); and the fastest rate at
    which the phase arg φ = Im(C + Dv) turns along u for v in [min_variance, max_variance] (up to |ρ|(v + κθτ)/σᵥ at
    large u: φ's own oscillation, which the abscissae must resolve on top of e^{iuk}'s), (G,)."""
    c_coef, d_coef, d_rate = _characteristic_exponent(
        np.broadcast_to(_PROBE, (tau.size, _PROBE.size)), tau[:, None], kappa, theta, sigma, rho
    )
    log_quadratic = np.log(_PROBE * _PROBE + 0.25)
    log_phi = c_coef.real + min_variance[:, None] * d_coef.real
    sensitivity = np.abs(d_coef) * max(1.0, kappa * theta) + max_variance[:, None] * np.abs(d_rate)
    factor = np.maximum(np.maximum(-0.5 * log_quadratic, 0.0), np.log(sensitivity + 1e-300) - log_quadratic)
    log_envelope = log_phi + factor  # ≥ the price's integrand log|φ| − log(u² + ¼)

    # (i) the price's integrand below tolerance, pointwise
    log_price = log_phi - log_quadratic
    log_tolerance = np.log(tolerance)
    index, beyond = _first_below(log_price, log_tolerance)
    decay = _secant_decay(log_price)
    root = _ROOT_PROBE[-1] + (log_price[:, -1] - log_tolerance) / np.where(decay > 0.0, decay, 1.0)
    price_end = np.where(beyond & (decay > 0.0), root * root, _PROBE[index])
    step = np.diff(_PROBE)
    rate_c, rate_d = np.diff(c_coef.imag, axis=1) / step, np.diff(d_coef.imag, axis=1) / step
    turning = np.maximum(np.abs(rate_c + min_variance[:, None] * rate_d),
                         np.abs(rate_c + max_variance[:, None] * rate_d)).max(axis=1)
    if not with_greeks:
        return price_end, log_price, turning

    # (ii) every quantity's remaining tail integral bounded below the warning level
    limit = np.pi * _TRUNCATION_WARNING
    bound, decay, _ = _tail_integrals(log_envelope)
    index, beyond = _first_below(bound, limit)
    root = np.full(tau.size, _ROOT_PROBE[-1])
    safe = np.where(decay > 0.0, decay, 1.0)
    for _ in range(8):  # e^{L − c(√u − √P)}·2(√u/c + 1/c²) = limit, solved for √u by fixed-point iteration
        root = _ROOT_PROBE[-1] + (log_envelope[:, -1] + np.log(2.0 * (root / safe + 1.0 / safe**2))
                                  - np.log(limit)) / safe
    greek_end = np.where(beyond & (decay > 0.0), root * root, _PROBE[index])
    return np.maximum(price_end, greek_end), log_envelope, turning


def _tail_bound(end: float, log_envelope: FloatArray) -> float:
    """Upper bound B on ∫_end^∞ of the envelope of the integrands (one group's row of ``_tail_cutoff``), as in
    ``_tail_integrals`` from ``end`` instead of a probe abscissa. With F = e^{−(r+q)τ/2}/π·B the truncation error is
    at most F·√(SK) for the price and vega, F·√(K/S) for Δ, F·√(K/S)/S for Γ and F·(1 + |r + q|/2 + |r − q|)·√(SK)
    for Θ (the e^{iuk} oscillation usually makes each far smaller)."""
    magnitude = np.exp(log_envelope)
    _, decay, beyond = _tail_integrals(log_envelope)
    if end >= _PROBE[-1]:
        if decay <= 0.0:
            return 0.0
        root = np.sqrt(end)
        log_start = float(log_envelope[-1]) - float(decay) * (root - _ROOT_PROBE[-1])
        return float(np.exp(log_start) * 2.0 * (root / decay + 1.0 / decay**2))
    first = max(int(np.searchsorted(_PROBE, end, side="right")) - 1, 0)
    lower = np.maximum(_PROBE[first:-1], end)
    return float(np.sum(magnitude[first:-1] * np.maximum(_PROBE[first + 1:] - lower, 0.0))) + float(beyond)


def _expected_total_variance(variance: FloatArray, tau: FloatArray, kappa: float, theta: float) -> FloatArray:
    """E[∫₀^τ v dt | v₀ = variance] = θτ + (v − θ)(1 − e^{−κτ})/κ (→ vτ as κ → 0)."""
    kappa_tau = kappa * tau
    weight = np.where(kappa_tau > 1e-12, -np.expm1(-kappa_tau) / np.where(kappa_tau > 1e-12, kappa_tau, 1.0), 1.0)
    return theta * tau + (variance - theta) * tau * weight


def greeks(
    spot: ArrayLike,
    strike: ArrayLike,
    time_to_maturity: ArrayLike,
    variance: ArrayLike,
    mean_reversion: float,
    long_run_variance: float,
    vol_of_vol: float,
    correlation: float,
    rate: ArrayLike = 0.0,
    dividend: ArrayLike = 0.0,
    call: ArrayLike = True,
    *,
    quadrature_points: int = 32,
    tail_tolerance: float = 1e-15,
    moneyness_cutoff: float = 12.0,
    max_abscissae: int = MAX_ABSCISSAE,
) -> Greeks:
    """Heston price, Δ, Γ, vega (∂V/∂v) and Θ of European options at many nodes at once.

    ``quadrature_points``: Gauss–Legendre abscissae per panel; ``tail_tolerance``: the integral stops where the
    price's integrand |φ(u − i/2)|/(u² + ¼) falls below it, or later where the Greeks' integrands (Δ's |φ|/√(u² + ¼),
    Γ's |φ|, vega's and Θ's |φ|·|D|, |∂D/∂τ| over u² + ¼) leave a tail integral above π·1e-9. The defaults give
    ~1e-9 relative accuracy on the price for typical equity parameters (see tests/pricing/test_heston.py); raise
    both for more. At extreme accepted parameters (ρ = ±1,
    σᵥ = 3–5, v₀ = 0 or 4, κ = 2, θ = 0.04) prices measured within 2e-12 relative of a 25-digit mpmath Lewis integral,
    2e-8 at the money for v = 0, σᵥ = 3, ρ = −1. ``max_abscissae`` (default ``MAX_ABSCISSAE`` = 32,768) bounds the
    abscissae per group, hence the work per node; when it cuts the tail a ``RuntimeWarning`` gives the bounds on the
    errors of the price, Δ, Γ, vega and Θ (see ``_tail_bound``; loose: the e^{iuk} oscillation is not counted). At
    ρ = ±1, σᵥ = 3–5 the default budget can leave Γ 1e-3 relative off (stated by the warning); max_abscissae = 2¹⁹–2²⁰
    measured Γ within 1e-6 of mpmath there and Δ, Γ exact to 1e-11 beyond the spot's support.

    Small vol-of-vol: the characteristic exponent is evaluated without dividing by σᵥ² (see
    ``_characteristic_exponent``), so prices and Greeks keep their accuracy uniformly as σᵥ → 0 (measured ≤ 1e-11
    relative against a 30-digit mpmath evaluation for σᵥ from 1e-3 down to 1e-12) and tend continuously to the
    σᵥ = 0 values, which are exact: Black–Scholes at the deterministic average variance E[∫v dt]/τ, with vega and
    Θ by the chain rule through it.

    ``moneyness_cutoff``: nodes whose log forward moneyness is more than this many standard deviations
    √(E[∫v dt]) away from the money keep the Black–Scholes value at the expected average variance (the
    control variate) without the Fourier correction: their time value is below e^{−cutoff²/2} of the spot
    under Black–Scholes, and resolving the oscillating integrand there would cost hundreds of abscissae.
    Heston's fatter tails make the true time value larger than that (still ~1e-9 of the spot at the default
    for the parameters tested); raise the cutoff where such far tails matter. Their vega and Θ are those of this
    Black–Scholes value (chain rule through E[∫v dt]/τ), as at σᵥ = 0.

    Raises ValueError naming the argument for spot, strike ≤ 0; time_to_maturity, variance, mean_reversion,
    long_run_variance, vol_of_vol < 0; correlation outside [−1, 1]; non-finite rate or dividend; quadrature
    settings ≤ 0 (max_abscissae: an integer ≥ 1).
    Shape: the broadcast shape of the node arguments (see the module docstring).
    """
    return _fourier(spot, strike, time_to_maturity, variance, mean_reversion, long_run_variance, vol_of_vol,
                    correlation, rate, dividend, call, quadrature_points=quadrature_points,
                    tail_tolerance=tail_tolerance, moneyness_cutoff=moneyness_cutoff, max_abscissae=max_abscissae,
                    with_greeks=True)


def _fourier(
    spot: ArrayLike,
    strike: ArrayLike,
    time_to_maturity: ArrayLike,
    variance: ArrayLike,
    mean_reversion: float,
    long_run_variance: float,
    vol_of_vol: float,
    correlation: float,
    rate: ArrayLike = 0.0,
    dividend: ArrayLike = 0.0,
    call: ArrayLike = True,
    *,
    quadrature_points: int = 32,
    tail_tolerance: float = 1e-15,
    moneyness_cutoff: float = 12.0,
    max_abscissae: int = MAX_ABSCISSAE,
    with_greeks: bool = True,
) -> Greeks:
    """``greeks``' body. ``with_greeks`` False (``price``): the tail is cut where the price's integrand falls
    below ``tail_tolerance`` only (rule (i) of ``_tail_cutoff``), so the Greeks it also returns may lose their
    tail where φ decays slowly."""
    spot = check.positive("spot", spot)
    strike = check.positive("strike", strike)
    tau = check.non_negative("time_to_maturity", time_to_maturity)
    variance = check.non_negative("variance", variance)
    kappa = float(check.non_negative("mean_reversion", mean_reversion))
    theta = float(check.non_negative("long_run_variance", long_run_variance))
    sigma = float(check.non_negative("vol_of_vol", vol_of_vol))
    rho = float(check.in_closed_range("correlation", correlation, -1.0, 1.0))
    rate = check.finite("rate", rate)
    dividend = check.finite("dividend", dividend)
    points = check.positive_int("quadrature_points", quadrature_points)
    tail_tolerance = float(check.positive("tail_tolerance", tail_tolerance))
    moneyness_cutoff = float(check.positive("moneyness_cutoff", moneyness_cutoff))
    max_abscissae = check.positive_int("max_abscissae", max_abscissae)
    call = np.asarray(call, dtype=bool)
    shape = np.broadcast_shapes(spot.shape, strike.shape, tau.shape, variance.shape, rate.shape, dividend.shape,
                                call.shape)
    spot, strike, tau, variance, rate, dividend, call = (
        np.broadcast_to(a, shape).ravel() for a in (spot, strike, tau, variance, rate, dividend, call)
    )

    # expected average variance: the control variate's Black–Scholes variance and the grid's scale
    total_variance = _expected_total_variance(variance, tau, kappa, theta)
    floor = 1e-12 * np.maximum(tau, 1e-300)
    control_variance = np.maximum(total_variance, floor) / np.where(tau > 0.0, tau, 1.0)
    # Fourier corrections accumulate here; the Black–Scholes control values are added at the end
    price_, delta_, gamma_, vega_, theta_ = (np.zeros(spot.size) for _ in range(5))

    scale_all = np.maximum(total_variance, floor)
    distance = np.abs(np.log(spot / strike) + (rate - dividend) * tau) / np.sqrt(scale_all)
    # σᵥ = 0: φ = φ_BS at each node's own v_cv exactly, so no node needs the Fourier correction
    live = np.flatnonzero((tau > 0.0) & (distance <= moneyness_cutoff) & (sigma > 0.0))
    if live.size:
        scale = scale_all[live]
        oscillations = distance[live]
        variance_bucket = np.floor(2.0 * np.log2(scale)).astype(np.int64)
        oscillation_bucket = np.floor(np.log2(1.0 + oscillations)).astype(np.int64)
        tau_values, tau_index = np.unique(tau[live], return_inverse=True)
        group_key = (tau_index.astype(np.int64) * 4096 + (variance_bucket - variance_bucket.min())) * 64
        group_key += np.minimum(oscillation_bucket, 63)
        keys, group_of_node = np.unique(group_key, return_inverse=True)
        order = np.argsort(group_of_node, kind="stable")
        starts = np.searchsorted(group_of_node[order], np.arange(keys.size + 1))
        sorted_live = live[order]
        group_tau = tau_values[keys // (4096 * 64)]
        group_min_variance = np.minimum.reduceat(variance[sorted_live], starts[:-1])
        group_min_scale = np.minimum.reduceat(scale[order], starts[:-1])
        group_max_phase = np.maximum.reduceat(oscillations[order] * np.sqrt(scale[order]), starts[:-1])
        # one control variance per group (the geometric mean of its nodes'), so that φ_BS is a per-abscissa
        # factor: any value keeps the identity exact, and within a √2-wide bucket the correction stays small
        group_log_scale = np.add.reduceat(np.log(scale[order]), starts[:-1]) / np.diff(starts)
        control_variance[sorted_live] = np.repeat(np.exp(group_log_scale) / group_tau, np.diff(starts))
        group_max_variance = np.maximum.reduceat(variance[sorted_live], starts[:-1])
        tail_end, probe_log_magnitude, phi_turning = _tail_cutoff(
            group_tau, group_min_variance, group_max_variance, kappa, theta, sigma, rho, tail_tolerance, with_greeks
        )
        group_max_phase = group_max_phase + phi_turning
        worst_tail = 0.0
        with _one_torch_thread():
            for g in range(keys.size):
                u, weight, end = _abscissae(tail_end[g], group_min_scale[g], group_max_phase[g], points,
                                            max_abscissae)
                if end < tail_end[g]:
                    worst_tail = max(worst_tail, _tail_bound(end, probe_log_magnitude[g]))
                c_coef, d_coef, d_rate = _characteristic_exponent(u, group_tau[g], kappa, theta, sigma, rho)
                members = sorted_live[starts[g]:starts[g + 1]]
                block = max(1, min(_CHUNK, _BLOCK_ELEMENTS // u.size))
                for start in range(0, members.size, block):
                    _add_fourier_correction(
                        members[start:start + block], spot, strike, tau, variance, rate, dividend,
                        control_variance, u, weight, c_coef, d_coef, d_rate, kappa * theta,
                        price_, delta_, gamma_, vega_, theta_,
                    )
        if worst_tail / np.pi > _TRUNCATION_WARNING:
            bound = f"{worst_tail / np.pi:.1e}"
            warnings.warn(
                f"heston: the Fourier integral was cut at max_abscissae={max_abscissae} abscissae per group (its "
                f"characteristic function decays slowly at vol_of_vol={sigma:g}, correlation={rho:g}, small "
                f"variance); with F = {bound} × e^{{−(r+q)τ/2}} the price error is bounded by F·√(spot·strike), "
                "vega's by the same, delta's by F·√(strike/spot), gamma's by F·√(strike/spot)/spot and theta's by "
                "F·(1 + |r+q|/2 + |r−q|)·√(spot·strike) (usually far smaller); raise max_abscissae for more",
                RuntimeWarning, stacklevel=3,
            )
    control_volatility = np.sqrt(control_variance)
    control = black_scholes.greeks(spot, strike, tau, control_volatility, rate, dividend, call)
    price_ = np.maximum(price_ + control.price, 0.0)
    delta_ += control.delta
    gamma_ += control.gamma
    theta_ += control.theta  # at live nodes v_cv is a constant of the exact identity: ∂V/∂v is the Fourier term
    # nodes without the Fourier correction (σᵥ = 0, beyond the moneyness cutoff) are V_BS(σ_cv) with their own
    # σ_cv² = E[∫v dt]/τ, which moves with v and τ: chain rule through Black–Scholes' vega
    plain = np.ones(spot.size, dtype=bool)
    plain[live] = False
    plain &= (tau > 0.0) & (total_variance > floor)
    if plain.any():
        t, v, sigma_cv = tau[plain], variance[plain], control_volatility[plain]
        weight = _expected_total_variance(np.ones_like(t), t, kappa, 0.0) / t  # ∂σ_cv²/∂v = (1 − e^{−κτ})/(κτ)
        forward_variance = theta + (v - theta) * np.exp(-kappa * t)  # E[v_τ]: ∂(τσ_cv²)/∂τ
        vega_[plain] = control.vega[plain] * weight / (2.0 * sigma_cv)
        theta_[plain] -= control.vega[plain] * (forward_variance - control_variance[plain]) / (2.0 * sigma_cv * t)
    return Greeks(*(a.reshape(shape) for a in (price_, delta_, gamma_, vega_, theta_)))


def _add_fourier_correction(
    nodes, spot, strike, tau, variance, rate, dividend, control_variance,
    u, weight, c_coef, d_coef, d_rate, kappa_theta,
    price_, delta_, gamma_, vega_, theta_,
) -> None:
    """Write the control-variate correction for one block of nodes sharing an abscissa grid and v_cv."""
    s, k_strike, t, v = spot[nodes], strike[nodes], tau[nodes], variance[nodes]
    r, q, v_cv = rate[nodes], dividend[nodes], control_variance[nodes]
    log_forward_moneyness = np.log(s / k_strike) + (r - q) * t
    wr = weight / (u * u + 0.25)
    kd = kappa_theta * d_coef
    # per-abscissa coefficient columns: every integral below is a matrix product with one of them
    real_columns = np.stack([wr, weight, wr * d_coef.real, wr * kd.real, wr * d_rate.real], axis=1)
    imag_columns = np.stack([-wr * u, -wr * d_coef.imag, -wr * kd.imag, -wr * d_rate.imag], axis=1)
    control_columns = np.stack([wr, weight], axis=1)

    # the (nodes × abscissae) work runs in torch: its vectorised float64 exp/cos/sin are several times
    # faster than numpy's on CPUs without AVX-512; the arithmetic is identical
    as_tensor = torch.from_numpy
    phase = torch.outer(as_tensor(log_forward_moneyness), as_tensor(u))  # u·k, (n, M)
    v_t = as_tensor(v)
    magnitude = torch.exp(torch.addr(as_tensor(np.broadcast_to(c_coef.real, phase.shape).copy()), v_t,
                                     as_tensor(d_coef.real)))
    angle = phase + torch.addr(as_tensor(np.broadcast_to(c_coef.imag, phase.shape).copy()), v_t,
                               as_tensor(d_coef.imag))
    heston_real = magnitude * torch.cos(angle)  # Re[e^{iuk} φ]
    heston_imag = magnitude * torch.sin(angle)
    # the control variance is shared by the block, so φ_BS is a per-abscissa factor folded into the columns
    control = np.exp(-0.5 * v_cv[0] * t[0] * (u * u + 0.25))

    from_real = (heston_real @ as_tensor(real_columns)).numpy()
    from_imag = (heston_imag @ as_tensor(imag_columns)).numpy()
    control_sums = (torch.cos(phase) @ as_tensor(control_columns * control[:, None])).numpy()
    control_slope = (torch.sin(phase) @ as_tensor(-wr * u * control)).numpy()

    integral = from_real[:, 0] - control_sums[:, 0]  # ∫ Re[e^{iuk} ψ] / (u² + ¼)
    slope = from_imag[:, 0] - control_slope  # ∂/∂k of the above
    plain = from_real[:, 1] - control_sums[:, 1]  # ∫ Re[e^{iuk} ψ]
    variance_sensitivity = from_real[:, 2] + from_imag[:, 1]  # ∫ Re[e^{iuk} D φ] / (u² + ¼)
    time_sensitivity = (
        from_real[:, 3] + from_imag[:, 2] + v * (from_real[:, 4] + from_imag[:, 3])
        + 0.5 * v_cv * control_sums[:, 1]
    )  # ∫ Re[e^{iuk} ∂ψ/∂τ] / (u² + ¼)

    strike_factor = np.sqrt(k_strike) * np.exp(-0.5 * (r + q) * t) / np.pi
    root_spot = np.sqrt(s)
    prefactor = root_spot * strike_factor
    price_[nodes] = -prefactor * integral
    delta_[nodes] = -strike_factor / root_spot * (0.5 * integral + slope)
    gamma_[nodes] = strike_factor / (s * root_spot) * plain
    vega_[nodes] = -prefactor * variance_sensitivity
    theta_[nodes] = prefactor * (-0.5 * (r + q) * integral + (r - q) * slope + time_sensitivity)


def price(
    spot: ArrayLike,
    strike: ArrayLike,
    time_to_maturity: ArrayLike,
    variance: ArrayLike,
    mean_reversion: float,
    long_run_variance: float,
    vol_of_vol: float,
    correlation: float,
    rate: ArrayLike = 0.0,
    dividend: ArrayLike = 0.0,
    call: ArrayLike = True,
    **quadrature,
) -> FloatArray:
    """Heston value of a European option (see ``greeks`` for the method and the keyword arguments; the tail is cut
    where the price's integrand, not the Greeks', falls below ``tail_tolerance``: no extra work for them)."""
    return _fourier(
        spot, strike, time_to_maturity, variance, mean_reversion, long_run_variance, vol_of_vol, correlation,
        rate, dividend, call, **quadrature, with_greeks=False,
    ).price
