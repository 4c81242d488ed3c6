"""The sweep configuration (``configs/sweeps/<name>.yaml``): tasks × algorithms × seeds × hyper-parameters.

A sweep trains every algorithm of every task once per seed and per hyper-parameter configuration, each trial an
ordinary run directory (``hedgegym.agents.training.train``), and scores it on the task's common held-out test
paths. Example::

    name: smoke
    tasks:
      - name: gbm_cost_20d                       # every config of a task shares market, book, hedging, costs,
        configs:                                 # simulation and evaluation (checked at load)
          ppo: configs/ppo_gbm_cost_20d.yaml
          deep_hedging: configs/deep_gbm_cost_20d.yaml
    seeds: [0, 1, 2]                             # agent.seed of each trial
    overrides:                                   # per algorithm: dotted config keys applied to every trial
      deep_hedging: {agent.batch_paths: 256}
    search_space:                                # per algorithm: dotted keys searched over
      ppo:
        agent.learning_rate: {loguniform: [1.0e-4, 1.0e-3]}
        agent.n_epochs: {grid: [4, 10]}
    search: {algorithm: grid, num_samples: 1, seed: 0}   # grid | random | optuna (TPE)
    scheduler: {type: asha, grace_period: 2, reduction_factor: 2}   # optional early stopping
    cpus_per_trial: 1                            # CPUs (and torch threads) per trial
    max_concurrent_trials: 2                     # optional; default as many as the CPUs allow
    total_timesteps: 20000                       # CI-size overrides (PPO/SAC/TQC), deep-hedging iterations,
    iterations: 10                               # and evaluation.n_paths of every trial
    evaluation_paths: 1000
    validation_paths: 2000                       # paths of the validation stream (the selection metric)
    tune_classical: true                         # also tune each task's classical rules on the validation stream
    classical_validation_paths: 10000            # (hedgegym.sweep.classical: <summaries>/classical/<task>.json)
    summaries: benchmarks/sweeps/smoke           # default benchmarks/sweeps/<name>
    directory: runs/sweeps/smoke                 # runs, Tune state, HParams, best configs (default runs/sweeps/<name>)

Search space values: ``{grid: [v, ...]}`` and ``{choice: [v, ...]}`` (categorical), ``{uniform: [low, high]}``,
``{loguniform: [low, high]}`` (0 < low < high). ``search.algorithm``:

* ``grid`` (default): the cartesian product of every ``grid``/``choice`` list (``uniform``/``loguniform`` are
  refused: use ``random`` or ``optuna``); ``num_samples`` must be 1.
* ``random``: ``num_samples`` configurations drawn per (task, algorithm) from ``np.random.default_rng(search.seed)``
  before the sweep starts (``grid`` lists are sampled like ``choice``): the same sweep file draws the same trials on
  any machine, so their summaries are found and skipped.
* ``optuna``: Optuna's TPE sampler through ``ray.tune.search.optuna.OptunaSearch`` (seeded by ``search.seed``), one
  search of ``num_samples`` trials per (task, algorithm, seed).

Only ``agent.*`` and ``env.*`` keys may be overridden or searched (the market, book, hedging, costs, simulation and
test paths define the task and stay common to its trials); ``agent.seed`` comes from ``seeds``, ``agent.algo`` from
the task's configs. Every error is a ``SweepConfigError`` (a ``ConfigError``) naming the field.
"""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from hedgegym.config import (
    REQUIRED_SECTIONS,
    ConfigError,
    ExperimentConfig,
    Int,
    apply_overrides,
    format_validation_error,
    load_config,
    read_yaml,
)

__all__ = ["ALGORITHMS", "COMMON_SECTIONS", "REQUIRED_CONFIG_SECTIONS", "SchedulerConfig", "SearchConfig",
           "SweepConfig", "SweepConfigError",
           "TaskConfig", "load_sweep_config"]

ALGORITHMS = ("ppo", "sac", "deep_hedging", "tqc")  # appended: the index seeds random draws (hyperparameter_sets)
Algorithm = Literal["ppo", "sac", "deep_hedging", "tqc"]
COMMON_SECTIONS = ("market", "book", "hedging", "costs", "simulation", "evaluation")
"""Sections every config of one task must share (the task's market and test paths)."""
SEARCHABLE_SECTIONS = ("agent", "env")
REQUIRED_CONFIG_SECTIONS = (*REQUIRED_SECTIONS, "agent")
"""Sections a task's experiment config must have."""
_FIXED_KEYS = ("agent.seed", "agent.algo")
_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}$"
_DISTRIBUTIONS = ("grid", "choice", "uniform", "loguniform")


class SweepConfigError(ConfigError):
    """A sweep file that cannot be read or does not validate; the message names the field."""


class TaskConfig(BaseModel):
    """A benchmark task: its name and, per algorithm, the experiment config a trial starts from."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=_NAME, description="names the trial ids and summaries, e.g. gbm_cost_20d")
    configs: dict[Algorithm, str] = Field(min_length=1, description="algorithm → experiment config path")


class SearchConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    algorithm: Literal["grid", "random", "optuna"] = "grid"
    num_samples: Int = Field(default=1, ge=1, le=100_000)
    seed: Int = Field(default=0, ge=0)


class SchedulerConfig(BaseModel):
    """ASHA (``ray.tune.schedulers.ASHAScheduler``, Li et al. 2020) on the validation Y, in validation points."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["asha"] = "asha"
    grace_period: Int = Field(default=2, ge=1)
    reduction_factor: float = Field(default=2.0, gt=1)
    max_t: Int = Field(default=100, ge=1, description="ASHA stops every trial at its max_t-th validation point: "
                       "keep it above the points a trial reports (PPO/SAC/TQC: about 21, every ~5% of training and the "
                       "last)")

    @model_validator(mode="after")
    def _grace_within_max_t(self) -> SchedulerConfig:
        if self.grace_period > self.max_t:
            raise ValueError(f"scheduler.grace_period must be <= scheduler.max_t ({self.max_t}), got "
                             f"{self.grace_period}")
        return self


def _check_distribution(key: str, spec: object) -> None:
    where = f"search_space.{key}"
    if not isinstance(spec, dict) or len(spec) != 1 or next(iter(spec)) not in _DISTRIBUTIONS:
        raise ValueError(f"{where} must be one of {{grid: [...]}}, {{choice: [...]}}, {{uniform: [low, high]}}, "
                         f"{{loguniform: [low, high]}}; got {spec!r}")
    kind, values = next(iter(spec.items()))
    if not isinstance(values, list) or not values:
        raise ValueError(f"{where}.{kind} must be a non-empty list, got {values!r}")
    if kind in ("uniform", "loguniform"):
        numeric = all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in values)
        if len(values) != 2 or not numeric or not values[0] < values[1]:
            raise ValueError(f"{where}.{kind} must be [low, high] with finite low < high, got {values!r}")
        if kind == "loguniform" and values[0] <= 0:
            raise ValueError(f"{where}.loguniform needs 0 < low < high, got {values!r}")


def _check_key(field: str, key: str) -> None:
    if not isinstance(key, str) or key.split(".", 1)[0] not in SEARCHABLE_SECTIONS or "." not in key:
        raise ValueError(f"{field}.{key}: only agent.* and env.* keys may be overridden or searched (the market, "
                         f"book, hedging, costs, simulation and evaluation define the task)")
    if key in _FIXED_KEYS:
        raise ValueError(f"{field}.{key}: {key} is set by the sweep ({'seeds' if key == 'agent.seed' else 'tasks'})")


class SweepConfig(BaseModel):
    """A validated sweep (see the module docstring). Paths are as written in the file (relative to the working
    directory the sweep runs from)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=_NAME)
    tasks: list[TaskConfig] = Field(min_length=1)
    seeds: list[Annotated[Int, Field(ge=0)]] = Field(default_factory=lambda: [0], min_length=1)
    overrides: dict[Algorithm, dict[str, Any]] = Field(default_factory=dict)
    search_space: dict[Algorithm, dict[str, Any]] = Field(default_factory=dict)
    search: SearchConfig = Field(default_factory=SearchConfig)
    scheduler: SchedulerConfig | None = None
    cpus_per_trial: float = Field(default=1.0, gt=0, le=1024)
    max_concurrent_trials: Int | None = Field(default=None, ge=1, description="default: as many as the CPUs allow")
    total_timesteps: Int | None = Field(default=None, ge=1, description="PPO/SAC/TQC agent.total_timesteps override")
    iterations: Int | None = Field(default=None, ge=1, description="deep hedging agent.iterations override")
    evaluation_paths: Int | None = Field(default=None, ge=10, le=1_000_000, description="evaluation.n_paths")
    validation_paths: Int = Field(default=2_000, ge=10, le=1_000_000)
    tune_classical: bool = Field(default=False, description="tune each task's classical rules on the validation "
                                 "paths and score them on its test paths (hedgegym.sweep.classical)")
    classical_validation_paths: Int = Field(default=10_000, ge=10, le=1_000_000)
    summaries: str | None = Field(default=None, description="default benchmarks/sweeps/<name>")
    directory: str | None = Field(default=None, description="default runs/sweeps/<name> (runs/ is git-ignored)")

    @field_validator("seeds")
    @classmethod
    def _distinct_seeds(cls, seeds: list[int]) -> list[int]:
        if len(set(seeds)) != len(seeds):
            raise ValueError(f"seeds must be distinct, got {seeds}")
        return seeds

    @field_validator("tasks")
    @classmethod
    def _distinct_tasks(cls, tasks: list[TaskConfig]) -> list[TaskConfig]:
        names = [task.name for task in tasks]
        if len(set(names)) != len(names):
            raise ValueError(f"task names must be distinct, got {names}")
        return tasks

    @field_validator("overrides")
    @classmethod
    def _override_keys(cls, overrides: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        for algo, values in overrides.items():
            for key in values:
                _check_key(f"overrides.{algo}", key)
        return overrides

    @field_validator("search_space")
    @classmethod
    def _space(cls, space: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        for algo, values in space.items():
            for key, spec in values.items():
                _check_key(f"search_space.{algo}", key)
                _check_distribution(f"{algo}.{key}", spec)
        return space

    @model_validator(mode="after")
    def _search_fits_space(self) -> SweepConfig:
        algorithm = self.search.algorithm
        if algorithm == "grid":
            if self.search.num_samples != 1:
                raise ValueError("search.num_samples must be 1 with search.algorithm grid (the grid lists every "
                                 f"trial; seeds repeat it), got {self.search.num_samples}")
            for algo, values in self.search_space.items():
                for key, spec in values.items():
                    kind = next(iter(spec))
                    if kind not in ("grid", "choice"):
                        raise ValueError(f"search_space.{algo}.{key}: {kind} cannot be enumerated by "
                                         "search.algorithm grid; use grid/choice lists, or search.algorithm random "
                                         "or optuna")
        if algorithm == "optuna" and not any(self.search_space.values()):
            raise ValueError("search.algorithm optuna needs a search_space to search")
        if algorithm == "optuna":  # every algorithm of the tasks is searched: none is silently left out
            used = sorted({algo for task in self.tasks for algo in task.configs})
            unsearched = [algo for algo in used if not self.search_space.get(algo)]
            if unsearched:
                raise ValueError(f"search.algorithm optuna: search_space.{unsearched[0]} is empty but the tasks train "
                                 f"{unsearched[0]}; give every algorithm a space, or run {', '.join(unsearched)} "
                                 "in a grid sweep")
        if self.scheduler is not None and not any(self.search_space.values()):
            raise ValueError("scheduler: early stopping needs a hyper-parameter search (search_space); a plain "
                             "multi-seed benchmark must run every trial to the end")
        for algo, values in self.search_space.items():  # repeated sets would share one trial id (and run dir)
            for key, spec in values.items():
                kind, listed = next(iter(spec.items()))
                if kind in ("grid", "choice") and len({json.dumps(v, sort_keys=True) for v in listed}) < len(listed):
                    raise ValueError(f"search_space.{algo}.{key}.{kind} repeats a value: {listed!r}")
        if algorithm == "random":
            for task in self.tasks:
                for algo in task.configs:
                    drawn = [json.dumps(h, sort_keys=True) for h in self.hyperparameter_sets(task.name, algo)]
                    if len(set(drawn)) < len(drawn):
                        raise ValueError(f"search: the random draws for task {task.name}, {algo} repeat a "
                                         f"hyper-parameter set ({len(drawn)} draws, {len(set(drawn))} distinct), and "
                                         "repeated sets would share one trial; lower search.num_samples, widen the "
                                         "choices, or use uniform/loguniform")
        return self

    @property
    def summaries_dir(self) -> Path:
        return Path(self.summaries or f"benchmarks/sweeps/{self.name}")

    @property
    def sweep_dir(self) -> Path:
        return Path(self.directory or f"runs/sweeps/{self.name}")

    def algorithm_overrides(self, algo: str) -> dict[str, Any]:
        """The fixed overrides of every trial of ``algo``: its ``overrides`` plus the CI-size ones that apply."""
        values = dict(self.overrides.get(algo, {}))
        if algo in ("ppo", "sac", "tqc") and self.total_timesteps is not None:
            values["agent.total_timesteps"] = self.total_timesteps
        if algo == "deep_hedging" and self.iterations is not None:
            values["agent.iterations"] = self.iterations
        if self.evaluation_paths is not None:
            values["evaluation.n_paths"] = self.evaluation_paths
        return values

    def hyperparameter_sets(self, task: str, algo: str) -> list[dict[str, Any]]:
        """The searched values of each grid or random trial of (``task``, ``algo``), before the seeds: the grid's
        cartesian product (``[{}]`` without a search space), or ``num_samples`` random draws from
        ``np.random.default_rng([search.seed, task index, algorithm index])``. Not for ``optuna`` (sampled while
        the sweep runs)."""
        space = self.search_space.get(algo, {})
        keys = sorted(space)
        if self.search.algorithm == "grid":
            lists = [next(iter(space[key].values())) for key in keys]
            return [dict(zip(keys, values, strict=True)) for values in itertools.product(*lists)]
        if self.search.algorithm != "random":
            raise ValueError("hyperparameter_sets: optuna samples while the sweep runs")
        task_index = [t.name for t in self.tasks].index(task)
        rng = np.random.default_rng([self.search.seed, task_index, ALGORITHMS.index(algo)])
        return [{key: _draw(space[key], rng) for key in keys} for _ in range(self.search.num_samples)]

    def experiment_configs(self, base_dir: Path | None = None) -> dict[tuple[str, str], ExperimentConfig]:
        """Each (task, algorithm)'s experiment config with its fixed overrides applied; ``SweepConfigError`` naming
        ``tasks.<i>.configs.<algo>`` for a config that does not load or take the overrides, and naming the section
        when two configs of one task differ in a common section (``COMMON_SECTIONS``)."""
        configs = {}
        for index, task in enumerate(self.tasks):
            reference: tuple[str, ExperimentConfig] | None = None
            for algo, path in task.configs.items():
                field = f"tasks.{index}.configs.{algo}"
                full = Path(path) if base_dir is None or Path(path).is_absolute() else base_dir / path
                try:
                    config = load_config(full, required=REQUIRED_CONFIG_SECTIONS)
                    config = apply_overrides(config, self.algorithm_overrides(algo), source=f"{field} + overrides")
                except ConfigError as error:
                    raise SweepConfigError(f"{field}: {error}") from None
                if config.agent.algo != algo:
                    raise SweepConfigError(f"{field}: {path} trains agent.algo {config.agent.algo!r}, not {algo!r}")
                if reference is not None:
                    for section in COMMON_SECTIONS:
                        if getattr(config, section) != getattr(reference[1], section):
                            raise SweepConfigError(
                                f"{field}: {path} differs from {reference[0]} in {section}: the configs of task "
                                f"{task.name!r} must share {', '.join(COMMON_SECTIONS)} (one market, one set of "
                                "test paths)")
                else:
                    reference = (path, config)
                configs[task.name, algo] = config
        return configs


def _draw(spec: dict[str, list], rng: np.random.Generator) -> Any:
    kind, values = next(iter(spec.items()))
    if kind in ("grid", "choice"):
        return values[int(rng.integers(len(values)))]
    if kind == "uniform":
        return float(rng.uniform(values[0], values[1]))
    return float(np.exp(rng.uniform(np.log(values[0]), np.log(values[1]))))


def parse_sweep_config(data: object, source: str = "sweep config") -> SweepConfig:
    """Validate a mapping; ``SweepConfigError`` listing every bad field with its path."""
    if not isinstance(data, dict):
        raise SweepConfigError(f"invalid sweep configuration in {source}: expected a mapping (name:, tasks:, ...), "
                               f"got {type(data).__name__}")
    try:
        return SweepConfig.model_validate(data)
    except ValidationError as error:
        raise SweepConfigError(f"invalid sweep configuration in {source}:\n{format_validation_error(error)}") from None


def load_sweep_config(path: str | Path, check_configs: bool = True) -> SweepConfig:
    """Read and validate a sweep YAML; with ``check_configs`` also load every task's experiment configs with their
    overrides (``SweepConfig.experiment_configs``). ``SweepConfigError`` naming the field."""
    path = Path(path)
    sweep = parse_sweep_config(read_yaml(path, SweepConfigError, "sweep config file"), str(path))
    if check_configs:
        sweep.experiment_configs()
    return sweep
