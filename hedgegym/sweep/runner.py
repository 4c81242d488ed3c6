"""``hedgegym sweep``: tasks × algorithms × seeds × hyper-parameters on Ray Tune, one run directory per trial.

Each trial (``run_trial``, in a Ray worker with ``cpus_per_trial`` CPUs and as many torch threads,
``OMP_NUM_THREADS`` likewise through Ray's ``runtime_env``):

1. returns at once when its summary ``<summaries>/<trial_id>.json`` exists (reporting its validation Y);
2. trains its config (the task's experiment config + the sweep's overrides + its hyper-parameters + ``agent.seed``)
   with ``hedgegym.agents.training.train`` into a new run directory under ``<sweep dir>/runs/<trial_id>/``; an
   unfinished PPO/SAC run found there (an interrupted sweep) is continued from its last checkpoint
   (``training.resume``), a finished one without a summary is reused; no run directory is ever overwritten;
3. scores the agent on the validation stream (child stream 3 of ``SeedSequence(evaluation.seed)``,
   ``validation_paths`` paths: never the test paths) — Cao–Hull Y, the selection metric; PPO/SAC also report
   every ``hedge/*`` validation point during training, so an ASHA scheduler can stop a trial early (such a trial
   has no final evaluation and no summary);
4. writes its summary (``hedgegym.sweep.summary``) from the run's final evaluation on the task's common test paths
   (``evaluation/results.csv``: the agent and every classical hedger).

The driver (``run_sweep``) plans the trials (``plan_trials``: grid or seeded random draws, so the same sweep file
gives the same trial ids anywhere), leaves out those already summarised (a sweep on a fresh machine resumes from
the committed summaries; nothing left: Ray is not even started), runs the rest as one Tune experiment with a rich
progress display (trials done / running / left), then writes TensorBoard's HParams dashboard
(``<sweep dir>/hparams/<trial_id>/``: the trial's task, algorithm, seed and hyper-parameters with its validation
Y, ``SummaryWriter.add_hparams``) and, for a hyper-parameter search, the best configuration per (task, algorithm)
— the lowest mean validation Y over the seeds that ran it — as a YAML experiment config in ``<sweep dir>/best/``.
``optuna`` runs one Tune experiment per (task, algorithm, seed), each ``OptunaSearch`` (TPE, seeded) of
``num_samples`` trials. Tune's experiment state lives in ``<sweep dir>/tune/<experiment>``; ``resume=`` (that
``tune`` directory, or one experiment in it) restores it with ``Tuner.restore`` (unfinished and errored trials run
again). ``tensorboard --logdir <sweep dir>`` shows every trial's scalars (``runs/<id>/<run>/tb``) and the HParams.
"""

from __future__ import annotations

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
from hedgegym.sweep.config import SweepConfig, SweepConfigError
from hedgegym.sweep.summary import (
    SCHEMA,
    load_summaries,
    metrics_from_table,
    premium,
    summary_path,
    trial_id,
    write_summary,
)

__all__ = ["SweepResult", "TrialSpec", "best_configurations", "plan_trials", "run_sweep", "run_trial",
           "validation_y", "write_hparams"]

METRIC = "validation_y"
GRID_EXPERIMENT = "trials"


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
    """What a sweep did: the trial ids planned, found summarised, summarised now, and the failed ones (id → error);
    ``best``: the best-configuration YAML files written; ``experiments``: the Tune experiment directories."""

    planned: list[str]
    skipped: list[str]
    finished: list[str]
    failed: dict[str, str]
    best: list[Path]
    experiments: list[Path]


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


def trial_config(spec: TrialSpec, base_dir: Path | None = None) -> ExperimentConfig:
    """The trial's experiment config: its file with ``hyperparameters`` and ``agent.seed`` applied and validated
    (``ConfigError`` naming the field)."""
    path = Path(spec.config)
    if base_dir is not None and not path.is_absolute():
        path = base_dir / path
    config = load_config(path, required=("market", "book", "agent"))
    return apply_overrides(config, {**spec.hyperparameters, "agent.seed": spec.seed},
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
              report: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Run one trial (see the module docstring) and return its summary. ``spec``: a ``TrialSpec`` as a dict;
    ``settings``: ``sweep`` (name), ``summaries``, ``sweep_dir``, ``base_dir`` (absolute paths), ``validation_paths``,
    ``cpus``. ``report`` (default ``ray.tune.report``) receives ``{"validation_y": …}`` at every validation point
    and at the end."""
    import torch

    from hedgegym.agents.training import load_agent, resume, train

    report = report or _report
    started = time.perf_counter()
    threads = max(1, int(settings["cpus"]))
    torch.set_num_threads(threads)
    spec = TrialSpec(**dict(spec))
    identifier = spec.trial_id
    existing = summary_path(settings["summaries"], identifier)
    if existing.is_file():
        from hedgegym.sweep.summary import read_summary

        summary = read_summary(existing)
        report({METRIC: summary["validation"]["y"], "trial_id": identifier, "skipped": True})
        return summary
    config = trial_config(spec, Path(settings["base_dir"]))
    runs = Path(settings["sweep_dir"]) / "runs" / identifier
    run, unfinished = _finished_run(runs, config)
    if run is None and unfinished is not None:
        resume(unfinished, validation_paths=settings["validation_paths"])
        run = unfinished
    elif run is None:
        def on_validation(step: int, metrics: dict[str, float]) -> None:
            report({METRIC: metrics["y"], "step": step, "trial_id": identifier})

        run = train(config, runs, validation_paths=settings["validation_paths"], on_validation=on_validation)
    agent, _ = load_agent(run)
    table = pd.read_csv(run / "evaluation" / "results.csv", index_col=0)
    y = validation_y(agent, config, settings["validation_paths"])
    summary = {
        "schema": SCHEMA, "sweep": settings["sweep"], "trial_id": identifier, "task": spec.task,
        "config": spec.config, "algo": spec.algo, "seed": spec.seed, "hyperparameters": spec.hyperparameters,
        "premium": premium(config),
        "test": {"n_paths": config.evaluation.n_paths, "seed": config.evaluation.seed},
        "agent": agent.name, "metrics": metrics_from_table(table), "validation": {"y": y},
        "wall_time_s": time.perf_counter() - started, "cpus": threads, "hedgegym_version": __version__,
        "git_commit": _git_commit(), "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    write_summary(settings["summaries"], summary)
    report({METRIC: y, "trial_id": identifier, "skipped": False})
    return summary


def _tune_trainable(config: dict[str, Any], settings: dict[str, Any]) -> None:
    """Tune's function trainable: ``config["trial"]`` is a ``TrialSpec`` dict (grid/random), or ``config`` holds
    ``task``/``algo``/``seed``/``config``/``fixed`` and the sampled ``hp`` (optuna, keys ``hp_<i>`` →
    ``settings["keys"]``)."""
    if "trial" in config:
        spec = config["trial"]
    else:
        sampled = {settings["keys"][name]: value for name, value in config["hp"].items()}
        spec = {"task": config["task"], "algo": config["algo"], "seed": config["seed"], "config": config["config"],
                "hyperparameters": {**config["fixed"], **sampled}}
    run_trial(spec, settings)


def _tune_space(space: Mapping[str, Mapping[str, list]]) -> tuple[dict[str, Any], dict[str, str]]:
    """Tune's search space for ``space`` (``choice``/``grid`` → ``tune.choice``, ``uniform``, ``loguniform``), with
    keys ``hp_<i>`` (dotted config keys are not parameter names) and the map back."""
    from ray import tune

    keys = sorted(space)
    names = {f"hp_{i}": key for i, key in enumerate(keys)}
    out = {}
    for name, key in names.items():
        kind, values = next(iter(space[key].items()))
        out[name] = {"grid": tune.choice, "choice": tune.choice}[kind](values) if kind in ("grid", "choice") \
            else (tune.uniform if kind == "uniform" else tune.loguniform)(*values)
    return out, names


class _Counter:
    """Trials done / running / left for the progress display, and those finished in this call for the stopper."""

    def __init__(self, total: int, done: int, refresh: Callable[[], None] | None = None,
                 stop_after: int | None = None) -> None:
        self.total, self.done, self.running, self.finished_now = total, done, 0, 0
        self.refresh = refresh or (lambda: None)
        self.stop_after = stop_after

    def stopped(self) -> bool:
        """Whether ``stop_after`` trials have finished in this call."""
        return self.stop_after is not None and self.finished_now >= self.stop_after


_ACTIVE: list[_Counter] = []
"""The counter of the sweep running in this process. Tune pickles its callbacks and stopper with the experiment
state, so they find the live display here (also after ``Tuner.restore``) instead of holding it."""


def _active() -> _Counter | None:
    return _ACTIVE[-1] if _ACTIVE else None


def _callback():
    from ray.tune import Callback

    class ProgressCallback(Callback):
        """Updates the rich display as Tune starts, completes or loses trials."""

        def on_trial_start(self, iteration, trials, trial, **info) -> None:
            if (counter := _active()) is not None:
                counter.running += 1
                counter.refresh()

        def _ended(self, finished: bool) -> None:
            if (counter := _active()) is not None:
                counter.running = max(counter.running - 1, 0)
                counter.done += finished
                counter.finished_now += finished
                counter.refresh()

        def on_trial_complete(self, iteration, trials, trial, **info) -> None:
            self._ended(True)

        def on_trial_error(self, iteration, trials, trial, **info) -> None:
            self._ended(False)

    return ProgressCallback()


def _stopper():
    from ray.tune.stopper import Stopper

    class StopAfter(Stopper):
        """Stops the experiment once ``stop_after`` trials have finished in this call (pending trials stay
        pending: ``resume`` runs them)."""

        def __call__(self, trial_id: str, result: dict) -> bool:
            return False

        def stop_all(self) -> bool:
            counter = _active()
            return counter is not None and counter.stopped()

    return StopAfter()


def _experiment_path(tune_dir: Path, name: str, resume: Path | None) -> tuple[Path, bool]:
    """(experiment directory, restore it?) — with ``resume``, the experiment in it (or ``resume`` itself); else a
    name not yet used in ``tune_dir`` (an earlier experiment is never overwritten)."""
    from ray.tune import Tuner

    if resume is not None:
        for candidate in (resume / name, resume):
            if candidate.is_dir() and candidate.name == name and Tuner.can_restore(str(candidate)):
                return candidate, True
        return unused_name(tune_dir, name), False
    return unused_name(tune_dir, name), False


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


def run_sweep(sweep: SweepConfig, address: str | None = None, resume: str | Path | None = None,
              stop_after: int | None = None, console=None, base_dir: str | Path | None = None) -> SweepResult:
    """Run ``sweep`` (see the module docstring); returns what was done.

    ``address``: a Ray cluster (``ray://host:port`` or ``auto``), default a local instance with this machine's
    cores (an already initialised Ray session is used as it is). ``resume``: a ``<sweep dir>/tune`` directory, or an
    experiment in it, to restore with ``Tuner.restore``. ``stop_after``: stop once that many trials have finished in
    this call (the rest stay pending: run it in chunks). ``base_dir``: where relative config paths of the sweep file
    are read from (default the working directory). Raises ``SweepConfigError`` for a bad sweep or a ``resume`` that
    is not a directory, before any trial runs.
    """
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = console or Console()
    if stop_after is not None and (isinstance(stop_after, bool) or not isinstance(stop_after, int) or stop_after < 1):
        raise SweepConfigError(f"stop_after must be an integer >= 1, got {stop_after!r}")
    base = Path(base_dir or Path.cwd()).resolve()
    resume = None if resume is None else Path(resume)
    if resume is not None and not resume.is_dir():
        raise SweepConfigError(f"--resume {resume}: no such directory (expected <sweep dir>/tune or an experiment "
                               "in it)")
    sweep.experiment_configs(base)  # every config loads with its overrides; one market per task
    summaries_dir = _absolute(sweep.summaries_dir, base)
    sweep_dir = _absolute(sweep.sweep_dir, base)
    summaries = load_summaries(summaries_dir)
    settings = {"sweep": sweep.name, "summaries": str(summaries_dir), "sweep_dir": str(sweep_dir),
                "base_dir": str(base), "validation_paths": sweep.validation_paths,
                "cpus": max(1, int(sweep.cpus_per_trial))}
    if sweep.search.algorithm == "optuna":
        groups = [(task.name, algo, seed, config) for task in sweep.tasks for algo, config in task.configs.items()
                  for seed in sweep.seeds if sweep.search_space.get(algo)]
        planned_total = len(groups) * sweep.search.num_samples
        planned, skipped, todo = [], [], []
    else:
        trials = plan_trials(sweep)
        planned = [trial.trial_id for trial in trials]
        skipped = [trial.trial_id for trial in trials if trial.trial_id in summaries]
        todo = [trial for trial in trials if trial.trial_id not in summaries]
        planned_total, groups = len(trials), []
    counter = _Counter(planned_total, len(skipped), stop_after=stop_after)
    failed: dict[str, str] = {}
    experiments: list[Path] = []
    if todo or groups:
        started_ray = _ensure_ray(address, settings["cpus"])
        try:
            with Progress(TextColumn("[bold]sweep {task.fields[name]}"), BarColumn(), MofNCompleteColumn(),
                          TextColumn("done · {task.fields[running]} running · {task.fields[left]} left"),
                          TimeElapsedColumn(), console=console) as progress:
                bar = progress.add_task("sweep", total=planned_total, completed=counter.done, name=sweep.name,
                                        running=0, left=planned_total - counter.done)

                def refresh() -> None:
                    progress.update(bar, completed=counter.done, running=counter.running,
                                    left=max(counter.total - counter.done - counter.running, 0))

                counter.refresh = refresh
                _ACTIVE.append(counter)
                tune_dir = sweep_dir / "tune"
                if todo and resume is not None:
                    path, restore = _experiment_path(tune_dir, GRID_EXPERIMENT, resume)
                    if restore:  # unfinished and errored trials of Tune's state run again
                        experiments.append(_fit(sweep, path, True, {}, None, settings, failed))
                        todo = [trial for trial in todo
                                if not summary_path(summaries_dir, trial.trial_id).is_file()]
                if todo and not counter.stopped():  # trials the stopped experiment had not yet created
                    space = {"trial": _grid([asdict(trial) for trial in todo])}
                    path, _ = _experiment_path(tune_dir, GRID_EXPERIMENT, None)
                    experiments.append(_fit(sweep, path, False, space, None, settings, failed))
                for task, algo, seed, config in groups:
                    if counter.stopped():
                        break
                    hp, keys = _tune_space(sweep.search_space[algo])
                    space = {"task": task, "algo": algo, "seed": seed, "config": config,
                             "fixed": sweep.algorithm_overrides(algo), "hp": hp}
                    path, restore = _experiment_path(tune_dir, f"{task}__{algo}__{seed}", resume)
                    experiments.append(_fit(sweep, path, restore, space, keys, settings, failed))
        finally:
            if counter in _ACTIVE:
                _ACTIVE.remove(counter)
            if started_ray:
                import ray

                ray.shutdown()
    summaries = load_summaries(summaries_dir)
    mine = {key: value for key, value in summaries.items() if value["sweep"] == sweep.name or key in planned}
    if sweep.search.algorithm == "optuna":
        planned = sorted(mine)
    finished = [key for key in mine if key not in skipped]
    write_hparams(mine.values(), sweep_dir / "hparams")
    best = best_configurations(sweep, mine.values(), sweep_dir / "best", base) if any(
        sweep.search_space.values()) else []
    return SweepResult(planned, skipped, finished, failed, best, experiments)


def _absolute(path: Path, base: Path) -> Path:
    return path if path.is_absolute() else base / path


def _grid(values: list) -> Any:
    from ray import tune

    return tune.grid_search(values)


def _fit(sweep: SweepConfig, path: Path, restore: bool, space: dict[str, Any], keys: dict[str, str] | None,
         settings: dict[str, Any], failed: dict[str, str]) -> Path:
    """Run the Tune experiment ``path`` (``restore``: restore it, ``Tuner.restore``); the failed trials' errors go
    into ``failed``."""
    from ray import tune

    settings = {**settings, "keys": keys}
    trainable = tune.with_resources(tune.with_parameters(_tune_trainable, settings=settings),
                                    {"cpu": sweep.cpus_per_trial})
    tune_dir = path.parent
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
            run_config=tune.RunConfig(name=path.name, storage_path=str(tune_dir), verbose=0, callbacks=[_callback()],
                                      stop=_stopper()))
    results = tuner.fit()
    for result in results:
        if result.error is not None:
            spec = result.config.get("trial", {}) if result.config else {}
            label = TrialSpec(**spec).trial_id if spec else str(result.path)
            failed[label] = str(result.error).strip().splitlines()[-1] if str(result.error).strip() else "error"
    return path


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
        config = trial_config(spec, base_dir)
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
