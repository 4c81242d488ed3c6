"""Configuration files: every shipped config loads; bad fields give errors that name them."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import numpy as np
import pytest

from hedgegym.config import MARKET_MODELS, ConfigError, ExperimentConfig, load_config, parse_config
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


# ---------------------------------------------------------------------------------------------- bad input (issue 10)
from typing import Annotated, get_args, get_origin  # noqa: E402

from hedgegym.config import MAX_EVALUATION_NODES, apply_overrides  # noqa: E402

WITH_HEDGE = parse_config({"hedging": {"hedge_options": [{"strike": 105.0, "maturity": 0.5}]}})


def _number_fields(annotation_kind: type) -> list[str]:
    """Every dotted path of a number field of kind ``annotation_kind`` (float or int) in an ExperimentConfig."""
    paths = []
    sections = {name: field.annotation for name, field in ExperimentConfig.model_fields.items()}
    sections["book.0"] = sections.pop("book").__args__[0]
    sections["hedging.hedge_options.0"] = get_args(ExperimentConfig.model_fields["hedging"].annotation.model_fields[
        "hedge_options"].annotation)[0]
    for section, model in sections.items():
        if not isinstance(model, type) or not hasattr(model, "model_fields"):
            continue
        for name, field in model.model_fields.items():
            kinds = {field.annotation, *(get_args(a)[0] if get_origin(a) is Annotated else a
                                         for a in get_args(field.annotation))}
            if annotation_kind in kinds:
                paths.append(f"{section}.{name}")
            elif section == "costs" and annotation_kind is float:
                paths += [f"costs.{name}.stock", f"costs.{name}.options"]
    return paths


FLOAT_FIELDS = _number_fields(float)
INT_FIELDS = _number_fields(int)


def test_the_field_walk_finds_the_fields_of_the_issue():
    for path in ("book.0.strike", "book.0.maturity", "book.0.multiplier", "book.0.barrier", "book.0.quantity",
                 "costs.proportional.stock", "costs.half_spread.options", "evaluation.cao_hull_c",
                 "env.risk_aversion", "env.cvar_threshold", "simulation.horizon", "hedging.hedge_options.0.strike"):
        assert path in FLOAT_FIELDS
    assert "book.0.barrier" in FLOAT_FIELDS and "simulation.horizon" in FLOAT_FIELDS
    assert {"evaluation.n_paths", "simulation.n_steps", "agent.n_envs"} <= set(INT_FIELDS)
    assert not any(path.startswith("costs") for path in INT_FIELDS)


@pytest.mark.parametrize("path", FLOAT_FIELDS)
def test_every_float_field_refuses_non_finite_values_and_booleans(path):
    """Was: ``.inf`` strike/maturity/multiplier/cost accepted, then a traceback naming 'rate' (not the field);
    ``.inf``/``.nan`` cao_hull_c, risk_aversion, cvar_threshold accepted (Y = inf, rewards −inf/NaN)."""
    for value in (float("inf"), float("-inf"), float("nan"), True, False):
        with pytest.raises(ConfigError, match=re.escape(path)):
            apply_overrides(WITH_HEDGE, {path: value})


@pytest.mark.parametrize("path", INT_FIELDS)
def test_every_integer_field_refuses_booleans(path):
    with pytest.raises(ConfigError, match=re.escape(path)):
        apply_overrides(WITH_HEDGE, {path: True})


MODEL_FIELDS = [(model, f.name) for model, cls in sorted(MARKET_MODELS.items()) for f in dataclasses.fields(cls)
                if f.init and f.type in ("float", float)]
assert len(MODEL_FIELDS) > 30 and all(
    name in {f for _, f in MODEL_FIELDS} for name in ("spot", "volatility", "vol_of_vol", "jump_intensity"))


@pytest.mark.parametrize(("model", "field"), MODEL_FIELDS, ids=[f"{m}.{f}" for m, f in MODEL_FIELDS])
def test_every_market_parameter_refuses_booleans_non_finite_values_and_text(model, field):
    """Was: ``spot: true`` → 1.0 and ``volatility: true`` → 100% volatility."""
    for value in (True, False, float("inf"), float("nan"), "[/red]", None):
        with pytest.raises(ConfigError, match=rf"market\.{field} must"):
            parse_config({"market": {"model": model, field: value}})


def test_engine_setup_checks_run_at_load_time():
    """The engine's own checks (same function, not a copy) refuse the config before any command builds one."""
    with pytest.raises(ConfigError, match=re.escape("book.0 expires at T = 0.2, between two rebalancing "
                                                    "dates")):
        parse_config({"book": [{"strike": 100, "maturity": 0.2, "quantity": -1},
                               {"strike": 100, "maturity": 0.5, "quantity": -1}], "simulation": {"n_steps": 4}})
    with pytest.raises(ConfigError, match=re.escape("hedging.hedge_options[0] expires at T = 0.1, between two "
                                                    "rebalancing dates")):
        parse_config({"hedging": {"hedge_options": [{"strike": 100, "maturity": 0.1}]}})


@pytest.mark.parametrize("name", ["../../x", "a/b", "..", ".hidden", "", "-rf", "x" * 101, "a b", "[bold]x", "c:\\x"])
def test_name_must_be_one_safe_path_component(name):
    """Was: ``name: ../../x`` wrote results outside results/."""
    with pytest.raises(ConfigError, match="name must be one path component of 1-100 letters, digits"):
        parse_config({"name": name})


@pytest.mark.parametrize("name", ["gbm_call", "ppo-gbm.v2", "A1", "x" * 100])
def test_safe_names_are_accepted(name):
    assert parse_config({"name": name}).name == name


@pytest.mark.parametrize(
    ("text", "message"),
    [("", "is empty"), ("# only a comment\n", "is empty"), ("book: [{strike: 100, maturity: 1, quantity: -1}]\n",
                                                             "missing section(s) market"),
     ("market: {model: gbm}\n", "missing section(s) book"), ("- 1\n- 2\n", "expected a mapping")],
)
def test_config_files_must_spell_out_market_and_book(tmp_path, text, message):
    """Was: an empty file, or one with no book: or market: section, silently ran the built-in default."""
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_config(path)


def test_evaluation_size_is_bounded_by_memory_where_an_evaluation_runs():
    """Was: evaluation.n_paths = 1,000,000 (the allowed maximum) allocated a 30 GiB buffer, then ran out of memory.
    The bound applies where an evaluation runs (compare, evaluate), so a long simulation with the default
    evaluation.n_paths still loads for check, stress and dashboard (a review found them refused)."""
    from hedgegym.evaluation.reports import compare

    n_steps = 63
    at_limit = MAX_EVALUATION_NODES // (n_steps + 1)
    assert at_limit == 131_072
    config = parse_config({"evaluation": {"n_paths": 1_000_000}, "simulation": {"n_steps": n_steps}})
    with pytest.raises(ValueError, match=r"n_paths must be <= 131,072 with 63 steps"):
        compare(config, n_paths=config.evaluation.n_paths)
    long = parse_config({"simulation": {"n_steps": 1_008, "n_paths": 1_000},
                         "book": [{"strike": 100.0, "maturity": 4.0, "quantity": -1}]})
    assert long.evaluation.n_paths == 10_000  # loads: 10,000 × 1,009 nodes would only matter to an evaluation
    with pytest.raises(ConfigError, match=r"simulation\.n_paths must be <= 1,048,576 with 63 steps"):
        parse_config({"simulation": {"n_paths": 10_000_000, "n_steps": n_steps}})


def test_apply_overrides_revalidates_and_names_the_field():
    base = ExperimentConfig()
    changed = apply_overrides(base, {"evaluation.n_paths": 30, "book.0.strike": 105, "market.volatility": 0.3,
                                     "evaluation.seed": None})
    assert (changed.evaluation.n_paths, changed.book[0].strike, changed.evaluation.seed) == (30, 105.0, 1234)
    assert changed.market.build().volatility == 0.3 and base.evaluation.n_paths == 10_000
    for overrides, named in [({"evaluation.n_paths": 3}, "evaluation.n_paths"),
                             ({"evaluation.npaths": 30}, "evaluation.npaths"), ({"foo.bar": 1}, "foo"),
                             ({"book.3.strike": 1}, "book.3"), ({"market.vol": 0.2}, "market.vol")]:
        with pytest.raises(ConfigError, match=re.escape(named)):
            apply_overrides(base, overrides)


def test_greek_solver_limits_come_from_the_config():
    """hedging.max_condition and hedging.position_limit reach compare's Greek-neutral hedgers; bad values are
    refused by name."""
    import yaml

    from hedgegym.evaluation.reports import default_hedgers

    data = yaml.safe_load((Path(__file__).parent.parent / "configs" / "heston_straddle_hedged.yaml").read_text())
    data["hedging"] |= {"max_condition": 50.0, "position_limit": 2.5}
    hedgers = {h.name: h for h in default_hedgers(parse_config(data))}
    assert (hedgers["delta_gamma_vega"].max_condition, hedgers["delta_gamma_vega"].position_limit) == (50.0, 2.5)
    for field, value in (("max_condition", 0.5), ("position_limit", 0.0), ("position_limit", float("inf"))):
        bad = {**data, "hedging": {**data["hedging"], field: value}}
        with pytest.raises(ConfigError, match=f"hedging.{field}"):
            parse_config(bad)


def test_a_setup_the_pricer_cannot_value_at_inception_is_refused_at_load():
    """Merton with 2e9 expected value-weighted jumps over the book's life: the Poisson series would need more terms
    than the pricer sums, so the config is refused when it loads (not mid-run), with the pricer's reason."""
    data = {"market": {"model": "merton", "jump_intensity": 1.0, "jump_mean": 20.0, "jump_std": 0.1},
            "book": [{"strike": 100.0, "maturity": 1.0, "quantity": -1}]}
    with pytest.raises(ConfigError, match="jump"):
        parse_config(data)
    data["market"]["jump_mean"] = 3.0  # large but summable: accepted and valued
    parse_config(data)
