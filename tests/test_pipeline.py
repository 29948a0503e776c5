"""The recommendation path: top-K selection, filters, cold users, chunking, saving and configuration."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import prismrec.pipeline
from prismrec.config import PipelineConfig, RecommendConfig, ScorerConfig
from prismrec.data.schema import Catalog, IdMap, Interactions, build_catalog
from prismrec.data.splits import split
from prismrec.errors import ConfigError, NotFittedError, PrismrecError
from prismrec.models import SCORERS
from prismrec.pipeline import Pipeline, lists_to_frame, top_k

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


# ------------------------------------------------------------------ Pipeline.recommend


TITLES = ["green tea", "black tea", "coffee beans", "espresso cup", "tea pot", "coffee grinder", "milk", "sugar"]


def tiny_catalog(tiny: Interactions) -> Catalog:
    """Titles for the tiny log's items (tea and coffee themes), as a catalogue."""
    items = pd.DataFrame({"item_id": tiny.item_ids.ids, "title": TITLES[: tiny.n_items]})
    return build_catalog(tiny.item_ids, items, ["title"], None)


def fitted(train: Interactions, name: str = "ease", **values: object) -> Pipeline:
    """A fitted pipeline; scorers that read text get the tiny catalogue and the TF-IDF encoder."""
    config = PipelineConfig.for_model(name, values)
    if SCORERS[name].needs_vectors:
        config = config.with_values({"encoder.model": "tfidf", "encoder.dim": 4})
        return Pipeline(config).fit(train, tiny_catalog(train))
    return Pipeline(config).fit(train)


@pytest.mark.parametrize("name", sorted(SCORERS))
def test_recommend_excludes_seen_items(tiny: Interactions, name: str) -> None:
    pipeline = fitted(tiny, name)
    items, scores = pipeline.recommend(np.arange(4), 8)
    history = tiny.matrix().toarray().astype(bool)
    for user in range(4):
        listed = items[user][items[user] >= 0]
        assert not history[user, listed].any()
        # every unseen item is listed (k = n_items), and nothing else
        assert set(listed.tolist()) == set(np.flatnonzero(~history[user]).tolist())
        assert np.isnan(scores[user][items[user] < 0]).all()


def test_recommend_can_keep_seen_items(tiny: Interactions) -> None:
    items, _ = fitted(tiny).recommend(np.array([0]), 8, exclude_seen=False)
    assert sorted(items[0].tolist()) == list(range(8))  # u1 has 8 events; all of them come back


def test_recommend_respects_candidates(tiny: Interactions) -> None:
    candidates = np.array([True, False, True, False, True, True, False, False])  # i1, i3, i5, i6
    items, _ = fitted(tiny, "itemknn").recommend(np.arange(4), 8, candidates=candidates)
    listed = items[items >= 0]
    assert candidates[listed].all()
    # u4 has only i6 -> i1, i3, i5 remain; u1 has seen all four candidates -> empty list
    assert sorted(items[3][items[3] >= 0].tolist()) == [0, 2, 4]
    np.testing.assert_array_equal(items[0], [-1] * 8)


def test_cold_user_gets_the_popular_items(tiny: Interactions) -> None:
    parts = split(tiny, "temporal")  # u4's only event is held out: u4 has no train history
    pipeline = fitted(parts.train, "ease")
    items, scores = pipeline.recommend(np.array([3]), 8)
    # train counts: i1 2, i2 2, i3 2, i4 2, i5 1 (u1), i6 2 (u1, u2), i7 0, i8 0; ties by lower index
    np.testing.assert_array_equal(items[0], [0, 1, 2, 3, 5, 4, 6, 7])
    np.testing.assert_array_equal(scores[0], [2, 2, 2, 2, 2, 1, 0, 0])


@pytest.mark.parametrize("budget", [1, 17, 40])
def test_chunking_gives_the_same_lists(monkeypatch: pytest.MonkeyPatch, budget: int) -> None:
    rng = np.random.default_rng(3)
    users, items = np.nonzero(rng.random((30, 9)) < 0.3)
    inter = Interactions.from_arrays(users, items, IdMap([f"u{i:02d}" for i in range(30)]),
                                     IdMap([f"i{i}" for i in range(9)]))  # fmt: skip
    candidates = np.arange(9) != 4
    pipeline = fitted(inter, "itemknn")
    one_block = pipeline.recommend(np.arange(30), 5, candidates=candidates)
    monkeypatch.setattr(prismrec.pipeline, "SCORE_BUDGET", budget)  # 1 and 17 -> chunks of 1 and 1; 40 -> 4
    chunked = pipeline.recommend(np.arange(30), 5, candidates=candidates)
    np.testing.assert_array_equal(chunked[0], one_block[0])
    np.testing.assert_array_equal(chunked[1], one_block[1])


def test_k_defaults_to_config_and_is_capped_at_n_items(tiny: Interactions) -> None:
    config = PipelineConfig(ScorerConfig.build("most-popular"), RecommendConfig(k=3))
    pipeline = Pipeline(config).fit(tiny)
    assert pipeline.recommend(np.arange(4))[0].shape == (4, 3)
    assert pipeline.recommend(np.arange(4), 50)[0].shape == (4, 8)


def test_not_fitted_pipeline() -> None:
    with pytest.raises(NotFittedError):
        Pipeline(PipelineConfig.for_model("ease")).recommend(np.array([0]))


def test_recommend_frame_uses_external_ids(tiny: Interactions) -> None:
    frame = fitted(tiny, "most-popular").recommend_frame(["u4"], 2)
    # u4 saw i6; most popular of the rest: i3 (3 users), then i1 (2 users, lowest index)
    assert frame.to_dict("list") == {"user_id": ["u4", "u4"], "item_id": ["i3", "i1"], "rank": [1, 2],
                                     "score": [3.0, 2.0]}  # fmt: skip


def test_lists_to_frame_drops_padding() -> None:
    ids = IdMap(["a", "b"])
    frame = lists_to_frame(ids, IdMap(["x", "y", "z"]), np.array([1, 0]), np.array([[2, -1], [0, 1]]),
                           np.array([[0.5, np.nan], [0.9, 0.1]], np.float32))  # fmt: skip
    assert frame[["user_id", "item_id", "rank"]].values.tolist() == [["b", "z", 1], ["a", "x", 1], ["a", "y", 2]]


# ------------------------------------------------------------------ save / load


@pytest.mark.parametrize("name", sorted(SCORERS))
def test_save_load_round_trip(tiny: Interactions, tmp_path: Path, name: str) -> None:
    pipeline = fitted(tiny, name)
    pipeline.save(tmp_path / "model")
    loaded = Pipeline.load(tmp_path / "model")
    before, after = pipeline.recommend(np.arange(4), 5), loaded.recommend(np.arange(4), 5)
    np.testing.assert_array_equal(after[0], before[0])
    np.testing.assert_array_equal(after[1], before[1])
    assert loaded.user_ids == tiny.user_ids and loaded.item_ids == tiny.item_ids
    assert loaded.config == pipeline.config


def test_saved_folder_has_no_pickle(tiny: Interactions, tmp_path: Path) -> None:
    folder = fitted(tiny, "itemknn").save(tmp_path / "model")
    arrays = sorted(folder.rglob("*.npy"))
    assert len(arrays) >= 6  # history (4 arrays), popularity, similarity (4 arrays)
    for path in arrays:
        assert np.load(path, allow_pickle=False).dtype != object
    suffixes = {p.suffix for p in folder.rglob("*") if p.is_file()}
    assert suffixes <= {".npy", ".json", ".toml"}


@pytest.mark.parametrize("victim", ["popularity.npy", "history.indptr.npy", "meta.json", "config.toml"])
def test_load_damaged_folder_raises_prismrec_error(tiny: Interactions, tmp_path: Path, victim: str) -> None:
    folder = fitted(tiny, "ease").save(tmp_path / "model")
    (folder / victim).unlink()
    with pytest.raises(PrismrecError):
        Pipeline.load(folder)


def test_load_truncated_array_raises_prismrec_error(tiny: Interactions, tmp_path: Path) -> None:
    folder = fitted(tiny, "ease").save(tmp_path / "model")
    path = folder / "popularity.npy"
    path.write_bytes(path.read_bytes()[:20])
    with pytest.raises(PrismrecError, match="incomplete or damaged"):
        Pipeline.load(folder)


@pytest.mark.parametrize("victim", ["scorer/weights.npy", "user_ids.json", "item_ids.json"])
def test_load_folder_missing_scorer_or_ids_raises_prismrec_error(
    tiny: Interactions, tmp_path: Path, victim: str
) -> None:
    folder = fitted(tiny, "ease").save(tmp_path / "model")
    (folder / victim).unlink()
    with pytest.raises(PrismrecError):
        Pipeline.load(folder)


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
