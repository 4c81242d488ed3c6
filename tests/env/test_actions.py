"""The action mappings (``hedgegym.env.actions``) on hand-computed cases, numpy and torch alike."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hedgegym.baselines import DeltaHedger
from hedgegym.config import ConfigError, parse_config
from hedgegym.env.actions import ActionGreeks, ActionMapping, action_size
from hedgegym.env.core import HedgingCore

# two paths; the stock and one hedge option; scales s = (100 shares, 4 contracts)
SCALE = np.array([100.0, 4.0])
HELD = np.array([[-50.0, 3.0], [10.0, -1.0]])
GREEKS = ActionGreeks(
    book_delta=np.array([40.0, -20.0]),
    book_vega=np.array([-300.0, -90.0]),
    instrument_delta=np.array([[1.0, 0.6], [1.0, 0.3]]),
    instrument_vega=np.array([[0.0, 100.0], [0.0, 30.0]]),
)


def test_delta_vega_band_by_hand():
    """Option: band around −vega_book / vega_option; stock: band around the delta hedge of book + options traded."""
    mapping = ActionMapping("delta_vega_band", SCALE)
    # path 0: option reference 3, widths (a+1)/2·4 = 2 below and 1 above → option stays at 3;
    #         stock centre −(40 + 3·0.6) = −41.8, widths 50 below, 25 above → −50 kept (inside [−91.8, −16.8])
    # path 1: option reference 3, band [3 − 0, 3 + 4] → −1 moves to 3;
    #         stock centre −(−20 + 3·0.3) = 19.1, band [19.1 − 0, 19.1 + 0] → 19.1
    actions = np.array([[0.0, -0.5, 0.0, -0.5], [-1.0, -1.0, -1.0, 1.0]])
    targets = mapping.targets(actions, HELD, GREEKS)
    np.testing.assert_allclose(targets, [[-50.0, 3.0], [19.1, 3.0]], rtol=1e-14)
    # the tightest band is the daily delta–vega hedge whatever is held
    tight = mapping.targets(-np.ones((2, 4)), HELD, GREEKS)
    np.testing.assert_allclose(tight, [[-41.8, 3.0], [19.1, 3.0]], rtol=1e-14)


def test_delta_vega_band_reference_is_bounded_and_zero_without_option_vega():
    mapping = ActionMapping("delta_vega_band", SCALE, option_bound=2.5)
    greeks = GREEKS._replace(instrument_vega=np.array([[0.0, 100.0], [0.0, 0.0]]))
    targets = mapping.targets(-np.ones((2, 4)), HELD, greeks)
    np.testing.assert_allclose(targets[:, 1], [2.5, 0.0])  # 3 bounded by 2.5; no option vega → reference 0
    np.testing.assert_allclose(targets[:, 0], [-(40.0 + 2.5 * 0.6), -(-20.0 + 0.0)])


@pytest.mark.parametrize("action", ["absolute", "delta_relative", "delta_band", "delta_vega_band"])
def test_torch_and_numpy_give_the_same_targets_and_gradients_flow(action):
    mapping = ActionMapping(action, SCALE)
    rng = np.random.default_rng(0)
    actions = rng.uniform(-1, 1, (2, action_size(action, 2)))
    expected = mapping.targets(actions, HELD, GREEKS)
    tensor = torch.tensor(actions, requires_grad=True)
    got = mapping.targets(tensor, torch.as_tensor(HELD), GREEKS.map(torch.as_tensor))
    np.testing.assert_allclose(got.detach().numpy(), expected, rtol=1e-14)
    got.sum().backward()
    assert torch.all(torch.isfinite(tensor.grad))


def test_float32_actions_stay_float32():
    mapping = ActionMapping("delta_vega_band", SCALE)
    actions = torch.zeros((2, 4), dtype=torch.float32)
    greeks = GREEKS.map(lambda field: torch.as_tensor(field, dtype=torch.float32))
    targets = mapping.targets(actions, torch.as_tensor(HELD, dtype=torch.float32), greeks)
    assert targets.dtype == torch.float32


def test_action_sizes():
    assert [action_size(a, 3) for a in ("absolute", "delta_relative", "delta_band", "delta_vega_band")] == [3, 3, 4, 6]


def test_mapping_refuses_unknown_actions_and_several_options():
    with pytest.raises(ValueError, match=r"env\.action must be one of"):
        ActionMapping("vega_band", SCALE)
    with pytest.raises(ValueError, match="exactly one hedge option"):
        ActionMapping("delta_vega_band", np.array([1.0, 2.0, 3.0]))


BASE = {
    "market": {"model": "gbm", "volatility": 0.2, "mu": 0.05, "rate": 0.02},
    "book": [{"strike": 100.0, "maturity": 0.1, "quantity": -10}],
    "simulation": {"n_steps": 5},
    "costs": {"proportional": {"stock": 0.001, "options": 0.01}},
}
OPTION = {"hedge_options": [{"strike": 100.0, "maturity": 0.2}]}


def test_config_refuses_delta_vega_band_without_exactly_one_option():
    with pytest.raises(ConfigError, match=r"env\.action delta_vega_band needs exactly one hedge option .*got 0"):
        parse_config({**BASE, "env": {"action": "delta_vega_band"}})
    two = {"hedge_options": [{"strike": 100.0, "maturity": 0.2}, {"strike": 105.0, "maturity": 0.2}]}
    with pytest.raises(ConfigError, match="got 2"):
        parse_config({**BASE, "hedging": two, "env": {"action": "delta_vega_band"}})
    with pytest.raises(ConfigError, match="option_limit"):
        parse_config({**BASE, "hedging": OPTION, "env": {"option_limit": 0}})
    with pytest.raises(ConfigError, match=r"env\.option_limit scales the hedge options' actions; the config has no"):
        parse_config({**BASE, "env": {"option_limit": 0.5}})


def test_env_with_delta_vega_band_reaches_the_delta_vega_hedge():
    """In the env: the tightest bands hold, after each step, the option at −vega_book/vega_option (per contract)
    and the stock at −(Δ_book + h_option Δ_option), from the engine's own Greeks (an independent recomputation)."""
    config = parse_config({**BASE, "hedging": OPTION,
                           "env": {"action": "delta_vega_band", "position_limit": 0.3, "option_limit": 2.0}})
    core = HedgingCore(config, n_envs=3)
    assert core.action_space.shape == (4,)
    np.testing.assert_allclose(core.position_scale, [0.3 * core.scales.notional, 2.0 * core.scales.contracts])
    core.seed([0, 1, 2])
    core.reset()
    engine = core.engine
    for _ in range(3):
        book, instruments = engine.book_greeks, engine.instrument_greeks
        option = -book.vega / instruments.vega[:, 1]
        stock = -(book.delta + option * instruments.delta[:, 1])
        core.step(-np.ones((3, 4)))
        np.testing.assert_allclose(engine.positions, np.stack([stock, option], 1), rtol=1e-12)


def test_hedger_predict_refuses_band_actions():
    config = parse_config({**BASE, "hedging": OPTION, "env": {"action": "delta_vega_band"}})
    core = HedgingCore(config, n_envs=1)
    core.seed([0])
    core.reset()
    with pytest.raises(ValueError, match="delta_vega_band"):
        DeltaHedger().bind(core).predict(core.observe())
