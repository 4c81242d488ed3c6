"""Benchmark the hedging environments and PPO training throughput, side by side in one run.

Environment steps per second (random actions, default features = book Greeks included) for:
  * ``HedgingEnv`` stepped in a Python loop;
  * SB3 ``DummyVecEnv`` of 8 ``HedgingEnv``;
  * ``BatchedHedgingVecEnv`` at 64, 1024 and 4096 envs;
  * ``HedgingVectorEnv`` (the Gymnasium vector face, ``gymnasium.make_vec(..., vectorization_mode=
    "vector_entry_point")``) at 4096 envs: same actions, counting env steps only (its next-step autoreset call
    after each episode end applies no action and is not counted, as in ``gymnasium.utils.performance``).
PPO frames per second (``model.learn`` wall time, rollouts + gradient steps, CPU):
  * SB3 default PPO (n_steps 2048, minibatch 64, 10 epochs) on DummyVecEnv(8);
  * SB3 default PPO on the batched env with 8 envs;
  * the project's recommended large-batch PPO on the batched env (1024 envs, one episode per rollout,
    minibatch 4032 = 1/16 of a rollout, 4 epochs).
Results go to ``benchmarks/env.md``.

    python scripts/bench_env.py            # ~3 minutes on 2 cores
    python scripts/bench_env.py --quick    # seconds (smaller runs, for a smoke test)
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import time
from pathlib import Path

import numpy as np
import stable_baselines3
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.vec_env import DummyVecEnv, VecEnv

from hedgegym.config import ExperimentConfig
from hedgegym.env import BatchedHedgingVecEnv, HedgingEnv, HedgingVectorEnv

CONFIG = ExperimentConfig.model_validate({
    "name": "bench",
    "market": {"model": "gbm", "spot": 100.0, "volatility": 0.2, "mu": 0.05, "rate": 0.02},
    "book": [{"strike": 100.0, "maturity": 0.25, "call": True, "quantity": -10}],
    "simulation": {"n_steps": 63},
    "costs": {"proportional": {"stock": 0.001}},
})
RECOMMENDED_PPO = {"n_steps": 63, "batch_size": 4032, "n_epochs": 4, "learning_rate": 3e-4}  # 1024·63 = 16 minibatches


def single_env_rate(seconds: float) -> float:
    env = HedgingEnv(CONFIG)
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    actions = rng.uniform(-1, 1, (4096, 1)).astype(np.float32)
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        _, _, terminated, _, _ = env.step(actions[steps % 4096])
        steps += 1
        if terminated:
            env.reset()
    return steps / (time.perf_counter() - start)


def vec_env_rate(env: VecEnv, seconds: float) -> float:
    env.seed(0)
    env.reset()
    actions = np.random.default_rng(0).uniform(-1, 1, (16, env.num_envs, 1)).astype(np.float32)
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        env.step(actions[steps % 16])
        steps += 1
    return steps * env.num_envs / (time.perf_counter() - start)


def gymnasium_vector_env_rate(env: HedgingVectorEnv, seconds: float) -> float:
    """Env steps per second of a Gymnasium vector env with next-step autoreset, same random actions as
    ``vec_env_rate``; the autoreset calls (one per episode, no action applied) take time but count no steps."""
    env.reset(seed=0)
    actions = np.random.default_rng(0).uniform(-1, 1, (16, env.num_envs, 1)).astype(np.float32)
    calls, resets, ended = 0, 0, False
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        resets += ended
        _, _, terminations, _, _ = env.step(actions[calls % 16])
        ended = bool(terminations[0])  # all envs end together
        calls += 1
    return (calls - resets) * env.num_envs / (time.perf_counter() - start)


def ppo_fps(env: VecEnv, timesteps: int, **kwargs) -> tuple[float, int]:
    model = PPO("MlpPolicy", env, seed=0, device="cpu", verbose=0, **kwargs)
    start = time.perf_counter()
    model.learn(total_timesteps=timesteps)
    return model.num_timesteps / (time.perf_counter() - start), model.num_timesteps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--output", type=Path, default=Path("benchmarks/env.md"))
    args = parser.parse_args()
    seconds = 1.0 if args.quick else 5.0
    scale = 0.1 if args.quick else 1.0

    env_rows = [("HedgingEnv, Python loop", 1, single_env_rate(seconds))]
    env_rows.append(("SB3 DummyVecEnv(8) of HedgingEnv", 8,
                     vec_env_rate(DummyVecEnv([lambda: HedgingEnv(CONFIG)] * 8), seconds)))
    for n_envs in (64, 1024, 4096):
        env_rows.append((f"BatchedHedgingVecEnv({n_envs})", n_envs,
                         vec_env_rate(BatchedHedgingVecEnv(CONFIG, n_envs=n_envs), seconds)))
    batched_rate = env_rows[-1][2]
    env_rows.append(("HedgingVectorEnv(4096), Gymnasium vector face", 4096,
                     gymnasium_vector_env_rate(HedgingVectorEnv(CONFIG, num_envs=4096), seconds)))
    dummy_rate = env_rows[1][2]

    ppo_rows = []
    default_steps = 8 * 2048 * (2 if not args.quick else 1)
    fps, done = ppo_fps(DummyVecEnv([lambda: HedgingEnv(CONFIG)] * 8), default_steps)
    ppo_rows.append(("SB3 defaults (n_steps 2048, minibatch 64, 10 epochs), DummyVecEnv(8)", done, fps))
    fps, done = ppo_fps(BatchedHedgingVecEnv(CONFIG, n_envs=8), default_steps)
    ppo_rows.append(("SB3 defaults, BatchedHedgingVecEnv(8)", done, fps))
    recommended_steps = int(1024 * 63 * max(1, round(6 * scale)))
    fps, done = ppo_fps(BatchedHedgingVecEnv(CONFIG, n_envs=1024), recommended_steps, **RECOMMENDED_PPO)
    ppo_rows.append(("recommended: 1024 envs, n_steps 63, minibatch 4032, 4 epochs, BatchedHedgingVecEnv", done, fps))
    default_fps = ppo_rows[0][2]

    command = "python scripts/bench_env.py" + (" --quick" if args.quick else "")
    lines = [
        "# Environment benchmark",
        "",
        f"Command: `{command}` — {datetime.date.today().isoformat()}, {platform.machine()}, {os.cpu_count()} CPUs, "
        f"torch {torch.__version__} ({torch.get_num_threads()} threads), "
        f"stable-baselines3 {stable_baselines3.__version__}.",
        "Setting: GBM, short 10 ATM calls (3 months, 63 daily steps), 0.1% proportional stock cost, default "
        "features (log-moneyness, τ, vol, position, book Δ/Γ/vega/Θ from Black–Scholes at every step, P&L), "
        "random actions. One env step = one path advanced one rebalancing date.",
        "",
        "| environment | envs | steps/s | ÷ DummyVecEnv(8) |",
        "|---|---:|---:|---:|",
    ]
    for name, n_envs, rate in env_rows:
        lines.append(f"| {name} | {n_envs:,} | {rate:,.0f} | {rate / dummy_rate:,.1f}× |")
    lines += ["", f"Gymnasium vector face ÷ BatchedHedgingVecEnv at 4,096 envs: {env_rows[-1][2] / batched_rate:.2f}×.",
              "", "| PPO configuration | timesteps | frames/s | ÷ SB3-default PPO on DummyVecEnv(8) |",
              "|---|---:|---:|---:|"]
    for name, done, fps in ppo_rows:
        lines.append(f"| {name} | {done:,} | {fps:,.0f} | {fps / default_fps:,.1f}× |")
    report = "\n".join(lines) + "\n"
    print(report)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(report)
    print(f"written to {args.output}")


if __name__ == "__main__":
    main()
