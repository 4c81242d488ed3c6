"""Scenarios over time: the book aged by the scenario's trading days, against Black–Scholes from scipy."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm

from hedgegym.instruments import Book, EuropeanOption, Position
from hedgegym.market import GeometricBrownianMotion
from hedgegym.risk.stress import EVENT_SCENARIOS, Hedge, Scenario, parse_scenarios, stress_test


def call_value(spot: float, strike: float, tau: float, sigma: float, rate: float) -> float:
    """Black–Scholes call (Hull, *Options, Futures, and Other Derivatives*, ch. 15), per unit."""
    d1 = (np.log(spot / strike) + (rate + 0.5 * sigma**2) * tau) / (sigma * np.sqrt(tau))
    d2 = d1 - sigma * np.sqrt(tau)
    return float(spot * norm.cdf(d1) - strike * np.exp(-rate * tau) * norm.cdf(d2))


MODEL = GeometricBrownianMotion(spot=100.0, volatility=0.2, rate=0.03)
BOOK = Book((Position(EuropeanOption(100.0, 0.25, True, 100.0), -10.0),))


@pytest.mark.parametrize(("spot_shock", "vol_shock", "days"), [(0.0, 0.0, 5), (-0.07, 0.15, 1), (0.0, -0.1, 1)])
def test_an_aged_scenario_is_the_black_scholes_value_at_the_shorter_maturity(spot_shock, vol_shock, days):
    row = stress_test(MODEL, BOOK, None, [Scenario("s", spot_shock, vol_shock, days)]).iloc[0]
    before = -1000 * call_value(100.0, 100.0, 0.25, 0.2, 0.03)
    after = -1000 * call_value(100.0 * (1 + spot_shock), 100.0, 0.25 - days / 252, 0.2 + vol_shock, 0.03)
    assert row["value_change"] == pytest.approx(after - before, rel=1e-9)
    assert row["days"] == days


def test_theta_explains_a_week_without_moves():
    row = stress_test(MODEL, BOOK, Hedge(stock=520.0), [Scenario("week", days=5)]).iloc[0]
    assert row["delta_gamma_vega_estimate"] == 0.0  # no spot or vol move: only Θ
    # Θ·δt to first order: within 3% of the full revaluation over 5 days of a 3-month option (Θ ∝ 1/√τ grows by
    # about 2% over the week; measured 187.2 against 190.5)
    assert row["delta_gamma_vega_theta_estimate"] == pytest.approx(row["value_change"], rel=0.03)
    assert row["value_change"] > 0  # a short option earns its time decay


def test_event_scenarios_run_and_days_are_checked():
    table = stress_test(MODEL, BOOK, None, EVENT_SCENARIOS)
    assert list(table["days"]) == [5, 1, 1, 10]
    crush = table.set_index("scenario").loc["IV crush -10 pts"]
    assert crush["value_change"] > 0  # short vega: an IV crush pays
    with pytest.raises(ValueError, match=r"days of scenario 'late' must be fewer than the book's maturity \(63"):
        stress_test(MODEL, BOOK, None, [Scenario("late", days=63)])
    with pytest.raises(ValueError, match="days of scenario 'x' must be an integer >= 0"):
        Scenario("x", days=-1)
    with pytest.raises(ValueError, match="days of scenario 'x' must be an integer >= 0"):
        Scenario("x", days=1.5)
    parsed = parse_scenarios([{"name": "weekend gap", "spot_shock": -0.05, "days": 2}])
    assert parsed[0].days == 2


def test_a_path_scenario_revalues_the_held_positions_at_every_close():
    from hedgegym.risk.stress import path_scenario

    moves, vols = [-0.03, 0.01, -0.02], [0.02, -0.01, 0.03]
    table = path_scenario(MODEL, BOOK, Hedge(stock=520.0), moves, vols)
    assert list(table["day"]) == [0, 1, 2, 3]
    spot, sigma = 100.0, 0.2
    start = -1000 * call_value(100.0, 100.0, 0.25, 0.2, 0.03) + 520.0 * 100.0
    for day, (move, shift) in enumerate(zip(moves, vols, strict=True), start=1):
        spot, sigma = spot * (1 + move), sigma + shift
        value = -1000 * call_value(spot, 100.0, 0.25 - day / 252, sigma, 0.03) + 520.0 * spot
        assert table.loc[day, "value_change"] == pytest.approx(value - start, rel=1e-9)
    np.testing.assert_allclose(table["daily_change"].sum(), table["value_change"].iloc[-1], rtol=1e-12)
    # no moves for five days is the aged scenario of five days
    flat = path_scenario(MODEL, BOOK, None, [0.0] * 5)
    aged = stress_test(MODEL, BOOK, None, [Scenario("week", days=5)]).iloc[0]
    assert flat["value_change"].iloc[-1] == pytest.approx(aged["value_change"], rel=1e-12)


@pytest.mark.parametrize(
    ("spot_moves", "vol_moves", "message"),
    [([], None, "spot_moves must be a non-empty list"), ([-1.0], None, "spot_moves must be a non-empty list"),
     ([0.01, 0.02], [0.01], "vol_moves must be finite and as long as spot_moves"),
     ([0.0] * 63, None, "a path of 63 days must end before the book's maturity")],
)
def test_path_scenario_errors_name_the_argument(spot_moves, vol_moves, message):
    from hedgegym.risk.stress import path_scenario

    with pytest.raises(ValueError, match=message):
        path_scenario(MODEL, BOOK, None, spot_moves, vol_moves)


def test_stress_path_option_prints_and_writes_the_path(tmp_path):
    from typer.testing import CliRunner

    from hedgegym.cli import app

    moves = tmp_path / "path.yaml"
    moves.write_text("spot_moves: [-0.03, -0.02]\nvol_moves: [0.02, 0.03]\n")
    result = CliRunner().invoke(app, ["stress", "--path", str(moves), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "path scenario" in result.output
    written = (tmp_path / "out" / "path.csv").read_text().splitlines()
    assert written[0] == "day,spot,vol_shift,value,value_change,daily_change,delta,gamma" and len(written) == 4
    bad = tmp_path / "bad.yaml"
    bad.write_text("moves: [0.01]\n")
    refused = CliRunner().invoke(app, ["stress", "--path", str(bad)])
    assert refused.exit_code == 2 and "must hold a mapping {spot_moves" in " ".join(refused.output.split())
