"""The reference of every config field, generated from the pydantic models of ``hedgegym.config`` and the market
models' dataclasses, so that the documentation cannot drift from what the loader accepts.

``config_reference_markdown()`` is what the docs' ``Config reference`` page shows (``docs/hooks.py`` appends it at
build time); ``field_paths()`` lists every documented path (``tests/test_docs.py`` checks that each field of every
section appears).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Iterator

import yaml
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from hedgegym.config import _NOT_FROM_YAML, MARKET_MODELS, ExperimentConfig

__all__ = ["config_reference_markdown", "field_paths", "market_parameters"]

_PIPE = "\\|"  # a literal | inside a Markdown table cell


def _type_name(annotation: object) -> str:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return " | ".join(_type_name(arg) for arg in typing.get_args(annotation))
    if origin is typing.Annotated:
        return _type_name(typing.get_args(annotation)[0])
    if origin is typing.Literal:
        return " | ".join(repr(arg) for arg in typing.get_args(annotation))
    if origin in (list, tuple, dict):
        return f"{origin.__name__}[{', '.join(_type_name(arg) for arg in typing.get_args(annotation))}]"
    if annotation is type(None):
        return "null"
    return getattr(annotation, "__name__", str(annotation))


def _constraints(info: FieldInfo) -> str:
    parts = []
    for item in info.metadata:
        for name, symbol in (("gt", ">"), ("ge", "≥"), ("lt", "<"), ("le", "≤"), ("min_length", "length ≥")):
            value = getattr(item, name, None)
            if value is not None:
                parts.append(f"{symbol} {value}")
    return ", ".join(parts)


def _default(info: FieldInfo) -> str:
    if info.is_required():
        return "required"
    if info.default_factory is not None:
        try:
            value = info.default_factory()
        except TypeError:
            return "(computed)"
        if isinstance(value, BaseModel):
            return "(see below)"
        if isinstance(value, list):  # as a config file writes it: YAML flow style
            items = [item.model_dump(mode="json", exclude_defaults=True) if isinstance(item, BaseModel) else item
                     for item in value]
            return f"`{yaml.safe_dump(items, default_flow_style=True, width=10_000).strip()}`"
        return f"`{value!r}`"
    return f"`{info.default!r}`"


def _nested_model(annotation: object) -> type[BaseModel] | None:
    for arg in (annotation, *typing.get_args(annotation)):
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
        if typing.get_origin(arg) is list:
            nested = _nested_model(typing.get_args(arg)[0])
            if nested is not None:
                return nested
    return None


def _sections(model: type[BaseModel], prefix: str) -> Iterator[tuple[str, type[BaseModel]]]:
    """(path, model) for ``model`` and every model nested in it, depth first."""
    yield prefix, model
    for name, info in model.model_fields.items():
        nested = _nested_model(info.annotation)
        if nested is not None and nested is not model:
            path = f"{prefix}.{name}" if prefix else name
            yield from _sections(nested, f"{path}[]" if "list[" in _type_name(info.annotation) else path)


def market_parameters(model: str) -> list[tuple[str, str, str]]:
    """(parameter, type, default) of the market model ``model`` (``market.model``), from its dataclass."""
    cls = MARKET_MODELS[model]
    hints = typing.get_type_hints(cls)
    rows = []
    for field in dataclasses.fields(cls):
        if not field.init or field.name in _NOT_FROM_YAML:
            continue
        default = "required" if field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING \
            else f"`{field.default!r}`" if field.default is not dataclasses.MISSING else "(computed)"
        rows.append((field.name, _type_name(hints.get(field.name, field.type)), default))
    return rows


def field_paths() -> list[str]:
    """Every field path the reference documents, e.g. ``hedging.rebalancing.spot_move``,
    ``market.heston.vol_of_vol``."""
    paths = []
    for prefix, model in _sections(ExperimentConfig, ""):
        paths += [f"{prefix}.{name}".lstrip(".") for name in model.model_fields]
    for model in MARKET_MODELS:
        paths += [f"market.{model}.{name}" for name, _, _ in market_parameters(model)]
    return paths


def config_reference_markdown() -> str:
    """Markdown: one table per config section (field, type, default, constraints, description, from the class
    docstring and the field's ``description``), then one table per market model's parameters."""
    lines: list[str] = []
    shown: dict[type[BaseModel], str] = {}
    for prefix, model in _sections(ExperimentConfig, ""):
        lines += [f"## `{prefix}`" if prefix else "## Top level", ""]
        if model in shown:
            lines += [f"The fields of `{shown[model]}`.", ""]
            continue
        shown[model] = prefix
        doc = " ".join((model.__doc__ or "").split())
        if doc:
            lines += [doc, ""]
        lines += ["| field | type | default | constraints | description |", "|---|---|---|---|---|"]
        for name, info in model.model_fields.items():
            description = (info.description or "").replace("|", _PIPE)
            kind = _type_name(info.annotation).replace("|", _PIPE)
            lines.append(f"| `{name}` | {kind} | {_default(info)} | {_constraints(info)} | {description} |")
        lines.append("")
    lines += ["## Market models (`market.model` and its parameters)", "",
              "`market:` holds `model` and that model's parameters; a parameter of another model is refused by name.",
              ""]
    for model, cls in MARKET_MODELS.items():
        doc = " ".join((cls.__doc__ or "").split("\n\n")[0].split())
        lines += [f"### `market.model: {model}`", "", doc, "", "| parameter | type | default |", "|---|---|---|"]
        lines += [f"| `{name}` | {kind.replace('|', _PIPE)} | {default} |" for name, kind, default
                  in market_parameters(model)]
        lines.append("")
    return "\n".join(lines)
