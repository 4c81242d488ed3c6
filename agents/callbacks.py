"""SB3 callbacks: hedging metrics in TensorBoard, a rich progress bar, checkpoints that survive Ctrl-C.

TensorBoard tags written by ``HedgeMetricsCallback`` (every ``eval_every`` environment steps, on a fixed
validation set of paths — child stream 3 of ``SeedSequence(evaluation.seed)``, disjoint from training and test):

==========================  ===========================================================================
tag                         meaning (currency unless stated)
==========================  ===========================================================================
``hedge/mean_cost``         mean transaction cost per path of the current policy (deterministic actions)
``hedge/std_pnl``           standard deviation of its hedged P&L
``hedge/cvar_95``           CVaR 95% of its loss
``hedge/rmse``              hedging-error RMSE
``hedge/turnover``          traded notional ÷ (book notional · S₀)
``hedge/y``                 Cao–Hull Y = E[hedging cost] + 1.5·sd
``hedge/y_vs_delta``        Y of the policy ÷ Y of the delta hedger (< 1: better than delta)
``hedge_delta/<metric>``    the same metrics for the delta hedger on the same paths (flat reference lines)
``hedge/position_vs_delta`` a figure: the policy's stock position and −Δ_book along validation path 0
``hparams`` (text)          the agent configuration, as YAML
==========================  ===========================================================================
"""

from __future__ import annotations

import numpy as np
import yaml
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.logger import Figure

from hedgegym.baselines import DeltaHedger
from hedgegym.config import ExperimentConfig
from hedgegym.env.features import Scales
from hedgegym.evaluation.metrics import metric_values
from hedgegym.evaluation.rollout import VALIDATION_STREAM, evaluate, test_paths

__all__ = ["HedgeMetricsCallback", "RichProgressCallback", "validation_paths"]

LOGGED = ("mean_cost", "std_pnl", "cvar_95", "rmse", "turnover", "y")


def validation_paths(config: ExperimentConfig, n_paths: int):
    """The fixed validation set: child stream 3 of ``SeedSequence(evaluation.seed)`` (the test set is stream 1)."""
    return test_paths(config, n_paths, config.evaluation.seed, stream=VALIDATION_STREAM)


class HedgeMetricsCallback(BaseCallback):
    """Evaluate the policy on fixed validation paths every ``eval_every`` steps; log under ``hedge/``."""

    def __init__(self, config: ExperimentConfig, eval_every: int = 50_000, n_paths: int = 2_000) -> None:
        super().__init__()
        self.config = config
        self.eval_every = eval_every
        self.paths = validation_paths(config, n_paths)
        self.scales = Scales.from_setup(config.market.build(), config.build_book())
        self._next = 0
        self._delta: dict[str, float] | None = None

    def _metrics(self, per_path) -> dict[str, float]:
        values = metric_values(per_path, None, self.scales.value)
        return {name: float(values[name]) for name in LOGGED}

    def _on_training_start(self) -> None:
        self.logger.record("hparams", yaml.safe_dump(self.config.agent.model_dump(mode="json")),
                           exclude=("stdout", "log", "json", "csv"))
        delta = evaluate(DeltaHedger(), self.config, paths=self.paths)
        self._delta = self._metrics(delta.per_path)
        self._delta_position = delta.series["book_delta"][:, 0]
        self._next = self.num_timesteps

    def _on_step(self) -> bool:
        if self.num_timesteps >= self._next:
            self._next = self.num_timesteps + self.eval_every
            self.log_now()
        return True

    def log_now(self) -> None:
        result = evaluate(self.model, self.config, paths=self.paths)
        metrics = self._metrics(result.per_path)
        for name, value in metrics.items():
            self.logger.record(f"hedge/{name}", value)
            self.logger.record(f"hedge_delta/{name}", self._delta[name])
        self.logger.record("hedge/y_vs_delta", metrics["y"] / self._delta["y"])
        self.logger.record("hedge/position_vs_delta", Figure(self._figure(result), close=True),
                           exclude=("stdout", "log", "json", "csv"))
        self.logger.dump(self.num_timesteps)

    def _figure(self, result):
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        figure, axis = plt.subplots(figsize=(6, 4))
        axis.plot(-self._delta_position, "k--", label="−Δ_book")
        axis.step(np.arange(len(self._delta_position)), result.series["stock_position"][:, 0], where="post",
                  label="policy")
        axis.set(xlabel="step", ylabel="shares", title="validation path 0")
        axis.legend()
        return figure


class RichProgressCallback(BaseCallback):
    """A rich progress bar over ``total_timesteps`` (SB3's own bar needs tqdm, not a dependency here)."""

    def __init__(self, total_timesteps: int) -> None:
        super().__init__()
        self.total = total_timesteps
        self.progress = Progress(TextColumn("training"), BarColumn(), TextColumn("{task.completed:,}/{task.total:,}"),
                                 TimeElapsedColumn(), TimeRemainingColumn())
        self.task = None

    def _on_training_start(self) -> None:
        self.progress.start()
        self.task = self.progress.add_task("train", total=self.total, completed=0)

    def _on_step(self) -> bool:
        self.progress.update(self.task, completed=min(self.num_timesteps - self._start, self.total))
        return True

    def _init_callback(self) -> None:
        self._start = self.model.num_timesteps

    def _on_training_end(self) -> None:
        self.progress.stop()
