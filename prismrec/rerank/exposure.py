"""Exposure control across users: coverage and long-tail exposure are properties of all lists together.

Each user's candidate scores are z-scored and lowered by γ · log(1 + train events) (popular items
are shown to many users anyway), and the inner list re-ranker builds the list. Then items that no
list shows are swapped in where they cost least: the cost of showing unexposed item i to user u is

    (z_w - z_ui) · (n_u / median n) ** activity

the drop in z-scored score from the weakest item of u's list that other lists also show (so coverage
only grows), scaled up for users with long histories n_u: more of their candidates turn out relevant,
so their lists lose more when an item is replaced (on ml-100k, activity 0.5 halves the NDCG cost of
the same coverage gain).

- Offline (one batch of users, e.g. a nightly job or an evaluation): rounds of swaps over the whole
  batch at once, order-independent: every unexposed candidate goes to the user for whom it is
  cheapest, each user takes its cheapest offer, each round gives a user at most one swap; swaps
  cost at most `max_cost`, at most `swaps` per user.
- Online (the service passes its `ExposureCounter`): an item is unexposed when its decayed count is
  below one list; the user's list swaps in up to `swaps` of them, cheapest first, then is counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from prismrec.data.items import ItemSide
from prismrec.params import param
from prismrec.rerank.base import ListReranker, RerankContext, Reranker, standardise, take_positions
from prismrec.rerank.inner import RerankerComponent, build_inner


@dataclass
class ExposureCounter:
    """How often each item was shown, for online exposure control.

    Attributes:
        n_items: catalogue size.
        decay: factor applied to the old counts before each new list (1 = plain counting).
        counts: float64[n_items] (decayed) number of lists each item was in.
    """

    n_items: int
    decay: float = 1.0
    counts: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.counts = np.zeros(self.n_items)

    def add(self, items: np.ndarray) -> None:
        """Count one list (int[k] item indices, -1 ignored)."""
        if self.decay != 1.0:
            self.counts *= self.decay
        shown = items[items >= 0]
        self.counts[shown] += 1.0


@dataclass(frozen=True)
class ExposureParams:
    gamma: float = param(0.0, "popularity penalty per unit of log(1 + train events), before the inner re-ranker",
                         min=0.0)  # fmt: skip
    max_cost: float = param(0.5, "largest drop of the (popularity-penalised) z-score accepted to show an item "
                            "no list shows", min=0.0)  # fmt: skip
    swaps: int = param(2, "most slots of one list given to unexposed items", min=0)
    activity: float = param(0.5, "swap costs scale with (history length / median) ** activity (0 = equal costs)",
                            min=0.0)  # fmt: skip
    inner: RerankerComponent = param(RerankerComponent("popularity", (("gamma", 0.0),)),
                                     "the list re-ranker that builds each list first")  # fmt: skip


class Exposure(Reranker):
    name = "exposure"
    Params = ExposureParams
    knob = "max_cost"
    knob_range = (0.0, 2.0)
    cross_user = True

    def __init__(self, params: Any | None = None, **kwargs: Any) -> None:
        super().__init__(params, **kwargs)
        self.inner: ListReranker = build_inner(self.params.inner, self.name)
        self.reference_events = 1.0

    @property
    def needs(self) -> set[str]:
        return self.inner.needs

    def fit(self, history: sp.csr_matrix, side: ItemSide) -> None:
        """Fit the inner re-ranker and record the median history length of the training users."""
        self.inner.fit(history, side)
        events = np.diff(history.tocsr().indptr)
        self.reference_events = float(np.median(events[events > 0])) if (events > 0).any() else 1.0

    def state(self) -> dict[str, np.ndarray]:
        return {**self.inner.state(), "exposure.reference_events": np.array([self.reference_events])}

    def load_state(self, arrays: dict[str, np.ndarray]) -> None:
        self.reference_events = float(arrays["exposure.reference_events"][0])
        self.inner.load_state({name: value for name, value in arrays.items() if not name.startswith("exposure.")})

    def activity_weights(self, history: sp.csr_matrix) -> np.ndarray:
        """float64[n] (events / reference events) ** activity per history row (reference: fitted median)."""
        events = np.maximum(np.diff(history.tocsr().indptr), 1).astype(np.float64)
        return (events / self.reference_events) ** self.params.activity

    def rerank(
        self, items: np.ndarray, scores: np.ndarray, context: RerankContext, k: int
    ) -> tuple[np.ndarray, np.ndarray]:
        p = self.params
        z = row_zscores(scores) - p.gamma * np.log1p(context.popularity[np.maximum(items, 0)])
        positions = self.inner.choose(items, np.where(np.isfinite(z), z, np.nan), context, k)
        # Swap costs in a user's list grow with the history length: long histories have more relevant items.
        z = z * self.activity_weights(context.history)[:, None]
        if context.exposure is None:
            counts = np.bincount(np.take_along_axis(items, np.maximum(positions, 0), 1)[positions >= 0],
                                 minlength=len(context.popularity)).astype(np.float64)  # fmt: skip
            for _ in range(p.swaps):
                if not swap_round(items, z, positions, counts, p.max_cost, own=1):
                    break
        else:
            counter: ExposureCounter = context.exposure
            for row in range(len(items)):
                for _ in range(p.swaps):
                    if not swap_round(items[row : row + 1], z[row : row + 1], positions[row : row + 1],
                                      counter.counts, p.max_cost, own=0):  # fmt: skip
                        break
                shown = positions[row] >= 0
                counter.add(items[row][positions[row][shown]])
        return take_positions(items, scores, positions)


def row_zscores(scores: np.ndarray) -> np.ndarray:
    """float64[n, M] each row's scores standardised over its valid entries (-inf where NaN)."""
    z = np.full(scores.shape, -np.inf)
    for row in range(len(scores)):
        valid = ~np.isnan(scores[row])
        z[row, valid] = standardise(scores[row, valid])
    return z


def swap_round(
    items: np.ndarray, z: np.ndarray, positions: np.ndarray, counts: np.ndarray, max_cost: float, own: int
) -> bool:
    """At most one swap per row: an unexposed candidate replaces the row's weakest widely shown item.

    Args:
        items: int64[n, M] candidates (-1 = none).
        z: float64[n, M] their z-scores (-inf = none).
        positions: int64[n, k] chosen candidate positions (-1 = empty), updated in place.
        counts: float64[n_items] exposure counts, updated in place.
        max_cost: largest accepted z-score drop.
        own: 1 when `counts` already includes these lists (offline), 0 when it does not (online).

    Returns:
        whether any swap was made.
    """
    n, m = items.shape
    filled = positions >= 0
    listed = np.where(filled, np.take_along_axis(items, np.maximum(positions, 0), 1), -1)
    slot_z = np.where(filled, np.take_along_axis(z, np.maximum(positions, 0), 1), np.inf)
    replaceable = filled & (counts[np.maximum(listed, 0)] - own >= 1)
    weakest = np.argmin(np.where(replaceable, slot_z, np.inf), axis=1)  # [n]
    has_weak = replaceable.any(axis=1)
    weakest_z = slot_z[np.arange(n), weakest]
    in_list = np.zeros((n, m), dtype=bool)
    in_list[np.nonzero(filled)[0], positions[filled]] = True
    cost = weakest_z[:, None] - z
    offer = (items >= 0) & ~in_list & (counts[np.maximum(items, 0)] < 1) & has_weak[:, None] & (cost <= max_cost)
    rows, cols = np.nonzero(offer)
    if len(rows) == 0:
        return False
    offered, price = items[rows, cols], cost[rows, cols]
    order = np.lexsort((rows, price))  # cheapest first, ties by row
    rows, cols, offered, price = rows[order], cols[order], offered[order], price[order]
    _, first = np.unique(offered, return_index=True)  # each item to its cheapest user
    keep = np.sort(first)
    rows, cols, offered, price = rows[keep], cols[keep], offered[keep], price[keep]
    _, first = np.unique(rows, return_index=True)  # each user takes its cheapest offer
    keep = np.sort(first)
    rows, cols, offered = rows[keep], cols[keep], offered[keep]
    replaced = listed[rows, weakest[rows]]
    # A replaced item must stay shown somewhere: at most (its count - own) - 1 of its lists give it up ...
    # ... counted in cost order (rows are already cheapest first).
    order = np.argsort(replaced, kind="stable")
    sorted_replaced = replaced[order]
    starts = np.searchsorted(sorted_replaced, sorted_replaced, side="left")
    rank = np.empty(len(replaced), dtype=np.int64)
    rank[order] = np.arange(len(replaced)) - starts
    allowed = rank < counts[replaced] - own
    rows, cols, offered, replaced = rows[allowed], cols[allowed], offered[allowed], replaced[allowed]
    positions[rows, weakest[rows]] = cols
    if own:
        np.subtract.at(counts, replaced, 1.0)
        counts[offered] += 1.0
    return len(rows) > 0
