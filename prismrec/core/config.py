"""Typed pipeline configuration, read from TOML; the same file drives the CLI, evaluation and service.

    [scorer]
    name = "ease"        # a registered model
    lambda = 250.0       # the model's parameters, by public name

    [encoder]            # optional: item text -> vectors, for scorers that read text
    model = "all-MiniLM-L6-v2"

    [history]
    half_life = 10.0     # recency weighting of each user's history at scoring time (events)

    [rerank]             # optional: re-rank each user's top candidates for diversity
    name = "mmr"         # a registered re-ranker (mmr, dpp, calibrated, xquad, ...)
    lambda = 0.3         # its parameters; every re-ranker has one diversity knob

    [bundles]            # optional: recommend bundles (datasets with bundles; `prismrec bundles`)
    name = "fused"       # a registered bundle scorer (popular, ease, item-overlap, text, fused)
    lambda = 500.0       # its parameters

    [cold_start]         # what a user without history gets (core/cold_start.py)
    new_users = "diverse-popular"   # or "popular"
    diversity = 0.3

    [recommend]
    k = 10               # default list length
    exclude_seen = true  # never recommend what the user already has
    candidates = 100     # top-scored items the re-ranker chooses from
    order = "rerank"     # or "score": the re-ranker picks the items, they are shown by score
    retrieval = "auto"   # exact, ann (HNSW over factor models' item vectors) or auto (ann from 20,000 items)
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Self, TypeVar

import tomli_w

from prismrec.core.cold_start import ColdStartConfig
from prismrec.errors import ConfigError
from prismrec.models import scorer_class
from prismrec.params import param, params_to_dict, parse_params
from prismrec.profiles.history import HistoryParams
from prismrec.rerank.registry import reranker_class
from prismrec.semantic.encoder import EncoderParams

if TYPE_CHECKING:
    from prismrec.core.pipeline import FittedPipeline
    from prismrec.data.schema import Catalog, Interactions

SECTIONS = ("scorer", "encoder", "history", "rerank", "recommend", "cold_start", "bundles")
NESTED = ("history", "recommend", "cold_start", "encoder", "rerank", "bundles")  # `section.name=value` assignments


@dataclass(frozen=True)
class ComponentConfig:
    """A registered name (a model or a re-ranker) and its typed parameters."""

    name: str
    params: Any
    label: ClassVar[str] = "model"

    @staticmethod
    def lookup(name: str) -> Any:
        return scorer_class(name)

    @classmethod
    def build(cls, name: str, values: dict[str, Any] | None = None) -> Self:
        params_type = cls.lookup(name).Params
        owner = f"{cls.label} '{name}'"
        parsed = parse_params(params_type, values or {}, owner)
        # Parse once more from the complete dict, so nested components are always in canonical form.
        return cls(name, parse_params(params_type, params_to_dict(parsed), owner))

    def with_values(self, values: dict[str, Any]) -> Self:
        """A copy with some parameters replaced (public names; strings are converted).

        A dotted name such as `cf.lambda` sets a parameter of a nested component; `name` starts
        another registered component from its defaults.
        """
        if "name" in values:
            fresh = type(self).build(str(values["name"]))
            rest = {key: value for key, value in values.items() if key != "name"}
            return fresh.with_values(rest) if rest else fresh
        merged = params_to_dict(self.params)
        # Component names first (outer before inner), so a new component has its defaults before
        # deeper names are applied to it.
        names_first = sorted(values.items(), key=lambda kv: (not kv[0].endswith("name"), kv[0].count(".")))
        for name, value in names_first:
            _assign(merged, name, value)
            if name.endswith(".name"):
                merged = params_to_dict(type(self).build(self.name, merged).params)
        return type(self).build(self.name, merged)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, **params_to_dict(self.params)}

    def create(self) -> Any:
        """A new instance of the registered class with these parameters."""
        return self.lookup(self.name)(self.params)


C = TypeVar("C", bound=ComponentConfig)


def _assign(table: dict[str, Any], name: str, value: Any) -> None:
    """Set a possibly dotted public name in nested parameter tables; `x.name` starts component x afresh."""
    head, dot, rest = name.partition(".")
    if dot and isinstance(table.get(head), dict):
        if rest == "name":
            table[head] = {"name": value}
        else:
            _assign(table[head], rest, value)
    else:
        table[name] = value


class ScorerConfig(ComponentConfig):
    """The scorer: a registered model and its parameters."""


class RerankConfig(ComponentConfig):
    """The re-ranker: a registered re-ranker and its parameters."""

    label: ClassVar[str] = "re-ranker"

    @staticmethod
    def lookup(name: str) -> Any:
        return reranker_class(name)


@dataclass(frozen=True)
class RecommendConfig:
    k: int = param(10, "default number of recommendations per user", min=1, max=10_000)
    exclude_seen: bool = param(True, "leave out items already in the user's history")
    candidates: int = param(100, "top-scored items per user the re-ranker chooses from", min=1, max=100_000)
    order: str = param("rerank", "order of a re-ranked list: as the re-ranker built it, or its items by score",
                       choices=("rerank", "score"))  # fmt: skip
    retrieval: str = param("auto", "exact (score every item), ann (HNSW over the factors of ALS, BPR and the "
                           "two-tower) or auto (ann from 20,000 items on)",
                           choices=("auto", "exact", "ann"))  # fmt: skip


@dataclass(frozen=True)
class PipelineConfig:
    """Everything needed to fit a pipeline: `config.fit(train, catalog) -> FittedPipeline`."""

    scorer: ScorerConfig
    recommend: RecommendConfig = dataclasses.field(default_factory=RecommendConfig)
    history: HistoryParams = dataclasses.field(default_factory=HistoryParams)
    encoder: EncoderParams | None = None
    rerank: RerankConfig | None = None
    cold_start: ColdStartConfig = dataclasses.field(default_factory=ColdStartConfig)
    bundles: dict[str, Any] | None = None  # the [bundles] table, read by `prismrec.bundles.config`

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
            rerank = _named_component(RerankConfig, data.get("rerank"), "[rerank]", "mmr")
            bundles = _table(data.get("bundles"), "[bundles]")
            cold_start = parse_params(ColdStartConfig, data.get("cold_start") or {}, "[cold_start]")
            return cls(ScorerConfig.build(name, scorer), recommend, history, encoder, rerank, cold_start, bundles)
        except ConfigError as error:
            raise ConfigError(f"{source}: {error}") from None

    @classmethod
    def from_toml(cls, path: str | Path) -> PipelineConfig:
        return cls.from_dict(read_toml(path), str(path))

    def with_values(self, values: dict[str, Any]) -> PipelineConfig:
        """A copy with parameters replaced: `lambda=300` sets a scorer parameter, `history.half_life=5`
        or `recommend.k=20` a parameter of that section."""
        sections: dict[str, dict[str, Any]] = {"scorer": {}, **{section: {} for section in NESTED}}
        for name, value in values.items():
            section, dot, rest = name.partition(".")
            if dot and section in NESTED:
                sections[section][rest] = value
            else:
                sections["scorer"][name] = value
        history = {**params_to_dict(self.history), **sections["history"]}
        recommend = {**params_to_dict(self.recommend), **sections["recommend"]}
        cold_start = {**params_to_dict(self.cold_start), **sections["cold_start"]}
        return PipelineConfig(
            self.scorer.with_values(sections["scorer"]) if sections["scorer"] else self.scorer,
            parse_params(RecommendConfig, recommend, "[recommend]"),
            parse_params(HistoryParams, history, "[history]"),
            self._encoder_with(sections["encoder"]),
            self._rerank_with(sections["rerank"]),
            parse_params(ColdStartConfig, cold_start, "[cold_start]"),
            self._bundles_with(sections["bundles"]),
        )

    def fit(self, train: Interactions, catalog: Catalog | None = None) -> FittedPipeline:
        """Fit the scorer (and re-ranker) on `train` and keep the users' weighted histories.

        Args:
            train: the events to learn from.
            catalog: the items (text, categories) in the same item index space; needed when the config
                has an [encoder] section or the scorer reads text.
        """
        from prismrec.core.fit import fit_pipeline  # late: the fitted pipeline imports this module

        return fit_pipeline(self, train, catalog)

    def _encoder_with(self, values: dict[str, Any]) -> EncoderParams | None:
        if not values:
            return self.encoder
        base = params_to_dict(self.encoder) if self.encoder is not None else {}
        return parse_params(EncoderParams, {**base, **values}, "[encoder]")

    def _rerank_with(self, values: dict[str, Any]) -> RerankConfig | None:
        if not values:
            return self.rerank
        if values.get("name") == "none":
            return None
        if self.rerank is None and "name" not in values:
            raise ConfigError("no [rerank] section to change: set rerank.name first (e.g. rerank.name=mmr)")
        # A `name` starts that re-ranker from its defaults (ComponentConfig.with_values).
        return (self.rerank or RerankConfig.build(str(values["name"]))).with_values(values)

    def _bundles_with(self, values: dict[str, Any]) -> dict[str, Any] | None:
        if not values:
            return self.bundles
        if values.get("name") == "none":
            return None
        if "name" in values:  # a name starts that bundle scorer from its defaults
            return dict(values)
        return {**(self.bundles or {}), **values}

    def to_dict(self) -> dict[str, Any]:
        data = {
            "scorer": self.scorer.to_dict(),
            "history": params_to_dict(self.history),
            "recommend": params_to_dict(self.recommend),
            "cold_start": params_to_dict(self.cold_start),
        }
        if self.encoder is not None:
            data["encoder"] = params_to_dict(self.encoder)
        if self.rerank is not None:
            data["rerank"] = self.rerank.to_dict()
        if self.bundles is not None:
            data["bundles"] = dict(self.bundles)
        return data

    def to_toml(self) -> str:
        return tomli_w.dumps(self.to_dict())


def rerank_setting(base: RerankConfig | None, name: str, value: float) -> RerankConfig:
    """The re-ranker `name` with its knob at `value`; other parameters from `base` when it is the same re-ranker."""
    start = base if base is not None and base.name == name else RerankConfig.build(name)
    return start.with_values({reranker_class(name).knob: value})


def read_toml(path: str | Path) -> dict[str, Any]:
    """The TOML file as a dict, or a ConfigError naming the file and the problem."""
    path = Path(path)
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file {path} not found") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: invalid TOML ({error})") from None


def _table(table: Any, section: str) -> dict[str, Any] | None:
    """A section kept as given, for a layer above core to parse (absent = None)."""
    if table is None:
        return None
    if not isinstance(table, dict):
        raise ConfigError(f"{section} must be a table of name = value lines")
    return dict(table)


def _named_component(kind: type[C], table: Any, section: str, example: str) -> C | None:
    """A section with name = "<registered name>" and its parameters (absent = None)."""
    if table is None:
        return None
    values = dict(table) if isinstance(table, dict) else {}
    name = values.pop("name", None)
    if not isinstance(name, str):
        raise ConfigError(f'{section} needs name = "<{kind.label}>" (e.g. "{example}")')
    return kind.build(name, values)
