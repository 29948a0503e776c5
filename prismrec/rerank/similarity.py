"""Item features whose dot products are the similarities re-rankers diversify over."""

from __future__ import annotations

from typing import Any

import numpy as np

from prismrec.data.items import ItemSide
from prismrec.errors import ConfigError
from prismrec.profiles.interests import normalise
from prismrec.rerank.base import ListReranker, RerankContext

SIMILARITIES = ("embedding", "category")


class ItemFeatures:
    """Unit feature rows per item, so that similarity(i, j) = f_i · f_j (cosine).

    "embedding" uses the text-encoder vectors; "category" the 0/1 category rows (the cosine of two
    category sets, |A ∩ B| / sqrt(|A| |B|); items without categories are similar to nothing).
    The rows are computed once per item table and reused across batches.
    """

    def __init__(self, kind: str) -> None:
        if kind not in SIMILARITIES:
            raise ConfigError(f"similarity must be one of {SIMILARITIES}, not {kind!r}")
        self.kind = kind
        self._source: object | None = None
        self._rows = np.zeros((0, 0), dtype=np.float32)

    @property
    def needs(self) -> set[str]:
        return {"vectors"} if self.kind == "embedding" else {"categories"}

    def rows(self, side: ItemSide) -> np.ndarray:
        """float32[n_items, f] unit rows (zero rows for items without features)."""
        source = side.vectors if self.kind == "embedding" else side.categories
        if source is None:
            raise ConfigError(f"no item {'vectors' if self.kind == 'embedding' else 'categories'} to compare")
        if source is not self._source:
            dense = source if isinstance(source, np.ndarray) else source.toarray()
            self._rows = normalise(np.asarray(dense, dtype=np.float32))
            self._source = source
        return self._rows


class FeatureReranker(ListReranker):
    """A list re-ranker over item similarities; its Params have `similarity` ("embedding" or "category")."""

    def __init__(self, params: Any | None = None, **kwargs: Any) -> None:
        super().__init__(params, **kwargs)
        self.features = ItemFeatures(self.params.similarity)

    @property
    def needs(self) -> set[str]:
        return self.features.needs

    def prepare(self, context: RerankContext) -> np.ndarray:
        """float32[n_items, f] unit feature rows."""
        return self.features.rows(context.side)
