"""Evaluation memory is proportional to the work, and sizes beyond the bound are refused by name."""

from __future__ import annotations

import tracemalloc

import pytest

from hedgegym.baselines import DeltaHedger
from hedgegym.config import MAX_EVALUATION_NODES, parse_config
from hedgegym.evaluation import rollout
from hedgegym.evaluation.rollout import evaluate

CONFIG = parse_config({"book": [{"strike": 100.0, "maturity": 0.1, "quantity": -10}], "simulation": {"n_steps": 10},
                       "env": {"episodes_per_draw": 2000}})


def test_evaluation_allocates_no_episode_buffer():
    """Was: ``evaluate`` built its env core with one env per path and that core allocated its episode buffer,
    2 × episodes_per_draw × (n_steps + 1) × N float64 = 2 × 2000 × 11 × 500 × 8 B = 176 MB here (30 GiB for 10^6
    paths at the default 64), never used. Now the whole evaluation stays within a few hundred bytes per node."""
    n_paths = 500
    paths = rollout.test_paths(CONFIG, n_paths, seed=0)
    tracemalloc.start()
    try:
        evaluate(DeltaHedger(), CONFIG, paths=paths)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    buffer = 2 * 2000 * 11 * n_paths * 8
    assert buffer == 176_000_000
    assert peak < 10_000_000  # measured about 1-2 MB; the buffer alone was 176 MB


def test_evaluation_beyond_the_memory_bound_is_refused_by_name():
    limit = MAX_EVALUATION_NODES // (CONFIG.simulation.n_steps + 1)
    with pytest.raises(ValueError, match=rf"n_paths must be <= {limit:,} with 10 steps"):
        evaluate(DeltaHedger(), CONFIG, n_paths=limit + 1)
