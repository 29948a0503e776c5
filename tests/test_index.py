"""The serving vector index: exact and HNSW modes answer with one contract (ids best first, -1/NaN padding).

Behaviour tests run in both modes: "hnsw" forces the graph with a small `hnsw_threshold`. Exact results
are checked against brute-force numpy, HNSW results by recall@10 against exact.
"""

from __future__ import annotations

import numpy as np
import pytest

from prismrec.semantic.index import VectorIndex

DIM = 32
THRESHOLD = {"exact": 1_000_000, "hnsw": 10}


def random_vectors(n: int, seed: int = 0, dim: int = DIM) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)


def brute_force(vectors: np.ndarray, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    scores = (queries / np.linalg.norm(queries, axis=1, keepdims=True)) @ unit.T
    top = np.argsort(-scores, axis=1)[:, :k]
    return top, np.take_along_axis(scores, top, axis=1)


@pytest.fixture(params=["exact", "hnsw"])
def mode(request: pytest.FixtureRequest) -> str:
    return request.param


def make(mode: str, vectors: np.ndarray) -> VectorIndex:
    index = VectorIndex.build(vectors, hnsw_threshold=THRESHOLD[mode])
    assert index.kind == mode
    return index


def test_exact_matches_brute_force() -> None:
    vectors, queries = random_vectors(500), random_vectors(20, seed=1)
    ids, scores = VectorIndex.build(vectors).search(queries, 10)
    expected_ids, expected_scores = brute_force(vectors, queries, 10)
    assert ids.dtype == np.int64 and scores.dtype == np.float32 and ids.shape == (20, 10)
    np.testing.assert_array_equal(ids, expected_ids)
    np.testing.assert_allclose(scores, expected_scores, atol=1e-5)


def test_custom_ids_are_returned() -> None:
    vectors = random_vectors(50)
    ids = np.arange(50, dtype=np.int64) * 10 + 7
    found, _ = VectorIndex.build(vectors, ids).search(vectors[:5], 1)
    np.testing.assert_array_equal(found[:, 0], ids[:5])


def test_hnsw_recall_and_kind_switch() -> None:
    vectors, queries = random_vectors(2000), random_vectors(200, seed=1)
    index = VectorIndex.build(vectors[:49], hnsw_threshold=50)
    assert index.kind == "exact"
    index.upsert(np.array([49]), vectors[49:50])
    assert index.kind == "hnsw" and len(index) == 50
    index.upsert(np.arange(50, 2000), vectors[50:])
    assert len(index) == 2000
    ids, scores = index.search(queries, 10)
    expected, _ = brute_force(vectors, queries, 10)
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(ids.tolist(), expected.tolist(), strict=True)])
    assert recall >= 0.95
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)  # reported cosines are the true ones
    unit_queries = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    np.testing.assert_allclose(scores, np.einsum("qd,qkd->qk", unit_queries, unit[ids]), atol=1e-5)
    assert (np.diff(scores, axis=1) <= 1e-6).all()
    assert VectorIndex.build(vectors, hnsw_threshold=50).kind == "hnsw"


def test_upsert_replaces_vector(mode: str) -> None:
    vectors = random_vectors(200)
    index = make(mode, vectors)
    index.upsert(np.array([7]), -vectors[7:8])
    assert len(index) == 200
    ids, scores = index.search(-vectors[7:8], 1)
    assert ids[0, 0] == 7 and scores[0, 0] == pytest.approx(1.0, abs=1e-5)
    ids, _ = index.search(vectors[7:8], 10)
    assert 7 not in ids[0]


def test_remove_never_returned(mode: str) -> None:
    vectors = random_vectors(200)
    index = make(mode, vectors)
    gone = np.array([3, 50, 199])
    index.remove(np.concatenate([gone, [1000, 3]]))  # unknown and repeated ids are ignored
    assert len(index) == 197
    ids, _ = index.search(vectors[gone], 200)
    assert not np.isin(ids, gone).any()
    assert (ids[:, :197] >= 0).all() and (ids[:, 197:] == -1).all()
    index.upsert(np.array([50]), vectors[50:51])  # back again
    assert len(index) == 198 and index.search(vectors[50:51], 1)[0][0, 0] == 50


def test_exclusion(mode: str) -> None:
    vectors = random_vectors(200)
    index = make(mode, vectors)
    queries = np.arange(20)
    ids, _ = index.search(vectors[queries], 5, exclude=[np.array([q]) for q in queries])
    assert not (ids == queries[:, None]).any()
    expected, _ = brute_force(vectors, vectors[queries], 6)
    np.testing.assert_array_equal(ids[:, :3], expected[:, 1:4])
    ids, _ = index.search(vectors[:1], 200, exclude=[np.arange(150)])
    assert set(ids[0, :50].tolist()) == set(range(150, 200)) and (ids[0, 50:] == -1).all()


def test_padding_when_k_exceeds_live_items(mode: str) -> None:
    vectors = random_vectors(12)
    index = make(mode, vectors)
    index.remove(np.arange(9))
    assert len(index) == 3
    ids, scores = index.search(vectors[:2], 5)
    assert ids.shape == (2, 5) and scores.shape == (2, 5)
    assert (np.sort(ids[:, :3], axis=1) == [9, 10, 11]).all()
    assert (ids[:, 3:] == -1).all() and np.isnan(scores[:, 3:]).all() and np.isfinite(scores[:, :3]).all()
    index.remove(np.arange(12))
    ids, scores = index.search(vectors[:1], 3)
    assert len(index) == 0 and (ids == -1).all() and np.isnan(scores).all()


def test_added_after_build_is_found(mode: str) -> None:
    vectors = random_vectors(300)
    index = make(mode, vectors[:200])
    index.upsert(np.arange(200, 300), vectors[200:])
    assert len(index) == 300
    ids, scores = index.search(vectors[200:], 1)
    np.testing.assert_array_equal(ids[:, 0], np.arange(200, 300))
    np.testing.assert_allclose(scores[:, 0], 1.0, atol=1e-5)


def test_zero_vectors_score_zero(mode: str) -> None:
    vectors = random_vectors(100)
    vectors[5] = 0.0
    index = make(mode, vectors)
    assert len(index) == 100
    ids, scores = index.search(vectors[:1], 100)
    assert scores[0, list(ids[0]).index(5)] == pytest.approx(0.0, abs=1e-6)
    ids, scores = index.search(np.zeros((1, DIM), dtype=np.float32), 3)  # a zero query scores 0 everywhere
    assert (ids >= 0).all() and np.allclose(scores, 0.0)


def test_hnsw_grows_and_reuses_removed_slots() -> None:
    vectors = random_vectors(2600)
    index = VectorIndex.build(vectors[:20], hnsw_threshold=10)
    index.upsert(np.arange(20, 2500), vectors[20:2500])  # beyond the initial capacity
    index.remove(np.arange(10))
    index.upsert(np.arange(2500, 2600), vectors[2500:])  # takes the removed items' slots
    index.upsert(np.arange(5), vectors[:5])  # re-added after their slots were reused
    assert len(index) == 2595
    ids, _ = index.search(vectors[np.r_[0:10, 2500:2600]], 1)
    np.testing.assert_array_equal(ids[:5, 0], np.arange(5))
    assert not np.isin(ids[5:10], np.arange(5, 10)).any()
    np.testing.assert_array_equal(ids[10:, 0], np.arange(2500, 2600))


class FailingQueries:
    """An hnswlib index whose queries fail as on a graph too sparse to yield k live neighbours."""

    def __init__(self, index: object) -> None:
        self.index = index

    def knn_query(self, *args: object, **kwargs: object) -> None:
        raise RuntimeError("Cannot return the results in a contiguous 2D array. Probably ef or M is too small")

    def __getattr__(self, name: str) -> object:
        return getattr(self.index, name)


def test_hnsw_falls_back_to_exact_when_graph_search_fails() -> None:
    vectors = random_vectors(100)
    index = VectorIndex.build(vectors, hnsw_threshold=10)
    index.remove(np.arange(10))
    index._hnsw = FailingQueries(index._hnsw)
    ids, scores = index.search(vectors[10:15], 3, exclude=[np.array([q]) for q in range(10, 15)])
    expected, expected_scores = brute_force(vectors[10:], vectors[10:15], 4)
    np.testing.assert_array_equal(ids, expected[:, 1:] + 10)
    np.testing.assert_allclose(scores, expected_scores[:, 1:], atol=1e-5)


def test_rejects_bad_input() -> None:
    index = VectorIndex(4)
    with pytest.raises(ValueError, match="shape"):
        index.upsert(np.array([0]), np.zeros((1, 3), dtype=np.float32))
    with pytest.raises(ValueError, match="non-negative"):
        index.upsert(np.array([-1]), np.zeros((1, 4), dtype=np.float32))
    with pytest.raises(ValueError, match="NaN"):
        index.upsert(np.array([0]), np.full((1, 4), np.nan, dtype=np.float32))
