"""Benchmark the vectorised pricers at simulation scale and compare them with per-node loops.

Measures nodes per second (one node = one option valued with price, Δ, Γ, vega and Θ) for:
  * Black–Scholes ``greeks`` over n_paths × n_steps GBM nodes, called once per time step as the hedging
    engine does, against a plain Python loop over nodes with the closed form written with ``math``;
  * Heston ``greeks`` over n_paths × n_steps nodes of Andersen-QE paths (per-path variance), one call per
    step, against per-node loops: QuantLib's AnalyticHestonEngine (price only) and our own function called
    with scalars.
Per-node loops are timed on a sample and reported as rates. Everything runs on one thread (torch's intra-op
threads set to 1) unless ``--threads`` says otherwise. Results go to ``benchmarks/pricing.md``.

    python scripts/bench_pricing.py                 # 100k paths × 252 steps (a few minutes)
    python scripts/bench_pricing.py --quick         # 10k paths × 52 steps (seconds)
"""

from __future__ import annotations

import argparse
import datetime
import math
import os
import platform
import time
from pathlib import Path

import numpy as np
import torch

from hedgegym.market import GeometricBrownianMotion, Heston
from hedgegym.pricing import black_scholes, heston

STRIKE, MATURITY, RATE, DIVIDEND = 100.0, 1.0, 0.02, 0.0
HESTON = {"mean_reversion": 2.0, "long_run_variance": 0.04, "vol_of_vol": 0.5, "correlation": -0.7}


def closed_form_loop(spot: np.ndarray, tau: np.ndarray, volatility: float) -> None:
    """The baseline: one node at a time, Black–Scholes price and Greeks with the math module."""
    for s, t in zip(spot.tolist(), tau.tolist(), strict=True):
        std = volatility * math.sqrt(t)
        d1 = (math.log(s / STRIKE) + (RATE - DIVIDEND) * t) / std + 0.5 * std
        d2 = d1 - std
        cdf1, cdf2 = 0.5 * math.erfc(-d1 / math.sqrt(2)), 0.5 * math.erfc(-d2 / math.sqrt(2))
        pdf1 = math.exp(-0.5 * d1 * d1) / math.sqrt(2 * math.pi)
        discount = math.exp(-RATE * t)
        _price = s * cdf1 - STRIKE * discount * cdf2
        _delta = cdf1
        _gamma = pdf1 / (s * std)
        _vega = s * pdf1 * math.sqrt(t)
        _theta = -s * pdf1 * volatility / (2 * math.sqrt(t)) - RATE * STRIKE * discount * cdf2


def per_step(function, paths, n_steps: int, arguments) -> float:
    """Seconds to value every node before maturity, one vectorised call per time step.

    ``arguments(i, variance)`` gives the keyword arguments of step i (model parameters, per-path state).
    The paths are first stored time-major (one contiguous row per step, as a stepping engine holds its state);
    slicing a column of the (paths, steps) arrays instead makes every call ~1.8× slower (strided reads)."""
    spot, variance = np.ascontiguousarray(paths.spot.T), np.ascontiguousarray(paths.variance.T)
    start = time.perf_counter()
    for i in range(n_steps):
        function(spot[i], STRIKE, MATURITY - paths.time[i], **arguments(i, variance))
    return time.perf_counter() - start


def sample_nodes(paths, n_steps: int, size: int, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    rows = rng.integers(0, paths.n_paths, size)
    columns = rng.integers(0, n_steps, size)
    return paths.spot[rows, columns], MATURITY - paths.time[columns], paths.variance[rows, columns]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--paths", type=int, default=100_000)
    parser.add_argument("--steps", type=int, default=252)
    parser.add_argument("--quick", action="store_true", help="10k paths × 52 steps")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (default 1: one core)")
    parser.add_argument("--output", type=Path, default=Path("benchmarks/pricing.md"))
    args = parser.parse_args()
    n_paths, n_steps = (10_000, 52) if args.quick else (args.paths, args.steps)
    torch.set_num_threads(args.threads)
    dt = MATURITY / n_steps
    rng = np.random.default_rng(2026)
    nodes = n_paths * n_steps
    rows = []

    gbm = GeometricBrownianMotion(spot=100.0, volatility=0.2, mu=0.05, rate=RATE, dividend=DIVIDEND)
    paths = gbm.simulate(n_paths, n_steps, dt, rng)
    seconds = per_step(black_scholes.greeks, paths, n_steps,
                       lambda i, variance: {"volatility": 0.2, "rate": RATE, "dividend": DIVIDEND})
    spot_sample, tau_sample, _ = sample_nodes(paths, n_steps, 20_000, rng)
    start = time.perf_counter()
    closed_form_loop(spot_sample, tau_sample, 0.2)
    loop_rate = spot_sample.size / (time.perf_counter() - start)
    bs_rate = nodes / seconds
    rows.append(("Black–Scholes price+Δ+Γ+vega+Θ, vectorised (one call per step)", nodes, seconds, bs_rate, 1.0))
    rows.append(("Black–Scholes, Python loop over nodes (math closed form)", spot_sample.size,
                 spot_sample.size / loop_rate, loop_rate, loop_rate / bs_rate))

    model = Heston(spot=100.0, initial_variance=0.04, mu=0.05, rate=RATE, dividend=DIVIDEND, **HESTON)
    paths = model.simulate(n_paths, n_steps, dt, rng)
    seconds = per_step(heston.greeks, paths, n_steps,
                       lambda i, variance: {"variance": variance[i], **HESTON, "rate": RATE, "dividend": DIVIDEND})
    heston_rate = nodes / seconds
    rows.append(("Heston price+Δ+Γ+vega+Θ, vectorised (one call per step)", nodes, seconds, heston_rate, 1.0))
    spot_sample, tau_sample, variance_sample = sample_nodes(paths, n_steps, 300, rng)
    start = time.perf_counter()
    for s, t, v in zip(spot_sample, tau_sample, variance_sample, strict=True):
        heston.greeks(s, STRIKE, t, v, **HESTON, rate=RATE, dividend=DIVIDEND)
    own_rate = spot_sample.size / (time.perf_counter() - start)
    rows.append(("Heston, hedgegym called once per node", spot_sample.size, spot_sample.size / own_rate, own_rate,
                 own_rate / heston_rate))
    quantlib_rate = quantlib_heston_rate(spot_sample, tau_sample, variance_sample)
    if quantlib_rate is not None:
        rows.append(("Heston, QuantLib AnalyticHestonEngine per node (price only)", spot_sample.size,
                     spot_sample.size / quantlib_rate, quantlib_rate, quantlib_rate / heston_rate))

    command = "python scripts/bench_pricing.py" + (" --quick" if args.quick else "")
    report = render(rows, n_paths, n_steps, args.threads, command)
    print(report)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(report)
    print(f"written to {args.output}")


def quantlib_heston_rate(spot, tau, variance) -> float | None:
    try:
        import QuantLib as ql
    except ImportError:  # QuantLib is a dev dependency
        return None
    today = ql.Date(15, ql.January, 2025)
    ql.Settings.instance().evaluationDate = today
    day_count = ql.Actual365Fixed()
    curve = ql.YieldTermStructureHandle(ql.FlatForward(today, RATE, day_count))
    dividend = ql.YieldTermStructureHandle(ql.FlatForward(today, DIVIDEND, day_count))
    start = time.perf_counter()
    for s, t, v in zip(spot, tau, variance, strict=True):
        process = ql.HestonProcess(curve, dividend, ql.QuoteHandle(ql.SimpleQuote(float(s))), max(float(v), 1e-8),
                                   HESTON["mean_reversion"], HESTON["long_run_variance"], HESTON["vol_of_vol"],
                                   HESTON["correlation"])
        option = ql.VanillaOption(ql.PlainVanillaPayoff(ql.Option.Call, STRIKE),
                                  ql.EuropeanExercise(today + max(round(float(t) * 365), 1)))
        option.setPricingEngine(ql.AnalyticHestonEngine(ql.HestonModel(process)))
        option.NPV()
    return spot.size / (time.perf_counter() - start)


def render(rows, n_paths: int, n_steps: int, threads: int, command: str) -> str:
    lines = [
        "# Pricing benchmark",
        "",
        f"Command: `{command}` — {datetime.date.today().isoformat()}, {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs visible, torch intra-op threads = {threads}, numpy {np.__version__}, "
        f"torch {torch.__version__}.",
        f"Scale: {n_paths:,} paths × {n_steps} steps = {n_paths * n_steps:,} nodes; a node is one option valued with "
        "price, Δ, Γ, vega and Θ (the QuantLib row: price only). Paths are held time-major, one contiguous row "
        "per step. Loops are timed on a random sample of nodes.",
        "",
        "| what | nodes timed | seconds | nodes/s | vectorised is faster by |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, count, seconds, rate, ratio in rows:
        speed_up = "—" if ratio == 1.0 else f"{1.0 / ratio:,.1f}×"
        lines.append(f"| {name} | {count:,} | {seconds:.2f} | {rate:,.0f} | {speed_up} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
