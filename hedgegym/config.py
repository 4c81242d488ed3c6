"""Experiment configuration: pydantic models loaded from YAML, with errors that name the offending field.

A configuration describes a market model, an option book and a simulation size::

    name: gbm_call
    market: {model: gbm, spot: 100, volatility: 0.2, mu: 0.08, rate: 0.02}
    book:
      - {strike: 100, maturity: 0.25, call: true, quantity: -10}
    simulation: {n_paths: 100000, n_steps: 63, seed: 0}

``market.model`` picks the simulator (``gbm``, ``heston``, ``merton``, ``sabr``, ``regime_switching``); every
other key under ``market`` is a parameter of that model's dataclass in ``hedgegym.market`` (unknown keys are
refused with the list of allowed ones; values are range-checked by the model itself). The hedging
environment, costs and rewards join this file in later versions.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Literal

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from hedgegym.instruments import Book, EuropeanOption, Position
from hedgegym.market import (
    SABR,
    GeometricBrownianMotion,
    Heston,
    MarketModel,
    MertonJumpDiffusion,
    RegimeSwitchingVolatility,
)

__all__ = ["ConfigError", "ExperimentConfig", "MarketConfig", "PositionConfig", "SimulationConfig", "load_config"]

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
    """One option position: ``quantity`` contracts (negative = short) of a European option."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    strike: float = Field(gt=0, description="strike, currency per unit")
    maturity: float = Field(gt=0, description="years from the start of the simulation")
    call: bool = Field(default=True, strict=True, description="true: call, false: put")
    quantity: float = Field(description="contracts held; negative for a short position")
    multiplier: float = Field(default=100.0, gt=0, description="units of underlying per contract")

    @field_validator("quantity")
    @classmethod
    def _nonzero(cls, value: float) -> float:
        if value == 0 or not np.isfinite(value):
            raise ValueError("quantity must be a non-zero finite number of contracts")
        return value

    def build(self) -> Position:
        return Position(EuropeanOption(self.strike, self.maturity, self.call, self.multiplier), self.quantity)


class SimulationConfig(BaseModel):
    """How many paths and steps to simulate to the book's last maturity, and the seed of their generator."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    n_paths: int = Field(default=100_000, ge=1, le=10_000_000)
    n_steps: int = Field(default=63, ge=1, le=100_000)
    seed: int = Field(default=0, ge=0)


def _default_book() -> list[PositionConfig]:
    return [PositionConfig(strike=100.0, maturity=0.25, call=True, quantity=-10.0)]


class ExperimentConfig(BaseModel):
    """A whole experiment: the market, the option book, the simulation."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = "default"
    market: MarketConfig = Field(default_factory=MarketConfig)
    book: list[PositionConfig] = Field(default_factory=_default_book, min_length=1)
    simulation: SimulationConfig = Field(default_factory=SimulationConfig)

    def build_book(self) -> Book:
        return Book(tuple(position.build() for position in self.book))


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
