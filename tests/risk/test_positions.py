"""The positions book: reading YAML/CSV, the volatility surface, valuation against QuantLib and Hull, stress."""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path

import numpy as np
import pytest
import QuantLib as ql

from hedgegym.risk.positions import (
    LINE_COLUMNS,
    MarketInputs,
    MissingMarketInputs,
    OptionLine,
    PositionsBook,
    StockLine,
    VolatilitySurface,
    contract_greeks,
    desk_units,
    market_inputs,
    read_positions,
    stress_book,
    value_book,
    write_positions,
)
from hedgegym.risk.stress import STRESS_COLUMNS, Scenario

BOOKS = Path(__file__).parent.parent.parent / "configs" / "books"
TODAY = date(2025, 3, 14)
SMILES = {
    date(2025, 4, 17): {90: 0.285, 95: 0.255, 100: 0.230, 105: 0.215, 110: 0.210},
    date(2025, 6, 20): {90: 0.270, 95: 0.248, 100: 0.228, 105: 0.214, 110: 0.206},
    date(2025, 12, 19): {90: 0.262, 100: 0.229, 110: 0.209},
}
MARKET = MarketInputs(TODAY, 101.30, VolatilitySurface.from_expiries(SMILES), rate=0.043, dividend=0.012)
# (call, strike, expiry, contracts, the vol the line must get: worked out by hand from SMILES)
LINES = [
    (True, 105.0, date(2025, 6, 20), -100.0, 0.214),      # a quoted strike
    (False, 97.5, date(2025, 6, 20), 50.0, 0.238),        # halfway between 95 (24.8%) and 100 (22.8%)
    (True, 120.0, date(2025, 12, 19), -40.0, 0.209),      # beyond the last quote: flat
    (False, 80.0, date(2025, 4, 17), 60.0, 0.285),        # below the first quote: flat
    (True, 103.0, date(2025, 4, 17), -25.0, 0.221),       # 100 + 3/5 of the way to 105: 0.23 − 0.6·0.015
    (False, 105.0, date(2025, 12, 19), 10.0, 0.219),      # halfway between 100 (22.9%) and 110 (20.9%)
]


def _book() -> PositionsBook:
    options = [OptionLine(call, strike, quantity, expiry) for call, strike, expiry, quantity, _ in LINES]
    return PositionsBook((*options, StockLine(8900.0)))


def _quantlib(call: bool, strike: float, expiry: date, vol: float, market: MarketInputs) -> dict[str, float]:
    """QuantLib's AnalyticEuropeanEngine with real dates: the valuation date as evaluation date, Actual/365 Fixed
    flat curves, the exercise on the expiry date: the day count is QuantLib's, not ours."""
    today = ql.Date(market.valuation_date.day, market.valuation_date.month, market.valuation_date.year)
    ql.Settings.instance().evaluationDate = today
    day_count = ql.Actual365Fixed()

    def curve(rate: float) -> ql.YieldTermStructureHandle:
        return ql.YieldTermStructureHandle(ql.FlatForward(today, rate, day_count))

    process = ql.BlackScholesMertonProcess(
        ql.QuoteHandle(ql.SimpleQuote(market.spot)), curve(market.dividend), curve(market.rate),
        ql.BlackVolTermStructureHandle(ql.BlackConstantVol(today, ql.NullCalendar(), vol, day_count)))
    option = ql.VanillaOption(ql.PlainVanillaPayoff(ql.Option.Call if call else ql.Option.Put, strike),
                              ql.EuropeanExercise(ql.Date(expiry.day, expiry.month, expiry.year)))
    option.setPricingEngine(ql.AnalyticEuropeanEngine(process))
    return {"price": option.NPV(), "delta": option.delta(), "gamma": option.gamma(),
            "vega_per_vol_point": option.vega() / 100.0,  # QuantLib's vega is per 1.00 of vol
            "theta_per_day": option.thetaPerDay()}  # QuantLib: theta per year / 365


# ---------------------------------------------------------------------------------------------- valuation
def test_every_line_matches_quantlib_with_real_dates_at_its_strikes_vol():
    valuation = value_book(_book(), MARKET)
    lines = valuation.lines
    assert list(lines.columns) == list(LINE_COLUMNS)
    for index, (call, strike, expiry, contracts, vol) in enumerate(LINES):
        row = lines.iloc[index]
        assert row["vol"] == pytest.approx(vol, abs=1e-12), f"line {index + 1}: the smile's vol"
        assert row["tau_years"] == pytest.approx((expiry - TODAY).days / 365, abs=1e-15)
        oracle = _quantlib(call, strike, expiry, vol, MARKET)
        size = contracts * 100
        assert row["price"] == pytest.approx(oracle["price"], rel=1e-10, abs=1e-12)
        assert row["value"] == pytest.approx(size * oracle["price"], rel=1e-10, abs=1e-9)
        assert row["delta_shares"] == pytest.approx(size * oracle["delta"], rel=1e-10, abs=1e-9)
        assert row["gamma_shares_per_unit_spot"] == pytest.approx(size * oracle["gamma"], rel=1e-9, abs=1e-10)
        assert row["vega_per_vol_point"] == pytest.approx(size * oracle["vega_per_vol_point"], rel=1e-9, abs=1e-9)
        assert row["theta_per_day"] == pytest.approx(size * oracle["theta_per_day"], rel=1e-9, abs=1e-9)
    stock = lines.iloc[-1]
    assert (stock["value"], stock["delta_shares"], stock["vega_per_vol_point"]) == (8900 * 101.30, 8900.0, 0.0)
    # totals in API units (vega per 1.00, Θ per year) and desk units
    assert valuation.total.vega == pytest.approx(100 * lines["vega_per_vol_point"].sum(), rel=1e-12)
    assert valuation.total.theta == pytest.approx(365 * lines["theta_per_day"].sum(), rel=1e-12)
    desk = desk_units(valuation.total)
    assert desk["delta_shares"] == pytest.approx(lines["delta_shares"].sum(), rel=1e-12)
    assert desk["vega_per_vol_point"] == pytest.approx(lines["vega_per_vol_point"].sum(), rel=1e-12)
    assert valuation.gross.delta == pytest.approx(lines["delta_shares"].abs().sum(), rel=1e-12)


def test_hull_greeks_example_short_100000_calls():
    """Hull, *Options, Futures, and Other Derivatives* (ch. "The Greek letters", the running example): a European
    call, S = 49, K = 50, r = 5%, σ = 20%, T = 20 weeks = 0.3846 years, no dividend: Δ = 0.522, Γ = 0.066,
    vega = 12.1 (per 1.00 of vol), Θ = −4.31 per year (−0.0118 per calendar day); a bank short 100,000 such calls
    (1,000 contracts of 100) has Δ = −52,200 shares. Hull's figures are rounded: tolerances are half their last
    digit."""
    line = OptionLine(True, 50.0, quantity=-1000.0, maturity=0.3846)
    market = MarketInputs(date(2025, 1, 2), 49.0, 0.20, rate=0.05)
    valuation = value_book(PositionsBook((line,)), market)
    row = valuation.lines.iloc[0]
    unit = contract_greeks([line], market)  # per contract of 100 calls
    assert unit.delta[0] / 100 == pytest.approx(0.522, abs=5e-4)
    assert unit.gamma[0] / 100 == pytest.approx(0.066, abs=5e-4)
    assert unit.vega[0] / 100 == pytest.approx(12.1, abs=0.05)
    assert unit.theta[0] / 100 == pytest.approx(-4.31, abs=5e-3)
    assert row["delta_shares"] == pytest.approx(-52_200, abs=50)
    assert row["vega_per_vol_point"] / -100_000 == pytest.approx(0.121, abs=5e-4)
    assert row["theta_per_day"] / -100_000 == pytest.approx(-0.0118, abs=5e-5)
    assert row["tau_years"] == 0.3846 and row["expiry"] is None


def test_multiplier_and_the_stock_enter_the_totals():
    market = MarketInputs(TODAY, 100.0, 0.2)
    one = value_book(PositionsBook((OptionLine(True, 100.0, 1.0, maturity=0.5),)), market).total
    ten = value_book(PositionsBook((OptionLine(True, 100.0, 1.0, maturity=0.5, multiplier=1000.0),
                                    StockLine(-250.0))), market).total
    assert ten.delta == pytest.approx(10 * one.delta - 250.0, rel=1e-12)
    assert ten.price == pytest.approx(10 * one.price - 250.0 * 100.0, rel=1e-12)
    assert ten.gamma == pytest.approx(10 * one.gamma, rel=1e-12)


@pytest.mark.parametrize("expiry", [date(2025, 3, 14), date(2025, 3, 1)])
def test_an_expired_option_is_refused_naming_the_line(expiry):
    book = PositionsBook((OptionLine(True, 100.0, -5.0, expiry, where="book.yaml, line 9 (positions[0])"),))
    with pytest.raises(ValueError, match=r"book.yaml, line 9 \(positions\[0\]\): expiry 2025-03-\d\d is not after "
                                         r"the valuation date 2025-03-14"):
        value_book(book, MARKET)


# ---------------------------------------------------------------------------------------------- volatility
def test_smile_interpolates_linearly_in_strike_and_is_flat_beyond():
    surface = VolatilitySurface.from_smile({110: 0.20, 90: 0.30, 100: 0.24})
    vols = surface.volatility([80, 90, 95, 100, 104, 110, 150], [None] * 7)
    np.testing.assert_allclose(vols, [0.30, 0.30, 0.27, 0.24, 0.224, 0.20, 0.20], atol=1e-15)
    assert VolatilitySurface(flat=0.25).volatility([50, 500], [None, None]).tolist() == [0.25, 0.25]


def test_per_expiry_surface_refuses_an_unquoted_expiry_naming_the_quoted_ones():
    surface = VolatilitySurface.from_expiries(SMILES)
    with pytest.raises(ValueError, match=r"line 7: expiry 2025-05-16 is not quoted in the volatility surface; quoted "
                                         r"expiries: 2025-04-17, 2025-06-20, 2025-12-19"):
        surface.volatility([100], [date(2025, 5, 16)], ["line 7"])
    with pytest.raises(ValueError, match="needs an expiry date"):
        surface.volatility([100], [None], ["line 8"])


@pytest.mark.parametrize(("data", "message"), [
    (0.0, "flat vol must be > 0"),
    (-0.2, "flat vol must be > 0"),
    ({100: 0.2, 110: -0.1}, r"vol must be > 0"),
    ({100: 0.2, "2025-06-20": {100: 0.2}}, "not a mix"),
    ({date(2025, 6, 20): 0.2}, r"must be a mapping \{strike: vol\}"),
    ({-5: 0.2}, "strike must be > 0"),
    (True, "must be a number"),
])
def test_bad_volatility_inputs_are_refused(data, message):
    with pytest.raises(ValueError, match=message):
        VolatilitySurface.parse(data, "book.yaml, line 8: volatility")


def test_a_parallel_shift_moves_every_quote_and_refuses_a_vol_at_or_below_zero():
    surface = VolatilitySurface.from_expiries(SMILES)
    moved = surface.shifted(0.05)
    np.testing.assert_allclose(moved.volatility([97.5], [date(2025, 6, 20)]), [0.288], atol=1e-15)
    with pytest.raises(ValueError, match="would make the 2025-06-20 strike 110 vol"):
        surface.shifted(-0.206)
    assert VolatilitySurface.parse(surface.to_data()) == surface


# ---------------------------------------------------------------------------------------------- files
def test_the_shipped_yaml_and_csv_books_hold_the_same_positions():
    yaml_book = read_positions(BOOKS / "desk_book.yaml")
    csv_book = read_positions(BOOKS / "desk_book.csv")
    assert yaml_book.positions == csv_book.positions and yaml_book.hedges == csv_book.hedges
    assert len(yaml_book.options) == 5 and yaml_book.shares == 8900.0 and len(yaml_book.hedges) == 2
    assert len({line.expiry for line in yaml_book.options}) == 3
    assert csv_book.market == {}
    market = market_inputs(yaml_book)
    assert market.volatility.kind == "per expiry" and market.valuation_date == date(2025, 3, 14)
    assert yaml_book.positions[0].where.endswith("line 13 (positions[0])")


def test_cli_style_overrides_win_and_missing_inputs_are_named():
    book = read_positions(BOOKS / "desk_book.yaml")
    market = market_inputs(book, spot=105.0, volatility=0.3)
    assert market.spot == 105.0 and market.volatility == VolatilitySurface(flat=0.3) and market.rate == 0.043
    csv_book = read_positions(BOOKS / "desk_book.csv")
    with pytest.raises(MissingMarketInputs, match=r"missing market input\(s\) valuation_date, volatility") as caught:
        market_inputs(csv_book, spot=100.0)
    assert caught.value.missing == ("valuation_date", "volatility")
    assert market_inputs(csv_book, valuation_date=TODAY, spot=100.0, volatility=0.2).rate == 0.0


YAML_HEAD = "valuation_date: 2025-03-14\nspot: 100\nvolatility: 0.2\npositions:\n"


@pytest.mark.parametrize(("body", "message"), [
    ("  - {instrument: swap, strike: 100, expiry: 2025-06-20, quantity: 1}\n",
     r"line 5 \(positions\[0\]\): instrument must be call, put or stock, got 'swap'"),
    ("  - {instrument: call, strike: -100, expiry: 2025-06-20, quantity: 1}\n",
     r"line 5 \(positions\[0\]\): strike must be > 0, got -100"),
    ("  - {instrument: stock, quantity: 10}\n  - {instrument: put, strike: 100, quantity: 1}\n",
     r"line 6 \(positions\[1\]\): expiry is missing"),
    ("  - {instrument: put, strike: 100, expiry: 2025-06-20, quantity: 1, colour: red}\n",
     r"line 5 \(positions\[0\]\): 'colour' is not a field of a line"),
    ("  - {instrument: put, strike: 100, expiry: 2025-06-20, maturity: 0.25, quantity: 1}\n",
     "give expiry or maturity, not both"),
    ("  - {instrument: put, strike: '100', expiry: 2025-06-20, quantity: 1}\n", "strike must be a number, got '100'"),
    ("  - {instrument: put, strike: 100, expiry: 20.6.2025, quantity: 1}\n", "expiry must be a date YYYY-MM-DD"),
    ("  - {instrument: stock, strike: 100, quantity: 1}\n", "strike is not a field of a stock line"),
    ("  - {instrument: call, strike: 100, expiry: 2025-06-20}\n", "quantity is missing"),
    ("  - {instrument: call, strike: 100, expiry: 2025-06-20, quantity: 1}\nhedges:\n"
     "  - {instrument: call, strike: 95, expiry: 2025-06-20, quantity: 3}\n",
     r"line 7 \(hedges\[0\]\): quantity: a hedge instrument has no quantity"),
    ("  - {instrument: call, strike: 100, expiry: 2025-06-20, quantity: 1}\nvolatilty: 0.3\n",
     r"line 6: 'volatilty' is not a field of a positions file"),
    ("  - {instrument: call, strike: 100, strike: 105, expiry: 2025-06-20, quantity: 1}\n", "duplicate key 'strike'"),
])
def test_bad_yaml_is_refused_naming_file_line_and_field(tmp_path, body, message):
    path = tmp_path / "book.yaml"
    path.write_text(YAML_HEAD + body)
    with pytest.raises(ValueError, match=message) as caught:
        read_positions(path)
    assert str(path) in str(caught.value)


def test_yaml_market_inputs_are_checked_with_their_line(tmp_path):
    path = tmp_path / "book.yaml"
    path.write_text("valuation_date: 2025-03-14\nspot: 100\nvolatility: {90: 0.3, 100: 0}\npositions:\n"
                    "  - {instrument: stock, quantity: 1}\n")
    with pytest.raises(ValueError, match=r"book.yaml, line 3: volatility\[100\]: vol must be > 0, got 0.0"):
        read_positions(path)


CSV_HEAD = "instrument,strike,expiry,quantity\n"


@pytest.mark.parametrize(("text", "message"), [
    ("instrument,strike,expiry,quantity,strike\n", r"line 1: column 'strike' appears more than once in the header"),
    ("instrument,strike,expiry,quantity,vol\n", r"line 1: 'vol' is not a column of a positions file"),
    ("instrument,strike,expiry\n", "the header has no 'quantity' column"),
    (CSV_HEAD + "call,100,2025-06-20,-10\nfuture,100,2025-06-20,-10\n",
     r"line 3: instrument must be call, put or stock, got 'future'"),
    (CSV_HEAD + "call,-100,2025-06-20,-10\n", r"line 2: strike must be > 0, got -100"),
    (CSV_HEAD + "call,100,,-10\n", r"line 2: expiry is missing"),
    (CSV_HEAD + "call,1_00,2025-06-20,-10\n", r"line 2: strike must be a number, got '1_00'"),
    (CSV_HEAD + "call,100,2025-06-20\n", r"line 2: 3 cells, the header has 4 columns"),
    ("# a comment\n\n" + CSV_HEAD + "put,100,2025-06-20,abc\n", r"line 4: quantity must be a number, got 'abc'"),
    (CSV_HEAD.replace("quantity", "quantity,role") + "put,100,2025-06-20,,hedging\n",
     r"line 2: role must be empty, position or hedge"),
    (CSV_HEAD, "no positions"),
])
def test_bad_csv_is_refused_naming_file_line_and_field(tmp_path, text, message):
    path = tmp_path / "book.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=message) as caught:
        read_positions(path)
    assert str(path) in str(caught.value)


def test_a_spreadsheet_csv_with_byte_order_mark_and_capitals_reads(tmp_path):
    path = tmp_path / "export.csv"
    path.write_bytes("\ufeffInstrument,Strike,Expiry,Quantity,Multiplier\r\nCall,105,2025-06-20,-100,\r\n"
                     "STOCK,,,4500,\r\n".encode())
    book = read_positions(path)
    assert book.positions == (OptionLine(True, 105.0, -100.0, date(2025, 6, 20)), StockLine(4500.0))


def test_unknown_file_type_and_missing_file(tmp_path):
    with pytest.raises(ValueError, match=r"must be \.yaml, \.yml or \.csv"):
        read_positions(tmp_path / "book.xlsx")
    with pytest.raises(FileNotFoundError):
        read_positions(tmp_path / "none.yaml")


def test_written_positions_read_back_equal_and_are_never_overwritten(tmp_path):
    book = read_positions(BOOKS / "desk_book.yaml")
    market = market_inputs(book)
    path = write_positions(book, tmp_path / "copy.yaml", market)
    again = read_positions(path)
    assert again.positions == book.positions and again.hedges == book.hedges
    assert market_inputs(again) == market
    with pytest.raises(FileExistsError, match="never overwrites"):
        write_positions(book, path, market)


# ---------------------------------------------------------------------------------------------- stress
def _black(call: bool, spot: float, strike: float, tau: float, vol: float, rate: float, dividend: float) -> float:
    """QuantLib's Black formula on the forward S·e^{(r−q)τ}, discounted at e^{−rτ}: any τ, no day count."""
    forward = spot * np.exp((rate - dividend) * tau)
    return ql.blackFormula(ql.Option.Call if call else ql.Option.Put, strike, forward, vol * np.sqrt(tau),
                           np.exp(-rate * tau))


@pytest.mark.parametrize(("spot_shock", "vol_shock", "days"), [(0.10, 0.0, 0), (-0.07, 0.15, 1), (0.0, -0.05, 10)])
def test_a_scenario_is_the_full_revaluation_at_shifted_vols_and_aged_maturities(spot_shock, vol_shock, days):
    book = _book()
    row = stress_book(book, MARKET, [Scenario("s", spot_shock, vol_shock, days)]).iloc[0]
    assert list(row.index) == list(STRESS_COLUMNS)
    shocked = MARKET.spot * (1 + spot_shock)
    change = 8900.0 * (shocked - MARKET.spot)
    for call, strike, expiry, contracts, vol in LINES:
        tau = (expiry - TODAY).days / 365
        after = _black(call, shocked, strike, tau - days / 252, vol + vol_shock, MARKET.rate, MARKET.dividend)
        before = _black(call, MARKET.spot, strike, tau, vol, MARKET.rate, MARKET.dividend)
        change += contracts * 100 * (after - before)
    assert row["value_change"] == pytest.approx(change, rel=1e-9)
    assert row["loss"] == max(-row["value_change"], 0.0)


def test_taylor_estimates_converge_for_small_moves():
    book, base = _book(), value_book(_book(), MARKET).total
    small = stress_book(book, MARKET, [Scenario("dS", spot_shock=1e-3), Scenario("dvol", vol_shock=1e-4),
                                       Scenario("day", days=1)]).set_index("scenario")
    d_spot = MARKET.spot * 1e-3
    # Δ–Γ is exact to second order: the error is O(dS³), far below the Γ term itself
    assert abs(small.loc["dS", "value_change"] - small.loc["dS", "delta_gamma_estimate"]) < 1e-2 * abs(
        0.5 * base.gamma * d_spot**2)
    assert small.loc["dvol", "delta_gamma_vega_estimate"] == pytest.approx(small.loc["dvol", "value_change"], rel=1e-3)
    assert small.loc["day", "delta_gamma_vega_theta_estimate"] == pytest.approx(small.loc["day", "value_change"],
                                                                                rel=2e-2)


def test_an_option_expiring_within_the_aged_days_settles_at_intrinsic_value():
    market = MarketInputs(TODAY, 100.0, 0.25, rate=0.02)
    put = OptionLine(False, 100.0, 3.0, expiry=date(2025, 3, 17))  # 3 calendar days: gone after 5 trading days
    table = stress_book(PositionsBook((put,)), market, [Scenario("gap", spot_shock=-0.10, days=5)])
    today = value_book(PositionsBook((put,)), market)
    row = table.iloc[0]
    assert row["value_change"] == pytest.approx(300 * 10.0 - today.total.price, rel=1e-12)
    assert row["delta_change"] == pytest.approx(-today.total.delta, rel=1e-12)  # settled in cash: no Δ left
    assert row["gamma_change"] == pytest.approx(-today.total.gamma, rel=1e-12)


def test_sticky_strike_a_spot_move_keeps_every_strikes_vol():
    book = PositionsBook((OptionLine(True, 97.5, 1.0, date(2025, 6, 20)),))
    shocked = dataclasses.replace(MARKET, spot=MARKET.spot * 1.1)
    assert value_book(book, shocked).lines["vol"].iloc[0] == pytest.approx(0.238, abs=1e-12)


def test_stress_refuses_a_vol_shock_below_zero_vol_naming_the_scenario():
    with pytest.raises(ValueError, match=r"scenario 'crush': a vol shift of -25 points would make"):
        stress_book(_book(), MARKET, [Scenario("crush", vol_shock=-0.25)])
    with pytest.raises(ValueError, match="at least one Scenario"):
        stress_book(_book(), MARKET, [])
