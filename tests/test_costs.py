"""Transaction-cost models and lot rounding: hand-computed examples, properties, validation."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from hedgegym.costs import (
    CompositeCost,
    CostModel,
    FixedCost,
    ProportionalCost,
    QuadraticImpact,
    SpreadCost,
    round_to_lot,
)

# Two paths, two instruments (column 0 the stock in shares, column 1 an option in contracts).
TRADES = np.array([[100.0, -2.0], [-50.0, 0.0]])
PRICES = np.array([[20.0, 300.0], [25.0, 250.0]])


# --- hand-computed examples ---------------------------------------------------------------------------------------


def test_proportional_cost_scalar_rate_by_hand():
    # rate 1 %: path 0: 0.01·(100·20 + 2·300) = 0.01·2600 = 26; path 1: 0.01·(50·25 + 0·250) = 12.5
    np.testing.assert_allclose(ProportionalCost(0.01).cost(TRADES, PRICES), [26.0, 12.5], rtol=1e-15)


def test_proportional_cost_per_instrument_rates_by_hand():
    # rates (0.001, 0.02): path 0: 0.001·2000 + 0.02·600 = 2 + 12 = 14; path 1: 0.001·1250 + 0 = 1.25
    np.testing.assert_allclose(ProportionalCost((0.001, 0.02)).cost(TRADES, PRICES), [14.0, 1.25], rtol=1e-15)


def test_fixed_cost_by_hand():
    # fees (1, 5): path 0 trades both → 6; path 1 trades only the stock → 1
    np.testing.assert_array_equal(FixedCost((1.0, 5.0)).cost(TRADES, PRICES), [6.0, 1.0])
    # scalar fee 2 → 4 and 2
    np.testing.assert_array_equal(FixedCost(2.0).cost(TRADES, PRICES), [4.0, 2.0])


def test_fixed_cost_threshold_by_hand():
    # threshold 60 units: |100| > 60 pays, |−2| and |−50| do not → path 0: 1; path 1: 0
    np.testing.assert_array_equal(FixedCost((1.0, 5.0), threshold=60.0).cost(TRADES, PRICES), [1.0, 0.0])
    # per-instrument thresholds (60, 1): path 0: 1 + 5 = 6; path 1: 0
    np.testing.assert_array_equal(FixedCost((1.0, 5.0), threshold=(60.0, 1.0)).cost(TRADES, PRICES), [6.0, 0.0])
    # a trade exactly at the threshold counts as no trade
    np.testing.assert_array_equal(FixedCost(1.0, threshold=2.0).cost([2.0, 2.5], [1.0, 1.0]), [0.0, 1.0])


def test_quadratic_impact_by_hand():
    # coefficients (1e-4, 1e-2): path 0: 1e-4·20·100² + 1e-2·300·(−2)² = 20 + 12 = 32
    #                            path 1: 1e-4·25·(−50)² + 0 = 6.25
    np.testing.assert_allclose(QuadraticImpact((1e-4, 1e-2)).cost(TRADES, PRICES), [32.0, 6.25], rtol=1e-14)


def test_spread_cost_by_hand():
    # half-spreads (0.01 per share, 5 per contract): path 0: 0.01·100 + 5·2 = 11; path 1: 0.01·50 = 0.5
    np.testing.assert_allclose(SpreadCost((0.01, 5.0)).cost(TRADES, PRICES), [11.0, 0.5], rtol=1e-15)


def test_composite_sums_components_by_hand():
    composite = CompositeCost(ProportionalCost((0.001, 0.02)), FixedCost((1.0, 5.0)), SpreadCost((0.01, 5.0)))
    # path 0: 14 + 6 + 11 = 31; path 1: 1.25 + 1 + 0.5 = 2.75
    np.testing.assert_allclose(composite.cost(TRADES, PRICES), [31.0, 2.75], rtol=1e-15)
    np.testing.assert_allclose(composite.breakdown(TRADES, PRICES), [[14.0, 6.0, 11.0], [1.25, 1.0, 0.5]], rtol=1e-15)


def test_plus_builds_a_flat_composite():
    a, b, c = ProportionalCost(0.01), FixedCost(1.0), QuadraticImpact(1e-4)
    total = a + b + c
    assert isinstance(total, CompositeCost)
    assert total.models == (a, b, c)
    assert sum([a, b, c]) == total
    # path 0: 26 + 2 + (1e-4·20·10000 + 1e-4·300·4 = 20 + 0.12) = 48.12
    # path 1: 12.5 + 1 + 1e-4·25·2500 = 12.5 + 1 + 6.25 = 19.75
    np.testing.assert_allclose(total.cost(TRADES, PRICES), [48.12, 19.75], rtol=1e-14)
    with pytest.raises(TypeError):
        _ = a + 1.0


def test_empty_composite_is_frictionless():
    np.testing.assert_array_equal(CompositeCost().cost(TRADES, PRICES), [0.0, 0.0])
    assert CompositeCost().breakdown(TRADES, PRICES).shape == (2, 0)


def test_one_dimensional_input_is_one_instrument():
    # 3 paths, k = 1: 0.5 %·|q|·P → 0.005·(10·100, 0, 4·50) = 5, 0, 1
    np.testing.assert_allclose(ProportionalCost(0.005).cost([10.0, 0.0, -4.0], [100.0, 100.0, 50.0]), [5.0, 0.0, 1.0])


def test_repr_is_helpful():
    assert repr(ProportionalCost((0.001, 0.01))) == "ProportionalCost(rate=(0.001, 0.01))"
    assert repr(FixedCost(1.0)) == "FixedCost(fee=1.0, threshold=0.0, smoothing=1.0)"
    assert repr(ProportionalCost(0.01) + SpreadCost(0.05)) == (
        "CompositeCost(ProportionalCost(rate=0.01), SpreadCost(half_spread=0.05))"
    )


def test_models_are_immutable():
    with pytest.raises(AttributeError):
        ProportionalCost(0.01).rate = 0.02  # type: ignore[misc]
    with pytest.raises(AttributeError):
        CompositeCost().models = ()  # type: ignore[misc]


ALL_MODELS = [
    ProportionalCost((0.001, 0.02)),
    FixedCost((1.0, 5.0)),
    QuadraticImpact((1e-4, 1e-2)),
    SpreadCost((0.01, 5.0)),
    ProportionalCost(0.01) + FixedCost(1.0) + QuadraticImpact(1e-3) + SpreadCost(0.02),
]


@pytest.mark.parametrize("model", ALL_MODELS, ids=repr)
def test_zero_trades_cost_nothing(model: CostModel):
    cost = model.cost(np.zeros((4, 2)), np.full((4, 2), 100.0))
    assert cost.shape == (4,)
    np.testing.assert_array_equal(cost, 0.0)


# --- properties ---------------------------------------------------------------------------------------------------

TRADE_VALUES = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
PRICE_VALUES = st.floats(0.0, 1e4, allow_nan=False, allow_infinity=False)


@st.composite
def trades_and_prices(draw):
    n = draw(st.integers(1, 8))
    k = draw(st.integers(1, 4))
    trades = draw(hnp.arrays(np.float64, (n, k), elements=TRADE_VALUES))
    prices = draw(hnp.arrays(np.float64, (n, k), elements=PRICE_VALUES))
    return trades, prices


@settings(max_examples=200, deadline=None)
@given(trades_and_prices(), st.integers(0, 4))
def test_cost_is_non_negative_with_shape_n(data, index):
    trades, prices = data
    k = trades.shape[1]
    model = [
        ProportionalCost(0.01),
        FixedCost(1.0),
        QuadraticImpact(1e-4),
        SpreadCost(0.05),
        ProportionalCost(tuple(0.001 * (i + 1) for i in range(k))) + FixedCost(tuple([2.0] * k)),
    ][index]
    cost = model.cost(trades, prices)
    assert cost.shape == (trades.shape[0],)
    assert np.all(cost >= 0.0) and np.all(np.isfinite(cost))


@settings(max_examples=200, deadline=None)
@given(trades_and_prices(), st.floats(0.0, 1e3))
def test_proportional_cost_is_positively_homogeneous(data, scale):
    trades, prices = data
    rate = tuple(0.001 * (i + 1) for i in range(trades.shape[1]))
    model = ProportionalCost(rate)
    np.testing.assert_allclose(
        model.cost(scale * trades, prices), scale * model.cost(trades, prices), rtol=1e-12, atol=1e-300
    )
    np.testing.assert_allclose(model.cost(-trades, prices), model.cost(trades, prices), rtol=0)  # buys = sells


@settings(max_examples=200, deadline=None)
@given(trades_and_prices(), st.floats(1.0, 1e3))  # scale >= 1: shrinking a subnormal trade could round it to 0
def test_fixed_cost_is_independent_of_size_and_price(data, scale):
    trades, prices = data
    model = FixedCost(2.5)
    np.testing.assert_array_equal(model.cost(scale * trades, 2.0 * prices + 1.0), model.cost(trades, prices))
    np.testing.assert_array_equal(model.cost(trades, prices), 2.5 * np.count_nonzero(trades, axis=1))


@settings(max_examples=200, deadline=None)
@given(trades_and_prices(), st.floats(0.0, 1e2))
def test_quadratic_impact_scales_with_the_square(data, scale):
    trades, prices = data
    model = QuadraticImpact(1e-4)
    np.testing.assert_allclose(
        model.cost(scale * trades, prices), scale**2 * model.cost(trades, prices), rtol=1e-12, atol=1e-300
    )


# --- lot rounding -------------------------------------------------------------------------------------------------


def test_round_to_lot_examples():
    # lots of 100 shares and 1 contract
    quantity = np.array([[149.0, 2.4], [150.0, 2.5], [-150.0, -2.5], [-49.0, 0.49], [251.0, -3.6]])
    expected = np.array([[100.0, 2.0], [200.0, 3.0], [-200.0, -3.0], [0.0, 0.0], [300.0, -4.0]])
    got = round_to_lot(quantity, (100.0, 1.0))
    np.testing.assert_array_equal(got, expected)
    assert not np.any(np.signbit(got[3]))  # −49 → 0.0, not −0.0


def test_round_to_lot_half_away_from_zero_and_scalar_lot():
    # ties: 0.5 → 1, 1.5 → 2, 2.5 → 3, −0.5 → −1, −2.5 → −3 (numpy's round-half-even would give 0, 2, 2, −0, −2)
    np.testing.assert_array_equal(round_to_lot([0.5, 1.5, 2.5, -0.5, -2.5], 1.0), [1.0, 2.0, 3.0, -1.0, -3.0])
    np.testing.assert_array_equal(round_to_lot([[12.0, 13.0], [-12.5, 7.4]], 5.0), [[10.0, 15.0], [-15.0, 5.0]])


@settings(max_examples=200, deadline=None)
@given(hnp.arrays(np.float64, (5, 2), elements=st.floats(-1e6, 1e6)), st.integers(1, 1000))
def test_round_to_lot_lands_on_a_lot_within_half_a_lot(quantity, lot):
    rounded = round_to_lot(quantity, float(lot))
    np.testing.assert_array_equal(np.mod(rounded, lot), 0.0)
    assert np.all(np.abs(rounded - quantity) <= 0.5 * lot)
    np.testing.assert_array_equal(round_to_lot(-quantity, float(lot)), -rounded + 0.0)  # symmetric in sign


# --- validation ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "name"),
    [
        (lambda: ProportionalCost(-0.01), "rate"),
        (lambda: ProportionalCost((0.01, np.nan)), "rate"),
        (lambda: ProportionalCost(()), "rate"),
        (lambda: ProportionalCost(True), "rate"),
        (lambda: FixedCost(-1.0), "fee"),
        (lambda: FixedCost(1.0, threshold=-1.0), "threshold"),
        (lambda: QuadraticImpact([[1e-4]]), "coefficient"),
        (lambda: SpreadCost("wide"), "half_spread"),
        (lambda: CompositeCost(ProportionalCost(0.01), "fee"), "models"),
    ],
)
def test_bad_parameters_name_the_argument(build, name):
    with pytest.raises(ValueError, match=name):
        build()


@pytest.mark.parametrize(
    ("trades", "prices", "name"),
    [
        (np.array([[1.0, np.nan]]), np.ones((1, 2)), "trades"),
        (np.array([[1.0, np.inf]]), np.ones((1, 2)), "trades"),
        (np.ones((2, 2)), np.ones((2, 3)), "trades"),
        (np.ones((3, 2)), np.ones((2, 2)), "prices"),
        (np.ones((1, 2, 2)), np.ones((1, 2, 2)), "trades"),
        (np.ones((1, 2)), np.array([[1.0, -1.0]]), "prices"),
        (np.ones((1, 2)), np.array([[1.0, np.nan]]), "prices"),
    ],
)
@pytest.mark.parametrize("model", ALL_MODELS, ids=repr)
def test_bad_inputs_name_the_argument(model, trades, prices, name):
    with pytest.raises(ValueError, match=name):
        model.cost(trades, prices)


@pytest.mark.parametrize(
    ("model", "name"),
    [
        (ProportionalCost((0.01, 0.02)), "rate"),
        (FixedCost((1.0, 1.0)), "fee"),
        (FixedCost(1.0, threshold=(0.0, 0.0)), "threshold"),
        (QuadraticImpact((1e-4, 1e-4)), "coefficient"),
        (SpreadCost((0.01, 0.05)), "half_spread"),
    ],
)
def test_parameter_length_must_match_instruments(model, name):
    with pytest.raises(ValueError, match=name):
        model.cost(np.ones((2, 3)), np.ones((2, 3)))


@pytest.mark.parametrize(
    ("quantity", "lot_size", "name"),
    [
        (np.ones((2, 2)), 0.0, "lot_size"),
        (np.ones((2, 2)), -100.0, "lot_size"),
        (np.ones((2, 2)), (100.0, 1.0, 1.0), "lot_size"),
        (np.ones((2, 2)), True, "lot_size"),
        (np.array([[1.0, np.nan]]), 1.0, "quantity"),
        (np.ones((1, 1, 1)), 1.0, "quantity"),
    ],
)
def test_round_to_lot_validation(quantity, lot_size, name):
    with pytest.raises(ValueError, match=name):
        round_to_lot(quantity, lot_size)


@pytest.mark.parametrize("to_kind", [np.asarray, torch.as_tensor], ids=["numpy", "torch"])
def test_integer_trades_and_prices_are_costed_in_floating_point(to_kind):
    """The rates are not truncated to the input's integer dtype (0.001 would become 0)."""
    trades, prices = to_kind([[5000, -3]]), to_kind([[1, 2]])
    expected = {ProportionalCost(0.001): 5.006, FixedCost(1.5): 3.0, QuadraticImpact(1e-6): 25.000018,
                SpreadCost(0.25): 1250.75}
    for model, value in expected.items():
        cost = model.unchecked_cost(trades, prices)
        assert float(cost[0]) == pytest.approx(value, rel=1e-12), type(model).__name__
