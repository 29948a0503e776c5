"""What a client asks of a fitted pipeline, and what it gets back.

Every client (evaluation, CLI, service, Spark) builds a `RecommendRequest` and calls
`FittedPipeline.recommend`; a client that needs something different adds a field here rather than
a second scoring path. Items and users are dense integer indices; external ids are mapped by the
client.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from prismrec.errors import RequestError


@dataclass(frozen=True)
class RecommendRequest:
    """One batch of lists to build.

    Attributes:
        users: int[n] user indices of the fitted index space (their fitted histories are used unless
            `history` is given; factor models read their learned factors). With only `history`, the
            rows are anonymous (user index 0 is passed to factor models, as for an unknown user).
        history: CSR [n, n_items] weighted history rows (live events, what-if histories; see
            `profiles.history`), row r for list r; None = the fitted rows of `users`.
        k: list length (None = `[recommend] k`).
        exclude_seen: leave out the items in each history row (None = `[recommend] exclude_seen`).
        exclude: int item indices never returned (to any row).
        candidates: bool[n_items]: only these items may be returned (None = all).
        category: only items of this category label.
        reranker: a registered re-ranker to use instead of the configured one ("none" = plain top-K).
        diversity: the re-ranker's knob as a fraction 0..1 of its range (0 = plain top-K by score).
        cold_start: override of `[cold_start] new_users` ("popular" or "diverse-popular").
        explain: also give reasons and their attribution per item.
        exposure: live exposure counts for a cross-user re-ranker (the service's counter).
    """

    users: np.ndarray | None = None
    history: sp.csr_matrix | None = None
    k: int | None = None
    exclude_seen: bool | None = None
    exclude: np.ndarray | None = None
    candidates: np.ndarray | None = None
    category: str | None = None
    reranker: str | None = None
    diversity: float | None = None
    cold_start: str | None = None
    explain: bool = False
    exposure: Any = None

    @classmethod
    def for_users(cls, users: np.ndarray | list[int], **options: Any) -> RecommendRequest:
        return cls(users=np.asarray(users, dtype=np.int64), **options)

    @classmethod
    def for_history(cls, history: sp.csr_matrix, user: int | None = None, **options: Any) -> RecommendRequest:
        """Lists for history rows; `user` = the fitted user the rows belong to (one row), if any."""
        users = None if user is None else np.full(history.shape[0], user, dtype=np.int64)
        return cls(users=users, history=history, **options)

    def n_rows(self) -> int:
        if self.history is not None:
            return int(self.history.shape[0])
        if self.users is None:
            raise RequestError("a recommendation request needs users or history rows")
        return len(self.users)


@dataclass(frozen=True)
class Because:
    """One history item behind a recommended item.

    Attributes:
        item: the history item's index.
        weight: its share of the positive contributions to the recommended item's score (0..1].
    """

    item: int
    weight: float


@dataclass(frozen=True)
class RecommendResult:
    """The lists of one request.

    Attributes:
        items: int64[n, k] item indices, best first; -1 pads lists that ran out of candidates.
        scores: float32[n, k] the scores that ranked them (NaN where items is -1).
        reasons: with `explain`, one sentence per filled slot of each row; else None.
        because: with `explain`, per filled slot the history items that contribute most, strongest first.
        cold: bool[n] rows answered by the cold-start policy (no history).
    """

    items: np.ndarray
    scores: np.ndarray
    cold: np.ndarray
    reasons: list[list[str]] | None = None
    because: list[list[list[Because]]] | None = None

    def row(self, r: int) -> tuple[np.ndarray, np.ndarray]:
        """(items, scores) of row r without the empty slots."""
        filled = self.items[r] >= 0
        return self.items[r][filled], self.scores[r][filled]


@dataclass(frozen=True)
class SimilarRequest:
    """Items like one item.

    Attributes:
        item: the item index.
        k: how many.
        diversity: MMR weight 0..1 over the item vectors among the nearest `pool` items (0/None = off).
        candidates: bool[n_items]: only these may be returned (deleted items are left out by the client).
    """

    item: int
    k: int = 10
    diversity: float | None = None
    candidates: np.ndarray | None = None
