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
``algo``            ``"ppo"`` | ``"sac"`` | ``"deep_hedging"``
``seed``            ``agent.seed``
``hyperparameters`` {dotted config key: value}: every override the trial applied (may be empty)
``premium``         model value of the book's liability at t = 0 (currency, > 0)
``test``            {"n_paths", "seed"} of the final evaluation (``evaluation.*``)
``agent``           the learned hedger's row in ``metrics``
``metrics``         {hedger: {y, cvar_95, rmse, max_drawdown, cbr (or null), mean_pnl, std_pnl, mean_cost}}: the
                    run's final evaluation on the test paths, the agent and every classical hedger of it (lower is
                    better for y, cvar_95, rmse, max_drawdown, cbr; currency except cbr)
``validation``      {"y": Cao–Hull Y of the agent on the validation stream}: the selection metric
``wall_time_s``     seconds the trial took; ``cpus``: CPUs it was given; ``hedgegym_version``; ``git_commit``
                    (or null); ``finished_at`` (ISO-8601, UTC)
==================  ===================================================================================

A summary is never overwritten: ``write_summary`` writes a temporary file and hard-links it to the final name,
which fails when the name exists (``FileExistsError``).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hedgegym.config import ExperimentConfig

__all__ = ["METRICS", "SCHEMA", "SummaryError", "check_summary", "hyperparameter_hash", "load_summaries", "premium",
           "read_summary", "summary_path", "trial_id", "write_summary"]

SCHEMA = "hedgegym.trial/1"
METRICS = ("y", "cvar_95", "rmse", "max_drawdown", "cbr", "mean_pnl", "std_pnl", "mean_cost")
_KEYS = ("schema", "sweep", "trial_id", "task", "config", "algo", "seed", "hyperparameters", "premium", "test",
         "agent", "metrics", "validation", "wall_time_s", "cpus", "hedgegym_version", "git_commit", "finished_at")


class SummaryError(ValueError):
    """A trial summary that does not follow the schema (the message names the key and the file)."""


def hyperparameter_hash(hyperparameters: Mapping[str, Any]) -> str:
    """First 8 hex digits of SHA-256 of ``json.dumps(hyperparameters, sort_keys=True, separators=(",", ":"))``."""
    text = json.dumps(dict(hyperparameters), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def trial_id(task: str, algo: str, seed: int, hyperparameters: Mapping[str, Any]) -> str:
    """``<task>__<algo>__<seed>__<hyperparameter_hash>``: deterministic from the trial's spec."""
    return f"{task}__{algo}__{int(seed)}__{hyperparameter_hash(hyperparameters)}"


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


def _number(summary: Mapping, key: str, where: str, positive: bool = False) -> None:
    value = summary.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise SummaryError(f"{where}: {key} must be a finite number, got {value!r}")
    if positive and value <= 0:
        raise SummaryError(f"{where}: {key} must be > 0, got {value!r}")


def check_summary(summary: Mapping[str, Any], where: str = "summary") -> Mapping[str, Any]:
    """``summary`` if it follows schema ``hedgegym.trial/1`` (every key, its type, the id matching the spec, the
    agent's row present); else ``SummaryError`` naming the key."""
    if not isinstance(summary, Mapping):
        raise SummaryError(f"{where}: a summary is a JSON object, got {type(summary).__name__}")
    missing = [key for key in _KEYS if key not in summary]
    if missing:
        raise SummaryError(f"{where}: missing key(s) {', '.join(missing)}")
    if summary["schema"] != SCHEMA:
        raise SummaryError(f"{where}: schema must be {SCHEMA!r}, got {summary['schema']!r}")
    if summary["algo"] not in ("ppo", "sac", "deep_hedging"):
        raise SummaryError(f"{where}: algo must be ppo, sac or deep_hedging, got {summary['algo']!r}")
    if not isinstance(summary["seed"], int) or isinstance(summary["seed"], bool) or summary["seed"] < 0:
        raise SummaryError(f"{where}: seed must be an integer >= 0, got {summary['seed']!r}")
    if not isinstance(summary["hyperparameters"], Mapping):
        raise SummaryError(f"{where}: hyperparameters must be an object")
    expected = trial_id(summary["task"], summary["algo"], summary["seed"], summary["hyperparameters"])
    if summary["trial_id"] != expected:
        raise SummaryError(f"{where}: trial_id {summary['trial_id']!r} does not match its spec ({expected!r})")
    _number(summary, "premium", where, positive=True)
    _number(summary, "wall_time_s", where)
    test = summary["test"]
    if not isinstance(test, Mapping) or not all(isinstance(test.get(k), int) for k in ("n_paths", "seed")):
        raise SummaryError(f"{where}: test must be {{'n_paths': int, 'seed': int}}, got {test!r}")
    metrics = summary["metrics"]
    if not isinstance(metrics, Mapping) or summary["agent"] not in metrics:
        raise SummaryError(f"{where}: metrics must hold the agent's row {summary['agent']!r}")
    for hedger, row in metrics.items():
        for name in METRICS:
            value = row.get(name, "missing") if isinstance(row, Mapping) else "missing"
            if value is None and name == "cbr":
                continue
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise SummaryError(f"{where}: metrics.{hedger}.{name} must be a finite number, got {value!r}")
    validation = summary["validation"]
    if not isinstance(validation, Mapping):
        raise SummaryError(f"{where}: validation must be {{'y': float}}")
    _number(validation, "y", f"{where}: validation")
    return summary


def write_summary(summaries: str | Path, summary: Mapping[str, Any]) -> Path:
    """Write ``summary`` (checked by ``check_summary``) to ``<summaries>/<trial_id>.json``; returns the path.

    Atomic and never overwriting: the JSON goes to a hidden temporary file in the same directory, which is then
    hard-linked to the final name (``os.link`` refuses an existing name: ``FileExistsError``) and removed."""
    check_summary(summary)
    directory = Path(summaries)
    directory.mkdir(parents=True, exist_ok=True)
    path = summary_path(directory, summary["trial_id"])
    if path.exists():
        raise FileExistsError(f"{path} exists: a trial summary is never overwritten")
    temporary = directory / f".{path.name}.{secrets.token_hex(4)}.partial"
    try:
        with open(temporary, "x") as handle:
            json.dump(summary, handle, indent=1, allow_nan=False)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.link(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return path


def read_summary(path: str | Path) -> dict[str, Any]:
    """A summary file, checked (``SummaryError`` naming the file and key)."""
    path = Path(path)
    try:
        summary = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise SummaryError(f"{path}: not a readable JSON summary ({error})") from None
    check_summary(summary, str(path))
    if path.stem != summary["trial_id"]:
        raise SummaryError(f"{path}: file name does not match trial_id {summary['trial_id']!r}")
    return summary


def load_summaries(summaries: str | Path) -> dict[str, dict[str, Any]]:
    """Every ``*.json`` summary in the directory (none when it does not exist), by trial id."""
    directory = Path(summaries)
    if not directory.is_dir():
        return {}
    return {path.stem: read_summary(path) for path in sorted(directory.glob("*.json"))}
