r"""The model zoo: small trained PPO, SAC and deep-hedging policies shipped with the package (as rl-baselines3-zoo
does for SB3), so that ``hedgegym compare`` puts learned hedgers next to the classical ones without training first.

Each entry is a directory ``hedgegym/zoo/models/<name>/`` laid out like a run directory of ``hedgegym train``
(``config.yaml``: the training config; ``final_model.zip`` for PPO/SAC/TQC or ``final_model.pt`` for deep hedging),
plus ``metadata.json`` (schema ``hedgegym.zoo/1``)::

    name, algo, seed          the entry and how it was trained
    command                   the one command that retrains it, e.g. hedgegym train --config configs/zoo/<name>.yaml
    task, task_sha256         the config it serves (its name) and the fingerprint of that config's task
    model_file, model_sha256  the policy file and its SHA-256 (checked at every load: a changed file is refused)
    versions                  hedgegym, torch, stable-baselines3 and Python at training time
    training_wall_s           training time on one CPU core (config written to final model written)
    evaluation                the policy's metrics on the task's held-out test paths (``evaluation.n_paths`` paths of
                              seed ``evaluation.seed``: the paths ``hedgegym compare`` uses): Y, RMSE, CVaR, mean cost,
                              each with its 95% bootstrap interval

``scripts/refresh_zoo.py`` writes an entry from a finished run. An entry applies to a config when the config's task
fingerprint equals the entry's: the market, the book, the hedge instruments, the costs and the time grid (its name,
evaluation, env and agent sections do not count). Asked for on any other config, ``load`` refuses with the first
section that differs.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from hedgegym.config import ExperimentConfig

__all__ = ["MODELS_DIR", "SCHEMA", "TASK_SECTIONS", "ZooEntry", "ZooError", "entries", "entries_for", "load",
           "task_sha256", "unfit_reason"]

MODELS_DIR = Path(__file__).resolve().parent / "models"
SCHEMA = "hedgegym.zoo/1"
TASK_SECTIONS = ("market", "book", "hedging", "costs", "simulation.n_steps", "simulation.horizon")
"""What an agent was trained on and acts in: a zoo entry serves configs that agree on all of these."""


class ZooError(ValueError):
    """A zoo entry that cannot be used: malformed metadata, a changed model file, or a config it was not trained
    for; the message says which and why."""


def _task(config: ExperimentConfig) -> dict[str, object]:
    data = config.model_dump(mode="json")
    market = {"model": config.market.model, **config.market.resolved_parameters()}  # defaults spelled out or not
    return {"market": json.loads(json.dumps(market, default=str)), "book": data["book"], "hedging": data["hedging"],
            "costs": data["costs"],
            "simulation.n_steps": data["simulation"]["n_steps"], "simulation.horizon": data["simulation"]["horizon"]}


def task_sha256(config: ExperimentConfig) -> str:
    """SHA-256 of the config's ``TASK_SECTIONS`` (key-sorted compact JSON): equal for configs an agent can be scored
    on as trained."""
    text = json.dumps(_task(config), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes (hex)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class ZooEntry:
    """One shipped policy: its directory and its ``metadata.json`` (see the module docstring)."""

    directory: Path
    metadata: dict

    @property
    def name(self) -> str:
        return str(self.metadata["name"])

    @property
    def algo(self) -> str:
        return str(self.metadata["algo"])

    @property
    def hedger_name(self) -> str:
        """The row name in comparison tables: ``<algo>_zoo``."""
        return f"{self.algo}_zoo"

    @property
    def model_path(self) -> Path:
        return self.directory / str(self.metadata["model_file"])

    def training_config(self) -> ExperimentConfig:
        """The config the policy was trained with (its ``config.yaml``)."""
        from hedgegym.config import load_config

        return load_config(self.directory / "config.yaml")


_REQUIRED = ("schema", "name", "algo", "seed", "command", "task", "task_sha256", "model_file", "model_sha256",
             "versions", "evaluation")


def _read(directory: Path) -> ZooEntry:
    path = directory / "metadata.json"
    try:
        metadata = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise ZooError(f"{path}: cannot be read ({error})") from None
    if not isinstance(metadata, dict):
        raise ZooError(f"{path}: must hold a JSON object")
    missing = [key for key in _REQUIRED if key not in metadata]
    if missing:
        raise ZooError(f"{path}: missing {', '.join(missing)}")
    if metadata["schema"] != SCHEMA:
        raise ZooError(f"{path}: schema {metadata['schema']!r}, expected {SCHEMA!r}")
    return ZooEntry(directory, metadata)


def entries(models_dir: str | Path = MODELS_DIR) -> list[ZooEntry]:
    """Every entry of the zoo (sorted by name); ``ZooError`` for a malformed one."""
    root = Path(models_dir)
    if not root.is_dir():
        return []
    return [_read(directory) for directory in sorted(root.iterdir()) if (directory / "metadata.json").is_file()]


def entries_for(config: ExperimentConfig, models_dir: str | Path = MODELS_DIR) -> list[ZooEntry]:
    """The entries trained on ``config``'s task (same ``task_sha256``), sorted by name."""
    fingerprint = task_sha256(config)
    return [entry for entry in entries(models_dir) if entry.metadata["task_sha256"] == fingerprint]


def unfit_reason(entry: ZooEntry, config: ExperimentConfig) -> str | None:
    """Why ``entry`` cannot be scored on ``config`` (the first ``TASK_SECTIONS`` entry that differs), or ``None``."""
    if entry.metadata["task_sha256"] == task_sha256(config):
        return None
    trained, acting = _task(entry.training_config()), _task(config)
    differing = next((section for section in TASK_SECTIONS if trained[section] != acting[section]), "the task")
    return (f"trained on {entry.metadata['task']}, it cannot act in config {config.name!r}: its {differing} differs "
            f"({_short(trained.get(differing))} there, {_short(acting.get(differing))} here)")


def _short(value: object, limit: int = 160) -> str:
    """A value as compact JSON, cut at ``limit`` characters."""
    text = json.dumps(value, separators=(", ", ": "))
    return text if len(text) <= limit else text[:limit - 1] + "…"


def load(entry: ZooEntry, config: ExperimentConfig | None = None):
    """The entry's policy (an SB3 model or a ``DeepHedger``, named ``<algo>_zoo``, carrying its training config),
    after checking its file's SHA-256 and, with ``config``, that it was trained on that config's task.

    Raises:
        ZooError: a model file that is missing or differs from its checksum, or a config it does not fit.
    """
    if config is not None:
        reason = unfit_reason(entry, config)
        if reason is not None:
            raise ZooError(reason)
    if not entry.model_path.is_file():
        raise ZooError(f"zoo model {entry.name}: {entry.model_path} is missing")
    actual = file_sha256(entry.model_path)
    if actual != entry.metadata["model_sha256"]:
        raise ZooError(f"zoo model {entry.name}: {entry.model_path.name} has SHA-256 {actual[:12]}…, its metadata "
                       f"says {str(entry.metadata['model_sha256'])[:12]}… (the file changed: refresh the entry with "
                       "scripts/refresh_zoo.py)")
    from hedgegym.agents.training import load_policy

    agent = load_policy(entry.training_config(), entry.model_path)
    agent.name = entry.hedger_name
    return agent
