"""Typed hyper-parameters: one frozen dataclass per component, parsed from TOML or `name=value` text.

A field's public name is the field name without a trailing underscore (`lambda_` -> `lambda`).
Field metadata may give `help`, `min`, `max` (inclusive) and `choices`; `parse_params` converts
values to the field type and reports what is wrong and what is allowed.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from prismrec.errors import ConfigError

P = TypeVar("P")


@dataclass(frozen=True)
class Component(ABC):
    """A nested component inside another's parameters (e.g. the CF part of a hybrid: `models.ScorerComponent`).

    In TOML it is a sub-table: `[scorer.cf]` with `name = "ease"` and the model's parameters;
    on the command line `--param cf.lambda=300`.
    """

    name: str
    values: tuple[tuple[str, Any], ...] = ()
    label: ClassVar[str] = "model"

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, **dict(self.values)}

    @classmethod
    def of(cls, name: str, **values: Any) -> Component:
        return cls(name, tuple(sorted(values.items())))

    @staticmethod
    @abstractmethod
    def lookup(name: str) -> Any:
        """The class registered under `name` (it has a `Params` dataclass); each kind of component says where."""


def param(default: Any, help: str, min: float | None = None, max: float | None = None,
          choices: tuple[str, ...] | None = None) -> Any:  # fmt: skip
    """A dataclass field with documentation and bounds."""
    return dataclasses.field(default=default, metadata={"help": help, "min": min, "max": max, "choices": choices})


def public_name(field: dataclasses.Field) -> str:
    return field.name.rstrip("_")


def _convert(raw: Any, kind: type, where: str) -> Any:
    options = typing.get_args(kind)
    if type(None) in options:  # `X | None`: "none" or an empty value means None, anything else must be an X
        if raw is None or str(raw).strip().lower() in ("", "none"):
            return None
        return _convert(raw, next(option for option in options if option is not type(None)), where)
    if isinstance(kind, type) and issubclass(kind, Component):
        return _component(raw, where, kind)
    if kind is bool:
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in ("true", "1", "yes", "on"):
            return True
        if text in ("false", "0", "no", "off"):
            return False
        raise ConfigError(f"{where}: expected true or false, got '{raw}'")
    if kind is int:
        if isinstance(raw, bool):
            raise ConfigError(f"{where}: expected an integer, got '{raw}'")
        try:
            value = float(raw)
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: expected an integer, got '{raw}'") from None
        if not value.is_integer():
            raise ConfigError(f"{where}: expected an integer, got '{raw}'")
        return int(value)
    if kind is float:
        try:
            value = float(raw)
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: expected a number, got '{raw}'") from None
        if not math.isfinite(value):
            raise ConfigError(f"{where}: expected a finite number, got '{raw}'")
        return value
    return str(raw)


def _component(raw: Any, where: str, kind: type[Component]) -> Component:
    """A `kind` component from a TOML table / dict with a name, or a bare name; parameters checked."""
    if isinstance(raw, Component):
        raw = raw.as_dict()
    table = {"name": raw} if isinstance(raw, str) else dict(raw) if isinstance(raw, Mapping) else None
    if table is None or not isinstance(table.get("name"), str):
        raise ConfigError(f"{where}: expected a table with name = \"<model>\", got '{raw}'")
    name = table.pop("name")
    params = parse_params(kind.lookup(name).Params, table, f"{where} ({kind.label} '{name}')")
    return kind(name, tuple(sorted(params_to_dict(params).items())))


def parse_params(cls: type[P], values: Mapping[str, Any], owner: str) -> P:
    """Build `cls` from public-name values (strings or TOML values), checking names, types and bounds.

    Args:
        cls: the parameter dataclass.
        values: public name -> value.
        owner: what the parameters belong to, for messages (e.g. "model 'ease'").
    """
    fields = {public_name(f): f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    hints = typing.get_type_hints(cls)
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ConfigError(f"{owner} has no parameter {unknown}; its parameters are: {', '.join(fields) or 'none'}")
    kwargs = {}
    for name, raw in values.items():
        field = fields[name]
        where = f"{owner} parameter '{name}'"
        value = _convert(raw, hints[field.name], where)
        check_bounds(field, value, where)
        kwargs[field.name] = value
    return cls(**kwargs)


def check_bounds(field: dataclasses.Field, value: Any, where: str) -> None:
    meta = field.metadata
    if value is None or isinstance(value, Component):
        return
    if meta.get("choices") and value not in meta["choices"]:
        raise ConfigError(f"{where}: '{value}' is not one of {', '.join(meta['choices'])}")
    if meta.get("min") is not None and value < meta["min"]:
        raise ConfigError(f"{where}: {value} is below the minimum {meta['min']}")
    if meta.get("max") is not None and value > meta["max"]:
        raise ConfigError(f"{where}: {value} is above the maximum {meta['max']}")


def validate(params: Any, owner: str) -> None:
    """Check every field of a parameter object against its bounds."""
    for field in dataclasses.fields(params):
        check_bounds(field, getattr(params, field.name), f"{owner} parameter '{public_name(field)}'")


def params_to_dict(params: Any) -> dict[str, Any]:
    """Public name -> value, the form written to TOML (nested components become tables)."""
    out = {}
    for f in dataclasses.fields(params):
        value = getattr(params, f.name)
        out[public_name(f)] = value.as_dict() if isinstance(value, Component) else value
    return out


def parse_assignments(items: list[str], what: str = "--param") -> dict[str, str]:
    """['lambda=250', 'k=20'] -> {'lambda': '250', 'k': '20'}."""
    out: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ConfigError(f"{what} '{item}' must look like name=value")
        out[name.strip()] = value.strip()
    return out


def describe(cls: type) -> list[tuple[str, str, Any]]:
    """(public name, help, default) of every parameter, for --help and docs."""
    return [(public_name(f), f.metadata.get("help", ""), f.default) for f in dataclasses.fields(cls)]
