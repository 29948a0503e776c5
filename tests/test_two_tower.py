"""Two-tower scorer: block structure, the text path for cold items, the logQ correction, BPR, state, calibration.

The contract suite in test_models.py covers shapes, state round trip and determinism with the
defaults; here small synthetic logs whose right answer is known check what the model learns.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from prismrec.data.items import ItemSide
from prismrec.errors import ConfigError
from prismrec.evaluation.diversity import miscalibration
from prismrec.models.two_tower import TwoTower, _calibration_kl, _category_targets

FAST = {"dim": 16, "hidden": 16, "batch_size": 32, "epochs": 30, "learning_rate": 0.01}


def group_vectors(groups: np.ndarray, dim: int = 8, noise: float = 0.3, seed: int = 0) -> np.ndarray:
    """float32[n_items, dim] unit vectors: the item's group direction (axis g) plus Gaussian noise."""
    rng = np.random.default_rng(seed)
    vectors = noise * rng.normal(size=(len(groups), dim))
    vectors[np.arange(len(groups)), groups] += 1.0
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def block_history(n_users: int = 24, block: int = 8, n_items: int | None = None) -> tuple[sp.csr_matrix, np.ndarray]:
    """Two user groups with disjoint item sets: users < n_users/2 use items 0..block-1, the others block..2*block-1.

    User u has every item of its block except item (u mod block), its held-out answer.

    Returns:
        (binary CSR [n_users, n_items], int[n_users] held-out items).
    """
    n_items = n_items or 2 * block
    dense = np.zeros((n_users, n_items), dtype=np.float32)
    answer = np.empty(n_users, dtype=np.int64)
    for u in range(n_users):
        first = block * (u >= n_users // 2)
        dense[u, first : first + block] = 1.0
        answer[u] = first + u % block
        dense[u, answer[u]] = 0.0
    return sp.csr_matrix(dense), answer


def test_held_out_item_of_the_own_block_ranks_above_the_other_block() -> None:
    history, answer = block_history()
    groups = np.repeat([0, 1], 8)
    model = TwoTower(**FAST).fit_matrix(history, ItemSide(vectors=group_vectors(groups)))
    scores = model.score(np.arange(24))
    for u in range(24):
        other = groups != groups[answer[u]]
        assert scores[u, answer[u]] > scores[u, other].max()


def test_block_structure_is_learned_from_ids_when_the_text_says_nothing() -> None:
    history, answer = block_history()
    vectors = group_vectors(np.zeros(16, dtype=np.int64), noise=1.0, seed=3)  # no group information
    model = TwoTower(**FAST).fit_matrix(history, ItemSide(vectors=vectors))
    scores = model.score(np.arange(24))
    groups = np.repeat([0, 1], 8)
    for u in range(24):
        assert scores[u, answer[u]] > scores[u, groups != groups[answer[u]]].max()


def test_cold_item_is_placed_by_its_text() -> None:
    # item 16 has no events; its text vector is a group-0 vector
    history, answer = block_history(n_items=17)
    groups = np.append(np.repeat([0, 1], 8), 0)
    vectors = group_vectors(groups, seed=5)
    model = TwoTower(**FAST).fit_matrix(history, ItemSide(vectors=vectors))
    scores = model.score(np.arange(24))
    group_b = np.arange(8, 16)
    # for the group-0 users the cold item beats every item of the other block ...
    assert (scores[:12, 16] > scores[:12][:, group_b].max(axis=1)).all()
    # ... and for the group-1 users it stays below their own held-out item
    assert (scores[12:, 16] < scores[np.arange(12, 24), answer[12:]]).all()


def test_a_new_history_is_scored_without_refitting() -> None:
    history, _ = block_history()
    groups = np.repeat([0, 1], 8)
    model = TwoTower(**FAST).fit_matrix(history, ItemSide(vectors=group_vectors(groups)))
    # a user the model never saw, with two group-1 items weighted by recency
    row = sp.csr_matrix((np.array([1.0, 0.5], np.float32), ([0, 0], [9, 12])), shape=(1, 16))
    scores = model.score(np.array([0]), row)[0]
    assert scores[8:].min() > scores[:8].max()


def grouped_log(seed: int, per_group: int, n_users: int, takes: tuple[int, ...]) -> tuple[sp.csr_matrix, np.ndarray]:
    """Three groups of `per_group` items; user u takes takes[j] items from group (u + j) mod 3.

    Within a group item k is chosen with probability ∝ 1/(k+1), without replacement.

    Returns:
        (binary CSR [n_users, 3 * per_group], int[n_items] item groups).
    """
    rng = np.random.default_rng(seed)
    weights = 1.0 / np.arange(1, per_group + 1)
    dense = np.zeros((n_users, 3 * per_group), dtype=np.float32)
    for u in range(n_users):
        for offset, count in enumerate(takes):
            picked = rng.choice(per_group, size=count, replace=False, p=weights / weights.sum())
            dense[u, ((u + offset) % 3) * per_group + picked] = 1.0
    return sp.csr_matrix(dense), np.repeat(np.arange(3), per_group)


def skewed_log(seed: int = 0, per_group: int = 50, n_users: int = 300) -> tuple[sp.csr_matrix, np.ndarray]:
    """One taste group per user (u mod 3), 8 items each."""
    return grouped_log(seed, per_group, n_users, (8,))


def top10_unseen(model: TwoTower, history: sp.csr_matrix) -> np.ndarray:
    """int[n_users, 10]: each user's ten best-scored items outside its history."""
    scores = model.score(np.arange(history.shape[0]))
    scores[history.toarray() > 0] = -np.inf
    return np.argsort(-scores, axis=1, kind="stable")[:, :10]


def test_logq_correction_removes_the_in_batch_bias_against_popular_items() -> None:
    """In-batch negatives are popular items far more often than in a full softmax.

    Uncorrected, the model learns log p(i|u) - log q_i and leans toward niche items; corrected, it
    estimates log p(i|u). In this log the truly most likely next items of a user are the most
    popular unseen items of its group, so with the correction the top-10 lists are (a) made of more
    popular items: lower mean popularity rank, 1 = the item with the most train users, and (b)
    closer to the true top 10.
    """
    history, groups = skewed_log()
    vectors = group_vectors(groups, seed=7)
    params = {**FAST, "batch_size": 64, "epochs": 20}
    counts = np.asarray(history.sum(axis=0)).ravel()
    popularity_rank = np.empty(len(counts))
    popularity_rank[np.argsort(-counts, kind="stable")] = np.arange(1, len(counts) + 1)
    # the true ranking within a group is by item position (probability 1/(k+1)), the best unseen first
    truth = np.where(history.toarray() > 0, np.inf, np.arange(150) % 50)
    truth[groups[None, :] != (np.arange(300) % 3)[:, None]] = np.inf
    true_top = np.argsort(truth, axis=1, kind="stable")[:, :10]

    results = {}
    for logq in (True, False):
        model = TwoTower(**params, logq=logq).fit_matrix(history, ItemSide(vectors=vectors))
        top = top10_unseen(model, history)
        overlap = np.mean([len(np.intersect1d(a, b)) / 10 for a, b in zip(top, true_top, strict=True)])
        results[logq] = (float(popularity_rank[top].mean()), float(overlap))
    (rank_with, overlap_with), (rank_without, overlap_without) = results[True], results[False]
    assert rank_with < rank_without - 15.0, results  # about 35 against 66
    assert overlap_with > overlap_without + 0.2, results


def test_bpr_loss_trains() -> None:
    history, groups = skewed_log(seed=1)
    model = TwoTower(**FAST, loss="bpr").fit_matrix(history, ItemSide(vectors=group_vectors(groups, seed=2)))
    assert len(model.losses) == FAST["epochs"]
    assert model.losses[-5:].mean() < 0.8 * model.losses[:3].mean()
    # the top-10 unseen items come from the user's own group
    top = top10_unseen(model, history)
    assert (groups[top] == (np.arange(300) % 3)[:, None]).mean() > 0.95


@pytest.mark.parametrize("values", [{"user_mlp": True}, {"item_bias": False, "item_ids": False, "hidden": 0}])
def test_state_round_trip_of_the_variants(values: dict[str, object]) -> None:
    history, groups = skewed_log(seed=2)
    side = ItemSide(vectors=group_vectors(groups))
    model = TwoTower(**{**FAST, "epochs": 3, **values}).fit_matrix(history, side)
    state = {name: np.array(value, copy=True) for name, value in model.state().items()}
    assert ("user.in.weight" in state) == bool(values.get("user_mlp"))
    assert ("item_bias" in state) == values.get("item_bias", True)
    restored = TwoTower(model.params).restore(state, history, side)
    users = np.arange(history.shape[0])
    np.testing.assert_array_equal(restored.score(users), model.score(users))
    again = TwoTower(model.params).fit_matrix(history, side)
    np.testing.assert_array_equal(again.score(users), model.score(users))
    user_vectors, item_vectors = model.factors(users, history)  # inner products reproduce the scores (ANN)
    np.testing.assert_allclose(user_vectors @ item_vectors.T, model.score(users), atol=1e-5)


def one_hot_categories(groups: np.ndarray) -> sp.csr_matrix:
    """0/1 CSR [n_items, n_groups]: each item in the category of its group."""
    return sp.csr_matrix((np.ones(len(groups)), (np.arange(len(groups)), groups)))


def two_interest_log(seed: int = 0, per_group: int = 20, n_users: int = 300) -> tuple[sp.csr_matrix, np.ndarray]:
    """Two taste groups per user: 5 items from group u mod 3 and 5 from the next group."""
    return grouped_log(seed, per_group, n_users, (5, 5))


@pytest.mark.parametrize("values", [{"calibration": 0.0}, {"calibration": 0.0, "calibration_sharpness": 4.0}])
def test_zero_calibration_reproduces_the_plain_training(values: dict[str, float]) -> None:
    history, groups = skewed_log(seed=3)
    vectors = group_vectors(groups)
    params = {**FAST, "epochs": 3}
    plain = TwoTower(**params).fit_matrix(history, ItemSide(vectors=vectors))
    zero = TwoTower(**params, **values).fit_matrix(
        history, ItemSide(vectors=vectors, categories=one_hot_categories(groups))
    )
    np.testing.assert_array_equal(zero.item_embeddings, plain.item_embeddings)
    np.testing.assert_array_equal(zero.item_bias, plain.item_bias)
    np.testing.assert_array_equal(zero.losses, plain.losses)


def test_calibration_term_is_the_kl_of_the_history_mix_from_the_softmax_mix() -> None:
    # items 0, 1 in category 0, item 2 in both, item 3 in none; user 2 has only the uncategorised item
    categories = sp.csr_matrix(np.array([[1, 0], [1, 0], [1, 1], [0, 0]], dtype=np.float32))
    history = sp.csr_matrix(np.array([[1, 0, 1, 0], [0, 1, 1, 1], [0, 0, 0, 1]], dtype=np.float32))
    share, target = _category_targets(history, categories)
    np.testing.assert_allclose(share, [[1, 0], [1, 0], [0.5, 0.5], [0, 0]])
    np.testing.assert_allclose(target, [[0.75, 0.25], [0.75, 0.25], [0, 0]])

    logits = np.array([[0.5, -1.0, 2.0], [1.0, 0.0, -np.inf], [0.0, 3.0, 1.0]], dtype=np.float32)
    positives = np.array([0, 2, 3])  # the batch positives, one per row; rows belong to users 0, 1, 2
    softmax = np.exp(logits - logits.max(axis=1, keepdims=True))
    softmax /= softmax.sum(axis=1, keepdims=True)
    predicted = 0.99 * softmax @ share[positives] + 0.01 * target
    expected = np.mean([np.sum(target[k] * np.log(target[k] / predicted[k])) for k in (0, 1)])  # user 2 left out
    kl = _calibration_kl(torch.from_numpy(logits), torch.from_numpy(share[positives]), torch.from_numpy(target))
    assert float(kl) == pytest.approx(expected, rel=1e-5)


def test_calibration_brings_the_top_10_category_mix_to_the_history_mix() -> None:
    """Users with two interests (half their items from each of two groups).

    The plain model's lists let popular items of the third group, which the user never touched, into
    the top 10; a large calibration weight pushes the softmax mass back onto the user's own groups, and
    the lists follow: the mean miscalibration (Steck's KL of the history mix from the list mix) falls.
    """
    history, groups = two_interest_log()
    categories = one_hot_categories(groups)
    side = ItemSide(vectors=group_vectors(groups, seed=7), categories=categories)
    params = {**FAST, "batch_size": 64, "epochs": 20}
    kl = {}
    for weight in (0.0, 20.0):
        model = TwoTower(**params, calibration=weight).fit_matrix(history, side)
        kl[weight] = float(miscalibration(top10_unseen(model, history), history, categories).mean())
    assert kl[0.0] > 0.1, kl  # about 0.15
    assert kl[20.0] < 0.5 * kl[0.0], kl  # about 0.03


@pytest.mark.parametrize(
    ("values", "categories", "message"),
    [({"loss": "bpr"}, True, "softmax loss only"), ({}, False, "catalogue has none")],
)
def test_calibration_errors(values: dict[str, object], categories: bool, message: str) -> None:
    history, groups = skewed_log(seed=4)
    side = ItemSide(vectors=group_vectors(groups), categories=one_hot_categories(groups) if categories else None)
    with pytest.raises(ConfigError, match=message):
        TwoTower(**FAST, **values, calibration=1.0).fit_matrix(history, side)
