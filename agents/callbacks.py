"""SB3 callbacks: hedging metrics in TensorBoard, a rich progress bar, checkpoints at rollout boundaries, a
graceful Ctrl-C; and the run's TensorBoard logger.

TensorBoard tags written by ``HedgeMetricsCallback`` (on a fixed validation set of paths — child stream 3 of
``SeedSequence(evaluation.seed)``, disjoint from training and test — at the first rollout boundary at or past
every multiple of ``eval_every`` environment steps, and at the last step of training), into the same events
file as SB3's own scalars. SB3's ``train/*`` values are written by SB3 alone, at the end of the rollout after
the update (this callback never flushes SB3's logger, so they keep SB3's steps):

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
``hparams`` (text)          the agent configuration, as YAML (at step 0)
==========================  ===========================================================================

Evaluations run with the global torch / numpy generators saved and restored, so logging never changes training.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
import yaml
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.logger import Logger, TensorBoardOutputFormat
from torch.utils.tensorboard import SummaryWriter

from hedgegym import _validation as check
from hedgegym.agents.checkpoint import save_checkpoint, write_atomically
from hedgegym.baselines import DeltaHedger
from hedgegym.config import ExperimentConfig
from hedgegym.env.features import Scales
from hedgegym.evaluation.metrics import metric_values
from hedgegym.evaluation.rollout import VALIDATION_STREAM, evaluate, test_paths

__all__ = ["HedgeMetricsCallback", "RichProgressCallback", "RolloutCheckpointCallback", "TrainingInterrupted",
           "run_logger", "validation_paths"]

LOGGED = ("mean_cost", "std_pnl", "cvar_95", "rmse", "turnover", "y")


class TrainingInterrupted(Exception):
    """Training stopped on request (Ctrl-C); ``checkpoint`` is the model zip saved on the way out, or None;
    ``steps`` the environment steps done; ``during`` is ``"training"``, or ``"evaluation"`` when the final model
    was written and the stop came during the final evaluation (``resume`` then writes ``evaluation/`` only);
    ``run`` the run directory when known."""

    def __init__(self, checkpoint: Path | None, steps: int | None = None, during: str = "training",
                 run: Path | None = None) -> None:
        self.checkpoint = checkpoint
        self.steps = steps
        self.during = during
        self.run = run
        where = "during the final evaluation" if during == "evaluation" else f"at {steps} steps"
        super().__init__(f"training interrupted {where}; checkpoint: {checkpoint}")


def validation_paths(config: ExperimentConfig, n_paths: int):
    """The fixed validation set: child stream 3 of ``SeedSequence(evaluation.seed)`` (the test set is stream 1)."""
    return test_paths(config, n_paths, config.evaluation.seed, stream=VALIDATION_STREAM)


class _TensorBoard(TensorBoardOutputFormat):
    """SB3's TensorBoard output with ``purge_step``: events at or after that step, left in the directory by an
    interrupted run, are hidden by TensorBoard (the resumed run writes them again)."""

    def __init__(self, folder: str, purge_step: int | None) -> None:
        self.writer = SummaryWriter(log_dir=folder, purge_step=purge_step)
        self._is_closed = False


def run_logger(folder: str | Path, resumed_at: int | None = None) -> Logger:
    """The logger of a run (TensorBoard events in ``folder``). A run resumed from the checkpoint at step
    ``resumed_at`` purges the events the interrupted run wrote *after* that step: what it wrote at the step itself
    (SB3's dump at the end of the rollout, ``hedge/*`` — logged before the checkpoint is saved) came before the
    checkpoint, and the resumed run does not write it again."""
    return Logger(str(folder), [_TensorBoard(str(folder), None if resumed_at is None else resumed_at + 1)])


def _writer(logger: Logger) -> SummaryWriter | None:
    return next((f.writer for f in logger.output_formats if isinstance(f, TensorBoardOutputFormat)), None)


@contextmanager
def _generators_untouched() -> Iterator[None]:
    """Save and restore the global torch and numpy generators around an evaluation."""
    numpy_state = np.random.get_state()  # noqa: NPY002 (SB3 samples minibatches from it)
    with torch.random.fork_rng(devices=[]):
        yield
    np.random.set_state(numpy_state)  # noqa: NPY002


class HedgeMetricsCallback(BaseCallback):
    """Evaluate the policy on fixed validation paths every ``eval_every`` steps; log under ``hedge/`` (see the
    module docstring). Needs a TensorBoard output in the model's logger (``run_logger``); without one it does
    nothing. ``resumed_at``: the checkpoint step a resumed run starts from (its ``hedge/*`` points and the
    ``hparams`` text were written before that checkpoint: not again). Put it before ``RolloutCheckpointCallback``
    in the ``CallbackList``, so that a point due at a checkpoint step is written before the checkpoint.
    ``on_validation(step, metrics)``, when given, receives each point's ``hedge/*`` values (e.g. a sweep reports
    ``metrics["y"]`` to Ray Tune's scheduler). ``best_model``, when given, is where the policy with the lowest
    validation Y so far is saved (SB3 zip, written atomically, strictly lower Y replaces it: the earliest of equal
    points is kept), with ``<best_model stem>.json`` holding its ``step`` and ``validation_y`` (read back on a
    resumed run, whose replayed points then save nothing new: a resumed run replays the same policies). ``ValueError``
    when ``eval_every`` or ``n_paths`` is not a positive integer."""

    def __init__(self, config: ExperimentConfig, eval_every: int = 50_000, n_paths: int = 2_000,
                 resumed_at: int | None = None,
                 on_validation: Callable[[int, dict[str, float]], None] | None = None,
                 best_model: Path | None = None) -> None:
        super().__init__()
        check.positive_int("eval_every", eval_every)
        check.positive_int("n_paths", n_paths)
        self.config = config
        self.eval_every = int(eval_every)
        self.paths = validation_paths(config, int(n_paths))
        self.scales = Scales.from_setup(config.market.build(), config.build_book())
        self.resumed_at = resumed_at
        self.on_validation = on_validation
        self.best_model = best_model
        self._best_y = best_validation_y(best_model, int(n_paths)) if best_model is not None else None
        self._last: int | None = None
        self._delta: dict[str, float] | None = None
        self._tensorboard: SummaryWriter | None = None

    def _metrics(self, per_path) -> dict[str, float]:
        values = metric_values(per_path, None, self.scales.value, self.config.evaluation.cao_hull_c)
        return {name: float(values[name]) for name in LOGGED}

    def _on_training_start(self) -> None:
        self._tensorboard = _writer(self.logger)
        if self._tensorboard is None:
            return
        if self.resumed_at is None:
            self._tensorboard.add_text("hparams", yaml.safe_dump(self.config.agent.model_dump(mode="json")), 0)
        with _generators_untouched():
            delta = evaluate(DeltaHedger(), self.config, paths=self.paths)
        self._delta = self._metrics(delta.per_path)
        self._delta_position = delta.series["book_delta"][:, 0]
        self._last = self.resumed_at

    def _on_rollout_start(self) -> None:
        step = self.num_timesteps
        if self._last is None or step // self.eval_every > self._last // self.eval_every:
            self.log_now()

    def _on_step(self) -> bool:
        return True

    def _on_training_end(self) -> None:
        if self._last != self.num_timesteps:
            self.log_now()

    def log_now(self) -> None:
        """Evaluate now and write the ``hedge/*`` points at ``num_timesteps``."""
        if self._tensorboard is None:
            return
        step = self._last = self.num_timesteps
        with _generators_untouched():
            result = evaluate(self.model, self.config, paths=self.paths)
        metrics = self._metrics(result.per_path)
        writer = self._tensorboard
        for name, value in metrics.items():
            writer.add_scalar(f"hedge/{name}", value, step)
            writer.add_scalar(f"hedge_delta/{name}", self._delta[name], step)
        writer.add_scalar("hedge/y_vs_delta", metrics["y"] / self._delta["y"], step)
        writer.add_figure("hedge/position_vs_delta", self._figure(result), step, close=True)
        writer.flush()
        if self.best_model is not None and metrics["y"] < self._best_y:
            write_atomically(self.best_model, self.model.save)
            record = json.dumps({"step": step, "validation_y": metrics["y"],
                                 "validation_paths": len(self.paths.spot)}).encode()
            write_atomically(best_record(self.best_model), lambda handle: handle.write(record))
            self._best_y = metrics["y"]
        if self.on_validation is not None:
            self.on_validation(step, metrics)

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


def best_record(best_model: Path) -> Path:
    """The JSON record (``step``, ``validation_y``) beside a best-validation model file."""
    return best_model.with_suffix(".json")


def best_validation_y(best_model: Path, n_paths: int) -> float:
    """The validation Y of the policy saved at ``best_model`` (inf when none is saved yet); ``ValueError`` when it
    was measured on another number of validation paths than ``n_paths`` (Ys of different path sets)."""
    record = best_record(best_model)
    if not (best_model.is_file() and record.is_file()):
        return float("inf")
    saved = json.loads(record.read_text())
    if saved.get("validation_paths", n_paths) != n_paths:
        raise ValueError(f"validation_paths must be {saved['validation_paths']} as when {best_model.name} was "
                         f"selected ({record}), got {n_paths}")
    return float(saved["validation_y"])


class RolloutCheckpointCallback(BaseCallback):
    """Exact checkpoints (``hedgegym.agents.checkpoint``) at rollout boundaries: at the first rollout start at or
    past every multiple of ``every`` environment steps. ``request_stop()`` (the Ctrl-C handler) makes the next
    rollout start save a checkpoint and raise ``TrainingInterrupted``; the final checkpoint is the caller's."""

    def __init__(self, directory: str | Path, every: int) -> None:
        super().__init__()
        check.positive_int("every", every)
        self.directory = Path(directory)
        self.every = int(every)
        self.stop_requested = False
        self._last = 0

    def request_stop(self) -> None:
        self.stop_requested = True

    def _on_training_start(self) -> None:
        self._last = self.num_timesteps

    def _on_rollout_start(self) -> None:
        step = self.num_timesteps
        path = None
        if step // self.every > self._last // self.every or self.stop_requested:
            path = save_checkpoint(self.model, self.directory)
        self._last = step
        if self.stop_requested:
            raise TrainingInterrupted(path, step)

    def _on_step(self) -> bool:
        return True


class RichProgressCallback(BaseCallback):
    """A rich progress bar of ``num_timesteps`` out of ``total_timesteps`` (SB3's own bar needs tqdm)."""

    def __init__(self, total_timesteps: int) -> None:
        super().__init__()
        self.total = total_timesteps
        self.progress = Progress(TextColumn("training"), BarColumn(), TextColumn("{task.completed:,}/{task.total:,}"),
                                 TimeElapsedColumn(), TimeRemainingColumn())
        self.task = None

    def _on_training_start(self) -> None:
        self.progress.start()
        self.task = self.progress.add_task("train", total=self.total, completed=min(self.num_timesteps, self.total))

    def _on_step(self) -> bool:
        self.progress.update(self.task, completed=min(self.num_timesteps, self.total))
        return True

    def _on_training_end(self) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop the bar (also after an exception ended training early)."""
        self.progress.stop()
