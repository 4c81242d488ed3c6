"""scripts/bench_peers.py: argument handling, the missing-pfhedge message, its statistics, and (slow) the --quick path.

No timing assertions: the figures belong to benchmarks/peers.md.
"""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("_script_bench_peers", ROOT / "scripts" / "bench_peers.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve the module's annotations through sys.modules
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop(spec.name, None)


def test_missing_pfhedge_exits_with_the_install_command(bench, monkeypatch):
    monkeypatch.setitem(sys.modules, "pfhedge", None)  # makes `import pfhedge` raise ModuleNotFoundError
    with pytest.raises(SystemExit) as raised:
        bench.require_pfhedge()
    assert "pip install --no-deps pfhedge==0.23.0" in str(raised.value)


@pytest.mark.parametrize("argv", [["--repeats", "0"], ["--threads", "1,two"], ["--threads", "0"], ["--bogus"]])
def test_bad_arguments_exit_with_a_usage_error(bench, argv, capsys):
    with pytest.raises(SystemExit) as raised:
        bench.parse_args(argv)
    assert raised.value.code == 2
    assert "error" in capsys.readouterr().err


def test_arguments_defaults_and_thread_list(bench):
    full = bench.parse_args([])
    assert full.output == Path("benchmarks/peers.md") and not full.quick and full.repeats == 3
    assert full.threads[0] == 1 and full.threads[-1] == full.default_threads
    quick = bench.parse_args(["--quick", "--threads", "1,1,default"])
    assert quick.output.parent == Path("/tmp") and len(set(quick.threads)) == len(quick.threads)
    assert quick.threads[0] == 1


def test_black_scholes_premium_matches_scipy(bench):
    d1 = 0.5 * 0.2  # ln(S/K) = 0, σ = 0.2, T = 1, r = q = 0
    assert bench.bs_call_price(1.0, 1.0, 1.0, 0.2) == pytest.approx(stats.norm.cdf(d1) - stats.norm.cdf(-d1), 1e-14)


def test_standard_errors_match_normal_theory(bench):
    """For N(0, σ²) samples: se(mean) = σ/√n and se(s) → σ/√(2n) (m₄ = 3σ⁴)."""
    sample = np.random.default_rng(0).normal(0.0, 2.0, 400_000)
    moments = bench.Moments.of(sample)
    assert moments.mean_se == pytest.approx(2.0 / math.sqrt(sample.size), rel=0.01)
    assert moments.std_se == pytest.approx(2.0 / math.sqrt(2 * sample.size), rel=0.02)


def test_evaluation_chunks_fit_the_evaluation_cap(bench):
    from hedgegym.config import MAX_EVALUATION_NODES

    chunks = bench.evaluation_chunks(100_000, 252)
    assert sum(chunks) == 100_000 and max(chunks) * 253 <= MAX_EVALUATION_NODES
    assert bench.evaluation_chunks(2_000, 63) == [2_000]


@pytest.mark.slow
def test_quick_run_writes_a_report_where_both_libraries_agree(bench, tmp_path):
    pytest.importorskip("pfhedge")
    output = tmp_path / "peers.md"
    bench.main(["--quick", "--threads", "1", "--repeats", "1", "--output", str(output)])
    report = output.read_text()
    assert "## Task 1" in report and "## Task 2" in report and "Verdict: **agree**" in report


def test_torch_float32_engine_loop_agrees_with_the_float64_engine_loop(bench):
    """The torch float32 row (simulate_tensors + reset on tensors + DeltaHedger + step) hedges the same P&L law as
    the numpy float64 row: mean ≈ 0 (μ = r = 0: the premium is E[payoff]) and the same sd, each |z| below a
    family-wise 99.9% Bonferroni band over the 4 comparisons; the three phases are timed."""
    import torch

    config = bench.task1_config(20)
    phases: list[dict[str, float]] = []
    ours = bench.hedgegym_engine_loop_torch(config, 20_000, torch.Generator().manual_seed(0), phases)
    reference = bench.hedgegym_engine_loop(config, 20_000, np.random.default_rng(0), [])
    assert ours.shape == (20_000,) and ours.dtype == np.float64 and np.all(np.isfinite(ours))
    assert list(phases[0]) == list(bench.PHASES) and all(seconds > 0 for seconds in phases[0].values())
    band = stats.norm.ppf(1 - 0.001 / (2 * 4))
    a, b = bench.Moments.of(ours), bench.Moments.of(reference)
    z_mean, z_std = bench.z_scores(a, b)
    assert abs(a.mean / a.mean_se) < band and abs(b.mean / b.mean_se) < band
    assert abs(z_mean) < band and abs(z_std) < band
