r"""The leaderboard of a sweep: every hedger over seeds and tasks, aggregated as Agarwal et al. (NeurIPS 2021) advise.

Built from trial summaries alone (schema ``hedgegym.trial/1``, one ``<trial_id>.json`` per finished trial, written
by ``hedgegym sweep``): ``read_summaries(directory)`` → ``build_leaderboard(summaries)`` → ``write_leaderboard``.
The schema, its one reader (``parse_summary``) and ``TrialSummary`` live in ``hedgegym.sweep.summary``; the trials
of one task must share their test paths and Cao–Hull c (``TrialSummary.test``).

Hedgers. A learned hedger is an algorithm (``ppo``, ``sac``, ``tqc``, ``deep_hedging``) with one set of
hyper-parameters; its runs are the trials' seeds (named by the algorithm, or ``<algo>#<hash>`` when a sweep holds
several hyper-parameter sets of it). A classical hedger (every other row of a summary's ``metrics``) is deterministic on
a task's common test paths: it counts as ONE run per task, read from the task's first trial (by trial id); its
rows in the other trials of the task are checked against it (relative tolerance 10⁻⁶) and any disagreement is
reported in the notes.

Numbers (lower is better for each):

================  =========================================================================================
column            per task (currency of the task's book)           over tasks (``scope = "all tasks"``)
================  =========================================================================================
``y_pct``         Cao–Hull Y as % of the book's premium (100·y/premium)  same, runs of every task pooled
``cvar_95``       CVaR 95% of the hedging loss, currency            — (currencies of different books)
``rmse``          hedging-error RMSE, currency                      —
``max_drawdown``  mean maximum drawdown, currency                   —
``cvar_95_pct``,  the three above as % of the premium               the same, pooled over tasks
``rmse_pct``,
``max_drawdown_pct``
``cbr``           cost–benefit ratio (no unit; NaN when undefined)  same
================  =========================================================================================

Each is the IQM over runs (``hedgegym.evaluation.aggregate.iqm``: per task over the seeds, over tasks of all runs
pooled) with a 95% stratified percentile bootstrap interval (``aggregate_interval``: seeds resampled within each
task). ``p_vs_best_classical``: the probability of improvement (``improvement_interval``, lower Y is better) of a
learned hedger's runs over the best classical hedger of each task (the lowest Y), averaged over the tasks where
the learned hedger ran; ``p_vs_deep_hedging``: the same against deep hedging's runs (when there are several
deep-hedging hyper-parameter sets, the one with the lowest mean validation Y: chosen on the validation paths, never
on the test paths reported here), over the tasks both ran. A metric with a missing value in
any run (a null CBR) is NaN. Every interval has its own generator, ``np.random.default_rng([seed,
crc32(key)])``: the same summaries and seed give the same numbers, whatever else the sweep holds.

``write_leaderboard`` writes, all at once (``hedgegym.output.atomic_directory``, never overwriting):
``leaderboard.csv`` (the table), ``leaderboard.md`` (tables, compute used, notes), ``iqm_y.png`` (IQM Y with
intervals per hedger, one panel per task and one over tasks) and ``probability_of_improvement.png``.
"""

from __future__ import annotations

import json
import math
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hedgegym.evaluation.aggregate import Interval, aggregate_interval, improvement_interval
from hedgegym.sweep.summary import (
    ALGOS,
    SCHEMA,
    TrialEvaluation,
    TrialSummary,
    hyperparameter_hash,
    parse_test_results,
    read_trial_summary,
)
from hedgegym.sweep.summary import METRICS as SUMMARY_METRICS

__all__ = ["ALGOS", "SCHEMA", "SUMMARY_METRICS", "Leaderboard", "TrialSummary", "build_leaderboard",
           "markdown_report", "read_summaries", "read_summary", "write_leaderboard"]

TASK_COLUMNS = ("y_pct", "cvar_95", "rmse", "max_drawdown", "cvar_95_pct", "rmse_pct", "max_drawdown_pct", "cbr")
ALL_TASKS_COLUMNS = ("y_pct", "cvar_95_pct", "rmse_pct", "max_drawdown_pct", "cbr")
ALL_TASKS = "all tasks"
CLASSICAL_TOLERANCE = 1e-6
"""Relative tolerance within which a classical hedger's rows of the trials of one task must agree."""


def read_summary(path: str | Path) -> TrialSummary:
    """One trial summary file as a ``TrialSummary``, checked against schema ``hedgegym.trial/1`` by the sweep's own
    reader (``hedgegym.sweep.summary.read_trial_summary``; its module docstring lists the keys).

    Raises ``hedgegym.sweep.summary.SummaryError`` (a ``ValueError``) naming the file and the key: unreadable or
    invalid JSON, another schema, a missing key, a value of the wrong type or range (``premium`` > 0, ``seed`` ≥ 0,
    ``cpus`` ≥ 1, finite metrics, CBR may be null, ``config_sha256`` 64 hex digits, ``test.cao_hull_c`` ≥ 0), a
    ``trial_id`` that does not match the trial's task, algo, seed and hyper-parameters (first 8 hex of SHA-256 of
    their key-sorted compact JSON) or a file not named ``<trial_id>.json``. Unknown keys are ignored.
    """
    return read_trial_summary(path)


def _is_summary_name(path: Path) -> bool:
    parts = path.stem.split("__")
    return len(parts) >= 4 and parts[-3] in ALGOS and parts[-2].isdigit() and len(parts[-1]) == 8


def read_summaries(directory: str | Path) -> list[TrialSummary]:
    """Every trial summary of a summaries directory or a sweep directory, sorted by trial id.

    A summaries directory (one holding ``<task>__<algo>__<seed>__<hash>.json`` files) is read whole: every
    ``*.json`` in it must be a trial summary. Any other directory (e.g. a sweep's output with Ray Tune's own JSON
    files) is searched recursively for files named like trial summaries. The same trial found twice with the
    same content is read once. Raises ``ValueError`` naming the file and key for a malformed summary
    (``read_summary``), naming both files for one trial id with two different contents, and when the directory
    does not exist or holds no summary.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise ValueError(f"{directory}: not a directory of trial summaries")
    top = sorted(directory.glob("*.json"))
    files = top if any(_is_summary_name(p) for p in top) else sorted(
        p for p in directory.rglob("*.json") if _is_summary_name(p) and not p.name.startswith("."))
    if not files:
        raise ValueError(f"{directory}: no trial summary (<task>__<algo>__<seed>__<hash>.json) in it or below it")
    found: dict[str, TrialSummary] = {}
    for path in files:
        summary = read_summary(path)
        previous = found.get(summary.trial_id)
        if previous is not None:
            if json.loads(previous.path.read_text()) != json.loads(path.read_text()):
                raise ValueError(f"{path}: trial {summary.trial_id} is also in {previous.path} with different "
                                 "content; keep one")
            continue
        found[summary.trial_id] = summary
    return [found[key] for key in sorted(found)]


@dataclass
class Leaderboard:
    """The aggregated sweep. ``table``: one row per (scope, task, hedger), columns as the module docstring
    (each metric with ``_low``/``_high``); ``notes``: disagreements and gaps found in the summaries."""

    table: pd.DataFrame
    summaries: list[TrialSummary]
    notes: list[str] = field(default_factory=list)
    reps: int = 10_000
    level: float = 0.95
    seed: int = 0
    classical: dict[str, dict[str, Any]] = field(default_factory=dict)  # task → its tuned-rules record


@dataclass(frozen=True)
class _Hedger:
    name: str
    kind: str  # "learned" or "classical"
    algo: str  # the algorithm, or "classical"
    hyperparameters: str  # compact JSON of the overrides ("" for a classical hedger)
    runs: dict[str, dict[str, np.ndarray]]  # task → column → values over runs


def _columns(rows: Sequence[Mapping[str, float]], premium: Sequence[float],
             validation_y: Sequence[float] | None = None) -> dict[str, np.ndarray]:
    scale = 100.0 / np.asarray(premium, dtype=np.float64)
    values = {name: np.array([row[name] for row in rows], dtype=np.float64) for name in SUMMARY_METRICS}
    columns = {"y_pct": values["y"] * scale, "cvar_95": values["cvar_95"], "rmse": values["rmse"],
               "max_drawdown": values["max_drawdown"], "cvar_95_pct": values["cvar_95"] * scale,
               "rmse_pct": values["rmse"] * scale, "max_drawdown_pct": values["max_drawdown"] * scale,
               "cbr": values["cbr"]}
    if validation_y is not None:  # learned hedgers: the selection metric, on the validation paths
        columns["validation_y_pct"] = np.asarray(validation_y, dtype=np.float64) * scale
    return columns


def _agree(a: Mapping[str, float], b: Mapping[str, float]) -> bool:
    return all((math.isnan(a[k]) and math.isnan(b[k])) or math.isclose(a[k], b[k], rel_tol=CLASSICAL_TOLERANCE,
                                                                        abs_tol=1e-12) for k in SUMMARY_METRICS)


def _test_text(test: TrialEvaluation) -> str:
    return f"test {{n_paths, seed, cao_hull_c}} = {{{test.n_paths}, {test.seed}, {test.cao_hull_c!r}}}"


def _hedgers(summaries: Sequence[TrialSummary], notes: list[str],
             records: Mapping[str, Mapping[str, Any]] | None = None) -> list[_Hedger]:
    by_task: dict[str, list[TrialSummary]] = {}
    for summary in summaries:
        by_task.setdefault(summary.task, []).append(summary)
    for task, trials in by_task.items():
        first = trials[0]
        for other in trials[1:]:
            if other.test != first.test:
                raise ValueError(f"{other.path}: task {task!r} is tested with {_test_text(other.test)} but "
                                 f"{first.path} with {_test_text(first.test)}: trials of one task must share their "
                                 "test paths and Cao–Hull c")
            if not math.isclose(other.premium, first.premium, rel_tol=CLASSICAL_TOLERANCE):
                notes.append(f"task {task}: premium {other.premium:.10g} in {other.trial_id} differs from "
                             f"{first.premium:.10g} in {first.trial_id}")

    learned: dict[tuple[str, str], dict[str, list[TrialSummary]]] = {}
    for summary in summaries:
        key = (summary.algo, json.dumps(summary.hyperparameters, sort_keys=True, separators=(",", ":")))
        learned.setdefault(key, {}).setdefault(summary.task, []).append(summary)
    sets_per_algo = {algo: sum(1 for a, _ in learned if a == algo) for algo in ALGOS}
    hedgers = []
    for (algo, hyperparameters), tasks in sorted(learned.items()):
        name = algo if sets_per_algo[algo] == 1 else f"{algo}#{hyperparameter_hash(json.loads(hyperparameters))}"
        runs = {task: _columns([t.metrics[t.agent] for t in trials], [t.premium for t in trials],
                               [t.validation_y for t in trials])
                for task, trials in tasks.items()}
        hedgers.append(_Hedger(name, "learned", algo, hyperparameters, runs))

    classical: dict[str, dict[str, dict[str, np.ndarray]]] = {}
    for task, trials in sorted(by_task.items()):
        first = trials[0]
        for hedger, row in first.metrics.items():
            if hedger == first.agent:
                continue
            if hedger in {h.name for h in hedgers}:
                raise ValueError(f"{first.path}: classical hedger {hedger!r} has the name of a learned hedger")
            classical.setdefault(hedger, {})[task] = _columns([row], [first.premium])
            missing = [t.trial_id for t in trials[1:] if hedger not in t.metrics or hedger == t.agent]
            differ = [t.trial_id for t in trials[1:] if hedger in t.metrics and hedger != t.agent
                      and not _agree(row, t.metrics[hedger])]
            if missing:
                notes.append(f"task {task}: classical hedger {hedger} is missing from {', '.join(missing)}")
            if differ:
                notes.append(f"task {task}: classical hedger {hedger} of {first.trial_id} (used) disagrees with its "
                             f"rows in {', '.join(differ)} (relative tolerance {CLASSICAL_TOLERANCE:g}): the trials "
                             "were not evaluated identically")
        extra = sorted({h for t in trials[1:] for h in t.metrics if h != t.agent} - set(first.metrics))
        if extra:
            notes.append(f"task {task}: classical hedger(s) {', '.join(extra)} appear in some trials but not in "
                         f"{first.trial_id} (left out)")
    for task, record in sorted((records or {}).items()):  # the tuned rules (hedgegym.sweep.classical)
        if task not in by_task:
            notes.append(f"task {task}: a tuned classical-rules record but no trial summary (left out)")
            continue
        first = by_task[task][0]
        record_premium, test, rows = parse_test_results(record, f"classical/{task}.json")
        if test != first.test:
            raise ValueError(f"classical/{task}.json: tested with {record['test']} but the trials of task {task!r} "
                             f"with {_test_text(first.test)}: the tuned rules must meet the trials' test paths")
        for hedger, row in rows.items():
            if hedger in {h.name for h in hedgers} or task in classical.get(hedger, {}):
                raise ValueError(f"classical/{task}.json: hedger {hedger!r} is already a row of the summaries")
            classical.setdefault(hedger, {})[task] = _columns([row], [record_premium])
    hedgers += [_Hedger(name, "classical", "classical", "", runs) for name, runs in sorted(classical.items())]
    return hedgers


def _generator(seed: int, *key: str) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32("|".join(key).encode())])


def _interval(per_task: list[np.ndarray], seed: int, reps: int, level: float, *key: str) -> Interval:
    if any(not np.all(np.isfinite(values)) for values in per_task):
        return Interval(math.nan, math.nan, math.nan, np.full(reps, math.nan))
    return aggregate_interval(per_task, "iqm", rng=_generator(seed, *key), reps=reps, level=level)


def _improvement(x: list[np.ndarray], y: list[np.ndarray], seed: int, reps: int, level: float,
                 *key: str) -> Interval:
    if not x:
        return Interval(math.nan, math.nan, math.nan, np.full(reps, math.nan))
    return improvement_interval(x, y, lower_is_better=True, rng=_generator(seed, *key), reps=reps, level=level)


def build_leaderboard(summaries: Sequence[TrialSummary], reps: int = 10_000, level: float = 0.95,
                      seed: int = 0, classical: Mapping[str, Mapping[str, Any]] | None = None) -> Leaderboard:
    """Aggregate the trial summaries into the leaderboard table (module docstring: rows, columns, estimators).

    ``classical``: the sweep's tuned classical-rules records by task (``hedgegym.sweep.classical.load_classical``):
    their ``<rule>_tuned`` rows join the task's classical hedgers (one deterministic run each), so "best classical"
    is the best of the default and the tuned rules. A record tested on other paths than its task's trials is refused.

    ``reps``: bootstrap resamples per interval, in [1, 10⁶]; ``level``: interval coverage in (0, 1); ``seed`` ≥ 0:
    the bootstrap generators' root seed. Raises ``ValueError`` for no summary, bad ``reps``/``level``/``seed``,
    and trials of one task evaluated on different test paths or with a different Cao–Hull c (``TrialSummary.test``).
    """
    if not summaries:
        raise ValueError("summaries: no trial summary to aggregate")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    if isinstance(reps, bool) or not isinstance(reps, int) or not 1 <= reps <= 1_000_000:
        raise ValueError(f"reps must be an integer in [1, 1000000], got {reps!r}")
    if isinstance(level, bool) or not isinstance(level, int | float) or not 0.0 < level < 1.0:
        raise ValueError(f"level must be a number in (0, 1), got {level!r}")
    notes: list[str] = []
    records = {task: dict(record) for task, record in (classical or {}).items()}
    hedgers = _hedgers(summaries, notes, records)
    tasks = sorted({s.task for s in summaries})
    classical = [h for h in hedgers if h.kind == "classical"]
    best = {}
    for task in tasks:
        candidates = [(float(h.runs[task]["y_pct"][0]), h.name) for h in classical if task in h.runs]
        if candidates:
            best[task] = min(candidates)[1]
        else:
            notes.append(f"task {task}: no classical hedger in its summaries (no probability of improvement over one)")
    by_name = {h.name: h for h in hedgers}
    deep = [h for h in hedgers if h.algo == "deep_hedging"]

    rows = []
    for scope in [*tasks, ALL_TASKS]:
        in_scope = tasks if scope == ALL_TASKS else [scope]
        for hedger in hedgers:
            scope_tasks = [t for t in in_scope if t in hedger.runs]
            if not scope_tasks:
                continue
            row: dict[str, Any] = {
                "scope": "task" if scope != ALL_TASKS else ALL_TASKS, "task": scope, "hedger": hedger.name,
                "kind": hedger.kind, "algo": hedger.algo, "hyperparameters": hedger.hyperparameters,
                "n_tasks": len(scope_tasks), "n_runs": int(sum(len(hedger.runs[t]["y_pct"]) for t in scope_tasks))}
            for column in (TASK_COLUMNS if scope != ALL_TASKS else ALL_TASKS_COLUMNS):
                result = _interval([hedger.runs[t][column] for t in scope_tasks], seed, reps, level, scope,
                                   hedger.name, column)
                row.update({column: result.point, f"{column}_low": result.low, f"{column}_high": result.high})
            if hedger.kind == "learned":
                paired = [t for t in scope_tasks if t in best]
                if scope != ALL_TASKS and paired:
                    row["best_classical"] = best[scope]
                result = _improvement([hedger.runs[t]["y_pct"] for t in paired],
                                      [by_name[best[t]].runs[t]["y_pct"] for t in paired], seed, reps, level,
                                      scope, hedger.name, "best_classical")
                row.update({"p_vs_best_classical": result.point, "p_vs_best_classical_low": result.low,
                            "p_vs_best_classical_high": result.high})
            rows.append(row)
    table = pd.DataFrame(rows)
    if deep:
        # chosen on the validation paths, never on the test paths the leaderboard reports
        overall = {h.name: float(np.mean(np.concatenate([runs["validation_y_pct"] for runs in h.runs.values()])))
                   for h in deep}
        reference = by_name[min(overall, key=lambda n: (overall[n], n))]
        if len(deep) > 1:
            notes.append(f"probability of improvement over deep hedging: against {reference.name}, the deep hedger "
                         "with the lowest mean validation Y (% of premium) over its runs (selected on the validation "
                         "paths, not the test paths)")
        for index, row in table.iterrows():
            hedger = by_name[row["hedger"]]
            if hedger.kind != "learned" or hedger.algo == "deep_hedging":
                continue
            in_scope = tasks if row["scope"] == ALL_TASKS else [row["task"]]
            both = [t for t in in_scope if t in hedger.runs and t in reference.runs]
            result = _improvement([hedger.runs[t]["y_pct"] for t in both], [reference.runs[t]["y_pct"] for t in both],
                                  seed, reps, level, row["task"], hedger.name, "deep_hedging")
            table.loc[index, ["p_vs_deep_hedging", "p_vs_deep_hedging_low", "p_vs_deep_hedging_high"]] = (
                result.point, result.low, result.high)
            table.loc[index, "deep_hedging"] = reference.name
    return Leaderboard(table, list(summaries), notes, reps, float(level), seed, records)


def _cell(row: pd.Series, column: str, digits: int = 4) -> str:
    value = row.get(column, math.nan)
    if value is None or not isinstance(value, int | float) or not np.isfinite(value):
        return "—"
    low, high = row.get(f"{column}_low", math.nan), row.get(f"{column}_high", math.nan)
    text = f"{value:,.{digits}g}"
    if np.isfinite(low) and np.isfinite(high) and (low != value or high != value):
        text += f" [{low:,.{digits}g}, {high:,.{digits}g}]"
    return text


def _markdown_rows(frame: pd.DataFrame, columns: Sequence[tuple[str, str]]) -> list[str]:
    lines = ["| hedger | tasks | runs | " + " | ".join(title for _, title in columns) + " |",
             "|---|---:|---:|" + "---:|" * len(columns)]
    for _, row in frame.sort_values(["y_pct", "hedger"], na_position="last").iterrows():
        lines.append(f"| {row['hedger']} | {row['n_tasks']} | {row['n_runs']} | "
                     + " | ".join(_cell(row, c) for c, _ in columns) + " |")
    return lines


def _compute_lines(summaries: Sequence[TrialSummary]) -> list[str]:
    wall = sum(s.wall_time_s for s in summaries)
    core_seconds = sum(s.wall_time_s * s.cpus for s in summaries)
    cpus = sorted({s.cpus for s in summaries})
    start = min(s.finished_at.timestamp() - s.wall_time_s for s in summaries)
    end = max(s.finished_at.timestamp() for s in summaries)
    return [f"- trials: {len(summaries)}; total trial wall time {wall / 3600:,.3g} h ({wall:,.0f} s); cores per "
            f"trial: {', '.join(map(str, cpus))}; core time {core_seconds / 3600:,.3g} core-hours",
            f"- first trial start to last trial end: {(end - start) / 3600:,.3g} h "
            f"({datetime.fromtimestamp(start, UTC):%Y-%m-%d %H:%M} to {datetime.fromtimestamp(end, UTC):%Y-%m-%d %H:%M}"
            " UTC, from each summary's finished_at less its wall time)"]


def _cao_hull_text(summaries: Sequence[TrialSummary]) -> str:
    """The definition of Y with the c of the summaries (each task's from its first trial, as its section says)."""
    by_task: dict[str, float] = {}
    for summary in summaries:
        by_task.setdefault(summary.task, summary.test.cao_hull_c)
    values = sorted(set(by_task.values()))
    if len(values) == 1:
        return f"Y: Cao–Hull E[C] + {values[0]:g}·sd(C) (c = {values[0]:g}, the summaries' test.cao_hull_c)."
    per_task = ", ".join(f"{task} {c:g}" for task, c in sorted(by_task.items()))
    return (f"Y: Cao–Hull E[C] + c·sd(C) with c per task (the summaries' test.cao_hull_c): {per_task}; the tasks "
            "differ in c, so Y over all tasks pools Y's of different c.")


def markdown_report(board: Leaderboard) -> str:
    """The leaderboard as Markdown: method, compute used, the table over tasks, probability of improvement, one
    table per task, notes."""
    table, summaries = board.table, board.summaries
    sweeps = sorted({s.sweep for s in summaries})
    tasks = sorted({s.task for s in summaries})
    pct = [("y_pct", "Y % premium"), ("cvar_95_pct", "CVaR95 % premium"), ("rmse_pct", "RMSE % premium"),
           ("max_drawdown_pct", "max drawdown % premium"), ("cbr", "CBR")]
    lines = [f"# Leaderboard: {', '.join(sweeps)}", "",
             f"{len(summaries)} trials, {len(tasks)} task(s): {', '.join(tasks)}. Each cell: the interquartile mean "
             f"(IQM) over runs with its {board.level:.0%} stratified bootstrap percentile interval ({board.reps:,} "
             f"resamples, seed {board.seed}), as Agarwal et al. (NeurIPS 2021) and rliable define them; lower is "
             "better in every column. Learned hedgers: one run per training seed; classical hedgers: one "
             f"deterministic run per task (runs: seeds, pooled over the tasks counted). {_cao_hull_text(summaries)}",
             "", "## Compute", "",
             *_compute_lines(summaries), "", "## Over all tasks (runs pooled; % of each task's premium)", "",
             *_markdown_rows(table[table["scope"] == ALL_TASKS], pct), ""]
    learned = table[(table["kind"] == "learned")]
    if not learned.empty:
        lines += ["## Probability of improvement in Y", "",
                  "P(a run of the learned hedger has a lower Y than the reference), Mann–Whitney U / (n_x n_y) "
                  "averaged over tasks, with its stratified bootstrap interval. Reference: the best classical hedger "
                  "of each task (lowest Y), and deep hedging.", "",
                  "| scope | hedger | best classical | P(better than best classical) | P(better than deep hedging) |",
                  "|---|---|---|---:|---:|"]
        for _, row in learned.sort_values(["scope", "task", "hedger"]).iterrows():
            reference = row.get("best_classical") if row["scope"] == "task" else "per task"
            reference = reference if isinstance(reference, str) else "—"
            lines.append(f"| {row['task']} | {row['hedger']} | {reference} | {_cell(row, 'p_vs_best_classical', 3)} | "
                         f"{_cell(row, 'p_vs_deep_hedging', 3)} |")
        lines.append("")
    currency = [("y_pct", "Y % premium"), ("cvar_95", "CVaR95"), ("rmse", "RMSE"), ("max_drawdown", "max drawdown"),
                ("cbr", "CBR")]
    for task in tasks:
        premium = next(s.premium for s in summaries if s.task == task)
        test = next(s.test for s in summaries if s.task == task)
        lines += [f"## Task {task}", "", f"Premium {premium:,.4g}; {test.n_paths:,} test paths (seed {test.seed}); "
                  f"Cao–Hull c = {test.cao_hull_c:g}; CVaR95, RMSE and max drawdown in the book's currency.", "",
                  *_markdown_rows(table[(table["scope"] == "task") & (table["task"] == task)], currency), ""]
    hyper = table[(table["kind"] == "learned") & (table["scope"] == ALL_TASKS) & (table["hyperparameters"] != "{}")]
    if not hyper.empty:
        lines += ["## Hyper-parameters", ""] + [f"- {r['hedger']}: `{r['hyperparameters']}`"
                                                 for _, r in hyper.iterrows()] + [""]
    if board.classical:
        lines += ["## Tuned classical rules", "",
                  "`<rule>_tuned`: the rule's free parameter chosen by the lowest Y on the validation paths (never the "
                  "test paths), among the candidates of `hedgegym.evaluation.tuning`; `(edge)`: the best candidate is "
                  "the first or last tried.", "", "| task | rule | parameter | tuned | default | validation paths |",
                  "|---|---|---|---:|---:|---:|"]
        for task, record in sorted(board.classical.items()):
            for rule, tuned in record["tuned"].items():
                edge = " (edge)" if tuned["at_edge"] else ""
                lines.append(f"| {task} | {rule} | {tuned['parameter']} | {tuned['value']:.4g}{edge} | "
                             f"{tuned['default']:.4g} | {record['validation_paths']:,} |")
        lines.append("")
    lines += ["## Notes", "", *(f"- {note}" for note in board.notes or ["none: every classical row agrees across the "
                                                                        "trials of its task"]), "",
              "— : undefined (CBR of the no-hedge reference, or a run whose hedge removes no risk).", ""]
    return "\n".join(lines)


def write_leaderboard(board: Leaderboard, directory: str | Path) -> list[Path]:
    """Write ``leaderboard.csv``, ``leaderboard.md``, ``iqm_y.png``, ``probability_of_improvement.png`` and
    ``report.html`` into a new (or empty) ``directory``, all at once; the paths written.

    Raises ``hedgegym.output.OutputDirError`` (a ``ValueError``) before writing anything when ``directory`` is a
    file, a non-empty directory or cannot be written: results are never overwritten.
    """
    from hedgegym.output import atomic_directory

    final = Path(directory)
    names = ["leaderboard.csv", "leaderboard.md", "iqm_y.png", "probability_of_improvement.png", "report.html"]
    with atomic_directory(final) as temporary:
        board.table.to_csv(temporary / names[0], index=False, float_format="%.10g")
        (temporary / names[1]).write_text(markdown_report(board))
        _plot_iqm(board, temporary / names[2])
        _plot_improvement(board, temporary / names[3])
        (temporary / names[4]).write_text(leaderboard_html(board, [temporary / names[2], temporary / names[3]]))
    return [final / name for name in names]


def leaderboard_html(board: Leaderboard, figures: list[Path]) -> str:
    """The leaderboard as ``report.html`` (``hedgegym.evaluation.html_report``): the IQM table over tasks and one per
    task, each value with its 95% stratified bootstrap interval (the lowest Y highlighted), the figures, the notes."""
    import html

    from hedgegym.evaluation.html_report import ReportTable, figure_html, page, table_html

    columns = ("n_runs", "y_pct", "cvar_95_pct", "rmse_pct", "max_drawdown_pct", "cbr", "p_vs_best_classical")
    formats = {"n_runs": ",d"}
    sections = []
    table = board.table
    for scope, task in [("all tasks", None), *(("task", name) for name in sorted(table["task"].dropna().unique()
                                                                                 if "task" in table else []))]:
        rows = table[table["scope"] == scope] if task is None else table[(table["scope"] == "task")
                                                                         & (table["task"] == task)]
        if rows.empty:
            continue
        frame = rows.sort_values("y_pct", na_position="last").set_index("hedger")
        best = str(frame["y_pct"].idxmin()) if frame["y_pct"].notna().any() else None
        heading = "IQM over all tasks" if task is None else f"Task {task}"
        sections.append((heading, table_html(ReportTable(frame, [c for c in columns if c in frame], caption=(
            "IQM over runs (% of the premium for the _pct columns; lower is better), 95% stratified bootstrap "
            "intervals; p_vs_best_classical: probability of improvement over the best classical rule"),
            best=best, formats=formats))))
    sections.append(("Figures", "".join(figure_html(path) for path in figures)))
    notes = board.notes or ["none: every classical row agrees across the trials of its task"]
    sections.append(("Notes", "<ul>" + "".join(f"<li>{html.escape(note)}</li>" for note in notes) + "</ul>"))
    sweeps = ", ".join(sorted({summary.sweep for summary in board.summaries}))
    return page(f"Leaderboard: {sweeps}", sections)


def _plot_iqm(board: Leaderboard, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    table = board.table
    panels = [*sorted(table.loc[table["scope"] == "task", "task"].unique()), ALL_TASKS]
    figure, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 0.45 * table["hedger"].nunique() + 1.8),
                                squeeze=False)
    for axis, panel in zip(axes[0], panels, strict=True):
        chosen = table["scope"] == ALL_TASKS if panel == ALL_TASKS else (table["scope"] == "task") & (
            table["task"] == panel)
        rows = table[chosen].sort_values("y_pct", ascending=False, na_position="first")
        y = np.arange(len(rows))
        colours = ["tab:blue" if kind == "learned" else "tab:grey" for kind in rows["kind"]]
        error = np.vstack([rows["y_pct"] - rows["y_pct_low"], rows["y_pct_high"] - rows["y_pct"]])
        axis.errorbar(rows["y_pct"], y, xerr=np.nan_to_num(error), fmt="none", ecolor="black", capsize=3, lw=1)
        axis.scatter(rows["y_pct"], y, c=colours, zorder=3)
        axis.set_yticks(y, rows["hedger"], fontsize=8)
        axis.set(xlabel="IQM Y (% of premium), lower is better", title=panel)
        axis.grid(axis="x", alpha=0.3)
    figure.suptitle(f"IQM Y with {board.level:.0%} stratified bootstrap intervals (blue: learned, grey: classical)",
                    fontsize=10)
    _save(figure, path)


def _plot_improvement(board: Leaderboard, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    table = board.table
    learned = table[table["kind"] == "learned"]
    pairs = []
    for _, row in learned.iterrows():
        for column, label in (("p_vs_best_classical", "best classical"), ("p_vs_deep_hedging", "deep hedging")):
            if column in row and np.isfinite(row[column]):
                scope = ALL_TASKS if row["scope"] == ALL_TASKS else f"task {row['task']}"
                pairs.append((scope, f"{row['hedger']} vs {label}", row[column], row[f"{column}_low"],
                              row[f"{column}_high"]))
    labels = sorted({p[1] for p in pairs})
    scopes = [*sorted({p[0] for p in pairs} - {ALL_TASKS}), ALL_TASKS]
    figure, axis = plt.subplots(figsize=(8, 0.6 * max(len(labels), 1) + 1.8))
    for k, scope in enumerate(scopes):
        chosen = [p for p in pairs if p[0] == scope]
        if not chosen:
            continue
        offset = (k - (len(scopes) - 1) / 2) * 0.8 / max(len(scopes), 1)
        y = np.array([labels.index(p[1]) for p in chosen]) + offset
        points = np.array([p[2] for p in chosen])
        error = np.vstack([points - np.array([p[3] for p in chosen]), np.array([p[4] for p in chosen]) - points])
        style = {"color": "black", "marker": "D"} if scope == ALL_TASKS else {"marker": "o"}
        axis.errorbar(points, y, xerr=error, fmt="none", capsize=3, lw=1, ecolor=style.get("color", f"C{k}"))
        axis.scatter(points, y, label=scope, zorder=3, **({"c": "black"} if scope == ALL_TASKS else {"c": f"C{k}"}),
                     marker=style["marker"])
    axis.axvline(0.5, color="grey", ls="--", lw=1)
    axis.set_yticks(np.arange(len(labels)), labels, fontsize=8)
    axis.set(xlim=(-0.02, 1.02), xlabel="P(lower Y than the reference)",
             title=f"probability of improvement with {board.level:.0%} stratified bootstrap intervals")
    if pairs:
        axis.legend(fontsize=8)
    _save(figure, path)


def _save(figure: Any, path: Path) -> None:
    import matplotlib.pyplot as plt

    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
