"""SASRec: learns what follows what, reads the order of the history it is given, scores new items from text."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from prismrec.core.config import PipelineConfig
from prismrec.core.persistence import load_pipeline, save_pipeline
from prismrec.core.request import RecommendRequest
from prismrec.data.items import ItemSide
from prismrec.data.schema import IdMap, Interactions
from prismrec.errors import ConfigError
from prismrec.models import scorer_class
from prismrec.models.sasrec import ordered_inputs, user_sequences

FAST = {"dim": 32, "layers": 1, "heads": 2, "max_length": 8, "dropout": 0.0, "epochs": 60, "batch_size": 64,
        "learning_rate": 5e-3}  # fmt: skip


def cycle_log(n_users: int = 240, n_items: int = 12, length: int = 6, seed: int = 0) -> Interactions:
    """Every user walks the cycle 0 → 1 → … → n_items − 1 → 0 from a random start: the next item is determined by
    the last one, and every item is equally popular (a history-order-blind model cannot tell the next item)."""
    rng = np.random.default_rng(seed)
    users, items, times = [], [], []
    for user in range(n_users):
        start = rng.integers(n_items)
        for step in range(length):
            users.append(user)
            items.append((start + step) % n_items)
            times.append(float(step))
    return Interactions(np.asarray(users), np.asarray(items), np.ones(len(users), np.float32), np.asarray(times),
                        IdMap([f"u{u}" for u in range(n_users)]), IdMap([f"i{i}" for i in range(n_items)]))  # fmt: skip


@pytest.fixture(scope="module")
def cycle() -> Interactions:
    return cycle_log()


@pytest.fixture(scope="module")
def fitted(cycle: Interactions) -> object:
    return PipelineConfig.for_model("sasrec", {**FAST, "text": False}).fit(cycle)


def history_row(items: list[int], n_items: int = 12, half_life: float = 1000.0) -> sp.csr_matrix:
    """Recency weights of a sequence given oldest first, as the pipeline builds them."""
    weights = 0.5 ** (np.arange(len(items))[::-1] / half_life)
    return sp.csr_matrix((weights.astype(np.float32), ([0] * len(items), items)), shape=(1, n_items))


def test_sequences_and_inputs_keep_the_order(cycle: Interactions) -> None:
    sequences = user_sequences(cycle)
    assert all(np.array_equal(np.diff(s) % 12, np.ones(5)) for s in sequences)
    row = history_row([7, 2, 9])
    np.testing.assert_array_equal(ordered_inputs(row, 5), [[0, 0, 8, 3, 10]])  # oldest first, shifted, left-padded


def test_the_next_item_of_the_cycle_ranks_first(fitted: object) -> None:
    assert fitted.config.history.half_life == 1000.0  # given to the order-reading scorer
    scorer = fitted.scorer
    assert scorer.losses[-1] < 0.25 * scorer.losses[0]
    hits = 0
    for start in range(12):
        sequence = [(start + step) % 12 for step in range(4)]
        scores = scorer.score(np.array([0]), history_row(sequence))[0]
        scores[sequence] = -np.inf
        hits += int(np.argmax(scores) == (start + 4) % 12)
    assert hits >= 11


def test_the_answer_follows_the_order_of_the_events(fitted: object) -> None:
    """The same items in another order: the latest event decides what comes next (seen items not excluded)."""
    scorer = fitted.scorer
    assert np.argmax(scorer.score(np.array([0]), history_row([3, 4, 5]))[0]) == 6
    assert np.argmax(scorer.score(np.array([0]), history_row([5, 3, 4]))[0]) == 5
    assert np.argmax(scorer.score(np.array([0]), history_row([4, 5, 3]))[0]) == 4


def test_save_load_gives_the_same_lists(fitted: object, tmp_path: Path) -> None:
    save_pipeline(fitted, tmp_path / "m")
    loaded = load_pipeline(tmp_path / "m")
    request = RecommendRequest.for_users(np.arange(40), k=5)
    np.testing.assert_array_equal(fitted.recommend(request).items, loaded.recommend(request).items)
    assert not any(name.endswith("vectors") for name in fitted.scorer.state())


def test_an_item_without_events_is_scored_from_its_text() -> None:
    """Items 0..11 in a cycle; items 12 and 13 never occur. 12's text vector is item 5's, 13's is unrelated: after
    2, 3, 4 (next: 5) the text-only item 12 is placed above 13, and its vector is its text projection alone."""
    import torch

    log = cycle_log()
    rng = np.random.default_rng(3)
    vectors = rng.normal(size=(14, 16)).astype(np.float32)
    vectors[12] = vectors[5]
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    grown = Interactions(log.users, log.items, log.values, log.timestamps, log.user_ids,
                         IdMap([f"i{i}" for i in range(14)]))  # fmt: skip
    model = scorer_class("sasrec")(**{**FAST, "epochs": 40}).fit(grown, ItemSide(vectors=vectors))
    scores = model.score(np.array([0]), history_row([2, 3, 4], n_items=14))[0]
    assert scores[12] > scores[13]
    network = model._loaded()
    with torch.no_grad():
        table = network.item_table()
        np.testing.assert_allclose(table[13].numpy(), network.text(torch.from_numpy(vectors[12])).numpy(), atol=1e-6)


def test_bad_parameters() -> None:
    with pytest.raises(ConfigError, match="must divide"):
        PipelineConfig.for_model("sasrec", {"dim": 30, "heads": 4}).fit(cycle_log(n_users=10))
