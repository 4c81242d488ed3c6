r"""Deep hedging (Buehler, Gonon, Teichmann & Wood, 2019): a policy trained by backpropagating a risk measure
of the hedged P&L through simulated paths — the reference the RL agents are measured against.

Policy: an MLP over the env's own observation (the same named, scaled features, which include the previous
position ``stock_position`` and the P&L so far), output squashed by tanh into actions in [−1, 1] and mapped to
target positions by the env's own ``env.action`` mapping (``hedgegym.env.actions.ActionMapping``: ``absolute``,
``delta_relative``, ``delta_band`` — a no-transaction band around the delta hedge, the "no-transaction band
network" of Imaki et al. 2021, whose clamp of the previous position is differentiated through — or
``delta_vega_band``, bands on the stock and the hedge option around the delta–vega hedge).

Training, per iteration: simulate ``batch_paths`` fresh real-world paths (numpy, a dedicated generator stream),
let the engine value the book and the hedges at every node (numpy: these do not depend on the policy) — or, with
``agent.training_paths``, draw ``batch_paths`` without replacement from a fixed training set of that many paths
simulated and valued once (the valuation of a Heston book costs ~95% of an iteration otherwise) — then
roll the policy forward through the engine's own ``step`` with torch targets (``HedgingEngine``: trades, every
cost model of the config, cash at the rate, dividends, liquidation — the arithmetic every face uses, at
``agent.dtype`` on ``agent.device``) to the terminal wealth W_T, and take a gradient step on the risk of
X = W_T / P (P the env's value scale):

* ``entropic``:  (1/λ) log E[exp(−λX)]                          (λ = ``risk_aversion``)
* ``cvar``:      w + E[(−X − w)⁺] / (1 − α)  with w learned        (Rockafellar–Uryasev; α = ``cvar_level``)
* ``mean_std``:  −E[X] + c · sd(X)                               (the Cao–Hull Y of the issue; c = ``risk_aversion``)

Every cost model is differentiated: proportional, quadratic impact and spreads exactly; fixed fees through the
straight-through logistic surrogate documented in ``hedgegym.costs.FixedCost`` (value exact, gradient smooth).
``DeepHedger`` wraps a trained policy as a ``Hedger`` for ``evaluate`` / ``hedgegym compare``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from hedgegym.baselines.base import Hedger
from hedgegym.config import ExperimentConfig
from hedgegym.engine import HedgingEngine, checked_device
from hedgegym.env.actions import ACTION_GREEKS, ActionGreeks, ActionMapping
from hedgegym.env.core import HedgingCore
from hedgegym.env.features import (
    CLIP,
    configured_features,
    evaluate_features,
    evaluate_node_features,
    greeks_read,
    state_features,
)
from hedgegym.pricing.greeks import FloatArray
from hedgegym.valuation import take_paths

__all__ = ["DeepHedger", "DeepHedgingPolicy", "agent_dtype", "check_training_device", "train_deep_hedger"]


class DeepHedgingPolicy(nn.Module):
    """observation (…, d) → actions (…, a) in [−1, 1] (``targets`` maps them to positions, shares and contracts);
    a = the env's action size (``hedgegym.env.actions.action_size``: k, k + 1 for ``delta_band``, 2k for
    ``delta_vega_band``)."""

    def __init__(self, n_features: int, n_instruments: int, hidden: list[int], position_scale: FloatArray) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = n_features
        for size in hidden:
            layers += [nn.Linear(width, size), nn.ReLU()]
            width = size
        layers.append(nn.Linear(width, n_instruments))
        self.network = nn.Sequential(*layers)
        self.register_buffer("position_scale", torch.as_tensor(position_scale, dtype=torch.float32))

    def forward(self, observation: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.network(observation))

    def targets(self, observation: torch.Tensor, positions: torch.Tensor, greeks: ActionGreeks,
                mapping: ActionMapping) -> torch.Tensor:
        """Target positions (N, k) of the policy's actions (N, a), by the env's action ``mapping``; ``positions``
        (N, k) held before the trade, ``greeks`` the tensors the mapping reads."""
        return mapping.targets(self(observation), positions, greeks)


@dataclass
class TrainingHistory:
    risk: list[float] = field(default_factory=list)
    mean_pnl: list[float] = field(default_factory=list)
    std_pnl: list[float] = field(default_factory=list)


def agent_dtype(config: ExperimentConfig) -> torch.dtype:
    """``agent.dtype`` ("float32" or "float64") as the torch dtype deep hedging trains and loads its policy in."""
    return getattr(torch, config.agent.dtype)


def check_training_device(config: ExperimentConfig) -> None:
    """``ValueError`` naming ``agent.device`` when it is a CUDA device this machine lacks (no CUDA, or no such
    index); ``train`` calls it before it creates a run directory."""
    try:
        checked_device(config.agent.device)
    except ValueError as error:
        raise ValueError(f"agent.device: {error}") from None


def _risk(x: torch.Tensor, config: ExperimentConfig, threshold: torch.Tensor) -> torch.Tensor:
    """Risk of the scaled P&L x (N,) (see the module docstring). ``cvar``: the Rockafellar–Uryasev objective at the
    learned threshold w; its minimum over w is exactly ``hedgegym.evaluation.metrics.cvar(x, cvar_level)``."""
    agent = config.agent
    if agent.risk_measure == "entropic":
        lam = agent.risk_aversion
        return (torch.logsumexp(-lam * x, dim=0) - np.log(x.shape[0])) / lam
    if agent.risk_measure == "cvar":
        return threshold + torch.relu(-x - threshold).mean() / (1.0 - agent.cvar_level)
    return -x.mean() + agent.risk_aversion * x.std()


def _rollout(policy: DeepHedgingPolicy, core: HedgingCore) -> torch.Tensor:
    """Terminal wealth W_T (N,) of the paths loaded in ``core.engine``: the policy's targets go through
    ``engine.step`` (torch, differentiable); its observation is the env's (node features precomputed at reset, state
    features from ``engine.state``, clipped to ±CLIP)."""
    engine = core.engine
    names = core.feature_names
    policy_dtype = next(policy.parameters()).dtype
    node = torch.as_tensor(evaluate_node_features(names, engine, core.scales), dtype=policy_dtype,
                           device=engine.device)  # (T+1, d, N)
    mapping = core.action_mapping
    # what the action mapping reads at every node: (T+1, N) for the book, (T+1, N, k) for the instruments
    greeks = ActionGreeks.of(core.action, engine.book_path, engine.instrument_path).map(
        lambda field: torch.as_tensor(field, dtype=policy_dtype, device=engine.device))
    for i in range(engine.n_steps):
        rows = list(node[i].unbind(0))
        for j, values in state_features(names, engine.state, core.scales):
            rows[j] = values.to(policy_dtype)
        observation = torch.clamp(torch.stack(rows, dim=1), -CLIP, CLIP)  # (N, d)
        engine.step(policy.targets(observation, engine.state.positions.to(policy_dtype),
                                   greeks.map(lambda field, i=i: field[i]), mapping))
    return engine.state.wealth


def train_deep_hedger(config: ExperimentConfig, progress=None) -> tuple[DeepHedgingPolicy, TrainingHistory]:
    """Train the deep-hedging policy of ``config.agent`` (see the module docstring); seeded, CPU."""
    agent = config.agent
    torch.manual_seed(agent.seed)
    dtype = agent_dtype(config)
    core = HedgingCore(config, n_envs=agent.batch_paths, dtype=dtype, device=agent.device)
    engine = core.engine
    policy = DeepHedgingPolicy(len(core.feature_names), core.action_space.shape[0], list(agent.net_arch),
                               core.position_scale).to(dtype=dtype, device=engine.device)
    threshold = torch.zeros((), dtype=dtype, device=engine.device, requires_grad=agent.risk_measure == "cvar")
    parameters = [*policy.parameters(), *([threshold] if agent.risk_measure == "cvar" else [])]
    optimiser = torch.optim.Adam(parameters, lr=agent.learning_rate)
    rng = np.random.default_rng(np.random.SeedSequence(agent.seed).spawn(3)[2])  # stream 2: deep-hedging paths
    history = TrainingHistory()
    pool = None
    if agent.training_paths is not None:  # a fixed training set, valued once
        paths = core.model.simulate(agent.training_paths, engine.n_steps, engine.dt, rng, measure="real")
        pool_spot, pool_variance = np.ascontiguousarray(paths.spot.T), np.ascontiguousarray(paths.variance.T)
        del paths  # the time-major copies are kept, not both
        engine.reset(pool_spot, pool_variance)
        pool = engine.valuation_of_paths
    for iteration in range(agent.iterations):
        if pool is None:
            paths = core.model.simulate(agent.batch_paths, engine.n_steps, engine.dt, rng, measure="real")
            engine.reset(np.ascontiguousarray(paths.spot.T), np.ascontiguousarray(paths.variance.T))
        else:
            columns = np.sort(rng.choice(agent.training_paths, agent.batch_paths, replace=False))
            engine.reset(pool_spot[:, columns], pool_variance[:, columns], valued=take_paths(pool, columns))
        x = _rollout(policy, core) / core.scales.value
        loss = _risk(x, config, threshold)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        history.risk.append(float(loss.detach()))
        history.mean_pnl.append(float(x.detach().mean()))
        history.std_pnl.append(float(x.detach().std()))
        if progress is not None:
            progress(iteration, history.risk[-1])
    return policy, history


class DeepHedger(Hedger):
    """A trained ``DeepHedgingPolicy`` as a ``Hedger`` (for ``evaluate`` and ``compare``)."""

    name = "deep_hedging"

    def __init__(self, policy: DeepHedgingPolicy, config: ExperimentConfig) -> None:
        self.policy = policy.eval().cpu()  # evaluation runs on the CPU, in the policy's own dtype
        self.config = config
        names = configured_features(config.env.features, len(config.hedging.hedge_options))
        self._names: list[str] | None = None
        self._scales = None
        self._mapping: ActionMapping | None = None
        # the Greeks its observation and its action mapping read (evaluate values only these)
        self.required_greeks = greeks_read(names) | ACTION_GREEKS[config.env.action]

    @property
    def training_config(self) -> ExperimentConfig:
        """The config it was trained with (``evaluate`` checks that a config it acts in has its book and grid)."""
        return self.config

    def reset(self, engine: HedgingEngine) -> None:
        core = HedgingCore(self.config, n_envs=1)
        self._names, self._scales, self._mapping = core.feature_names, core.scales, core.action_mapping

    def targets(self, engine: HedgingEngine) -> FloatArray:
        if self._names is None:
            self.reset(engine)
        observation = evaluate_features(self._names, engine, self._scales)
        mapping = self._mapping
        with torch.no_grad():
            dtype = next(self.policy.parameters()).dtype
            greeks = ActionGreeks.of(mapping.action, engine.book_greeks, engine.instrument_greeks).map(
                lambda field: torch.as_tensor(field, dtype=dtype))
            positions = torch.as_tensor(engine.positions, dtype=dtype)
            return self.policy.targets(torch.as_tensor(observation, dtype=dtype), positions, greeks,
                                       mapping).double().numpy()
