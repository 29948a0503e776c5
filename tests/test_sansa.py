"""SANSA: the sparse approximate EASE reproduces EASE when nothing is pruned, and degrades gracefully."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from prismrec.core.config import PipelineConfig
from prismrec.core.persistence import load_pipeline, save_pipeline
from prismrec.core.request import RecommendRequest
from prismrec.models import scorer_class
from prismrec.models.memory import DataShape
from prismrec.models.sansa import approximate_inverse, keep_largest, pruned_gram


def random_log(n_users: int = 300, n_items: int = 120, density: float = 0.05, seed: int = 0) -> sp.csr_matrix:
    rng = np.random.default_rng(seed)
    matrix = sp.random(n_users, n_items, density=density, random_state=rng, format="csr", dtype=np.float32)
    matrix.data[:] = 1.0
    return matrix


def test_unpruned_sansa_equals_ease() -> None:
    history = random_log()
    exact = {"neighbours": 1000, "inverse_entries": 1000, "drop_tol": 0.0, "fill_factor": 100.0, "iterations": 8,
             "lambda": 50.0}
    sansa = scorer_class("sansa")(**{k.replace("lambda", "lambda_"): v for k, v in exact.items()})
    sansa.fit_matrix(history)
    ease = scorer_class("ease")(lambda_=50.0).fit_matrix(history)
    users = np.arange(history.shape[0])
    np.testing.assert_allclose(sansa.score(users), ease.score(users), atol=2e-4)


def test_pruned_gram_keeps_the_largest_and_stays_positive_definite() -> None:
    history = random_log(density=0.15)
    full = (history.T @ history).toarray().astype(np.float64)
    gram = pruned_gram(history, 10).toarray()
    off = full - np.diag(np.diag(full))
    for column in range(0, 120, 17):
        kept = np.flatnonzero(gram[:, column] * (np.arange(120) != column))
        assert len(kept) >= min(10, np.count_nonzero(off[:, column]))
        assert gram[column, column] >= full[column, column]  # compensated diagonal
    assert np.allclose(gram, gram.T) and np.linalg.eigvalsh(gram).min() > -1e-8


def test_inverse_factor_converges() -> None:
    rng = np.random.default_rng(1)
    strict = np.tril(rng.normal(0, 0.3, (40, 40)), -1) * (rng.random((40, 40)) < 0.2)
    lower = sp.csc_matrix(np.eye(40) + strict)
    inverse = approximate_inverse(lower, 40, 6).toarray()
    np.testing.assert_allclose(inverse @ lower.toarray(), np.eye(40), atol=1e-8)
    pruned = keep_largest(sp.csc_matrix(inverse), 3)
    assert (np.diff(pruned.indptr) <= 3).all() and np.allclose(pruned.diagonal(), 1.0)


def test_explanations_are_exact_for_sansa() -> None:
    history = random_log(seed=4)
    sansa = scorer_class("sansa")(neighbours=30, inverse_entries=30).fit_matrix(history)
    row = history[3]
    items = np.arange(20)
    contribution = sansa.attribute(3, row, items)
    full = sansa.score(np.array([3]), row)[0, items]
    for j, item in enumerate(row.indices):
        without = row.copy()
        without.data[j] = 0.0
        without.eliminate_zeros()
        drop = full - sansa.score(np.array([3]), without)[0, items]
        np.testing.assert_allclose(contribution[:, j], drop, atol=1e-4, err_msg=f"history item {item}")


def test_save_load_and_memory_estimate(tmp_path: Path) -> None:
    from prismrec.data.schema import IdMap, Interactions

    history = random_log(seed=5).tocoo()
    log = Interactions(history.row.astype(np.int64), history.col.astype(np.int64), np.ones(history.nnz, np.float32),
                       np.arange(history.nnz, dtype=np.float64), IdMap([f"u{i}" for i in range(300)]),
                       IdMap([f"i{i}" for i in range(120)]))  # fmt: skip
    fitted = PipelineConfig.for_model("sansa", {"neighbours": 40}).fit(log)
    save_pipeline(fitted, tmp_path / "m")
    loaded = load_pipeline(tmp_path / "m")
    request = RecommendRequest.for_users(np.arange(300), k=10)
    assert np.array_equal(fitted.recommend(request).items, loaded.recommend(request).items)
    big = DataShape(1_000_000, 500_000, 50_000_000, 10**10)
    assert scorer_class("sansa")().peak_bytes(big) < scorer_class("ease")().peak_bytes(big) / 100


@pytest.mark.parametrize("bad", [{"lambda": 0.0}, {"neighbours": 0}, {"iterations": 11}])
def test_bad_parameters(bad: dict) -> None:
    from prismrec.errors import ConfigError

    with pytest.raises(ConfigError):
        PipelineConfig.for_model("sansa", bad)


def test_pruned_scoring_matrix_keeps_each_rows_largest_weights() -> None:
    history = random_log(density=0.12, seed=6)
    exact = scorer_class("sansa")(neighbours=60, inverse_entries=60, score_entries=0).fit_matrix(history)
    n = history.shape[1]
    full = exact.item_relation(np.arange(n), np.arange(n))  # B from the factors, zero diagonal
    assert np.allclose(np.diag(full), 0.0, atol=1e-5)
    pruned = scorer_class("sansa")(neighbours=60, inverse_entries=60, score_entries=7).fit_matrix(history)
    weights = pruned.weights.toarray()
    assert (np.diff(pruned.weights.indptr) <= 7).all()
    for row in range(0, n, 11):
        kept = np.flatnonzero(weights[row])
        largest = np.sort(np.abs(full[row]))[::-1]
        assert np.allclose(np.sort(np.abs(weights[row, kept]))[::-1], largest[: len(kept)], rtol=1e-4)
        np.testing.assert_allclose(weights[row, kept], full[row, kept], rtol=1e-4, atol=1e-6)
    whole = scorer_class("sansa")(neighbours=60, inverse_entries=60, score_entries=n).fit_matrix(history)
    users = np.arange(history.shape[0])
    np.testing.assert_allclose(whole.score(users), exact.score(users), atol=1e-5)


def test_pruned_scoring_ranks_from_sparse_scores_as_from_dense(tmp_path: Path) -> None:
    from prismrec.core.ranking import sparse_top_k, top_k

    history = random_log(density=0.08, seed=7)
    sansa = scorer_class("sansa")(neighbours=40, inverse_entries=40, score_entries=60).fit_matrix(history)
    users = np.arange(history.shape[0])
    dense = sansa.score(users)
    sparse = sansa.sparse_scores(users, history)
    np.testing.assert_allclose(sparse.toarray(), dense, atol=1e-6)
    assert (sparse.data < 0).any()  # negative weights are ranked below the unstored zeros
    masked = dense.copy()
    masked[history.toarray() > 0] = -np.inf
    items, _ = sparse_top_k(sparse, 10, seen=history)
    np.testing.assert_array_equal(items, top_k(masked, 10)[0])
    assert "weights.data" in sansa.state() and "inverse.data" not in sansa.state()
    restored = scorer_class("sansa")(score_entries=60).restore(sansa.state(), history, None)
    np.testing.assert_allclose(restored.score(users), dense)
