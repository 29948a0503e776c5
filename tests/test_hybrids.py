"""Text-aware scorers: Content, Fusion and ItemHybrid, their saving, and nested component configuration.

Most checks use hand-made unit vectors (`ItemSide(vectors=...)`) so that the right answer can be
computed in the test; one runs the real packaged MiniLM on product titles. Pipelines use the TF-IDF
encoder over `tiny_catalog`. PRISMREC_CACHE_DIR points at a temporary folder in every test.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from test_pipeline import tiny_catalog

import prismrec.core.fit
from prismrec.core.config import PipelineConfig
from prismrec.core.persistence import load_pipeline, save_pipeline
from prismrec.core.ranking import top_k
from prismrec.core.request import RecommendRequest
from prismrec.data.items import ItemSide
from prismrec.data.schema import IdMap, Interactions, build_catalog
from prismrec.errors import ConfigError
from prismrec.models.composite import ScorerComponent
from prismrec.models.content import Content
from prismrec.models.ease import EASE
from prismrec.models.fusion import Fusion
from prismrec.models.item_hybrid import ItemHybrid, ItemHybridParams
from prismrec.profiles.history import HistoryParams, history_matrix
from prismrec.semantic.cache import CACHE_ENV
from prismrec.semantic.sentence_transformer import SentenceTransformerEncoder
from prismrec.semantic.templates import item_texts

TEXT_SCORERS = ("content", "fusion", "item-hybrid")


pytestmark = pytest.mark.usefixtures("cache_dir")




def log_of(histories: list[list[int]], n_items: int) -> Interactions:
    """One user per history list; items by index."""
    users = [u for u, items in enumerate(histories) for _ in items]
    items = [i for history in histories for i in history]
    return Interactions.from_arrays(np.array(users), np.array(items), IdMap([f"u{u}" for u in range(len(histories))]),
                                    IdMap([f"i{i}" for i in range(n_items)]))  # fmt: skip


def unit_rows(rows: list[list[float]]) -> np.ndarray:
    vectors = np.array(rows, dtype=np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def ranking(scores: np.ndarray, history: sp.csr_matrix, k: int) -> np.ndarray:
    """Top-k item indices per row with the history items left out (as `FittedPipeline.recommend` does)."""
    scores = scores.copy()
    scores[history.toarray() > 0] = -np.inf
    return top_k(scores, k)[0]


def zscore(scores: np.ndarray) -> np.ndarray:
    return (scores - scores.mean(axis=1, keepdims=True)) / scores.std(axis=1, keepdims=True)


# ------------------------------------------------------------------ Content

# Topic A near e0: items 0, 1, 2 and the cold item 6; topic B near e1: items 3, 4, 5; item 7 between.
TOPIC_VECTORS = unit_rows([[1, 0, 0.1], [1, 0.1, 0], [1, 0, 0.2], [0.1, 1, 0], [0, 1, 0.1], [0, 1, 0.2],
                           [1, 0.05, 0.05], [1, 1, 0]])  # fmt: skip
TOPIC_LOG = [[0, 1], [3, 4], [0, 2, 3], [4, 5]]  # items 6 and 7 have no events


def test_content_ranks_the_users_topic_first_including_a_cold_item() -> None:
    log = log_of(TOPIC_LOG, 8)
    assert log.item_counts()[6] == 0
    scorer = Content().fit(log, ItemSide(vectors=TOPIC_VECTORS))
    history = log.matrix()
    scores = scorer.score(np.arange(4), history)
    top = ranking(scores, history, 6)
    assert set(top[0, :2].tolist()) == {2, 6}  # u0 (topic A) -> the unseen A item and the cold A item
    assert top[0, 2] == 7 and set(top[0, 3:].tolist()) == {3, 4, 5}  # then the in-between item, then B
    assert top[1, 0] == 5 and top[1, 1] == 7  # u1 (topic B) -> the unseen B item, then the in-between one
    # the score is the cosine between the unit mean profile and the item vector
    profile = TOPIC_VECTORS[0] + TOPIC_VECTORS[1]
    np.testing.assert_allclose(scores[0], TOPIC_VECTORS @ (profile / np.linalg.norm(profile)), atol=1e-6)


def test_content_needs_vectors() -> None:
    with pytest.raises(ConfigError, match=r"\[encoder\]"):
        Content().fit(log_of(TOPIC_LOG, 8))


# Exact two-topic layout: items 0, 1, 2 = e0; items 3, 4, 5 = e1; item 6 = (e0 + e1)/sqrt(2).
TWO_TOPICS = unit_rows([[1, 0], [1, 0], [1, 0], [0, 1], [0, 1], [0, 1], [1, 1]])
TWO_TOPIC_LOG = [[0, 1, 3, 4]]


def two_topic_scores(**values: Any) -> np.ndarray:
    log = log_of(TWO_TOPIC_LOG, 7)
    return Content(**values).fit(log, ItemSide(vectors=TWO_TOPICS)).score(np.array([0]))[0]


def test_several_interests_with_max_recommend_from_both_topics() -> None:
    history = log_of(TWO_TOPIC_LOG, 7).matrix()
    # 4 events, events_per_interest 1 -> 4 by size; |mean of e0, e0, e1, e1| = 0.7071 -> spread 0.2929;
    # round(4 * 0.5858) = 2 interests, exactly e0 and e1
    many = two_topic_scores(interests=2, events_per_interest=1, aggregate="max")
    np.testing.assert_allclose(many, [1, 1, 1, 1, 1, 1, 0.7071068], atol=1e-6)
    assert set(ranking(many[None], history, 2)[0].tolist()) == {2, 5}
    # one mean profile points between the topics: the in-between item wins, the topic items get 0.7071
    one = two_topic_scores(interests=1)
    np.testing.assert_allclose(one, [0.7071068] * 6 + [1.0], atol=1e-6)
    assert ranking(one[None], history, 1)[0, 0] == 6


def test_softmax_aggregate_lies_between_mean_and_max() -> None:
    sharp = two_topic_scores(interests=2, events_per_interest=1, aggregate="softmax", temperature=0.1)
    # topic item: cosines (1, 0), interest weights (0.5, 0.5):
    # 0.1 * ln(0.5 e^10 + 0.5 e^0) = 1 + 0.1 ln 0.5 + 0.1 ln(1 + e^-10) = 1 - 0.0693147 + 0.0000045 = 0.9306898
    # in-between item: cosines (0.7071, 0.7071) -> exactly 0.7071068 at any temperature
    np.testing.assert_allclose(sharp, [0.9306898] * 6 + [0.7071068], atol=1e-6)
    flat = two_topic_scores(interests=2, events_per_interest=1, aggregate="softmax", temperature=10.0)
    # 10 * ln(0.5 e^0.1 + 0.5) = 10 * ln(1.0525855) = 10 * 0.0512495 = 0.5124947 -> close to the mean cosine 0.5
    np.testing.assert_allclose(flat, [0.5124947] * 6 + [0.7071068], atol=1e-6)
    # mean (0.5) <= softmax <= max (1): sharp behaves like max (topic items first), flat like the mean
    assert 0.5 <= flat[0] < sharp[0] <= 1.0
    assert sharp[2] > sharp[6] and flat[2] < flat[6]


def test_content_on_minilm_vectors_follows_meaning(minilm: SentenceTransformerEncoder) -> None:
    titles = [
        "Green tea leaves", "Black tea gift box", "Oolong tea sampler", "Earl Grey loose leaf",
        "Trail running shoes", "Marathon racing shoes", "Hiking boots", "Comfortable sneakers for jogging",
    ]  # fmt: skip
    ids = IdMap([f"i{i}" for i in range(8)])
    catalog = build_catalog(ids, pd.DataFrame({"item_id": list(ids.ids), "title": titles}), ["title"], None)
    vectors = minilm.encode(item_texts(catalog))
    log = log_of([[0, 1], [4, 5], [2, 6]], 8)  # items 3 (Earl Grey) and 7 (sneakers) have no events
    history = log.matrix()
    scores = Content().fit(log, ItemSide(vectors=vectors)).score(np.arange(3), history)
    top = ranking(scores, history, 2)
    # measured: tea user -> Oolong 0.61, Earl Grey 0.51 vs at most 0.23 for footwear;
    # running user -> sneakers 0.74, boots 0.73 vs at most 0.18 for tea
    assert set(top[0].tolist()) == {2, 3}
    assert set(top[1].tolist()) == {6, 7}


# ------------------------------------------------------------------ Fusion


def test_fusion_user_weights_by_hand() -> None:
    rows = [[], [0, 1, 2], list(range(50))]
    data = [[], [0.5, 0.25, 0.125], [1.0] * 50]  # the count of events matters, not their weights
    history = sp.csr_matrix((np.concatenate([np.array(d) for d in data]),
                             np.concatenate([np.array(r, dtype=np.int64) for r in rows]),
                             np.cumsum([0, *map(len, rows)])), shape=(3, 60))  # fmt: skip
    weights = Fusion(content_weight=0.2, short_history=5.0).user_weights(history)
    # n=0: 0.2 + 0.8 * 1 = 1; n=3: 0.2 + 0.8 * e^-0.6 = 0.2 + 0.8 * 0.5488116 = 0.6390493;
    # n=50: 0.2 + 0.8 * e^-10 = 0.2 + 0.8 * 0.0000454 = 0.2000363
    np.testing.assert_allclose(weights, [1.0, 0.6390493, 0.2000363], atol=1e-6)
    fixed = Fusion(content_weight=0.3, short_history=0.0).user_weights(history)
    np.testing.assert_allclose(fixed, [0.3, 0.3, 0.3], atol=1e-7)  # short_history 0: one fixed weight


@pytest.fixture
def tiny_vectors() -> np.ndarray:
    return unit_rows(np.random.default_rng(7).normal(size=(8, 4)).tolist())


def test_fusion_score_is_the_weighted_sum_of_z_scores(tiny: Interactions, tiny_vectors: np.ndarray) -> None:
    side = ItemSide(vectors=tiny_vectors)
    history = history_matrix(tiny, HistoryParams(half_life=2.0))  # recency-weighted rows
    users = np.arange(4)
    fused = Fusion().fit(tiny, side).score(users, history)
    cf = EASE(lambda_=250.0).fit(tiny).score(users, history)
    content = Content().fit(tiny, side).score(users, history)
    # tiny: u1 has 8 distinct items, u2 4, u3 3, u4 1; w = 0.2 + 0.8 e^(-n/5):
    # e^-1.6 = 0.2018965 -> 0.3615172; e^-0.8 = 0.4493290 -> 0.5594632; e^-0.6 -> 0.6390493;
    # e^-0.2 = 0.8187308 -> 0.8549846
    w = np.array([0.3615172, 0.5594632, 0.6390493, 0.8549846])[:, None]
    np.testing.assert_allclose(fused, (1 - w) * zscore(cf) + w * zscore(content), atol=1e-5)


def test_fusion_without_content_gives_the_cf_ranking(tiny: Interactions, tiny_vectors: np.ndarray) -> None:
    history = history_matrix(tiny, HistoryParams(half_life=3.0))
    users = np.arange(4)
    fused = Fusion(content_weight=0.0, short_history=0.0).fit(tiny, ItemSide(vectors=tiny_vectors))
    cf = EASE(lambda_=250.0).fit(tiny).score(users, history)
    scores = fused.score(users, history)
    np.testing.assert_allclose(scores, zscore(cf), atol=1e-5)
    np.testing.assert_array_equal(top_k(scores, 8)[0], top_k(cf, 8)[0])
    np.testing.assert_array_equal(ranking(scores, history, 8), ranking(cf, history, 8))


# ------------------------------------------------------------------ ItemHybrid

# v5 is a cold item whose only positive-cosine item is item 0 (0.8); the others are <= 0 from it.
HYBRID_VECTORS = np.array([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0.6, 0.8], [0, 0.8, 0, 0.6],
                           [0.8, -0.6, 0, 0]], dtype=np.float32)  # fmt: skip
HYBRID_LOG = [[0, 1], [1, 2], [2, 3, 4], [0, 4]]


def test_item_hybrid_without_semantics_is_ease() -> None:
    log = log_of(HYBRID_LOG, 6)
    users = np.arange(4)
    hybrid = ItemHybrid(semantic_weight=0.0).fit(log, ItemSide(vectors=HYBRID_VECTORS))
    np.testing.assert_array_equal(hybrid.score(users), EASE(lambda_=250.0).fit(log).score(users))


def test_item_hybrid_cold_item_is_reached_through_its_semantic_neighbour() -> None:
    log = log_of(HYBRID_LOG, 6)
    assert log.item_counts()[5] == 0
    scores = ItemHybrid().fit(log, ItemSide(vectors=HYBRID_VECTORS)).score(np.arange(4))
    # EASE gives a cold item 0; semantic part: 0.05 * (history item 0) * cos(v0, v5) = 0.05 * 0.8 = 0.04
    np.testing.assert_allclose(scores[:, 5], [0.04, 0.0, 0.0, 0.04], atol=1e-6)  # u0 and u3 hold item 0


def test_item_hybrid_adds_the_semantic_neighbourhood_by_hand() -> None:
    log = log_of(HYBRID_LOG, 6)
    users = np.arange(4)
    hybrid = ItemHybrid(semantic_weight=0.5, neighbours=1).fit(log, ItemSide(vectors=HYBRID_VECTORS))
    # one neighbour per target: 0 <- 5 (0.8), 1 <- 4 (0.8), 2 <- 3 (0.6), 3 <- 2 (0.6), 4 <- 1 (0.8), 5 <- 0 (0.8)
    semantic = np.zeros((6, 6))
    for source, target, cos in [(5, 0, 0.8), (4, 1, 0.8), (3, 2, 0.6), (2, 3, 0.6), (1, 4, 0.8), (0, 5, 0.8)]:
        semantic[source, target] = cos
    # e.g. u0 = {0, 1}: + 0.5 * (row 0 + row 1) = +0.4 on item 5 and +0.4 on item 4
    expected = EASE(lambda_=250.0).fit(log).score(users) + 0.5 * log.matrix().toarray() @ semantic
    np.testing.assert_allclose(hybrid.score(users), expected, atol=1e-6)


def test_item_hybrid_accepts_itemknn_and_rejects_other_cf_models() -> None:
    log = log_of(HYBRID_LOG, 6)
    side = ItemSide(vectors=HYBRID_VECTORS)
    assert ItemHybrid(cf=ScorerComponent("itemknn")).fit(log, side).fitted
    with pytest.raises(ConfigError, match="cf must be one of ease, itemknn"):
        ItemHybrid(ItemHybridParams(cf=ScorerComponent("most-popular"))).fit(log, side)
    config = PipelineConfig.for_model("item-hybrid", {"cf": "most-popular"}).with_values({"encoder.model": "tfidf"})
    with pytest.raises(ConfigError, match="item-hybrid"):
        config.fit(log, build_catalog(log.item_ids, pd.DataFrame(
            {"item_id": list(log.item_ids.ids), "title": ["tea", "coffee", "milk", "sugar", "cup", "pot"]}), ["title"],
            None))  # fmt: skip


# ------------------------------------------------------------------ saving text pipelines


@pytest.mark.parametrize(
    ("name", "values"),
    [("content", {}), ("content", {"interests": 2, "events_per_interest": 2}), ("fusion", {}),
     ("fusion", {"cf": {"name": "itemknn", "neighbours": 3}}), ("item-hybrid", {"semantic_weight": 0.5})],
)  # fmt: skip
def test_text_pipeline_saves_and_loads_without_re_encoding(
    tiny: Interactions, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cache_dir: Path, name: str,
    values: dict[str, Any],
) -> None:  # fmt: skip
    config = PipelineConfig.for_model(name, values).with_values(
        {"encoder.model": "tfidf", "encoder.dim": 4, "history.half_life": 3}
    )
    pipeline = config.fit(tiny, tiny_catalog(tiny))
    assert len(list(cache_dir.rglob("vectors.npy"))) == 1  # fitting did encode through the cache
    folder = save_pipeline(pipeline, tmp_path / "model")

    empty = tmp_path / "empty-cache"
    empty.mkdir()
    monkeypatch.setenv(CACHE_ENV, str(empty))

    def no_encoding(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("load_pipeline must not encode the catalogue again")

    monkeypatch.setattr(prismrec.core.fit, "embed_catalog", no_encoding)
    loaded = load_pipeline(folder)
    assert list(empty.iterdir()) == []
    assert loaded.side.vectors is not None and pipeline.side.vectors is not None
    np.testing.assert_array_equal(loaded.side.vectors, pipeline.side.vectors)
    assert loaded.config == pipeline.config
    request = RecommendRequest.for_users(np.arange(4), k=5)
    before, after = pipeline.recommend(request), loaded.recommend(request)
    np.testing.assert_array_equal(after.items, before.items)
    np.testing.assert_array_equal(after.scores, before.scores)
    explained = RecommendRequest.for_users(np.arange(4), k=3, explain=True)
    before, after = pipeline.recommend(explained), loaded.recommend(explained)
    np.testing.assert_array_equal(after.items, before.items)
    assert after.reasons == before.reasons and after.because == before.because


# ------------------------------------------------------------------ nested component configuration


def test_nested_component_toml_round_trip(tmp_path: Path) -> None:
    config = PipelineConfig.for_model(
        "fusion", {"cf": {"name": "itemknn", "neighbours": 7}, "content_weight": 0.3}
    ).with_values({"encoder.model": "tfidf"})
    text = config.to_toml()
    assert "[scorer.cf]" in text and "[scorer.content]" in text and "[encoder]" in text
    path = tmp_path / "fusion.toml"
    path.write_text(text, encoding="utf-8")
    again = PipelineConfig.from_toml(path)
    assert again == config
    assert again.scorer.params.cf.name == "itemknn" and dict(again.scorer.params.cf.values)["neighbours"] == 7
    assert again.scorer.params.content_weight == 0.3 and again.encoder is not None


def test_hand_written_nested_table(tmp_path: Path) -> None:
    path = tmp_path / "hybrid.toml"
    path.write_text('[scorer]\nname = "item-hybrid"\nsemantic_weight = 0.1\n\n[scorer.cf]\nname = "ease"\n'
                    'lambda = 300\n\n[encoder]\nmodel = "tfidf"\n', encoding="utf-8")  # fmt: skip
    config = PipelineConfig.from_toml(path)
    assert config.scorer.params.cf == ScorerComponent("ease", (("lambda", 300.0),))
    assert config.scorer.params.semantic_weight == 0.1 and config.scorer.params.neighbours == 50
    assert config.encoder is not None and config.encoder.model == "tfidf"


def test_dotted_value_sets_the_nested_parameter() -> None:
    base = PipelineConfig.for_model("item-hybrid", {"semantic_weight": 0.2})
    assert dict(base.scorer.params.cf.values) == {"lambda": 250.0}
    changed = base.with_values({"cf.lambda": "300"})  # strings are converted
    assert changed.scorer.params.cf == ScorerComponent("ease", (("lambda", 300.0),))
    assert changed.scorer.params.semantic_weight == 0.2  # the rest is kept
    assert base.scorer.params.cf == ScorerComponent("ease", (("lambda", 250.0),))  # the original is unchanged


def test_unknown_nested_parameter_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="lamda") as error:
        PipelineConfig.for_model("fusion").with_values({"cf.lamda": "300"})
    assert "lambda" in str(error.value)  # and the known parameter is listed
    path = tmp_path / "bad.toml"
    path.write_text('[scorer]\nname = "fusion"\n[scorer.cf]\nname = "ease"\nshrinkage = 2\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="shrinkage") as error:
        PipelineConfig.from_toml(path)
    assert str(path) in str(error.value)


@pytest.mark.parametrize("name", TEXT_SCORERS)
def test_text_scorer_without_encoder_section(tiny: Interactions, name: str) -> None:
    with pytest.raises(ConfigError, match=r"\[encoder\]"):
        PipelineConfig.for_model(name).fit(tiny, tiny_catalog(tiny))


def test_encoder_section_without_catalogue(tiny: Interactions) -> None:
    config = PipelineConfig.for_model("content").with_values({"encoder.model": "tfidf"})
    with pytest.raises(ConfigError, match="catalogue"):
        config.fit(tiny)
