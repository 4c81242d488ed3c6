"""Exact SB3 checkpoints: everything a PPO/SAC/TQC run depends on, so that training to N steps equals training to k
steps, stopping, and resuming to N (same seed → the same final policy, bit for bit; see tests/agents).

A checkpoint at ``s`` environment steps is three files in ``<run>/checkpoints/`` (each written to a temporary
name and renamed into place, so a crash never leaves half a file under the final name):

* ``model_<s>_steps.zip`` — SB3's own save (policy, optimisers, counters, last observations, episode stats;
  loadable by ``PPO.load`` / ``SAC.load`` / ``TQC.load``); written last, so its presence marks a complete checkpoint;
* ``model_<s>_steps.state.pkl`` — what SB3 does not save: the VecEnv itself (per-env generators, the block of
  pre-drawn paths, the engine mid-episode, ``VecMonitor``'s running episode returns), the global torch / numpy /
  ``random`` generator states (PPO's action sampling and minibatch permutation, SAC's and TQC's replay sampling), the
  action space's generator (their warm-up actions), the action noise and the logger's values not yet written;
  with gSDE (``use_sde``) also the exploration matrices of the rollout that starts at ``s`` (see below);
* ``model_<s>_steps.replay.pkl`` — SAC's or TQC's replay buffer (``model.save_replay_buffer``).

gSDE: SB3 draws a rollout's exploration matrices (``policy.reset_noise``, from the global torch generator) *before*
``on_rollout_start``, where checkpoints are saved; the saved torch state is past that draw. The checkpoint keeps the
drawn matrices (``action_dist.exploration_mat``, ``exploration_matrices``, ``weights_dist``; SAC, TQC: the actor's)
and ``load_checkpoint`` puts them back and makes the next ``reset_noise`` — the one that would draw them again at
the start of the resumed rollout — a no-op, once.

SB3's ``load`` re-seeds every generator from ``agent.seed`` and resets the env (that is how a naive resume replays
the run's first episodes); ``load_checkpoint`` loads without an env and then restores all of the above.

The state and replay files of all but the ``KEEP_STATE`` newest checkpoints are deleted (they are large: the
VecEnv's path block and the replay buffer); older model zips stay for evaluation but cannot be resumed from.
"""

from __future__ import annotations

import copyreg
import io
import os
import pickle
import random
import re
import secrets
from collections.abc import Callable
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar

import numpy as np
import torch
from stable_baselines3.common.vec_env import VecMonitor
from torch.distributions import Normal

__all__ = ["KEEP_STATE", "CheckpointError", "checkpoint_steps", "list_checkpoints", "load_checkpoint",
           "restore_pending_logs", "save_checkpoint", "write_atomically"]

KEEP_STATE = 2
_MONITOR_STATE = ("info_keywords", "episode_returns", "episode_lengths", "episode_count", "t_start")
FORMAT = 1
_NAME = re.compile(r"^model_(\d+)_steps\.zip$")


class CheckpointError(ValueError):
    """A checkpoint that is missing a part or cannot be read; the message names the file."""


def _read_only(mapping: dict) -> MappingProxyType:
    return MappingProxyType(mapping)


class _Pickler(pickle.Pickler):
    """``pickle`` plus read-only mappings (the VecEnv caches ``MappingProxyType({})`` infos)."""

    dispatch_table: ClassVar[dict] = {**copyreg.dispatch_table,
                                      MappingProxyType: lambda proxy: (_read_only, (dict(proxy),))}


def write_atomically(path: Path, write: Callable[[io.BufferedWriter], None]) -> None:
    """Write ``path`` through ``write(handle)`` into a hidden temporary file renamed into place (``os.replace``).

    The temporary name is unique (``.<name>.<random>.partial``, created exclusively with the umask's permissions),
    so two writers never share it; it is removed when ``write`` fails or is interrupted."""
    path = Path(path)
    while True:
        temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.partial")
        try:
            descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            break
        except FileExistsError:
            continue
    try:
        with open(descriptor, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _state_path(model_path: Path) -> Path:
    return model_path.with_name(model_path.name[: -len(".zip")] + ".state.pkl")


def _replay_path(model_path: Path) -> Path:
    return model_path.with_name(model_path.name[: -len(".zip")] + ".replay.pkl")


def checkpoint_steps(path: Path) -> int:
    """The step count in ``model_<steps>_steps.zip``."""
    match = _NAME.match(Path(path).name)
    if match is None:
        raise CheckpointError(f"{path} is not named model_<steps>_steps.zip")
    return int(match.group(1))


def list_checkpoints(directory: Path) -> list[Path]:
    """The checkpoint zips in ``directory``, oldest (fewest steps) first."""
    if not Path(directory).is_dir():
        return []
    return sorted((p for p in Path(directory).iterdir() if _NAME.match(p.name)), key=checkpoint_steps)


def _has_replay_buffer(model: Any) -> bool:
    return getattr(model, "replay_buffer", None) is not None


def _noise_owner(model: Any) -> Any:
    """The module whose ``reset_noise`` SB3 calls before a rollout: SAC's and TQC's actor, PPO's policy."""
    return model.actor if getattr(model, "actor", None) is not None else model.policy


def _sde_state(model: Any) -> dict[str, Any] | None:
    """gSDE's exploration matrices of the current rollout (detached copies), or None without gSDE."""
    if not getattr(model, "use_sde", False):
        return None
    dist = _noise_owner(model).action_dist
    weights = dist.weights_dist
    return {"exploration_mat": dist.exploration_mat.detach().clone(),
            "exploration_matrices": dist.exploration_matrices.detach().clone(),
            "weights_dist": (weights.loc.detach().clone(), weights.scale.detach().clone())}


def _restore_sde(model: Any, sde: dict[str, Any]) -> None:
    """Put the checkpointed exploration matrices back and skip the next ``reset_noise`` once (SB3 calls it at the
    start of the resumed rollout, whose matrices these are; later calls draw as usual)."""
    owner = _noise_owner(model)
    dist = owner.action_dist
    dist.exploration_mat = sde["exploration_mat"]
    dist.exploration_matrices = sde["exploration_matrices"]
    dist.weights_dist = Normal(*sde["weights_dist"])

    def skip_once(*_args: Any, **_kwargs: Any) -> None:
        del owner.reset_noise  # back to the class's method

    owner.reset_noise = skip_once


def save_checkpoint(model: Any, directory: Path) -> Path:
    """Write the checkpoint of ``model`` at ``model.num_timesteps`` into ``directory`` (see the module docstring);
    returns the model zip. Call it between rollouts (after a policy update, before the next env step)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"model_{model.num_timesteps}_steps.zip"
    logger = model.logger
    monitor = model.get_env()
    if not isinstance(monitor, VecMonitor):
        raise TypeError(f"checkpoints need the env of make_vec_env (a VecMonitor), got {type(monitor).__name__}")
    state = {
        "format": FORMAT,
        "num_timesteps": model.num_timesteps,
        "env": monitor.venv,  # VecEnvWrapper itself does not pickle (it keeps the class's members)
        "monitor": {name: getattr(monitor, name) for name in _MONITOR_STATE},
        "torch": torch.get_rng_state(),
        "numpy": np.random.get_state(),  # noqa: NPY002 (SB3 samples minibatches from it)
        "random": random.getstate(),
        "action_space": model.action_space.np_random.bit_generator.state,
        "action_noise": model.action_noise if hasattr(model, "action_noise") else None,
        "pending_logs": (dict(logger.name_to_value), dict(logger.name_to_count), dict(logger.name_to_excluded)),
        "sde": _sde_state(model),
    }
    if _has_replay_buffer(model):
        write_atomically(_replay_path(path), lambda handle: _Pickler(handle, pickle.HIGHEST_PROTOCOL).dump(
            model.replay_buffer))
    write_atomically(_state_path(path), lambda handle: _Pickler(handle, pickle.HIGHEST_PROTOCOL).dump(state))
    write_atomically(path, model.save)
    for older in list_checkpoints(directory)[:-KEEP_STATE]:
        _state_path(older).unlink(missing_ok=True)
        _replay_path(older).unlink(missing_ok=True)
    return path


def load_checkpoint(path: Path, algorithm: type) -> tuple[Any, tuple[dict, dict, dict]]:
    """The model of checkpoint ``path`` with its env and every generator restored, and the logger values that
    were recorded but not yet written (``(name_to_value, name_to_count, name_to_excluded)``, for
    ``restore_pending_logs``). ``CheckpointError`` when a part is missing or unreadable."""
    path = Path(path)
    state_path = _state_path(path)
    if not state_path.is_file():
        raise CheckpointError(f"{path} has no training state ({state_path.name}): it was written by an older "
                              "hedgegym or its state was pruned; only the newest checkpoints can be resumed from")
    try:
        with open(state_path, "rb") as handle:
            state = pickle.load(handle)
        if not isinstance(state, dict) or state.get("format") != FORMAT:
            raise ValueError(f"unknown state format {state.get('format') if isinstance(state, dict) else state!r}")
        model = algorithm.load(path, env=None, device="cpu")
        if model.num_timesteps != state["num_timesteps"]:
            raise ValueError(f"the model is at {model.num_timesteps} steps, its state at {state['num_timesteps']}")
        monitor = VecMonitor(state["env"], info_keywords=state["monitor"]["info_keywords"])
        for name, value in state["monitor"].items():
            setattr(monitor, name, value)
        model.set_env(monitor, force_reset=False)
        if bool(getattr(model, "use_sde", False)) != (state.get("sde") is not None):
            raise ValueError("the state's gSDE exploration matrices do not match the model's use_sde")
        if hasattr(model, "replay_buffer"):
            replay = _replay_path(path)
            if not replay.is_file():
                raise FileNotFoundError(f"the replay buffer {replay.name} is missing")
            model.load_replay_buffer(replay)
    except CheckpointError:
        raise
    except Exception as error:  # zip, pickle, torch and SB3 each raise their own types on a damaged file
        raise CheckpointError(f"checkpoint {path} cannot be read ({type(error).__name__}: {error}); delete it (and "
                              "its .state.pkl/.replay.pkl) to resume from the previous one") from None
    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])  # noqa: NPY002 (SB3 samples minibatches from it)
    random.setstate(state["random"])
    model.action_space.np_random.bit_generator.state = state["action_space"]
    if hasattr(model, "action_noise"):
        model.action_noise = state["action_noise"]
    if state.get("sde") is not None:
        _restore_sde(model, state["sde"])
    return model, state["pending_logs"]


def restore_pending_logs(logger: Any, pending: tuple[dict, dict, dict]) -> None:
    """Put back the values a checkpointed logger held but had not written (SB3 writes a policy update's
    ``train/*`` values at the end of the next rollout, after the checkpoint)."""
    values, counts, excluded = pending
    logger.name_to_value.update(values)
    logger.name_to_count.update(counts)
    logger.name_to_excluded.update(excluded)
