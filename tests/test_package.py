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
