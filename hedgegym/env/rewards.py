r"""Rewards: functions of the scaled wealth increment x = δW / P (P the env's value scale, see features).

Costs are always inside δW. Per-step rewards:

* ``pnl``:            r = x                                  (risk-neutral: maximises expected P&L)
* ``mean_variance``:  r = x − (κ/2) x²                       (Kolm & Ritter 2019; κ = ``risk_aversion``)

Terminal-only rewards (0 before maturity, a function of the episode's scaled P&L X = W_T / P at the end):

* ``cvar``:      r_T = −(w + max(−X − w, 0) / (1 − α))       Rockafellar–Uryasev (2000): −E[r_T] is an upper bound
  of CVaR_α of the loss −X for every threshold w (``cvar_threshold``), equal to it when w is the loss's VaR_α;
  min_w −E[r_T] = CVaR_α. Over N equally weighted paths that minimum is exactly ``metrics.cvar`` (the one
  definition in the package, shared with deep hedging's ``cvar`` risk): the mean of the worst (1 − α)N losses
  with the boundary path weighted fractionally.
* ``entropic``:  r_T = −exp(−λX) / λ                        exponential utility (λ = ``risk_aversion``); its
  certainty equivalent is minus the entropic risk. The exponent is capped at 50 so r stays finite.

Terminal mean–variance, spread over the steps (stateful: it keeps a running mean per step):

* ``terminal_mean_variance``:  r_t = x_t − (κ/2) [(X_t − m_t)² − (X_{t−1} − m_{t−1})²],  X_t = W_t / P

  m_t is a running estimate of E[X_t] (an exponential moving average of the batch mean of X_t over the N envs,
  updated when a batch of episodes ends, each update weighted N / (N + 1,000): a memory of about max(1,000, 2N)
  episodes; m_0 = 0; a seeded reset restarts them at 0, so the same seed gives the same numbers). The means are
  shared by the N envs of one core, so env i of a vector env no longer replays a
  single ``HedgingEnv`` seeded s + i after the first batch of episodes (each single env keeps its own means), and
  the reward suits on-policy training (PPO: each rollout is whole episodes at fixed means). Off-policy agents
  (SAC, TQC) replay transitions stored under older means, whose shaping terms then no longer cancel exactly;
  ``agent.gamma`` must be 1 (the terms telescope only undiscounted). The bracket telescopes, so an
  episode's return is X_T − (κ/2) (X_T − m_T)² (X_0 = 0): with m_T = E[X_T] its expectation is the terminal
  mean − κ/2 · variance of the hedged P&L — the objective that Y = −mean + c · sd ranks like for κ ≈ c / sd — with
  the variance of the whole episode's P&L, autocorrelation included, which the per-step ``mean_variance`` (a sum
  of squared increments) misses. The intermediate terms are potential-based shaping (Ng, Harada & Russell 1999,
  potential −(κ/2)(X_t − m_t)²): a signal at every step, the same optimum for fixed m. Tracking the mean of the
  P&L separately from its square follows Cao, Chen, Hull & Poulos (2021, "Deep hedging of derivatives using
  reinforcement learning"), who learn E[C] and E[C²] with two critics.

Shape: x and X are (N,); rewards (N,), float64.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hedgegym import _validation as check
from hedgegym.pricing.greeks import FloatArray

__all__ = ["REWARD_KINDS", "Reward", "TerminalMeanVariance", "make_reward"]

REWARD_KINDS = ("pnl", "mean_variance", "cvar", "entropic", "terminal_mean_variance")
MEAN_MEMORY = 1_000  # episodes: the running means' memory (terminal_mean_variance)


@dataclass(frozen=True)
class Reward:
    """A reward rule (``kind`` one of pnl, mean_variance, cvar, entropic) and its parameters."""

    kind: str = "mean_variance"
    risk_aversion: float = 1.0
    cvar_level: float = 0.95
    cvar_threshold: float = 0.0

    def __post_init__(self) -> None:
        if self.kind == "terminal_mean_variance":
            raise ValueError("the terminal_mean_variance reward keeps running means: use TerminalMeanVariance")
        if self.kind not in REWARD_KINDS:
            raise ValueError(f"reward must be one of {', '.join(REWARD_KINDS)}; got {self.kind!r}")
        check.positive("risk_aversion", self.risk_aversion)
        check.finite("cvar_threshold", self.cvar_threshold)
        if not 0 < check.finite("cvar_level", self.cvar_level) < 1:
            raise ValueError(f"cvar_level must be in (0, 1), got {self.cvar_level}")

    @property
    def terminal_only(self) -> bool:
        return self.kind in ("cvar", "entropic")

    def restart(self) -> None:
        """Nothing to forget: a stateless reward (the env core calls it when it is re-seeded)."""

    def __call__(self, scaled_pnl: FloatArray, scaled_wealth: FloatArray, terminal: bool,
                 step: int | None = None) -> FloatArray:
        """Reward of one step: ``scaled_pnl`` = δW/P, ``scaled_wealth`` = W/P after the step (stateless kinds;
        ``step`` is not read; ``terminal_mean_variance`` is ``TerminalMeanVariance``, which keeps running means)."""
        if self.kind == "pnl":
            return scaled_pnl
        if self.kind == "mean_variance":
            return scaled_pnl - 0.5 * self.risk_aversion * scaled_pnl**2
        if not terminal:
            return np.zeros_like(scaled_pnl)
        if self.kind == "cvar":
            loss = -scaled_wealth
            return -(self.cvar_threshold + np.maximum(loss - self.cvar_threshold, 0.0) / (1.0 - self.cvar_level))
        exponent = np.minimum(-self.risk_aversion * scaled_wealth, 50.0)
        return -np.exp(exponent) / self.risk_aversion


class TerminalMeanVariance:
    """The ``terminal_mean_variance`` reward (see the module docstring) with its running means m_t, t = 0 … T.

    Args:
        risk_aversion: κ > 0.
        n_steps: T, the episode's steps.
    """

    def __init__(self, risk_aversion: float, n_steps: int) -> None:
        self.risk_aversion = check.positive("risk_aversion", risk_aversion)
        self.means = np.zeros(int(n_steps) + 1)
        self._batch_means = np.zeros(int(n_steps) + 1)

    def restart(self) -> None:
        """Forget the running means (m_t = 0), as at construction; the env core calls it when it is re-seeded."""
        self.means[:] = 0.0
        self._batch_means[:] = 0.0

    def __call__(self, scaled_pnl: FloatArray, scaled_wealth: FloatArray, terminal: bool, step: int) -> FloatArray:
        """Rewards (N,) of step ``step`` (1 … T: the node the envs just reached), from x = δW/P and X_t = W_t/P
        (``terminal`` is not read: step T is the last).
        At the episode's last step every m_t moves toward the episode batch's mean of X_t (all N envs end on the
        same step), not before: within an episode the means are fixed."""
        last = len(self.means) - 1
        if not 1 <= step <= last:
            raise ValueError(f"step must be in [1, {last}], got {step}")
        previous = scaled_wealth - scaled_pnl
        now, before = self.means[step], self.means[step - 1]
        rewards = scaled_pnl - 0.5 * self.risk_aversion * ((scaled_wealth - now) ** 2 - (previous - before) ** 2)
        self._batch_means[step] = float(np.mean(scaled_wealth))
        if step == last:  # the means stay fixed within an episode, so that its rewards telescope
            n = len(scaled_wealth)
            self.means[1:] += n / (n + MEAN_MEMORY) * (self._batch_means[1:] - self.means[1:])
        return rewards


def make_reward(kind: str, risk_aversion: float, cvar_level: float, cvar_threshold: float,
                n_steps: int) -> Reward | TerminalMeanVariance:
    """The reward rule ``kind`` (``env.reward``) for episodes of ``n_steps`` steps: ``TerminalMeanVariance`` for
    ``terminal_mean_variance``, else a stateless ``Reward``. Both are called ``(x, X, terminal, step)`` and
    ``restart()`` on a re-seed."""
    if kind == "terminal_mean_variance":
        return TerminalMeanVariance(risk_aversion, n_steps)
    return Reward(kind, risk_aversion, cvar_level, cvar_threshold)
