"""The trial summary: one small JSON file per finished trial, the contract between ``hedgegym sweep`` and
``hedgegym leaderboard`` (schema ``hedgegym.trial/1``).

Written to ``<summaries>/<trial_id>.json`` (committed under ``benchmarks/sweeps/<sweep>/``), so a sweep started on
a fresh machine skips the trials already summarised and the leaderboard is built from the summaries alone. Keys:

==================  ===================================================================================
key                 value
==================  ===================================================================================
``schema``          ``"hedgegym.trial/1"``
``sweep``           the sweep's name
``trial_id``        ``"<task>__<algo>__<seed>__<8 hex>"``, the hex the first 8 of SHA-256 of the sorted
                    hyper-parameters as compact JSON (``trial_id``): same spec → same id on any machine
``task``            the benchmark task (one market, book, costs, simulation and set of test paths)
``config``          path of the experiment config the trial started from
``algo``            ``"ppo"`` | ``"sac"`` | ``"deep_hedging"`` | ``"tqc"``
``seed``            ``agent.seed``
``hyperparameters`` {dotted config key: value}: every override the trial applied (may be empty)
``premium``         model value of the book's liability at t = 0 (currency, > 0)
``config_sha256``   SHA-256 of the trial's experiment config (``config_sha256``: its file with the trial's
                    overrides and seed): a sweep refuses to skip a trial whose summary was written for another
                    config under the same id
``test``            {"n_paths", "seed", "cao_hull_c"} of the final evaluation (``evaluation.*``)
``agent``           the learned hedger's row in ``metrics``
``metrics``         {hedger: {y, cvar_95, rmse, max_drawdown, cbr (or null), mean_pnl, std_pnl, mean_cost}}: the
                    run's final evaluation on the test paths, the agent and every classical hedger of it (lower is
                    better for y, cvar_95, rmse, max_drawdown, cbr; currency except cbr)
``validation``      {"y": Cao–Hull Y of the agent on the validation stream}: the selection metric
``wall_time_s``     seconds the trial's last attempt took (a trial continued from a checkpoint counts the
                    continuation only); ``cpus``: CPUs it was given; ``hedgegym_version``; ``git_commit``
                    (or null); ``finished_at`` (ISO-8601, UTC)
==================  ===================================================================================

A summary is never overwritten: ``write_summary`` writes a temporary file and hard-links it to the final name,
which fails when the name exists (``FileExistsError``).

One reader of the schema for the sweep and the leaderboard: ``parse_summary`` checks a summary (every key above,
its type and range, the id matching the spec, the agent's row present; unknown keys are ignored) and returns it as a
``TrialSummary``; ``check_summary`` (the dict back), ``read_summary`` (a file, as a dict) and ``read_trial_summary``
(a file, as a ``TrialSummary``) go through it. Every refusal is a ``SummaryError`` (a ``ValueError``) naming the
file and the key: ``missing key 'metrics.delta.rmse'``, ``'premium' must be a finite number > 0``.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import pandas as pd

if TYPE_CHECKING:  # annotations only: reading and checking summaries needs no config (nor torch)
    from hedgegym.config import ExperimentConfig

__all__ = ["ALGOS", "METRICS", "SCHEMA", "SummaryError", "TrialEvaluation", "TrialSummary", "check_summary",
           "config_sha256", "hyperparameter_hash", "load_summaries", "parse_summary", "parse_test_results", "premium",
           "read_json_folder", "read_summary", "read_trial_summary", "summary_path", "trial_id", "write_json_once",
           "write_summary"]

SCHEMA = "hedgegym.trial/1"
T = TypeVar("T")
ALGOS = ("ppo", "sac", "deep_hedging", "tqc")
METRICS = ("y", "cvar_95", "rmse", "max_drawdown", "cbr", "mean_pnl", "std_pnl", "mean_cost")
_HEX = frozenset("0123456789abcdef")


class SummaryError(ValueError):
    """A trial summary that does not follow the schema (the message names the key and the file)."""


@dataclass(frozen=True)
class TrialEvaluation:
    """A summary's ``test``: the final evaluation's test paths (``n_paths`` ≥ 1, ``seed`` ≥ 0) and the Cao–Hull
    ``c`` ≥ 0 of its Y = E[C] + c·sd(C) (``evaluation.cao_hull_c``)."""

    n_paths: int
    seed: int
    cao_hull_c: float


@dataclass(frozen=True)
class TrialSummary:
    """One trial summary, checked (``parse_summary``): the schema's keys as attributes, and

    ``path``: the file it was read from (the ``where`` of ``parse_summary``); ``test``: a ``TrialEvaluation``;
    ``metrics``: {hedger: {metric: value}} with NaN for a null CBR; ``validation_y``: ``validation.y``;
    ``finished_at``: an aware UTC time (a time without an offset is read as UTC)."""

    path: Path
    sweep: str
    trial_id: str
    task: str
    config: str
    config_sha256: str
    algo: str
    seed: int
    hyperparameters: dict[str, Any]
    premium: float
    test: TrialEvaluation
    agent: str
    metrics: dict[str, dict[str, float]]
    validation_y: float
    wall_time_s: float
    cpus: int
    hedgegym_version: str
    git_commit: str | None
    finished_at: datetime


def hyperparameter_hash(hyperparameters: Mapping[str, Any]) -> str:
    """First 8 hex digits of SHA-256 of ``json.dumps(hyperparameters, sort_keys=True, separators=(",", ":"))``."""
    text = json.dumps(dict(hyperparameters), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def trial_id(task: str, algo: str, seed: int, hyperparameters: Mapping[str, Any]) -> str:
    """``<task>__<algo>__<seed>__<hyperparameter_hash>``: deterministic from the trial's spec."""
    return f"{task}__{algo}__{int(seed)}__{hyperparameter_hash(hyperparameters)}"


def config_sha256(config: ExperimentConfig) -> str:
    """SHA-256 (64 hex digits) of the config's fields that differ from their defaults, as key-sorted compact JSON
    (``model_dump(mode="json", exclude_defaults=True)``): a new config field with a default leaves it unchanged, any
    value a config file or override sets changes it."""
    data = config.model_dump(mode="json", exclude_defaults=True)
    text = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def summary_path(summaries: str | Path, trial: str) -> Path:
    return Path(summaries) / f"{trial}.json"


def premium(config: ExperimentConfig) -> float:
    """Model value of the book's liability at t = 0 (currency; > 0 for a short book), as
    ``scripts/agents_table.py``: minus the book's model price at the initial spot and variance."""
    from hedgegym.pricing.model_greeks import model_greeks

    model, book = config.market.build(), config.build_book()
    return -float(book.greeks(np.array([model.spot]), 0.0,
                              lambda s, k, t, c: model_greeks(model, s, k, t, c)).price[0])


def metrics_from_table(table: pd.DataFrame) -> dict[str, dict[str, float | None]]:
    """{hedger: {metric: value}} of an evaluation's ``results.csv`` table (NaN → None)."""
    missing = [name for name in METRICS if name not in table.columns]
    if missing:
        raise SummaryError(f"evaluation table lacks the column(s) {', '.join(missing)}")
    out = {}
    for hedger, row in table.iterrows():
        out[str(hedger)] = {name: (None if not math.isfinite(float(row[name])) else float(row[name]))
                            for name in METRICS}
    return out


def _fail(where: str | Path, message: str) -> SummaryError:
    return SummaryError(f"{where}: {message}")


def _get(data: Mapping, key: str, where: str | Path, prefix: str = "") -> Any:
    if key not in data:
        raise _fail(where, f"missing key '{prefix}{key}'")
    return data[key]


def _object(data: Mapping, key: str, where: str | Path, shape: str, prefix: str = "") -> Mapping:
    value = _get(data, key, where, prefix)
    if not isinstance(value, Mapping):
        raise _fail(where, f"'{prefix}{key}' must be an object {shape}, got {value!r}")
    return value


def _string(data: Mapping, key: str, where: str | Path, empty: bool = False) -> str:
    value = _get(data, key, where)
    if not isinstance(value, str) or (not empty and not value):
        raise _fail(where, f"'{key}' must be a{'' if empty else ' non-empty'} string, got {value!r}")
    return value


def _integer(data: Mapping, key: str, where: str | Path, minimum: int, prefix: str = "") -> int:
    value = _get(data, key, where, prefix)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise _fail(where, f"'{prefix}{key}' must be an integer >= {minimum}, got {value!r}")
    return value


def _real(data: Mapping, key: str, where: str | Path, prefix: str = "", minimum: float | None = None,
          strict: bool = False, nullable: bool = False) -> float:
    value = _get(data, key, where, prefix)
    if value is None and nullable:
        return math.nan
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or (
            minimum is not None and (value <= minimum if strict else value < minimum)):
        bound = "" if minimum is None else f" {'>' if strict else '>='} {minimum:g}"
        null = " or null" if nullable else ""
        raise _fail(where, f"'{prefix}{key}' must be a finite number{bound}{null}, got {value!r}")
    return float(value)


def parse_test_results(data: Mapping, where: str | Path) -> tuple[float, TrialEvaluation, dict[str, dict[str, float]]]:
    """The results on a task's test paths that a trial summary and a tuned-classical record share: ``premium``
    (> 0), ``test`` (``n_paths`` ≥ 1, ``seed`` ≥ 0, ``cao_hull_c`` ≥ 0) and ``metrics`` ({hedger: {metric: value}},
    every metric of ``METRICS`` a finite number, ``cbr`` may be null → NaN); ``SummaryError`` naming the key."""
    premium_value = _real(data, "premium", where, minimum=0.0, strict=True)
    test = _object(data, "test", where, "{'n_paths': int, 'seed': int, 'cao_hull_c': number}")
    evaluation = TrialEvaluation(n_paths=_integer(test, "n_paths", where, 1, "test."),
                                 seed=_integer(test, "seed", where, 0, "test."),
                                 cao_hull_c=_real(test, "cao_hull_c", where, "test.", minimum=0.0))
    metrics = _object(data, "metrics", where, "{hedger: {metric: value}}")
    rows: dict[str, dict[str, float]] = {}
    for hedger in metrics:
        row = _object(metrics, hedger, where, "{metric: value}", "metrics.")
        rows[hedger] = {name: _real(row, name, where, f"metrics.{hedger}.", nullable=name == "cbr")
                        for name in METRICS}
    return premium_value, evaluation, rows


def read_json_folder(directory: str | Path, check: Callable[[Any, Path], T],
                     error: Callable[[str], Exception]) -> dict[str, T]:
    """Every ``*.json`` file in ``directory`` (none when the folder is missing) by file stem, decoded and passed to
    ``check(data, path)``; a file that cannot be read or is not JSON raises ``error("<path>: not a readable JSON
    record (<why>)")``."""
    directory = Path(directory)
    out = {}
    for path in sorted(directory.glob("*.json")) if directory.is_dir() else []:
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as reason:
            raise error(f"{path}: not a readable JSON record ({reason})") from None
        out[path.stem] = check(data, path)
    return out


def parse_summary(data: Any, where: str | Path = "summary") -> TrialSummary:
    """``data`` (a decoded JSON object) checked against schema ``hedgegym.trial/1`` (the module docstring's table), as
    a ``TrialSummary`` whose ``path`` is ``Path(where)``.

    Raises ``SummaryError`` ``"<where>: <message>"`` naming the key (``prefix.key`` inside an object): not an
    object, another ``schema``, a missing key, a value of the wrong type or range (non-empty strings except
    ``config``; ``algo`` one of ``ALGOS``; ``seed``, ``test.seed`` ≥ 0; ``test.n_paths``, ``cpus`` ≥ 1; ``premium``
    > 0; ``wall_time_s``, ``test.cao_hull_c`` ≥ 0; finite numbers; every metric of ``METRICS`` in every row of
    ``metrics``, only ``cbr`` may be null; ``config_sha256`` 64 lower-case hex digits; ``git_commit`` a string or
    null; ``finished_at`` ISO-8601), a ``trial_id`` that is not ``trial_id(task, algo, seed, hyperparameters)`` or an
    ``agent`` that is not a row of ``metrics``. Unknown keys are ignored. The file name is not checked here
    (``read_trial_summary`` does)."""
    if not isinstance(data, Mapping):
        raise _fail(where, f"a trial summary is a JSON object, got {type(data).__name__}")
    schema = _get(data, "schema", where)
    if schema != SCHEMA:
        raise _fail(where, f"'schema' must be {SCHEMA!r}, got {schema!r}: not a trial summary this version reads")
    sweep, task = _string(data, "sweep", where), _string(data, "task", where)
    algo = _get(data, "algo", where)
    if algo not in ALGOS:
        raise _fail(where, f"'algo' must be one of {', '.join(ALGOS)}, got {algo!r}")
    seed = _integer(data, "seed", where, 0)
    hyperparameters = dict(_object(data, "hyperparameters", where, "{dotted key: value}"))
    trial = _string(data, "trial_id", where)
    expected = trial_id(task, algo, seed, hyperparameters)
    if trial != expected:
        raise _fail(where, f"'trial_id' is {trial!r} but the trial's task, algo, seed and hyper-parameters give "
                    f"{expected!r}")
    config = _string(data, "config", where, empty=True)
    digest = _get(data, "config_sha256", where)
    if not isinstance(digest, str) or len(digest) != 64 or not set(digest) <= _HEX:
        raise _fail(where, f"'config_sha256' must be 64 lower-case hex digits, got {digest!r}")
    premium_value, evaluation, rows = parse_test_results(data, where)
    if not rows:
        raise _fail(where, "'metrics' must be a non-empty object {hedger: {metric: value}}, got {}")
    agent = _string(data, "agent", where)
    if agent not in rows:
        raise _fail(where, f"'agent' names {agent!r}, which is not a row of 'metrics' ({', '.join(rows)})")
    validation = _object(data, "validation", where, "{'y': number}")
    validation_y = _real(validation, "y", where, "validation.")
    wall_time_s = _real(data, "wall_time_s", where, minimum=0.0)
    cpus = _integer(data, "cpus", where, 1)
    version = _string(data, "hedgegym_version", where)
    commit = _get(data, "git_commit", where)
    if commit is not None and not isinstance(commit, str):
        raise _fail(where, f"'git_commit' must be a string or null, got {commit!r}")
    finished = _string(data, "finished_at", where)
    try:
        finished_at = datetime.fromisoformat(finished)
    except ValueError:
        raise _fail(where, f"'finished_at' must be an ISO-8601 time, got {finished!r}") from None
    if finished_at.tzinfo is None:
        finished_at = finished_at.replace(tzinfo=UTC)
    return TrialSummary(
        path=Path(where), sweep=sweep, trial_id=trial, task=task, config=config, config_sha256=digest, algo=algo,
        seed=seed, hyperparameters=hyperparameters, premium=premium_value, test=evaluation, agent=agent,
        metrics=rows, validation_y=validation_y, wall_time_s=wall_time_s, cpus=cpus, hedgegym_version=version,
        git_commit=commit, finished_at=finished_at.astimezone(UTC))


def check_summary(summary: Mapping[str, Any], where: str = "summary") -> Mapping[str, Any]:
    """``summary`` itself if it follows schema ``hedgegym.trial/1``; else the ``SummaryError`` of ``parse_summary``
    (``where`` names the file in its message)."""
    parse_summary(summary, where)
    return summary


def write_summary(summaries: str | Path, summary: Mapping[str, Any]) -> Path:
    """Write ``summary`` (checked by ``check_summary``) to ``<summaries>/<trial_id>.json``; returns the path.

    Atomic and never overwriting: the JSON goes to a hidden temporary file in the same directory, which is then
    hard-linked to the final name (``os.link`` refuses an existing name: ``FileExistsError``) and removed."""
    check_summary(summary)
    path = summary_path(summaries, summary["trial_id"])
    write_json_once(path, summary, "a trial summary")
    return path


def write_json_once(path: str | Path, data: Mapping[str, Any], what: str = "a result") -> None:
    """Write ``data`` as JSON to the new file ``path``, atomically and never overwriting: a hidden temporary file in
    the same directory (created if need be), hard-linked to ``path`` (``os.link`` refuses an existing name:
    ``FileExistsError``, ``what`` named) and removed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        raise FileExistsError(f"{path} exists: {what} is never overwritten")
    temporary = path.parent / f".{path.name}.{secrets.token_hex(4)}.partial"
    try:
        with open(temporary, "x") as handle:
            json.dump(data, handle, indent=1, allow_nan=False)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.link(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def _read(path: Path) -> tuple[dict[str, Any], TrialSummary]:
    try:
        data = json.loads(path.read_text())
    except OSError as error:
        raise _fail(path, f"cannot read the trial summary ({error.strerror or error})") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise _fail(path, f"not valid JSON ({error})") from None
    summary = parse_summary(data, path)
    if path.stem != summary.trial_id:
        raise _fail(path, f"the file name must be the trial id: {summary.trial_id}.json")
    return data, summary


def read_trial_summary(path: str | Path) -> TrialSummary:
    """A summary file as a ``TrialSummary``, checked by ``parse_summary``; ``SummaryError`` naming the file (and the
    key) also when it cannot be read, is not valid JSON or is not named ``<trial_id>.json``."""
    return _read(Path(path))[1]


def read_summary(path: str | Path) -> dict[str, Any]:
    """A summary file as the decoded JSON object, checked as ``read_trial_summary`` checks it."""
    return _read(Path(path))[0]


def load_summaries(summaries: str | Path) -> dict[str, dict[str, Any]]:
    """Every ``*.json`` summary in the directory (none when it does not exist), by trial id."""
    directory = Path(summaries)
    if not directory.is_dir():
        return {}
    return {path.stem: read_summary(path) for path in sorted(directory.glob("*.json"))}
