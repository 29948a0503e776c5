"""Exposure, long-tail, diversity, calibration and surprise metrics against values computed by hand.

Discounts: 1/log2(2) = 1, 1/log2(3) = 0.6309298, 1/log2(4) = 0.5. 1/sqrt(2) = 0.7071068.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from prismrec.data.items import category_distribution
from prismrec.data.schema import IdMap, Interactions
from prismrec.evaluation.accuracy import ndcg, relevance
from prismrec.evaluation.beyond import exposure_entropy, long_tail_items, long_tail_share
from prismrec.evaluation.diversity import alpha_ndcg, embedding_ild, miscalibration, subtopic_recall
from prismrec.evaluation.report import BEYOND, evaluate_lists
from prismrec.evaluation.surprise import primitive_lists, serendipity, unexpectedness

T, F = True, False
NAN = np.nan


def close(actual: np.ndarray | float, expected: list[float] | float, tol: float = 1e-6) -> None:
    np.testing.assert_allclose(actual, expected, rtol=0, atol=tol, equal_nan=True)


def csr(rows: list[list[float]]) -> sp.csr_matrix:
    return sp.csr_matrix(np.array(rows, dtype=np.float32))


# categories A, B, C of six items: 0 {A}, 1 {A, B}, 2 {C}, 3 {}, 4 {B, C}, 5 {A}
CATEGORIES = csr([[1, 0, 0], [1, 1, 0], [0, 0, 1], [0, 0, 0], [0, 1, 1], [1, 0, 0]])


# ------------------------------------------------------------------ exposure and long tail


def test_exposure_entropy_by_hand() -> None:
    catalog = np.ones(4, dtype=bool)
    # counts [2, 1, 1, 0] -> p = [1/2, 1/4, 1/4]: 1/2 * 1 + 2 * (1/4 * 2) = 1.5 bits
    close(exposure_entropy(np.array([[0, 1], [0, 2]]), catalog), 1.5)
    close(exposure_entropy(np.array([[0, 1], [2, 3]]), catalog), 2.0)  # even over 4 items: log2 4
    close(exposure_entropy(np.array([[0, -1], [0, -1]]), catalog), 0.0)  # a single item
    close(exposure_entropy(np.full((2, 2), -1), catalog), 0.0)  # nothing shown


def test_long_tail_items_smallest_head_prefix() -> None:
    counts = np.array([5, 1, 3, 0, 1])  # 10 events; order by popularity 0, 2, 1, 4, 3
    # head_share 0.2 -> 2 events: item 0 alone holds 5
    np.testing.assert_array_equal(long_tail_items(counts), [F, T, T, T, T])
    # head_share 0.6 -> 6 events: item 0 (5) is short, items 0 + 2 hold 8
    np.testing.assert_array_equal(long_tail_items(counts, 0.6), [F, T, F, T, T])
    # head_share 0.8 -> 8 events: exactly met by items 0 + 2
    np.testing.assert_array_equal(long_tail_items(counts, 0.8), [F, T, F, T, T])
    # head_share 1 -> all 10 events: every item with an event; item 3 (0 events) stays in the tail
    np.testing.assert_array_equal(long_tail_items(counts, 1.0), [F, F, F, T, F])


def test_long_tail_items_ties_and_no_events() -> None:
    # counts [3, 1, 3, 1], head_share 0.25 -> 2 events: items 0 and 2 tie, the lower index 0 is the head
    np.testing.assert_array_equal(long_tail_items(np.array([3, 1, 3, 1]), 0.25), [F, T, T, T])
    np.testing.assert_array_equal(long_tail_items(np.zeros(3, dtype=np.int64)), [T, T, T])


def test_long_tail_share_by_hand() -> None:
    tail = np.array([F, T, T, T, T])
    lists = np.array([[0, 1, 2], [3, -1, -1], [-1, -1, -1], [0, -1, -1]])
    # [0, 1, 2] -> 2 of 3 in the tail; [3] -> 1 of 1; empty -> NaN; [0] -> 0 of 1
    close(long_tail_share(lists, tail), [2 / 3, 1.0, NAN, 0.0])


# ------------------------------------------------------------------ embedding ILD

# item vectors: 0 (1, 0), 1 (0, 1), 2 (1, 1), 3 zero, 4 (2, 0) same direction as 0, 5 (-1, 0) opposite to 0
VECTORS = np.array([[1, 0], [0, 1], [1, 1], [0, 0], [2, 0], [-1, 0]], dtype=np.float32)
ILD_LISTS = np.array([[0, 1, 2], [0, 4, -1], [3, 0, 5], [2, -1, -1], [-1, -1, -1]])


def test_embedding_ild_by_hand() -> None:
    close(
        embedding_ild(ILD_LISTS, VECTORS),
        [
            0.5285955,  # d01 = 1 - 0 = 1, d02 = d12 = 1 - 1/sqrt(2) = 0.2928932 -> 1.5857864 / 3
            0.0,  # vectors are normalised: 0 and 4 point the same way -> 1 - 1
            1.3333333,  # zero vector: d30 = d35 = 1 - 0; d05 = 1 - (-1) = 2 -> 4 / 3
            NAN,  # one item
            NAN,  # empty list
        ],
    )


def test_embedding_ild_same_result_in_chunks() -> None:
    close(embedding_ild(ILD_LISTS, VECTORS, chunk=2), embedding_ild(ILD_LISTS, VECTORS))


# ------------------------------------------------------------------ calibration


def test_category_distribution_by_hand() -> None:
    rows = csr(
        [
            [1, 1, 0, 0, 0, 0],  # (1 * [1, 0, 0] + 1 * [1/2, 1/2, 0]) / 2 = [3/4, 1/4, 0]
            [0, 0, 2, 5, 1, 0],  # item 3 has no category: (2 * [0, 0, 1] + 1 * [0, 1/2, 1/2]) / 3 = [0, 1/6, 5/6]
            [0, 0, 0, 5, 0, 0],  # only an uncategorised item -> zeros
            [0, 0, 0, 0, 0, 0],  # empty row -> zeros
        ]
    )
    close(
        category_distribution(rows, CATEGORIES),
        [[0.75, 0.25, 0.0], [0.0, 1 / 6, 5 / 6], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]],
    )


def test_miscalibration_by_hand() -> None:
    history = csr(
        [
            [1, 1, 0, 0, 0, 0],  # p = [3/4, 1/4, 0]
            [0, 0, 1, 0, 1, 0],  # p = ([0, 0, 1] + [0, 1/2, 1/2]) / 2 = [0, 1/4, 3/4]
            [0, 0, 0, 1, 0, 0],  # p = 0 -> NaN
            [1, 0, 0, 0, 0, 0],  # p = [1, 0, 0], empty list -> NaN
            [1, 0, 0, 0, 0, 0],  # p = [1, 0, 0]
        ]
    )
    lists = np.array([[1, 2, -1], [2, 4, 3], [0, 1, 2], [-1, -1, -1], [3, -1, -1]])
    close(
        miscalibration(lists, history, CATEGORIES),
        [
            # q = ([1/2, 1/2, 0] + [0, 0, 1]) / 2 = [1/4, 1/4, 1/2]; q~ = 0.99 q + 0.01 p = [0.255, 0.25, 0.495]
            # 3/4 ln(0.75 / 0.255) + 1/4 ln(0.25 / 0.25) = 0.75 * 1.0788097
            0.8091072,
            0.0,  # items 2 and 4 (3 has no category): q = p
            NAN,
            NAN,
            4.6051702,  # only uncategorised items: q = 0, q~ = 0.01 p -> 1 * ln(1 / 0.01) = ln 100
        ],
    )


def test_miscalibration_zero_for_the_history_mix_and_positive_otherwise() -> None:
    rng = np.random.default_rng(7)
    categories = sp.csr_matrix((rng.random((12, 4)) < 0.4).astype(np.float32))
    history = sp.csr_matrix((rng.random((6, 12)) < 0.4).astype(np.float32))
    # a list holding exactly each history row's items (any order) has the history's mix, whatever alpha
    same = np.full((6, 12), -1)
    for row in range(6):
        items = rng.permutation(history[row].indices)
        same[row, : len(items)] = items
    defined = np.asarray((history @ categories).sum(axis=1)).ravel() > 0
    for alpha in (0.01, 0.3):
        close(miscalibration(same, history, categories, alpha)[defined], 0.0, tol=1e-12)
    other = rng.integers(-1, 12, (6, 12))
    assert (miscalibration(other, history, categories)[defined] > -1e-12).all()  # KL divergence >= 0


# ------------------------------------------------------------------ α-NDCG and subtopic recall

# relevant items per list: 0 {0, 1, 2, 5}, 1 {3, 4}, 2 {3} (no category), 3 {2}
RELEVANT = csr([[1, 1, 1, 0, 0, 1], [0, 0, 0, 1, 1, 0], [0, 0, 0, 1, 0, 0], [0, 0, 1, 0, 0, 0]])
RANKED = np.array([[5, 0, 3, 2], [1, 4, 3, -1], [3, 0, -1, -1], [-1, -1, -1, -1]])


def test_alpha_ndcg_by_hand() -> None:
    close(
        alpha_ndcg(RANKED, RELEVANT, CATEGORIES, k=3, alpha=0.5),
        [
            # ranks: 5 {A} -> 1; 0 {A}, A seen once -> 0.5; 3 not relevant -> 0: DCG 1 + 0.5 * 0.6309298 = 1.3154649
            # greedy ideal over {0, 1, 2, 5}: 1 {A, B} gain 2; then 2 {C} gain 1 (0 and 5 give 0.5);
            # then 0 and 5 tie at 0.5 -> 0: 2 + 0.6309298 + 0.5 * 0.5 = 2.8809298
            0.4566112,  # 1.3154649 / 2.8809298
            # 1 not relevant; 4 {B, C} -> 2 at rank 2; 3 relevant, no category -> 0: DCG 2 * 0.6309298
            # ideal: 4 then 3 -> 2
            0.6309298,
            NAN,  # the only relevant item has no category: ideal 0
            0.0,  # empty list, ideal 1 (item 2 {C})
        ],
    )


def test_alpha_ndcg_greedy_ideal_breaks_ties_by_lower_index() -> None:
    # categories A..E: 0 {A, B, E}, 1 {A, B, D}, 2 {B, C, E}, 3 {A, D}; all four relevant, k = 2, α = 0.5
    categories = csr([[1, 1, 0, 0, 1], [1, 1, 0, 1, 0], [0, 1, 1, 0, 1], [1, 0, 0, 1, 0]])
    relevant = csr([[1, 1, 1, 1]])
    # ideal: 0, 1, 2 tie at 3 -> 0; then 1 (1 + 0.5 + 0.5 = 2) ties with 2 -> 1: 3 + 2 * 0.6309298 = 4.2618595
    # the list [2, 1]: 3, then 1 gains 0.5 (B) + 1 (A) + 1 (D) = 2.5: 3 + 2.5 * 0.6309298 = 4.5773244,
    # above the greedy ideal (which would be 4.5773244 had the first tie gone to item 2)
    close(alpha_ndcg(np.array([[2, 1]]), relevant, categories, k=2), [1.0740205])  # 4.5773244 / 4.2618595
    unsorted = sp.csr_matrix((np.ones(4), np.array([3, 2, 1, 0]), np.array([0, 4])), shape=(1, 4))
    close(alpha_ndcg(np.array([[2, 1]]), unsorted, categories, k=2), [1.0740205])  # stored order does not matter


def test_alpha_ndcg_same_result_in_chunks() -> None:
    close(alpha_ndcg(RANKED, RELEVANT, CATEGORIES, 3, chunk=1), alpha_ndcg(RANKED, RELEVANT, CATEGORIES, 3))


def test_alpha_ndcg_is_ndcg_with_one_category_per_item_and_no_penalty() -> None:
    # alpha = 0 and |G_i| = 1: every relevant item gains 1 and the ideal is min(k, |R|) gains of 1
    rng = np.random.default_rng(3)
    n_lists, n_items, k = 8, 15, 5
    categories = sp.csr_matrix(np.eye(3, dtype=np.float32)[rng.integers(0, 3, n_items)])
    relevant = (rng.random((n_lists, n_items)) < 0.3).astype(np.float32)
    relevant[np.arange(n_lists), rng.integers(0, n_items, n_lists)] = 1
    relevant = sp.csr_matrix(relevant)
    lists = np.array([rng.permutation(n_items)[:k] for _ in range(n_lists)])
    lists[0, 3:] = -1
    hits = relevance(lists, np.arange(n_lists), relevant)
    expected = ndcg(hits, np.diff(relevant.indptr))
    close(alpha_ndcg(lists, relevant, categories, k, alpha=0.0), expected, tol=1e-12)


def test_subtopic_recall_by_hand() -> None:
    close(
        subtopic_recall(RANKED, RELEVANT, CATEGORIES, k=3),
        [
            1 / 3,  # relevant categories {A, B, C}; the top 3 hold relevant 5 {A} and 0 {A} (2 is at rank 4)
            1.0,  # relevant {B, C} from item 4; 1 {A, B} in the list is not relevant
            NAN,  # relevant items have no category
            0.0,  # empty list, relevant categories {C}
        ],
    )
    close(subtopic_recall(RANKED, RELEVANT, CATEGORIES, k=4)[0], 2 / 3)  # rank 4 adds 2 {C}: {A, C}


# ------------------------------------------------------------------ surprise


def test_primitive_lists_skip_seen_items() -> None:
    popularity = np.array([3, 5, 5, 0, 2, 1])  # order 1, 2 (tie: lower index first), 0, 4, 5, 3
    seen = csr(
        [
            [0, 0, 0, 0, 1, 0],  # 4 comes right after the first three -> 1, 2, 0
            [1, 0, 1, 0, 0, 0],  # 2 and 0 seen -> 1, 4, 5
            [1, 1, 1, 0, 1, 1],  # only 3 unseen -> 3, then nothing left
            [0, 0, 0, 0, 0, 0],  # nothing seen -> 1, 2, 0
        ]
    )
    np.testing.assert_array_equal(primitive_lists(popularity, seen, 3), [[1, 2, 0], [1, 4, 5], [3, -1, -1], [1, 2, 0]])


EXPECTED = np.array([[1, 2, 0], [1, 4, 5], [3, -1, -1]])
SURPRISE_LISTS = np.array([[1, 3, 4], [5, -1, 2], [-1, -1, -1]])


def test_unexpectedness_by_hand() -> None:
    # [1, 3, 4] vs {1, 2, 0}: 3 and 4 unexpected -> 2/3; [5, 2] vs {1, 4, 5}: 2 -> 1/2; empty -> NaN
    close(unexpectedness(SURPRISE_LISTS, EXPECTED), [2 / 3, 0.5, NAN])


def test_serendipity_by_hand() -> None:
    hits = np.array([[T, T, F], [T, F, T], [F, F, F]])
    # row 0: 1 relevant but expected, 3 relevant and unexpected, 4 not relevant -> 1/3
    # row 1: 5 relevant but expected, 2 relevant and unexpected -> 1 of 2 valid slots
    close(serendipity(SURPRISE_LISTS, hits, EXPECTED), [1 / 3, 0.5, NAN])


# ------------------------------------------------------------------ evaluate_lists

# categories A, B, C for the report case: 0 {A}, 1 {B}, 2 {A, C}, 3 {C}, 4 {B}, 5 {}
TOY_CATEGORIES = csr([[1, 0, 0], [0, 1, 0], [1, 0, 1], [0, 0, 1], [0, 1, 0], [0, 0, 0]])
# vectors: 0 (1, 0), 1 (0, 1), 2 (1, 1), 3 (1, 0), 4 (0, 2), 5 zero
TOY_VECTORS = np.array([[1, 0], [0, 1], [1, 1], [1, 0], [0, 2], [0, 0]], dtype=np.float32)


def toy_case() -> tuple[Interactions, Interactions, np.ndarray, np.ndarray]:
    """4 users, 6 items, k = 3.

    fit:   u0 {0, 1}, u1 {0}, u2 {3}, u3 {0, 3}  -> popularity c = [3, 1, 0, 2, 0, 0]
    truth: u0 {2, 5}, u1 {1, 4}, u2 {4}          (u3 is not evaluated)
    lists: u0 [5, 2, 3], u1 [4, 5, 0], u3 [1, 2, 3] (ignored), u2 none.
    """
    users, items = IdMap(["u0", "u1", "u2", "u3"]), IdMap([f"i{j}" for j in range(6)])
    fit = Interactions.from_arrays(np.array([0, 0, 1, 2, 3, 3]), np.array([0, 1, 0, 3, 0, 3]), users, items)
    truth = Interactions.from_arrays(np.array([0, 0, 1, 1, 2]), np.array([2, 5, 1, 4, 4]), users, items)
    return fit, truth, np.array([[5, 2, 3], [4, 5, 0], [1, 2, 3]]), np.array([0, 1, 3])


def test_evaluate_lists_new_metrics_by_hand() -> None:
    fit, truth, recommended, list_users = toy_case()
    catalog = np.ones(6, dtype=bool)
    result = evaluate_lists(recommended, list_users, fit, truth, catalog, TOY_CATEGORIES, 3, vectors=TOY_VECTORS)
    s = result.summary
    # counts: item 5 twice, 0, 2, 3, 4 once -> p = [1/3, 1/6 x 4]: 1/3 log2 3 + 4/6 log2 6
    close(s["entropy@3"], 2.2516292)
    # 6 events, head 0.2 -> 1.2: item 0 (3 events) alone; u0 [5, 2, 3] all tail, u1 [4, 5, 0] 2 of 3
    close(s["longtail@3"], 0.8333333)  # (1 + 2/3) / 2
    # popularity order 0, 3, 1, 2, 4, 5: expected u0 (seen 0, 1) [3, 2, 4]; u1 (seen 0) [3, 1, 2]
    # unexpected: u0 only 5 -> 1/3; u1 4, 5, 0 -> 1; u2 has no list
    close(s["unexpectedness@3"], 0.6666667)
    # relevant and unexpected: u0 5 (2 is expected) -> 1/3; u1 4 -> 1/3
    close(s["serendipity@3"], 0.3333333)
    # u0: d(5, 2) = d(5, 3) = 1 (zero vector), d(2, 3) = 1 - 1/sqrt(2) -> 2.2928932 / 3; u1: all pairs 1
    close(result.per_user["ild_embedding"], [0.7642977, 1.0, NAN])
    close(s["ild_embedding@3"], 0.8821489)
    # Jaccard: u0 {} {A, C} {C}: 1, 1, 1 - 1/2 -> 2.5 / 3; u1 {B} {} {A}: 1, 1, 1
    close(result.per_user["ild_genre"], [0.8333333, 1.0, NAN])
    close(s["ild_genre@3"], 0.9166667)
    # u0: p = [1/2, 1/2, 0], q = ([1/2, 0, 1/2] + [0, 0, 1]) / 2 = [1/4, 0, 3/4],
    #     q~ = 0.99 q + 0.01 p = [0.2525, 0.005, 0.7425]: 1/2 ln(0.5 / 0.2525) + 1/2 ln(0.5 / 0.005)
    #     = 0.3415984 + 2.3025851
    # u1: p = [1, 0, 0], q = [1/2, 1/2, 0], q~_A = 0.505: ln(1 / 0.505) = 0.6831968; u2 has no list
    close(result.per_user["miscalibration"], [2.6441835, 0.6831968, NAN])
    close(s["miscalibration@3"], 1.6636902)
    # α = 0.5: u0 5 relevant without category (0), 2 {A, C} at rank 2 -> 2 * 0.6309298; ideal 2 then 0
    #          u1 4 {B} at rank 1 -> 1; ideal 1 {B} then 4 {B}: 1 + 0.5 * 0.6309298 = 1.3154649
    #          u2 no list -> 0
    close(result.per_user["alpha_ndcg"], [0.6309298, 0.7601875, 0.0])
    close(s["alpha_ndcg@3"], 0.4637058)
    # relevant categories covered: u0 {A, C} of {A, C}; u1 {B} of {B}; u2 none of {B}
    close(s["subtopic_recall@3"], 0.6666667)
    assert {f"{name}@3" for name in BEYOND} <= set(s)


def test_evaluate_lists_without_side_information() -> None:
    fit, truth, recommended, list_users = toy_case()
    result = evaluate_lists(recommended, list_users, fit, truth, np.ones(6, dtype=bool), None, 3)
    for name in ("ild_genre", "ild_embedding", "miscalibration", "alpha_ndcg", "subtopic_recall"):
        assert np.isnan(result[f"{name}@3"])
        assert name not in result.per_user
    close(result["serendipity@3"], 0.3333333)  # needs no side information
