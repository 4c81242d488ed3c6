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

``market.model`` picks the simulator (``gbm``, ``heston``, ``merton``, ``sabr``, ``regime_switching``); every
other key under ``market`` is a parameter of that model's dataclass in ``hedgegym.market`` (unknown keys are
refused with the list of allowed ones; values are range-checked by the model itself). ``simulation.n_steps``
is also the number of rebalancing dates of an episode.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Literal

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from hedgegym.costs import CompositeCost, CostModel, FixedCost, ProportionalCost, QuadraticImpact, SpreadCost
from hedgegym.instruments import Book, EuropeanOption, Position
from hedgegym.market import (
    SABR,
    GeometricBrownianMotion,
    Heston,
    MarketModel,
    MertonJumpDiffusion,
    RegimeSwitchingVolatility,
)

__all__ = [
    "ConfigError", "CostsConfig", "EnvConfig", "ExperimentConfig", "HedgingConfig", "MarketConfig", "PositionConfig",
    "SimulationConfig", "load_config",
]

MARKET_MODELS: dict[str, type[MarketModel]] = {
    "gbm": GeometricBrownianMotion,
    "heston": Heston,
    "merton": MertonJumpDiffusion,
    "sabr": SABR,
    "regime_switching": RegimeSwitchingVolatility,
}
_NOT_FROM_YAML = {"volatility_rule"}  # a Python callable: set it in code, not in a file


class ConfigError(ValueError):
    """A configuration file that cannot be read or does not validate; the message lists every bad field."""


class MarketConfig(BaseModel):
    """``model`` plus that model's parameters (see the dataclasses in ``hedgegym.market``)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    model: Literal["gbm", "heston", "merton", "sabr", "regime_switching"] = "gbm"

    def parameters(self) -> dict[str, object]:
        return dict(self.model_extra or {})

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
        if "levels" in parameters and isinstance(parameters["levels"], list):
            parameters["levels"] = tuple(parameters["levels"])
        try:
            return cls(**parameters)
        except (ValueError, TypeError) as error:
            raise ValueError(f"market ({self.model}): {error}") from error

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

    strike: float = Field(gt=0, description="strike, currency per unit")
    maturity: float = Field(gt=0, description="years from the start of the simulation")
    call: bool = Field(default=True, strict=True, description="true: call, false: put")
    quantity: float = Field(description="contracts held; negative for a short position")
    multiplier: float = Field(default=100.0, gt=0, description="units of underlying per contract")
    barrier: float | None = Field(default=None, gt=0, allow_inf_nan=False,
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

    strike: float = Field(gt=0)
    maturity: float = Field(gt=0, description="years; must be >= the book's maturity")
    call: bool = Field(default=True, strict=True)
    multiplier: float = Field(default=100.0, gt=0)

    def build(self) -> EuropeanOption:
        return EuropeanOption(self.strike, self.maturity, self.call, self.multiplier)


class PerInstrumentRate(BaseModel):
    """One cost parameter for the stock and for every listed hedge option."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    stock: float = Field(default=0.0, ge=0)
    options: float = Field(default=0.0, ge=0)

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


class HedgingConfig(BaseModel):
    """What the hedger may trade besides the stock, and whether hedges are sold at maturity."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    hedge_options: list[HedgeOptionConfig] = Field(default_factory=list)
    liquidate_at_maturity: bool = False


REWARDS = ("pnl", "mean_variance", "cvar", "entropic")
ACTIONS = ("absolute", "delta_relative")


class EnvConfig(BaseModel):
    """The Gymnasium face: observed features, reward, action mapping (see ``hedgegym.env``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    features: list[str] | None = Field(default=None, description="None: the default feature set")
    reward: Literal["pnl", "mean_variance", "cvar", "entropic"] = "mean_variance"
    risk_aversion: float = Field(default=1.0, gt=0, description="κ of mean–variance, λ of the entropic reward")
    cvar_level: float = Field(default=0.95, gt=0, lt=1)
    cvar_threshold: float = Field(default=0.0, description="w of the Rockafellar–Uryasev CVaR reward (scaled)")
    action: Literal["absolute", "delta_relative"] = "absolute"
    position_limit: float = Field(default=1.5, gt=0, description="|action| = 1 ↔ this many × the book notional")
    episodes_per_draw: int = Field(default=64, ge=1, le=100_000, description="paths simulated per generator call")

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

    n_paths: int = Field(default=100_000, ge=1, le=10_000_000)
    n_steps: int = Field(default=63, ge=1, le=100_000)
    seed: int = Field(default=0, ge=0)
    horizon: float | None = Field(default=None, gt=0, description="episode length in years; None: to maturity")


class EvaluationConfig(BaseModel):
    """The held-out comparison: how many test paths, their seed, the bootstrap size, Cao–Hull's c."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    n_paths: int = Field(default=10_000, ge=10, le=1_000_000)
    seed: int = Field(default=1234, ge=0, description="test paths: child stream 1 of SeedSequence(seed)")
    bootstrap: int = Field(default=500, ge=0, le=10_000)
    cao_hull_c: float = Field(default=1.5, ge=0)


class AgentConfig(BaseModel):
    """A learned hedger: SB3 PPO / SAC on the batched env, or the deep-hedging reference (``hedgegym.agents``).

    ``sb3_kwargs`` go to the SB3 constructor as they are (SB3 validates them); the named fields are the ones the
    project sets differently from SB3's defaults. Deep-hedging fields: ``risk_measure``, ``iterations``,
    ``batch_paths`` (paths per gradient step).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    algo: Literal["ppo", "sac", "deep_hedging"] = "ppo"
    seed: int = Field(default=0, ge=0)
    n_envs: int = Field(default=1024, ge=1, le=65_536)
    total_timesteps: int = Field(default=2_000_000, ge=1)
    learning_rate: float = Field(default=3e-4, gt=0)
    net_arch: list[int] = Field(default_factory=lambda: [64, 64], min_length=1)
    gamma: float = Field(default=1.0, gt=0, le=1, description="episodic hedging: undiscounted by default")
    batch_size: int = Field(default=4096, ge=1)
    n_epochs: int = Field(default=4, ge=1, description="PPO epochs per rollout")
    sb3_kwargs: dict = Field(default_factory=dict)
    risk_measure: Literal["entropic", "cvar", "mean_std"] = "mean_std"
    risk_aversion: float = Field(default=1.5, gt=0, description="mean_std c (Cao–Hull: 1.5) / entropic λ")
    cvar_level: float = Field(default=0.95, gt=0, lt=1)
    iterations: int = Field(default=500, ge=1)
    batch_paths: int = Field(default=4096, ge=16)


def _default_book() -> list[PositionConfig]:
    return [PositionConfig(strike=100.0, maturity=0.25, call=True, quantity=-10.0)]


class ExperimentConfig(BaseModel):
    """A whole experiment: the market, the option book, the simulation."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = "default"
    market: MarketConfig = Field(default_factory=MarketConfig)
    book: list[PositionConfig] = Field(default_factory=_default_book, min_length=1)
    simulation: SimulationConfig = Field(default_factory=SimulationConfig)
    hedging: HedgingConfig = Field(default_factory=HedgingConfig)
    costs: CostsConfig = Field(default_factory=CostsConfig)
    env: EnvConfig = Field(default_factory=EnvConfig)
    evaluation: EvaluationConfig = Field(default_factory=EvaluationConfig)
    agent: AgentConfig = Field(default_factory=AgentConfig)

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


def _format(error: ValidationError) -> str:
    lines = []
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"]) or "config"
        lines.append(f"  {where}: {item['msg']}")
    return "\n".join(lines)


def parse_config(data: object, source: str = "config") -> ExperimentConfig:
    """Validate a mapping (e.g. parsed YAML); ``ConfigError`` lists every bad field with its path."""
    try:
        return ExperimentConfig.model_validate(data if data is not None else {})
    except ValidationError as error:
        raise ConfigError(f"invalid configuration in {source}:\n{_format(error)}") from None


def load_config(path: str | Path) -> ExperimentConfig:
    """Read and validate a YAML experiment file."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        raise ConfigError(f"{path} is not valid YAML: {error}") from None
    return parse_config(data, str(path))
