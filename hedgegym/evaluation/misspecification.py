r"""Model misspecification: hedgers calibrated to one model, scored on paths from other markets.

A study (``MisspecificationStudy``, YAML, see ``configs/studies/misspecification.yaml``) holds one experiment — its
market is the *calibration* model (Black–Scholes/GBM at σ₀), its book, simulation grid, costs and evaluation
set — and a dict of *markets* the same book is then hedged in. Every hedger computes its hedge ratios from
σ₀ (or, for the robust hedgers, from the band [σ_min, σ_max]) whatever market it trades in; the premium
received and the marks are the market's own values, so what differs across markets is only how good the
calibrated hedge ratios are there.

``run_study(study)`` evaluates every hedger on the same held-out paths of each market (common random numbers
within a market) and returns one long table: a row per (hedger, market) with Y, CVaR95/99, RMSE and max
drawdown and their bootstrap 95% intervals (``hedgegym.evaluation.metrics``; Y also as % of the calibration
premium). ``heatmap(table, metric, path)`` draws hedger × market.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from hedgegym.baselines import (
    DeltaHedger,
    Hedger,
    NoHedge,
    RobustDeltaGammaHedger,
    UncertainVolatilityDeltaHedger,
    WhalleyWilmottHedger,
)
from hedgegym.config import ConfigError, ExperimentConfig, MarketConfig, read_yaml
from hedgegym.evaluation.reports import compare
from hedgegym.instruments import black_scholes_pricer

__all__ = ["STUDY_METRICS", "MisspecificationStudy", "calibration_premium", "heatmap", "load_study", "markdown",
           "run_study", "study_hedgers"]

STUDY_METRICS = ("y", "cvar_95", "cvar_99", "rmse", "max_drawdown")


class MisspecificationStudy(BaseModel):
    """An experiment calibrated to GBM (``experiment.market``) and the markets its hedgers are scored in."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    experiment: ExperimentConfig
    markets: dict[str, MarketConfig] = Field(min_length=1)
    volatility_band: tuple[float, float] = (0.15, 0.30)
    grid_points: int = Field(default=200, ge=20, description="space and time steps of the robust hedgers' PDE")

    @model_validator(mode="after")
    def _calibrated_to_gbm(self) -> MisspecificationStudy:
        if self.experiment.market.model != "gbm":
            raise ValueError(f"experiment.market.model must be 'gbm' (the calibration model), got "
                             f"{self.experiment.market.model!r}")
        low, high = self.volatility_band
        if not 0 <= low <= high:
            raise ValueError(f"volatility_band must satisfy 0 <= low <= high, got {self.volatility_band}")
        return self

    @property
    def calibration_volatility(self) -> float:
        return float(self.experiment.market.parameters()["volatility"])

    def market_config(self, market: str) -> ExperimentConfig:
        """The experiment with its market replaced by ``markets[market]`` (name suffixed)."""
        return self.experiment.model_copy(update={"market": self.markets[market],
                                                  "name": f"{self.experiment.name}__{market}"})


def load_study(path: str | Path) -> MisspecificationStudy:
    """Read and validate a study YAML; ``ConfigError`` names the bad field."""
    path = Path(path)
    data = read_yaml(path, what="study file")  # ConfigError when missing or not YAML
    try:
        return MisspecificationStudy.model_validate(data)
    except ValidationError as error:
        lines = [f"  {'.'.join(str(p) for p in e['loc']) or 'study'}: {e['msg']}" for e in error.errors()]
        raise ConfigError(f"invalid study in {path}:\n" + "\n".join(lines)) from None
    except ValueError as error:  # a market's own parameter check
        raise ConfigError(f"invalid study in {path}: {error}") from None


def study_hedgers(study: MisspecificationStudy) -> list[Hedger]:
    """No hedge; BS delta at σ₀; BS delta at σ_max; Whalley–Wilmott at σ₀ (when the stock has a proportional
    cost); the UVM delta hedger on the band; robust delta–gamma when the experiment lists a hedge option."""
    sigma = study.calibration_volatility
    low, high = study.volatility_band
    experiment = study.experiment
    hedgers: list[Hedger] = [
        NoHedge(),
        DeltaHedger(volatility=sigma, name=f"bs_delta_{sigma:g}"),
        DeltaHedger(volatility=high, name=f"bs_delta_{high:g}"),
    ]
    cost = experiment.costs.proportional.stock
    if cost > 0:
        notional = experiment.build_book().notional
        spot = float(experiment.market.parameters().get("spot", 100.0))
        hedgers.append(WhalleyWilmottHedger(cost_rate=cost, risk_aversion=100.0 / (notional * spot),
                                            volatility=sigma))
    grid = {"n_space": study.grid_points, "n_time": study.grid_points}
    hedgers.append(UncertainVolatilityDeltaHedger(low, high, **grid))
    if experiment.hedging.hedge_options:
        hedgers.append(RobustDeltaGammaHedger(low, high, hedge_volatility=sigma, **grid))
    return hedgers


def run_study(study: MisspecificationStudy, n_paths: int | None = None, bootstrap: int | None = None,
              progress: Callable[[str], None] | None = None) -> pd.DataFrame:
    """Evaluate ``study_hedgers`` in every market; a row per (hedger, market), see the module docstring."""
    evaluation = study.experiment.evaluation
    n_paths = evaluation.n_paths if n_paths is None else n_paths
    bootstrap = evaluation.bootstrap if bootstrap is None else bootstrap
    premium = calibration_premium(study)
    frames = []
    for market in study.markets:
        if progress is not None:
            progress(market)
        config = study.market_config(market)
        comparison = compare(config, study_hedgers(study), n_paths=n_paths, seed=evaluation.seed,
                             bootstrap=bootstrap, cao_hull_c=evaluation.cao_hull_c)
        columns = [c for m in STUDY_METRICS for c in (m, f"{m}_low", f"{m}_high") if c in comparison.table]
        frame = comparison.table[columns].copy()
        for suffix in ("", "_low", "_high"):
            if f"y{suffix}" in frame:
                frame[f"y_pct_premium{suffix}"] = 100.0 * frame[f"y{suffix}"] / premium
        frame.insert(0, "market", market)
        frame.insert(1, "n_paths", len(comparison.evaluations[0].per_path))  # a historical market: its windows
        frames.append(frame.reset_index())
    return pd.concat(frames, ignore_index=True)


def calibration_premium(study: MisspecificationStudy) -> float:
    """|Black–Scholes value| of the book at t = 0 and the calibration volatility (currency): Y's 100% mark."""
    model = study.experiment.market.build()
    pricer = black_scholes_pricer(study.calibration_volatility, model.rate, model.dividend)
    return abs(float(study.experiment.build_book().greeks(np.array([model.spot]), 0.0, pricer).price[0]))


def markdown(table: pd.DataFrame, metrics: tuple[str, ...] = ("y_pct_premium", *STUDY_METRICS[1:])) -> str:
    """hedger × market blocks: one Markdown table per metric, cells ``value [low, high]``."""
    markets = list(dict.fromkeys(table["market"]))
    hedgers = list(dict.fromkeys(table["hedger"]))
    out = []
    for metric in metrics:
        out += [f"### {metric}", "", "| hedger | " + " | ".join(markets) + " |", "|---|" + "---:|" * len(markets)]
        for hedger in hedgers:
            cells = []
            for market in markets:
                row = table[(table["hedger"] == hedger) & (table["market"] == market)].iloc[0]
                cell = f"{row[metric]:,.4g}"
                if f"{metric}_low" in row and np.isfinite(row[f"{metric}_low"]):
                    cell += f" [{row[f'{metric}_low']:,.4g}, {row[f'{metric}_high']:,.4g}]"
                cells.append(cell)
            out.append(f"| {hedger} | " + " | ".join(cells) + " |")
        out.append("")
    return "\n".join(out)


def heatmap(table: pd.DataFrame, metric: str, path: str | Path) -> Path:
    """A hedger × market heat map of ``metric`` (annotated values) written to ``path`` (refuses to overwrite)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    if path.exists():
        raise FileExistsError(f"{path} exists: hedgegym never overwrites results")
    grid = table.pivot(index="hedger", columns="market", values=metric)
    grid = grid.loc[list(dict.fromkeys(table["hedger"])), list(dict.fromkeys(table["market"]))]
    figure, axis = plt.subplots(figsize=(1.6 * grid.shape[1] + 3, 0.5 * grid.shape[0] + 1.5))
    image = axis.imshow(grid.to_numpy(), cmap="RdYlGn_r", aspect="auto")
    axis.set_xticks(range(grid.shape[1]), grid.columns)
    axis.set_yticks(range(grid.shape[0]), grid.index)
    for (i, j), value in np.ndenumerate(grid.to_numpy()):
        axis.text(j, i, f"{value:,.4g}", ha="center", va="center", fontsize=8)
    figure.colorbar(image, ax=axis, label=metric)
    axis.set_title(f"{metric} by hedger (rows) and market (columns)")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path
