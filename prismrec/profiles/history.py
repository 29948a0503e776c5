"""Recency- and value-weighted user histories.

Under a temporal protocol what a user did last matters most. Each event gets the weight
0.5^(n_after / half_life) · value^value_power, where n_after is how many of the user's events came
after it (ties in time: file order). The weighted history matrix feeds every scorer at scoring time
(item-item models multiply it, content models average item vectors with it), and it updates
exactly and incrementally: a new event multiplies the user's old weights by 0.5^(1/half_life) and
adds its own weight.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from prismrec.data.schema import Interactions
from prismrec.params import param


@dataclass(frozen=True)
class HistoryParams:
    half_life: float = param(
        0.0, "recency half-life in events: an event n events old weighs 0.5^(n/half_life); 0 = no decay", min=0.0
    )
    value_power: float = param(0.0, "multiply each event's weight by value**value_power (ratings); 0 = ignore", min=0.0)

    @property
    def step(self) -> float:
        """Factor by which every older weight shrinks when one new event arrives."""
        return 0.5 ** (1.0 / self.half_life) if self.half_life > 0 else 1.0


def events_after(inter: Interactions) -> np.ndarray:
    """int64[n]: for each event, how many events of the same user come later (time, then file order)."""
    rows = np.arange(len(inter))
    times = np.nan_to_num(inter.timestamps, nan=-np.inf)
    order = np.lexsort((rows, times, inter.users))
    ends = np.cumsum(inter.user_counts())
    after = np.empty(len(inter), dtype=np.int64)
    after[order] = ends[inter.users[order]] - 1 - np.arange(len(order))
    return after


def event_weights(inter: Interactions, params: HistoryParams) -> np.ndarray:
    """float32[n]: the weight of every event."""
    weights = np.ones(len(inter), dtype=np.float64)
    if params.half_life > 0:
        weights *= 0.5 ** (events_after(inter) / params.half_life)
    if params.value_power > 0:
        weights *= _value_weight(inter.values.astype(np.float64), params)
    return weights.astype(np.float32)


def history_matrix(inter: Interactions, params: HistoryParams) -> sp.csr_matrix:
    """float32 CSR [n_users, n_items] of summed event weights (a repeated item adds up)."""
    matrix = sp.csr_matrix(
        (event_weights(inter, params), (inter.users, inter.items)), shape=(inter.n_users, inter.n_items)
    )
    matrix.sum_duplicates()
    matrix.eliminate_zeros()
    return matrix


def append_event(row: sp.csr_matrix, item: int, params: HistoryParams, value: float = 1.0) -> sp.csr_matrix:
    """One user's history row [1, n_items] after one more event.

    Old weights decay by one step and the item adds its own weight, so the result equals
    `history_matrix` recomputed over the longer log.
    """
    weight = _value_weight(value, params)
    updated = row.astype(np.float32) * params.step
    updated = updated + sp.csr_matrix(([weight], ([0], [item])), shape=row.shape, dtype=np.float32)
    return updated.tocsr()


def _value_weight(values: np.ndarray | float, params: HistoryParams) -> np.ndarray | float:
    """max(value, 0) ** value_power (1 without value weighting); huge values give the largest float, never inf."""
    if params.value_power <= 0:
        return 1.0
    with np.errstate(over="ignore"):
        weight = np.maximum(np.asarray(values, dtype=np.float64), 0.0) ** params.value_power
    return np.minimum(weight, np.finfo(np.float32).max)
