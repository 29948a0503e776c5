"""Bundle recommendation: scorers, the CrossCBR protocol, splits, tuning, saving, the pipeline and the CLI.

`tiny_bundles` (4 users, 6 items, 5 bundles; indices follow the ids: u1=0 ... u4=3, i1=0 ... i6=5, b1=0 ... b5=4):

    bundle  items          train users   tune  test          user  items (the dataset's item log)
    b1      i1 i2          u1 u3               u2            u1    i1 i2 i3
    b2      i2 i3          u1 u2 u4                          u2    i2 i3 i4
    b3      i3 i4 i5       u2 u3               u1            u3    i1 i5
    b4      i5 i6          u4            u3                  u4    i4 i5 i6
    b5      i1 i6          (none)                    u1 u4

Real data: Youshu (published split) against the reference evaluator, and BundleRec-Electronic (seeded split,
item titles) for the leak check, tuning and the CLI.
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from typer.testing import CliRunner, Result

from prismrec.bundles.config import BundleScorerConfig
from prismrec.bundles.evaluate import BundleEvaluation, evaluate_bundles, rank_bundles, tune_bundle_scorer
from prismrec.bundles.pipeline_bundles import PipelineBundles
from prismrec.bundles.recommender import BundleRecommender
from prismrec.bundles.scorers import BundleScorer, item_neighbours, item_overlap, text_affinity
from prismrec.bundles.signals import BundleSignals, split_user_bundles, user_bundle_parts
from prismrec.cli import app
from prismrec.core.config import PipelineConfig
from prismrec.core.persistence import load_pipeline, save_pipeline
from prismrec.data.registry import load_dataset
from prismrec.data.schema import Bundles, Dataset, IdMap, assemble, binary_csr
from prismrec.errors import ConfigError, PrismrecError, RequestError

TITLES = {"i1": "Espresso beans", "i2": "Milk frother", "i3": "Burr grinder", "i4": "Pour-over dripper",
          "i5": "Gooseneck kettle", "i6": "Travel mug"}  # fmt: skip
USER_ITEMS = {"u1": ("i1", "i2", "i3"), "u2": ("i2", "i3", "i4"), "u3": ("i1", "i5"), "u4": ("i4", "i5", "i6")}
BUNDLE_ITEMS = {"b1": ("i1", "i2"), "b2": ("i2", "i3"), "b3": ("i3", "i4", "i5"), "b4": ("i5", "i6"),
                "b5": ("i1", "i6")}  # fmt: skip
BUNDLE_NAMES = ("Morning", "", "Brew bar", "Kettle set", "Commute")
PARTS = {
    "train": [("u1", "b1"), ("u1", "b2"), ("u2", "b2"), ("u2", "b3"), ("u3", "b1"), ("u3", "b3"), ("u4", "b2"),
              ("u4", "b4")],
    "tune": [("u3", "b4")],
    "test": [("u1", "b3"), ("u1", "b5"), ("u2", "b1"), ("u4", "b5")],
}  # fmt: skip
# |I_u ∩ I_b| by hand from the two tables above: rows u1..u4, columns b1..b5
SHARED = np.array([[2, 2, 1, 0, 1], [1, 2, 2, 0, 0], [1, 0, 1, 1, 1], [0, 0, 2, 2, 1]], dtype=np.float64)
SIZES = np.array([2, 2, 3, 2, 2], dtype=np.float64)
USERS = np.arange(4)
CUTOFF_KEYS = ("recall@20", "ndcg@20", "recall@40", "ndcg@40")
ELECTRONIC_CONFIG = Path(__file__).resolve().parents[1] / "configs" / "bundles-tfidf.toml"


def tiny_bundle_dataset() -> Dataset:
    """The dataset of the module docstring, built like a loader builds one."""
    events = pd.DataFrame([(user, item, 1.0, float(n)) for n, (user, items) in enumerate(USER_ITEMS.items())
                           for item in items], columns=["user_id", "item_id", "value", "timestamp"])  # fmt: skip
    items = pd.DataFrame({"item_id": list(TITLES), "title": list(TITLES.values())})
    interactions, catalog, _ = assemble("tiny-bundles", events, items, ("title",), implicit=True)
    bundle_ids = IdMap(BUNDLE_ITEMS)
    members = [(bundle, item) for bundle, items in BUNDLE_ITEMS.items() for item in items]
    rows, columns = bundle_ids.indices(b for b, _ in members), interactions.item_ids.indices(i for _, i in members)
    membership = binary_csr(rows, columns, (len(bundle_ids), len(TITLES)))
    parts = {part: np.column_stack([interactions.user_ids.indices(u for u, _ in pairs),
                                    bundle_ids.indices(b for _, b in pairs)]).astype(np.int32)
             for part, pairs in PARTS.items()}  # fmt: skip
    return Dataset("tiny-bundles", interactions, catalog, Bundles(bundle_ids, membership, parts, BUNDLE_NAMES))


@pytest.fixture
def tiny_bundles() -> Dataset:
    return tiny_bundle_dataset()


@pytest.fixture
def signals(tiny_bundles: Dataset) -> BundleSignals:
    assert tiny_bundles.bundles is not None
    return BundleSignals.from_parts(tiny_bundles, tiny_bundles.bundles.user_bundles)


def scorer(name: str, signals: BundleSignals, **values: float) -> BundleScorer:
    return BundleScorerConfig.build(name, values).create().fit(signals)


def pair_set(pairs: np.ndarray) -> set[tuple[int, int]]:
    return {(int(u), int(b)) for u, b in pairs}


# ------------------------------------------------------------------ scorers on the tiny data


def test_popular_counts_train_users(signals: BundleSignals) -> None:
    np.testing.assert_array_equal(scorer("popular", signals).score(np.array([0, 3])), [[2, 3, 2, 1, 0]] * 2)


def test_ease_equals_brute_force_ridge_per_bundle(signals: BundleSignals) -> None:
    """EASE = for each bundle j, ridge regression of column j of X on the other columns (B_jj = 0)."""
    lam = 1.0
    x = signals.user_bundles.toarray().astype(np.float64)
    weights = np.zeros((5, 5))
    for j in range(5):
        others = [i for i in range(5) if i != j]
        a = x[:, others]
        weights[others, j] = np.linalg.solve(a.T @ a + lam * np.eye(4), a.T @ x[:, j])
    # and the closed form of the paper: B = I - P / diag(P), P = (XᵀX + λI)⁻¹
    p = np.linalg.inv(x.T @ x + lam * np.eye(5))
    np.testing.assert_allclose(np.eye(5) - p / np.diag(p), weights, atol=1e-12)
    scores = scorer("ease", signals, **{"lambda": lam}).score(USERS)
    np.testing.assert_allclose(scores, x @ weights, rtol=1e-5, atol=1e-6)
    assert np.all(scores[:, 4] == 0)  # b5 has no train user: EASE cannot score it


@pytest.mark.parametrize("gamma", [0.0, 0.5, 1.0])
def test_item_overlap_by_hand(signals: BundleSignals, gamma: float) -> None:
    expected = SHARED / SIZES**gamma
    np.testing.assert_allclose(scorer("item-overlap", signals, size_exponent=gamma).score(USERS), expected, rtol=1e-6)
    np.testing.assert_allclose(item_overlap(signals, USERS, gamma).toarray(), expected, rtol=1e-6)
    if gamma == 0.5:  # u1 and b3 share i3 only: 1 / √3
        assert item_overlap(signals, np.array([0]), gamma)[0, 2] == pytest.approx(1 / math.sqrt(3))


def test_fused_without_items_is_ease(signals: BundleSignals) -> None:
    fused = scorer("fused", signals, **{"lambda": 3.0, "content_weight": 0.0, "item_weight": 0.0,
                                          "neighbour_weight": 0.0})
    ease = scorer("ease", signals, **{"lambda": 3.0})
    np.testing.assert_allclose(fused.score(USERS), ease.score(USERS), rtol=1e-6, atol=1e-7)


def test_fused_scores_a_bundle_without_train_users_through_shared_items(signals: BundleSignals) -> None:
    """b5 has no train user; it shares i1 with u1's b1, so the item pseudo-users give it weight from b1."""
    fused = scorer("fused", signals, **{"lambda": 1.0, "content_weight": 1.0, "item_weight": 0.0,
                                          "neighbour_weight": 0.0})
    assert fused.score(np.array([0]))[0, 4] > 0.05
    assert scorer("ease", signals, **{"lambda": 1.0}).score(np.array([0]))[0, 4] == 0


def test_fused_item_input_adds_the_row_normalised_overlap(signals: BundleSignals) -> None:
    """(X + a·row_l2(overlap)) B: u3's overlap counts are [1, 0, 1, 1, 1] (γ = 0), of unit length /2, so with
    β = 0 the scores are EASE's plus a/2 times the sum of B's rows b1, b3, b4, b5."""
    a = 0.5
    fused = scorer("fused", signals, **{"lambda": 2.0, "content_weight": 0.0, "item_weight": a, "size_exponent": 0,
                                        "neighbour_weight": 0.0})
    weights = scorer("ease", signals, **{"lambda": 2.0}).weights.astype(np.float64)
    row = signals.user_bundles[2].toarray()[0] + a * np.array([1, 0, 1, 1, 1]) / 2
    np.testing.assert_allclose(fused.score(np.array([2]))[0], row @ weights, rtol=1e-5, atol=1e-6)


def test_item_neighbours_against_brute_force() -> None:
    rng = np.random.default_rng(3)
    dense_items = (rng.random((30, 12)) < 0.25).astype(np.float32)
    dense_items[5] = 0  # a user without items has no neighbours and is nobody's neighbour
    items = sp.csr_matrix(dense_items)
    found = item_neighbours(items, 4, chunk=7).toarray()
    dense = items.toarray().astype(np.float64)
    norms = np.linalg.norm(dense, axis=1)
    cosine = dense @ dense.T / np.maximum(np.outer(norms, norms), 1e-12)
    np.fill_diagonal(cosine, 0.0)
    for user in range(30):
        order = sorted(range(30), key=lambda v: (-cosine[user, v], v))[:4]
        expected = np.zeros(30)
        expected[[v for v in order if cosine[user, v] > 0]] = cosine[user, [v for v in order if cosine[user, v] > 0]]
        np.testing.assert_allclose(found[user], expected, rtol=1e-5, atol=1e-6)
    assert not found[5].any() and not found[:, 5].any()


def test_fused_neighbour_input_adds_the_neighbours_bundles(signals: BundleSignals) -> None:
    """(X + b·row_l2(N X)) B with a = β = 0: the neighbours' bundle votes, unit length, enter EASE's input."""
    b = 0.4
    fused = scorer("fused", signals, **{"lambda": 2.0, "content_weight": 0.0, "item_weight": 0.0, "neighbours": 2,
                                        "neighbour_weight": b})
    weights = scorer("ease", signals, **{"lambda": 2.0}).weights.astype(np.float64)
    neighbours = item_neighbours(signals.user_items, 2).toarray()
    votes = neighbours @ signals.user_bundles.toarray()
    votes /= np.maximum(np.linalg.norm(votes, axis=1, keepdims=True), 1e-12)
    expected = (signals.user_bundles.toarray() + b * votes) @ weights
    np.testing.assert_allclose(fused.score(USERS), expected, rtol=1e-5, atol=1e-6)
    assert (votes > 0).any(), "the tiny log has users who share items"


def test_text_affinity_by_hand(tiny_bundles: Dataset) -> None:
    vectors = {"i1": (1.0, 0.0), "i2": (0.0, 1.0), "i3": (1.0, 0.0), "i4": (0.0, 1.0), "i5": (0.6, 0.8),
               "i6": (0.8, -0.6)}  # fmt: skip
    assert tiny_bundles.bundles is not None
    signals = BundleSignals.from_parts(tiny_bundles, tiny_bundles.bundles.user_bundles,
                                       item_vectors=np.array(list(vectors.values()), dtype=np.float32))  # fmt: skip

    def unit_mean(items: tuple[str, ...]) -> np.ndarray:
        total = np.sum([vectors[i] for i in items], axis=0)
        return total / np.linalg.norm(total)

    expected = [[float(unit_mean(items) @ unit_mean(members)) for members in BUNDLE_ITEMS.values()]
                for items in USER_ITEMS.values()]  # fmt: skip
    found = text_affinity(signals, USERS)
    np.testing.assert_allclose(found, expected, rtol=1e-5)
    np.testing.assert_allclose(scorer("text", signals).score(USERS), expected, rtol=1e-5)
    # u1 = (2, 1)/√5, b1 = (1, 1)/√2
    assert found[0, 0] == pytest.approx(3 / math.sqrt(10), rel=1e-6)
    with pytest.raises(ConfigError, match="needs item vectors"):
        scorer("text", BundleSignals.from_parts(tiny_bundles, tiny_bundles.bundles.user_bundles))


# ------------------------------------------------------------------ the protocol on the tiny data


def test_evaluate_bundles_by_hand(tiny_bundles: Dataset, signals: BundleSignals) -> None:
    """Popular ranks b2 (3) > b1 = b3 (2, lower index first) > b4 (1) > b5 (0), without the user's train bundles:
    u1 -> b3 b4 b5 (test b3, b5), u2 -> b1 b4 b5 (test b1), u4 -> b1 b3 b5 (test b5); u3 has no test bundle."""
    assert tiny_bundles.bundles is not None
    test = tiny_bundles.bundles.user_bundles["test"]
    popular = scorer("popular", signals)
    short = evaluate_bundles(popular, signals, test, cutoffs=(1, 2))
    np.testing.assert_array_equal(short.users, [0, 1, 3])
    ndcg_u1_at_2 = 1 / (1 + 1 / math.log2(3))  # hit at rank 1 of 2; ideal: two hits
    np.testing.assert_allclose(short.per_user["recall@1"], [0.5, 1, 0])
    np.testing.assert_allclose(short.per_user["ndcg@1"], [1, 1, 0])
    np.testing.assert_allclose(short.per_user["recall@2"], [0.5, 1, 0])
    np.testing.assert_allclose(short.per_user["ndcg@2"], [ndcg_u1_at_2, 1, 0])
    assert short.metrics["recall@1"] == pytest.approx(0.5)
    assert short.metrics["ndcg@2"] == pytest.approx((ndcg_u1_at_2 + 1) / 3)
    full = evaluate_bundles(popular, signals, test)
    assert set(full.metrics) == set(CUTOFF_KEYS)
    ndcg_u1 = (1 + 1 / math.log2(4)) / (1 + 1 / math.log2(3))  # hits at ranks 1 and 3
    np.testing.assert_allclose(full.per_user["recall@20"], [1, 1, 1])
    np.testing.assert_allclose(full.per_user["ndcg@20"], [ndcg_u1, 1, 1 / math.log2(4)])
    np.testing.assert_allclose(full.per_user["ndcg@40"], full.per_user["ndcg@20"])


def test_train_bundles_are_never_ranked(signals: BundleSignals) -> None:
    lists, scores = rank_bundles(scorer("popular", signals), USERS, signals.user_bundles, 5)
    owned = [set(signals.user_bundles[u].indices) for u in USERS]
    for user in USERS:
        listed = [b for b in lists[user] if b >= 0]
        assert set(listed) == set(range(5)) - owned[user], user
        assert np.isnan(scores[user][len(listed) :]).all()  # slots of owned bundles stay empty
    np.testing.assert_array_equal(lists[0], [2, 3, 4, -1, -1])


# ------------------------------------------------------------------ splits


def test_split_user_bundles_is_a_seeded_partition() -> None:
    rng = np.random.default_rng(3)
    pairs = np.column_stack([rng.integers(0, 300, 3000), rng.integers(0, 80, 3000)]).astype(np.int32)
    unique = pair_set(pairs)
    parts = split_user_bundles(pairs, seed=5, held_out=0.2)
    sets = {name: pair_set(part) for name, part in parts.items()}
    assert sum(len(part) for part in parts.values()) == len(unique)  # duplicates count once, nothing lost
    assert sets["train"] | sets["tune"] | sets["test"] == unique
    assert not (sets["train"] & sets["tune"] or sets["train"] & sets["test"] or sets["tune"] & sets["test"])
    assert {u for u, _ in unique} == {u for u, _ in sets["train"]}  # every user keeps a train pair
    for part in parts.values():
        np.testing.assert_array_equal(part, np.unique(part, axis=0))  # sorted by (user, bundle)
    for part in ("tune", "test"):  # ≈ 20% each, less the pairs kept for users with one pair
        assert 0.15 * len(unique) < len(parts[part]) < 0.22 * len(unique), part
    again, other = split_user_bundles(pairs, seed=5, held_out=0.2), split_user_bundles(pairs, seed=6, held_out=0.2)
    for name in parts:
        np.testing.assert_array_equal(parts[name], again[name])
    assert pair_set(other["test"]) != sets["test"]
    with pytest.raises(ConfigError, match="held_out"):
        split_user_bundles(pairs, held_out=0.5)


@pytest.fixture(scope="module")
def electronic() -> Dataset:
    return load_dataset("bundlerec-electronic")


def test_train_bundle_item_log_does_not_leak_held_out_bundles(electronic: Dataset) -> None:
    parts, item_log = user_bundle_parts(electronic, seed=0)
    assert item_log == "train-bundles"
    signals = BundleSignals.from_parts(electronic, parts, item_log)
    membership = signals.membership.tocsr()
    seen_in_log = electronic.interactions.matrix()
    leaked_if_dataset_log = 0
    for user in range(signals.n_users):
        train_items = {int(i) for b in signals.user_bundles[user].indices for i in membership[b].indices}
        held_out = {int(i) for part in ("tune", "test") for u, b in parts[part] if u == user
                    for i in membership[b].indices} - train_items  # fmt: skip
        mine = set(signals.user_items[user].indices.tolist())
        assert mine == train_items, user
        assert not mine & held_out, user
        leaked_if_dataset_log += len(held_out & set(seen_in_log[user].indices.tolist()))
    assert leaked_if_dataset_log > 100  # the dataset's own item log does hold them: the rebuild matters


def test_tuning_picks_the_best_grid_point(electronic: Dataset) -> None:
    parts, item_log = user_bundle_parts(electronic, seed=0)
    signals = BundleSignals.from_parts(electronic, parts, item_log)
    grid = {"lambda": [1.0, 30.0], "content_weight": [0.3, 3.0], "item_weight": [0.0, 1.0]}
    best, trials = tune_bundle_scorer("fused", grid, signals, parts["tune"], metric="ndcg@20")
    expected = []
    for lam in grid["lambda"]:
        for beta in grid["content_weight"]:
            for a in grid["item_weight"]:
                fresh = scorer("fused", signals, **{"lambda": lam, "content_weight": beta, "item_weight": a})
                expected.append(((lam, beta, a), evaluate_bundles(fresh, signals, parts["tune"]).metrics["ndcg@20"]))
    tried = [(t.params.lambda_, t.params.content_weight, t.params.item_weight) for t in trials]
    assert tried == [point for point, _ in expected]
    np.testing.assert_allclose([t.metrics["ndcg@20"] for t in trials], [v for _, v in expected], rtol=1e-6)
    values = [v for _, v in expected]
    assert max(values) - min(values) > 0.01  # the grid matters, so picking the best is a real choice
    winner = expected[int(np.argmax(values))][0]
    assert (best.params.lambda_, best.params.content_weight, best.params.item_weight) == winner
    assert evaluate_bundles(best, signals, parts["tune"]).metrics["ndcg@20"] == pytest.approx(max(values), rel=1e-6)


# ------------------------------------------------------------------ Youshu against the paper and the reference


@dataclasses.dataclass(frozen=True)
class Youshu:
    dataset: Dataset
    parts: dict[str, np.ndarray]
    signals: BundleSignals
    fused: BundleScorer
    fused_test: BundleEvaluation


@pytest.fixture(scope="module")
def youshu() -> Youshu:
    dataset = load_dataset("youshu")
    parts, item_log = user_bundle_parts(dataset)
    assert item_log == "dataset"
    signals = BundleSignals.from_parts(dataset, parts, item_log)
    fused = BundleScorerConfig.build("fused").create().fit(signals)
    return Youshu(dataset, parts, signals, fused, evaluate_bundles(fused, signals, parts["test"]))


def test_youshu_ease_and_fused(youshu: Youshu) -> None:
    ease = evaluate_bundles(scorer("ease", youshu.signals, **{"lambda": 500.0}), youshu.signals, youshu.parts["test"])
    assert len(ease.users) == len(youshu.fused_test.users) == 2959
    assert ease.metrics["recall@20"] == pytest.approx(0.257, abs=0.01)
    assert youshu.fused_test.metrics["ndcg@20"] > ease.metrics["ndcg@20"]


def test_youshu_fused_agrees_with_the_reference_evaluator(
    youshu: Youshu, reference: ModuleType, tmp_path: Path
) -> None:
    """The reference scores lists of ids against truth pairs: bundles take the item column."""
    bundles = youshu.dataset.bundles
    assert bundles is not None
    user_ids, bundle_ids = youshu.dataset.interactions.user_ids, bundles.bundle_ids
    users = youshu.fused_test.users
    lists, _ = rank_bundles(youshu.fused, users, youshu.signals.user_bundles, 40)
    assert (lists >= 0).all()
    recs = tmp_path / "recs.csv"
    pd.DataFrame({"user_id": np.repeat(user_ids.to_external(users), 40),
                  "item_id": bundle_ids.to_external(lists.ravel()),
                  "rank": np.tile(np.arange(1, 41), len(users))}).to_csv(recs, index=False)  # fmt: skip

    def frame(pairs: np.ndarray) -> pd.DataFrame:
        return pd.DataFrame({"user_id": user_ids.to_external(pairs[:, 0]).astype(str),
                             "item_id": bundle_ids.to_external(pairs[:, 1]).astype(str)})  # fmt: skip

    train, test = frame(youshu.parts["train"]), frame(youshu.parts["test"])
    for k in (20, 40):
        lists_by_user, duplicates = reference.recs_to_lists(reference.read_recs(recs), k)
        expected = reference.evaluate_lists(lists_by_user, train, test, bundle_ids.ids.astype(str), {},
                                            len(user_ids), k)  # fmt: skip
        assert duplicates == 0 and expected["train_leaks"] == 0 and expected["n_short_lists"] == 0
        assert expected["n_eval_users"] == len(users)
        for metric in ("recall", "ndcg"):
            assert youshu.fused_test.metrics[f"{metric}@{k}"] == pytest.approx(expected[f"{metric}@{k}"], abs=1e-6)


# ------------------------------------------------------------------ the recommender, the pipeline, the config


def test_recommender_reasons_and_round_trip(tiny_bundles: Dataset, tmp_path: Path) -> None:
    """Fitted on every pair, u3 owns b1 b3 b4 and u4 owns b2 b4 b5: u3 has i1 of b5 = {i1, i6} and u4 has
    i4 and i5 of b3 = {i3, i4, i5}."""
    model = BundleRecommender.fit_dataset(BundleScorerConfig.build("fused"), tiny_bundles)
    titles = list(TITLES.values())
    lists = {user: model.recommend(user, 5, titles) for user in USERS}
    assert [set(lists[u].bundles.tolist()) for u in USERS] == [{3}, {3, 4}, {1, 4}, {0, 2}]
    reason = dict(zip(lists[2].bundles.tolist(), lists[2].reasons, strict=True))
    assert reason[4] == "has “Espresso beans” you have"
    reason = dict(zip(lists[3].bundles.tolist(), lists[3].reasons, strict=True))
    assert reason[2] == "has “Pour-over dripper” you have and 1 more of its 3 items"
    assert all(np.all(np.diff(found.scores) <= 0) for found in lists.values())
    assert model.recommend(0, 1, titles).bundles.tolist() == [3]
    loaded = BundleRecommender.load(model.save(tmp_path / "bundles"))
    assert loaded.names == list(BUNDLE_NAMES) and loaded.bundle_ids == model.bundle_ids
    for user in USERS:
        again = loaded.recommend(user, 5, titles)
        np.testing.assert_array_equal(again.bundles, lists[user].bundles)
        np.testing.assert_array_equal(again.scores, lists[user].scores)
        assert again.reasons == lists[user].reasons


def test_pipeline_fit_bundles_save_and_load(tiny_bundles: Dataset, tmp_path: Path) -> None:
    pipeline = PipelineConfig.for_model("most-popular").fit(tiny_bundles.interactions, tiny_bundles.catalog)
    folder = save_pipeline(pipeline, tmp_path / "model")
    assert not PipelineBundles.saved_in(folder)
    with pytest.raises(PrismrecError, match="prismrec bundles fit"):
        PipelineBundles.load(pipeline, folder)
    bundles = PipelineBundles.fit(pipeline, tiny_bundles)
    assert pipeline.config.bundles is None and bundles.model.config == BundleScorerConfig.build("fused")
    not_owned = [{3}, {3, 4}, {1, 4}, {0, 2}]  # every bundle but the user's train, tune and test ones
    found = {user: bundles.recommend(user, 10) for user in USERS}
    assert [set(found[u].bundles.tolist()) for u in USERS] == not_owned
    bundles.save(folder)
    assert PipelineBundles.saved_in(folder)
    loaded = PipelineBundles.load(load_pipeline(folder), folder)
    assert loaded.model.config == bundles.model.config
    for user in USERS:
        again = loaded.recommend(user, 10)
        np.testing.assert_array_equal(again.bundles, found[user].bundles)
        np.testing.assert_array_equal(again.scores, found[user].scores)
        assert again.reasons == found[user].reasons


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[scorer]\nname = "ease"\n', "no [bundles] section"),
        ('[bundles]\nname = "bundle-gnn"\n', "unknown bundle scorer 'bundle-gnn'"),
        ('[bundles]\nname = "ease"\nlambda = 10.0\nbeta = 2.0\n', "has no parameter ['beta']"),
    ],
)
def test_bundle_config_errors(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bundles.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as error:
        BundleScorerConfig.from_toml(path)
    assert message in str(error.value) and str(path) in str(error.value)


def test_bundle_config_reads_the_section(tmp_path: Path) -> None:
    path = tmp_path / "bundles.toml"
    path.write_text('[bundles]\nname = "fused"\nlambda = 200.0\nitem_weight = 0.5\n', encoding="utf-8")
    config = BundleScorerConfig.from_toml(path)
    assert (config.name, config.params.lambda_, config.params.item_weight) == ("fused", 200.0, 0.5)
    assert config.params.content_weight == BundleScorerConfig.build("fused").params.content_weight


# ------------------------------------------------------------------ the CLI


def invoke(*args: str | Path) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args])


def ok(result: Result) -> Result:
    assert result.exit_code == 0, f"exit {result.exit_code}\nstdout: {result.stdout}\nstderr: {result.stderr}"
    return result


def test_cli_evaluate_youshu_matches_the_library(youshu: Youshu) -> None:
    summary = json.loads(ok(invoke("bundles", "evaluate", "--dataset", "youshu", "--json")).stdout)
    assert (summary["scorer"], summary["split"], summary["test_users"]) == ("fused", "published", 2959)
    for key in CUTOFF_KEYS:
        assert summary[key] == pytest.approx(youshu.fused_test.metrics[key], abs=1e-12), key


def test_cli_evaluate_without_bundles_is_a_one_line_error() -> None:
    result = invoke("bundles", "evaluate", "--dataset", "ml-100k")
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    message = result.stderr.strip()
    assert "\n" not in message and "ml-100k has no bundles" in message, message


def test_cli_fit_and_recommend_bundlerec(electronic: Dataset, tmp_path: Path) -> None:
    config = ELECTRONIC_CONFIG
    model = tmp_path / "model"
    summary = json.loads(ok(invoke("bundles", "fit", "--dataset", "bundlerec-electronic", "--config", config,
                                   "--out", model, "--json")).stdout)  # fmt: skip
    assert (summary["bundles"], summary["bundle_scorer"]) == (1750, "fused")
    bundles = electronic.bundles
    assert bundles is not None
    users, counts = np.unique(bundles.user_bundles["all"][:, 0], return_counts=True)
    user = int(users[np.argmax(counts)])  # the user with most bundles
    user_id = electronic.interactions.user_ids.ids[user]
    owned = {bundles.bundle_ids.ids[b] for u, b in bundles.user_bundles["all"] if u == user}
    rows = json.loads(ok(invoke("bundles", "recommend", "--model", model, "--user", user_id, "-k", "4",
                                "--json")).stdout)  # fmt: skip
    assert len(rows) == 4 and not {row["bundle_id"] for row in rows} & owned
    assert [row["score"] for row in rows] == sorted((row["score"] for row in rows), reverse=True)
    item_ids = electronic.interactions.item_ids
    for row in rows:
        assert set(row) == {"bundle_id", "name", "score", "items", "reason"}
        bundle = bundles.bundle_ids.index(row["bundle_id"])
        assert row["name"] == bundles.names[bundle] and row["reason"]
        members = bundles.membership[bundle].indices
        assert row["items"] == [{"item_id": item_ids.ids[i], "title": electronic.catalog.title(i)} for i in members]
    unknown = invoke("bundles", "recommend", "--model", model, "--user", "no-such-user")
    assert unknown.exit_code == 1 and "unknown user 'no-such-user'" in unknown.stderr


def test_pipeline_generates_bundles_and_keeps_them_after_save_and_load(electronic: Dataset, tmp_path: Path) -> None:
    config = PipelineConfig.from_toml(ELECTRONIC_CONFIG)
    pipeline = PipelineBundles.fit(config.fit(electronic.interactions, electronic.catalog), electronic)
    bundles = electronic.bundles
    assert bundles is not None
    seed = int(bundles.membership[0].indices[0])
    requests = ({"items": [seed]}, {"user": 0}, {"intent": "watching a movie"})
    before = [pipeline.generate(**request) for request in requests]
    folder = save_pipeline(pipeline.pipeline, tmp_path / "model")
    pipeline.save(folder)
    loaded = PipelineBundles.load(load_pipeline(folder), folder)
    after = [loaded.generate(**request) for request in requests]
    for first, second in zip(before, after, strict=True):
        assert first.items.tolist() == second.items.tolist() and first.reasons == second.reasons
        assert len(first.items) == 4 and len(set(first.items.tolist())) == 4
    assert seed not in before[0].items.tolist()
    assert not set(before[1].items.tolist()) & set(electronic.interactions.matrix()[0].indices.tolist())
    # the saved item graph explains seed completions through the bundles both items are in
    assert loaded.model.graph is not None
    shared = [reason for reason in after[0].reasons if "both for “" in reason]
    assert shared, after[0].reasons
    with pytest.raises(RequestError, match="exactly one"):
        pipeline.generate(items=[seed], intent="watching a movie")
