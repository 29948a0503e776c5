"""Batch recommendation: user blocks on several processes give the same lists as one call; streamed output."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from typer.testing import CliRunner

from prismrec.cli import app
from prismrec.core.batch import recommend_blocks
from prismrec.core.config import PipelineConfig
from prismrec.core.persistence import save_pipeline
from prismrec.core.request import RecommendRequest
from prismrec.data.registry import load_dataset
from prismrec.data.schema import Dataset


@pytest.fixture(scope="module")
def ml100k() -> Dataset:
    return load_dataset("ml-100k")


@pytest.mark.parametrize("model", ["itemknn", "als"])
def test_blocks_on_two_workers_equal_one_call(ml100k: Dataset, model: str) -> None:
    pipeline = PipelineConfig.for_model(model).fit(ml100k.interactions)
    users = np.arange(len(pipeline.user_ids))
    whole = pipeline.recommend(RecommendRequest.for_users(users, k=10))
    parts = list(recommend_blocks(pipeline, users, 10, workers=2, block=100))
    assert [len(block) for block, _ in parts] == [100] * 9 + [43]
    assert np.array_equal(np.concatenate([block for block, _ in parts]), users)
    assert np.array_equal(np.vstack([r.items for _, r in parts]), whole.items)
    assert np.allclose(np.vstack([r.scores for _, r in parts]), whole.scores)


def test_explained_blocks_keep_reasons(ml100k: Dataset) -> None:
    pipeline = PipelineConfig.for_model("ease").fit(ml100k.interactions)
    users = np.arange(250)
    whole = pipeline.recommend(RecommendRequest.for_users(users, k=5, explain=True))
    parts = list(recommend_blocks(pipeline, users, 5, workers=2, block=64, explain=True))
    assert [reason for _, r in parts for reason in (r.reasons or [])] == whole.reasons


def test_cli_all_users_streams_csv_and_parquet(ml100k: Dataset, tmp_path: Path) -> None:
    folder = tmp_path / "model"
    save_pipeline(PipelineConfig.for_model("itemknn").fit(ml100k.interactions), folder)
    runner = CliRunner()
    outputs = {}
    for name, options in {"one.csv": ["--workers", "1"], "two.csv": ["--workers", "2"],
                          "two.parquet": ["--workers", "2"]}.items():  # fmt: skip
        result = runner.invoke(app, ["recommend", "--model", str(folder), "--all-users", "-k", "10",
                                     "--out", str(tmp_path / name), *options])  # fmt: skip
        assert result.exit_code == 0, result.output
        assert f"wrote 9430 rows for 943 users to {tmp_path / name}" in result.output
        outputs[name] = pd.read_parquet(tmp_path / name) if name.endswith("parquet") else pd.read_csv(
            tmp_path / name, dtype={"user_id": str, "item_id": str})  # fmt: skip
    pd.testing.assert_frame_equal(outputs["one.csv"], outputs["two.csv"])
    pd.testing.assert_frame_equal(outputs["two.csv"], outputs["two.parquet"], check_dtype=False)
    assert list(outputs["one.csv"].columns) == ["user_id", "item_id", "rank", "score"]
    bad = runner.invoke(app, ["recommend", "--model", str(folder), "--all-users", "--format", "xlsx"])
    assert bad.exit_code == 1 and "--format must be csv or parquet" in bad.output
    stdout = runner.invoke(app, ["recommend", "--model", str(folder), "--all-users", "-k", "2", "--workers", "2"])
    assert stdout.exit_code == 0 and stdout.output.count("\n") == 1 + 2 * 943


@pytest.mark.parametrize("options", [{}, {"exclude_seen": False}, {"k": 300}])
def test_sparse_ranking_equals_dense(ml100k: Dataset, monkeypatch: pytest.MonkeyPatch, options: dict) -> None:
    """item-kNN ranks from its sparse scores; the lists equal the dense path's, masks and cold rows included."""
    pipeline = PipelineConfig.for_model("itemknn", {"neighbours": 30}).fit(ml100k.interactions)
    rng = np.random.default_rng(0)
    history = pipeline.history[:200].tolil()
    history[5] = 0  # a row without history: popularity
    candidates = rng.random(pipeline.n_items) < 0.7
    request = RecommendRequest.for_history(history.tocsr(), candidates=candidates, **options)
    fast = pipeline.recommend(request)
    monkeypatch.setattr(type(pipeline.scorer), "sparse_scores", lambda self, users, history: None)
    dense = pipeline.recommend(request)
    assert np.array_equal(fast.items, dense.items)
    assert np.array_equal(fast.scores, dense.scores, equal_nan=True)
    assert fast.cold[5] and (fast.items[5][:10] == dense.items[5][:10]).all()


@pytest.mark.parametrize("model", ["als", "bpr"])
def test_ann_retrieval_finds_the_exact_top_items(ml100k: Dataset, model: str) -> None:
    """HNSW over the factors: recall@10 against exact scoring ≥ 0.95, exact scores for what it returns, seen
    items never returned, and the same lists on a second build (deterministic graph)."""
    exact = PipelineConfig.for_model(model).fit(ml100k.interactions)
    ann = exact.evolve(config=exact.config.with_values({"recommend.retrieval": "ann"}))
    users = np.arange(len(exact.user_ids))
    truth = exact.recommend(RecommendRequest.for_users(users, k=10))
    found = ann.recommend(RecommendRequest.for_users(users, k=10))
    recall = np.mean([len(set(truth.items[u]) & set(found.items[u])) / 10 for u in users])
    assert recall >= 0.95, recall
    full = exact.scorer.score(users)
    assert np.allclose(np.take_along_axis(full, found.items, axis=1), found.scores, atol=1e-4)
    seen = exact.history.toarray() > 0
    assert not np.take_along_axis(seen, found.items, axis=1).any()
    again = exact.evolve(config=exact.config.with_values({"recommend.retrieval": "ann"}))
    assert np.array_equal(again.recommend(RecommendRequest.for_users(users, k=10)).items, found.items)


def test_ann_is_not_used_where_it_cannot_help(ml100k: Dataset) -> None:
    """auto below 20,000 items, non-factor scorers and narrow candidate masks score every item."""
    als = PipelineConfig.for_model("als").fit(ml100k.interactions)
    assert als._graph_for(None) is None  # auto, 1,682 items
    forced = als.evolve(config=als.config.with_values({"recommend.retrieval": "ann"}))
    assert forced._graph_for(None) is not None
    narrow = np.zeros(forced.n_items, dtype=bool)
    narrow[:100] = True
    assert forced._graph_for(narrow) is None
    knn = PipelineConfig.for_model("itemknn").with_values({"recommend.retrieval": "ann"}).fit(ml100k.interactions)
    assert knn._graph_for(None) is None
    lists = forced.recommend(RecommendRequest.for_users(np.arange(20), k=5, candidates=narrow))
    assert (lists.items < 100).all()


def test_sparse_top_k_matches_dense_top_k_on_signed_scores() -> None:
    """Positive stored scores, then unstored zeros by index, then negative stored scores — as the dense rows."""
    from prismrec.core.ranking import sparse_top_k, top_k

    rng = np.random.default_rng(0)
    for _ in range(300):
        n, m = int(rng.integers(1, 15)), int(rng.integers(1, 30))
        k = int(rng.integers(1, m + 3))
        dense = rng.integers(-3, 4, size=(n, m)).astype(np.float32) * (rng.random((n, m)) < 0.5)
        stored = sp.csr_matrix(dense)
        stored.eliminate_zeros()
        allowed = rng.random(m) < 0.8
        seen = sp.csr_matrix((rng.random((n, m)) < 0.2).astype(np.float32))
        masked = dense.copy()
        masked[:, ~allowed] = -np.inf
        masked[seen.toarray() > 0] = -np.inf
        want, got = top_k(masked, k), sparse_top_k(stored, k, allowed, seen)
        assert np.array_equal(want[0], got[0]) and np.array_equal(want[1], got[1], equal_nan=True)
