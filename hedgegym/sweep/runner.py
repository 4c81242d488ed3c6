"""``hedgegym sweep``: tasks × algorithms × seeds × hyper-parameters on Ray Tune, one run directory per trial.

Each trial (``run_trial``, in a Ray worker with ``cpus_per_trial`` CPUs and as many torch threads,
``OMP_NUM_THREADS`` likewise through Ray's ``runtime_env``):

1. reports the known outcome — the validation points of a trial the scheduler stopped, the validation Y of a
   summarised one — and returns when the driver lists the trial as done (``settings["done"]``; an Optuna search that
   starts again replays its trials through this);
2. trains its config — the task's experiment config, shipped by the driver (workers read no config file), with the
   trial's overrides, hyper-parameters and ``agent.seed`` — with ``hedgegym.agents.training.train`` into a new run
   directory under ``<sweep dir>/runs/<trial_id>/``; an unfinished PPO/SAC run found there (an interrupted sweep)
   is continued from its last checkpoint (``training.resume``), a finished one without a summary is reused; no run
   directory is ever overwritten;
3. scores the agent on the validation stream (child stream 3 of ``SeedSequence(evaluation.seed)``,
   ``validation_paths`` paths: never the test paths) — Cao–Hull Y, the selection metric; PPO/SAC also report
   every ``hedge/*`` validation point during training, so an ASHA scheduler can stop a trial early;
4. reports its summary (``hedgegym.sweep.summary``: the run's final evaluation on the task's common test paths,
   ``evaluation/results.csv``, the agent and every classical hedger) with its last result.

The driver (``run_sweep``) checks every summary already in the summaries directory against the trial's config
(``config_sha256``: a changed config file under an old trial id is refused), plans the trials (``plan_trials``: grid
or seeded random draws, so the same sweep file gives the same trial ids anywhere), leaves out those already
summarised or stopped (a sweep on a fresh machine resumes from the committed summaries; nothing left: Ray is not even
started), and runs the rest on Ray Tune with a rich progress display (trials done / running / left): one experiment
``trials`` without a scheduler, one per (task, algorithm) with ASHA (a scheduler compares the trials of one task and
algorithm only), one Optuna search (TPE, seeded) of ``num_samples`` trials per (task, algorithm, seed). The driver
writes each trial's summary as Tune completes it (``<summaries>/<trial_id>.json``; with ``--address`` the workers of
a cluster write only their run directories, under the same sweep-directory path on their own disks) and, for a
trial the scheduler stopped, a marker ``<summaries>/stopped/<trial_id>.json`` with its validation points, so no
rerun trains it again. Afterwards it writes TensorBoard's HParams dashboard (``<sweep dir>/hparams/<trial_id>/``:
task, algorithm, seed and hyper-parameters with the validation Y, ``SummaryWriter.add_hparams``) and, for a
hyper-parameter search, the best configuration per (task, algorithm) — the lowest mean validation Y over the seeds
that ran it — as a YAML experiment config in ``<sweep dir>/best/``.

With ``tune_classical``, the driver first tunes each task's classical rules on the validation paths and scores them
on the task's test paths, once per task (``hedgegym.sweep.classical``: ``<summaries>/classical/<task>.json``), so
the leaderboard ranks the agents against tuned rules as well as the defaults.

Interruptions. A sweep killed mid-way is continued by running it again: finished trials are skipped by their
summaries, an interrupted PPO/SAC trial continues from its checkpoint, an interrupted deep-hedging trial starts a
new run directory beside the partial one. ``stop_after`` (``--max-trials``) runs only that many of the trials left
(an Optuna sweep: whole searches, until that many trials have finished; experiments restored by ``resume`` run in
full first). ``resume=`` (``--resume``: the sweep's
``tune`` directory or one experiment in it) restores Tune's experiment state with ``Tuner.restore`` (unfinished and
errored trials run again; an Optuna search keeps its sampler's history) before the trials left are run.
``tensorboard --logdir <sweep dir>`` shows every trial's scalars (``runs/<id>/<run>/tb``) and the HParams.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from hedgegym import __version__
from hedgegym.config import ConfigError, ExperimentConfig, apply_overrides, load_config
from hedgegym.output import unused_name
from hedgegym.sweep.classical import classical_record, load_classical, task_sha256, write_classical
from hedgegym.sweep.config import REQUIRED_CONFIG_SECTIONS, SweepConfig, SweepConfigError
from hedgegym.sweep.summary import (
    SCHEMA,
    config_sha256,
    load_summaries,
    metrics_from_table,
    premium,
    read_json_folder,
    trial_id,
    write_json_once,
    write_summary,
)

__all__ = ["STOPPED_SCHEMA", "SweepResult", "TrialSpec", "base_config", "best_configurations", "load_stopped",
           "plan_trials", "run_sweep", "run_trial", "trial_config", "validation_y", "write_hparams"]

METRIC = "validation_y"
TRIAL_KEY = "hedgegym_trial"
"""The result key naming the hedgegym trial id (Tune overwrites ``trial_id`` in results with its own)."""
GRID_EXPERIMENT = "trials"
STOPPED_SCHEMA = "hedgegym.stopped/1"
SEARCH_SCHEMA = "hedgegym.search/1"


@dataclass(frozen=True)
class TrialSpec:
    """One trial: the task, the algorithm, the seed, the config it starts from (as written in the sweep file) and
    every override it applies (``hyperparameters``: the sweep's fixed ones and the searched ones)."""

    task: str
    algo: str
    seed: int
    config: str
    hyperparameters: dict[str, Any] = field(default_factory=dict)

    @property
    def trial_id(self) -> str:
        return trial_id(self.task, self.algo, self.seed, self.hyperparameters)


@dataclass
class SweepResult:
    """What a sweep did: the trial ids planned, found done (summarised or stopped) before it started, summarised
    now, stopped early now by the scheduler, and the failed ones (id → error); ``left``: trials of the sweep still
    to run; ``best``: the best-configuration YAML files written; ``experiments``: the Tune experiment directories;
    ``classical``: the tuned classical-rules records written now (``tune_classical``)."""

    planned: list[str]
    skipped: list[str]
    finished: list[str]
    stopped: list[str]
    failed: dict[str, str]
    left: int
    best: list[Path]
    experiments: list[Path]
    classical: list[Path] = field(default_factory=list)


def plan_trials(sweep: SweepConfig) -> list[TrialSpec]:
    """Every trial of a grid or random sweep, in task, algorithm, hyper-parameter set, seed order."""
    trials = []
    for task in sweep.tasks:
        for algo, config in task.configs.items():
            fixed = sweep.algorithm_overrides(algo)
            for searched in sweep.hyperparameter_sets(task.name, algo):
                for seed in sweep.seeds:
                    trials.append(TrialSpec(task.name, algo, seed, config, {**fixed, **searched}))
    return trials


def base_config(path: str | Path, base_dir: Path | None = None) -> ExperimentConfig:
    """The experiment config file a trial starts from (relative paths under ``base_dir``); ``ConfigError``."""
    path = Path(path)
    if base_dir is not None and not path.is_absolute():
        path = base_dir / path
    return load_config(path, required=REQUIRED_CONFIG_SECTIONS)


def trial_config(spec: TrialSpec, base: ExperimentConfig) -> ExperimentConfig:
    """The trial's experiment config: ``base`` (its file) with ``hyperparameters`` and ``agent.seed`` applied and
    validated (``ConfigError`` naming the field)."""
    return apply_overrides(base, {**spec.hyperparameters, "agent.seed": spec.seed},
                           source=f"{spec.config} with the trial's overrides")


def validation_y(agent, config: ExperimentConfig, n_paths: int) -> float:
    """Cao–Hull Y (−mean + ``evaluation.cao_hull_c`` · sd of the hedged P&L, currency) of ``agent`` on ``n_paths``
    paths of the validation stream (``hedgegym.agents.callbacks.validation_paths``; disjoint from the test paths),
    as ``HedgeMetricsCallback`` logs ``hedge/y``."""
    from hedgegym.agents.callbacks import validation_paths
    from hedgegym.env.features import Scales
    from hedgegym.evaluation.metrics import metric_values
    from hedgegym.evaluation.rollout import evaluate

    result = evaluate(agent, config, paths=validation_paths(config, n_paths))
    scales = Scales.from_setup(config.market.build(), config.build_book())
    return float(metric_values(result.per_path, None, scales.value, config.evaluation.cao_hull_c)["y"])


def _git_commit() -> str | None:
    import subprocess

    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, capture_output=True,
                             text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    commit = out.stdout.strip()
    return commit if out.returncode == 0 and len(commit) == 40 else None


def _finished_run(runs: Path, config: ExperimentConfig) -> tuple[Path | None, Path | None]:
    """(a finished run of ``config`` under ``runs``, an unfinished PPO/SAC run with a checkpoint), newest first."""
    from hedgegym.agents.checkpoint import list_checkpoints
    from hedgegym.config import ConfigError

    unfinished = None
    if not runs.is_dir():
        return None, None
    for run in sorted((p for p in runs.iterdir() if (p / "config.yaml").is_file()), reverse=True):
        try:
            if load_config(run / "config.yaml") != config:
                continue
        except ConfigError:
            continue
        final = run / ("final_model.pt" if config.agent.algo == "deep_hedging" else "final_model.zip")
        if final.is_file() and (run / "evaluation" / "results.csv").is_file():
            return run, None
        if unfinished is None and config.agent.algo != "deep_hedging" and list_checkpoints(run / "checkpoints"):
            unfinished = run
    return None, unfinished


def _report(metrics: dict[str, Any]) -> None:
    from ray import tune

    tune.report(metrics)


def run_trial(spec: Mapping[str, Any], settings: Mapping[str, Any],
              report: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any] | None:
    """Run one trial (see the module docstring); returns its summary (``None`` for a trial listed as done).

    ``spec``: a ``TrialSpec`` as a dict; ``settings``: ``sweep`` (name), ``sweep_dir`` (absolute), ``configs``
    (``"<task>/<algo>"`` → the base experiment config as ``model_dump(mode="json")``), ``done`` (trial id →
    ``{"y": …, "history": [[step, y], …]}`` of trials summarised or stopped), ``validation_paths``, ``cpus``.
    ``report`` (default ``ray.tune.report``) receives ``{"validation_y": …, "hedgegym_trial": id}`` at every
    validation point (with ``step``) and at the end, the last time with the summary as JSON (``summary``)."""
    import torch

    from hedgegym.agents.training import load_agent, resume, train

    report = report or _report
    started = time.perf_counter()
    threads = max(1, int(settings["cpus"]))
    torch.set_num_threads(threads)
    spec = TrialSpec(**dict(spec))
    identifier = spec.trial_id
    known = settings.get("done", {}).get(identifier)
    if known is not None:  # replay what is known: a search's sampler and scheduler see the same trial again
        for step, y in known.get("history") or []:
            report({METRIC: y, "step": step, TRIAL_KEY: identifier, "skipped": True})
        if known.get("summarised"):
            report({METRIC: known["y"], TRIAL_KEY: identifier, "skipped": True})
        return None
    shipped = settings["configs"].get(f"{spec.task}/{spec.algo}")
    if shipped is None:
        raise SweepConfigError(f"trial {identifier}: task {spec.task!r} with {spec.algo} is not in this sweep (a "
                               "--resume of another sweep's Tune experiment?)")
    base = ExperimentConfig.model_validate(shipped)
    config = trial_config(spec, base)
    runs = Path(settings["sweep_dir"]) / "runs" / identifier
    run, unfinished = _finished_run(runs, config)
    def on_validation(step: int, metrics: dict[str, float]) -> None:
        report({METRIC: metrics["y"], "step": step, TRIAL_KEY: identifier})

    if run is None and unfinished is not None:
        resume(unfinished, validation_paths=settings["validation_paths"], on_validation=on_validation)
        run = unfinished
    elif run is None:
        run = train(config, runs, validation_paths=settings["validation_paths"], on_validation=on_validation)
    agent, _ = load_agent(run)
    table = pd.read_csv(run / "evaluation" / "results.csv", index_col=0)
    y = validation_y(agent, config, settings["validation_paths"])
    summary = {
        "schema": SCHEMA, "sweep": settings["sweep"], "trial_id": identifier, "task": spec.task,
        "config": spec.config, "config_sha256": config_sha256(config), "algo": spec.algo, "seed": spec.seed,
        "hyperparameters": spec.hyperparameters, "premium": premium(config),
        "test": {"n_paths": config.evaluation.n_paths, "seed": config.evaluation.seed,
                 "cao_hull_c": config.evaluation.cao_hull_c},
        "agent": agent.name, "metrics": metrics_from_table(table), "validation": {"y": y},
        "wall_time_s": time.perf_counter() - started, "cpus": threads, "hedgegym_version": __version__,
        "git_commit": _git_commit(), "finished_at": _now(),
    }
    report({METRIC: y, TRIAL_KEY: identifier, "skipped": False, "summary": json.dumps(summary, allow_nan=False)})
    return summary


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _spec_of(config: Mapping[str, Any], keys: Mapping[str, str] | None) -> TrialSpec:
    """The trial of a Tune trial's config: ``config["trial"]`` (grid/random), or ``task``/``algo``/``seed``/
    ``config``/``fixed`` with the sampled ``hp`` (optuna, keys ``hp_<i>`` → ``keys``)."""
    if "trial" in config:
        return TrialSpec(**config["trial"])
    sampled = {keys[name]: value for name, value in config["hp"].items()}
    return TrialSpec(config["task"], config["algo"], config["seed"], config["config"],
                     {**config["fixed"], **sampled})


def _tune_trainable(config: dict[str, Any], settings: dict[str, Any]) -> None:
    """Tune's function trainable: the trial of ``config`` (``_spec_of``) run by ``run_trial``."""
    run_trial(asdict(_spec_of(config, settings.get("keys"))), settings)


def _tune_space(space: Mapping[str, Mapping[str, list]]) -> tuple[dict[str, Any], dict[str, str]]:
    """Tune's search space for ``space`` (``choice``/``grid`` → ``tune.choice``, ``uniform``, ``loguniform``), with
    keys ``hp_<i>`` (dotted config keys are not parameter names) and the map back."""
    from ray import tune

    names = _tune_space_keys(space)
    out = {}
    for name, key in names.items():
        kind, values = next(iter(space[key].items()))
        out[name] = {"grid": tune.choice, "choice": tune.choice}[kind](values) if kind in ("grid", "choice") \
            else (tune.uniform if kind == "uniform" else tune.loguniform)(*values)
    return out, names


# --- stopped trials -------------------------------------------------------------------------------------------


def _stopped_path(summaries: Path, identifier: str) -> Path:
    return summaries / "stopped" / f"{identifier}.json"


def load_stopped(summaries: str | Path) -> dict[str, dict[str, Any]]:
    """The stopped-trial markers (``<summaries>/stopped/<trial_id>.json``, schema ``hedgegym.stopped/1``) by trial
    id: ``trial_id``, ``task``, ``algo``, ``seed``, ``hyperparameters``, ``config_sha256``, ``history``
    (``[[step, validation Y], …]`` as reported before the scheduler stopped the trial), ``finished_at``.
    ``SweepConfigError`` naming a file that is not such a marker."""
    return read_json_folder(Path(summaries) / "stopped", _check_stopped, SweepConfigError)


def _check_stopped(marker: Any, path: Path) -> dict[str, Any]:
    try:
        ok = marker.get("schema") == STOPPED_SCHEMA and marker.get("trial_id") == path.stem and isinstance(
            marker.get("config_sha256"), str) and all(key in marker for key in (
                "task", "algo", "seed", "hyperparameters")) and all(
            len(point) == 2 and all(isinstance(v, int | float) for v in point) for point in marker["history"])
    except (TypeError, KeyError, AttributeError):
        ok = False
    if not ok:
        raise SweepConfigError(f"{path}: not a stopped-trial marker (schema {STOPPED_SCHEMA}, trial_id equal to "
                               "the file name, task, algo, seed, hyperparameters, config_sha256, history "
                               "[[step, y], ...])")
    return marker


def _search_path(summaries: Path, sweep: str, search: str) -> Path:
    return summaries / "searches" / f"{sweep}__{search}.json"


# --- the driver -----------------------------------------------------------------------------------------------


class _Live:
    """The running sweep, seen from Tune's callback in the driver: the progress counts, and where each completed
    trial's summary (or stopped marker) goes."""

    def __init__(self, total: int, done: int, summaries: Path, sweep: str, hashes: Callable[[TrialSpec], str],
                 keys: Mapping[str, str] | None = None, refresh: Callable[[], None] | None = None) -> None:
        self.total, self.done, self.running = total, done, 0
        self.summaries, self.sweep, self.keys, self.hashes = summaries, sweep, keys, hashes
        self.refresh = refresh or (lambda: None)
        self.finished: list[str] = []
        self.stopped: list[str] = []
        self.failed: dict[str, str] = {}
        self.histories: dict[str, list[list[float]]] = {}
        self.ended: tuple[int, int] | None = None  # (trials Tune created, those that ended) in the last experiment

    def result(self, trial, result: Mapping[str, Any]) -> None:
        if "step" in result and not result.get("skipped") and TRIAL_KEY in result:  # by Tune's id: one attempt
            self.histories.setdefault(trial.trial_id, []).append([int(result["step"]), float(result[METRIC])])

    def complete(self, trial) -> None:
        """A trial Tune completed (finished, or stopped by the scheduler): write its summary or stopped marker."""
        self.running = max(self.running - 1, 0)
        last = trial.last_result or {}
        identifier = last.get(TRIAL_KEY)
        if "summary" in last:
            summary = json.loads(last["summary"])
            try:
                write_summary(self.summaries, summary)
            except FileExistsError:  # a summary is never overwritten; the same trial twice keeps the first
                pass
            else:
                self.finished.append(summary["trial_id"])
                self.done += 1
        elif identifier is not None and not last.get("skipped") and METRIC in last:
            spec = _spec_of(trial.config, self.keys)
            marker = {"schema": STOPPED_SCHEMA, "sweep": self.sweep, "trial_id": identifier, "task": spec.task,
                      "algo": spec.algo, "seed": spec.seed, "hyperparameters": spec.hyperparameters,
                      "config_sha256": self.hashes(spec), "history": self.histories.get(trial.trial_id, []),
                      "finished_at": _now()}
            try:
                write_json_once(_stopped_path(self.summaries, identifier), marker, "a stopped-trial marker")
            except FileExistsError:
                pass
            else:
                self.stopped.append(identifier)
                self.done += 1
        self.refresh()

    def experiment_end(self, trials) -> None:
        """Tune ended an experiment, finished or interrupted: how many trials it created and how many ended — failed,
        or reported ``done`` (a natural end or a scheduler's stop; on a SIGINT Tune's clean-up marks running trials
        TERMINATED without it)."""
        self.ended = (len(trials), sum(trial.status == "ERROR" or bool((trial.last_result or {}).get("done"))
                                       for trial in trials))

    def error(self, trial) -> None:
        self.running = max(self.running - 1, 0)
        try:
            label = _spec_of(trial.config, self.keys).trial_id
        except (KeyError, TypeError):
            label = str(trial)
        error = getattr(trial, "error_message", None) or "error"
        lines = [line for line in str(error).strip().splitlines() if line.strip()]
        self.failed[label] = lines[-1] if lines else "error"
        self.refresh()


_ACTIVE: list[_Live] = []
"""The sweep running in this process. Tune pickles its callbacks with the experiment state, so they find the live
sweep here (also after ``Tuner.restore``) instead of holding it."""


def _active() -> _Live | None:
    return _ACTIVE[-1] if _ACTIVE else None


def _callback():
    from ray.tune import Callback

    class SweepCallback(Callback):
        """Writes each completed trial's summary or stopped marker in the driver and updates the display."""

        def on_trial_start(self, iteration, trials, trial, **info) -> None:
            if (live := _active()) is not None:
                live.running += 1
                live.refresh()

        def on_trial_result(self, iteration, trials, trial, result, **info) -> None:
            if (live := _active()) is not None:
                live.result(trial, result)

        def on_trial_complete(self, iteration, trials, trial, **info) -> None:
            if (live := _active()) is not None:
                live.complete(trial)

        def on_trial_error(self, iteration, trials, trial, **info) -> None:
            if (live := _active()) is not None:
                live.error(trial)

        def on_experiment_end(self, trials, **info) -> None:
            if (live := _active()) is not None:
                live.experiment_end(trials)

    return SweepCallback()


def _restorable(resume: Path) -> list[Path]:
    """The Tune experiments to restore: ``resume`` itself, or each experiment directory in it (sorted)."""
    from ray.tune import Tuner

    if Tuner.can_restore(str(resume)):
        return [resume]
    return [path for path in sorted(resume.iterdir()) if path.is_dir() and Tuner.can_restore(str(path))]


def _ensure_ray(address: str | None, threads: int) -> bool:
    """``ray.init`` (local: this machine's cores; else the cluster at ``address``) unless Ray is initialised;
    whether this call started it."""
    import ray

    if ray.is_initialized():
        return False
    runtime = {"env_vars": {"OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}}
    if address is None:
        ray.init(num_cpus=os.cpu_count(), include_dashboard=False, runtime_env=runtime, log_to_driver=False)
    else:
        ray.init(address=address, runtime_env=runtime, log_to_driver=False)
    return True


def _check_summaries(records: Mapping[str, Mapping[str, Any]], bases: Mapping[tuple[str, str], ExperimentConfig],
                     where: Path) -> None:
    """``SweepConfigError`` naming each summary or stopped marker of this sweep's tasks whose ``config_sha256`` is not
    that of the trial's config now (the config file or an override changed under the same trial id), or whose
    overrides no longer apply to it."""
    stale = []
    for identifier, record in records.items():
        base = bases.get((record["task"], record["algo"]))
        if base is None:
            continue
        spec = TrialSpec(record["task"], record["algo"], record["seed"], record.get("config", ""),
                         dict(record["hyperparameters"]))
        try:
            digest = config_sha256(trial_config(spec, base))
        except ConfigError as error:
            raise SweepConfigError(f"{where / identifier}.json: its overrides do not apply to the task's config "
                                   f"now: {error}") from None
        if digest != record["config_sha256"]:
            stale.append(identifier)
    if stale:
        raise SweepConfigError(
            f"{len(stale)} record{'' if len(stale) == 1 else 's'} in {where} were written for another experiment "
            f"config than the sweep's now (config_sha256 differs): {', '.join(stale)}. A trial id names the task, "
            "algorithm, seed and hyper-parameters only; after changing a task's config file, give the sweep a new "
            "name (or summaries directory), or move those summaries away")


def run_sweep(sweep: SweepConfig, address: str | None = None, resume: str | Path | None = None,
              stop_after: int | None = None, console=None, base_dir: str | Path | None = None) -> SweepResult:
    """Run ``sweep`` (see the module docstring); returns what was done.

    ``address``: a Ray cluster (``ray://host:port`` or ``auto``), default a local instance with this machine's
    cores (an already initialised Ray session is used as it is). ``resume``: a ``<sweep dir>/tune`` directory, or an
    experiment in it, to restore with ``Tuner.restore`` first (in full). ``stop_after``: then run only that many of
    the trials left (Optuna: whole searches until that many trials have finished). ``base_dir``: where relative
    config paths of the sweep file are read from (default the working directory). Raises ``SweepConfigError`` for a
    bad sweep, a ``resume`` that is not a directory, or a summary or stopped marker written for another config, and
    ``SummaryError`` for a malformed summary, before any trial runs.
    """
    from rich.console import Console

    console = console or Console()
    if stop_after is not None and (isinstance(stop_after, bool) or not isinstance(stop_after, int) or stop_after < 1):
        raise SweepConfigError(f"stop_after must be an integer >= 1, got {stop_after!r}")
    base = Path(base_dir or Path.cwd()).resolve()
    resume = None if resume is None else Path(resume)
    if resume is not None and not resume.is_dir():
        raise SweepConfigError(f"--resume {resume}: no such directory (expected <sweep dir>/tune or an experiment "
                               "in it)")
    configs = sweep.experiment_configs(base)  # every config loads with its overrides; one market per task
    bases = {(task.name, algo): base_config(path, base) for task in sweep.tasks for algo, path in task.configs.items()}
    summaries_dir = _absolute(sweep.summaries_dir, base)
    sweep_dir = _absolute(sweep.sweep_dir, base)
    summaries = load_summaries(summaries_dir)
    stopped = load_stopped(summaries_dir)
    _check_summaries({**stopped, **summaries}, bases, summaries_dir)
    classical_written = _tune_classical(sweep, configs, summaries_dir, console) if sweep.tune_classical else []
    done = {key: {"y": value["validation"]["y"], "summarised": True} for key, value in summaries.items()}
    for key, marker in stopped.items():
        done.setdefault(key, {"y": marker["history"][-1][1] if marker["history"] else math.nan,
                              "history": marker["history"]})
    settings = {"sweep": sweep.name, "sweep_dir": str(sweep_dir), "validation_paths": sweep.validation_paths,
                "cpus": max(1, int(sweep.cpus_per_trial)), "done": done,
                "configs": {f"{task}/{algo}": config.model_dump(mode="json") for (task, algo), config in bases.items()}}
    if sweep.search.algorithm == "optuna":
        planned: list[str] = []
        skipped = sorted(_of_sweep(sweep.name, summaries, stopped))
        planned_total = sum(len(task.configs) for task in sweep.tasks) * len(sweep.seeds) * sweep.search.num_samples
        already, todo = min(len(skipped), planned_total), []
    else:
        trials = plan_trials(sweep)
        planned = [trial.trial_id for trial in trials]
        skipped = [key for key in planned if key in done]
        todo = [trial for trial in trials if trial.trial_id not in done]
        planned_total, already = len(trials), len(skipped)
    live = _Live(planned_total, already, summaries_dir, sweep.name,
                 lambda spec: config_sha256(trial_config(spec, bases[spec.task, spec.algo])))
    experiments: list[Path] = []
    tune_dir = sweep_dir / "tune"
    restore = _restorable(resume) if resume is not None else []
    optuna = sweep.search.algorithm == "optuna"
    work = bool(restore) or bool(todo) or (optuna and bool(_searches_left(sweep, summaries_dir)))
    if work:
        started_ray = _ensure_ray(address, settings["cpus"])
        _ACTIVE.append(live)
        try:
            with _progress(console, sweep.name, live):
                for path in restore:  # interrupted experiments first: their unfinished and errored trials
                    keys = _keys_of(sweep, path.name)
                    live.keys = keys
                    results = _fit(sweep, path, True, {}, keys, settings)
                    experiments.append(path)
                    restored = {_spec_of(r.config, keys).trial_id for r in results if r.config}
                    todo = [trial for trial in todo if trial.trial_id not in restored]
                if not optuna:
                    if stop_after is not None:
                        todo = todo[:max(stop_after - len(live.finished) - len(live.stopped), 0)]
                    live.keys = None
                    for name, group in _experiments(sweep, todo):
                        path = unused_name(tune_dir, name)
                        _fit(sweep, path, False, {"trial": _grid([asdict(trial) for trial in group])}, None, settings,
                             expected=len(group))
                        experiments.append(path)
                for name, (task, algo, seed, config) in _searches_left(sweep, summaries_dir) if optuna else []:
                    if stop_after is not None and len(live.finished) + len(live.stopped) >= stop_after:
                        break
                    hp, keys = _tune_space(sweep.search_space[algo])
                    live.keys = keys
                    space = {"task": task, "algo": algo, "seed": seed, "config": config,
                             "fixed": sweep.algorithm_overrides(algo), "hp": hp}
                    path = unused_name(tune_dir, name)
                    results = _fit(sweep, path, False, space, keys, settings, expected=sweep.search.num_samples)
                    experiments.append(path)
                    ids = sorted({_spec_of(r.config, keys).trial_id for r in results if r.config})
                    write_json_once(_search_path(summaries_dir, sweep.name, name), {
                        "schema": SEARCH_SCHEMA, "sweep": sweep.name, "search": name, "experiment": path.name,
                        "trials": ids, "failed": sorted(set(ids) & set(live.failed)), "finished_at": _now()},
                        "a search record")
        finally:
            _ACTIVE.remove(live)
            if started_ray:
                import ray

                ray.shutdown()
    summaries = load_summaries(summaries_dir)
    stopped = load_stopped(summaries_dir)
    if optuna:
        planned = sorted(_of_sweep(sweep.name, summaries, stopped))
        mine = {key: summaries[key] for key in planned if key in summaries}
        left = max(planned_total - len(planned), 0)
    else:
        mine = {key: summaries[key] for key in planned if key in summaries}
        left = sum(key not in summaries and key not in stopped for key in planned)
    write_hparams(mine.values(), sweep_dir / "hparams")
    best = best_configurations(sweep, mine.values(), sweep_dir / "best", base) if any(
        sweep.search_space.values()) else []
    return SweepResult(planned, skipped, live.finished, live.stopped, live.failed, left, best, experiments,
                       classical_written)


def _tune_classical(sweep: SweepConfig, configs: Mapping[tuple[str, str], ExperimentConfig], summaries: Path,
                    console) -> list[Path]:
    """Each task's tuned classical-rules record (``hedgegym.sweep.classical``), written unless there is one; a
    record of another task config is refused (``SweepConfigError``)."""
    records = load_classical(summaries)
    written = []
    for task in sweep.tasks:
        config = configs[task.name, next(iter(task.configs))]
        record = records.get(task.name)
        if record is not None:
            if record["task_sha256"] != task_sha256(config):
                raise SweepConfigError(f"{summaries / 'classical' / task.name}.json was written for another config of "
                                       f"task {task.name!r} (task_sha256 differs); rename the sweep or move it away")
            continue
        with console.status(f"tuning the classical rules of task {task.name} on {sweep.classical_validation_paths:,} "
                            "validation paths"):
            record = classical_record(sweep.name, task.name, config, sweep.classical_validation_paths)
        written.append(write_classical(summaries, record))
    return written


def _of_sweep(name: str, *records: Mapping[str, Mapping[str, Any]]) -> set[str]:
    """The trial ids among ``records`` (summaries, stopped markers) written by the sweep ``name``."""
    return {key for found in records for key, value in found.items() if value.get("sweep") == name}


def _searches_left(sweep: SweepConfig, summaries: Path) -> list[tuple[str, tuple[str, str, int, str]]]:
    """The Optuna searches (``<task>__<algo>__<seed>``, (task, algo, seed, config path)) not yet complete: without a
    search record (``<summaries>/searches/<sweep>__<search>.json``, written when its Tune experiment ended
    uninterrupted: failed trials and repeated samples included) and with fewer than ``search.num_samples`` trials
    summarised or stopped, as the summaries directory holds them now."""
    records = [value for found in (load_summaries(summaries), load_stopped(summaries)) for value in found.values()
               if value.get("sweep") == sweep.name]
    out = []
    for task in sweep.tasks:
        for algo, config in task.configs.items():
            for seed in sweep.seeds:
                count = sum((r["task"], r["algo"], r["seed"]) == (task.name, algo, seed) for r in records)
                recorded = _search_path(summaries, sweep.name, f"{task.name}__{algo}__{seed}").is_file()
                if count < sweep.search.num_samples and not recorded:
                    out.append((f"{task.name}__{algo}__{seed}", (task.name, algo, seed, config)))
    return out


def _progress(console, name: str, live: _Live):
    """The rich display of ``live`` (trials done / running / left), as a context manager."""
    from contextlib import contextmanager

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    @contextmanager
    def display():
        with Progress(TextColumn("[bold]sweep {task.fields[name]}"), BarColumn(), MofNCompleteColumn(),
                      TextColumn("done · {task.fields[running]} running · {task.fields[left]} left"),
                      TimeElapsedColumn(), console=console) as progress:
            bar = progress.add_task("sweep", total=live.total, completed=live.done, name=name, running=0,
                                    left=live.total - live.done)

            def refresh() -> None:
                progress.update(bar, completed=min(live.done, live.total), running=live.running,
                                left=max(live.total - live.done - live.running, 0))

            live.refresh = refresh
            yield

    return display()


def _keys_of(sweep: SweepConfig, experiment: str) -> dict[str, str] | None:
    """The ``hp_<i>`` → config key map of an Optuna experiment named ``<task>__<algo>__<seed>[-n]`` (``None`` for a
    grid/random one)."""
    if sweep.search.algorithm != "optuna":
        return None
    import re

    match = re.fullmatch(r"(.+)__(ppo|sac|tqc|deep_hedging)__(\d+)(-\d+)?", experiment)
    algo = match.group(2) if match else None
    if algo not in sweep.search_space:
        raise SweepConfigError(f"--resume: {experiment} is not an experiment of this Optuna sweep "
                               "(<task>__<algo>__<seed>)")
    return _tune_space_keys(sweep.search_space[algo])


def _tune_space_keys(space: Mapping[str, Any]) -> dict[str, str]:
    return {f"hp_{i}": key for i, key in enumerate(sorted(space))}


def _experiments(sweep: SweepConfig, todo: list[TrialSpec]) -> list[tuple[str, list[TrialSpec]]]:
    """The Tune experiments of a grid/random sweep's trials: one (``trials``) without a scheduler; with ASHA, one
    per (task, algorithm), named ``<task>__<algo>``, so the scheduler compares like with like."""
    if not todo:
        return []
    if sweep.scheduler is None:
        return [(GRID_EXPERIMENT, todo)]
    groups: dict[str, list[TrialSpec]] = {}
    for trial in todo:
        groups.setdefault(f"{trial.task}__{trial.algo}", []).append(trial)
    return list(groups.items())


def _absolute(path: Path, base: Path) -> Path:
    return path if path.is_absolute() else base / path


def _grid(values: list) -> Any:
    from ray import tune

    return tune.grid_search(values)


def _fit(sweep: SweepConfig, path: Path, restore: bool, space: dict[str, Any], keys: dict[str, str] | None,
         settings: dict[str, Any], expected: int | None = None):
    """Run the Tune experiment ``path`` (``restore``: restore it, ``Tuner.restore``) of ``expected`` trials (``None``:
    as many as it holds); returns Tune's results. ``KeyboardInterrupt`` when Tune ended it before every trial
    ended (a SIGINT: Tune saved its state)."""
    from ray import tune

    settings = {**settings, "keys": keys}
    trainable = tune.with_resources(tune.with_parameters(_tune_trainable, settings=settings),
                                    {"cpu": sweep.cpus_per_trial})
    if restore:
        tuner = tune.Tuner.restore(str(path), trainable, resume_unfinished=True, resume_errored=True)
    else:
        search_alg, scheduler = None, None
        if keys is not None:
            from ray.tune.search.optuna import OptunaSearch

            search_alg = OptunaSearch(metric=METRIC, mode="min", seed=sweep.search.seed)
        if sweep.scheduler is not None:
            from ray.tune.schedulers import ASHAScheduler

            options = sweep.scheduler
            scheduler = ASHAScheduler(time_attr="training_iteration", max_t=options.max_t,
                                      grace_period=options.grace_period, reduction_factor=options.reduction_factor)
        tuner = tune.Tuner(
            trainable, param_space=space,
            tune_config=tune.TuneConfig(metric=METRIC, mode="min", search_alg=search_alg, scheduler=scheduler,
                                        num_samples=sweep.search.num_samples if keys is not None else 1,
                                        max_concurrent_trials=sweep.max_concurrent_trials,
                                        trial_dirname_creator=_trial_dirname),
            run_config=tune.RunConfig(name=path.name, storage_path=str(path.parent), verbose=0,
                                      callbacks=[_callback()]))
    live = _active()
    if live is not None:
        live.ended = None
    results = tuner.fit()
    created, ended = live.ended if live is not None and live.ended is not None else (len(results), len(results))
    if ended < created or (expected is not None and created < expected):  # Tune caught a SIGINT, saved its state
        raise KeyboardInterrupt(f"sweep interrupted: Tune's state is saved in {path}; run the sweep again to go on "
                                f"(--resume {path.parent} restores the interrupted trials first)")
    return results


def _trial_dirname(trial) -> str:
    """Tune's directory of a trial: its hedgegym trial id when known, else Tune's own id."""
    spec = trial.config.get("trial")
    return TrialSpec(**spec).trial_id if isinstance(spec, dict) else f"{trial.trial_id}"


def _scalar(value: Any) -> int | float | str | bool:
    if isinstance(value, bool | int | str) or (isinstance(value, float) and math.isfinite(value)):
        return value
    return str(value)


def write_hparams(summaries, directory: Path) -> list[Path]:
    """TensorBoard HParams (``SummaryWriter.add_hparams``) of each summarised trial, in ``directory/<trial_id>``:
    task, algo, seed and its hyper-parameters (non-scalars as text) with ``hparam/validation_y``. A trial already
    written there is left as it is (never overwritten)."""
    from torch.utils.tensorboard import SummaryWriter

    written = []
    for summary in summaries:
        target = directory / summary["trial_id"]
        if target.exists():
            continue
        hparams = {"task": summary["task"], "algo": summary["algo"], "seed": summary["seed"],
                   **{key: _scalar(value) for key, value in summary["hyperparameters"].items()}}
        with SummaryWriter(log_dir=str(target)) as writer:
            writer.add_hparams(hparams, {"hparam/validation_y": summary["validation"]["y"]}, run_name=".")
        written.append(target)
    return written


def best_configurations(sweep: SweepConfig, summaries, directory: Path, base_dir: Path | None = None) -> list[Path]:
    """For each (task, algorithm) of a hyper-parameter search, the configuration with the lowest mean validation
    Y over the seeds that ran it, written as a YAML experiment config ``directory/<task>__<algo>.yaml`` (name
    ``<config name>_best``, the lowest of those seeds as ``agent.seed``). An existing file with other content is
    kept: the new one gets ``-2``, ``-3``, … (never overwritten); one with the same content is not written again."""
    groups: dict[tuple[str, str], dict[str, list]] = {}
    for summary in summaries:
        key = (summary["task"], summary["algo"])
        hp = tuple(sorted((k, repr(v)) for k, v in summary["hyperparameters"].items()))
        groups.setdefault(key, {}).setdefault(hp, []).append(summary)
    written = []
    for (task, algo), candidates in sorted(groups.items()):
        runs = min(candidates.values(), key=lambda group: sum(s["validation"]["y"] for s in group) / len(group))
        first = min(runs, key=lambda s: s["seed"])
        spec = TrialSpec(task, algo, first["seed"], first["config"], first["hyperparameters"])
        config = trial_config(spec, base_config(spec.config, base_dir))
        config = apply_overrides(config, {"name": f"{config.name}_best"[:100]})
        directory.mkdir(parents=True, exist_ok=True)
        text = _yaml(config)
        path = directory / f"{task}__{algo}.yaml"
        counter = 2
        while path.exists() and path.read_text() != text:
            path, counter = directory / f"{task}__{algo}-{counter}.yaml", counter + 1
        if not path.exists():
            config.save(path)
        written.append(path)
    return written


def _yaml(config: ExperimentConfig) -> str:
    import yaml

    return yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False)
