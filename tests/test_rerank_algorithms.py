"""The greedy selection functions of `prismrec.rerank` against brute force and answers worked out by hand.

Brute forces recompute each step's objective from scratch with plain numpy/Python (DPP: log det of
the kernel sub-matrix with `slogdet`; calibration: KL(p || q~) of the whole list), so they share
no incremental bookkeeping with the implementations.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from prismrec.data.items import ItemSide, category_distribution
from prismrec.errors import NotFittedError
from prismrec.evaluation.diversity import miscalibration
from prismrec.rerank.adaptive import Adaptive
from prismrec.rerank.base import RerankContext, standardise, unit_interval
from prismrec.rerank.calibrated import CalibratedParams, calibrated_select
from prismrec.rerank.dpp import dpp_select
from prismrec.rerank.inner import RerankerComponent
from prismrec.rerank.mmr import MMR, mmr_select
from prismrec.rerank.proportional import proportional_select
from prismrec.rerank.xquad import xquad_select


def unit_rows(rng: np.random.Generator, m: int, f: int) -> np.ndarray:
    rows = rng.normal(size=(m, f))
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def distinct(picks: np.ndarray, m: int) -> bool:
    return len(set(picks.tolist())) == len(picks) and bool(((picks >= 0) & (picks < m)).all())


# ------------------------------------------------------------------ DPP


def dpp_kernel(features: np.ndarray, quality: np.ndarray, ridge: float) -> np.ndarray:
    """L = diag(q) (F Fᵀ + ridge I) diag(q)."""
    similarity = features @ features.T + ridge * np.eye(len(quality))
    return quality[:, None] * similarity * quality[None, :]


def brute_dpp(kernel: np.ndarray, k: int, window: int = 0) -> tuple[list[int], list[float]]:
    """Greedy MAP by recomputing log det L[C ∪ {i}] for every remaining i at every step.

    C is every chosen item (window 0) or the last window - 1 chosen ones. Returns the picks and, for
    each step, the best determinant ratio det L[C ∪ {i}] / det L[C] (the gain d²).
    """
    m = len(kernel)
    chosen: list[int] = []
    ratios: list[float] = []
    for _ in range(k):
        condition = chosen if window == 0 else chosen[max(0, len(chosen) - (window - 1)) :] if window > 1 else []
        sign, base = np.linalg.slogdet(kernel[np.ix_(condition, condition)]) if condition else (1.0, 0.0)
        best, best_value = -1, -np.inf
        for i in range(m):
            if i in chosen:
                continue
            subset = [*condition, i]
            sign, value = np.linalg.slogdet(kernel[np.ix_(subset, subset)])
            value = value if sign > 0 else -np.inf
            if value > best_value:
                best, best_value = i, value
        chosen.append(best)
        ratios.append(float(np.exp(best_value - base)))
    return chosen, ratios


def random_dpp_case(seed: int) -> tuple[np.ndarray, np.ndarray, int, float]:
    rng = np.random.default_rng(seed)
    m, f = int(rng.integers(30, 61)), int(rng.integers(5, 41))
    features = unit_rows(rng, m, f)
    if seed % 4 == 3:
        features *= rng.uniform(0.5, 1.5, size=(m, 1))  # rows of other lengths: the kernel is still F Fᵀ
    quality = np.exp(rng.normal(0.0, 0.5, size=m))
    k = int(rng.integers(4, 13))
    ridge = float(rng.choice([1e-3, 1e-2, 0.1]))
    return features, quality, k, ridge


@pytest.mark.parametrize("seed", range(20))
def test_dpp_equals_brute_force_greedy(seed: int) -> None:
    features, quality, k, ridge = random_dpp_case(seed)
    expected, ratios = brute_dpp(dpp_kernel(features, quality, ridge), k)
    assert min(ratios) > 1e-6  # every step of this case has a clear positive gain
    picks = dpp_select(features, quality, k, window=0, ridge=ridge)
    assert picks.dtype == np.int64
    assert picks.tolist() == expected


@pytest.mark.parametrize("window", [1, 2, 3, 4])
@pytest.mark.parametrize("seed", range(8))
def test_dpp_sliding_window_equals_brute_force(seed: int, window: int) -> None:
    features, quality, _, ridge = random_dpp_case(100 + seed)
    k = 12  # long enough for the window to slide several times
    expected, _ = brute_dpp(dpp_kernel(features, quality, ridge), k, window)
    assert dpp_select(features, quality, k, window=window, ridge=ridge).tolist() == expected


def test_dpp_window_one_ranks_by_quality_alone() -> None:
    features, quality, _, ridge = random_dpp_case(7)
    diagonal = quality**2 * (np.sum(features**2, axis=1) + ridge)
    expected = np.argsort(-diagonal, kind="stable")[:10]
    np.testing.assert_array_equal(dpp_select(features, quality, 10, window=1, ridge=ridge), expected)


def test_dpp_window_longer_than_the_list_is_the_full_determinant() -> None:
    features, quality, _, ridge = random_dpp_case(11)
    np.testing.assert_array_equal(dpp_select(features, quality, 8, window=9, ridge=ridge),
                                  dpp_select(features, quality, 8, window=0, ridge=ridge))  # fmt: skip


@pytest.mark.parametrize("seed", range(4))
def test_dpp_low_rank_kernel_fills_the_rest_by_candidate_order(seed: int) -> None:
    rng = np.random.default_rng(200 + seed)
    m, f, k = 20, 2, 5
    features = unit_rows(rng, m, f)
    quality = rng.uniform(0.5, 2.0, size=m)
    kernel = dpp_kernel(features, quality, 0.0)  # rank 2: only two items have a positive determinant
    expected, ratios = brute_dpp(kernel, f)
    assert min(ratios) > 1e-3
    # With the two chosen, no candidate adds a direction: every determinant ratio is ~0.
    condition = expected
    base = np.linalg.det(kernel[np.ix_(condition, condition)])
    rest = [np.linalg.det(kernel[np.ix_([*condition, i], [*condition, i])]) / base
            for i in range(m) if i not in condition]  # fmt: skip
    assert max(rest) < 1e-12
    picks = dpp_select(features, quality, k, window=0, ridge=0.0)
    assert distinct(picks, m) and len(picks) == k
    assert picks[:f].tolist() == expected
    remaining = [i for i in range(m) if i not in expected]
    assert picks[f:].tolist() == remaining[: k - f]  # the lowest positions, i.e. the best scores


def test_dpp_identical_items_stay_selectable_with_the_ridge() -> None:
    # Ten copies of one feature row: with the ridge the kernel is full rank and the quality order decides.
    features = np.tile(np.array([[1.0, 0.0]]), (10, 1))
    quality = np.linspace(2.0, 1.0, 10)
    picks = dpp_select(features, quality, 4, ridge=1e-3)
    assert picks.tolist() == brute_dpp(dpp_kernel(features, quality, 1e-3), 4)[0] == [0, 1, 2, 3]


# ------------------------------------------------------------------ MMR


def naive_mmr(features: np.ndarray, relevance: np.ndarray, weight: float, k: int) -> list[int]:
    """Each step: argmax over the rest of (1 - λ) r_i - λ max_{j chosen} cos(i, j) (0 before the first pick)."""
    chosen: list[int] = []
    for _ in range(k):
        best, best_value = -1, -np.inf
        for i in range(len(relevance)):
            if i in chosen:
                continue
            redundancy = max((float(features[i] @ features[j]) for j in chosen), default=0.0)
            value = (1.0 - weight) * relevance[i] - weight * redundancy
            if value > best_value:
                best, best_value = i, value
        chosen.append(best)
    return chosen


@pytest.mark.parametrize("seed", range(15))
def test_mmr_equals_naive_loop(seed: int) -> None:
    rng = np.random.default_rng(300 + seed)
    m, f = int(rng.integers(20, 80)), int(rng.integers(3, 30))
    features = unit_rows(rng, m, f)
    relevance = unit_interval(standardise(rng.normal(size=m)))
    weight = float(rng.uniform(0.05, 0.95))
    k = int(rng.integers(3, 15))
    picks = mmr_select(features, relevance, weight, k)
    assert picks.tolist() == naive_mmr(features, relevance, weight, k)
    assert picks[0] == int(np.argmax(relevance))


def test_mmr_without_diversity_weight_keeps_the_relevance_order() -> None:
    rng = np.random.default_rng(5)
    relevance = rng.random(50)
    picks = mmr_select(unit_rows(rng, 50, 8), relevance, 0.0, 12)
    np.testing.assert_array_equal(picks, np.argsort(-relevance)[:12])


def test_mmr_full_weight_covers_every_direction_before_repeating_one() -> None:
    # 12 candidates over 4 orthogonal directions, the three copies of direction 0 are the most relevant.
    direction = np.array([0, 0, 0, 1, 1, 2, 1, 2, 3, 3, 2, 3])
    features = np.eye(4)[direction]
    relevance = np.linspace(1.0, 0.0, 12)
    for weight in (1.0, 0.9):
        picks = mmr_select(features, relevance, weight, 6)
        assert sorted(direction[picks[:4]].tolist()) == [0, 1, 2, 3]
        # the first copy of each direction (its most relevant one) comes first
        assert picks[:4].tolist() == [0, 3, 5, 8]


# ------------------------------------------------------------------ calibrated (Steck 2018)


def list_kl(target: np.ndarray, shares: np.ndarray, listed: list[int], alpha: float) -> float:
    """KL(p || (1 - α) q + α p) of one list, from scratch.

    q(c) = Σ_{i in list} p(c|i) / (number of listed items with any category), over all categories.
    """
    categorised = [i for i in listed if shares[i].sum() > 0]
    q = shares[categorised].sum(axis=0) / max(len(categorised), 1)
    smoothed = (1.0 - alpha) * q + alpha * target
    support = target > 0
    return float(np.sum(target[support] * np.log(target[support] / smoothed[support])))


def brute_calibrated(shares: np.ndarray, relevance: np.ndarray, target: np.ndarray, lam: float, alpha: float,
                     k: int) -> list[int]:  # fmt: skip
    """Each step: the candidate whose list maximises (1 - λ) Σ r - λ KL, all recomputed from scratch."""
    chosen: list[int] = []
    for _ in range(k):
        best, best_value = -1, -np.inf
        for i in range(len(relevance)):
            if i in chosen:
                continue
            listed = [*chosen, i]
            value = (1.0 - lam) * relevance[listed].sum() - lam * list_kl(target, shares, listed, alpha)
            if value > best_value:
                best, best_value = i, value
        chosen.append(best)
    return chosen


def random_calibrated_case(seed: int, full_support: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    rng = np.random.default_rng(seed)
    m, c = int(rng.integers(20, 50)), int(rng.integers(3, 8))
    membership = rng.random((m, c)) < 0.3
    membership[rng.random(m) < 0.1] = False  # some candidates without categories
    size = membership.sum(axis=1, keepdims=True)
    shares = np.divide(membership, size, out=np.zeros((m, c)), where=size > 0)
    target = rng.dirichlet(np.ones(c))
    if not full_support:
        target[rng.choice(c, size=c // 2, replace=False)] = 0.0  # categories absent from the history
        target /= target.sum()
    relevance = unit_interval(rng.normal(size=m))
    return shares, relevance, target, int(rng.integers(3, 11))


def test_brute_force_kl_agrees_with_the_miscalibration_metric() -> None:
    shares, _, _, _ = random_calibrated_case(0, full_support=False)
    membership = sp.csr_matrix((shares > 0).astype(np.float64))
    weights = np.zeros((1, len(shares)))
    weights[0, [1, 2, 4]] = [0.5, 1.0, 2.0]  # a history over a few items: some categories get p = 0
    history = sp.csr_matrix(weights)
    p = category_distribution(history, membership)[0]
    assert (p == 0).any() and p.sum() == pytest.approx(1.0)
    for listed in ([0, 3, 5, 7], [1, 2], [6, 8, 9, 10, 11]):
        metric = miscalibration(np.array([listed]), history, membership, alpha=0.01)
        np.testing.assert_allclose(list_kl(p, shares, listed, 0.01), metric[0], rtol=1e-9)


@pytest.mark.parametrize("seed", range(12))
def test_calibrated_equals_brute_force(seed: int) -> None:
    shares, relevance, target, k = random_calibrated_case(400 + seed, full_support=True)
    lam = float(np.random.default_rng(seed).uniform(0.1, 0.95))
    params = CalibratedParams(lambda_=lam, alpha=0.01)
    picks = calibrated_select(shares, relevance, target, params, k)
    assert picks.tolist() == brute_calibrated(shares, relevance, target, lam, 0.01, k)


@pytest.mark.parametrize("seed", range(12))
def test_calibrated_equals_brute_force_when_the_history_misses_categories(seed: int) -> None:
    # The usual case: a user's history covers some of the categories only. Steck's q(c|list) spreads
    # every listed item over all its categories, so items of categories outside the history dilute q.
    shares, relevance, target, k = random_calibrated_case(500 + seed, full_support=False)
    lam = float(np.random.default_rng(seed).uniform(0.5, 0.95))
    picks = calibrated_select(shares, relevance, target, CalibratedParams(lambda_=lam, alpha=0.01), k)
    assert picks.tolist() == brute_calibrated(shares, relevance, target, lam, 0.01, k)


def test_calibrated_penalises_categories_absent_from_the_history() -> None:
    # The history is all category A. Candidate 1 is category B only and more relevant than the A items 2, 3.
    shares = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 0.0]])
    relevance = np.array([1.0, 0.9, 0.5, 0.0])
    target = np.array([1.0, 0.0])
    # Lists [0, 1] and [0, 2]: KL 0.683 (q_A = 0.5) against 0, by the project's own metric.
    membership = sp.csr_matrix(shares)
    history = sp.csr_matrix(np.array([[1.0, 0.0, 0.0, 0.0]]))
    kl = miscalibration(np.array([[0, 1], [0, 2]]), sp.vstack([history, history]).tocsr(), membership)
    assert kl[0] > 0.6 and kl[1] == 0.0
    picks = calibrated_select(shares, relevance, target, CalibratedParams(lambda_=0.9), 3)
    assert picks.tolist() == [0, 2, 3]  # 0.1 · 0.4 of relevance does not buy 0.9 · 0.683 of miscalibration


def test_calibrated_without_weight_keeps_the_relevance_order() -> None:
    shares, relevance, target, _ = random_calibrated_case(7, full_support=True)
    picks = calibrated_select(shares, relevance, target, CalibratedParams(lambda_=0.0), 8)
    np.testing.assert_array_equal(picks, np.argsort(-relevance)[:8])


def test_calibrated_balances_a_half_and_half_history() -> None:
    # History 50/50 over A and B; the six most relevant candidates are all A.
    category = np.array([0, 0, 0, 0, 0, 0, 1, 1, 1, 1])
    shares = np.eye(2)[category]
    relevance = np.linspace(1.0, 0.0, 10)
    target = np.array([0.5, 0.5])
    plain = calibrated_select(shares, relevance, target, CalibratedParams(lambda_=0.0), 4)
    assert category[plain].tolist() == [0, 0, 0, 0]
    # Step 1: A or B alone are equally far from 50/50, relevance picks A; step 2: B makes it exact; ...
    picks = calibrated_select(shares, relevance, target, CalibratedParams(lambda_=0.9), 4)
    assert picks.tolist() == [0, 6, 1, 7]


# ------------------------------------------------------------------ xQuAD


def naive_xquad(membership: np.ndarray, relevance: np.ndarray, target: np.ndarray, weight: float, k: int) -> list[int]:
    """Each step: argmax of (1 - λ) r_i + λ Σ_c p_c J(i, c) Π_{j chosen} (1 - J(j, c))."""
    chosen: list[int] = []
    for _ in range(k):
        best, best_value = -1, -np.inf
        for i in range(len(relevance)):
            if i in chosen:
                continue
            coverage = 0.0
            for c in range(len(target)):
                novelty = 1.0
                for j in chosen:
                    novelty *= 1.0 - membership[j, c]
                coverage += target[c] * membership[i, c] * novelty
            value = (1.0 - weight) * relevance[i] + weight * coverage
            if value > best_value:
                best, best_value = i, value
        chosen.append(best)
    return chosen


@pytest.mark.parametrize("seed", range(12))
def test_xquad_equals_naive_loop(seed: int) -> None:
    rng = np.random.default_rng(600 + seed)
    m, c = int(rng.integers(15, 50)), int(rng.integers(2, 10))
    membership = (rng.random((m, c)) < 0.25).astype(np.float64)
    target = rng.dirichlet(np.ones(c))
    target[rng.random(c) < 0.3] = 0.0
    target = target / target.sum() if target.sum() > 0 else target
    relevance = unit_interval(rng.normal(size=m))
    weight, k = float(rng.uniform(0.1, 0.95)), int(rng.integers(3, 12))
    picks = xquad_select(membership, relevance, target, weight, k)
    assert picks.tolist() == naive_xquad(membership, relevance, target, weight, k)


def test_xquad_covers_categories_in_order_of_their_weight() -> None:
    # Candidates by relevance: two of category 2, one of 1, one of 0, then more of 1, 0, 2.
    category = np.array([2, 2, 1, 0, 1, 0, 2])
    membership = np.eye(3)[category]
    relevance = np.linspace(1.0, 0.0, 7)
    target = np.array([0.5, 0.3, 0.2])
    picks = xquad_select(membership, relevance, target, 0.95, 7)
    # 0.95 · 0.1 between the target weights outweighs 0.05 · 1 of relevance: categories 0, 1, 2 first,
    # each by its most relevant item; once all are covered, the rest by relevance.
    assert category[picks[:3]].tolist() == [0, 1, 2]
    assert picks.tolist() == [3, 2, 0, 1, 4, 5, 6]
    # With no target (history without categories) the relevance order stays.
    np.testing.assert_array_equal(xquad_select(membership, relevance, np.zeros(3), 0.95, 7), np.arange(7))


# ------------------------------------------------------------------ PM-2


@pytest.mark.parametrize(("focus", "flat"), [(0.5, True), (1.0, False)])
def test_proportional_splits_the_list_by_interest_weight(focus: float, flat: bool) -> None:
    # 12 candidates tied only to interest 0, 12 only to interest 1, interleaved; weights 0.7 / 0.3.
    rng = np.random.default_rng(9)
    interest = np.tile([0, 1], 12)
    affinity = np.eye(2)[interest]
    relevance = np.ones(24) if flat else rng.uniform(0.5, 1.0, 24)
    picks = proportional_select(affinity, relevance, np.array([0.7, 0.3]), 1.0, focus, 10)
    assert distinct(picks, 24)
    # Sainte-Laguë seats for quotas 7 and 3 over 10 slots: exactly 7 and 3.
    assert np.bincount(interest[picks], minlength=2).tolist() == [7, 3]
    for k in (1, 2, 3):  # quotients 7 > 3, then 7/3 > 3/3 ...: the first seats go A, B, A
        prefix = proportional_select(affinity, relevance, np.array([0.7, 0.3]), 1.0, focus, k)
        assert interest[prefix].tolist() == [0, 1, 0][:k]


def test_proportional_without_weight_keeps_the_relevance_order() -> None:
    rng = np.random.default_rng(10)
    relevance = rng.random(30)
    picks = proportional_select(rng.random((30, 3)), relevance, np.array([0.5, 0.3, 0.2]), 0.0, 0.5, 10)
    np.testing.assert_array_equal(picks, np.argsort(-relevance)[:10])


# ------------------------------------------------------------------ adaptive


N_CATEGORIES = 5


def category_side(n_items: int = 40) -> ItemSide:
    """Item i has category i % 5 (and item 0 a second one, 1)."""
    rows = [*range(n_items), 0]
    cols = [*(i % N_CATEGORIES for i in range(n_items)), 1]
    categories = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n_items, N_CATEGORIES))
    return ItemSide(categories=categories, category_names=tuple("abcde"))


def random_histories(seed: int, n_users: int = 60, n_items: int = 40) -> sp.csr_matrix:
    """Histories from focused (one category) to broad (all categories), with random weights."""
    rng = np.random.default_rng(seed)
    dense = np.zeros((n_users, n_items))
    for user in range(n_users):
        reach = 1 + user % N_CATEGORIES
        pool = [i for i in range(n_items) if i % N_CATEGORIES < reach]
        picked = rng.choice(pool, size=min(len(pool), int(rng.integers(2, 12))), replace=False)
        dense[user, picked] = rng.uniform(0.2, 1.0, len(picked))
    dense[-1] = 0.0  # one user without history
    return sp.csr_matrix(dense)


def history_entropy(history: sp.csr_matrix, side: ItemSide) -> np.ndarray:
    """Entropy of each row's category distribution, with p(c|i) = 1/|categories of i|, computed densely."""
    assert side.categories is not None
    member = side.categories.toarray()
    shares = member / member.sum(axis=1, keepdims=True)
    mass = history.toarray() @ shares
    total = mass.sum(axis=1, keepdims=True)
    p = np.divide(mass, total, out=np.zeros_like(mass), where=total > 0)
    return -np.sum(np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0), axis=1)


def category_mmr() -> RerankerComponent:
    return RerankerComponent("mmr", (("lambda", 0.3), ("similarity", "category")))


def test_adaptive_levels_grow_with_history_breadth() -> None:
    side, history = category_side(), random_histories(0)
    reranker = Adaptive(strength=0.8, inner=category_mmr(), measure="entropy")
    reranker.fit(history, side)
    levels = reranker.levels(history, side)
    entropy = history_entropy(history, side)
    assert levels.shape == (history.shape[0],)
    assert (levels >= 0).all() and (levels <= 0.8 + 1e-12).all()
    order = np.argsort(entropy, kind="stable")
    assert (np.diff(levels[order]) >= -1e-12).all()
    assert levels[order[-1]] == pytest.approx(0.8)  # the broadest training user gets `strength`
    assert levels[np.argmax(entropy)] > levels[np.argmin(entropy[:-1])]  # not all equal
    # Users it never saw are placed on the training distribution the same way.
    new_history = random_histories(1)
    new_levels = reranker.levels(new_history, side)
    new_order = np.argsort(history_entropy(new_history, side), kind="stable")
    assert (np.diff(new_levels[new_order]) >= -1e-12).all()


def random_candidates(seed: int, n: int, n_items: int, m: int) -> tuple[np.ndarray, np.ndarray]:
    """(items int64[n, m], scores float32[n, m]): random distinct candidates, best score first."""
    rng = np.random.default_rng(seed)
    items = np.stack([rng.choice(n_items, size=m, replace=False) for _ in range(n)]).astype(np.int64)
    scores = np.sort(rng.normal(size=(n, m)).astype(np.float32), axis=1)[:, ::-1].copy()
    return items, scores


def test_adaptive_with_zero_strength_keeps_the_score_order() -> None:
    side, history = category_side(), random_histories(2)
    reranker = Adaptive(strength=0.0, inner=category_mmr())
    reranker.fit(history, side)
    assert (reranker.levels(history, side) == 0.0).all()
    items, scores = random_candidates(3, history.shape[0], 40, 20)
    context = RerankContext(side, np.ones(40), history)
    chosen, chosen_scores = reranker.rerank(items, scores, context, 6)
    np.testing.assert_array_equal(chosen, items[:, :6])
    np.testing.assert_array_equal(chosen_scores, scores[:, :6])


def test_adaptive_floor_one_gives_everyone_the_strength() -> None:
    side, history = category_side(), random_histories(4)
    reranker = Adaptive(strength=0.6, floor=1.0, inner=category_mmr())
    reranker.fit(history, side)
    np.testing.assert_allclose(reranker.levels(history, side), 0.6)
    # ... so the lists are those of the inner MMR with its knob 60 % along its range (0 -> 0.9).
    items, scores = random_candidates(5, history.shape[0], 40, 20)
    context = RerankContext(side, np.ones(40), history)

    fixed = MMR(lambda_=0.6 * 0.9, similarity="category")
    np.testing.assert_array_equal(reranker.rerank(items, scores, context, 6)[0],
                                  fixed.rerank(items, scores, context, 6)[0])  # fmt: skip


def test_adaptive_state_round_trip_and_unfitted_error() -> None:
    side, history = category_side(), random_histories(6)
    reranker = Adaptive(strength=0.7, inner=category_mmr())
    with pytest.raises(NotFittedError, match="not fitted"):
        reranker.levels(history, side)
    reranker.fit(history, side)
    state = reranker.state()
    assert set(state) == {"breadth_quantiles"} and (np.diff(state["breadth_quantiles"]) >= 0).all()
    other = Adaptive(strength=0.7, inner=category_mmr())
    other.load_state({name: array.copy() for name, array in state.items()})
    np.testing.assert_array_equal(other.levels(history, side), reranker.levels(history, side))
