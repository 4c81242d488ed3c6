"""Training runs: a new run directory per run, TensorBoard, exact checkpoints, the final model, an evaluation table.

Layout of ``runs/<config>__<algo>__<seed>__<YYYYmmdd-HHMMSS>/`` (an existing directory is never reused):

* ``config.yaml`` — the resolved configuration (seed, timesteps and evaluation paths included);
* ``tb/`` — TensorBoard events (SB3's scalars and ``hedge/…``, see ``hedgegym.agents.callbacks``);
* ``checkpoints/model_<steps>_steps.zip`` (+ ``.state.pkl``, SAC/TQC ``.replay.pkl``) — exact checkpoints
  (``hedgegym.agents.checkpoint``) at the first rollout boundary past every tenth of ``total_timesteps``, on
  Ctrl-C, and one at the last step (SB3 completes whole rollouts: a run ends at the first rollout boundary at or
  past ``total_timesteps``, and its last checkpoint is at that step);
* ``final_model.zip`` (PPO/SAC/TQC) or ``final_model.pt`` (deep hedging: the policy's state dict);
* ``best_model.zip`` + ``best_model.json`` (PPO/SAC/TQC with ``agent.final_policy: best_validation``) — the policy
  with the lowest Y at the validation points (the validation stream, never the test paths; as SB3's
  ``EvalCallback`` keeps its best model), which the evaluation and ``load_agent`` then use; ``final_model.zip``
  stays the last policy;
* ``evaluation/`` — ``hedgegym compare``'s files with the trained agent added to the classical hedgers.

Every file is written under a unique temporary name and renamed into place (the temporary is removed when the
write fails); nothing is written before the inputs validate (config, overrides, SB3 arguments).
``resume(run_dir)`` continues a PPO/SAC/TQC run from its newest checkpoint: the result equals the uninterrupted run
(same final policy, bit for bit — gSDE included —, the same TensorBoard scalars: tags, steps and values, and the
same ``evaluation/``); a complete run is left untouched. Deep-hedging runs keep no checkpoints (a run is short).
``train``, ``resume`` and ``evaluate_run`` hold an exclusive lock on the run directory: a second process on the
same run gets ``RunError`` ("run is in use by another process").

Ctrl-C during PPO/SAC/TQC training stops at the next rollout boundary (also the one before the first rollout: the
checkpoint at step 0 resumes like any other; and the end of the last rollout: the final checkpoint), saves a
checkpoint there and raises ``TrainingInterrupted(checkpoint)``; a second Ctrl-C stops at once, without a new
checkpoint (``checkpoint`` None). Ctrl-C during the final evaluation raises ``TrainingInterrupted`` with
``during="evaluation"``: the final model is written, ``resume`` writes ``evaluation/``.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

import torch
from sb3_contrib import TQC
from stable_baselines3 import PPO, SAC
from stable_baselines3.common.callbacks import CallbackList
from torch.utils.tensorboard import SummaryWriter

from hedgegym import _validation as check
from hedgegym.agents.callbacks import (
    HedgeMetricsCallback,
    RichProgressCallback,
    RolloutCheckpointCallback,
    TrainingInterrupted,
    run_logger,
)
from hedgegym.agents.checkpoint import (
    CheckpointError,
    list_checkpoints,
    load_checkpoint,
    restore_pending_logs,
    save_checkpoint,
    write_atomically,
)
from hedgegym.agents.deep_hedging import (
    DeepHedger,
    DeepHedgingPolicy,
    agent_dtype,
    check_training_device,
    train_deep_hedger,
)
from hedgegym.agents.sb3 import make_model
from hedgegym.config import ConfigError, ExperimentConfig, load_config
from hedgegym.config import apply_overrides as config_overrides
from hedgegym.env.core import HedgingCore
from hedgegym.evaluation.reports import Comparison, compare, default_hedgers, write_outputs
from hedgegym.output import unused_name

__all__ = ["RunError", "TrainingInterrupted", "apply_overrides", "evaluate_run", "load_agent", "load_policy",
           "new_run_directory", "resume", "train"]

ALGORITHMS = {"ppo": PPO, "sac": SAC, "tqc": TQC}
CHECKPOINTS, EVALUATION, BEST_MODEL = "checkpoints", "evaluation", "best_model.zip"


class RunError(ValueError):
    """A run directory that cannot be resumed or evaluated (missing, not a run, no or damaged checkpoint, or in
    use by another process)."""


@contextmanager
def _exclusive(directory: Path) -> Iterator[None]:
    """Hold an exclusive, non-blocking ``flock`` on the run directory itself while training, resuming or
    evaluating it; ``RunError`` ("run is in use by another process") when another process holds it.

    The lock is taken on the directory's own descriptor rather than on a ``.lock`` file in it: it writes nothing
    (a complete run stays untouched, also one written before locks existed) and dies with the process. Where
    ``fcntl`` does not exist (Windows) runs are not locked."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover (Windows)
        yield
        return
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunError(f"{directory}: run is in use by another process (training, resuming or evaluating "
                           "it); wait for it to finish") from None
        yield
    finally:
        os.close(descriptor)  # releases the lock


def apply_overrides(config: ExperimentConfig, **sections: dict[str, object] | None) -> ExperimentConfig:
    """``config`` with ``sections`` (e.g. ``agent={"seed": 3}``; ``None`` values ignored) merged in and the whole
    configuration validated again, so the config's own bounds apply to overrides (``ConfigError`` naming the
    field, e.g. ``agent.total_timesteps``). With no overrides it re-validates ``config`` as it is. The section
    form of ``hedgegym.config.apply_overrides`` (dotted keys), which does the work."""
    dotted = {f"{section}.{key}": value
              for section, values in sections.items() for key, value in (values or {}).items()}
    return config_overrides(config, dotted, source="the configuration with its overrides")


def new_run_directory(config: ExperimentConfig, runs_dir: str | Path = "runs") -> Path:
    """``runs/<config>__<algo>__<seed>__<time>``, created now; an existing one is an error, never reused."""
    name = f"{config.name}__{config.agent.algo}__{config.agent.seed}__{time.strftime('%Y%m%d-%H%M%S')}"
    directory = Path(runs_dir) / name
    directory.mkdir(parents=True, exist_ok=False)
    return directory


def _checkpoint_every(config: ExperimentConfig) -> int:
    """About 10 checkpoints per run (environment steps between them)."""
    return max(config.agent.total_timesteps // 10, 1)


def _check_schedule(eval_every: int | None, validation_paths: int) -> None:
    """``ValueError`` naming the argument unless each is an integer ≥ 1 (``eval_every`` may be ``None``)."""
    if eval_every is not None:
        check.positive_int("eval_every", eval_every)
    check.positive_int("validation_paths", validation_paths)


def _final_model(directory: Path, config: ExperimentConfig) -> Path:
    """The last policy, written when training ends (its presence marks a trained run)."""
    return directory / ("final_model.pt" if config.agent.algo == "deep_hedging" else "final_model.zip")


def _best_model(directory: Path, config: ExperimentConfig) -> Path | None:
    """Where the best-validation policy is kept (``agent.final_policy: best_validation``), else ``None``."""
    return directory / BEST_MODEL if config.agent.final_policy == "best_validation" else None


def _policy_model(directory: Path, config: ExperimentConfig) -> Path:
    """The policy a finished run evaluates and ``load_agent`` returns (``agent.final_policy``)."""
    return _best_model(directory, config) or _final_model(directory, config)


def train(config: ExperimentConfig, runs_dir: str | Path = "runs", eval_every: int | None = None,
          validation_paths: int = 2_000, evaluation_paths: int | None = None,
          on_validation: Callable[[int, dict[str, float]], None] | None = None) -> Path:
    """Train ``config.agent`` into a new run directory and evaluate it; returns the directory.

    ``eval_every``: environment steps between ``hedge/*`` points (default total/20); ``validation_paths``: their
    path count; ``evaluation_paths`` overrides ``evaluation.n_paths`` (same bounds); ``on_validation(step, metrics)``
    receives each PPO/SAC/TQC ``hedge/*`` point (``HedgeMetricsCallback``; deep hedging logs none). Raises
    ``ConfigError`` / ``ValueError`` before anything is written; ``TrainingInterrupted`` on Ctrl-C (see the module
    docstring).
    """
    config = apply_overrides(config, evaluation={"n_paths": evaluation_paths})
    _check_schedule(eval_every, validation_paths)
    if config.agent.algo == "deep_hedging":
        try:
            check_training_device(config)
        except ValueError as error:
            raise ConfigError(str(error)) from None
        model = None
    else:
        model = make_model(config)  # SB3 checks its arguments here: a bad sb3_kwargs leaves no directory
    directory = new_run_directory(config, runs_dir)
    with _exclusive(directory):
        config.save(directory / "config.yaml")
        if model is None:
            _train_deep(config, directory)
        else:
            _learn(model, config, directory, eval_every, validation_paths, on_validation=on_validation)
            write_atomically(directory / "final_model.zip", model.save)
        _final_evaluation(directory, config)
    return directory


def _final_evaluation(directory: Path, config: ExperimentConfig) -> None:
    """``evaluation/`` of a run whose final model is written; Ctrl-C here is ``TrainingInterrupted`` (during
    ``"evaluation"``: ``resume`` writes ``evaluation/`` only), never a bare ``KeyboardInterrupt``."""
    try:
        _evaluate_into(directory, config, None, EVALUATION)
    except KeyboardInterrupt:
        raise TrainingInterrupted(None, None, during="evaluation", run=directory) from None


@contextmanager
def _stop_on_interrupt(checkpoints: RolloutCheckpointCallback) -> Iterator[None]:
    """First Ctrl-C: checkpoint and stop at the next rollout boundary; a second one: stop now."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGINT)

    def handler(_signum, _frame) -> None:
        checkpoints.request_stop()
        signal.signal(signal.SIGINT, signal.default_int_handler)
        sys.stderr.write("\nstopping at the end of this rollout to save a checkpoint (Ctrl-C again: stop now, "
                         "without one)\n")

    signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _learn(model, config: ExperimentConfig, directory: Path, eval_every: int | None, validation_paths: int,
           pending_logs: tuple[dict, dict, dict] | None = None,
           on_validation: Callable[[int, dict[str, float]], None] | None = None) -> None:
    """Train ``model`` from its ``num_timesteps`` to ``agent.total_timesteps``; checkpoint at the end.

    ``pending_logs`` is given when ``model`` comes from a checkpoint (``resume``), also one saved at step 0: SB3
    must then continue (``reset_num_timesteps=False``: no env reset, no new episode buffer), never start over.
    A stop requested during the last rollout (SB3 finishes it and returns) ends in ``TrainingInterrupted`` with
    the final checkpoint, like a stop at any other rollout boundary."""
    total = config.agent.total_timesteps
    start = model.num_timesteps
    resuming = pending_logs is not None
    if start >= total:
        return
    model.set_logger(run_logger(directory / "tb", start if resuming else None))
    if resuming:
        restore_pending_logs(model.logger, pending_logs)
    progress = RichProgressCallback(total)
    checkpoints = RolloutCheckpointCallback(directory / CHECKPOINTS, _checkpoint_every(config))
    hedge = HedgeMetricsCallback(config, eval_every or max(total // 20, 1), validation_paths,
                                 resumed_at=start if resuming else None, on_validation=on_validation,
                                 best_model=_best_model(directory, config))
    try:
        with _stop_on_interrupt(checkpoints):
            # hedge before checkpoints: a hedge/* point due at a checkpoint step is written before the checkpoint
            model.learn(total_timesteps=total - start, reset_num_timesteps=not resuming,
                        callback=CallbackList([progress, hedge, checkpoints]), tb_log_name="run")
        # no logger.dump here: SB3 writes an update's train/* at the end of the next rollout; there is none after
        # the last update, and a dump at the last step would give train/* a second point there
        path = save_checkpoint(model, directory / CHECKPOINTS)
        if checkpoints.stop_requested:  # Ctrl-C during the last rollout
            raise TrainingInterrupted(path, model.num_timesteps)
    except KeyboardInterrupt:
        raise TrainingInterrupted(None, model.num_timesteps) from None
    finally:
        progress.stop()
        model.logger.close()


def _train_deep(config: ExperimentConfig, directory: Path) -> None:
    writer = SummaryWriter(str(directory / "tb"))
    writer.add_text("hparams", str(config.agent.model_dump(mode="json")))

    def progress(iteration: int, risk: float) -> None:
        writer.add_scalar("deep_hedging/risk", risk, iteration)

    try:
        policy, _history = train_deep_hedger(config, progress)
    except KeyboardInterrupt:
        raise TrainingInterrupted(None) from None  # deep hedging keeps no checkpoints
    finally:
        writer.close()
    write_atomically(directory / "final_model.pt", lambda handle: torch.save(policy.state_dict(), handle))


def _run_config(directory: str | Path) -> tuple[Path, ExperimentConfig]:
    """The run directory and its config; ``RunError`` when it is not a run directory."""
    directory = Path(directory)
    if not directory.exists():
        raise RunError(f"no such run directory: {directory}")
    if not directory.is_dir():
        raise RunError(f"{directory} is not a directory")
    if not (directory / "config.yaml").is_file():
        runs = sorted(p.name for p in directory.iterdir() if (p / "config.yaml").is_file())
        hint = f"; it holds runs (e.g. {directory / runs[-1]}): pass one of them" if runs else ""
        raise RunError(f"{directory} is not a run directory (no config.yaml){hint}")
    try:
        return directory, load_config(directory / "config.yaml")
    except ConfigError as error:
        raise RunError(f"{directory}/config.yaml does not load: {error}") from None


def resume(directory: str | Path, eval_every: int | None = None, validation_paths: int = 2_000,
           on_validation: Callable[[int, dict[str, float]], None] | None = None,
           ) -> Literal["complete", "evaluated", "trained"]:
    """Finish the run in ``directory``; returns what was done.

    * ``"complete"``: the run has its final model and ``evaluation/``: nothing is done, nothing written;
    * ``"evaluated"``: it had its final model only (stopped during the evaluation): ``evaluation/`` written;
    * ``"trained"``: PPO/SAC/TQC continued from the newest checkpoint to ``agent.total_timesteps`` exactly as the
      uninterrupted run (``hedgegym.agents.checkpoint``), then the final model and ``evaluation/``.

    ``on_validation(step, metrics)``: as ``train``'s, at every validation point of the continued training.
    ``RunError``: no such directory, not a run directory, no checkpoint, a damaged checkpoint (named), or an
    unfinished deep-hedging run (no checkpoints). ``TrainingInterrupted`` on Ctrl-C, as ``train``.
    """
    directory, config = _run_config(directory)
    _check_schedule(eval_every, validation_paths)
    with _exclusive(directory):
        return _resume(directory, config, eval_every, validation_paths, on_validation)


def _resume(directory: Path, config: ExperimentConfig, eval_every: int | None, validation_paths: int,
            on_validation: Callable[[int, dict[str, float]], None] | None = None,
            ) -> Literal["complete", "evaluated", "trained"]:
    if _final_model(directory, config).is_file():
        if (directory / EVALUATION).is_dir():
            return "complete"
        _final_evaluation(directory, config)
        return "evaluated"
    if config.agent.algo == "deep_hedging":
        raise RunError(f"{directory}: deep-hedging runs keep no checkpoints and this one has no final model; "
                       "train it again")
    checkpoints = list_checkpoints(directory / CHECKPOINTS)
    if not checkpoints:
        raise RunError(f"{directory} holds no checkpoint to resume from ({CHECKPOINTS}/model_<steps>_steps.zip)")
    try:
        model, pending = load_checkpoint(checkpoints[-1], ALGORITHMS[config.agent.algo])
    except CheckpointError as error:
        raise RunError(str(error)) from None
    _learn(model, config, directory, eval_every, validation_paths, pending, on_validation=on_validation)
    write_atomically(directory / "final_model.zip", model.save)
    _final_evaluation(directory, config)
    return "trained"


def load_agent(directory: str | Path):
    """The trained agent of a run: an SB3 model, or a ``DeepHedger``; and the run's config (``RunError`` when
    the directory is not a run or has no final model)."""
    directory, config = _run_config(directory)
    last = _final_model(directory, config)
    if not last.is_file():
        raise RunError(f"{directory} has no {last.name} (unfinished: continue it with --resume {directory})")
    final = _policy_model(directory, config)
    if not final.is_file():
        raise RunError(f"{directory} has no {final.name} (agent.final_policy {config.agent.final_policy}: no "
                       "validation point was logged)")
    return load_policy(config, final), config


def load_policy(config: ExperimentConfig, path: str | Path):
    """The agent ``config.agent`` describes, with the weights of ``path`` (``final_model.zip`` / ``best_model.zip`` for
    PPO/SAC/TQC, ``final_model.pt`` for deep hedging): an SB3 model carrying ``training_config``, or a ``DeepHedger``.
    ``load_agent`` reads a run directory with it; the model zoo, its own files."""
    if config.agent.algo == "deep_hedging":
        core = HedgingCore(config, n_envs=1)
        policy = DeepHedgingPolicy(len(core.feature_names), core.action_space.shape[0], list(config.agent.net_arch),
                                   core.position_scale).to(agent_dtype(config))  # as trained
        policy.load_state_dict(torch.load(path, map_location="cpu"))
        return DeepHedger(policy, config)
    model = ALGORITHMS[config.agent.algo].load(path, device="cpu")
    model.name = config.agent.algo
    model.training_config = config  # evaluate() acts with its features, action mapping and scales
    return model


def _evaluate_into(directory: Path, config: ExperimentConfig, agent, output_name: str) -> Comparison:
    """Compare the run's agent with the classical hedgers; the files appear in ``directory/output_name`` at once
    (``write_outputs`` writes them in a hidden temporary directory, then renames it)."""
    target = directory / output_name
    if target.exists():
        raise FileExistsError(f"{target} exists: hedgegym never overwrites results")
    if agent is None:
        agent, _ = load_agent(directory)
    settings = config.evaluation
    comparison = compare(config, [*default_hedgers(config), agent], settings.n_paths, settings.seed,
                         settings.bootstrap, settings.cao_hull_c)
    for stale in directory.glob(f".{output_name}.partial-*"):  # left by a killed process (the run is locked)
        shutil.rmtree(stale, ignore_errors=True)
    write_outputs(comparison, target)  # all at once (hedgegym.output.atomic_directory); never over a result
    return comparison


def _new_evaluation_name(directory: Path) -> str:
    """``evaluation_<YYYYmmdd-HHMMSS>``, with ``-2``, ``-3``, … appended while that name exists in ``directory``
    (two evaluations in the same second: nothing overwritten, no error)."""
    return unused_name(directory, f"evaluation_{time.strftime('%Y%m%d-%H%M%S')}").name


def evaluate_run(directory: str | Path, n_paths: int | None = None, output_name: str | None = None) -> Comparison:
    """Put a run's trained agent into the comparison table with the classical hedgers (same held-out paths),
    written to ``<run>/<output_name>`` (default ``evaluation_<time>``, ``-2``, ``-3``, … appended when taken;
    an ``output_name`` that exists is a ``FileExistsError``). ``n_paths`` overrides ``evaluation.n_paths`` within
    its bounds (``ConfigError`` naming it); ``RunError`` for a directory that is not a finished run or is in use
    by another process (training, resuming or evaluating it)."""
    directory, config = _run_config(directory)
    agent, _ = load_agent(directory)
    config = apply_overrides(config, evaluation={"n_paths": n_paths})
    with _exclusive(directory):
        return _evaluate_into(directory, config, agent, output_name or _new_evaluation_name(directory))
