"""The misspecification study: hedgers calibrated to GBM scored in other markets, tables and heat maps."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from hedgegym.config import ConfigError
from hedgegym.evaluation.misspecification import heatmap, load_study, markdown, run_study, study_hedgers


def study_dict(**changes):
    study = {
        "experiment": {
            "name": "tiny",
            "market": {"model": "gbm", "spot": 100.0, "volatility": 0.2, "mu": 0.05, "rate": 0.02},
            "book": [{"strike": 100.0, "maturity": 0.1, "call": True, "quantity": -10}],
            "simulation": {"n_steps": 10},
            "costs": {"proportional": {"stock": 0.001}},
            "evaluation": {"n_paths": 400, "seed": 7, "bootstrap": 20},
        },
        "markets": {
            "gbm": {"model": "gbm", "spot": 100.0, "volatility": 0.2, "mu": 0.05, "rate": 0.02},
            "regimes": {"model": "regime_switching", "spot": 100.0, "volatility_min": 0.15, "volatility_max": 0.3,
                        "switching_rate": 4.0, "mu": 0.05, "rate": 0.02},
        },
        "volatility_band": [0.15, 0.3],
        "grid_points": 60,
    }
    study.update(changes)
    return study


def write(tmp_path, data):
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_study_scores_every_calibrated_hedger_in_every_market(tmp_path):
    study = load_study(write(tmp_path, study_dict()))
    names = [h.name for h in study_hedgers(study)]
    assert names == ["no_hedge", "bs_delta_0.2", "bs_delta_0.3", "whalley_wilmott", "uvm_delta_0.15_0.3"]
    table = run_study(study)
    assert len(table) == len(names) * 2
    assert set(table["market"]) == {"gbm", "regimes"}
    for column in ("y", "y_pct_premium", "cvar_95", "cvar_99", "rmse", "max_drawdown"):
        assert np.isfinite(table[column]).all(), column
        if column != "y_pct_premium":
            assert (table[f"{column}_low"] <= table[column]).all() and (table[column] <= table[f"{column}_high"]).all()
    # in its own market the calibrated delta hedge is far better than no hedge
    gbm = table[table["market"] == "gbm"].set_index("hedger")
    assert gbm.loc["bs_delta_0.2", "rmse"] < 0.5 * gbm.loc["no_hedge", "rmse"]
    text = markdown(table)
    assert "### cvar_99" in text and "| uvm_delta_0.15_0.3 |" in text
    png = heatmap(table, "cvar_99", tmp_path / "map.png")
    assert png.stat().st_size > 1000
    with pytest.raises(FileExistsError):
        heatmap(table, "cvar_99", png)


def test_calibrated_delta_hedger_ignores_the_market_model(tmp_path):
    """In the regime market the engine's Greeks are BS at the regime vol; bs_delta_0.2 must not follow them."""
    from hedgegym.baselines import DeltaHedger
    from hedgegym.evaluation import evaluate

    study = load_study(write(tmp_path, study_dict()))
    config = study.market_config("regimes")
    calibrated = evaluate(DeltaHedger(volatility=0.2), config, n_paths=200, seed=3)
    model_delta = evaluate(DeltaHedger(), config, n_paths=200, seed=3)
    assert not np.allclose(calibrated.series["stock_position"], model_delta.series["stock_position"])


@pytest.mark.parametrize(("changes", "field"), [
    ({"volatility_band": [0.3, 0.1]}, "volatility_band"),
    ({"markets": {}}, "markets"),
    ({"grid_points": 5}, "grid_points"),
])
def test_bad_study_names_the_field(tmp_path, changes, field):
    with pytest.raises(ConfigError, match=field):
        load_study(write(tmp_path, study_dict(**changes)))


def test_calibration_model_must_be_gbm(tmp_path):
    data = study_dict()
    data["experiment"]["market"] = data["markets"]["regimes"]
    with pytest.raises(ConfigError, match=r"experiment\.market\.model"):
        load_study(write(tmp_path, data))


def test_y_is_measured_against_the_black_scholes_premium_at_the_calibration_vol(tmp_path):
    """The 100% mark of Y: |BS value| of the book at σ₀, here a short ATM call written out with math.erf."""
    import math

    from hedgegym.evaluation.misspecification import calibration_premium

    s, k, t, sigma, r = 100.0, 100.0, 0.1, 0.2, 0.02
    d1 = (math.log(s / k) + (r + 0.5 * sigma**2) * t) / (sigma * math.sqrt(t))
    cdf = lambda x: 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))  # noqa: E731
    call = s * cdf(d1) - k * math.exp(-r * t) * cdf(d1 - sigma * math.sqrt(t))
    study = load_study(write(tmp_path, study_dict()))
    assert calibration_premium(study) == pytest.approx(10 * 100 * call, rel=1e-12)


@pytest.mark.parametrize(("content", "message"), [("market: [unclosed", "is not valid YAML"),
                                                   (b"\xff\xfe\x00", "is not valid YAML")])
def test_a_study_file_that_is_not_yaml_is_a_config_error(tmp_path, content, message):
    path = tmp_path / "study.yaml"
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    with pytest.raises(ConfigError, match=message):
        load_study(path)
    with pytest.raises(ConfigError, match="study file not found"):
        load_study(tmp_path / "missing.yaml")
