"""The ``hedgegym`` command: the check command on every shipped config (small path counts)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from hedgegym.cli import app

CONFIGS = sorted((Path(__file__).parent.parent / "configs").glob("*.yaml"))
runner = CliRunner()


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_check_runs_on_every_config(path):
    result = runner.invoke(app, ["check", "--config", str(path), "--paths", "20000"])
    assert result.exit_code == 0, result.output
    assert "Monte Carlo" in result.output


def test_check_without_config_uses_the_default():
    result = runner.invoke(app, ["check", "--paths", "5000"])
    assert result.exit_code == 0, result.output
    assert "book" in result.output


def test_bad_config_exits_with_the_field_named(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("market: {model: heston, correlation: 2.0}\n")
    result = runner.invoke(app, ["check", "--config", str(bad)])
    assert result.exit_code == 2
    assert "correlation" in result.output


def test_off_grid_maturity_is_refused(tmp_path):
    config = tmp_path / "grid.yaml"
    config.write_text(
        "book:\n  - {strike: 100, maturity: 1.0, quantity: -1}\n  - {strike: 100, maturity: 0.3, quantity: -1}\n"
        "simulation: {n_paths: 100, n_steps: 4}\n"
    )
    result = runner.invoke(app, ["check", "--config", str(config)])
    assert result.exit_code == 2
    assert "not on the simulation grid" in result.output
