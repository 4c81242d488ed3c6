"""``hedgegym book``: show, dashboard, stress, trades on a positions file; inputs, refusals, never overwriting."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from hedgegym.cli import app
from hedgegym.risk.positions import desk_units, market_inputs, read_positions, value_book
from hedgegym.risk.stress import STRESS_COLUMNS

BOOKS = Path(__file__).parent.parent.parent / "configs" / "books"
YAML_BOOK = str(BOOKS / "desk_book.yaml")
CSV_BOOK = str(BOOKS / "desk_book.csv")
CSV_MARKET = ["--date", "2025-03-14", "--spot", "101.30", "--vol", "0.23", "--rate", "0.043", "--dividend", "0.012"]
runner = CliRunner()


def book(*args: str):
    return runner.invoke(app, ["book", *args])


def _flat(output: str) -> str:
    """The output with rich's line wrapping undone."""
    return " ".join(output.split())


def _total_row(output: str) -> list[float]:
    """The numbers of ``book show``'s total row: value, Δ, Γ, vega per vol point, Θ per day."""
    line = next(text for text in output.splitlines() if text.strip().startswith("total"))
    return [float(number.replace(",", "")) for number in re.findall(r"-?[\d,]+\.\d+", line)]


def test_show_prints_the_inputs_used_and_the_totals_in_desk_units():
    result = book("show", YAML_BOOK)
    assert result.exit_code == 0, result.output
    text = _flat(result.output)
    assert "valuation date 2025-03-14 (file), spot 101.3 (file), rate 4.300% (file), dividend 1.200% (file)" in text
    assert "volatility (file): per expiry (strike vol): 2025-04-17: 90 28.5%" in text
    assert "call 105 2025-06-20 -100 0.2685 21.40%" in text  # the line at its strike's vol, τ = 98/365
    desk_book = read_positions(YAML_BOOK)
    total = desk_units(value_book(desk_book, market_inputs(desk_book)).total)
    expected = [total[key] for key in ("value", "delta_shares", "gamma_shares_per_unit_spot", "vega_per_vol_point",
                                       "theta_per_day")]
    assert _total_row(result.output) == pytest.approx(expected, abs=0.006)


def test_a_cli_option_overrides_the_file_and_says_so():
    result = book("show", YAML_BOOK, "--spot", "95", "--vol", "0.3")
    assert result.exit_code == 0, result.output
    text = _flat(result.output)
    assert "spot 95 (--spot)" in text and "volatility (--vol): flat 30%" in text and "rate 4.300% (file)" in text
    assert "call 105 2025-06-20 -100 0.2685 30.00%" in text


def test_csv_needs_the_market_inputs_from_the_command_line():
    result = book("show", CSV_BOOK)
    assert result.exit_code == 2
    assert ("missing market input(s) valuation_date (--date), spot (--spot), volatility (--vol): give them in the "
            "positions file or on the command line") in _flat(result.output)
    result = book("show", CSV_BOOK, *CSV_MARKET)
    assert result.exit_code == 0, result.output
    assert "valuation date 2025-03-14 (--date)" in _flat(result.output)


@pytest.mark.parametrize(("args", "message"), [
    (["--date", "14/03/2025"], "--date must be a date YYYY-MM-DD, got '14/03/2025'"),
    (["--vol", "-0.2"], "--vol must be a volatility > 0"),
    (["--spot", "0"], "spot must be > 0"),
    (["--date", "2025-05-01"], "expiry 2025-04-17 is not after the valuation date 2025-05-01"),
])
def test_bad_market_inputs_exit_2_with_the_reason(args, message):
    result = book("show", YAML_BOOK, *args)
    assert result.exit_code == 2
    assert message in _flat(result.output)


def test_a_bad_positions_file_exits_2_naming_file_line_and_field(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("instrument,strike,expiry,quantity,quantity\ncall,100,2025-06-20,1,1\n")
    result = book("show", str(path), *CSV_MARKET)
    assert result.exit_code == 2
    assert f"{path}, line 1: column 'quantity' appears more than once in the header" in _flat(result.output)
    path = tmp_path / "bad.yaml"
    path.write_text("positions:\n  - {instrument: swaption, strike: 100, expiry: 2025-06-20, quantity: 1}\n")
    result = book("stress", str(path), *CSV_MARKET)
    assert result.exit_code == 2
    assert "line 2 (positions[0]): instrument must be call, put or stock, got 'swaption'" in _flat(result.output)
    result = book("trades", str(tmp_path / "missing.yaml"), *CSV_MARKET)
    assert result.exit_code == 2 and "missing.yaml" in _flat(result.output)


def test_an_unquoted_expiry_is_refused(tmp_path):
    path = tmp_path / "book.yaml"
    path.write_text("valuation_date: 2025-03-14\nspot: 100\nvolatility: {2025-06-20: {100: 0.2}}\npositions:\n"
                    "  - {instrument: call, strike: 100, expiry: 2025-07-18, quantity: 1}\n")
    result = book("show", str(path))
    assert result.exit_code == 2
    assert "expiry 2025-07-18 is not quoted in the volatility surface; quoted expiries: 2025-06-20" in _flat(
        result.output)


def test_dashboard_writes_a_new_png_every_time(tmp_path):
    first = book("dashboard", YAML_BOOK, "--out", str(tmp_path))
    second = book("dashboard", YAML_BOOK, "--out", str(tmp_path), "--target-vega", "-2300")
    assert first.exit_code == 0, first.output
    assert second.exit_code == 0, second.output
    pngs = sorted(tmp_path.glob("dashboard__book_desk_book__*.png"))
    assert len(pngs) == 2 and all(png.read_bytes().startswith(b"\x89PNG") for png in pngs)
    text = _flat(first.output)
    assert "gamma -358.210 0.000 802.330 44.6% ● red" in text  # |Γ| / Σ|Γ of each line|
    assert "vega -2,307.74 -2,300.00" in _flat(second.output)  # the target in vega per vol point
    assert "● green" in _flat(second.output).split("vega -2,307.74")[1][:60]


def test_stress_writes_the_stress_table_and_never_overwrites(tmp_path):
    result = book("stress", YAML_BOOK, "--events", "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    table = pd.read_csv(tmp_path / "stress.csv")
    assert list(table.columns) == list(STRESS_COLUMNS)
    assert len(table) == 9 and "IV crush -10 pts" in set(table["scenario"])
    assert "worst scenario: vol +20 pts" in _flat(result.output)
    again = book("stress", YAML_BOOK, "--out", str(tmp_path))
    assert again.exit_code == 2 and "stress.csv exists" in _flat(again.output)


def test_stress_reads_a_scenario_file(tmp_path):
    scenarios = tmp_path / "scenarios.yaml"
    scenarios.write_text("- {name: big gap, spot_shock: -0.15, vol_shock: 0.10, days: 1}\n")
    result = book("stress", YAML_BOOK, "--scenarios", str(scenarios))
    assert result.exit_code == 0, result.output
    assert "big gap -15% +10pt 1" in _flat(result.output)
    scenarios.write_text("- {name: bad, spot: -0.15}\n")
    result = book("stress", YAML_BOOK, "--scenarios", str(scenarios))
    assert result.exit_code == 2 and "spot is not a scenario field" in _flat(result.output)


def test_trades_then_show_on_the_resulting_positions_gives_the_targets(tmp_path):
    """The round trip: ``book trades --out`` writes the book with its trades; ``book show`` on it reads the target
    Greeks back (Δ in shares, Γ per 1.00 of spot, vega per vol point) from a full revaluation."""
    out = tmp_path / "trades"
    result = book("trades", YAML_BOOK, "--target-delta", "500", "--target-gamma", "50", "--target-vega", "1000",
                  "--stock-cost", "0.0005", "--option-cost", "0.01", "--out", str(out))
    assert result.exit_code == 0, result.output
    text = _flat(result.output)
    assert "neutralised to target: delta, gamma, vega" in text
    trades = pd.read_csv(out / "trades.csv")
    assert trades["instrument"].tolist() == ["stock", "call 100 2025-04-17", "call 100 2025-09-19"]
    assert f"{trades['cost'].sum():,.2f}" in text
    shown = book("show", str(out / "positions_after.yaml"))
    assert shown.exit_code == 0, shown.output
    _, delta, gamma, vega, _ = _total_row(shown.output)
    assert (delta, gamma, vega) == (500.0, 50.0, 1000.0)
    again = book("trades", YAML_BOOK, "--out", str(out))
    assert again.exit_code == 2 and "is not empty" in _flat(again.output)


def test_trades_on_a_csv_book_with_chosen_greeks_and_a_fallback_warning(tmp_path):
    result = book("trades", CSV_BOOK, *CSV_MARKET, "--greeks", "delta,gamma")
    assert result.exit_code == 0, result.output
    text = _flat(result.output)
    assert "neutralised to target: delta, gamma (" in text
    # two options of one expiry: Γ and vega collinear under Black–Scholes at one vol → the solver falls back
    path = tmp_path / "same.yaml"
    path.write_text("valuation_date: 2025-03-14\nspot: 100\nvolatility: 0.2\npositions:\n"
                    "  - {instrument: call, strike: 100, expiry: 2025-06-20, quantity: -10}\n"
                    "  - {instrument: put, strike: 90, expiry: 2025-09-19, quantity: 10}\nhedges:\n"
                    "  - {instrument: call, strike: 95, expiry: 2025-06-20}\n"
                    "  - {instrument: call, strike: 95, expiry: 2025-06-20, multiplier: 10}\n")
    result = book("trades", str(path))
    assert result.exit_code == 0, result.output
    assert "only delta, gamma reach their targets" in _flat(result.output)
    result = book("trades", CSV_BOOK, *CSV_MARKET, "--greeks", "gamma")
    assert result.exit_code == 2 and "must start with delta" in _flat(result.output)


def test_book_is_a_command_group_of_hedgegym():
    result = runner.invoke(app, ["book", "--help"])
    assert result.exit_code == 0
    for command in ("show", "dashboard", "stress", "trades"):
        assert command in result.output
