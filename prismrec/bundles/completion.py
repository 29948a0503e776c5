"""Evaluating bundle generation: bundle completion and intent→bundle on held-out crowd bundles.

Protocol (written for the bundlerec domains, usable on any dataset with bundles):

- Split: a permutation of the bundle indices seeded by `seed`; the first `test_share` (20 %) of it are test
  bundles when they hold ≥ 2 items, every other bundle is a train bundle. Every statistic a method uses
  (item co-occurrence, popularity = number of train bundles holding the item, the item graph's bundle
  attributes, the intents of the bundles near an intent) comes from the train bundles only. The user–item
  log is not used: bundlerec's `user_item.csv` is the union of the items of the bundles users bought, so it
  contains the test bundles. Tuning uses the same split once more inside the train bundles (fit / validation).
- Completion: for each test bundle, its items are permuted by a generator seeded by (seed, bundle index);
  the first item is the seed item, the others are hidden. A method returns K items (never the seed);
  recall@K = |hidden ∩ returned| / |hidden| and hit@K = 1 when at least one hidden item is returned.
- Intent→bundle: for each test bundle with a non-empty intent, a method returns K items from the intent text
  alone; recall@K and hit@K are over all the bundle's items.

Every method is asked once for max(ks) items; the metric at a smaller K reads the first K of them (a
generated bundle is built item by item, so its first K items are the K-item bundle).

Baselines: popularity; co-occurrence with the seed in train bundles (popularity breaks ties); the seed's
semantic nearest neighbours (cosine of item vectors); for intents, `ItemSearch` (BM25 + dense, fused) and the
items nearest to the intent's vector.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from prismrec.bundles.generate import BundleGenerator, GenerateParams
from prismrec.core.ranking import top_k
from prismrec.search.searcher import ItemSearch, SearchParams
from prismrec.semantic.encoder import TextEncoder

KS = (5, 10)
TEST_SHARE = 0.2


@dataclass(frozen=True)
class BundleSplit:
    """Bundle indices (int64, sorted) whose statistics may be used (`train`) and those evaluated (`test`)."""

    train: np.ndarray
    test: np.ndarray


@dataclass(frozen=True)
class Case:
    """One evaluated bundle.

    Attributes:
        bundle: the bundle index.
        seeds: int64[s] items given to the method (empty for intents).
        hidden: int64[h] items the method should return.
        intent: the bundle's intent text ("" when it has none).
    """

    bundle: int
    seeds: np.ndarray
    hidden: np.ndarray
    intent: str


@dataclass(frozen=True)
class PerBundle:
    """Per-case metrics of one method, in case order (for paired comparisons).

    Attributes:
        bundles: int64[n] bundle index of every case.
        recall: K -> float64[n] recall@K.
        hit: K -> float64[n] hit@K (0 or 1).
    """

    bundles: np.ndarray
    recall: dict[int, np.ndarray]
    hit: dict[int, np.ndarray]


# A method answers a case with at most k item indices (int64, best first).
Method = Callable[[Case, int], np.ndarray]


def split_bundles(
    membership: sp.spmatrix, bundles: np.ndarray | None = None, test_share: float = TEST_SHARE, seed: int = 0
) -> BundleSplit:
    """Seeded train / test split of `bundles` (default: every row of `membership`, [n_bundles, n_items]).

    The first round(test_share · n) bundles of a seeded permutation are test bundles when they hold ≥ 2
    items; all the others (including too-small ones drawn for test) are train bundles.
    """
    pool = np.arange(membership.shape[0], dtype=np.int64) if bundles is None else np.asarray(bundles, np.int64)
    order = np.random.default_rng(seed).permutation(pool)
    drawn = order[: round(test_share * len(pool))]
    sizes = np.diff(sp.csr_matrix(membership).indptr)
    test = drawn[sizes[drawn] >= 2]
    return BundleSplit(np.sort(np.setdiff1d(pool, test)), np.sort(test))


def completion_cases(
    membership: sp.spmatrix, bundles: np.ndarray, names: Sequence[str] = (), seed: int = 0
) -> list[Case]:
    """One case per bundle (≥ 2 items): a seeded random item as the seed, the other items hidden."""
    rows = sp.csr_matrix(membership)
    cases = []
    for bundle in np.asarray(bundles, dtype=np.int64):
        items = np.sort(rows.indices[rows.indptr[bundle] : rows.indptr[bundle + 1]]).astype(np.int64)
        if len(items) < 2:
            continue
        order = np.random.default_rng([seed, int(bundle)]).permutation(items)
        cases.append(Case(int(bundle), order[:1], np.sort(order[1:]), _name(names, int(bundle))))
    return cases


def intent_cases(membership: sp.spmatrix, bundles: np.ndarray, names: Sequence[str]) -> list[Case]:
    """One case per bundle with a non-empty intent and at least one item: all its items hidden."""
    rows = sp.csr_matrix(membership)
    cases = []
    for bundle in np.asarray(bundles, dtype=np.int64):
        items = np.sort(rows.indices[rows.indptr[bundle] : rows.indptr[bundle + 1]]).astype(np.int64)
        intent = _name(names, int(bundle))
        if intent and len(items):
            cases.append(Case(int(bundle), np.zeros(0, dtype=np.int64), items, intent))
    return cases


def recall_and_hit(returned: np.ndarray, hidden: np.ndarray, k: int) -> tuple[float, float]:
    """(recall@k, hit@k) of one case: the first k returned items against the hidden ones."""
    found = len(np.intersect1d(np.asarray(returned, dtype=np.int64)[:k], hidden))
    return found / len(hidden), float(found > 0)


def evaluate(method: Method, cases: Sequence[Case], ks: Sequence[int] = KS) -> PerBundle:
    """Ask `method` for max(ks) items per case and score recall@K and hit@K for every K of `ks`."""
    depth = max(ks)
    recall = {k: np.zeros(len(cases)) for k in ks}
    hit = {k: np.zeros(len(cases)) for k in ks}
    for row, case in enumerate(cases):
        returned = np.asarray(method(case, depth), dtype=np.int64)
        if np.isin(returned, case.seeds).any():
            raise ValueError(f"a method returned a seed item for bundle {case.bundle}")
        for k in ks:
            recall[k][row], hit[k][row] = recall_and_hit(returned, case.hidden, k)
    return PerBundle(np.asarray([c.bundle for c in cases], dtype=np.int64), recall, hit)


# ----------------------------------------------------------------------------- methods


def generator_method(generator: BundleGenerator, params: GenerateParams | None = None) -> Method:
    """The generator: `from_items(seeds)` for completion cases, `from_intent(intent)` for intent cases."""

    def method(case: Case, k: int) -> np.ndarray:
        if len(case.seeds):
            return generator.from_items(case.seeds, k, params).items
        return generator.from_intent(case.intent, k, params).items

    return method


def popularity_method(popularity: np.ndarray) -> Method:
    """The k items in most train bundles (float64[n_items] counts), seeds excluded, ties by lower index."""
    scores = np.asarray(popularity, dtype=np.float64)

    def method(case: Case, k: int) -> np.ndarray:
        return _best(scores, case.seeds, k)

    return method


def cooccurrence_method(cooccurrence: sp.csr_matrix, popularity: np.ndarray) -> Method:
    """Items in most train bundles with the seeds (float32 CSR [n_items, n_items] counts); popularity breaks ties."""
    popularity = np.asarray(popularity, dtype=np.float64)
    tie_break = popularity / (popularity.max() + 1.0)  # < 1: never outweighs one co-occurrence

    def method(case: Case, k: int) -> np.ndarray:
        counts = np.asarray(cooccurrence[case.seeds].sum(axis=0), dtype=np.float64).ravel()
        return _best(counts + tie_break, case.seeds, k)

    return method


def semantic_method(vectors: np.ndarray) -> Method:
    """Items nearest to the mean of the seeds' unit vectors (float32[n_items, d])."""

    def method(case: Case, k: int) -> np.ndarray:
        return _best((vectors @ vectors[case.seeds].mean(axis=0)).astype(np.float64), case.seeds, k)

    return method


def search_method(search: ItemSearch, params: SearchParams | None = None) -> Method:
    """The first page of `ItemSearch.search(intent)` (fused BM25 + dense by default)."""

    def method(case: Case, k: int) -> np.ndarray:
        return search.search(case.intent, k, params).items

    return method


def dense_method(vectors: np.ndarray, encoder: TextEncoder) -> Method:
    """Items nearest to the intent's vector (float32[n_items, d] unit item vectors from `encoder`)."""

    def method(case: Case, k: int) -> np.ndarray:
        query = np.asarray(encoder.encode([case.intent]), dtype=np.float32)[0]
        return _best((vectors @ query).astype(np.float64), case.seeds, k)

    return method


def _best(scores: np.ndarray, excluded: np.ndarray, k: int) -> np.ndarray:
    """int64[k] highest-scored items not in `excluded`, ties by lower index."""
    masked = scores.copy()
    masked[excluded] = -np.inf
    items, _ = top_k(masked[None, :], k)
    return items[0][items[0] >= 0]


def _name(names: Sequence[str], bundle: int) -> str:
    return " ".join(str(names[bundle]).split()) if bundle < len(names) else ""
