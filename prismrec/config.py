"""Typed pipeline configuration, read from TOML; the same file drives the CLI, evaluation and service.

    [scorer]
    name = "ease"        # a registered model
    lambda = 250.0       # the model's parameters, by public name

    [encoder]            # optional: item text -> vectors, for scorers that read text
    model = "all-MiniLM-L6-v2"

    [history]
    half_life = 10.0     # recency weighting of each user's history at scoring time (events)

    [recommend]
    k = 10               # default list length
    exclude_seen = true  # never recommend what the user already has
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomli_w

from prismrec.errors import ConfigError
from prismrec.models import scorer_class
from prismrec.params import param, params_to_dict, parse_params
from prismrec.profiles.history import HistoryParams
from prismrec.semantic.encoder import EncoderParams

SECTIONS = ("scorer", "encoder", "history", "recommend")


@dataclass(frozen=True)
class ScorerConfig:
    """A registered model name and its typed parameters."""

    name: str
    params: Any

    @classmethod
    def build(cls, name: str, values: dict[str, Any] | None = None) -> ScorerConfig:
        params_type = scorer_class(name).Params
        parsed = parse_params(params_type, values or {}, f"model '{name}'")
        # Parse once more from the complete dict, so nested components are always in canonical form.
        return cls(name, parse_params(params_type, params_to_dict(parsed), f"model '{name}'"))

    def with_values(self, values: dict[str, Any]) -> ScorerConfig:
        """A copy with some parameters replaced (public names; strings are converted).

        A dotted name such as `cf.lambda` sets a parameter of a nested component.
        """
        merged = params_to_dict(self.params)
        for name, value in values.items():
            head, dot, rest = name.partition(".")
            if dot and isinstance(merged.get(head), dict):
                # A new model name starts that component from its own defaults.
                merged[head] = {"name": value} if rest == "name" else {**merged[head], rest: value}
            else:
                merged[name] = value
        return ScorerConfig.build(self.name, merged)


@dataclass(frozen=True)
class RecommendConfig:
    k: int = param(10, "default number of recommendations per user", min=1, max=10_000)
    exclude_seen: bool = param(True, "leave out items already in the user's history")


@dataclass(frozen=True)
class PipelineConfig:
    """Everything needed to build a `Pipeline`."""

    scorer: ScorerConfig
    recommend: RecommendConfig = dataclasses.field(default_factory=RecommendConfig)
    history: HistoryParams = dataclasses.field(default_factory=HistoryParams)
    encoder: EncoderParams | None = None

    @classmethod
    def for_model(cls, name: str, values: dict[str, Any] | None = None) -> PipelineConfig:
        return cls(ScorerConfig.build(name, values))

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "config") -> PipelineConfig:
        unknown = sorted(set(data) - set(SECTIONS))
        if unknown:
            raise ConfigError(f"{source}: unknown section(s) {unknown}; known sections: {', '.join(SECTIONS)}")
        scorer = dict(data.get("scorer") or {})
        name = scorer.pop("name", None)
        if not isinstance(name, str):
            raise ConfigError(f"{source}: [scorer] needs name = \"<model>\" (e.g. \"ease\")")
        try:
            recommend = parse_params(RecommendConfig, data.get("recommend") or {}, "[recommend]")
            history = parse_params(HistoryParams, data.get("history") or {}, "[history]")
            encoder = parse_params(EncoderParams, data["encoder"], "[encoder]") if "encoder" in data else None
            return cls(ScorerConfig.build(name, scorer), recommend, history, encoder)
        except ConfigError as error:
            raise ConfigError(f"{source}: {error}") from None

    @classmethod
    def from_toml(cls, path: str | Path) -> PipelineConfig:
        path = Path(path)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"config file {path} not found") from None
        except tomllib.TOMLDecodeError as error:
            raise ConfigError(f"{path}: invalid TOML ({error})") from None
        return cls.from_dict(data, str(path))

    def with_values(self, values: dict[str, Any]) -> PipelineConfig:
        """A copy with parameters replaced: `lambda=300` sets a scorer parameter, `history.half_life=5`
        or `recommend.k=20` a parameter of that section."""
        sections: dict[str, dict[str, Any]] = {"scorer": {}, "history": {}, "recommend": {}, "encoder": {}}
        for name, value in values.items():
            section, dot, rest = name.partition(".")
            if dot and section in ("history", "recommend", "encoder"):
                sections[section][rest] = value
            else:
                sections["scorer"][name] = value
        history = {**params_to_dict(self.history), **sections["history"]}
        recommend = {**params_to_dict(self.recommend), **sections["recommend"]}
        return PipelineConfig(
            self.scorer.with_values(sections["scorer"]) if sections["scorer"] else self.scorer,
            parse_params(RecommendConfig, recommend, "[recommend]"),
            parse_params(HistoryParams, history, "[history]"),
            self._encoder_with(sections["encoder"]),
        )

    def _encoder_with(self, values: dict[str, Any]) -> EncoderParams | None:
        if not values:
            return self.encoder
        base = params_to_dict(self.encoder) if self.encoder is not None else {}
        return parse_params(EncoderParams, {**base, **values}, "[encoder]")

    def to_dict(self) -> dict[str, Any]:
        data = {
            "scorer": {"name": self.scorer.name, **params_to_dict(self.scorer.params)},
            "history": params_to_dict(self.history),
            "recommend": params_to_dict(self.recommend),
        }
        if self.encoder is not None:
            data["encoder"] = params_to_dict(self.encoder)
        return data

    def to_toml(self) -> str:
        return tomli_w.dumps(self.to_dict())
