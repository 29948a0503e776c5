"""Item-item hybrid: a CF item-item model (EASE or Item-kNN) plus semantic item similarity.

score(u) = h_u · B + semantic_weight · h_u · S, where h_u is the user's (recency-weighted) history,
B the CF item-item matrix and S the text-vector cosine of each target item's `neighbours` nearest
items. S also links items nobody has interacted with yet, so they become recommendable.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from prismrec.data.arrays import sparse_from_state, sparse_state
from prismrec.errors import ConfigError
from prismrec.models.base import Scorer
from prismrec.models.composite import ScorerComponent, build_scorer, prefixed, restore_part
from prismrec.models.memory import DataShape
from prismrec.params import param
from prismrec.semantic.neighbours import knn_similarity

EASE_250 = ScorerComponent("ease", (("lambda", 250.0),))

ITEM_ITEM_MODELS = ("ease", "itemknn")


@dataclass(frozen=True)
class ItemHybridParams:
    cf: ScorerComponent = param(EASE_250, "the item-item CF model ([scorer.cf]): ease or itemknn")
    semantic_weight: float = param(0.05, "weight of the semantic similarity", min=0.0)
    neighbours: int = param(50, "semantic neighbours kept per item", min=1)


class ItemHybrid(Scorer):
    name = "item-hybrid"
    Params = ItemHybridParams
    needs_vectors = True

    def peak_bytes(self, shape: DataShape) -> int:
        """The CF part, the semantic neighbour lists (COO then CSR) and one block of vector cosines."""
        kept = shape.n_items * min(self.params.neighbours, max(shape.n_items - 1, 1))
        return build_scorer(self.params.cf).peak_bytes(shape) + 2 * 24 * kept + 4 * 2048 * shape.n_items

    def _fit(self, history: sp.csr_matrix) -> None:
        if self.params.cf.name not in ITEM_ITEM_MODELS:
            raise ConfigError(f"model 'item-hybrid': cf must be one of {', '.join(ITEM_ITEM_MODELS)}")
        assert self.side.vectors is not None
        self.cf = build_scorer(self.params.cf).fit_matrix(history, self.side)
        self.semantic = knn_similarity(self.side.vectors, self.params.neighbours)

    def _score(self, users: np.ndarray, history: sp.csr_matrix) -> np.ndarray:
        semantic = np.asarray((history @ self.semantic).todense())
        return self.cf.score(users, history) + self.params.semantic_weight * semantic

    def item_relation(self, seen: np.ndarray, items: np.ndarray) -> np.ndarray | None:
        cf = self.cf.item_relation(seen, items)
        if cf is None:
            return None
        return cf + self.params.semantic_weight * self.semantic[seen][:, items].toarray()

    def state(self) -> dict[str, np.ndarray]:
        return {**prefixed("cf", self.cf.state()), **sparse_state("semantic", self.semantic)}

    def load_state(self, arrays: dict[str, np.ndarray]) -> None:
        assert self._history is not None
        self.cf = restore_part(build_scorer(self.params.cf), "cf", arrays, self._history, self.side)
        self.semantic = sparse_from_state("semantic", arrays)
