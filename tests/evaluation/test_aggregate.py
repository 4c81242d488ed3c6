"""rliable's estimators (Agarwal et al., NeurIPS 2021) against their published definitions, implemented here
independently: hand counts, scipy's Mann–Whitney U, and bootstrap distributions enumerated exactly."""

from __future__ import annotations

import itertools
from collections import Counter

import numpy as np
import pytest
import scipy.stats

from hedgegym.evaluation.aggregate import (
    aggregate_interval,
    improvement_interval,
    iqm,
    mean,
    median,
    optimality_gap,
    probability_of_improvement,
)

# rliable's own test matrices (tests/rliable/metrics_test.py), runs × tasks
X = np.array([[1, 2], [2, 2], [1, 1], [2, 1]])
Y = np.array([[1, 1], [2, 2], [3, 3]])


def reference_iqm(values) -> float:
    """Sort, cut floor(n/4) values from each end, average the rest (the 25% trimmed mean)."""
    ordered = sorted(float(v) for v in values)
    cut = len(ordered) // 4
    middle = ordered[cut:len(ordered) - cut]
    return sum(middle) / len(middle)


def reference_improvement(x_tasks, y_tasks, lower_is_better) -> float:
    """Average over tasks of the fraction of (x, y) pairs where x is better, ties ½: counted pair by pair."""
    per_task = []
    for xs, ys in zip(x_tasks, y_tasks, strict=True):
        wins = 0.0
        for a, b in itertools.product(xs, ys):
            better = a < b if lower_is_better else a > b
            wins += 1.0 if better else 0.5 if a == b else 0.0
        per_task.append(wins / (len(xs) * len(ys)))
    return sum(per_task) / len(per_task)


def test_iqm_of_one_to_eight_is_the_mean_of_three_to_six():
    assert iqm([np.arange(1.0, 9.0)]) == pytest.approx(4.5)  # (3 + 4 + 5 + 6) / 4
    assert iqm(np.arange(1.0, 9.0).reshape(4, 2)) == pytest.approx(4.5)  # pooled over tasks: same 8 values


def test_the_aggregates_match_rliables_published_test_values():
    assert (iqm(X), mean(X), median(X)) == (1.5, 1.5, 1.5)
    assert (iqm(Y), mean(Y), median(Y)) == (2.0, 2.0, 2.0)
    assert probability_of_improvement(X, Y, lower_is_better=False) == pytest.approx(1 / 3)


def test_aggregates_pool_ragged_tasks_as_the_definitions_say():
    rng = np.random.default_rng(7)
    tasks = [rng.normal(size=5), rng.normal(3.0, 2.0, size=9), rng.normal(-1.0, size=2)]
    assert iqm(tasks) == pytest.approx(reference_iqm(np.concatenate(tasks)), rel=1e-12)
    task_means = [sum(t) / len(t) for t in tasks]
    assert mean(tasks) == pytest.approx(sum(task_means) / 3, rel=1e-12)
    assert median(tasks) == pytest.approx(sorted(task_means)[1], rel=1e-12)


def test_the_iqm_trims_outliers_the_mean_keeps():
    scores = [np.array([1.0, 2.0, 3.0, 4.0, 1000.0])]
    assert iqm(scores) == pytest.approx(3.0)  # 1 value cut from each end: mean(2, 3, 4)
    assert mean(scores) == pytest.approx(202.0)


def test_optimality_gap_in_both_directions_by_hand():
    scores = [np.array([0.5, 1.5]), np.array([1.0, 0.0])]
    assert optimality_gap(scores, 1.0, lower_is_better=False) == pytest.approx(1.0 - (0.5 + 1 + 1 + 0) / 4)
    assert optimality_gap(scores, 1.0, lower_is_better=True) == pytest.approx((1 + 1.5 + 1 + 1) / 4 - 1.0)


def test_probability_of_improvement_is_mann_whitney_u_over_pairs_averaged_over_tasks():
    rng = np.random.default_rng(3)
    x_tasks = [rng.integers(0, 4, size=6).astype(float), rng.normal(size=3)]
    y_tasks = [rng.integers(0, 4, size=4).astype(float), rng.normal(0.5, size=7)]  # ties in task 0
    u = [scipy.stats.mannwhitneyu(a, b, alternative="greater").statistic / (len(a) * len(b))
         for a, b in zip(x_tasks, y_tasks, strict=True)]
    assert probability_of_improvement(x_tasks, y_tasks, lower_is_better=False) == pytest.approx(np.mean(u), rel=1e-12)
    for lower in (False, True):
        expected = reference_improvement(x_tasks, y_tasks, lower)
        assert probability_of_improvement(x_tasks, y_tasks, lower_is_better=lower) == pytest.approx(expected)


def test_lower_is_better_flips_the_direction():
    x, y = [np.array([1.0, 2.0])], [np.array([3.0, 4.0])]
    assert probability_of_improvement(x, y, lower_is_better=True) == 1.0  # every x is smaller: better
    assert probability_of_improvement(x, y, lower_is_better=False) == 0.0
    tied = [np.array([1.0, 2.0, 2.0])]
    assert probability_of_improvement(tied, tied, lower_is_better=True) == 0.5
    assert probability_of_improvement([np.array([2.0])], [np.array([2.0])], lower_is_better=True) == 0.5


def exact_distribution(tasks, statistic) -> Counter:
    """Every stratified resample (an index tuple per task, each drawn with replacement within its task), equally
    likely: the exact bootstrap distribution of ``statistic`` as {value: probability}."""
    per_task = [list(itertools.product(task, repeat=len(task))) for task in tasks]
    counts = Counter(round(statistic([np.array(c) for c in combo]), 12) for combo in itertools.product(*per_task))
    total = sum(counts.values())
    return Counter({value: n / total for value, n in counts.items()})


def empirical(distribution) -> Counter:
    values = np.round(np.asarray(distribution), 12)
    return Counter({float(v): n / len(values) for v, n in zip(*np.unique(values, return_counts=True), strict=True)})


def quantile(exact: Counter, q: float) -> float:
    cumulative = 0.0
    for value in sorted(exact):
        cumulative += exact[value]
        if cumulative >= q:
            return value
    return max(exact)


def test_stratified_bootstrap_of_the_iqm_matches_its_exact_distribution():
    tasks = [np.array([0.0, 1.0, 5.0]), np.array([2.0, 7.0])]  # 27 × 4 equally likely stratified resamples
    exact = exact_distribution(tasks, lambda t: reference_iqm(np.concatenate(t)))
    result = aggregate_interval(tasks, "iqm", rng=np.random.default_rng(11), reps=20_000)
    assert result.point == pytest.approx(reference_iqm([0, 1, 5, 2, 7]))
    seen = empirical(result.distribution)
    assert set(seen) <= set(exact)  # a pooled (unstratified) resample could draw five 7s: an IQM of 7
    assert max(abs(seen[v] - exact[v]) for v in exact) < 0.015
    assert quantile(exact, 0.02) - 1e-9 <= result.low <= quantile(exact, 0.03) + 1e-9
    assert quantile(exact, 0.97) - 1e-9 <= result.high <= quantile(exact, 0.98) + 1e-9


def test_stratified_resamples_keep_every_tasks_run_count_and_values():
    tasks = [np.array([1.0, 2.0, 3.0]), np.array([10.0, 20.0, 30.0, 40.0, 50.0]), np.array([100.0])]
    seen = []

    def record(resampled):
        seen.append(resampled)
        return np.concatenate(resampled, axis=-1).mean(axis=-1)

    aggregate_interval(tasks, record, rng=np.random.default_rng(0), reps=500)
    batch = seen[-1]
    assert [a.shape[-1] for a in batch] == [3, 5, 1]
    for task, resampled in zip(tasks, batch, strict=True):
        assert np.isin(resampled, task).all()  # drawn only from its own task
    assert np.all(batch[2] == 100.0)  # one run: the same in every resample


def test_constant_tasks_give_a_zero_width_interval_only_when_stratified():
    # each task constant, tasks different: resampling within tasks changes nothing (pooling would)
    tasks = [np.full(4, 1.0), np.full(3, 5.0), np.full(5, 9.0)]
    result = aggregate_interval(tasks, "mean", rng=np.random.default_rng(1), reps=2000)
    assert (result.point, result.low, result.high) == (5.0, 5.0, 5.0)


def test_single_run_tasks_are_held_fixed():
    result = aggregate_interval([np.array([3.0]), np.array([5.0])], "iqm", rng=np.random.default_rng(0), reps=50)
    assert (result.point, result.low, result.high) == (4.0, 4.0, 4.0)
    assert result.distribution.shape == (50,)


def test_improvement_interval_matches_its_exact_distribution():
    x_tasks = [np.array([1.0, 3.0, 4.0]), np.array([0.0, 2.0])]
    y_tasks = [np.array([2.0, 5.0]), np.array([1.0])]  # y's second task has one run: held fixed
    exact = exact_distribution([*x_tasks, *y_tasks],
                               lambda t: reference_improvement(t[:2], t[2:], lower_is_better=True))
    result = improvement_interval(x_tasks, y_tasks, lower_is_better=True, rng=np.random.default_rng(5), reps=20_000)
    assert result.point == pytest.approx(reference_improvement(x_tasks, y_tasks, True))
    seen = empirical(result.distribution)
    assert set(seen) <= set(exact)
    assert max(abs(seen[v] - exact[v]) for v in exact) < 0.015
    assert quantile(exact, 0.02) - 1e-9 <= result.low <= quantile(exact, 0.03) + 1e-9
    assert quantile(exact, 0.97) - 1e-9 <= result.high <= quantile(exact, 0.98) + 1e-9


def test_same_generator_seed_same_interval():
    scores = np.random.default_rng(2).normal(size=(6, 3))
    first = aggregate_interval(scores, rng=np.random.default_rng(42), reps=300)
    again = aggregate_interval(scores, rng=np.random.default_rng(42), reps=300)
    other = aggregate_interval(scores, rng=np.random.default_rng(43), reps=300)
    np.testing.assert_array_equal(first.distribution, again.distribution)
    assert not np.array_equal(first.distribution, other.distribution)


@pytest.mark.parametrize(("call", "message"), [
    (lambda: iqm([np.array([1.0, np.nan])]), "non-finite"),
    (lambda: iqm([np.array([])]), "no run"),
    (lambda: iqm([]), "no task"),
    (lambda: iqm(np.ones(3)), "shape"),
    (lambda: iqm("scores"), "sequence"),
    (lambda: probability_of_improvement(X, Y[:, :1], lower_is_better=True), "tasks"),
    (lambda: probability_of_improvement(X, Y, lower_is_better="yes"), "lower_is_better"),
    (lambda: optimality_gap(X, float("nan"), lower_is_better=True), "gamma"),
    (lambda: aggregate_interval(X, "trimmed", rng=np.random.default_rng(0)), "aggregate"),
    (lambda: aggregate_interval(X, rng=np.random.default_rng(0), reps=0), "reps"),
    (lambda: aggregate_interval(X, rng=np.random.default_rng(0), level=1.0), "level"),
    (lambda: aggregate_interval(X, rng=0), "Generator"),
    (lambda: improvement_interval(X, Y, lower_is_better=True, rng=None), "Generator"),
])
def test_bad_input_is_refused_with_the_field_named(call, message):
    with pytest.raises(ValueError, match=message):
        call()
