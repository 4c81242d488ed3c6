"""The tuned classical rules of a sweep's task: one small JSON record per task, beside the trial summaries.

A learned hedger's Y is selected on the validation paths; the classical rules it is ranked against should be too
(``hedgegym.evaluation.tuning``). With ``tune_classical: true`` in the sweep file, the driver tunes each rule of each
task on ``classical_validation_paths`` validation paths before the trials run, scores the tuned rules on the task's
test paths (the trials' own: ``evaluation.n_paths`` and ``evaluation.seed``), and writes
``<summaries>/classical/<task>.json`` (schema ``hedgegym.classical/1``, committed with the summaries; written once,
never overwritten; a rerun skips a task with a record, and refuses one written for another task config):

==========================  ======================================================================================
key                         value
==========================  ======================================================================================
``schema``                  ``"hedgegym.classical/1"``
``sweep``, ``task``         the sweep's and the task's names
``task_sha256``             SHA-256 of the task's common sections (``COMMON_SECTIONS``: market, book, hedging,
                            costs, simulation, evaluation) as set in its config, key-sorted compact JSON
``premium``, ``test``       as in a trial summary (``test``: n_paths, seed, cao_hull_c)
``validation_paths``        paths of the validation stream the rules were tuned on
``tuned``                   {rule: {"parameter", "value", "default", "at_edge", "validation_y": [[value, y], …]}}
``metrics``                 {"<rule>_tuned": {y, cvar_95, rmse, max_drawdown, cbr, mean_pnl, std_pnl, mean_cost}}
                            on the test paths, as a trial summary's rows
``wall_time_s``, ``finished_at``
==========================  ======================================================================================
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hedgegym.config import ExperimentConfig
from hedgegym.sweep.config import COMMON_SECTIONS, SweepConfigError
from hedgegym.sweep.summary import (
    SummaryError,
    metrics_from_table,
    parse_test_results,
    premium,
    read_json_folder,
    write_json_once,
)

__all__ = ["CLASSICAL_SCHEMA", "classical_path", "classical_record", "load_classical", "task_sha256"]

CLASSICAL_SCHEMA = "hedgegym.classical/1"


def task_sha256(config: ExperimentConfig) -> str:
    """SHA-256 of the config's common sections (``COMMON_SECTIONS``), fields that differ from their defaults, as
    key-sorted compact JSON: the same for every config of one task, whatever its agent."""
    data = config.model_dump(mode="json", include=set(COMMON_SECTIONS), exclude_defaults=True)
    return hashlib.sha256(json.dumps(data, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def classical_path(summaries: str | Path, task: str) -> Path:
    return Path(summaries) / "classical" / f"{task}.json"


def classical_record(sweep: str, task: str, config: ExperimentConfig, validation_paths: int) -> dict[str, Any]:
    """Tune the classical rules of ``config`` on ``validation_paths`` validation paths and score them on its test
    paths (``evaluation.n_paths``, ``evaluation.seed``); the record described in the module docstring."""
    from hedgegym.baselines import NoHedge
    from hedgegym.evaluation.reports import compare
    from hedgegym.evaluation.tuning import tune_classical

    started = time.perf_counter()
    tuned = tune_classical(config, validation_paths)
    evaluation = config.evaluation
    comparison = compare(config, [NoHedge(), *(rule.hedger for rule in tuned)], evaluation.n_paths, evaluation.seed,
                         0, evaluation.cao_hull_c)  # no hedge: the CBR's reference, not a row of the record
    return {
        "schema": CLASSICAL_SCHEMA, "sweep": sweep, "task": task, "task_sha256": task_sha256(config),
        "premium": premium(config),
        "test": {"n_paths": evaluation.n_paths, "seed": evaluation.seed, "cao_hull_c": evaluation.cao_hull_c},
        "validation_paths": validation_paths,
        "tuned": {rule.rule: {"parameter": rule.parameter, "value": rule.value, "default": rule.default,
                              "at_edge": rule.at_edge,
                              "validation_y": [[value, None if not math.isfinite(y) else y]
                                               for value, y in rule.validation_y.items()]}
                  for rule in tuned},
        "metrics": metrics_from_table(comparison.table.drop(index="no_hedge")),
        "wall_time_s": time.perf_counter() - started,
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def write_classical(summaries: str | Path, record: Mapping[str, Any]) -> Path:
    """Write ``record`` to ``<summaries>/classical/<task>.json`` (``FileExistsError`` if it exists)."""
    path = classical_path(summaries, record["task"])
    write_json_once(path, record, "a classical-rules record")
    return path


def _check(record: Any, path: Path) -> dict[str, Any]:
    def fail(message: str) -> SweepConfigError:
        return SweepConfigError(f"{path}: {message}")

    if not isinstance(record, dict) or record.get("schema") != CLASSICAL_SCHEMA:
        raise fail(f"not a classical-rules record (schema {CLASSICAL_SCHEMA})")
    for key in ("sweep", "task", "task_sha256", "premium", "test", "validation_paths", "tuned", "metrics"):
        if key not in record:
            raise fail(f"missing key '{key}'")
    if record["task"] != path.stem:
        raise fail(f"'task' is {record['task']!r}, but the file name says {path.stem!r}")
    try:
        parse_test_results(record, path)  # premium, test and metrics as a trial summary's
    except SummaryError as error:
        raise SweepConfigError(str(error)) from None
    return record


def load_classical(summaries: str | Path) -> dict[str, dict[str, Any]]:
    """Every classical-rules record under ``<summaries>/classical/`` by task (none when the folder is missing);
    ``SweepConfigError`` naming the file and key of a malformed one."""
    return read_json_folder(Path(summaries) / "classical", _check, SweepConfigError)
