"""P&L attribution: terms add up to the P&L; the residual is small and shrinks with δt."""

from __future__ import annotations

import numpy as np

from hedgegym.baselines import DeltaHedger
from hedgegym.config import parse_config
from hedgegym.evaluation import ATTRIBUTION_TERMS, evaluate


def run(n_steps: int, market: dict | None = None):
    config = parse_config({
        "market": market or {"model": "gbm", "volatility": 0.2, "mu": 0.05, "rate": 0.03, "dividend": 0.01},
        "book": [{"strike": 100.0, "maturity": 0.25, "quantity": -10}],
        "simulation": {"n_steps": n_steps},
        "costs": {"proportional": {"stock": 0.001}},
    })
    return evaluate(DeltaHedger(), config, 2_000, seed=0)


def test_attribution_terms_sum_to_the_pnl_path_by_path():
    result = run(32)
    total = sum(result.per_path[f"attribution_{t}"] for t in ATTRIBUTION_TERMS)
    np.testing.assert_allclose(total, result.per_path["pnl"], atol=1e-8)
    assert (result.per_path["attribution_cost"] <= 0).all()


def test_residual_is_small_and_shrinks_with_dt():
    residual = [np.abs(run(n).series["residual"]).sum(axis=0).mean() for n in (16, 64, 256)]
    assert residual[0] > residual[1] > residual[2]
    gamma = np.abs(run(64).series["gamma"]).sum(axis=0).mean()
    assert residual[1] < 0.2 * gamma


def test_heston_vega_term_is_attributed():
    result = run(32, {"model": "heston"})
    assert np.abs(result.per_path["attribution_vega"]).mean() > 0
