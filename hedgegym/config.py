"""Experiment configuration: pydantic models loaded from YAML, with errors that name the offending field.

A configuration describes a market model, an option book, a simulation size and, for the environment, the
hedge instruments, the transaction costs and the env's features/reward/actions::

    name: gbm_call
    market: {model: gbm, spot: 100, volatility: 0.2, mu: 0.08, rate: 0.02}
    book:
      - {strike: 100, maturity: 0.25, call: true, quantity: -10}
    simulation: {n_paths: 100000, n_steps: 63, seed: 0}
    hedging: {hedge_options: [{strike: 105, maturity: 0.5}], liquidate_at_maturity: false}
    costs: {proportional: {stock: 0.01, options: 0.02}}
    env: {reward: mean_variance, risk_aversion: 1.0, action: absolute}

``market.model`` picks the simulator (``gbm``, ``heston``, ``merton``, ``sabr``, ``regime_switching``), the real
S&P 500 / NASDAQ history (``historical``) or a market fitted to it (``garch``, ``bootstrap``); every
other key under ``market`` is a parameter of that model's dataclass in ``hedgegym.market`` (unknown keys are
refused with the list of allowed ones; values are range-checked by the model itself). ``simulation.n_steps``
is also the number of rebalancing dates of an episode.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import numpy as np
import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from hedgegym import _validation as check
from hedgegym.costs import CompositeCost, CostModel, FixedCost, ProportionalCost, QuadraticImpact, SpreadCost
from hedgegym.instruments import Book, EuropeanOption, Position
from hedgegym.market import (
    SABR,
    BootstrapMarket,
    DataMarket,
    GarchMarket,
    GeometricBrownianMotion,
    Heston,
    HistoricalMarket,
    MarketModel,
    MertonJumpDiffusion,
    RegimeSwitchingVolatility,
)

if TYPE_CHECKING:
    from hedgegym.risk.limits import Limits

__all__ = [
    "DATA_MARKETS", "MAX_EVALUATION_NODES", "MAX_SIMULATION_NODES", "REQUIRED_SECTIONS", "ConfigError", "CostsConfig",
    "EnvConfig",
    "ExperimentConfig", "FiniteFloat", "GreekLimitConfig", "HedgingConfig", "Int", "LimitsConfig", "MarketConfig",
    "PositionConfig", "SimulationConfig", "UncertainVolatilityConfig",
    "apply_overrides", "check_evaluation_size", "load_config", "parse_config",
]

MARKET_MODELS: dict[str, type[MarketModel]] = {
    "gbm": GeometricBrownianMotion,
    "heston": Heston,
    "merton": MertonJumpDiffusion,
    "sabr": SABR,
    "regime_switching": RegimeSwitchingVolatility,
    "historical": HistoricalMarket,
    "garch": GarchMarket,
    "bootstrap": BootstrapMarket,
}
DATA_MARKETS = tuple(name for name, cls in MARKET_MODELS.items() if issubclass(cls, DataMarket))
"""The markets built from real data (``hedgegym.market.series``): one step is one trading day."""
_NOT_FROM_YAML = {"volatility_rule"}  # a Python callable: set it in code, not in a file


class ConfigError(ValueError):
    """A configuration file that cannot be read or does not validate; the message lists every bad field."""


def _not_a_bool(value: object) -> object:
    """YAML's ``true``/``false`` are not numbers: ``spot: true`` must not become a spot of 1.0; NaN is refused here,
    before a range check could report it as out of range."""
    if isinstance(value, bool | np.bool_):
        raise ValueError(f"must be a number, not a boolean (got {value!r})")
    if isinstance(value, float | np.floating) and np.isnan(value):
        raise ValueError("must be a finite number, got NaN")
    return value


FiniteFloat = Annotated[float, BeforeValidator(_not_a_bool), Field(allow_inf_nan=False)]
"""A finite real number: ints and numeric text are read as floats; NaN, ±inf and booleans are refused."""
Int = Annotated[int, BeforeValidator(_not_a_bool)]
"""An integer (booleans refused)."""

MAX_EVALUATION_NODES = 2**23
"""Largest ``n_paths × (n_steps + 1)`` of one held-out evaluation. ``evaluate`` keeps 13 float64 series per
node while stepping one hedger (peak near 200 bytes per node); ``compare`` then keeps only per-path rows and one
sample path per hedger (``Evaluation.sampled``). Measured peak RSS of ``compare`` at this bound: 2.2 GB
(gbm_call, 131,072 paths × 63 steps, 4 hedgers, 8 s) and 2.5 GB (atm_call_cost_20d_daily, 399,457 paths × 20
steps, 7 hedgers, 9 s)."""
MAX_SIMULATION_NODES = 2**26
"""Largest ``simulation.n_paths × (n_steps + 1)`` (``hedgegym check``): spot and variance paths in float64 plus
the model's work arrays, about 40 bytes per node, ≈ 2.7 GB at this bound (1M paths at 63 steps)."""
REQUIRED_SECTIONS = ("market", "book")
"""Sections a configuration file must spell out: a missing one would silently run the built-in default."""
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}")


def check_evaluation_size(n_paths: int, n_steps: int, field: str = "evaluation.n_paths", minimum: int = 1) -> int:
    """``n_paths`` if ``minimum ≤ n_paths`` and ``n_paths × (n_steps + 1) ≤ MAX_EVALUATION_NODES``; else
    ``ValueError`` naming ``field``."""
    n_paths = check.positive_int(field, n_paths)
    if n_paths < minimum:
        raise ValueError(f"{field} must be >= {minimum} (metrics over paths need a sample), got {n_paths}")
    limit = MAX_EVALUATION_NODES // (n_steps + 1)
    if n_paths > limit:
        raise ValueError(
            f"{field} must be <= {limit:,} with {n_steps} steps (n_paths × (n_steps + 1) <= {MAX_EVALUATION_NODES:,}: "
            f"an evaluation needs about 200 bytes per path and step), got {n_paths:,}"
        )
    return int(n_paths)


class MarketConfig(BaseModel):
    """``model`` plus that model's parameters (see the dataclasses in ``hedgegym.market``)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    model: Literal["gbm", "heston", "merton", "sabr", "regime_switching", "historical", "garch", "bootstrap"] = "gbm"

    def parameters(self) -> dict[str, object]:
        return dict(self.model_extra or {})

    def resolved_parameters(self) -> dict[str, object]:
        """Every parameter of the model, the defaults filled in (``{"volatility": 0.2}`` and ``{"volatility": 0.2,
        "dividend": 0.0}`` describe the same GBM market); JSON-like values (tuples as lists)."""
        cls = MARKET_MODELS[self.model]
        defaults = {f.name: f.default for f in dataclasses.fields(cls) if f.init and f.name not in _NOT_FROM_YAML
                    and f.default is not dataclasses.MISSING}
        resolved = {**defaults, **self.parameters()}
        return {name: list(value) if isinstance(value, tuple) else value for name, value in resolved.items()}

    def build(self) -> MarketModel:
        """The market model; ``ValueError`` naming ``market.<field>`` for unknown or out-of-range parameters."""
        cls = MARKET_MODELS[self.model]
        allowed = sorted(f.name for f in dataclasses.fields(cls) if f.init and f.name not in _NOT_FROM_YAML)
        parameters = self.parameters()
        unknown = sorted(set(parameters) - set(allowed))
        if unknown:
            raise ValueError(
                f"market.{unknown[0]} is not a parameter of the '{self.model}' model; allowed: {', '.join(allowed)}"
            )
        for name in ("levels", "train", "validation", "test"):  # YAML lists → the models' tuples
            if isinstance(parameters.get(name), list):
                parameters[name] = tuple(parameters[name])
        try:
            return cls(**parameters)
        except (ValueError, TypeError) as error:
            message = str(error)
            if message.split(" ", 1)[0] in allowed:
                raise ValueError(f"market.{message} ({self.model} model)") from error
            raise ValueError(f"market ({self.model}): {message}") from error

    @model_validator(mode="after")
    def _parameters_are_valid(self) -> MarketConfig:
        self.build()
        return self


class PositionConfig(BaseModel):
    """One option position: ``quantity`` contracts (negative = short) of a European option.

    ``barrier`` B makes it a down-and-out call (zero rebate), knocked out at the first simulation node where the
    spot is ≤ B: calls only, B below ``market.spot``, market ``gbm`` or ``regime_switching`` (checked by
    ``ExperimentConfig``); B ≥ strike is allowed.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    strike: FiniteFloat = Field(gt=0, description="strike, currency per unit")
    maturity: FiniteFloat = Field(gt=0, description="years from the start of the simulation")
    call: bool = Field(default=True, strict=True, description="true: call, false: put")
    quantity: FiniteFloat = Field(description="contracts held; negative for a short position")
    multiplier: FiniteFloat = Field(default=100.0, gt=0, description="units of underlying per contract")
    barrier: FiniteFloat | None = Field(default=None, gt=0,
                                  description="down-and-out barrier, currency per unit; null: vanilla")

    @field_validator("quantity")
    @classmethod
    def _nonzero(cls, value: float) -> float:
        if value == 0 or not np.isfinite(value):
            raise ValueError("quantity must be a non-zero finite number of contracts")
        return value

    @model_validator(mode="after")
    def _barrier_on_calls_only(self) -> PositionConfig:
        if self.barrier is not None and not self.call:
            raise ValueError(f"barrier: only down-and-out calls are supported, got a put with barrier {self.barrier}")
        return self

    def build(self) -> Position:
        option = EuropeanOption(self.strike, self.maturity, self.call, self.multiplier, barrier=self.barrier)
        return Position(option, self.quantity)


class HedgeOptionConfig(BaseModel):
    """A listed option available as a hedge instrument (traded per contract)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    strike: FiniteFloat = Field(gt=0)
    maturity: FiniteFloat = Field(gt=0, description="years; must be >= the book's maturity")
    call: bool = Field(default=True, strict=True)
    multiplier: FiniteFloat = Field(default=100.0, gt=0)

    def build(self) -> EuropeanOption:
        return EuropeanOption(self.strike, self.maturity, self.call, self.multiplier)


class PerInstrumentRate(BaseModel):
    """One cost parameter for the stock and for every listed hedge option."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    stock: FiniteFloat = Field(default=0.0, ge=0)
    options: FiniteFloat = Field(default=0.0, ge=0)

    def per_instrument(self, n_options: int) -> tuple[float, ...]:
        return (self.stock, *([self.options] * n_options))


class CostsConfig(BaseModel):
    """Transaction costs (all default to 0): see ``hedgegym.costs`` for the formulas and units."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    proportional: PerInstrumentRate = Field(default_factory=PerInstrumentRate, description="fraction of notional")
    fixed: PerInstrumentRate = Field(default_factory=PerInstrumentRate, description="currency per trade")
    quadratic_impact: PerInstrumentRate = Field(default_factory=PerInstrumentRate, description="per unit traded")
    half_spread: PerInstrumentRate = Field(default_factory=PerInstrumentRate, description="currency per unit")

    def build(self, n_options: int) -> CostModel | None:
        parts: list[CostModel] = []
        for field, cls in (("proportional", ProportionalCost), ("fixed", FixedCost),
                           ("quadratic_impact", QuadraticImpact), ("half_spread", SpreadCost)):
            rates = getattr(self, field).per_instrument(n_options)
            if any(rates):
                parts.append(cls(rates))
        return CompositeCost(*parts) if parts else None


class RebalancingConfig(BaseModel):
    """Threshold and event rebalancing of the daily delta and Greek-neutral hedgers
    (``hedgegym.baselines.ThresholdRebalancing``): ``compare`` adds a ``<hedger>_threshold`` variant of each, with
    the bands on the Greeks that hedger neutralises (none where that leaves it no rule at all).

    ``bands``: Greek → band (delta, gamma, vega, theta; > 0), absolute in the engine's units or, with ``relative``,
    a fraction of the book's own |Greek|; ``spot_move``: a move since the path's last trade that triggers one (0.02:
    2%); ``every``: steps between each instrument's trades, one for all or one per instrument (stock first)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    bands: dict[str, FiniteFloat] = Field(default_factory=dict)
    relative: bool = Field(default=False, strict=True)
    spot_move: FiniteFloat | None = Field(default=None, gt=0)
    every: Int | list[Int] | None = None

    @model_validator(mode="after")
    def _rules_are_valid(self) -> RebalancingConfig:
        from hedgegym.baselines import DeltaHedger, ThresholdRebalancing

        ThresholdRebalancing(DeltaHedger(), self.bands, self.relative, self.spot_move, self.every)
        return self


class UncertainVolatilityConfig(BaseModel):
    """The volatility band of the robust hedgers (``hedgegym.baselines.uncertain_volatility``): with it, ``compare``
    adds the uncertain-volatility delta hedger and, with a listed option, the robust delta–gamma hedger, which values
    that option by Black–Scholes at ``hedge_volatility`` (default: the market's reference volatility)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    volatility_min: FiniteFloat = Field(ge=0, description="lower end of the band, annualised")
    volatility_max: FiniteFloat = Field(gt=0, description="upper end of the band, annualised")
    hedge_volatility: FiniteFloat | None = Field(default=None, gt=0, description="the listed option's BS volatility")

    @model_validator(mode="after")
    def _ordered(self) -> UncertainVolatilityConfig:
        if self.volatility_max < self.volatility_min:
            raise ValueError(f"volatility_max must be >= volatility_min ({self.volatility_min}), got "
                             f"{self.volatility_max}")
        return self


class HedgingConfig(BaseModel):
    """What the hedger may trade besides the stock, whether hedges are sold at maturity, the Greek solver's
    limits (``hedgegym.baselines.greek_solver``: beyond them the delta–gamma(–vega) hedgers drop the last Greek),
    and optional threshold rebalancing rules (``rebalancing``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    hedge_options: list[HedgeOptionConfig] = Field(default_factory=list)
    liquidate_at_maturity: bool = Field(default=False, strict=True)
    max_condition: FiniteFloat = Field(default=1e3, ge=1, description="largest scaled condition number accepted")
    position_limit: FiniteFloat = Field(
        default=10.0, gt=0, description="largest listed-option position, in multiples of the book's size")
    rebalancing: RebalancingConfig | None = None
    uncertain_volatility: UncertainVolatilityConfig | None = None

    @model_validator(mode="after")
    def _one_interval_per_instrument(self) -> HedgingConfig:
        every = None if self.rebalancing is None else self.rebalancing.every
        if isinstance(every, list) and len(every) not in (1, len(self.hedge_options) + 1):
            raise ValueError(f"rebalancing.every must give one interval for all instruments or one per instrument "
                             f"({len(self.hedge_options) + 1}: the stock and {len(self.hedge_options)} listed "
                             f"option(s)), got {len(every)}")
        return self


class GreekLimitConfig(BaseModel):
    """A limit on one net Greek (``hedgegym.risk.limits.GreekLimit``): the tightest of ``absolute`` (desk units:
    Δ shares, Γ shares per unit of spot, vega currency per vol point, Θ currency per trading day),
    ``capital_fraction`` (of ``limits.capital``) and ``relative`` (of the unhedged book's own |Greek|); at least one.
    ``alert``: the alert level as a fraction of the limit."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    absolute: FiniteFloat | None = Field(default=None, gt=0)
    capital_fraction: FiniteFloat | None = Field(default=None, gt=0)
    relative: FiniteFloat | None = Field(default=None, gt=0)
    alert: FiniteFloat = Field(default=0.8, gt=0, le=1)

    @model_validator(mode="after")
    def _sets_a_bound(self) -> GreekLimitConfig:
        if self.absolute is None and self.capital_fraction is None and self.relative is None:
            raise ValueError("a Greek limit needs at least one of absolute, capital_fraction, relative")
        return self


class LimitsConfig(BaseModel):
    """Risk limits (``hedgegym.risk.limits``): evaluations report breaches and time in breach per hedger, the env
    reports breaches in ``info`` and subtracts ``penalty`` per Greek limit breached per step from the reward."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    delta: GreekLimitConfig | None = None
    gamma: GreekLimitConfig | None = None
    vega: GreekLimitConfig | None = None
    theta: GreekLimitConfig | None = None
    capital: FiniteFloat | None = Field(default=None, gt=0, description="currency: the scale of capital_fraction")
    var_95: FiniteFloat | None = Field(default=None, gt=0, description="limit on the 95% VaR of the loss, currency")
    cvar_95: FiniteFloat | None = Field(default=None, gt=0, description="limit on the 95% CVaR of the loss, currency")
    max_drawdown: FiniteFloat | None = Field(default=None, gt=0, description="limit on a path's drawdown, currency")
    penalty: FiniteFloat = Field(default=0.0, ge=0, description="env reward penalty per Greek limit breached per step")

    @model_validator(mode="after")
    def _capital_for_fractions(self) -> LimitsConfig:
        for greek in ("delta", "gamma", "vega", "theta"):
            limit = getattr(self, greek)
            if limit is not None and limit.capital_fraction is not None and self.capital is None:
                raise ValueError(f"{greek}.capital_fraction needs limits.capital (currency)")
        greek_limits = [name for name in ("delta", "gamma", "vega", "theta") if getattr(self, name) is not None]
        if self.penalty > 0 and not greek_limits:
            raise ValueError("penalty needs at least one Greek limit (delta, gamma, vega, theta): the env penalises "
                             "the Greek limits a step breaches")
        if not any(getattr(self, name) is not None for name in ("delta", "gamma", "vega", "theta", "var_95",
                                                                "cvar_95", "max_drawdown")):
            raise ValueError("limits must set at least one limit (delta, gamma, vega, theta, var_95, cvar_95, "
                             "max_drawdown)")
        return self

    def build(self) -> Limits:
        """The ``hedgegym.risk.limits.Limits`` these fields describe."""
        from hedgegym.risk.limits import GreekLimit, Limits

        greeks = {greek: GreekLimit(**limit.model_dump()) for greek in ("delta", "gamma", "vega", "theta")
                  if (limit := getattr(self, greek)) is not None}
        return Limits(greeks, self.capital, self.var_95, self.cvar_95, self.max_drawdown, self.penalty)


REWARDS = ("pnl", "mean_variance", "cvar", "entropic", "terminal_mean_variance")
ACTIONS = ("absolute", "delta_relative", "delta_band", "delta_vega_band")


class EnvConfig(BaseModel):
    """The Gymnasium face: observed features, reward, action mapping (see ``hedgegym.env``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    features: list[str] | None = Field(default=None, description="None: the default feature set")
    reward: Literal["pnl", "mean_variance", "cvar", "entropic", "terminal_mean_variance"] = "mean_variance"
    risk_aversion: FiniteFloat = Field(default=1.0, gt=0, description="κ of (terminal) mean–variance, λ of entropic")
    cvar_level: FiniteFloat = Field(default=0.95, gt=0, lt=1)
    cvar_threshold: FiniteFloat = Field(default=0.0, description="w of the Rockafellar–Uryasev CVaR reward (scaled)")
    action: Literal["absolute", "delta_relative", "delta_band", "delta_vega_band"] = "absolute"
    position_limit: FiniteFloat = Field(default=1.5, gt=0, description="|action| = 1 ↔ this many × the book notional")
    option_limit: FiniteFloat | None = Field(
        default=None, gt=0, description="the hedge options' action scale, × the book's contracts; None: position_limit")
    episodes_per_draw: Int = Field(default=64, ge=1, le=100_000, description="paths simulated per generator call")

    @field_validator("features")
    @classmethod
    def _known_features(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return value
        from hedgegym.env.features import is_known_feature, known_features

        unknown = [name for name in value if not is_known_feature(name)]
        if unknown:
            raise ValueError(f"unknown feature {unknown[0]!r}; allowed: {', '.join(known_features())}")
        if not value:
            raise ValueError("features must name at least one feature (or be omitted for the default set)")
        return value


class SimulationConfig(BaseModel):
    """How many paths and steps to simulate to the book's maturity (or a shorter ``horizon``), and the seed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    n_paths: Int = Field(default=100_000, ge=1, le=10_000_000)
    n_steps: Int = Field(default=63, ge=1, le=100_000)
    seed: Int = Field(default=0, ge=0)
    horizon: FiniteFloat | None = Field(default=None, gt=0, description="episode length in years; None: to maturity")


class EvaluationConfig(BaseModel):
    """The held-out comparison: how many test paths, their seed, the bootstrap size, Cao–Hull's c."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    n_paths: Int = Field(default=10_000, ge=10, le=1_000_000)
    seed: Int = Field(default=1234, ge=0, description="test paths: child stream 1 of SeedSequence(seed)")
    bootstrap: Int = Field(default=500, ge=0, le=10_000)
    cao_hull_c: FiniteFloat = Field(default=1.5, ge=0)


class AgentConfig(BaseModel):
    """A learned hedger: SB3 PPO / SAC / TQC (sb3-contrib's SAC with truncated quantile critics) on the batched env,
    or the deep-hedging reference (``hedgegym.agents``).

    ``sb3_kwargs`` go to the SB3 constructor as they are (SB3 validates them); the named fields are the ones the
    project sets differently from SB3's defaults. Deep-hedging fields: ``risk_measure``, ``iterations``,
    ``batch_paths`` (paths per gradient step), ``training_paths`` (a fixed training set valued once, as Buehler et al.
    2019 train on a fixed sample: for models whose valuation dominates, e.g. Heston), ``dtype`` and ``device``
    (where the engine's step and the policy run while training; a CUDA device must be available, else training
    refuses it).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    algo: Literal["ppo", "sac", "tqc", "deep_hedging"] = "ppo"
    seed: Int = Field(default=0, ge=0)
    n_envs: Int = Field(default=1024, ge=1, le=65_536)
    total_timesteps: Int = Field(default=2_000_000, ge=1)
    learning_rate: FiniteFloat = Field(default=3e-4, gt=0)
    net_arch: list[Annotated[Int, Field(ge=1)]] = Field(default_factory=lambda: [64, 64], min_length=1)
    gamma: FiniteFloat = Field(default=1.0, gt=0, le=1, description="episodic hedging: undiscounted by default")
    batch_size: Int = Field(default=4096, ge=1)
    n_epochs: Int = Field(default=4, ge=1, description="PPO epochs per rollout")
    sb3_kwargs: dict = Field(default_factory=dict)
    risk_measure: Literal["entropic", "cvar", "mean_std"] = "mean_std"
    risk_aversion: FiniteFloat = Field(default=1.5, gt=0, description="mean_std c (Cao–Hull: 1.5) / entropic λ")
    cvar_level: FiniteFloat = Field(default=0.95, gt=0, lt=1)
    iterations: Int = Field(default=500, ge=1)
    batch_paths: Int = Field(default=4096, ge=16)
    training_paths: Int | None = Field(
        default=None, ge=16, le=10_000_000,
        description="deep hedging: train on a fixed set of this many paths, simulated and valued once, each "
                    "iteration drawing batch_paths of them without replacement (None: fresh paths every iteration)")
    dtype: Literal["float32", "float64"] = Field(
        default="float32", description="deep hedging: precision of the engine's step and the policy during training")
    device: str = Field(default="cpu", pattern=r"^(cpu|cuda(:[0-9]+)?)$",
                        description="deep hedging: 'cpu', 'cuda' or 'cuda:N' (the engine's step and the policy)")
    final_policy: Literal["last", "best_validation"] = Field(
        default="last", description="PPO/SAC/TQC: the policy a run evaluates and load_agent returns: the last one, or "
                                    "the one with the lowest Y at the validation points (best_model.zip)")

    @model_validator(mode="after")
    def _training_set_holds_a_batch(self) -> AgentConfig:
        if self.training_paths is not None and self.training_paths < self.batch_paths:
            raise ValueError(f"agent.training_paths must be >= agent.batch_paths ({self.batch_paths}) or null, got "
                             f"{self.training_paths}")
        if self.final_policy == "best_validation" and self.algo == "deep_hedging":
            raise ValueError("agent.final_policy best_validation applies to ppo, sac and tqc (deep hedging logs no "
                             "validation points); use last")
        return self


def _default_book() -> list[PositionConfig]:
    return [PositionConfig(strike=100.0, maturity=0.25, call=True, quantity=-10.0)]


class ExperimentConfig(BaseModel):
    """A whole experiment: the market, the option book, the simulation.

    Cross-field checks run here, at load time, so ``check``, ``compare`` and the envs refuse the same configs
    before any work: the hedging engine's own set-up checks (every maturity inside the episode on the time grid,
    hedge options expiring no earlier than the book's last maturity, barrier books on a market with a barrier
    pricer: ``HedgingEngine`` is built once, without simulating), the horizon within the book's maturity, and sizes
    that fit in memory (``MAX_SIMULATION_NODES``; ``MAX_EVALUATION_NODES`` is checked by ``compare`` and
    ``evaluate``, which use it). ``name`` names the results directory, so it is one safe path component.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(default="default", description="1-100 letters, digits, '_', '-', '.'; first a letter or digit")
    market: MarketConfig = Field(default_factory=MarketConfig)
    book: list[PositionConfig] = Field(default_factory=_default_book, min_length=1)
    simulation: SimulationConfig = Field(default_factory=SimulationConfig)
    hedging: HedgingConfig = Field(default_factory=HedgingConfig)
    costs: CostsConfig = Field(default_factory=CostsConfig)
    env: EnvConfig = Field(default_factory=EnvConfig)
    evaluation: EvaluationConfig = Field(default_factory=EvaluationConfig)
    agent: AgentConfig = Field(default_factory=AgentConfig)
    limits: LimitsConfig | None = None

    def build_limits(self) -> Limits | None:
        """The risk limits (``limits:``), or ``None`` when the config sets none."""
        return None if self.limits is None else self.limits.build()

    def build_book(self) -> Book:
        return Book(tuple(position.build() for position in self.book))

    @property
    def horizon(self) -> float:
        """Episode length in years: ``simulation.horizon`` or the book's maturity."""
        maturity = max(position.maturity for position in self.book)
        return maturity if self.simulation.horizon is None else self.simulation.horizon

    @model_validator(mode="after")
    def _barriers_are_priceable(self) -> ExperimentConfig:
        if all(position.barrier is None for position in self.book):
            return self
        spot = self.market.build().spot
        for index, position in enumerate(self.book):
            if position.barrier is None:
                continue
            if self.market.model not in ("gbm", "regime_switching"):
                raise ValueError(f"book.{index}.barrier: barrier options need the gbm or regime_switching market, "
                                 f"got {self.market.model}")
            if position.barrier >= spot:
                raise ValueError(f"book.{index}.barrier must be below market.spot {spot} (else the option is "
                                 f"knocked out at inception), got {position.barrier}")
        return self

    @field_validator("name")
    @classmethod
    def _safe_name(cls, value: str) -> str:
        if not _NAME.fullmatch(value):
            raise ValueError(
                "name must be one path component of 1-100 letters, digits, '_', '-' or '.', starting with a letter "
                f"or digit (it names the results directory), got {value!r}"
            )
        return value

    @model_validator(mode="after")
    def _engine_accepts_the_setup(self) -> ExperimentConfig:
        """The engine's own set-up checks, run here once, and the model's pricer on the book and hedge options at
        t = 0 (one node, nothing simulated): a set-up the pricer refuses at inception is refused at load."""
        from hedgegym.engine import HedgingEngine
        from hedgegym.risk.stress import initial_variance

        try:
            model = self.market.build()
            engine = HedgingEngine(model, self.build_book(), self.simulation.n_steps,
                                   hedge_options=self.build_hedge_options(), costs=self.build_costs(),
                                   liquidate_at_maturity=self.hedging.liquidate_at_maturity,
                                   horizon=self.simulation.horizon)
            book, instruments = engine.value_at_inception(initial_variance(model))
        except ArithmeticError as error:
            raise ValueError(f"market: valuing the book at t = 0 overflowed ({error}); a market parameter is too "
                             f"large for float64 ({self.market.model} model: {self.market.parameters()})") from None
        except ValueError as error:
            message = str(error)
            if message.startswith("hedge_options"):
                message = f"hedging.{message}"
            elif message.startswith("horizon"):
                message = f"simulation.{message}"
            message = re.sub(r"^book: positions\[(\d+)\]\.option\.|^book: positions\[(\d+)\]",
                             lambda match: f"book.{match.group(1) or match.group(2)}" + (
                                 "." if match.group(1) else ""), message)  # the config's own path: book.0
            raise ValueError(message) from None
        if not all(np.all(np.isfinite(field)) for field in (*book, *instruments)):
            raise ValueError("the book's or a hedge option's value or Greeks at t = 0 are not finite (overflow): "
                             "check the sizes of book quantities, multipliers and market parameters")
        return self

    @model_validator(mode="after")
    def _sizes_fit_in_memory(self) -> ExperimentConfig:
        # the evaluation size is checked where an evaluation runs (compare, evaluate): a long simulation with the
        # default evaluation.n_paths must still load for check, stress and dashboard
        n_steps = self.simulation.n_steps
        limit = MAX_SIMULATION_NODES // (n_steps + 1)
        if self.simulation.n_paths > limit:
            raise ValueError(
                f"simulation.n_paths must be <= {limit:,} with {n_steps} steps (n_paths × (n_steps + 1) <= "
                f"{MAX_SIMULATION_NODES:,}: about 40 bytes per path and step), got {self.simulation.n_paths:,}"
            )
        return self

    @model_validator(mode="after")
    def _action_fits_the_instruments(self) -> ExperimentConfig:
        n_options = len(self.hedging.hedge_options)
        if self.env.action == "delta_vega_band" and n_options != 1:
            raise ValueError("env.action delta_vega_band needs exactly one hedge option (hedging.hedge_options), "
                             f"got {n_options}")
        if self.env.option_limit is not None and n_options == 0:
            raise ValueError("env.option_limit scales the hedge options' actions; the config has no hedge option "
                             "(hedging.hedge_options): remove it")
        return self

    @model_validator(mode="after")
    def _terminal_reward_is_undiscounted(self) -> ExperimentConfig:
        if self.env.reward == "terminal_mean_variance" and self.agent.gamma != 1:
            raise ValueError("env.reward terminal_mean_variance telescopes to the terminal objective only with "
                             f"agent.gamma 1, got {self.agent.gamma}")
        return self

    @model_validator(mode="after")
    def _data_markets_on_trading_days(self) -> ExperimentConfig:
        if self.market.model not in DATA_MARKETS:
            return self
        from hedgegym.market.series import TRADING_DAYS_PER_YEAR

        days = self.horizon * TRADING_DAYS_PER_YEAR
        if not np.isclose(days, self.simulation.n_steps, rtol=1e-9, atol=1e-9):
            raise ValueError(f"simulation.n_steps must be {TRADING_DAYS_PER_YEAR} × the horizon in years (one step "
                             f"per trading day of the {self.market.model} market): {days:.6g} for a horizon of "
                             f"{self.horizon:g} years, got {self.simulation.n_steps}")
        model = self.market.build()
        if isinstance(model, HistoricalMarket):  # each period must hold a window: found now, not mid-training
            for period in ("train", "validation", "test"):
                try:
                    model.for_purpose(period).window_starts(self.simulation.n_steps)
                except ValueError as error:
                    raise ValueError(f"market.{error}") from None
        return self

    @model_validator(mode="after")
    def _horizon_within_maturity(self) -> ExperimentConfig:
        maturity = max(position.maturity for position in self.book)
        if self.simulation.horizon is not None and self.simulation.horizon > maturity:
            raise ValueError(f"simulation.horizon must be <= the book's maturity {maturity}, got "
                             f"{self.simulation.horizon}")
        return self

    def build_hedge_options(self) -> tuple[EuropeanOption, ...]:
        return tuple(option.build() for option in self.hedging.hedge_options)

    def build_costs(self) -> CostModel | None:
        return self.costs.build(len(self.hedging.hedge_options))

    def save(self, path: str | Path) -> None:
        """Write the resolved configuration as YAML (refuses to overwrite an existing file)."""
        path = Path(path)
        if path.exists():
            raise FileExistsError(f"{path} exists: hedgegym never overwrites a saved configuration")
        path.write_text(yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False))


def format_validation_error(error: ValidationError) -> str:
    """pydantic's errors as one indented line per bad field, ``  <dotted path>: <message>``."""
    lines = []
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"])
        message = item["msg"].removeprefix("Value error, ")
        lines.append(f"  {where}: {message}" if where and not message.startswith(where) else f"  {message}")
    return "\n".join(lines)


def parse_config(data: object, source: str = "config", required: tuple[str, ...] = ()) -> ExperimentConfig:
    """Validate a mapping (e.g. parsed YAML); ``ConfigError`` lists every bad field with its path.

    ``required``: top-level sections that must be present (``load_config`` requires ``REQUIRED_SECTIONS``);
    others take their defaults. ``None`` is an empty mapping.
    """
    data = {} if data is None else data
    if not isinstance(data, Mapping):
        raise ConfigError(f"invalid configuration in {source}: expected a mapping of sections (market:, book:, ...), "
                          f"got a {type(data).__name__}")
    missing = [section for section in required if section not in data]
    if missing:
        raise ConfigError(f"invalid configuration in {source}: missing section(s) {', '.join(missing)}; a config "
                          f"file must spell out {' and '.join(required)} (no silent built-in default)")
    try:
        return ExperimentConfig.model_validate(data)
    except ValidationError as error:
        raise ConfigError(f"invalid configuration in {source}:\n{format_validation_error(error)}") from None


def read_yaml(path: str | Path, error: type[ValueError] = ConfigError, what: str = "config file") -> object:
    """The parsed content of the YAML file ``path`` (None when empty); ``error`` ("<what> not found: …",
    "… is not valid YAML: …") when it is missing, unreadable as text or not YAML."""
    path = Path(path)
    if not path.is_file():
        raise error(f"{what} not found: {path}")
    try:
        return yaml.safe_load(path.read_text())
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise error(f"{path} is not valid YAML: {exc}") from None


def load_config(path: str | Path, required: tuple[str, ...] = REQUIRED_SECTIONS) -> ExperimentConfig:
    """Read and validate a YAML experiment file; ``ConfigError`` if it is missing, empty, not YAML, lacks a section
    of ``required`` (default ``REQUIRED_SECTIONS``; training also requires ``agent``) or has a bad field (named in
    the message)."""
    path = Path(path)
    data = read_yaml(path)
    if data is None:
        raise ConfigError(f"{path} is empty: a config file needs at least the sections {', '.join(required)}")
    return parse_config(data, str(path), required=required)


def apply_overrides(
    config: ExperimentConfig, overrides: Mapping[str, Any], source: str = "overrides"
) -> ExperimentConfig:
    """A new config with dotted-path ``overrides`` (``{"evaluation.n_paths": 3, "book.0.strike": 105}``) applied
    and the whole config validated again (field types, ranges and every cross-field check).

    Raises ``ConfigError`` naming the field: an unknown section or field, a bad value, a path through a
    non-section. ``None`` values are skipped (an option the user did not give). Used by the CLI flags
    (``--paths``, ``--seed``, ...) and by the scripts' overrides.
    """
    data = config.model_dump()
    for key, value in overrides.items():
        if value is None:
            continue
        parts = key.split(".")
        node: Any = data
        for depth, part in enumerate(parts[:-1]):
            node = _child(node, part, ".".join(parts[: depth + 1]), source)
        last = parts[-1]
        if isinstance(node, list):
            _child(node, last, key, source)
            node[int(last)] = value
        elif isinstance(node, dict):
            node[last] = value
        else:
            raise ConfigError(f"invalid configuration in {source}: {key}: {'.'.join(parts[:-1])} is not a section")
    return parse_config(data, source)


def _child(node: Any, part: str, where: str, source: str) -> Any:
    if isinstance(node, dict):
        if part not in node:
            raise ConfigError(f"invalid configuration in {source}: {where} is not a section or field; allowed: "
                              f"{', '.join(node)}")
        return node[part]
    if isinstance(node, list):
        if not part.isdigit() or int(part) >= len(node):
            raise ConfigError(f"invalid configuration in {source}: {where}: index must be 0..{len(node) - 1}")
        return node[int(part)]
    raise ConfigError(f"invalid configuration in {source}: {where}: not a section")
