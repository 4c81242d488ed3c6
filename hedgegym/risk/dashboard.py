r"""The Greeks dashboard: the hedged portfolio's Δ, Γ and vega against targets, with traffic-light alerts.

For each Greek g ∈ {delta, gamma, vega} of the portfolio (book + hedge, ``stress.portfolio_greeks``)::

    reference  = max(|target_g|, |book_g|)              book_g: the same Greek of the unhedged book
    deviation  = |actual_g − target_g| / reference       (reference 0: deviation 0 if actual = target, else inf)
    status     = green   if deviation ≤ 10%
                 yellow  if 10% < deviation ≤ 25%
                 red     if deviation > 25%

Why this reference: a relative deviation from a zero target (the neutral hedge) needs a scale, and the book's
own exposure is the natural one — "the hedge leaves 12% of the book's gamma" reads the same for any book size
and any unit. A non-zero target larger than the book's exposure sets the scale itself. The boundaries belong to
the milder colour: exactly 10% is green, exactly 25% yellow.

Units: Δ in shares (units of underlying), Γ in shares per unit of spot, vega in currency per 1.00 of the
model's volatility input (σ; Heston: the variance v; SABR: α).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from hedgegym.output import unused_name
from hedgegym.pricing.greeks import Greeks

__all__ = [
    "DASHBOARD_COLUMNS",
    "DASHBOARD_GREEKS",
    "RED",
    "YELLOW",
    "dashboard_path",
    "deviation",
    "greek_dashboard",
    "plot_dashboard",
    "plot_limits_through_time",
    "status",
]

DASHBOARD_GREEKS = ("delta", "gamma", "vega")
DASHBOARD_COLUMNS = ("greek", "actual", "target", "book", "reference", "deviation", "status")
YELLOW = 0.10  # deviation above this: yellow
RED = 0.25  # deviation above this: red
COLOURS = {"green": "#2e7d32", "yellow": "#f9a825", "red": "#c62828"}


def deviation(actual: float, target: float, book: float) -> float:
    """|actual − target| / max(|target|, |book|), dimensionless (0.12 = 12%); see the module docstring.

    ``book`` is the unhedged book's Greek. When the reference is 0 the deviation is 0 if actual = target, else
    ``inf`` (any exposure where there should be none and no scale to forgive it).
    """
    for name, value in (("actual", actual), ("target", target), ("book", book)):
        if not np.isfinite(value):
            raise ValueError(f"{name} must be finite, got {value!r}")
    miss = abs(actual - target)
    reference = max(abs(target), abs(book))
    if reference == 0.0:
        return 0.0 if miss == 0.0 else float("inf")
    return miss / reference


def status(value: float) -> str:
    """``"green"`` (≤ 10%), ``"yellow"`` (10% < deviation ≤ 25%) or ``"red"`` (> 25%) for a deviation ≥ 0."""
    if np.isnan(value) or value < 0:
        raise ValueError(f"deviation must be >= 0, got {value!r}")
    if value > RED:
        return "red"
    if value > YELLOW:
        return "yellow"
    return "green"


def greek_dashboard(portfolio: Greeks, book: Greeks, targets: Mapping[str, float] | None = None) -> pd.DataFrame:
    """The dashboard table: one row per Greek in ``DASHBOARD_GREEKS``.

    Args:
        portfolio: Greeks of book + hedge (``stress.portfolio_greeks(model, book, hedge)``), holder's, currency.
        book: Greeks of the unhedged book (``stress.portfolio_greeks(model, book)``): the scale of each Greek.
        targets: ``{"delta": ..., "gamma": ..., "vega": ...}`` in the Greeks' units; missing keys are 0 (neutral).

    Returns:
        Columns ``DASHBOARD_COLUMNS``: ``greek``, ``actual``, ``target``, ``book``, ``reference``
        (max(|target|, |book|)), ``deviation`` (fraction, may be inf), ``status`` (green / yellow / red).

    Raises:
        ValueError: naming an unknown target key or a non-finite target.
    """
    targets = dict(targets or {})
    unknown = sorted(set(targets) - set(DASHBOARD_GREEKS))
    if unknown:
        raise ValueError(f"targets: unknown Greek {unknown[0]!r}; allowed: {', '.join(DASHBOARD_GREEKS)}")
    rows = []
    for greek in DASHBOARD_GREEKS:
        target = float(targets.get(greek, 0.0))
        if not np.isfinite(target):
            raise ValueError(f"target {greek} must be finite, got {target!r}")
        actual, exposure = float(getattr(portfolio, greek)), float(getattr(book, greek))
        value = deviation(actual, target, exposure)
        rows.append({"greek": greek, "actual": actual, "target": target, "book": exposure,
                     "reference": max(abs(target), abs(exposure)), "deviation": value, "status": status(value)})
    return pd.DataFrame(rows, columns=list(DASHBOARD_COLUMNS))


def dashboard_path(directory: str | Path, name: str, when: float | None = None, kind: str = "dashboard") -> Path:
    """A new file name ``<directory>/<kind>__<name>__<YYYYmmdd-HHMMSS>.png``; ``-2``, ``-3``, … is appended
    when that file exists (nothing is overwritten). ``when``: seconds since the epoch (default: now); ``kind``:
    ``dashboard`` (the table's PNG) or ``limits`` (the Greeks through time)."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(time.time() if when is None else when))
    return unused_name(directory, f"{kind}__{name}__{stamp}", ".png")


def plot_dashboard(table: pd.DataFrame, path: str | Path, title: str = "Greeks vs targets") -> Path:
    """Horizontal bars of each Greek's deviation, coloured by status, with the 10% and 25% lines, as a PNG.

    An infinite deviation is drawn to the right edge and labelled "∞". Uses matplotlib's Agg canvas directly
    (no pyplot, no global backend change).

    Raises:
        FileExistsError: when ``path`` exists (the file is opened exclusively: never overwritten).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    path = Path(path)
    values = table["deviation"].to_numpy(dtype=np.float64)
    finite = values[np.isfinite(values)]
    right = max(0.35, 1.15 * float(finite.max()) if finite.size else 0.0)
    shown = np.where(np.isfinite(values), values, right)
    labels = [f"{greek}  ({row_status})" for greek, row_status in zip(table["greek"], table["status"], strict=True)]

    figure = Figure(figsize=(9.0, 3.2))
    FigureCanvasAgg(figure)
    axis = figure.add_subplot()
    positions = np.arange(len(table))[::-1]
    axis.barh(positions, shown, color=[COLOURS[s] for s in table["status"]], height=0.6)
    for y, value, drawn in zip(positions, values, shown, strict=True):
        text = "∞" if not np.isfinite(value) else f"{value:.1%}"
        axis.text(drawn + 0.01 * right, y, text, va="center", fontsize=9)
    axis.axvline(YELLOW, color=COLOURS["yellow"], linestyle="--", linewidth=1.2, label="10% (yellow)")
    axis.axvline(RED, color=COLOURS["red"], linestyle="--", linewidth=1.2, label="25% (red)")
    axis.set_yticks(positions, labels)
    axis.set_xlim(0.0, 1.12 * right)
    axis.xaxis.set_major_formatter(lambda x, _: f"{x:.0%}")
    axis.set_xlabel("deviation |actual − target| / max(|target|, |unhedged book|)")
    axis.set_title(title, fontsize=10)
    axis.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8, frameon=False)
    return _write_png(figure, path)


def plot_limits_through_time(series: Mapping[str, np.ndarray], limits, times: np.ndarray, path: str | Path,
                             title: str = "Greeks through time", sample: int = 0) -> Path:
    """The portfolio's net Greeks through time on one path, each against its limit (±bound, red dashed) and alert
    level (±alert·bound, amber dotted), with the steps in breach shaded, as a PNG: one panel per limited Greek.

    Args:
        series: an ``Evaluation.series`` with ``limit_net_<greek>``, ``limit_bound_<greek>`` (n_steps, N), desk
            units (``hedgegym.risk.limits.DESK_UNITS``), and ``limit_level_<greek>``, as ``evaluate`` records them
            with ``limits:`` in the config.
        limits: the ``hedgegym.risk.limits.Limits`` (its Greek limits and alert levels).
        times: the start of each step in years, (n_steps,); drawn in trading days (×252).
        path: the PNG, opened exclusively.
        sample: which path of the series (column) to draw.

    Raises:
        ValueError: when ``limits`` has no Greek limit or ``series`` lacks one's series; FileExistsError when ``path``
            exists (never overwritten).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from hedgegym.market.series import TRADING_DAYS_PER_YEAR
    from hedgegym.risk.limits import BREACH, DESK_UNITS

    greeks = list(limits.greeks)
    if not greeks:
        raise ValueError("limits has no Greek limit to draw")
    missing = [g for g in greeks if any(f"limit_{kind}_{g}" not in series for kind in ("net", "bound", "level"))]
    if missing:
        raise ValueError(f"series lacks limit_net_{missing[0]}, limit_bound_{missing[0]} or limit_level_{missing[0]} "
                         "(evaluate with limits in the config)")
    days = np.asarray(times, dtype=np.float64) * TRADING_DAYS_PER_YEAR
    path = Path(path)
    figure = Figure(figsize=(9.0, 2.3 * len(greeks) + 0.6))
    FigureCanvasAgg(figure)
    axes = figure.subplots(len(greeks), 1, sharex=True, squeeze=False)[:, 0]
    for axis, greek in zip(axes, greeks, strict=True):
        net = np.asarray(series[f"limit_net_{greek}"])[:, sample]
        bound = np.asarray(series[f"limit_bound_{greek}"])[:, sample]
        alert = limits.greeks[greek].alert * bound
        step = days[1] - days[0] if len(days) > 1 else 1.0
        edges = np.append(days, days[-1] + step)  # the last value is held over the last step too

        def held(values: np.ndarray) -> np.ndarray:
            return np.append(values, values[-1])

        axis.step(edges, held(net), where="post", color="#1565c0", linewidth=1.4, label=f"net {greek}")
        for sign in (1.0, -1.0):
            axis.step(edges, held(sign * bound), where="post", color=COLOURS["red"], linestyle="--", linewidth=1.0,
                      label="limit" if sign > 0 else None)
            axis.step(edges, held(sign * alert), where="post", color=COLOURS["yellow"], linestyle=":", linewidth=1.0,
                      label="alert" if sign > 0 else None)
        breach = np.asarray(series[f"limit_level_{greek}"])[:, sample] == BREACH
        if breach.any():
            for start in days[breach]:
                axis.axvspan(start, start + step, color=COLOURS["red"], alpha=0.12, linewidth=0)
        axis.axhline(0.0, color="0.6", linewidth=0.6)
        axis.set_ylabel(f"{greek}\n({DESK_UNITS[greek]})", fontsize=8)
        axis.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8, frameon=False)
    axes[-1].set_xlabel("trading days since inception (positions held over each step, valued at its start)")
    axes[0].set_title(title, fontsize=10)
    return _write_png(figure, path)


def _write_png(figure, path: Path) -> Path:
    """Lay out ``figure`` and write it to ``path`` as a PNG, opened exclusively (``FileExistsError``: never
    overwritten)."""
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        handle = open(path, "xb")
    except FileExistsError:
        raise FileExistsError(f"{path} exists: hedgegym never overwrites results") from None
    with handle:
        figure.savefig(handle, format="png", dpi=110)
    return path
