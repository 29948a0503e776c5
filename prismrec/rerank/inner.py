"""A re-ranker inside another one (adaptive balance, exposure control) and its diversity knob."""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar

from prismrec.errors import ConfigError
from prismrec.params import Component, parse_params, public_name
from prismrec.rerank.base import ListReranker


@dataclass(frozen=True)
class RerankerComponent(Component):
    """A nested re-ranker inside another re-ranker's parameters: `[rerank.inner]` with `name = "mmr"`."""

    label: ClassVar[str] = "re-ranker"

    @staticmethod
    def lookup(name: str) -> Any:
        from prismrec.rerank.registry import reranker_class  # late: the registry imports the re-rankers

        return reranker_class(name)


def build_inner(component: RerankerComponent, owner: str) -> ListReranker:
    """The list re-ranker a component names (cross-user re-rankers cannot be nested)."""
    from prismrec.rerank.registry import reranker_class  # late: the registry imports this module's users

    cls = reranker_class(component.name)
    if not issubclass(cls, ListReranker):
        raise ConfigError(f"re-ranker '{owner}' needs a list re-ranker inside, not '{component.name}'")
    return cls(parse_params(cls.Params, dict(component.values), f"re-ranker '{owner}' parameter 'inner'"))


def with_knob(reranker: ListReranker, fraction: float) -> ListReranker:
    """A shallow copy whose knob sits `fraction` (0..1) of the way along its sweep range.

    Cached item features are shared with the original, so the copy is cheap.
    """
    low, high = reranker.knob_range
    value = low + (high - low) * fraction
    clone = copy.copy(reranker)
    clone.params = dataclasses.replace(reranker.params, **{_field_name(type(reranker), reranker.knob): value})
    return clone


def _field_name(cls: type[ListReranker], public: str) -> str:
    for field in dataclasses.fields(cls.Params):
        if public_name(field) == public:
            return field.name
    raise ConfigError(f"re-ranker '{cls.name}' has no parameter '{public}'")
