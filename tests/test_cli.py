"""The ``hedgegym`` command: the check command on every shipped config (small path counts)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml
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
    bad.write_text("market: {model: heston, correlation: 2.0}\nbook: [{strike: 100, maturity: 0.25, quantity: -1}]\n")
    result = runner.invoke(app, ["check", "--config", str(bad)])
    assert result.exit_code == 2
    assert "correlation" in result.output


@pytest.mark.parametrize("command", ["check", "compare", "stress"])
def test_engine_setup_faults_are_refused_by_every_command_before_any_work(tmp_path, command):
    """Was: a book with maturities 0.25 and 0.5, or a hedge option expiring before the book, passed the config and
    ``check``, then raised a traceback from the engine in ``compare`` and the env. Books of several maturities are
    hedged now; a maturity between two rebalancing dates is the fault left."""
    two = tmp_path / "two.yaml"
    two.write_text("market: {model: gbm}\nbook:\n  - {strike: 100, maturity: 0.2, quantity: -1}\n"
                   "  - {strike: 100, maturity: 0.5, quantity: -1}\nsimulation: {n_paths: 100, n_steps: 4}\n")
    result = runner.invoke(app, [command, "--config", str(two)])
    assert result.exit_code == 2, result.output
    assert "book.0 expires at T = 0.2, between two rebalancing dates (dt = 0.125)" in _flat(result.output)
    early = tmp_path / "early.yaml"
    early.write_text("market: {model: gbm}\nbook: [{strike: 100, maturity: 0.25, quantity: -1}]\n"
                     "hedging: {hedge_options: [{strike: 100, maturity: 0.1}]}\n")
    result = runner.invoke(app, [command, "--config", str(early)])
    assert result.exit_code == 2
    assert "hedging.hedge_options[0] expires at T = 0.1, between two rebalancing dates" in _flat(result.output)


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


# ---------------------------------------------------------------------------------------------- bad input (issue 10)
def _config(tmp_path, text: str, name: str = "c.yaml") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


BOOK = "book: [{strike: 100, maturity: 0.25, quantity: -10}]\n"


def test_version_needs_no_command():
    """Was: 'Missing command' (exit 2)."""
    from hedgegym import __version__

    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"hedgegym {__version__}"


def test_help_imports_neither_torch_nor_stable_baselines():
    """Was: torch and SB3 imported by ``import hedgegym.cli`` (4 s before ``--help`` printed anything)."""
    import subprocess
    import sys

    code = ("import sys, hedgegym.cli; "
            "print(sorted(m for m in ('torch', 'stable_baselines3', 'matplotlib') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_check_volatility_zero_agrees_with_the_closed_form_and_passes(tmp_path):
    """Was: σ = 0, the Monte Carlo equal to the model price, yet z = −474 and exit 1 (a false alarm). Reference:
    with no randomness the call is worth S − K e^{−rT} = 100 − 95 e^{−0.005} = 5.47382 (put 105 e^{−0.005} − 100)."""
    config = _config(tmp_path, "market: {model: gbm, volatility: 0.0, mu: 0.05, rate: 0.02}\nbook:\n"
                     "  - {strike: 95, maturity: 0.25, quantity: -10}\n"
                     "  - {strike: 105, maturity: 0.25, quantity: -10, call: false}\n"
                     "simulation: {n_paths: 1000, n_steps: 10}\n")
    result = runner.invoke(app, ["check", "--config", config])
    assert result.exit_code == 0, result.output
    assert f"{100 - 95 * np.exp(-0.005):.4f}" == "5.4738" and result.output.count("5.4738") == 2
    assert f"{105 * np.exp(-0.005) - 100:.4f}" == "4.4763" and result.output.count("4.4763") == 2
    assert "disagree" not in result.output


def test_check_zero_standard_error_with_a_disagreement_fails_and_says_so(tmp_path, monkeypatch):
    """A pricer off by 0.01 on a σ = 0 market: no sampling error, so the difference is a disagreement."""
    from hedgegym.pricing import model_greeks as module

    real = module.model_greeks
    monkeypatch.setattr(module, "model_greeks", lambda *a, **k: real(*a, **k)._replace(price=real(*a, **k).price
                                                                                      + 0.01))
    config = _config(tmp_path, "market: {model: gbm, volatility: 0.0, rate: 0.02}\nbook:\n"
                     "  - {strike: 95, maturity: 0.25, quantity: -10}\nsimulation: {n_paths: 100, n_steps: 5}\n")
    result = runner.invoke(app, ["check", "--config", config])
    assert result.exit_code == 1, result.output
    assert "every path pays the same (std error 0 up to rounding), yet the Monte Carlo" in _flat(result.output)


def test_check_refuses_one_path():
    """Was: ``--paths 1`` printed 'nan' as the standard error and passed."""
    result = runner.invoke(app, ["check", "--paths", "1"])
    assert result.exit_code == 2
    assert "--paths" in result.output and "nan" not in result.output


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("", "is empty: a config file needs at least the sections market, book"),
        (BOOK, "missing section(s) market"),
        ("market: {model: gbm}\n", "missing section(s) book"),
        ("market: {model: gbm, spot: true}\n" + BOOK, "market.spot must be a real number, not a boolean"),
        ("market: {model: gbm, volatility: true}\n" + BOOK, "market.volatility must be a real number, not a boolean"),
        ("market: {model: gbm}\nbook: [{strike: .inf, maturity: 0.25, quantity: -1}]\n", "book.0.strike: Input should "
         "be a finite number"),
        ("market: {model: gbm}\n" + BOOK + "costs: {proportional: {stock: .inf}}\n",
         "costs.proportional.stock: Input should be a finite number"),
        ("market: {model: gbm}\n" + BOOK + "env: {cvar_threshold: .nan}\n", "env.cvar_threshold"),
        ("market: {model: gbm}\n" + BOOK + "name: ../../x\n", "name must be one path component"),
        ("market: {model: gbm, spot: '[/red]'}\n" + BOOK, "market.spot must be a real number or an array of real "
         "numbers, got '[/red]'"),
        ("market: {model: gbm, spot: '[bold]7'}\n" + BOOK, "got '[bold]7'"),
    ],
    ids=["empty", "no-market", "no-book", "spot-true", "vol-true", "inf-strike", "inf-cost", "nan-cvar", "name",
         "markup-error", "markup-dropped"],
)
def test_bad_input_exits_2_with_the_field_named_and_brackets_kept(tmp_path, text, named):
    """Was: an empty file or a missing section ran the built-in default; booleans were numbers; .inf passed to a
    traceback (costs named 'rate'); messages printed as rich markup ('[/red]' raised MarkupError, '[bold]' vanished)."""
    result = runner.invoke(app, ["compare", "--config", _config(tmp_path, text), "--output-dir",
                                 str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    assert named in _flat(result.output)
    assert not (tmp_path / "out").exists()


def test_paths_override_is_bounded_by_memory(tmp_path):
    """Was: ``--paths`` had no upper bound and evaluation.n_paths = 10^6 (allowed) tried a 30 GiB buffer."""
    result = runner.invoke(app, ["compare", "--paths", "500000", "--output-dir", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "evaluation.n_paths must be <= 131,072 with 63 steps" in _flat(result.output)
    assert 131_072 * 64 == 2**23


@pytest.mark.parametrize("case", ["file", "full", "below-a-file"])
def test_unusable_output_dir_is_refused_before_any_work(tmp_path, case):
    """Was: a traceback (a file), or the refusal only after all the work (read-only parent)."""
    (tmp_path / "file").write_text("keep")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("keep")
    target = {"file": tmp_path / "file", "full": tmp_path / "full", "below-a-file": tmp_path / "file" / "out"}[case]
    result = runner.invoke(app, ["compare", "--paths", "10", "--bootstrap", "0", "--output-dir", str(target)])
    assert result.exit_code == 2, result.output
    assert "--output-dir" in result.output and "hedging" not in result.output
    assert (tmp_path / "file").read_text() == "keep" and sorted(p.name for p in tmp_path.iterdir()) == ["file", "full"]


def test_compare_writes_a_complete_directory_and_lists_skipped_hedgers(tmp_path, monkeypatch):
    from hedgegym.evaluation import reports

    real = reports.compare

    def compare_with_a_skip(*args, **kwargs):
        comparison = real(*args, **kwargs)
        comparison.skipped = {"[bold]odd": "no [option] to hedge with"}
        return comparison

    monkeypatch.setattr(reports, "compare", compare_with_a_skip)
    out = tmp_path / "out"
    result = runner.invoke(app, ["compare", "--paths", "10", "--bootstrap", "0", "--output-dir", str(out)])
    assert result.exit_code == 0, result.output
    assert "left out [bold]odd: no [option] to hedge with" in _flat(result.output)
    assert {"results.csv", "results.md", "per_path.csv", "config.yaml"} <= {p.name for p in out.iterdir()}
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # no temporary sibling left


def test_compare_names_each_left_out_hedger_once_with_its_reason(tmp_path):
    """A long 10-call book at 1% cost, daily: Leland's number is 1.27 ≥ 1 where the book is long gamma."""
    data = yaml.safe_load((Path(__file__).parent.parent / "configs" / "atm_call_cost_20d_daily.yaml").read_text())
    data["book"][0]["quantity"] = 10
    path = tmp_path / "long.yaml"
    path.write_text(yaml.safe_dump(data))
    result = CliRunner().invoke(app, ["compare", "-c", str(path), "--paths", "100", "--bootstrap", "0",
                                      "--output-dir", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "left out leland: Leland number 1.27 >= 1" in " ".join(result.output.split())
    assert "leland: leland" not in result.output and "(1 left out)" in result.output
    assert "left out `leland`" in (tmp_path / "out" / "results.md").read_text()
