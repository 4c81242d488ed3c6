r"""The k-Greek neutralising solver: instrument positions x that cancel the book's chosen Greeks.

For each path, with A the (g × k) matrix of the instruments' Greeks (rows: Δ, Γ, vega, …; columns: stock,
listed options) and b the book's Greeks (g,), solve A x = −b. Square systems are solved exactly; over- or
under-determined ones by least squares (minimum norm), via a batched pseudo-inverse. A system whose smallest
singular value is below ``tolerance`` × the largest (e.g. a hedge option whose Γ ≈ 0 near expiry or far from
the money) is reported in ``ill_conditioned`` and its solution is the pseudo-inverse's (the near-null
direction is dropped instead of blowing up).

Shape: ``instrument_greeks`` (N, g, k), ``book_greeks`` (N, g) → positions (N, k), ill_conditioned (N,).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from hedgegym.pricing.greeks import FloatArray

__all__ = ["NeutralisingSolution", "neutralise"]


class NeutralisingSolution(NamedTuple):
    positions: FloatArray  # (N, k)
    ill_conditioned: np.ndarray  # (N,) bool


def neutralise(
    instrument_greeks: FloatArray, book_greeks: FloatArray, tolerance: float = 1e-10
) -> NeutralisingSolution:
    """Positions x (N, k) with A x = −b per path (least squares when not square); see the module docstring."""
    a = np.asarray(instrument_greeks, dtype=np.float64)
    b = np.asarray(book_greeks, dtype=np.float64)
    if a.ndim != 3 or b.shape != a.shape[:2]:
        raise ValueError(f"instrument_greeks must be (N, g, k) and book_greeks (N, g); got {a.shape} and {b.shape}")
    u, s, vt = np.linalg.svd(a, full_matrices=False)
    largest = s[:, :1]
    keep = s > tolerance * np.maximum(largest, np.finfo(float).tiny)
    inverse_s = np.where(keep, 1.0 / np.where(keep, s, 1.0), 0.0)
    # x = −V diag(1/s) Uᵀ b
    coefficients = np.einsum("ngr,ng->nr", u, b) * inverse_s
    positions = -np.einsum("nrk,nr->nk", vt, coefficients)
    rank = min(a.shape[1], a.shape[2])
    ill = keep.sum(axis=1) < rank
    return NeutralisingSolution(positions, ill)
