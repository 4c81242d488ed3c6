r"""The k-Greek neutralising solver: instrument positions x that cancel the book's chosen Greeks, with a policy
for systems that cannot be solved sensibly.

For each path, with A the (g × k) matrix of the instruments' Greeks (rows: the Greeks in priority order, Δ first;
columns: stock first, then the listed options, each per unit held) and b the book's Greeks (g,), solve A x = −b.

**Units do not decide conditioning.** Δ is in shares, Γ in shares per unit of spot, vega per 1.00 of vol, and a
listed option is held per contract: raw singular values compare numbers in different units. The system is first
equilibrated on both sides (Golub & Van Loan, *Matrix Computations*, 4th ed., §3.5.2): every column (instrument)
is divided by its largest |entry|, then every row (Greek) by its largest |entry|, so Ã = D_r A D_c has entries in
[−1, 1] with a 1 in every row and column whatever the units. κ = σ_max(Ã) / σ_min(Ã) is the **scaled condition
number**: it bounds how much relative errors in the Greeks (model error, discretisation) are amplified in the
positions, and a change of units (shares vs contracts, vega per 1.00 vs per vol point) barely changes it (within a
factor bounded by the dimensions: van der Sluis 1969; measured < 2× for rescalings by 1e±4). With
more instruments than Greeks the minimum-norm solution is taken in the scaled variables y = D_c⁻¹ x, so it too is
independent of the instruments' units.

**Policy (per path, every step).** A solution is *acceptable* when κ ≤ ``max_condition`` and every |x_j| ≤
``position_limits[j]`` (the stock is never capped). The solver tries, in order:

1. all g Greeks with all k instruments (square: exact; more instruments than Greeks: minimum norm);
2. if that is not acceptable, the first m = g − 1, g − 2, …, 2 Greeks with all k instruments (the last Greek is
   dropped; the solution is the one a hedger asked for those m Greeks would hold);
3. Δ alone with the stock (always acceptable): the plain delta hedge.

``neutralised`` reports how many Greeks (from the front of the list) each path's positions cancel, and
``condition`` the κ of the full system. This is the "drop the weakest Greek" policy: the hedger never holds
positions beyond the caps, never amplifies Greek errors by more than ``max_condition``, and falls back to a
hedge of fewer Greeks instead of blowing up (e.g. two listed options of one maturity, whose Γ and vega are
collinear under Black–Scholes — vega = Γ S² σ τ —, or a hedge option whose Γ is ≈ 0 far from the money or near
expiry, which would need billions of contracts).

Shape: ``instrument_greeks`` (N, g, k), ``book_greeks`` (N, g), ``position_limits`` (k,) or (N, k) →
positions (N, k), neutralised (N,) int, condition (N,).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from hedgegym.pricing.greeks import FloatArray

__all__ = ["DEFAULT_MAX_CONDITION", "FallbackCounter", "NeutralisingSolution", "check_max_condition",
           "equilibrated_condition", "neutralise"]

DEFAULT_MAX_CONDITION = 1e3
"""Largest scaled condition number accepted: relative Greek errors of 0.1% may then move positions by up to 100%."""


class NeutralisingSolution(NamedTuple):
    """Positions (N, k); ``neutralised`` (N,): how many leading Greeks they cancel (of ``requested``); ``condition``
    (N,): the scaled condition number κ of the full system (inf when singular)."""

    positions: FloatArray
    neutralised: np.ndarray
    condition: FloatArray
    requested: int

    @property
    def fell_back(self) -> np.ndarray:
        """(N,) bool: the full system was not used (κ above the limit, a position beyond its cap, or singular)."""
        return self.neutralised < self.requested


def check_max_condition(max_condition: float) -> float:
    """``max_condition`` as a float if finite and ≥ 1; else ``ValueError`` naming it."""
    if not (np.isfinite(max_condition) and max_condition >= 1):
        raise ValueError(f"max_condition must be a finite number >= 1, got {max_condition!r}")
    return float(max_condition)


def _equilibrate(a: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """(Ã, row scales r (N, g), column scales c (N, k)) with Ã = diag(r) A diag(c): every column, then every row, of
    Ã has largest |entry| 1. An all-zero column or row keeps scale 1 (the system is then singular)."""
    column_max = np.abs(a).max(axis=1)  # (N, k)
    c = 1.0 / np.where(column_max > 0, column_max, 1.0)
    scaled = a * c[:, None, :]
    row_max = np.abs(scaled).max(axis=2)  # (N, g)
    r = 1.0 / np.where(row_max > 0, row_max, 1.0)
    return scaled * r[:, :, None], r, c


def equilibrated_condition(instrument_greeks: ArrayLike) -> FloatArray:
    """κ = σ_max / σ_min of the equilibrated system (see the module docstring); shape (N, g, k) → (N,); inf when
    singular."""
    scaled, _, _ = _equilibrate(np.asarray(instrument_greeks, dtype=np.float64))
    return _condition(np.linalg.svd(scaled, compute_uv=False))


def _condition(singular_values: FloatArray) -> FloatArray:
    largest, smallest = singular_values[:, 0], singular_values[:, -1]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(smallest > 0, largest / np.where(smallest > 0, smallest, 1.0), np.inf)


def _solve(a: FloatArray, b: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Minimum-norm least-squares positions (in scaled variables) and κ for each path's system A x = −b."""
    scaled, r, c = _equilibrate(a)
    u, s, vt = np.linalg.svd(scaled, full_matrices=False)
    condition = _condition(s)
    keep = s > 0
    inverse_s = np.where(keep, 1.0 / np.where(keep, s, 1.0), 0.0)
    y = -np.einsum("nrk,nr->nk", vt, np.einsum("ngr,ng->nr", u, b * r) * inverse_s)
    return y * c, condition


def neutralise(
    instrument_greeks: ArrayLike,
    book_greeks: ArrayLike,
    max_condition: float = DEFAULT_MAX_CONDITION,
    position_limits: ArrayLike | None = None,
) -> NeutralisingSolution:
    """Positions x (N, k) with A x = −b per path, under the policy of the module docstring.

    Args:
        instrument_greeks: A, (N, g, k): Greek i (rows in priority order, Δ first) of instrument j (column 0: the
            stock, Δ = 1) per unit held.
        book_greeks: b, (N, g): the book's Greeks, same rows.
        max_condition: largest acceptable scaled condition number κ (≥ 1).
        position_limits: caps on |x_j| per instrument, (k,) or (N, k), in the instruments' units (contracts); the
            stock's entry is ignored (never capped). ``None``: no cap.

    Raises:
        ValueError: shapes that do not match, or ``max_condition`` < 1 or not finite, negative or NaN limits.
    """
    a = np.asarray(instrument_greeks, dtype=np.float64)
    b = np.asarray(book_greeks, dtype=np.float64)
    if a.ndim != 3 or b.shape != a.shape[:2]:
        raise ValueError(f"instrument_greeks must be (N, g, k) and book_greeks (N, g); got {a.shape} and {b.shape}")
    check_max_condition(max_condition)
    n, g, k = a.shape
    limits = np.full((n, k), np.inf)
    if position_limits is not None:
        limits = np.broadcast_to(np.asarray(position_limits, dtype=np.float64), (n, k)).copy()
        if np.any(np.isnan(limits)) or np.any(limits < 0):
            raise ValueError("position_limits must be >= 0 (inf: no cap), got a negative or NaN entry")
    limits[:, 0] = np.inf

    positions, condition = _solve(a, b)
    neutralised = np.full(n, g)
    accepted = _acceptable(positions, condition, limits, max_condition)
    for m in range(max(g - 1, 1), 0, -1):  # Δ alone (g = 1) with options beyond their caps: the stock alone
        if accepted.all():
            break
        if m == 1:
            # Δ with the stock alone (Δ_stock = 1 per share): the plain delta hedge, always acceptable
            reduced = np.zeros((n, k))
            reduced[:, 0] = -b[:, 0] / a[:, 0, 0]
            ok = np.ones(n, dtype=bool)
        else:
            reduced, sub_condition = _solve(a[:, :m], b[:, :m])
            ok = _acceptable(reduced, sub_condition, limits, max_condition)
        take = ~accepted & ok
        positions[take] = reduced[take]
        neutralised[take] = m
        accepted |= take
    return NeutralisingSolution(positions, neutralised, condition, g)


def _acceptable(positions: FloatArray, condition: FloatArray, limits: FloatArray, max_condition: float) -> np.ndarray:
    return (condition <= max_condition) & np.all(np.abs(positions) <= limits, axis=1) & np.all(
        np.isfinite(positions), axis=1)


class FallbackCounter:
    """Per-path count of the steps on which a hedger's solver fell back to fewer Greeks (``per_path``, (N,) int);
    ``steps`` is their total. ``evaluate`` reports it as ``fallback_steps``."""

    def __init__(self) -> None:
        self.per_path = np.zeros(0, dtype=np.int64)

    def reset(self, n_paths: int) -> None:
        self.per_path = np.zeros(n_paths, dtype=np.int64)

    def add(self, solution: NeutralisingSolution) -> None:
        if self.per_path.shape != solution.neutralised.shape:
            self.reset(solution.neutralised.shape[0])
        self.per_path += solution.fell_back

    @property
    def steps(self) -> int:
        return int(self.per_path.sum())
