"""Helpers for scorers built from other scorers (hybrids)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from prismrec.data.items import ItemSide
from prismrec.models.base import Scorer
from prismrec.params import Component, parse_params


@dataclass(frozen=True)
class ScorerComponent(Component):
    """A nested scorer inside another scorer's parameters: `[scorer.cf]` with `name = "ease"`."""

    label: ClassVar[str] = "model"

    @staticmethod
    def lookup(name: str) -> Any:
        from prismrec.models import scorer_class  # late: the registry imports the hybrids

        return scorer_class(name)


def build_scorer(component: Component) -> Scorer:
    """An unfitted scorer from a nested component (name + parameters)."""
    from prismrec.models import scorer_class  # late: the registry imports the hybrids

    cls = scorer_class(component.name)
    return cls(parse_params(cls.Params, dict(component.values), f"model '{component.name}'"))


def prefixed(prefix: str, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {f"{prefix}.{name}": array for name, array in arrays.items()}


def unprefixed(prefix: str, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    head = f"{prefix}."
    return {name[len(head) :]: array for name, array in arrays.items() if name.startswith(head)}


def restore_part(part: Scorer, prefix: str, arrays: dict[str, np.ndarray], history: sp.csr_matrix,
                 side: ItemSide) -> Scorer:  # fmt: skip
    return part.restore(unprefixed(prefix, arrays), history, side)


def standardise(scores: np.ndarray) -> np.ndarray:
    """Per-row z-scores (zero rows stay zero): puts different scorers on one scale."""
    mean = scores.mean(axis=1, keepdims=True)
    std = scores.std(axis=1, keepdims=True)
    return np.divide(scores - mean, std, out=np.zeros_like(scores), where=std > 0)
