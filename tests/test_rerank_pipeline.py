"""Re-ranking in the pipeline: the [rerank] config, recommend(), save/load, errors, and exposure control."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from prismrec.core.config import PipelineConfig, RerankConfig
from prismrec.core.persistence import load_pipeline, save_pipeline
from prismrec.core.pipeline import FittedPipeline
from prismrec.core.request import RecommendRequest
from prismrec.data.items import ItemSide
from prismrec.data.schema import Catalog, IdMap, Interactions, build_catalog
from prismrec.errors import ConfigError, PrismrecError
from prismrec.rerank.adaptive import Adaptive
from prismrec.rerank.base import RerankContext
from prismrec.rerank.exposure import Exposure, ExposureCounter, row_zscores
from prismrec.rerank.inner import RerankerComponent
from prismrec.rerank.registry import rerankers

GENRES = ("drama", "comedy", "horror", "action", "romance")
N_USERS, N_ITEMS = 50, 36


# ------------------------------------------------------------------ data


@pytest.fixture(scope="module")
def log() -> tuple[Interactions, Catalog]:
    """50 users x 36 items; item i has genre i % 5 (every third item a second genre), titles name the genres."""
    rng = np.random.default_rng(0)
    taste = rng.dirichlet(np.ones(len(GENRES)) * 0.5, size=N_USERS)  # focused and broad users
    genre = np.arange(N_ITEMS) % len(GENRES)
    users, items = [], []
    for user in range(N_USERS):
        weights = taste[user][genre] + 0.02
        picked = rng.choice(N_ITEMS, size=int(rng.integers(3, 12)), replace=False, p=weights / weights.sum())
        users += [user] * len(picked)
        items += picked.tolist()
    inter = Interactions.from_arrays(np.array(users), np.array(items), IdMap([f"u{u}" for u in range(N_USERS)]),
                                     IdMap([f"i{i}" for i in range(N_ITEMS)]))  # fmt: skip
    categories = [(GENRES[g],) if i % 3 else (GENRES[g], GENRES[(g + 2) % len(GENRES)]) for i, g in enumerate(genre)]
    table = pd.DataFrame({"item_id": inter.item_ids.ids,
                          "title": [f"{' '.join(c)} story number {i}" for i, c in enumerate(categories)],
                          "genres": categories})  # fmt: skip
    return inter, build_catalog(inter.item_ids, table, ["title"], "genres")


TFIDF = {"encoder.model": "tfidf", "encoder.dim": "8"}


def config_with(values: dict[str, str]) -> PipelineConfig:
    return PipelineConfig.for_model("ease", {"lambda": 50}).with_values(values)


def fitted(log: tuple[Interactions, Catalog], values: dict[str, str]) -> FittedPipeline:
    inter, catalog = log
    return config_with(values).fit(inter, catalog)


def lists(pipeline: FittedPipeline, users: np.ndarray, k: int, **options: object) -> tuple[np.ndarray, np.ndarray]:
    """(items, scores) of the users' top-k lists."""
    result = pipeline.recommend(RecommendRequest.for_users(users, k=k, **options))
    return result.items, result.scores


# ------------------------------------------------------------------ configuration


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "pipeline.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_rerank_section_parses_and_round_trips(tmp_path: Path) -> None:
    path = write(tmp_path, '[scorer]\nname = "ease"\n\n[rerank]\nname = "mmr"\nlambda = 0.45\nsimilarity = "category"\n'
                           '\n[recommend]\ncandidates = 40\norder = "score"\n')  # fmt: skip
    config = PipelineConfig.from_toml(path)
    assert config.rerank is not None and config.rerank.name == "mmr"
    assert config.rerank.params.lambda_ == 0.45 and config.rerank.params.similarity == "category"
    assert config.recommend.candidates == 40 and config.recommend.order == "score"
    again = write(tmp_path, config.to_toml())
    assert PipelineConfig.from_toml(again) == config
    assert config.to_dict()["rerank"] == {"name": "mmr", "lambda": 0.45, "similarity": "category"}


def test_nested_rerank_sections_round_trip(tmp_path: Path) -> None:
    text = (
        '[scorer]\nname = "ease"\n\n[rerank]\nname = "exposure"\nmax_cost = 1.5\nswaps = 3\n\n'
        '[rerank.inner]\nname = "adaptive"\nstrength = 0.8\nmeasure = "entropy"\n\n'
        '[rerank.inner.inner]\nname = "dpp"\ntheta = 0.6\nwindow = 4\nsimilarity = "category"\n'
    )
    config = PipelineConfig.from_toml(write(tmp_path, text))
    assert config.rerank is not None
    params = config.rerank.params
    assert (params.max_cost, params.swaps) == (1.5, 3)
    assert isinstance(params.inner, RerankerComponent) and params.inner.name == "adaptive"
    inner = dict(params.inner.values)
    assert inner["strength"] == 0.8 and inner["inner"]["name"] == "dpp"
    assert inner["inner"]["theta"] == 0.6 and inner["inner"]["window"] == 4
    assert PipelineConfig.from_toml(write(tmp_path, config.to_toml())) == config


def test_nested_adaptive_inside_exposure_builds(tmp_path: Path) -> None:
    text = (
        '[scorer]\nname = "ease"\n\n[rerank]\nname = "exposure"\n\n'
        '[rerank.inner]\nname = "adaptive"\nstrength = 0.8\n\n'
        '[rerank.inner.inner]\nname = "dpp"\ntheta = 0.6\nwindow = 4\nsimilarity = "category"\n'
    )
    config = PipelineConfig.from_toml(write(tmp_path, text))
    assert config.rerank is not None
    reranker = config.rerank.create()
    assert isinstance(reranker, Exposure) and isinstance(reranker.inner, Adaptive)
    assert reranker.inner.inner.params.theta == 0.6 and reranker.inner.inner.params.window == 4


def test_with_values_adds_changes_and_removes_the_reranker() -> None:
    plain = PipelineConfig.for_model("ease")
    assert plain.rerank is None
    config = plain.with_values({"rerank.name": "mmr", "rerank.lambda": "0.4"})
    assert config.rerank == RerankConfig.build("mmr", {"lambda": 0.4})
    assert config.scorer == plain.scorer
    changed = config.with_values({"rerank.similarity": "category"})
    assert changed.rerank is not None and changed.rerank.params.lambda_ == 0.4
    assert changed.rerank.params.similarity == "category"
    assert config.with_values({"rerank.name": "none"}).rerank is None
    other = config.with_values({"rerank.name": "calibrated"})  # a new name starts from its defaults
    assert other.rerank == RerankConfig.build("calibrated")
    nested = plain.with_values({"rerank.name": "exposure", "rerank.inner.name": "mmr", "rerank.inner.lambda": "0.2"})
    assert nested.rerank is not None
    assert nested.rerank.params.inner == RerankerComponent("mmr", (("lambda", 0.2), ("similarity", "embedding")))


def test_with_values_reaches_a_component_two_levels_down() -> None:
    # [rerank.inner.inner] exists in TOML (exposure -> adaptive -> mmr); `name=value` reaches it too.
    config = PipelineConfig.for_model("ease").with_values(
        {"rerank.name": "exposure", "rerank.inner.name": "adaptive", "rerank.inner.inner.similarity": "category"}
    )
    assert config.rerank is not None and config.rerank.params.inner.name == "adaptive"
    assert dict(config.rerank.params.inner.values)["inner"]["similarity"] == "category"


def test_every_registered_reranker_builds_from_its_defaults() -> None:
    for name, cls in rerankers().items():
        config = RerankConfig.build(name)
        assert config.to_dict()["name"] == name
        assert isinstance(cls(config.params), cls)
        assert cls.knob in config.to_dict()


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"rerank.name": "mrm"}, r"unknown re-ranker 'mrm'; choose one of mmr, dpp"),
        ({"rerank.name": "mmr", "rerank.lambda": "1.5"}, r"re-ranker 'mmr' parameter 'lambda': 1.5 is above the max"),
        ({"rerank.name": "mmr", "rerank.lamda": "0.5"}, r"re-ranker 'mmr' has no parameter \['lamda'\]; .*lambda"),
        ({"rerank.name": "dpp", "rerank.similarity": "genre"}, r"'genre' is not one of embedding, category"),
        ({"rerank.lambda": "0.5"}, r"no \[rerank\] section to change: set rerank.name first"),
        ({"rerank.name": "exposure", "rerank.inner.name": "nope"}, r"unknown re-ranker 'nope'"),
        ({"recommend.order": "random"}, r"'random' is not one of rerank, score"),
    ],
)
def test_bad_rerank_values_raise_config_errors(values: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        PipelineConfig.for_model("ease").with_values(values)


def test_bad_rerank_section_in_toml_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, '[scorer]\nname = "ease"\n\n[rerank]\nlambda = 0.3\n')
    with pytest.raises(ConfigError, match=r"\[rerank\] needs name = "):
        PipelineConfig.from_toml(path)
    path = write(tmp_path, '[scorer]\nname = "ease"\n\n[rerank]\nname = "xquad"\ngamma = 2\n')
    with pytest.raises(ConfigError, match=r"re-ranker 'xquad' has no parameter \['gamma'\]") as error:
        PipelineConfig.from_toml(path)
    assert str(path) in str(error.value)


def test_cross_user_reranker_cannot_be_nested(log: tuple[Interactions, Catalog]) -> None:
    config = PipelineConfig.for_model("ease").with_values({"rerank.name": "adaptive", "rerank.inner.name": "exposure"})
    assert config.rerank is not None
    with pytest.raises(ConfigError, match="needs a list re-ranker inside, not 'exposure'"):
        config.rerank.create()
    with pytest.raises(ConfigError, match="needs a list re-ranker inside, not 'exposure'"):
        config.fit(*log)


@pytest.mark.parametrize(
    "values",
    [
        {"rerank.name": "mmr"},
        {"rerank.name": "dpp"},
        {"rerank.name": "proportional"},
        {"rerank.name": "adaptive", "rerank.inner.similarity": "category", "rerank.measure": "spread"},
        {"rerank.name": "exposure", "rerank.inner.name": "mmr"},
    ],
)
def test_embedding_similarity_without_encoder_fails_at_fit(log: tuple[Interactions, Catalog],
                                                            values: dict[str, str]) -> None:  # fmt: skip
    inter, catalog = log
    config = config_with(values)
    with pytest.raises(ConfigError, match=r"add an \[encoder\] section"):
        config.fit(inter, catalog)


def test_category_reranker_without_categories_fails_at_fit(log: tuple[Interactions, Catalog]) -> None:
    inter, _ = log
    with pytest.raises(ConfigError, match="needs item categories"):
        config_with({"rerank.name": "calibrated"}).fit(inter)


# ------------------------------------------------------------------ recommend


RERANKED = [
    {"rerank.name": "mmr", "rerank.lambda": "0.6", **TFIDF},
    {"rerank.name": "mmr", "rerank.similarity": "category"},
    {"rerank.name": "dpp", "rerank.theta": "0.5", **TFIDF},
    {"rerank.name": "dpp", "rerank.window": "3", "rerank.similarity": "category"},
    {"rerank.name": "calibrated", "rerank.lambda": "0.8"},
    {"rerank.name": "xquad", "rerank.lambda": "0.8"},
    {"rerank.name": "proportional", "rerank.max_interests": "3", "rerank.events_per_interest": "2", **TFIDF},
    {"rerank.name": "popularity", "rerank.gamma": "1.5"},
    {"rerank.name": "adaptive", "rerank.strength": "1", "rerank.inner.similarity": "category"},
    {"rerank.name": "exposure", "rerank.max_cost": "2"},
]


@pytest.mark.parametrize("values", RERANKED, ids=lambda v: "-".join(str(x) for x in v.values() if x != "tfidf"))
def test_recommend_picks_k_distinct_unseen_items_from_the_top_candidates(
    log: tuple[Interactions, Catalog], values: dict[str, str]
) -> None:
    inter, _ = log
    k, pool = 6, 15
    pipeline = fitted(log, {**values, "recommend.candidates": str(pool)})
    users = np.arange(N_USERS)
    items, scores = lists(pipeline, users, k)
    plain_items, plain_scores = lists(pipeline.with_rerank(None), users, pool)
    seen = inter.matrix().toarray() > 0
    assert items.shape == (N_USERS, k)
    for user in users:
        assert (items[user] >= 0).all() and len(set(items[user].tolist())) == k
        assert not seen[user, items[user]].any()
        assert set(items[user].tolist()) <= set(plain_items[user].tolist())
        # each item keeps its own score
        lookup = dict(zip(plain_items[user].tolist(), plain_scores[user].tolist(), strict=True))
        np.testing.assert_array_equal(scores[user], [lookup[i] for i in items[user].tolist()])
    # a diversity knob this strong changes some lists
    assert (items != plain_items[:, :k]).any()


def test_order_score_shows_the_chosen_items_by_score(log: tuple[Interactions, Catalog]) -> None:
    values = {"rerank.name": "xquad", "rerank.lambda": "0.9", "recommend.candidates": "20"}
    by_rerank = lists(fitted(log, values), np.arange(N_USERS), 8)
    by_score = lists(fitted(log, {**values, "recommend.order": "score"}), np.arange(N_USERS), 8)
    assert (by_rerank[0] != by_score[0]).any()  # the re-ranked order is not the score order ...
    for user in range(N_USERS):
        assert sorted(by_score[0][user].tolist()) == sorted(by_rerank[0][user].tolist())  # ... same items
        assert (np.diff(by_score[1][user]) <= 0).all()


def test_candidates_pool_of_k_changes_nothing(log: tuple[Interactions, Catalog]) -> None:
    pipeline = fitted(log, {"rerank.name": "mmr", "rerank.lambda": "0.9", "rerank.similarity": "category",
                            "recommend.candidates": "1"})  # fmt: skip
    items, _ = lists(pipeline, np.arange(N_USERS), 5)  # the pool is at least k: the same items, re-ordered
    plain, _ = lists(pipeline.with_rerank(None), np.arange(N_USERS), 5)
    assert all(set(a.tolist()) == set(b.tolist()) for a, b in zip(items, plain, strict=True))


def test_short_candidate_lists_are_padded(log: tuple[Interactions, Catalog]) -> None:
    pipeline = fitted(log, {"rerank.name": "calibrated", "rerank.lambda": "0.9"})
    allowed = np.zeros(N_ITEMS, dtype=bool)
    allowed[:4] = True
    items, scores = lists(pipeline, np.arange(N_USERS), 6, candidates=allowed)
    seen = log[0].matrix().toarray() > 0
    for user in range(N_USERS):
        expected = set(np.flatnonzero(allowed & ~seen[user]).tolist())
        listed = items[user][items[user] >= 0]
        assert set(listed.tolist()) == expected and len(listed) == len(expected)
        assert (items[user][len(listed) :] == -1).all() and np.isnan(scores[user][len(listed) :]).all()


def test_calibrated_lists_are_better_calibrated(log: tuple[Interactions, Catalog]) -> None:
    from prismrec.evaluation.diversity import miscalibration

    pipeline = fitted(log, {"rerank.name": "calibrated", "rerank.lambda": "0.9", "recommend.candidates": "30"})
    users = np.arange(N_USERS)
    assert pipeline.history is not None and pipeline.side.categories is not None
    reranked = miscalibration(lists(pipeline, users, 8)[0], pipeline.history, pipeline.side.categories)
    plain = miscalibration(lists(pipeline.with_rerank(None), users, 8)[0], pipeline.history,
                           pipeline.side.categories)  # fmt: skip
    assert np.nanmean(reranked) < 0.7 * np.nanmean(plain)


# ------------------------------------------------------------------ save / load


ADAPTIVE = {"rerank.name": "adaptive", "rerank.strength": "0.9", "rerank.inner.name": "dpp",
            "rerank.inner.similarity": "category", "recommend.candidates": "20"}  # fmt: skip


def test_save_load_round_trip_with_adaptive_reranker(log: tuple[Interactions, Catalog], tmp_path: Path) -> None:
    pipeline = fitted(log, ADAPTIVE)
    folder = save_pipeline(pipeline, tmp_path / "model")
    state = folder / "rerank" / "breadth_quantiles.npy"
    assert state.is_file()
    assert isinstance(pipeline.reranker, Adaptive) and pipeline.reranker.quantiles is not None
    np.testing.assert_array_equal(np.load(state, allow_pickle=False), pipeline.reranker.quantiles)
    loaded = load_pipeline(folder)
    assert loaded.config == pipeline.config
    before, after = lists(pipeline, np.arange(N_USERS), 7), lists(loaded, np.arange(N_USERS), 7)
    np.testing.assert_array_equal(after[0], before[0])
    np.testing.assert_array_equal(after[1], before[1])
    assert (before[0] != lists(pipeline.with_rerank(None), np.arange(N_USERS), 7)[0]).any()


def test_save_load_round_trip_with_exposure_over_adaptive(log: tuple[Interactions, Catalog], tmp_path: Path) -> None:
    # Exposure control over the adaptive balance (over its default MMR on embedding vectors).
    values = {"rerank.name": "exposure", "rerank.max_cost": "1", "rerank.inner.name": "adaptive", **TFIDF}
    pipeline = fitted(log, values)
    folder = save_pipeline(pipeline, tmp_path / "model")
    assert (folder / "rerank" / "breadth_quantiles.npy").is_file()
    loaded = load_pipeline(folder)
    np.testing.assert_array_equal(
        lists(loaded, np.arange(N_USERS), 5)[0], lists(pipeline, np.arange(N_USERS), 5)[0]
    )


def test_load_without_the_reranker_state_raises_prismrec_error(
    log: tuple[Interactions, Catalog], tmp_path: Path
) -> None:
    folder = save_pipeline(fitted(log, ADAPTIVE), tmp_path / "model")
    (folder / "rerank" / "breadth_quantiles.npy").unlink()
    with pytest.raises(PrismrecError):
        load_pipeline(folder)


def test_save_load_with_encoder_vectors(log: tuple[Interactions, Catalog], tmp_path: Path) -> None:
    pipeline = fitted(log, {"rerank.name": "mmr", "rerank.lambda": "0.7", **TFIDF})
    loaded = load_pipeline(save_pipeline(pipeline, tmp_path / "model"))
    np.testing.assert_array_equal(
        lists(loaded, np.arange(N_USERS), 5)[0], lists(pipeline, np.arange(N_USERS), 5)[0]
    )


# ------------------------------------------------------------------ exposure control (batch and online)


def exposure_case(seed: int, n: int = 40, n_items: int = 80, m: int = 15) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(items [n, m], float32 scores [n, m], popularity [n_items]): shared item quality + user noise, best first."""
    rng = np.random.default_rng(seed)
    quality = rng.normal(size=n_items)
    scores = quality[None, :] + 0.6 * rng.normal(size=(n, n_items))
    items = np.argsort(-scores, axis=1)[:, :m].astype(np.int64)
    top = np.take_along_axis(scores, items, axis=1).astype(np.float32)
    return items, top, rng.integers(0, 100, size=n_items).astype(np.float64)


def context_for(n: int, popularity: np.ndarray, exposure: ExposureCounter | None = None) -> RerankContext:
    return RerankContext(ItemSide(), popularity, sp.csr_matrix((n, len(popularity))), exposure)


def inner_lists(items: np.ndarray, scores: np.ndarray, popularity: np.ndarray, gamma: float, k: int) -> np.ndarray:
    """The lists before any swap: each row's top k by z-score - γ log(1 + popularity)."""
    z = row_zscores(scores) - gamma * np.log1p(popularity[items])
    order = np.argsort(-z, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(items, order, axis=1)


def position_of(items: np.ndarray, row: int, item: int) -> int:
    return int(np.flatnonzero(items[row] == item)[0])


@pytest.mark.parametrize("gamma", [0.0, 0.5])
def test_exposure_without_budget_keeps_the_inner_lists(gamma: float) -> None:
    items, scores, popularity = exposure_case(1)
    reranker = Exposure(max_cost=0.0, swaps=3, gamma=gamma)
    chosen, chosen_scores = reranker.rerank(items, scores, context_for(len(items), popularity), 5)
    expected = inner_lists(items, scores, popularity, gamma, 5)
    np.testing.assert_array_equal(chosen, expected)
    for row in range(len(items)):  # each item keeps its own score
        np.testing.assert_array_equal(
            chosen_scores[row], [scores[row, position_of(items, row, i)] for i in chosen[row]]
        )


@pytest.mark.parametrize(("seed", "max_cost", "swaps"), [(2, 0.5, 1), (3, 1.0, 2), (4, 3.0, 3), (5, 1.5, 2)])
def test_exposure_batch_swaps_follow_the_rules(seed: int, max_cost: float, swaps: int) -> None:
    items, scores, popularity = exposure_case(seed)
    k = 5
    inner = inner_lists(items, scores, popularity, 0.0, k)
    reranker = Exposure(max_cost=max_cost, swaps=swaps)
    chosen, _ = reranker.rerank(items, scores, context_for(len(items), popularity), k)
    z = row_zscores(scores)
    shown_before = set(inner.ravel().tolist())
    shown_after = set(chosen.ravel().tolist())
    assert len(shown_after) > len(shown_before)  # this budget buys some coverage
    assert shown_before <= shown_after  # no item of the inner lists disappears from all lists
    new_items = [item for item in chosen.ravel().tolist() if item not in shown_before]
    assert len(new_items) == len(set(new_items))  # each unexposed item goes to one list only
    for row in range(len(items)):
        assert len(set(chosen[row].tolist())) == k and set(chosen[row].tolist()) <= set(items[row].tolist())
        changed = np.flatnonzero(chosen[row] != inner[row])
        assert len(changed) <= swaps
        for slot in changed:
            new, old = int(chosen[row, slot]), int(inner[row, slot])
            assert new not in shown_before  # swapped in: was in no list
            drop = z[row, position_of(items, row, old)] - z[row, position_of(items, row, new)]
            assert drop <= max_cost + 1e-9


def test_exposure_batch_is_independent_of_the_user_order() -> None:
    items, scores, popularity = exposure_case(6)
    reranker = Exposure(max_cost=1.0, swaps=2)
    chosen, _ = reranker.rerank(items, scores, context_for(len(items), popularity), 5)
    order = np.random.default_rng(0).permutation(len(items))
    shuffled, _ = reranker.rerank(items[order], scores[order], context_for(len(items), popularity), 5)
    np.testing.assert_array_equal(shuffled, chosen[order])


def test_exposure_online_counts_every_list_and_swaps_in_only_unshown_items() -> None:
    items, scores, popularity = exposure_case(7)
    k = 5
    counter = ExposureCounter(len(popularity))
    counter.add(np.array([items[0, 7], items[1, 8], -1]))  # shown by an earlier call
    earlier = counter.counts.copy()
    chosen, _ = Exposure(max_cost=1.5, swaps=2).rerank(items, scores, context_for(len(items), popularity, counter), k)
    np.testing.assert_array_equal(counter.counts, earlier + np.bincount(chosen.ravel(), minlength=len(popularity)))
    inner = inner_lists(items, scores, popularity, 0.0, k)
    z = row_zscores(scores)
    swapped = 0
    for row in range(len(items)):
        before = earlier + np.bincount(chosen[:row].ravel(), minlength=len(popularity))  # counts this list saw
        assert len(set(chosen[row].tolist())) == k
        changed = np.flatnonzero(chosen[row] != inner[row])
        assert len(changed) <= 2
        for slot in changed:
            new, old = int(chosen[row, slot]), int(inner[row, slot])
            assert before[new] < 1  # not shown by any earlier list
            assert before[old] >= 1  # what it replaced is shown elsewhere
            assert z[row, position_of(items, row, old)] - z[row, position_of(items, row, new)] <= 1.5 + 1e-9
            swapped += 1
    assert swapped > 0


def test_exposure_online_lists_with_empty_slots_have_distinct_items() -> None:
    # A user with three candidates and k = 5; items 5 and 6 were shown before, the best one (1) was not.
    counter = ExposureCounter(10)
    counter.add(np.array([5, 6]))
    items = np.array([[1, 5, 6, -1, -1]])
    scores = np.array([[3.0, 2.0, 1.0, np.nan, np.nan]], np.float32)
    context = context_for(1, np.zeros(10), counter)
    chosen, _ = Exposure(max_cost=1.0, swaps=2).rerank(items, scores, context, 5)
    listed = chosen[0][chosen[0] >= 0]
    assert sorted(listed.tolist()) == [1, 5, 6]  # nothing to swap in: every candidate is listed already
    np.testing.assert_array_equal(counter.counts[[1, 5, 6]], [1, 2, 2])


def test_exposure_counter_decay() -> None:
    counter = ExposureCounter(4, decay=0.5)
    counter.add(np.array([0, 1, -1]))
    counter.add(np.array([1, 2]))
    np.testing.assert_allclose(counter.counts, [0.5, 1.5, 1.0, 0.0])


def test_pipeline_passes_the_service_counter(log: tuple[Interactions, Catalog]) -> None:
    pipeline = fitted(log, {"rerank.name": "exposure", "rerank.max_cost": "1.5", "recommend.candidates": "20"})
    counter = ExposureCounter(N_ITEMS)
    first, _ = lists(pipeline, np.arange(10), 5, exposure=counter)
    second, _ = lists(pipeline, np.arange(10, 20), 5, exposure=counter)
    shown = np.concatenate([first, second]).ravel()
    np.testing.assert_array_equal(counter.counts, np.bincount(shown[shown >= 0], minlength=N_ITEMS))
    batch, _ = lists(pipeline, np.arange(20), 5)  # without a counter: one offline batch
    assert len(set(batch.ravel().tolist())) >= len(set(lists(pipeline.with_rerank(None), np.arange(20), 5)[0]
                                                       .ravel().tolist()))  # fmt: skip


def test_exposure_swaps_go_to_the_user_with_the_shorter_history() -> None:
    # Two users with the same candidates and scores; item 2 is in nobody's list. Its raw cost is the
    # same for both, but user 1 has 16 events against 1 (median 4 after fit): costs (1/4)^0.5 vs (16/4)^0.5.
    items = np.array([[0, 1, 2], [0, 1, 2]], dtype=np.int64)
    scores = np.array([[3.0, 2.0, 1.0], [3.0, 2.0, 1.0]], dtype=np.float32)
    history = sp.csr_matrix(np.array([[1.0] + [0.0] * 19, [1.0] * 16 + [0.0] * 4]))
    reranker = Exposure(max_cost=2.0, swaps=1)
    reranker.fit(sp.csr_matrix(np.array([[1.0] * 4 + [0.0] * 16])), ItemSide())
    assert reranker.reference_events == 4.0
    context = RerankContext(ItemSide(), np.zeros(20), history, None)
    chosen, _ = reranker.rerank(items, scores, context, 2)
    assert chosen.tolist() == [[0, 2], [0, 1]]  # the light user takes the unexposed item
    heavy_only = Exposure(max_cost=2.0, swaps=1, activity=0.0)
    heavy_only.fit(sp.csr_matrix(np.array([[1.0] * 4 + [0.0] * 16])), ItemSide())
    chosen, _ = heavy_only.rerank(items, scores, context, 2)
    assert chosen.tolist() == [[0, 2], [0, 1]]  # equal costs: ties go to the first row
    # With the heavy user first, the activity weight decides the other way round than the tie rule.
    chosen, _ = reranker.rerank(items, scores, RerankContext(ItemSide(), np.zeros(20), history[::-1], None), 2)
    assert chosen.tolist() == [[0, 1], [0, 2]]
    chosen, _ = heavy_only.rerank(items, scores, RerankContext(ItemSide(), np.zeros(20), history[::-1], None), 2)
    assert chosen.tolist() == [[0, 2], [0, 1]]


def test_exposure_state_keeps_the_reference_history_length() -> None:
    reranker = Exposure()
    reranker.fit(sp.csr_matrix(np.array([[1.0, 1.0, 0.0], [1.0, 1.0, 1.0], [0.0, 0.0, 0.0]])), ItemSide())
    restored = Exposure()
    restored.load_state(reranker.state())
    assert restored.reference_events == reranker.reference_events == 2.5


def test_calibration_target_counts_each_history_item_once_or_by_recency() -> None:
    from prismrec.rerank.calibrated import Calibrated

    categories = sp.csr_matrix(np.array([[1, 0], [0, 1], [1, 1]], dtype=np.float64))
    history = sp.csr_matrix(np.array([[0.25, 1.0, 0.0]]))  # item 0 old (weight 0.25), item 1 recent
    context = RerankContext(ItemSide(categories=categories), np.zeros(3), history)
    uniform = Calibrated(history_weights="uniform").prepare(context).targets
    recency = Calibrated(history_weights="recency").prepare(context).targets
    np.testing.assert_allclose(uniform, [[0.5, 0.5]])  # one item of each category
    np.testing.assert_allclose(recency, [[0.25 / 1.25, 1.0 / 1.25]])
    np.testing.assert_allclose(Calibrated().prepare(context).shares, [[1, 0], [0, 1], [0.5, 0.5]])
