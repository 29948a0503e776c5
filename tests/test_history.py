"""Recency- and value-weighted histories: weights by hand, and exact incremental updates."""

from __future__ import annotations

import numpy as np

from prismrec.data.schema import IdMap, Interactions
from prismrec.profiles.history import HistoryParams, append_event, event_weights, events_after, history_matrix


def log(users: list[int], items: list[int], times: list[float], values: list[float] | None = None) -> Interactions:
    return Interactions.from_arrays(
        np.array(users), np.array(items), IdMap(["u0", "u1"]), IdMap([f"i{i}" for i in range(5)]),
        values=None if values is None else np.array(values), timestamps=np.array(times, dtype=float),
    )  # fmt: skip


def test_events_after_uses_time_then_file_order() -> None:
    # u0: times 5, 1, 5 -> order (row1, row0, row2): row0 and row2 tie at t=5, row0 first in the file.
    inter = log([0, 0, 0, 1], [0, 1, 2, 3], [5, 1, 5, 9])
    assert events_after(inter).tolist() == [1, 2, 0, 0]


def test_weights_halve_every_half_life() -> None:
    inter = log([0, 0, 0, 0], [0, 1, 2, 3], [1, 2, 3, 4], values=[4, 2, 5, 1])
    # n_after = 3, 2, 1, 0; half-life 2 -> 0.5^1.5, 0.5^1, 0.5^0.5, 1
    expected = [0.5**1.5, 0.5, 0.5**0.5, 1.0]
    assert np.allclose(event_weights(inter, HistoryParams(half_life=2.0)), expected)
    # value_power 1 multiplies by the rating
    assert np.allclose(event_weights(inter, HistoryParams(half_life=2.0, value_power=1.0)),
                       np.array(expected) * [4, 2, 5, 1])  # fmt: skip
    assert np.allclose(event_weights(inter, HistoryParams()), 1.0)


def test_append_event_equals_recomputing_the_whole_log() -> None:
    params = HistoryParams(half_life=3.0, value_power=0.5)
    before = log([0, 0, 1], [0, 1, 2], [1, 2, 3], values=[1, 4, 2])
    after = log([0, 0, 1, 0], [0, 1, 2, 4], [1, 2, 3, 7], values=[1, 4, 2, 9])
    row = append_event(history_matrix(before, params)[0], 4, params, value=9.0)
    assert np.allclose(row.toarray(), history_matrix(after, params)[0].toarray())


def test_repeated_item_weights_add_up() -> None:
    inter = log([0, 0], [1, 1], [1, 2])
    matrix = history_matrix(inter, HistoryParams(half_life=1.0))
    assert np.isclose(matrix[0, 1], 0.5 + 1.0)
