"""The documentation: every config field a shipped config uses is in the generated reference, and every tutorial's
code runs as written (CI-sized) in a fresh directory. The site itself is built by ``.ci/run`` with ``mkdocs build
--strict`` (warnings are errors)."""

from __future__ import annotations

import os
import re
import sys
import time
import types
from pathlib import Path

import pytest
import yaml

from hedgegym.config import MARKET_MODELS, load_config
from hedgegym.config_reference import config_reference_markdown, field_paths

ROOT = Path(__file__).resolve().parents[1]
TUTORIALS = sorted((ROOT / "docs" / "tutorials").glob("*.md"))


def _paths(data: object, prefix: str) -> set[str]:
    """The field paths a parsed YAML mapping uses (lists of mappings as ``name[]``)."""
    found: set[str] = set()
    if isinstance(data, dict):
        for key, value in data.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            found.add(path)
            found |= _paths(value, path)
    elif isinstance(data, list):
        for item in data:
            if isinstance(item, dict):
                found |= _paths(item, f"{prefix}[]" if not prefix.endswith("[]") else prefix)
    return found


def _config_files() -> list[Path]:
    files = []
    for path in sorted((ROOT / "configs").rglob("*.yaml")):
        try:
            load_config(path)
        except ValueError:  # a sweep or study file: another schema
            continue
        files.append(path)
    return files


def test_every_field_a_shipped_config_uses_is_in_the_reference():
    documented = set(field_paths())
    missing = set()
    files = _config_files()
    assert len(files) > 40
    for path in files:
        data = yaml.safe_load(path.read_text())
        market = data.get("market", {})
        model = market.get("model", "gbm")
        for used in _paths(data, ""):
            if used.startswith("market.") and used != "market.model":
                used = f"market.{model}.{used.split('.', 1)[1]}"
            if used.startswith("agent.sb3_kwargs.") or re.match(r"^costs\.\w+\.\w+$", used):
                continue  # free-form: SB3's own keyword arguments; per-instrument cost entries (stock, options)
            if used not in documented:
                missing.add(f"{used} ({path.name})")
    assert not missing, sorted(missing)
    text = config_reference_markdown()
    for model in MARKET_MODELS:
        assert f"`market.model: {model}`" in text


@pytest.mark.parametrize("tutorial", TUTORIALS, ids=[path.stem for path in TUTORIALS])
def test_tutorial_runs_as_written(tutorial, tmp_path, monkeypatch):
    blocks = re.findall(r"```python\n(.*?)```", tutorial.read_text(), flags=re.S)
    assert blocks, f"{tutorial.name} has no python code"
    (tmp_path / "configs").symlink_to(ROOT / "configs")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setattr("hedgegym.evaluation.reports._plots", lambda *_args: [])  # the figures are not the point
    module = types.ModuleType(f"tutorial_{tutorial.stem.replace('-', '_')}")  # dataclasses look their module up
    monkeypatch.setitem(sys.modules, module.__name__, module)
    namespace = module.__dict__
    start = time.perf_counter()
    for index, block in enumerate(blocks):
        try:
            exec(compile(block, f"{tutorial.name}[{index}]", "exec"), namespace)
        except Exception as error:
            raise AssertionError(f"{tutorial.name}, code block {index + 1} failed: {error!r}") from error
    assert time.perf_counter() - start < 240, "a tutorial must stay CI-sized"
    assert os.getcwd() == str(tmp_path)
