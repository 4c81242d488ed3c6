"""The installed layout: agents/ and baselines/ live under the hedgegym namespace, not at top level."""

from __future__ import annotations

import importlib

import hedgegym


def test_agents_and_baselines_are_subpackages_of_hedgegym():
    for name in ("hedgegym.agents", "hedgegym.baselines", "hedgegym.market", "hedgegym.pricing"):
        module = importlib.import_module(name)
        assert module.__name__ == name


def test_version_is_exposed():
    assert hedgegym.__version__.count(".") == 2


def test_every_subpackage_is_listed_for_the_wheel():
    """pyproject lists packages explicitly (agents/ and baselines/ are mapped): a package missing from the list
    would import in an editable install and be absent from a wheel."""
    from pathlib import Path

    import pytest

    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11

    root = Path(__file__).resolve().parents[1]
    listed = set(tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(root).parts) for p in (root / "hedgegym").rglob("__init__.py")}
    found |= {"hedgegym.agents", "hedgegym.baselines"}
    assert found <= listed, f"missing from pyproject [tool.setuptools] packages: {sorted(found - listed)}"
