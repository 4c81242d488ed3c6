"""Feature order, names and scaling on a hand-checkable state."""

from __future__ import annotations

import numpy as np
import pytest

from hedgegym.env import HedgingEnv
from hedgegym.pricing import black_scholes


def test_default_feature_order_is_documented_order():
    env = HedgingEnv({"hedging": {"hedge_options": [{"strike": 105.0, "maturity": 0.5}]}})
    assert env.feature_names == [
        "log_moneyness", "time_to_maturity", "volatility", "book_delta", "book_gamma", "book_vega", "book_theta",
        "stock_position", "pnl", "option1_position", "option1_delta", "option1_gamma", "option1_vega",
        "option1_theta",
    ]


def test_initial_observation_matches_hand_computed_scalings():
    # short 10 ATM calls (notional 1000 shares), S = K = 100, σ = 20 %, T = 0.25, r = 2 %
    env = HedgingEnv({"market": {"model": "gbm", "spot": 100.0, "volatility": 0.2, "rate": 0.02},
                      "book": [{"strike": 100.0, "maturity": 0.25, "quantity": -10}]})
    observation, _ = env.reset(seed=0)
    named = dict(zip(env.feature_names, observation.tolist(), strict=True))
    g = black_scholes.greeks(100.0, 100.0, 0.25, 0.2, 0.02)
    value_scale = 0.4 * 1000 * 100.0 * 0.2 * 0.5
    assert named["log_moneyness"] == 0.0
    assert named["time_to_maturity"] == 1.0
    assert named["volatility"] == pytest.approx(1.0)
    assert named["book_delta"] == pytest.approx(-g.delta, rel=1e-6)
    assert named["book_gamma"] == pytest.approx(-g.gamma * 100.0 * 0.2 * 0.5, rel=1e-6)
    assert named["book_vega"] == pytest.approx(-1000 * g.vega * 0.2 / value_scale, rel=1e-6)
    assert named["book_theta"] == pytest.approx(-1000 * g.theta * 0.25 / value_scale, rel=1e-6)
    assert named["stock_position"] == 0.0 and named["pnl"] == 0.0
    assert np.all(np.abs(observation) <= 10.0)
