r"""Hedging metrics on per-path results, each with a bootstrap 95% confidence interval.

Notation: X the hedged P&L of a path (terminal wealth, currency; the hedging error), C = −X the hedging cost,
K the transaction costs paid on the path, D its maximum drawdown (largest fall of the marked-to-market wealth
from its running peak).

==================  ======================================================================================
metric              definition
==================  ======================================================================================
``mean_pnl``        E[X]
``std_pnl``         sd(X)
``rmse``            √E[X²]: the hedging-error RMSE (the target error is 0)
``var_95/99``       VaR_α of the loss L = −X, α = 95/99%: the lower α-quantile of the N equally weighted paths,
                    the ⌈αN⌉-th smallest loss (``np.quantile(..., method="inverted_cdf")``)
``cvar_95/99``      CVaR_α (expected shortfall), Rockafellar–Uryasev: min_w { w + E[(L − w)⁺]/(1 − α) }, the
                    mean of the worst (1 − α)N losses with the boundary path weighted fractionally
``max_drawdown``    E[D]  (and ``max_drawdown_worst`` = max D over paths)
``mean_cost``       E[K]
``turnover``        E[Σ |trades|·price] / (book notional · S₀)
``n_trades``        E[number of non-zero trades]
``cbr``             cost–benefit ratio E[K] / (RMSE_no hedge − RMSE): the cost paid per unit of RMSE removed;
                    < 1 means the hedge removes more risk than it costs (NaN for the no-hedge reference,
                    and when the hedge removes no risk)
``sharpe``          E[X] / sd(X)
``y``               Cao–Hull objective E[C] + c·sd(C), c = 1.5 by default
``entropic``        entropic risk (1/λ) log E[exp(−λX)] with λ = 1/P, P the book's premium scale
==================  ======================================================================================

CVaR is the one definition of the package: the env's terminal ``cvar`` reward (``hedgegym.env.rewards``) and deep
hedging's ``cvar`` risk (``hedgegym.agents.deep_hedging``) are the Rockafellar–Uryasev objective at a threshold w;
minimised over w, their average over the same paths is exactly ``cvar`` here.

Bootstrap: B resamples of the paths (with replacement, a fixed generator), 2.5% and 97.5% percentiles.
"""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd

__all__ = ["METRICS", "cvar", "max_drawdown", "metric_values", "summarize", "value_at_risk"]

METRICS = ("mean_pnl", "std_pnl", "rmse", "var_95", "var_99", "cvar_95", "cvar_99", "max_drawdown",
           "max_drawdown_worst", "mean_cost", "turnover", "n_trades", "cbr", "sharpe", "y", "entropic")


def _check_level(level: float) -> float:
    if isinstance(level, bool | np.bool_) or not isinstance(level, numbers.Real) or not 0.0 < level < 1.0:
        raise ValueError(f"level must be a number in (0, 1), got {level!r}")
    return float(level)


def _losses(pnl: np.ndarray, axis: int) -> np.ndarray:
    losses = -np.asarray(pnl, dtype=np.float64)
    if losses.ndim == 0 or losses.shape[axis] == 0:
        raise ValueError(f"pnl must have at least one path along axis {axis}, got shape {losses.shape}")
    return losses


def value_at_risk(pnl: np.ndarray, level: float, axis: int = -1) -> np.ndarray:
    """VaR_level of the loss −X: its lower ``level``-quantile, the ⌈level·N⌉-th smallest of the N losses.

    This is the smallest minimiser w of the Rockafellar–Uryasev objective (see ``cvar``) and the empirical
    quantile F⁻¹(α) = inf{l : F_N(l) ≥ α} (Hyndman & Fan 1996, definition 1). Shape: ``pnl`` with ``axis``
    removed. Raises ``ValueError`` for a level outside (0, 1) or no paths.
    """
    level = _check_level(level)
    return np.quantile(_losses(pnl, axis), level, axis=axis, method="inverted_cdf")


def cvar(pnl: np.ndarray, level: float, axis: int = -1) -> np.ndarray:
    """CVaR_level (expected shortfall) of the loss L = −X over the N equally weighted paths along ``axis``.

    CVaR_α = min_w { w + E[(L − w)⁺] / (1 − α) } (Rockafellar & Uryasev 2000, 2002), attained at w = VaR_α;
    equivalently the mean of the worst (1 − α)N losses where the boundary loss gets the fractional weight
    (1 − α)N − ⌊(1 − α)N⌋ (Acerbi & Tasche 2002): never a mean over ⌈(1 − α)N⌉ whole paths, which
    understates it when (1 − α)N is not an integer, and the largest loss when (1 − α)N < 1.
    Shape: ``pnl`` with ``axis`` removed. Raises ``ValueError`` for a level outside (0, 1) or no paths.
    """
    level = _check_level(level)
    losses = _losses(pnl, axis)
    threshold = np.quantile(losses, level, axis=axis, method="inverted_cdf", keepdims=True)
    excess = np.maximum(losses - threshold, 0.0).mean(axis=axis)
    return np.squeeze(threshold, axis=axis) + excess / (1.0 - level)


def max_drawdown(wealth: np.ndarray) -> np.ndarray:
    """Largest fall from the running peak along axis 0 (time); shape: wealth.shape[1:]."""
    return np.max(np.maximum.accumulate(wealth, axis=0) - wealth, axis=0)


def metric_values(per_path: pd.DataFrame | dict, no_hedge_rmse: float | None, value_scale: float,
                  cao_hull_c: float = 1.5, index: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Every metric, computed on the rows ``index`` (shape (B, N) for B bootstrap samples, or None: all)."""
    columns = {name: np.asarray(per_path[name], dtype=np.float64) for name in
               ("pnl", "cost", "turnover", "n_trades", "max_drawdown")}
    if index is not None:
        columns = {name: values[index] for name, values in columns.items()}
    x = columns["pnl"]
    mean, std = x.mean(axis=-1), x.std(axis=-1, ddof=1)
    rmse = np.sqrt(np.mean(x * x, axis=-1))
    lam = 1.0 / value_scale
    shifted = -lam * x
    top = shifted.max(axis=-1, keepdims=True)
    entropic = (np.log(np.mean(np.exp(shifted - top), axis=-1)) + top[..., 0]) / lam
    values = {
        "mean_pnl": mean, "std_pnl": std, "rmse": rmse,
        "var_95": value_at_risk(x, 0.95), "var_99": value_at_risk(x, 0.99),
        "cvar_95": cvar(x, 0.95), "cvar_99": cvar(x, 0.99),
        "max_drawdown": columns["max_drawdown"].mean(axis=-1),
        "max_drawdown_worst": columns["max_drawdown"].max(axis=-1),
        "mean_cost": columns["cost"].mean(axis=-1), "turnover": columns["turnover"].mean(axis=-1),
        "n_trades": columns["n_trades"].mean(axis=-1),
        "sharpe": mean / np.where(std > 0, std, np.nan),
        "y": -mean + cao_hull_c * std,
        "entropic": entropic,
    }
    if no_hedge_rmse is None:
        values["cbr"] = np.full_like(mean, np.nan)
    else:
        benefit = no_hedge_rmse - rmse
        values["cbr"] = np.where(benefit > 0, values["mean_cost"] / np.where(benefit > 0, benefit, 1.0), np.nan)
    return values


def summarize(per_path: pd.DataFrame, no_hedge_rmse: float | None, value_scale: float, bootstrap: int = 500,
              seed: int = 0, cao_hull_c: float = 1.5) -> dict[str, float]:
    """Point values and bootstrap 95% intervals: {metric, metric_low, metric_high} as floats."""
    point = metric_values(per_path, no_hedge_rmse, value_scale, cao_hull_c)
    out: dict[str, float] = {name: float(point[name]) for name in METRICS}
    if bootstrap > 0:
        n = len(per_path)
        index = np.random.default_rng(seed).integers(0, n, size=(bootstrap, n))
        samples = metric_values(per_path, no_hedge_rmse, value_scale, cao_hull_c, index)
        for name in METRICS:
            finite = samples[name][np.isfinite(samples[name])]
            low, high = np.percentile(finite, [2.5, 97.5]) if finite.size else (np.nan, np.nan)
            out[f"{name}_low"], out[f"{name}_high"] = float(low), float(high)
    return out
