"""The Greeks dashboard: deviation and its reference, the 10%/25% boundaries, targets, the PNG (never overwritten)."""

from __future__ import annotations

import math

import pytest

from hedgegym.instruments import Book, EuropeanOption
from hedgegym.market import GeometricBrownianMotion, Heston
from hedgegym.pricing.greeks import Greeks
from hedgegym.risk.dashboard import (
    DASHBOARD_COLUMNS,
    DASHBOARD_GREEKS,
    dashboard_path,
    deviation,
    greek_dashboard,
    plot_dashboard,
    status,
)
from hedgegym.risk.stress import initial_hedge, portfolio_greeks

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _greeks(delta: float, gamma: float, vega: float) -> Greeks:
    return Greeks(0.0, delta, gamma, vega, 0.0)


# ------------------------------------------------------------------------------------------ thresholds
@pytest.mark.parametrize(
    ("actual", "expected_deviation", "expected_status"),
    [
        (0.0, 0.0, "green"),
        (10.0, 0.10, "green"),  # exactly 10%: still green
        (10.000001, 0.10000001, "yellow"),
        (-25.0, 0.25, "yellow"),  # exactly 25%: still yellow
        (25.000001, 0.25000001, "red"),
        (-100.0, 1.0, "red"),
    ],
)
def test_zero_target_is_measured_against_the_unhedged_book(actual, expected_deviation, expected_status):
    value = deviation(actual, target=0.0, book=-100.0)
    assert value == pytest.approx(expected_deviation, rel=1e-12)
    assert status(value) == expected_status


def test_the_boundaries_are_exact():
    assert deviation(10.0, 0.0, 100.0) == 0.1 and status(0.1) == "green"
    assert deviation(25.0, 0.0, 100.0) == 0.25 and status(0.25) == "yellow"
    assert status(math.nextafter(0.1, 1.0)) == "yellow" and status(math.nextafter(0.25, 1.0)) == "red"


def test_nonzero_target_sets_the_reference_when_larger_than_the_book():
    # target 200, book 50: reference 200; actual 180 misses by 10%
    assert deviation(180.0, 200.0, 50.0) == pytest.approx(0.10)
    # target 20, book −400: reference 400; actual −60 misses by 80 → 20%
    assert deviation(-60.0, 20.0, -400.0) == pytest.approx(0.20)
    assert status(deviation(-60.0, 20.0, -400.0)) == "yellow"


def test_zero_reference():
    assert deviation(0.0, 0.0, 0.0) == 0.0
    assert deviation(1e-3, 0.0, 0.0) == math.inf and status(math.inf) == "red"


def test_bad_values_are_refused():
    with pytest.raises(ValueError, match="target must be finite"):
        deviation(1.0, math.nan, 1.0)
    with pytest.raises(ValueError, match="deviation must be >= 0"):
        status(-0.1)


def test_table_defaults_to_neutral_targets_and_names_unknown_greeks():
    table = greek_dashboard(_greeks(0.0, -12.0, 300.0), _greeks(-500.0, -40.0, -1000.0))
    assert list(table.columns) == list(DASHBOARD_COLUMNS) and list(table["greek"]) == list(DASHBOARD_GREEKS)
    assert list(table["target"]) == [0.0, 0.0, 0.0]
    assert list(table["reference"]) == [500.0, 40.0, 1000.0]
    assert table["deviation"].tolist() == pytest.approx([0.0, 0.3, 0.3])
    assert list(table["status"]) == ["green", "red", "red"]
    table = greek_dashboard(_greeks(0.0, -12.0, 300.0), _greeks(-500.0, -40.0, -1000.0),
                            {"gamma": -10.0, "vega": 2000.0})
    assert table["deviation"].tolist() == pytest.approx([0.0, 0.05, 0.85])
    assert list(table["status"]) == ["green", "green", "red"]
    with pytest.raises(ValueError, match="unknown Greek 'theta'; allowed: delta, gamma, vega"):
        greek_dashboard(_greeks(0, 0, 0), _greeks(1, 1, 1), {"theta": 1.0})


def test_hedged_and_unhedged_books_from_the_model():
    model = Heston(spot=100.0, vol_of_vol=0.6, rate=0.02)
    book = Book.short_straddle(100.0, 0.25, 5.0)
    hedge = initial_hedge(model, book, (EuropeanOption(100.0, 0.5), EuropeanOption(110.0, 0.5)))
    unhedged = portfolio_greeks(model, book)
    assert list(greek_dashboard(portfolio_greeks(model, book, hedge), unhedged)["status"]) == ["green"] * 3
    table = greek_dashboard(unhedged, unhedged)
    assert table["deviation"].tolist() == pytest.approx([1.0, 1.0, 1.0]) and set(table["status"]) == {"red"}
    delta_only = initial_hedge(GeometricBrownianMotion(), book, mode="delta")
    table = greek_dashboard(portfolio_greeks(GeometricBrownianMotion(), book, delta_only),
                            portfolio_greeks(GeometricBrownianMotion(), book))
    assert list(table["status"]) == ["green", "red", "red"]


# ------------------------------------------------------------------------------------------ the PNG
def test_png_is_written_and_never_overwritten(tmp_path):
    table = greek_dashboard(_greeks(5.0, -12.0, 0.001), _greeks(-100.0, -40.0, 0.0))  # vega: deviation inf
    path = plot_dashboard(table, tmp_path / "sub" / "dash.png", title="test")
    data = path.read_bytes()
    assert data.startswith(PNG_SIGNATURE) and len(data) > 5_000
    with pytest.raises(FileExistsError, match="never overwrites"):
        plot_dashboard(table, path)
    assert path.read_bytes() == data


def test_dashboard_path_picks_a_new_name(tmp_path):
    first = dashboard_path(tmp_path, "cfg", when=0.0)
    assert first.parent == tmp_path and first.name.startswith("dashboard__cfg__") and first.suffix == ".png"
    first.write_bytes(b"x")
    second = dashboard_path(tmp_path, "cfg", when=0.0)
    assert second != first and second.stem == first.stem + "-2"
    second.write_bytes(b"x")
    assert dashboard_path(tmp_path, "cfg", when=0.0).stem == first.stem + "-3"
