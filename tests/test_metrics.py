"""Metric functions against values computed by hand (PROTOCOL.md A.7, A.8 and D).

Discounts used throughout: 1/log2(2) = 1, 1/log2(3) = 0.6309298, 1/log2(4) = 0.5, so the ideal
DCG of 1, 2 and 3 hits is 1, 1.6309298 and 2.1309298.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from prismrec.data.schema import IdMap, Interactions
from prismrec.evaluation.accuracy import average_precision, hit_rate, mrr, ndcg, precision, recall, relevance
from prismrec.evaluation.beyond import (
    average_popularity,
    category_ild,
    coverage,
    exposure_gini,
    gini,
    novelty,
    recommendation_counts,
)
from prismrec.evaluation.rating import mae, rmse
from prismrec.evaluation.report import Evaluation, evaluate_lists, paired_difference

T, F = True, False

# Three users, K = 3:
#   A: hit at rank 2, |test| = 2
#   B: no hit,        |test| = 1
#   C: hits at ranks 1 and 3, |test| = 5 > K
HITS = np.array([[F, T, F], [F, F, F], [T, F, T]])
N_RELEVANT = np.array([2, 1, 5])


def close(actual: np.ndarray | float, expected: list[float] | float, tol: float = 1e-6) -> None:
    np.testing.assert_allclose(actual, expected, rtol=0, atol=tol)


# ------------------------------------------------------------------ accuracy


def test_ndcg_by_hand() -> None:
    close(
        ndcg(HITS, N_RELEVANT),
        [
            0.3868528,  # A: (1/log2 3) / (1 + 1/log2 3) = 0.6309298 / 1.6309298
            0.0,  # B: no hit
            0.7039181,  # C: (1 + 1/log2 4) / ideal of min(K, 5) = 3 hits = 1.5 / 2.1309298
        ],
    )


def test_recall_divides_by_test_size_not_min_k() -> None:
    # A: 1/2; B: 0/1; C: 2/5 (NOT 2/min(3, 5))
    close(recall(HITS, N_RELEVANT), [0.5, 0.0, 0.4])


def test_precision_divides_by_k() -> None:
    # A: 1/3; B: 0/3; C: 2/3
    close(precision(HITS, N_RELEVANT), [1 / 3, 0.0, 2 / 3])


def test_hit_rate() -> None:
    close(hit_rate(HITS, N_RELEVANT), [1.0, 0.0, 1.0])


def test_mrr() -> None:
    # A: first hit at rank 2 -> 1/2; B: none -> 0; C: rank 1 -> 1
    close(mrr(HITS, N_RELEVANT), [0.5, 0.0, 1.0])


def test_average_precision() -> None:
    close(
        average_precision(HITS, N_RELEVANT),
        [
            0.25,  # A: precision@2 = 1/2, divided by min(3, 2) = 2
            0.0,  # B
            0.5555556,  # C: (precision@1 + precision@3) / min(3, 5) = (1 + 2/3) / 3
        ],
    )


def test_relevance_marks_items_in_the_users_test_row() -> None:
    # truth: user 0 -> {1, 3}; user 1 -> {0}; user 2 -> {} (4 items)
    truth = sp.csr_matrix(np.array([[0, 1, 0, 1], [1, 0, 0, 0], [0, 0, 0, 0]], dtype=np.float32))
    recommended = np.array([[3, 0, 1], [1, 2, 0], [0, 1, 2]])
    expected = np.array([[T, F, T], [F, F, T], [F, F, F]])
    np.testing.assert_array_equal(relevance(recommended, np.array([0, 1, 2]), truth), expected)
    # rows may be given in any user order
    np.testing.assert_array_equal(relevance(recommended[::-1], np.array([2, 1, 0]), truth), expected[::-1])


def test_relevance_padding_is_never_a_hit() -> None:
    # user 1's key for slot -1 would be 1 * 4 - 1 = 3, the key of (user 0, item 3): must not match
    truth = sp.csr_matrix(np.array([[0, 0, 0, 1], [0, 0, 1, 0]], dtype=np.float32))
    hits = relevance(np.array([[2, -1, -1]]), np.array([1]), truth)
    np.testing.assert_array_equal(hits, [[T, F, F]])


def test_short_list_padded_with_minus_one() -> None:
    # one list of length 1 at K = 3; truth {0, 2} -> hits [T, F, F], |test| = 2
    truth = sp.csr_matrix(np.array([[1, 0, 1]], dtype=np.float32))
    hits = relevance(np.array([[2, -1, -1]]), np.array([0]), truth)
    n_rel = np.array([2])
    np.testing.assert_array_equal(hits, [[T, F, F]])
    close(precision(hits, n_rel), [1 / 3])  # 1 / K, not 1 / list length
    close(recall(hits, n_rel), [0.5])  # 1 / 2
    close(ndcg(hits, n_rel), [0.6131472])  # 1 / (1 + 1/log2 3)
    close(mrr(hits, n_rel), [1.0])
    close(average_precision(hits, n_rel), [0.5])  # precision@1 = 1, / min(3, 2)


# ------------------------------------------------------------------ beyond accuracy


def test_recommendation_counts_ignore_padding() -> None:
    np.testing.assert_array_equal(recommendation_counts(np.array([[0, 1], [1, -1]]), 4), [1, 2, 0, 0])


def test_coverage() -> None:
    catalog = np.array([T, T, T, T, F])
    close(coverage(np.array([[0, 1], [1, 3]]), catalog), 0.75)  # {0, 1, 3} / 4 catalog items
    close(coverage(np.array([[0, 1], [1, -1]]), catalog), 0.5)  # {0, 1} / 4; -1 is no item
    close(coverage(np.array([[4, 0]]), catalog), 0.25)  # item 4 is outside the catalog: {0} / 4


def test_gini() -> None:
    close(gini(np.array([0, 0, 0, 4])), 0.75)  # (3 * 4) / (4 * 4)
    # [1, 2, 3]: weights 2j - n - 1 = -2, 0, 2 -> (-2 + 0 + 6) / (3 * 6) = 4 / 18
    close(gini(np.array([3, 1, 2])), 0.2222222)
    close(gini(np.array([2, 2, 2])), 0.0)  # perfectly even exposure


def test_gini_all_zero_and_empty() -> None:
    assert gini(np.zeros(5)) == 0.0
    assert gini(np.array([])) == 0.0


def test_exposure_gini_counts_catalog_zeros_and_outside_items() -> None:
    # counts over items 0..3 = [2, 1, 0, 0]; catalog = {0, 1, 2} -> [2, 1, 0] sorted [0, 1, 2]:
    # (-2 * 0 + 0 * 1 + 2 * 2) / (3 * 3) = 4 / 9
    close(exposure_gini(np.array([[0, 1], [0, -1]]), np.array([T, T, T, F])), 0.4444444)
    # counts [1, 0, 0, 1]; catalog {0, 1, 2} plus recommended item 3 -> sorted [0, 0, 1, 1]:
    # weights -3, -1, 1, 3 -> (1 + 3) / (4 * 2) = 0.5
    close(exposure_gini(np.array([[0, 3]]), np.array([T, T, T, F])), 0.5)


def test_average_popularity() -> None:
    counts = np.array([10, 4, 7])
    out = average_popularity(np.array([[0, 1], [2, -1], [-1, -1]]), counts)
    # [0, 1] -> (10 + 4) / 2 = 7; [2] -> 7; empty list -> NaN
    close(out[:2], [7.0, 7.0])
    assert np.isnan(out[2])


def test_novelty_uses_number_of_users() -> None:
    counts = np.array([10, 4, 0])
    out = novelty(np.array([[0, 1], [2, -1], [-1, -1]]), counts, n_users=20)
    # item 0: -log2(10/20) = 1; item 1: -log2(4/20) = log2 5 = 2.3219281;
    # item 2: count 0 -> max(0, 1) = 1 -> -log2(1/20) = log2 20 = 4.3219281
    close(out[:2], [1.6609640, 4.3219281])  # (1 + 2.3219281) / 2; 4.3219281
    assert np.isnan(out[2])


# item categories: 0 {A, B}, 1 {B}, 2 {}, 3 {}
CATEGORIES = sp.csr_matrix(np.array([[1, 1], [0, 1], [0, 0], [0, 0]], dtype=np.float32))


def test_category_ild_jaccard_by_hand() -> None:
    lists = np.array(
        [
            [0, 1, 2],  # d01 = 1 - 1/2 = 0.5, d02 = 1 - 0/2 = 1, d12 = 1 - 0/1 = 1 -> 2.5 / 3
            [2, 3, -1],  # two empty sets -> 0
            [1, 0, -1],  # d = 0.5 (the -1 slot forms no pair)
            [0, -1, -1],  # one item: no pair -> NaN
        ]
    )
    out = category_ild(lists, CATEGORIES)
    close(out[:3], [0.8333333, 0.0, 0.5])
    assert np.isnan(out[3])


def test_category_ild_same_result_in_chunks() -> None:
    lists = np.array([[0, 1, 2], [2, 3, -1], [1, 0, -1], [3, 1, 0]])
    np.testing.assert_allclose(category_ild(lists, CATEGORIES, chunk=1), category_ild(lists, CATEGORIES))


# ------------------------------------------------------------------ rating


def test_mae_rmse_with_clipping() -> None:
    predicted, actual = np.array([6.0, 2.0, 0.5]), np.array([5.0, 3.0, 1.0])
    # clipped to [1, 5]: [5, 2, 1] - [5, 3, 1] = [0, -1, 0]
    close(mae(predicted, actual, (1.0, 5.0)), 0.3333333)  # 1 / 3
    close(rmse(predicted, actual, (1.0, 5.0)), 0.5773503)  # sqrt(1 / 3)


def test_mae_rmse_without_clipping() -> None:
    predicted, actual = np.array([6.0, 2.0, 0.5]), np.array([5.0, 3.0, 1.0])
    # errors [1, -1, -0.5]
    close(mae(predicted, actual), 0.8333333)  # 2.5 / 3
    close(rmse(predicted, actual), 0.8660254)  # sqrt((1 + 1 + 0.25) / 3) = sqrt(0.75)


# ------------------------------------------------------------------ evaluate_lists


# item categories for the toy case: 0 {A, B}, 1 {B}, 2 {}, 3 {A}, 4 {B}, 5 {}
TOY_CATEGORIES = sp.csr_matrix(np.array([[1, 1], [0, 1], [0, 0], [1, 0], [0, 1], [0, 0]], dtype=np.float32))
TOY_CATALOG = np.array([T, T, T, T, F, T])  # item 4 is outside the catalogue


def toy_case() -> tuple[Interactions, Interactions, np.ndarray, np.ndarray]:
    """4 users, 6 items.

    fit:   u0 {0, 1}, u1 {0}, u2 {3}, u3 {0, 3}  -> popularity c = [3, 1, 0, 2, 0, 0], |U| = 4
    truth: u0 {2, 3}, u1 {1, 5}, u2 {4}         (u3 has no test events: not evaluated)
    lists: u0 [4, 2, 3], u1 [1, 0, -1] (short; item 0 is a train leak), u3 [5, 4, 1] (ignored), u2 none.
    """
    users, items = IdMap(["u0", "u1", "u2", "u3"]), IdMap([f"i{j}" for j in range(6)])
    fit = Interactions.from_arrays(np.array([0, 0, 1, 2, 3, 3]), np.array([0, 1, 0, 3, 0, 3]), users, items)
    truth = Interactions.from_arrays(np.array([0, 0, 1, 1, 2]), np.array([2, 3, 1, 5, 4]), users, items)
    recommended = np.array([[4, 2, 3], [1, 0, -1], [5, 4, 1]])
    return fit, truth, recommended, np.array([0, 1, 3])


def test_evaluate_lists_accuracy_by_hand() -> None:
    fit, truth, recommended, list_users = toy_case()
    result = evaluate_lists(recommended, list_users, fit, truth, TOY_CATALOG, TOY_CATEGORIES, k=3)
    np.testing.assert_array_equal(result.users, [0, 1, 2])
    # per user (K = 3):
    #   u0 hits [F, T, T], |test| 2: ndcg (0.6309298 + 0.5) / 1.6309298 = 0.6934264, recall 2/2, prec 2/3,
    #      hr 1, mrr 1/2, map (1/2 + 2/3) / 2 = 0.5833333
    #   u1 hits [T, F, F], |test| 2: ndcg 1 / 1.6309298 = 0.6131472, recall 1/2, prec 1/3, hr 1, mrr 1,
    #      map (1/1) / 2 = 0.5
    #   u2 no list, |test| 1: every metric 0
    close(result.per_user["ndcg"], [0.6934264, 0.6131472, 0.0])
    close(result.per_user["map"], [0.5833333, 0.5, 0.0])
    s = result.summary
    close(s["ndcg@3"], 0.4355245)  # (0.6934264 + 0.6131472 + 0) / 3
    close(s["recall@3"], 0.5)  # (1 + 0.5 + 0) / 3
    close(s["precision@3"], 0.3333333)  # (2/3 + 1/3 + 0) / 3
    close(s["hr@3"], 0.6666667)  # (1 + 1 + 0) / 3
    close(s["mrr@3"], 0.5)  # (0.5 + 1 + 0) / 3
    close(s["map@3"], 0.3611111)  # (0.5833333 + 0.5 + 0) / 3
    close(s["hr@3_se"], 0.3333333)  # std([1, 1, 0], ddof=1) / sqrt(3) = 0.5773503 / 1.7320508
    close(s["ndcg@3_se"], 0.2189919)  # std([0.6934264, 0.6131472, 0], ddof=1) / sqrt(3)


def test_evaluate_lists_beyond_accuracy_by_hand() -> None:
    fit, truth, recommended, list_users = toy_case()
    s = evaluate_lists(recommended, list_users, fit, truth, TOY_CATALOG, TOY_CATEGORIES, k=3).summary
    # lists scored: u0 [4, 2, 3], u1 [1, 0]; recommendation counts per item = [1, 1, 1, 1, 1, 0]
    close(s["coverage@3"], 0.8)  # {0, 1, 2, 3} of the 5 catalogue items (4 is outside) = 4 / 5
    # catalogue items plus item 4: counts sorted [0, 1, 1, 1, 1, 1], weights -5, -3, -1, 1, 3, 5
    close(s["gini@3"], 0.1666667)  # (-3 - 1 + 1 + 3 + 5) / (6 * 5) = 5 / 30
    close(s["avgpop@3"], 1.3333333)  # u0 (0 + 0 + 2) / 3 = 2/3, u1 (1 + 3) / 2 = 2 -> (2/3 + 2) / 2
    # novelty, |U| = 4: u0 items c = 0, 0, 2 -> (2 + 2 + 1) / 3 = 1.6666667;
    # u1 c = 1, 3 -> (2 + 0.4150375) / 2 = 1.2075187  (-log2(3/4) = 0.4150375)
    close(s["novelty@3"], 1.4370927)  # (1.6666667 + 1.2075187) / 2
    # ILD: u0 {B},{},{A} -> all three pairs at distance 1 -> 1; u1 {B},{A,B} -> 1 - 1/2 = 0.5
    close(s["ild_genre@3"], 0.75)
    assert s["train_leaks"] == 1  # u1's item 0
    assert s["n_short_lists"] == 2  # u1 (2 items) and u2 (none)
    assert s["n_users_with_list"] == 2
    assert s["n_eval_users"] == 3
    assert s["unknown_items"] == 1  # item 4


def test_evaluate_lists_without_categories_gives_nan_ild() -> None:
    fit, truth, recommended, list_users = toy_case()
    s = evaluate_lists(recommended, list_users, fit, truth, TOY_CATALOG, None, k=3).summary
    assert np.isnan(s["ild_genre@3"])


# ------------------------------------------------------------------ paired difference


def evaluation(ndcg_values: list[float], users: list[int]) -> Evaluation:
    return Evaluation(3, np.array(users), {"ndcg": np.array(ndcg_values)}, {})


def test_paired_difference_by_hand() -> None:
    a = evaluation([0.5, 0.2, 0.9], [0, 1, 2])
    b = evaluation([0.3, 0.4, 0.1], [0, 1, 2])
    result = paired_difference(a, b, "ndcg")
    assert result.metric == "ndcg@3"
    # d = [0.2, -0.2, 0.8]: mean 0.8 / 3 = 0.2666667;
    # deviations -0.0666667, -0.4666667, 0.5333333 -> var (0.0044444 + 0.2177778 + 0.2844444) / 2 = 0.2533333
    # se = sqrt(0.2533333) / sqrt(3) = 0.5033223 / 1.7320508 = 0.2905933
    close(result.diff, 0.2666667)
    close(result.se, 0.2905933)
    close(result.ci95, (-0.3028961, 0.8362295))  # 0.2666667 -/+ 1.96 * 0.2905933


def test_paired_difference_from_evaluate_lists() -> None:
    fit, truth, recommended, list_users = toy_case()
    a = evaluate_lists(recommended, list_users, fit, truth, TOY_CATALOG, None, k=3)
    b = evaluate_lists(recommended[:1], list_users[:1], fit, truth, TOY_CATALOG, None, k=3)  # only u0's list
    result = paired_difference(a, b, "recall")
    # per-user recall a = [1, 0.5, 0], b = [1, 0, 0] -> d = [0, 0.5, 0]: mean 1/6, se = 0.2886751 / 1.7320508
    close(result.diff, 0.1666667)
    close(result.se, 0.1666667)


def test_paired_difference_needs_same_users() -> None:
    with pytest.raises(ValueError, match="same evaluated users"):
        paired_difference(evaluation([0.1, 0.2], [0, 1]), evaluation([0.1, 0.2], [0, 2]))
