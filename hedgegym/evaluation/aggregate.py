r"""Aggregate scores over runs and tasks the way RL research reports them: IQM, stratified bootstrap CIs, P(X > Y).

The estimators of Agarwal, Schwarzer, Castro, Courville & Bellemare, "Deep Reinforcement Learning at the Edge of
the Statistical Precipice" (NeurIPS 2021), as the authors' library rliable defines them (``rliable.metrics``:
``aggregate_iqm``, ``aggregate_median``, ``aggregate_mean``, ``aggregate_optimality_gap``,
``probability_of_improvement``; ``rliable.library``: ``StratifiedBootstrap``, ``StratifiedIndependentBootstrap``,
``get_interval_estimates`` with ``method="percentile"``). rliable itself is not a dependency (1.2 pins ``arch<8``,
which does not import under pandas 3): the same definitions are built here on ``scipy.stats.trim_mean`` and
``scipy.stats.bootstrap``.

Scores. rliable's layout, an array of shape (runs, tasks), where ``scores[n, m]`` is run n (a training seed) on
task m; or, for tasks with different numbers of runs (a failed trial), a sequence of 1-D arrays, one per task
(shape (runs_m,) each). Only a ``numpy.ndarray`` with two dimensions is read as (runs, tasks); a list or tuple is
always one entry per task.

==============================  ==================================================================================
estimator                       definition (rliable)
==============================  ==================================================================================
``iqm``                         interquartile mean of every run of every task pooled: ``trim_mean(x, 0.25)`` of
                                the flattened scores (the mean of the middle 50%, fractional ends trimmed by
                                ``scipy.stats.trim_mean``'s rule: ⌊0.25·n⌋ values cut from each end)
``median`` / ``mean``           median / mean over tasks of each task's mean over runs
``optimality_gap``              higher is better: γ − mean(min(x, γ)); lower is better: mean(max(x, γ)) − γ
``probability_of_improvement``  P(X better than Y) = average over tasks m of U_m / (n_x,m · n_y,m), U_m the
                                Mann–Whitney U statistic of X's runs against Y's on task m: the number of pairs
                                where X is better, ties counted ½
==============================  ==================================================================================

Direction. Nothing here assumes "higher is better" silently: ``probability_of_improvement`` and
``optimality_gap`` take a required keyword ``lower_is_better``. With ``lower_is_better=True`` (every hedging
metric: Y, CVaR, RMSE, drawdown, CBR) "X better than Y" means x < y, and P(X better) = P(X < Y) + ½P(X = Y).
IQM, median and mean do not depend on the direction.

Stratified bootstrap (``aggregate_interval``, ``improvement_interval``): each resample draws, independently for every
task, as many runs as that task has, with replacement from that task's runs (tasks are never mixed and every
task keeps its run count); the aggregate is recomputed on each of ``reps`` resamples and the percentile
interval is the (1 − level)/2 and (1 + level)/2 quantiles of those values. P(X > Y) resamples X's and Y's runs
independently within each task (rliable's ``StratifiedIndependentBootstrap``). The resampling is
``scipy.stats.bootstrap`` with one sample per task (``paired=False``: every sample is resampled on its own,
keeping its size), vectorised over resamples; a task with a single run (a deterministic classical hedger) is the
same in every resample and is held fixed (scipy needs two observations to resample). An explicit
``np.random.Generator`` drives it: same generator state → same interval.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.stats

__all__ = ["AGGREGATES", "Interval", "aggregate_interval", "improvement_interval", "iqm", "mean", "median",
           "optimality_gap", "probability_of_improvement", "task_scores"]

Scores = np.ndarray | Sequence[np.ndarray] | Sequence[Sequence[float]]
Batched = Callable[[list[np.ndarray]], np.ndarray]


@dataclass(frozen=True)
class Interval:
    """A point estimate with its percentile bootstrap interval.

    ``distribution``: the ``reps`` bootstrap values of the estimator, shape (reps,) (constant when every task has
    one run: nothing to resample).
    """

    point: float
    low: float
    high: float
    distribution: np.ndarray


def task_scores(scores: Scores, name: str = "scores") -> list[np.ndarray]:
    """The scores as one float64 1-D array per task (see the module docstring for the two layouts).

    Raises ``ValueError`` naming ``name`` for no task, a task with no run, a non-finite score, or an array that is
    not (runs, tasks) / one 1-D array per task.
    """
    if isinstance(scores, np.ndarray):
        if scores.ndim != 2:
            raise ValueError(f"{name}: an array must have shape (runs, tasks), got shape {scores.shape}")
        tasks = [np.asarray(scores[:, m], dtype=np.float64) for m in range(scores.shape[1])]
    elif isinstance(scores, str | bytes) or not isinstance(scores, Sequence):
        raise ValueError(f"{name}: expected an array (runs, tasks) or a sequence of 1-D arrays, one per task; got "
                         f"{type(scores).__name__}")
    else:
        tasks = [np.asarray(task, dtype=np.float64) for task in scores]
    if not tasks:
        raise ValueError(f"{name}: no task (at least one task with at least one run is needed)")
    for m, task in enumerate(tasks):
        if task.ndim != 1:
            raise ValueError(f"{name}: task {m} must be a 1-D array of runs, got shape {task.shape}")
        if task.size == 0:
            raise ValueError(f"{name}: task {m} has no run (at least one is needed)")
        if not np.all(np.isfinite(task)):
            raise ValueError(f"{name}: task {m} has a non-finite score ({task.tolist()}); scores must be finite")
    return tasks


# Batched estimators: ``tasks`` holds one array per task, shape (..., runs_m) with the same leading (resample)
# dimensions; the result has the leading shape.
def _iqm(tasks: list[np.ndarray]) -> np.ndarray:
    return scipy.stats.trim_mean(np.concatenate(tasks, axis=-1), 0.25, axis=-1)


def _mean(tasks: list[np.ndarray]) -> np.ndarray:
    return np.mean(np.stack([task.mean(axis=-1) for task in tasks], axis=-1), axis=-1)


def _median(tasks: list[np.ndarray]) -> np.ndarray:
    return np.median(np.stack([task.mean(axis=-1) for task in tasks], axis=-1), axis=-1)


AGGREGATES: dict[str, Batched] = {"iqm": _iqm, "mean": _mean, "median": _median}
"""The aggregates ``aggregate_interval`` knows by name (rliable's ``aggregate_iqm``/``_mean``/``_median``)."""


def iqm(scores: Scores) -> float:
    """Interquartile mean of all runs of all tasks pooled (rliable ``aggregate_iqm``; Agarwal et al. 2021, §4.2).

    ``scipy.stats.trim_mean(x, 0.25)`` of the flattened scores: the mean after cutting ⌊0.25·n⌋ of the n pooled
    values from each end. Scores: (runs, tasks) array or one 1-D array per task. Raises ``ValueError`` on bad
    scores (``task_scores``).
    """
    return float(_iqm(task_scores(scores)))


def mean(scores: Scores) -> float:
    """Mean over tasks of the per-task mean over runs (rliable ``aggregate_mean``). Raises ``ValueError`` on bad
    scores."""
    return float(_mean(task_scores(scores)))


def median(scores: Scores) -> float:
    """Median over tasks of the per-task mean over runs (rliable ``aggregate_median``). Raises ``ValueError`` on bad
    scores."""
    return float(_median(task_scores(scores)))


def optimality_gap(scores: Scores, gamma: float, *, lower_is_better: bool) -> float:
    """How far the runs fall short of the target ``gamma``, pooled over runs and tasks (rliable
    ``aggregate_optimality_gap``; Agarwal et al. 2021, §4.2).

    Higher is better (rliable's case): γ − mean(min(x, γ)); lower is better: mean(max(x, γ)) − γ. Either way ≥ 0,
    and 0 when every run reaches the target. Units of the scores. Raises ``ValueError`` for a non-finite ``gamma``
    or bad scores.
    """
    if isinstance(gamma, bool) or not isinstance(gamma, numbers.Real) or not np.isfinite(gamma):
        raise ValueError(f"gamma must be a finite number, got {gamma!r}")
    pooled = np.concatenate(task_scores(scores))
    if _direction(lower_is_better):
        return float(np.mean(np.maximum(pooled, gamma)) - gamma)
    return float(gamma - np.mean(np.minimum(pooled, gamma)))


def _direction(lower_is_better: object) -> bool:
    if not isinstance(lower_is_better, bool | np.bool_):
        raise ValueError(f"lower_is_better must be True or False, got {lower_is_better!r}")
    return bool(lower_is_better)


def _improvement(x: list[np.ndarray], y: list[np.ndarray]) -> np.ndarray:
    """Average over tasks of U/(n_x n_y) for "higher is better": x, y one array per task, shape (..., n)."""
    per_task = [np.mean((a[..., :, None] > b[..., None, :]) + 0.5 * (a[..., :, None] == b[..., None, :]),
                        axis=(-2, -1)) for a, b in zip(x, y, strict=True)]
    return np.mean(np.stack(per_task, axis=-1), axis=-1)


def _pair(x: Scores, y: Scores, lower_is_better: object) -> tuple[list[np.ndarray], list[np.ndarray]]:
    sign = -1.0 if _direction(lower_is_better) else 1.0
    x_tasks, y_tasks = task_scores(x, "x"), task_scores(y, "y")
    if len(x_tasks) != len(y_tasks):
        raise ValueError(f"x has {len(x_tasks)} tasks and y has {len(y_tasks)}: P(X > Y) compares them task by task")
    return [sign * t for t in x_tasks], [sign * t for t in y_tasks]


def probability_of_improvement(x: Scores, y: Scores, *, lower_is_better: bool) -> float:
    """P(X better than Y): the probability that a run of X beats a run of Y on a task, averaged over tasks
    (rliable ``probability_of_improvement``; Agarwal et al. 2021, §4.3).

    Per task, the Mann–Whitney U statistic of X's runs against Y's divided by n_x·n_y: the fraction of the
    n_x·n_y pairs where X is better, ties counted ½. ``lower_is_better=True``: better is smaller (P(X < Y) +
    ½P(X = Y)); ``False``: larger (rliable's case). X and Y may have different numbers of runs; tasks in the same
    order. In [0, 1]; 0.5 for identical samples. Raises ``ValueError`` for different task counts or bad scores.
    """
    x_tasks, y_tasks = _pair(x, y, lower_is_better)
    return float(_improvement(x_tasks, y_tasks))


def _check_bootstrap(reps: object, level: object, rng: object) -> None:
    if isinstance(reps, bool) or not isinstance(reps, numbers.Integral) or not 1 <= reps <= 1_000_000:
        raise ValueError(f"reps must be an integer in [1, 1000000], got {reps!r}")
    if isinstance(level, bool) or not isinstance(level, numbers.Real) or not 0.0 < level < 1.0:
        raise ValueError(f"level must be a number in (0, 1), got {level!r}")
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")


def _stratified(samples: list[np.ndarray], statistic: Batched, rng: np.random.Generator, reps: int,
                level: float) -> Interval:
    """Percentile bootstrap of ``statistic`` resampling every sample independently with its own size; samples of
    one value are held fixed (a resample of one value is that value)."""
    point = float(statistic(samples))
    moving = [i for i, sample in enumerate(samples) if sample.size >= 2]
    if not moving:
        return Interval(point, point, point, np.full(reps, point))

    def resampled(*drawn: np.ndarray, axis: int = -1) -> np.ndarray:
        batch = drawn[0].shape[:-1]
        full = [np.broadcast_to(sample, (*batch, sample.size)) for sample in samples]
        for i, values in zip(moving, drawn, strict=True):
            full[i] = values
        return statistic(full)

    result = scipy.stats.bootstrap(tuple(samples[i] for i in moving), resampled, n_resamples=int(reps),
                                   vectorized=True, paired=False, axis=-1, confidence_level=float(level),
                                   method="percentile", rng=rng)
    interval = result.confidence_interval
    return Interval(point, float(interval.low), float(interval.high), np.asarray(result.bootstrap_distribution))


def aggregate_interval(scores: Scores, aggregate: str | Batched = "iqm", *, rng: np.random.Generator,
                       reps: int = 10_000, level: float = 0.95) -> Interval:
    """An aggregate of the scores with its stratified bootstrap percentile interval (rliable
    ``get_interval_estimates`` with ``StratifiedBootstrap``, ``method="percentile"``; Agarwal et al. 2021, §4.1).

    ``aggregate``: a name of ``AGGREGATES`` ("iqm", "mean", "median") or a function of a list of per-task arrays of
    shape (..., runs_m) returning shape (...). Each of the ``reps`` resamples redraws every task's runs with
    replacement within that task (module docstring). Returns ``Interval`` (point on the scores themselves,
    low/high at the (1 ∓ level)/2 quantiles, the bootstrap values). Raises ``ValueError`` for an unknown aggregate,
    ``reps`` outside [1, 10⁶], ``level`` outside (0, 1), ``rng`` not a ``numpy.random.Generator`` or bad scores.
    """
    if isinstance(aggregate, str):
        if aggregate not in AGGREGATES:
            raise ValueError(f"aggregate must be one of {sorted(AGGREGATES)} or a function, got {aggregate!r}")
        aggregate = AGGREGATES[aggregate]
    _check_bootstrap(reps, level, rng)
    return _stratified(task_scores(scores), aggregate, rng, reps, level)


def improvement_interval(x: Scores, y: Scores, *, lower_is_better: bool, rng: np.random.Generator,
                         reps: int = 10_000, level: float = 0.95) -> Interval:
    """``probability_of_improvement`` with its stratified bootstrap percentile interval (rliable
    ``StratifiedIndependentBootstrap``: X's and Y's runs resampled independently within each task).

    Returns ``Interval``. Raises ``ValueError`` as ``probability_of_improvement`` and ``aggregate_interval``.
    """
    _check_bootstrap(reps, level, rng)
    x_tasks, y_tasks = _pair(x, y, lower_is_better)
    n = len(x_tasks)
    return _stratified([*x_tasks, *y_tasks], lambda s: _improvement(s[:n], s[n:]), rng, reps, level)
