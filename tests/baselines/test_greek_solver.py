"""The k-Greek solver's policy: unit-free conditioning, fallback to fewer Greeks, position caps (issue 10, case 1).

Greeks come from QuantLib's AnalyticEuropeanEngine (tests/pricing/quantlib_oracle.py), not from hedgegym."""

from __future__ import annotations

import numpy as np
import pytest

from hedgegym.baselines import GreekNeutralHedger, NoHedge, neutralise
from hedgegym.baselines.greek_solver import equilibrated_condition
from hedgegym.config import load_config
from hedgegym.evaluation import evaluate
from hedgegym.evaluation.reports import compare
from tests.pricing.quantlib_oracle import black_scholes

SPOT, RATE, VOL = 100.0, 0.02, 0.2


def quantlib_greeks(strike: float, days: int, spot: float = SPOT) -> dict[str, float]:
    one = np.ones(1)
    greeks = black_scholes(spot * one, strike * one, days * one, VOL * one, RATE * one, 0 * one, one.astype(bool))
    return {name: float(value[0]) for name, value in greeks.items()}


def system(book: dict, options: list[dict], multiplier: float = 100.0) -> tuple[np.ndarray, np.ndarray]:
    """A (1, 3, 1 + len(options)) Δ/Γ/vega system: stock, then options per contract; b: a short 10-contract book."""
    a = np.zeros((1, 3, 1 + len(options)))
    a[0, 0, 0] = 1.0
    for j, option in enumerate(options, start=1):
        a[0, :, j] = [multiplier * option[g] for g in ("delta", "gamma", "vega")]
    b = -10 * multiplier * np.array([[book[g] for g in ("delta", "gamma", "vega")]])
    return a, b


def test_conditioning_barely_depends_on_units():
    """Rescaling Greeks and instruments by up to 1e±4 (contracts vs shares, vega per 1.00 vs per vol point) moves
    the raw condition number by orders of magnitude, the equilibrated one by less than 2× (van der Sluis 1969:
    equilibration is within a dimension-bounded factor of the best diagonal scaling)."""
    a, _ = system(quantlib_greeks(100, 91), [quantlib_greeks(100, 182), quantlib_greeks(110, 365)])
    rng = np.random.default_rng(0)
    raw, scaled = [], []
    for _ in range(20):
        rows, columns = 10 ** rng.uniform(-4, 4, 3), 10 ** rng.uniform(-4, 4, 3)
        rescaled = a * rows[None, :, None] * columns[None, None, :]
        raw.append(np.linalg.cond(rescaled[0]) / np.linalg.cond(a[0]))
        scaled.append(float(equilibrated_condition(rescaled)[0] / equilibrated_condition(a)[0]))
    assert max(raw) / min(raw) > 1e6
    assert 0.5 < min(scaled) and max(scaled) < 2.0


def test_collinear_gamma_and_vega_drop_vega_and_stay_delta_gamma_neutral():
    """Black–Scholes options of one maturity have vega = Γ S² σ τ: the Δ, Γ, vega system is singular."""
    book, first, second = quantlib_greeks(100, 61), quantlib_greeks(100, 91), quantlib_greeks(105, 91)
    a, b = system(book, [first, second])
    solution = neutralise(a, b)
    assert solution.condition[0] > 1e6 and solution.neutralised[0] == 2 and solution.fell_back[0]
    # Δ and Γ cancelled exactly (with both options, minimum norm), vega left
    np.testing.assert_allclose(a[0, :2] @ solution.positions[0], -b[0, :2], rtol=1e-10)
    assert abs(a[0, 2] @ solution.positions[0] + b[0, 2]) > 1e-3 * abs(b[0, 2])


def test_well_posed_delta_gamma_vega_system_is_solved_exactly():
    a, b = system(quantlib_greeks(100, 91), [quantlib_greeks(100, 182), quantlib_greeks(90, 365)])
    solution = neutralise(a, b)
    assert solution.neutralised[0] == 3 and solution.condition[0] < 1e3
    np.testing.assert_allclose(a[0] @ solution.positions[0], -b[0], rtol=1e-10)


def test_hedge_option_with_vanishing_gamma_is_capped_not_billions_of_contracts():
    """A deep OTM 30-day call has Γ ≈ 1e-9 per share: neutralising the book's Γ would need ~1e9 contracts."""
    book, far = quantlib_greeks(100, 91), quantlib_greeks(180, 30)
    assert far["gamma"] < 1e-8
    a, b = system(book, [far])
    a, b = a[:, :2], b[:, :2]
    uncapped = neutralise(a, b)
    assert abs(uncapped.positions[0, 1]) > 1e6 and uncapped.neutralised[0] == 2  # numerically fine, economically not
    capped = neutralise(a, b, position_limits=[np.inf, 100.0])
    assert capped.neutralised[0] == 1 and capped.fell_back[0]
    np.testing.assert_allclose(capped.positions[0], [10 * 100 * book["delta"], 0.0], rtol=1e-12)  # plain delta


def test_bad_policy_parameters_are_refused():
    a, b = system(quantlib_greeks(100, 91), [quantlib_greeks(100, 182)])
    with pytest.raises(ValueError, match="max_condition"):
        neutralise(a[:, :2, :2], b[:, :2], max_condition=0.5)
    with pytest.raises(ValueError, match="position_limits"):
        neutralise(a[:, :2, :2], b[:, :2], position_limits=[np.inf, -1.0])
    with pytest.raises(ValueError, match="position_limit"):
        GreekNeutralHedger(position_limit=float("nan"))
    with pytest.raises(ValueError, match="start with 'delta'"):
        GreekNeutralHedger(("gamma", "delta"))


def test_delta_gamma_vega_on_the_shipped_heston_config_beats_no_hedge():
    """The audit's case: on configs/heston_straddle_hedged.yaml Δ–Γ–vega had RMSE ~23,600 vs ~2,650 unhedged."""
    config = load_config("configs/heston_straddle_hedged.yaml")
    comparison = compare(config, [NoHedge(), GreekNeutralHedger(("delta", "gamma")),
                                  GreekNeutralHedger(("delta", "gamma", "vega"))], n_paths=300, bootstrap=0)
    table = comparison.table
    assert table.loc["delta_gamma_vega", "rmse"] < 0.6 * table.loc["no_hedge", "rmse"]
    assert table.loc["delta_gamma_vega", "fallback_steps"] > 0  # the near-collinear steps were caught and counted
    assert table.loc["no_hedge", "fallback_steps"] == 0
    per_path = comparison.evaluations[2].per_path
    assert per_path["fallback_steps"].sum() == table.loc["delta_gamma_vega", "fallback_steps"]


class RecordingHedger(GreekNeutralHedger):
    """Records the largest |listed-option position| it ever targets."""

    largest = 0.0

    def targets(self, engine):
        positions = super().targets(engine)
        self.largest = max(self.largest, float(np.abs(positions[:, 1:]).max()))
        return positions


def test_positions_never_exceed_the_limit_on_the_heston_config():
    config = load_config("configs/heston_straddle_hedged.yaml")
    capped, uncapped = (RecordingHedger(("delta", "gamma", "vega"), position_limit=limit) for limit in (10.0, np.inf))
    evaluate(capped, config, 200, seed=5)
    evaluate(uncapped, config, 200, seed=5)
    # the book is 10 contracts × 100 shares: each listed option (× 100) is capped at 10 × 1,000 / 100 = 100 contracts
    assert capped.largest <= 100.0 + 1e-9
    assert uncapped.largest > 1_000.0  # what the audit saw: thousands of contracts on a 10-contract book


def test_delta_alone_with_capped_options_falls_back_to_the_stock():
    """g = 1 with a listed option: the minimum-norm Δ hedge spreads delta over the option; beyond its cap the
    stock alone holds −Δ_book."""
    a = np.array([[[1.0, 50.0]]])
    b = np.array([[-500.0]])
    free = neutralise(a, b)
    # minimum norm in equilibrated variables splits the delta evenly: 250 shares and 250 / 50 = 5 contracts
    np.testing.assert_allclose(free.positions[0], [250.0, 5.0])
    capped = neutralise(a, b, position_limits=[np.inf, 1.0])
    np.testing.assert_allclose(capped.positions[0], [500.0, 0.0])
