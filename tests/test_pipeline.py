"""The recommendation path: top-K selection, filters, cold users, chunking, requests, saving and configuration."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

import prismrec.core.pipeline
from prismrec.core.config import PipelineConfig, RecommendConfig, RerankConfig, ScorerConfig
from prismrec.core.frames import lists_to_frame
from prismrec.core.persistence import FORMAT_VERSION, load_pipeline, save_pipeline
from prismrec.core.pipeline import FittedPipeline
from prismrec.core.ranking import top_k
from prismrec.core.request import RecommendRequest, SimilarRequest
from prismrec.data.schema import Catalog, IdMap, Interactions, build_catalog
from prismrec.data.splits import split
from prismrec.errors import ConfigError, FormatError, PrismrecError, RequestError
from prismrec.models import SCORERS

# ------------------------------------------------------------------ top_k


def brute_top_k(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Stable argsort of -scores: ties keep the lower index first; -inf slots become -1 / NaN."""
    k = min(k, scores.shape[1])
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    values = np.take_along_axis(scores, order, axis=1).astype(np.float32)
    items = np.where(np.isneginf(values), -1, order)
    return items, np.where(np.isneginf(values), np.nan, values)


@pytest.mark.parametrize("seed", range(6))
def test_top_k_equals_brute_force_with_ties_and_minus_inf(seed: int) -> None:
    rng = np.random.default_rng(seed)
    for k in (1, 3, 7, 12, 20):
        scores = rng.integers(-3, 4, size=(40, 12)).astype(np.float32)  # 7 distinct values: many ties
        scores[rng.random(scores.shape) < 0.4] = -np.inf
        scores[5] = -np.inf  # a row with nothing to recommend
        items, values = top_k(scores, k)
        expected_items, expected_values = brute_top_k(scores, k)
        assert items.dtype == np.int64 and values.dtype == np.float32
        np.testing.assert_array_equal(items, expected_items)
        np.testing.assert_array_equal(values, expected_values)  # NaN == NaN here


def test_top_k_by_hand() -> None:
    scores = np.array([[0.5, 2.0, 2.0, -np.inf, 1.0], [-np.inf, -np.inf, 3.0, -np.inf, -np.inf]], np.float32)
    items, values = top_k(scores, 4)
    # row 0: 2.0 (index 1, then the tie at index 2), 1.0 (4), 0.5 (0); row 1: only index 2, then padding
    np.testing.assert_array_equal(items, [[1, 2, 4, 0], [2, -1, -1, -1]])
    np.testing.assert_array_equal(values, np.array([[2.0, 2.0, 1.0, 0.5], [3.0, np.nan, np.nan, np.nan]], np.float32))


# ------------------------------------------------------------------ FittedPipeline.recommend


TITLES = ["green tea", "black tea", "coffee beans", "espresso cup", "tea pot", "coffee grinder", "milk", "sugar"]


def tiny_catalog(tiny: Interactions) -> Catalog:
    """Titles for the tiny log's items (tea and coffee themes), as a catalogue."""
    items = pd.DataFrame({"item_id": tiny.item_ids.ids, "title": TITLES[: tiny.n_items]})
    return build_catalog(tiny.item_ids, items, ["title"], None)


def fitted(train: Interactions, name: str = "ease", **values: object) -> FittedPipeline:
    """A fitted pipeline; scorers that read text get the tiny catalogue and the TF-IDF encoder."""
    config = PipelineConfig.for_model(name, values)
    if SCORERS[name].needs_vectors:
        config = config.with_values({"encoder.model": "tfidf", "encoder.dim": 4})
        return config.fit(train, tiny_catalog(train))
    return config.fit(train)


def lists(pipeline: FittedPipeline, users: np.ndarray | list[int], k: int | None = None,
          **options: object) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    result = pipeline.recommend(RecommendRequest.for_users(users, k=k, **options))
    return result.items, result.scores


@pytest.mark.parametrize("name", sorted(SCORERS))
def test_recommend_excludes_seen_items(tiny: Interactions, name: str) -> None:
    pipeline = fitted(tiny, name)
    items, scores = lists(pipeline, np.arange(4), 8)
    history = tiny.matrix().toarray().astype(bool)
    for user in range(4):
        listed = items[user][items[user] >= 0]
        assert not history[user, listed].any()
        # every unseen item is listed (k = n_items), and nothing else
        assert set(listed.tolist()) == set(np.flatnonzero(~history[user]).tolist())
        assert np.isnan(scores[user][items[user] < 0]).all()


def test_recommend_can_keep_seen_items(tiny: Interactions) -> None:
    items, _ = lists(fitted(tiny), [0], 8, exclude_seen=False)
    assert sorted(items[0].tolist()) == list(range(8))  # u1 has 8 events; all of them come back


def test_recommend_respects_candidates(tiny: Interactions) -> None:
    candidates = np.array([True, False, True, False, True, True, False, False])  # i1, i3, i5, i6
    items, _ = lists(fitted(tiny, "itemknn"), np.arange(4), 8, candidates=candidates)
    listed = items[items >= 0]
    assert candidates[listed].all()
    # u4 has only i6 -> i1, i3, i5 remain; u1 has seen all four candidates -> empty list
    assert sorted(items[3][items[3] >= 0].tolist()) == [0, 2, 4]
    np.testing.assert_array_equal(items[0], [-1] * 8)


def test_cold_user_gets_the_popular_items(tiny: Interactions) -> None:
    parts = split(tiny, "temporal")  # u4's only event is held out: u4 has no train history
    pipeline = fitted(parts.train, "ease")
    result = pipeline.recommend(RecommendRequest.for_users([3], k=8))
    # train counts: i1 2, i2 2, i3 2, i4 2, i5 1 (u1), i6 2 (u1, u2), i7 0, i8 0; ties by lower index
    np.testing.assert_array_equal(result.items[0], [0, 1, 2, 3, 5, 4, 6, 7])
    np.testing.assert_array_equal(result.scores[0], [2, 2, 2, 2, 2, 1, 0, 0])
    assert result.cold.tolist() == [True]
    assert not pipeline.recommend(RecommendRequest.for_users([0, 1, 2], k=8)).cold.any()


@pytest.mark.parametrize("budget", [1, 17, 40])
def test_chunking_gives_the_same_lists(monkeypatch: pytest.MonkeyPatch, budget: int) -> None:
    rng = np.random.default_rng(3)
    users, items = np.nonzero(rng.random((30, 9)) < 0.3)
    inter = Interactions.from_arrays(users, items, IdMap([f"u{i:02d}" for i in range(30)]),
                                     IdMap([f"i{i}" for i in range(9)]))  # fmt: skip
    candidates = np.arange(9) != 4
    pipeline = fitted(inter, "itemknn")
    one_block = lists(pipeline, np.arange(30), 5, candidates=candidates)
    monkeypatch.setattr(prismrec.core.pipeline, "SCORE_BUDGET", budget)  # 1 and 17 -> chunks of 1 and 1; 40 -> 4
    chunked = lists(pipeline, np.arange(30), 5, candidates=candidates)
    np.testing.assert_array_equal(chunked[0], one_block[0])
    np.testing.assert_array_equal(chunked[1], one_block[1])


def test_k_defaults_to_config_and_is_capped_at_n_items(tiny: Interactions) -> None:
    config = PipelineConfig(ScorerConfig.build("most-popular"), RecommendConfig(k=3))
    pipeline = config.fit(tiny)
    assert lists(pipeline, np.arange(4))[0].shape == (4, 3)
    assert lists(pipeline, np.arange(4), 50)[0].shape == (4, 8)


def test_fitted_pipeline_is_frozen(tiny: Interactions) -> None:
    pipeline = fitted(tiny, "ease")
    before = lists(pipeline, np.arange(4), 5)
    replacements = {"history": pipeline.history[:0], "scorer": None, "reranker": None, "titles": ("x",),
                    "scored_items": 0, "config": PipelineConfig.for_model("random")}  # fmt: skip
    for name, value in replacements.items():
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(pipeline, name, value)
    # a variant is a new object; the original keeps its configuration and its lists
    diverse = pipeline.with_rerank(RerankConfig.build("popularity"))
    assert diverse is not pipeline and diverse.reranker is not None
    assert pipeline.reranker is None and pipeline.config.rerank is None
    after = lists(pipeline, np.arange(4), 5)
    np.testing.assert_array_equal(after[0], before[0])
    np.testing.assert_array_equal(after[1], before[1])


def test_recommend_frame_uses_external_ids(tiny: Interactions) -> None:
    pipeline = fitted(tiny, "most-popular")
    users = pipeline.user_ids.indices(["u4"])
    items, scores = lists(pipeline, users, 2)
    frame = lists_to_frame(pipeline.user_ids, pipeline.item_ids, users, items, scores)
    # u4 saw i6; most popular of the rest: i3 (3 users), then i1 (2 users, lowest index)
    assert frame.to_dict("list") == {"user_id": ["u4", "u4"], "item_id": ["i3", "i1"], "rank": [1, 2],
                                     "score": [3.0, 2.0]}  # fmt: skip


def test_lists_to_frame_drops_padding() -> None:
    ids = IdMap(["a", "b"])
    frame = lists_to_frame(ids, IdMap(["x", "y", "z"]), np.array([1, 0]), np.array([[2, -1], [0, 1]]),
                           np.array([[0.5, np.nan], [0.9, 0.1]], np.float32))  # fmt: skip
    assert frame[["user_id", "item_id", "rank"]].values.tolist() == [["b", "z", 1], ["a", "x", 1], ["a", "y", 2]]


# ------------------------------------------------------------------ history rows and the cold-start policy

# Three pairs of look-alike titles (cosine 0.5 within a pair, 0 across) and an item nobody had;
# popularity 9, 8, 7, 6, 5, 4, 0 (item 0 most popular).
PAIR_TITLES = ["sweet apple pie", "apple pie slice", "blue whale song", "whale song album", "oak tree seed",
               "tree seed pack", "plain rock"]  # fmt: skip
PAIR_COUNTS = [9, 8, 7, 6, 5, 4, 0]


def pairs_log() -> tuple[Interactions, Catalog]:
    users = [u for item, count in enumerate(PAIR_COUNTS) for u in range(count)]
    items = [item for item, count in enumerate(PAIR_COUNTS) for _ in range(count)]
    item_ids = IdMap([f"i{i}" for i in range(len(PAIR_COUNTS))])
    log = Interactions.from_arrays(np.array(users), np.array(items), IdMap([f"u{u}" for u in range(9)]), item_ids)
    frame = pd.DataFrame({"item_id": list(item_ids.ids), "title": PAIR_TITLES})
    return log, build_catalog(item_ids, frame, ["title"], None)


def pairs_pipeline(**values: object) -> FittedPipeline:
    log, catalog = pairs_log()
    config = PipelineConfig.for_model("itemknn").with_values({"encoder.model": "tfidf", **values})
    return config.fit(log, catalog)


EMPTY_ROW = sp.csr_matrix((1, len(PAIR_COUNTS)), dtype=np.float32)


def test_history_rows_score_like_the_fitted_rows(tiny: Interactions) -> None:
    pipeline = fitted(tiny, "itemknn")
    fitted_rows = pipeline.recommend(RecommendRequest.for_users(np.arange(4), k=5))
    given = pipeline.recommend(RecommendRequest.for_history(pipeline.history[np.arange(4)], k=5))
    np.testing.assert_array_equal(given.items, fitted_rows.items)
    np.testing.assert_array_equal(given.scores, fitted_rows.scores)
    # a what-if row: u4 (only i6) also had i1 -> i1 is excluded and the list follows the new row
    row = pipeline.history[3].tolil()
    row[0, 0] = 1.0
    what_if = pipeline.recommend(RecommendRequest.for_history(row.tocsr(), user=3, k=8))
    assert 0 not in what_if.items[0] and 5 not in what_if.items[0]
    expected = pipeline.scorer.score(np.array([3]), row.tocsr())[0]
    listed, scores = what_if.row(0)
    np.testing.assert_allclose(scores, expected[listed], rtol=1e-6)


@pytest.mark.parametrize("how", ["config", "request"])
def test_popular_policy_gives_popularity_order(how: str) -> None:
    values = {"cold_start.new_users": "popular"} if how == "config" else {}
    pipeline = pairs_pipeline(**values)
    assert pipeline.side.vectors is not None  # vectors alone do not diversify under "popular"
    cold_start = "popular" if how == "request" else None
    result = pipeline.recommend(RecommendRequest.for_history(EMPTY_ROW, k=7, cold_start=cold_start))
    np.testing.assert_array_equal(result.items[0], [0, 1, 2, 3, 4, 5, 6])
    np.testing.assert_array_equal(result.scores[0], PAIR_COUNTS)
    assert result.cold.tolist() == [True]
    explained = pipeline.recommend(RecommendRequest.for_history(EMPTY_ROW, k=3, cold_start=cold_start, explain=True))
    assert explained.reasons == [["popular with other users"] * 3] and explained.because == [[[], [], []]]


def test_diverse_popular_policy_is_mmr_over_the_popular_items() -> None:
    pipeline = pairs_pipeline()
    assert pipeline.config.cold_start.new_users == "diverse-popular" and pipeline.config.cold_start.diversity == 0.3
    assert pipeline.reranker is None and pipeline.side.vectors is not None
    result = pipeline.recommend(RecommendRequest.for_history(EMPTY_ROW, k=4))
    mmr = pipeline.variant(None, 0.3)
    assert mmr.reranker is not None and mmr.config.rerank is not None and mmr.config.rerank.name == "mmr"
    expected = mmr.recommend(RecommendRequest.for_history(EMPTY_ROW, k=4))
    np.testing.assert_array_equal(result.items, expected.items)
    np.testing.assert_array_equal(result.scores, expected.scores)
    assert result.cold.tolist() == [True]
    # MMR at λ = 0.3 · 0.9 = 0.27 over relevance count / 9: the most popular item, then not its look-alike
    # (0.73 · 8/9 − 0.27 · 0.5 = 0.514) but the next pair's best (0.73 · 7/9 = 0.568), then the look-alike
    # (0.514 > 0.73 · 5/9 = 0.406 > 0.73 · 6/9 − 0.135 = 0.352), then item 4 (0.406)
    np.testing.assert_array_equal(result.items[0], [0, 2, 1, 4])
    plain = pipeline.recommend(RecommendRequest.for_history(EMPTY_ROW, k=4, cold_start="popular")).items
    assert plain[0].tolist() == [0, 1, 2, 3] and result.items[0].tolist() != plain[0].tolist()


def test_cold_start_policy_leaves_rows_with_history_alone() -> None:
    pipeline = pairs_pipeline()
    rows = sp.vstack([pipeline.history[[6]], EMPTY_ROW, pipeline.history[[8]]]).tocsr()
    mixed = pipeline.recommend(RecommendRequest.for_history(rows, k=3))
    plain = pipeline.recommend(RecommendRequest.for_history(rows, k=3, cold_start="popular"))
    assert mixed.cold.tolist() == [False, True, False]
    np.testing.assert_array_equal(mixed.items[[0, 2]], plain.items[[0, 2]])
    np.testing.assert_array_equal(mixed.scores[[0, 2]], plain.scores[[0, 2]])
    alone = pipeline.recommend(RecommendRequest.for_history(EMPTY_ROW, k=3))
    np.testing.assert_array_equal(mixed.items[1], alone.items[0])
    # a configured (or requested) re-ranker answers cold rows too: no second diversification
    mmr = pipeline.variant("mmr", 0.9)
    requested = pipeline.recommend(RecommendRequest.for_history(EMPTY_ROW, k=3, reranker="mmr", diversity=0.9))
    np.testing.assert_array_equal(requested.items, mmr.recommend(RecommendRequest.for_history(EMPTY_ROW, k=3)).items)


# ------------------------------------------------------------------ request validation


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (RecommendRequest.for_users([0], k=0), "k"),
        (RecommendRequest.for_users([0], k=-3), "k"),
        (RecommendRequest.for_users([4]), "users"),
        (RecommendRequest.for_users([-1]), "users"),
        (RecommendRequest(users=np.array([[0, 1]])), "users"),
        (RecommendRequest.for_history(sp.csr_matrix((1, 7), dtype=np.float32)), "history"),
        (RecommendRequest(users=np.array([0]), history=sp.csr_matrix((2, 8), dtype=np.float32)), "users"),
        (RecommendRequest.for_users([0], diversity=2.0), "diversity"),
        (RecommendRequest.for_users([0], diversity=-0.1), "diversity"),
        (RecommendRequest.for_users([0], candidates=np.ones(3, dtype=bool)), "candidates"),
        (RecommendRequest.for_users([0], cold_start="trending"), "cold_start"),
    ],
)  # fmt: skip
def test_invalid_requests_name_the_field(tiny: Interactions, request_: RecommendRequest, field: str) -> None:
    pipeline = fitted(tiny, "ease")
    with pytest.raises(RequestError) as error:
        pipeline.recommend(request_)
    assert error.value.field == field
    assert isinstance(error.value, PrismrecError)


def test_request_without_users_or_history() -> None:
    with pytest.raises(RequestError, match="users or history"):
        RecommendRequest().n_rows()


@pytest.mark.parametrize(("request_", "field"), [(SimilarRequest(8), "item"), (SimilarRequest(-1), "item"),
                                                 (SimilarRequest(0, k=0), "k")])  # fmt: skip
def test_invalid_similar_requests_name_the_field(tiny: Interactions, request_: SimilarRequest, field: str) -> None:
    with pytest.raises(RequestError) as error:
        fitted(tiny, "ease").similar(request_)
    assert error.value.field == field


# ------------------------------------------------------------------ save / load


@pytest.mark.parametrize("name", sorted(SCORERS))
def test_save_load_round_trip(tiny: Interactions, tmp_path: Path, name: str) -> None:
    pipeline = fitted(tiny, name)
    save_pipeline(pipeline, tmp_path / "model")
    loaded = load_pipeline(tmp_path / "model")
    before, after = lists(pipeline, np.arange(4), 5), lists(loaded, np.arange(4), 5)
    np.testing.assert_array_equal(after[0], before[0])
    np.testing.assert_array_equal(after[1], before[1])
    assert loaded.user_ids == tiny.user_ids and loaded.item_ids == tiny.item_ids
    assert loaded.config == pipeline.config
    assert loaded.fitted_at == pipeline.fitted_at and loaded.titles == pipeline.titles


def test_saved_folder_has_no_pickle(tiny: Interactions, tmp_path: Path) -> None:
    folder = save_pipeline(fitted(tiny, "itemknn"), tmp_path / "model")
    arrays = sorted(folder.rglob("*.npy"))
    assert len(arrays) >= 6  # history (4 arrays), popularity, similarity (4 arrays)
    for path in arrays:
        assert np.load(path, allow_pickle=False).dtype != object
    suffixes = {p.suffix for p in folder.rglob("*") if p.is_file()}
    assert suffixes <= {".npy", ".json", ".toml"}


@pytest.mark.parametrize("found", [FORMAT_VERSION - 1, FORMAT_VERSION + 1, None])
def test_other_format_version_asks_for_a_refit(tiny: Interactions, tmp_path: Path, found: int | None) -> None:
    folder = save_pipeline(fitted(tiny, "ease"), tmp_path / "model")
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    assert meta["format"] == FORMAT_VERSION
    if found is None:
        del meta["format"]
    else:
        meta["format"] = found
    (folder / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(FormatError, match="refit") as error:
        load_pipeline(folder)
    assert f"format {found}" in str(error.value) and f"reads format {FORMAT_VERSION}" in str(error.value)


@pytest.mark.parametrize("victim", ["popularity.npy", "history.indptr.npy", "meta.json", "config.toml"])
def test_load_damaged_folder_raises_prismrec_error(tiny: Interactions, tmp_path: Path, victim: str) -> None:
    folder = save_pipeline(fitted(tiny, "ease"), tmp_path / "model")
    (folder / victim).unlink()
    with pytest.raises(PrismrecError):
        load_pipeline(folder)


def test_load_truncated_array_raises_prismrec_error(tiny: Interactions, tmp_path: Path) -> None:
    folder = save_pipeline(fitted(tiny, "ease"), tmp_path / "model")
    path = folder / "popularity.npy"
    path.write_bytes(path.read_bytes()[:20])
    with pytest.raises(PrismrecError, match="incomplete or damaged"):
        load_pipeline(folder)


@pytest.mark.parametrize("victim", ["scorer/weights.npy", "user_ids.json", "item_ids.json"])
def test_load_folder_missing_scorer_or_ids_raises_prismrec_error(
    tiny: Interactions, tmp_path: Path, victim: str
) -> None:
    folder = save_pipeline(fitted(tiny, "ease"), tmp_path / "model")
    (folder / victim).unlink()
    with pytest.raises(PrismrecError):
        load_pipeline(folder)


# ------------------------------------------------------------------ PipelineConfig / TOML


@pytest.mark.parametrize(
    ("name", "values"),
    [
        ("ease", {"lambda": 123.5}),
        ("itemknn", {"neighbours": 7, "shrinkage": 2.5}),
        ("als", {"factors": 16, "alpha": 2.0, "seed": 3}),
        ("bpr", {"learning_rate": 0.01}),
        ("most-popular", {}),
    ],
)
def test_toml_round_trip(tmp_path: Path, name: str, values: dict[str, object]) -> None:
    config = PipelineConfig(ScorerConfig.build(name, values), RecommendConfig(k=7, exclude_seen=False))
    path = tmp_path / "pipeline.toml"
    path.write_text(config.to_toml(), encoding="utf-8")
    again = PipelineConfig.from_toml(path)
    assert again == config
    assert again.to_dict()["scorer"] == {"name": name, **config.to_dict()["scorer"]}
    for key, value in values.items():
        assert again.to_dict()["scorer"][key] == value


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "pipeline.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_toml_from_hand_written_file(tmp_path: Path) -> None:
    path = write(tmp_path, '[scorer]\nname = "ease"\nlambda = 300\n\n[recommend]\nk = 20\n')
    config = PipelineConfig.from_toml(path)
    assert config.scorer.params.lambda_ == 300.0 and config.recommend.k == 20 and config.recommend.exclude_seen


def test_toml_unknown_section(tmp_path: Path) -> None:
    path = write(tmp_path, '[scorer]\nname = "ease"\n\n[reccomend]\nk = 5\n')
    with pytest.raises(ConfigError, match=r"unknown section\(s\) \['reccomend'\]; known sections: scorer, encoder"):
        PipelineConfig.from_toml(path)


def test_toml_missing_scorer_name(tmp_path: Path) -> None:
    path = write(tmp_path, "[scorer]\nlambda = 250\n")
    with pytest.raises(ConfigError, match=r"\[scorer\] needs name = "):
        PipelineConfig.from_toml(path)


def test_toml_wrong_type(tmp_path: Path) -> None:
    path = write(tmp_path, '[scorer]\nname = "ease"\nlambda = "abc"\n')
    with pytest.raises(ConfigError) as error:
        PipelineConfig.from_toml(path)
    message = str(error.value)
    assert str(path) in message and "'lambda'" in message and "expected a number, got 'abc'" in message


def test_toml_bad_recommend_value(tmp_path: Path) -> None:
    path = write(tmp_path, '[scorer]\nname = "ease"\n[recommend]\nk = 0\n')
    with pytest.raises(ConfigError, match=r"\[recommend\] parameter 'k': 0 is below the minimum 1"):
        PipelineConfig.from_toml(path)


def test_toml_invalid_syntax(tmp_path: Path) -> None:
    path = write(tmp_path, '[scorer\nname = "ease"\n')
    with pytest.raises(ConfigError, match="invalid TOML") as error:
        PipelineConfig.from_toml(path)
    assert str(path) in str(error.value)


def test_toml_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        PipelineConfig.from_toml(tmp_path / "nope.toml")
