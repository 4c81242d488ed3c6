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


# ---------------------------------------------------------------------------------------------- stress, dashboard
CONFIG_DIR = Path(__file__).parent.parent / "configs"
ONE_PER_MODEL = ["gbm_call", "gbm_call_option_hedge", "market_maker_book", "heston_straddle", "heston_straddle_hedged",
                 "merton_put", "sabr_call", "regime_call"]


def _flat(output: str) -> str:
    """The output with rich's line wrapping undone."""
    return " ".join(output.split())


@pytest.mark.parametrize("name", ONE_PER_MODEL)
def test_stress_runs_on_every_model_and_hedge(name):
    result = runner.invoke(app, ["stress", "--config", str(CONFIG_DIR / f"{name}.yaml")])
    assert result.exit_code == 0, result.output
    assert "flash crash -20%" in result.output and "worst scenario:" in result.output


def test_stress_writes_csv_and_markdown_and_never_overwrites(tmp_path):
    out = tmp_path / "stress"
    result = runner.invoke(app, ["stress", "--config", str(CONFIG_DIR / "gbm_call_option_hedge.yaml"),
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "delta, gamma neutral" in _flat(result.output)
    csv, md = out / "stress.csv", out / "stress.md"
    before = csv.read_bytes(), md.read_bytes()
    assert b"spot -10%, vol +20 pts" in before[0] and b"Worst scenario" in before[1]
    again = runner.invoke(app, ["stress", "--out", str(out)])
    assert again.exit_code == 2
    assert "exists" in again.output and "never overwrites" in _flat(again.output)
    assert (csv.read_bytes(), md.read_bytes()) == before


def test_stress_hedge_modes_and_their_errors():
    result = runner.invoke(app, ["stress", "--hedge", "none"])
    assert result.exit_code == 0, result.output
    assert "hedge: none" in result.output
    result = runner.invoke(app, ["stress", "--hedge", "vega"])
    assert result.exit_code == 2
    assert "hedge must be one of none, delta, greeks; got 'vega'" in _flat(result.output)
    result = runner.invoke(app, ["stress", "--hedge", "greeks"])  # the default config lists no hedge options
    assert result.exit_code == 2
    assert "hedging.hedge_options" in _flat(result.output)


def test_stress_reads_custom_scenarios_and_names_a_bad_field(tmp_path):
    good = tmp_path / "good.yaml"
    good.write_text("- {name: gap down 30%, spot_shock: -0.3}\n- {name: vol crush, vol_shock: -0.1}\n")
    result = runner.invoke(app, ["stress", "--scenarios", str(good)])
    assert result.exit_code == 0, result.output
    assert "gap down 30%" in result.output and "vol crush" in result.output
    assert "flash crash" not in result.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("- {name: gap down, spot: -0.3}\n")
    result = runner.invoke(app, ["stress", "--scenarios", str(bad)])
    assert result.exit_code == 2
    assert "[0].spot is not a scenario field; allowed: name, spot_shock, vol_shock" in _flat(result.output)


def test_dashboard_writes_a_png_and_never_overwrites(tmp_path):
    config = str(CONFIG_DIR / "heston_straddle_hedged.yaml")
    for _ in range(2):
        result = runner.invoke(app, ["dashboard", "--config", config, "--out", str(tmp_path)])
        assert result.exit_code == 0, result.output
    assert result.output.count("● green") == 3
    pngs = sorted(tmp_path.glob("dashboard__heston_straddle_hedged__*.png"))
    assert len(pngs) == 2
    assert all(p.read_bytes().startswith(b"\x89PNG") for p in pngs)


def test_dashboard_alerts_against_targets(tmp_path):
    # the default short call, delta-hedged: Δ on target, Γ and vega 100% off a neutral target
    result = runner.invoke(app, ["dashboard", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert result.output.count("● green") == 1 and result.output.count("● red") == 2
    # unhedged, with the targets set to the book's own Greeks: all green
    result = runner.invoke(app, ["dashboard", "--hedge", "none", "--target-delta", "-539.827837",
                                 "--target-gamma", "-39.6953", "--target-vega", "-19847.63", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert result.output.count("● green") == 3
    result = runner.invoke(app, ["dashboard", "--hedge", "gamma", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "hedge must be one of none, delta, greeks" in _flat(result.output)
