"""Configuration files: every shipped config loads; bad fields give errors that name them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hedgegym.config import ConfigError, ExperimentConfig, load_config, parse_config
from hedgegym.market import GeometricBrownianMotion, Heston

CONFIGS = sorted((Path(__file__).parent.parent / "configs").glob("*.yaml"))


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_every_shipped_config_loads_and_builds(path):
    experiment = load_config(path)
    assert experiment.name == path.stem
    experiment.market.build()
    assert experiment.build_book().maturity > 0


def test_defaults_are_a_gbm_short_call():
    experiment = ExperimentConfig()
    assert isinstance(experiment.market.build(), GeometricBrownianMotion)
    assert experiment.build_book().positions[0].quantity == -10


def test_market_parameters_reach_the_model():
    experiment = parse_config({"market": {"model": "heston", "vol_of_vol": 0.9, "correlation": -0.5}})
    model = experiment.market.build()
    assert isinstance(model, Heston)
    assert (model.vol_of_vol, model.correlation) == (0.9, -0.5)


@pytest.mark.parametrize(
    ("data", "named"),
    [
        ({"market": {"model": "heston", "correlation": 1.5}}, "correlation"),
        ({"market": {"model": "gbm", "vol": 0.2}}, "market.vol"),
        ({"market": {"model": "gbm", "volatility": -0.2}}, "volatility"),
        ({"market": {"model": "black"}}, "market.model"),
        ({"book": [{"strike": -1, "maturity": 1, "quantity": 1}]}, "book.0.strike"),
        ({"book": [{"strike": 100, "maturity": 1, "quantity": 0}]}, "book.0.quantity"),
        ({"book": [{"strike": 100, "maturity": 1, "quantity": 1, "call": "c"}]}, "book.0.call"),
        ({"book": []}, "book"),
        ({"simulation": {"n_paths": 0}}, "simulation.n_paths"),
        ({"simulation": {"n_step": 10}}, "simulation.n_step"),
    ],
)
def test_invalid_fields_are_named_in_the_error(data, named):
    with pytest.raises(ConfigError, match=named.replace(".", r"\.")):
        parse_config(data)


def test_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("market: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)


def test_saved_config_reloads_identically_and_is_never_overwritten(tmp_path):
    experiment = load_config(Path(__file__).parent.parent / "configs" / "gbm_call_option_hedge.yaml")
    target = tmp_path / "config.yaml"
    experiment.save(target)
    assert load_config(target) == experiment
    with pytest.raises(FileExistsError, match="never overwrites"):
        experiment.save(target)


def test_costs_and_hedges_build_per_instrument_models():
    experiment = parse_config({
        "hedging": {"hedge_options": [{"strike": 105.0, "maturity": 1.0}]},
        "costs": {"proportional": {"stock": 0.001, "options": 0.02}, "half_spread": {"options": 0.05}},
    })
    costs = experiment.build_costs()
    trades, prices = np.array([[10.0, -2.0]]), np.array([[100.0, 300.0]])
    # 0.001·10·100 + 0.02·2·300 + 0.05·2 = 1 + 12 + 0.1
    assert costs.cost(trades, prices)[0] == pytest.approx(13.1)
    assert parse_config({}).build_costs() is None
    with pytest.raises(ConfigError, match=r"costs\.proportional\.stock"):
        parse_config({"costs": {"proportional": {"stock": -0.01}}})
    with pytest.raises(ConfigError, match=r"env\.reward"):
        parse_config({"env": {"reward": "sharpe"}})
