"""Diversity metrics that need item side information: meaning vectors or category sets.

Lists are `recommended` (int[n_lists, K] item indices, -1 = empty slot); categories are a 0/1 CSR
[n_items, n_categories]. Row r of a per-user matrix (`history`, `relevant`) belongs to list r.

- embedding ILD: mean pairwise cosine distance of the item vectors within a list;
- miscalibration (Steck 2018): KL divergence of the list's category distribution from the history's;
- alpha-NDCG (Clarke et al. 2008) and subtopic recall (Zhai et al. 2003) with categories as subtopics.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from prismrec.data.items import category_distribution
from prismrec.evaluation.accuracy import relevance
from prismrec.evaluation.beyond import pair_mean


def embedding_ild(recommended: np.ndarray, vectors: np.ndarray, chunk: int = 2048) -> np.ndarray:
    """float64[n_lists]: mean pairwise cosine distance 1 - cos(v_i, v_j) over the items of each list.

    Vectors are normalised here; a zero vector has cosine 0 with everything (distance 1). Lists with
    fewer than two items give NaN.

    Args:
        recommended: int[n_lists, K] item indices, -1 = empty slot.
        vectors: float[n_items, d] item vectors.
        chunk: lists scored at once.
    """
    n = len(recommended)
    out = np.full(n, np.nan)
    for start in range(0, n, chunk):
        block = recommended[start : start + chunk]
        valid = block >= 0
        v = np.asarray(vectors[np.where(valid, block, 0)], dtype=np.float64)
        norm = np.linalg.norm(v, axis=2, keepdims=True)
        unit = np.divide(v, norm, out=np.zeros_like(v), where=norm > 0)
        distance = 1.0 - np.einsum("ukd,ujd->ukj", unit, unit)
        out[start : start + chunk] = pair_mean(distance, valid)
    return out


def _list_matrix(recommended: np.ndarray, n_items: int) -> sp.csr_matrix:
    """float64 CSR [n_lists, n_items]: weight 1 per valid slot of each list."""
    valid = recommended >= 0
    rows = np.repeat(np.arange(len(recommended)), valid.sum(axis=1))
    data = np.ones(len(rows))
    return sp.csr_matrix((data, (rows, recommended[valid])), shape=(len(recommended), n_items))


def miscalibration(
    recommended: np.ndarray, history: sp.csr_matrix, categories: sp.csr_matrix, alpha: float = 0.01
) -> np.ndarray:
    """float64[n_lists]: Steck's KL(p || q~) in nats, with q~ = (1 - alpha) q + alpha p.

    p is the category distribution of history row r (its weights as given), q that of list r (each
    valid slot weighs 1); the sum runs over the categories with p_c > 0. 0 means the list has exactly
    the history's category mix; a list of uncategorised items gives log(1/alpha). NaN when the history
    row has no categorised item or the list is empty.

    Args:
        recommended: int[n_lists, K] item indices, -1 = empty slot.
        history: CSR [n_lists, n_items] weights of the items each list's user interacted with.
        categories: 0/1 CSR [n_items, n_categories].
        alpha: share of p mixed into q so that the divergence stays finite.
    """
    p = category_distribution(history, categories)
    q = category_distribution(_list_matrix(recommended, history.shape[1]), categories)
    smoothed = (1 - alpha) * q + alpha * p
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * np.log(p / smoothed), 0.0)
    defined = (p > 0).any(axis=1) & (recommended >= 0).any(axis=1)
    return np.where(defined, terms.sum(axis=1), np.nan)


def _relevant_categories(
    recommended: np.ndarray, relevant: sp.csr_matrix, categories: sp.csr_matrix, k: int
) -> np.ndarray:
    """bool[n_lists, k', n_categories]: J(i_r, c), the item at rank r is relevant and has category c."""
    top = recommended[:, :k]
    hits = relevance(top, np.arange(len(top)), relevant)
    member = categories.toarray() > 0
    return member[np.where(top >= 0, top, 0)] & hits[..., None]


def alpha_ndcg(
    recommended: np.ndarray,
    relevant: sp.csr_matrix,
    categories: sp.csr_matrix,
    k: int,
    alpha: float = 0.5,
    chunk: int = 1024,
) -> np.ndarray:
    """float64[n_lists]: alpha-NDCG@k (Clarke et al. 2008) with item categories as subtopics.

    The gain at rank r is sum_c J(i_r, c) (1 - alpha)^(number of relevant items with category c at
    ranks < r), discounted by 1/log2(r + 1). The ideal is the greedy ranking of the user's relevant
    items (at each rank the largest gain given the items already placed, ties by lower item index), cut
    at k; as the greedy ranking is not always the best one, a list can score above 1. NaN when the
    ideal is 0 (no relevant item has a category).

    Args:
        recommended: int[n_lists, K] item indices, -1 = empty slot.
        relevant: 0/1 CSR [n_lists, n_items]; row r holds the held-out items of list r's user.
        categories: 0/1 CSR [n_items, n_categories].
        k: cut-off.
        alpha: redundancy penalty in [0, 1]; 0 counts every category of every relevant item in full.
        chunk: lists whose ideal ranking is built at once.
    """
    judged = _relevant_categories(recommended, relevant, categories, k)
    before = np.cumsum(judged, axis=1) - judged
    gain = (judged * (1 - alpha) ** before).sum(axis=2)
    dcg = gain @ _discounts(gain.shape[1])
    relevant, member = sp.csr_matrix(relevant), categories.toarray() > 0
    ideal = np.zeros(len(dcg))
    for start in range(0, len(dcg), chunk):
        ideal[start : start + chunk] = _ideal_dcg(relevant[start : start + chunk], member, k, alpha)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(ideal > 0, dcg / ideal, np.nan)


def _discounts(k: int) -> np.ndarray:
    return 1.0 / np.log2(np.arange(2, k + 2))


def _ideal_dcg(relevant: sp.csr_matrix, member: np.ndarray, k: int, alpha: float) -> np.ndarray:
    """float64[n_lists]: alpha-DCG@k of the greedy ideal ranking of each row's relevant items.

    Args:
        relevant: 0/1 CSR [n_lists, n_items].
        member: bool[n_items, n_categories] item categories.
    """
    relevant = relevant.sorted_indices()
    n = relevant.shape[0]
    size = np.diff(relevant.indptr)
    width = int(size.max())
    slot = np.arange(width)
    present = slot[None, :] < size[:, None]
    items = np.zeros((n, width), dtype=np.int64)
    items[present] = relevant.indices
    sets = (member[items] & present[..., None]).astype(np.float64)
    seen = np.zeros((n, member.shape[1]))
    free = present.copy()
    rows = np.arange(n)
    ideal = np.zeros(n)
    for discount in _discounts(k):
        gains = np.where(free, np.einsum("nmc,nc->nm", sets, (1 - alpha) ** seen), -np.inf)
        pick = np.argmax(gains, axis=1)
        chosen = free[rows, pick]
        ideal += np.where(chosen, gains[rows, pick], 0.0) * discount
        seen += sets[rows, pick] * chosen[:, None]
        free[rows, pick] = False
    return ideal


def subtopic_recall(recommended: np.ndarray, relevant: sp.csr_matrix, categories: sp.csr_matrix, k: int) -> np.ndarray:
    """float64[n_lists]: categories covered by the relevant items of the top k over those of all relevant items.

    Subtopic recall (Zhai et al. 2003) with item categories as subtopics; NaN when the user's relevant
    items have no category.

    Args:
        recommended: int[n_lists, K] item indices, -1 = empty slot.
        relevant: 0/1 CSR [n_lists, n_items]; row r holds the held-out items of list r's user.
        categories: 0/1 CSR [n_items, n_categories].
        k: cut-off.
    """
    covered = _relevant_categories(recommended, relevant, categories, k).any(axis=1).sum(axis=1)
    total = np.asarray(((sp.csr_matrix(relevant) @ categories) > 0).sum(axis=1)).ravel()
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(total > 0, covered / total, np.nan)
