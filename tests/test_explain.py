"""Reasons for recommendations: the most contributing history item, the over-represented category, cold users,
and each scorer's attribution of its scores to the history items.

The reason tests use one hand-made log (6 items, 6 users) is used throughout; every share, lift and similarity is worked
out in the comments. Item i5 has no events; user u5 has no history.

    item  title  categories       users            user  history (oldest first)
    i0    Alpha  drama            u0 u1             u0    i2, i1, i0
    i1    Beta   drama, comedy    u0 u2 u3          u1    i0, i3
    i2    Gamma  horror           u0 u4             u2    i1, i3
    i3    Delta  drama            u1 u2 u3          u3    i1, i3
    i4    Eps    horror, comedy   u4                u4    i2, i4
    i5    Zeta   -                -                 u5    -

Co-occurrence cosine co(a, b) / sqrt(n_a n_b) of the recommended items with u0's history:
    i3: with i0 1/sqrt(3*2) = 0.408248, with i1 2/sqrt(3*3) = 0.666667, with i2 0
    i4: with i0 0, with i1 0, with i2 1/sqrt(1*2) = 0.707107
With half-life 1, u0's weights are i0 1, i1 0.5, i2 0.25 (newest first).
Categories with these weights: drama 1 + 0.5 = 1.5, comedy 0.5, horror 0.25; total 2.25
    share: drama 0.666667, comedy 0.222222, horror 0.111111
    catalogue: drama 3, comedy 2, horror 2 of 7 labels -> 0.428571, 0.285714, 0.285714
    lift: drama 1.555556, comedy 0.777778, horror 0.388889
(most-popular does not read the history, so these reasons come from co-occurrence).

The attribution tests fit each scorer on a small random log and check `Scorer.attribute` against the
model's own relation, the score drop when a history item is left out, or the ALS fold-in solved here.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from typer.testing import CliRunner

from prismrec.cli import app
from prismrec.core.config import PipelineConfig
from prismrec.core.explain import MAX_BECAUSE, NO_HISTORY, Explainer
from prismrec.core.frames import lists_to_frame
from prismrec.core.pipeline import FittedPipeline
from prismrec.core.request import Because, RecommendRequest
from prismrec.data.items import ItemSide
from prismrec.data.schema import Catalog, IdMap, Interactions, build_catalog
from prismrec.models.popularity import MostPopular

TITLES = ["Alpha", "Beta", "Gamma", "Delta", "Eps", "Zeta"]
CATEGORIES = [("drama",), ("drama", "comedy"), ("horror",), ("drama",), ("horror", "comedy"), ()]
EVENTS = [  # (user, item, timestamp)
    ("u0", "i2", 1), ("u0", "i1", 2), ("u0", "i0", 3), ("u1", "i0", 1), ("u1", "i3", 2), ("u2", "i1", 1),
    ("u2", "i3", 2), ("u3", "i1", 1), ("u3", "i3", 2), ("u4", "i2", 1), ("u4", "i4", 2),
]  # fmt: skip
USERS = IdMap([f"u{u}" for u in range(6)])
ITEMS = IdMap([f"i{i}" for i in range(6)])
U0_WEIGHTS = (1.0, 0.5, 0.25)  # i0, i1, i2
SIMILAR_ALPHA = "similar to “Alpha”"
DRAMA = "matches your interest in drama"


pytestmark = pytest.mark.usefixtures("cache_dir")


def interactions() -> Interactions:
    return Interactions.from_arrays(USERS.indices(e[0] for e in EVENTS), ITEMS.indices(e[1] for e in EVENTS),
                                    USERS, ITEMS, timestamps=np.array([e[2] for e in EVENTS], dtype=float))  # fmt: skip


def catalog() -> Catalog:
    items = pd.DataFrame({"item_id": list(ITEMS.ids), "title": TITLES, "categories": CATEGORIES})
    return build_catalog(ITEMS, items, ["title"], "categories")


def explainer(vectors: np.ndarray | None = None, min_share: float = 0.1, min_lift: float = 1.2) -> Explainer:
    categories, names = catalog().category_matrix()
    assert names == ["comedy", "drama", "horror"]
    side = ItemSide(vectors=vectors, categories=categories, category_names=tuple(names))
    popular = MostPopular().fit(interactions())  # gives no attribution: the co-occurrence fallback speaks
    return Explainer(TITLES, side, interactions().matrix(), popular, len(TITLES), min_share=min_share,
                     min_lift=min_lift)  # fmt: skip


def reasons_for(explainer: Explainer, history: sp.csr_matrix, items: np.ndarray) -> list[list[str]]:
    """The explainer's reasons for rows of anonymous users (user index 0: the scorer reads no factors)."""
    return explainer.reasons(np.zeros(history.shape[0], dtype=np.int64), history, items)


def history_row(weights: dict[int, float]) -> sp.csr_matrix:
    row = np.zeros((1, 6), dtype=np.float32)
    for item, weight in weights.items():
        row[0, item] = weight
    return sp.csr_matrix(row)


U0 = history_row(dict(enumerate(U0_WEIGHTS)))


# ------------------------------------------------------------------ the most contributing history item


def test_reason_names_the_largest_weight_times_similarity() -> None:
    reasons = reasons_for(explainer(), U0, np.array([[3, 4]]))
    # i3: 0.408248 * 1 = 0.408 (Alpha) > 0.666667 * 0.5 = 0.333 (Beta) > 0 (Gamma); drama share 0.67, lift 1.56
    # i4: only Gamma: 0.707107 * 0.25 = 0.177; horror and comedy have lift < 1.2 -> no category reason
    assert reasons == [[f"{SIMILAR_ALPHA}; {DRAMA}", "similar to “Gamma”"]]


def test_equal_weights_change_the_reason() -> None:
    reasons = reasons_for(explainer(), history_row({0: 1.0, 1: 1.0, 2: 1.0}), np.array([[3, 4]]))
    # i3: 0.408 (Alpha) < 0.667 (Beta). Categories: drama 2, comedy 1, horror 1 of 4 -> share 0.5,
    # lift 0.5 / 0.428571 = 1.1667 < 1.2 -> no category reason
    assert reasons == [["similar to “Beta”", "similar to “Gamma”"]]


def test_text_vectors_join_the_similarity() -> None:
    vectors = np.eye(4, dtype=np.float32)[[0, 1, 2, 1, 3, 1]]  # i3 and i5 read like i1 (Beta)
    reasons = reasons_for(explainer(vectors), U0, np.array([[3, 5, 4]]))
    # similarity = 0.5 * co-occurrence cosine + 0.5 * text cosine
    # i3: Alpha 0.5 * 0.408 * 1 = 0.204 < Beta (0.5 * 0.667 + 0.5 * 1) * 0.5 = 0.417
    # i5 (no events): only the text links it, to Beta: 0.5 * 1 * 0.5 = 0.25; no categories
    # i4: Gamma 0.5 * 0.707 * 0.25 = 0.088
    assert reasons == [[f"similar to “Beta”; {DRAMA}", "similar to “Beta”", "similar to “Gamma”"]]


def test_nothing_linking_gives_an_empty_reason() -> None:
    reasons = reasons_for(explainer(), history_row({4: 1.0}), np.array([[5, 3]]))
    # i5 has no events and no categories; i3 never co-occurs with i4 and drama is not in the history
    assert reasons == [["", ""]]


def test_user_without_history_gets_the_popularity_reason() -> None:
    history = sp.vstack([history_row({}), U0]).tocsr()
    reasons = reasons_for(explainer(), history, np.array([[1, 3, -1], [3, -1, -1]]))
    assert reasons == [[NO_HISTORY, NO_HISTORY], [f"{SIMILAR_ALPHA}; {DRAMA}"]]  # empty slots get no reason
    assert NO_HISTORY == "popular with other users"


# ------------------------------------------------------------------ the category reason


@pytest.mark.parametrize(
    ("min_share", "min_lift", "named"),
    [
        (0.1, 1.2, True),  # drama share 0.667 >= 0.1, lift 1.556 >= 1.2
        (0.66, 1.2, True),  # 0.667 >= 0.66
        (0.67, 1.2, False),  # 0.667 < 0.67
        (0.1, 1.55, True),  # 1.556 >= 1.55
        (0.1, 1.56, False),  # 1.556 < 1.56
    ],
)
def test_category_reason_needs_share_and_lift(min_share: float, min_lift: float, named: bool) -> None:
    reason = reasons_for(explainer(min_share=min_share, min_lift=min_lift), U0, np.array([[3]]))[0][0]
    assert reason == (f"{SIMILAR_ALPHA}; {DRAMA}" if named else SIMILAR_ALPHA)


def test_category_reason_names_the_highest_lift() -> None:
    reasons = reasons_for(explainer(min_lift=0.5), U0, np.array([[1, 4]]))
    # min_lift 0.5: i1 (drama 1.556, comedy 0.778) -> drama; i4 (horror share 0.111 but lift 0.389 < 0.5,
    # comedy share 0.222, lift 0.778) -> comedy
    assert reasons[0][0].endswith(DRAMA)
    assert reasons[0][1] == "similar to “Gamma”; matches your interest in comedy"


# ------------------------------------------------------------------ through the pipeline and the CLI


def fitted_pipeline() -> FittedPipeline:
    config = PipelineConfig.for_model("most-popular").with_values({"history.half_life": 1})
    return config.fit(interactions(), catalog())


def explained_frame(pipeline: FittedPipeline, k: int) -> pd.DataFrame:
    """Every user's list with external ids and a reason column (as the CLI writes it)."""
    users = np.arange(len(pipeline.user_ids))
    result = pipeline.recommend(RecommendRequest.for_users(users, k=k, explain=True))
    assert result.reasons is not None
    frame = lists_to_frame(pipeline.user_ids, pipeline.item_ids, users, result.items, result.scores)
    frame["reason"] = [reason for row in result.reasons for reason in row]
    return frame


def test_recommend_frame_has_aligned_reasons() -> None:
    pipeline = fitted_pipeline()
    frame = explained_frame(pipeline, 6)
    assert list(frame.columns) == ["user_id", "item_id", "rank", "score", "reason"]
    # most popular (counts i1 3, i3 3, i0 2, i2 2, i4 1, i5 0); u0 has seen i0, i1, i2 -> i3, i4, i5 (padding after)
    u0 = frame[frame.user_id == "u0"]
    assert u0.item_id.tolist() == ["i3", "i4", "i5"]
    assert u0.reason.tolist() == [f"{SIMILAR_ALPHA}; {DRAMA}", "similar to “Gamma”", ""]
    u5 = frame[frame.user_id == "u5"]
    assert u5.item_id.tolist() == ["i1", "i3", "i0", "i2", "i4", "i5"]
    assert set(u5.reason) == {NO_HISTORY}
    # every row's reason is the one of its own (user, item) pair
    for row in frame.itertuples():
        user, item = USERS.index(row.user_id), ITEMS.index(row.item_id)
        assert row.reason == pipeline.explainer.reasons(np.array([user]), pipeline.history[[user]],
                                                        np.array([[item]]))[0][0]  # fmt: skip
    plain = pipeline.recommend(RecommendRequest.for_users(np.arange(6), k=2))
    assert plain.reasons is None and plain.because is None


def test_because_gives_the_fallback_attribution_as_data() -> None:
    pipeline = fitted_pipeline()
    result = pipeline.recommend(RecommendRequest.for_users([0, 5], k=3, explain=True))
    assert result.because is not None
    i3, i4, i5 = result.because[0]
    # i3: Alpha 0.408 * 1, Beta 0.667 * 0.5, Gamma 0 -> shares of 0.408 + 0.333
    assert [b.item for b in i3] == [0, 1]
    assert [b.weight for b in i3] == pytest.approx([0.408248 / 0.741582, 0.333333 / 0.741582], abs=1e-5)
    assert i4 == [Because(2, pytest.approx(1.0))] and i5 == []  # i5 shares nothing with u0's items
    assert result.because[1] == [[], [], []]  # u5 has no history


def test_cli_recommend_explain_json(tmp_path: Path) -> None:
    events = "user_id,item_id,timestamp\n" + "".join(f"{u},{i},{t}\n" for u, i, t in EVENTS)
    items = "item_id,title,categories\n" + "".join(
        f"i{i},{title},{'|'.join(cats)}\n" for i, (title, cats) in enumerate(zip(TITLES, CATEGORIES, strict=True))
    )
    (tmp_path / "events.csv").write_text(events, encoding="utf-8")
    (tmp_path / "items.csv").write_text(items, encoding="utf-8")
    (tmp_path / "popular.toml").write_text('[scorer]\nname = "most-popular"\n\n[history]\nhalf_life = 1.0\n',
                                           encoding="utf-8")  # fmt: skip
    runner = CliRunner()
    fit = runner.invoke(app, ["fit", "--interactions", str(tmp_path / "events.csv"), "--items",
                              str(tmp_path / "items.csv"), "--config", str(tmp_path / "popular.toml"), "--out",
                              str(tmp_path / "model")])  # fmt: skip
    assert fit.exit_code == 0, fit.output
    result = runner.invoke(app, ["recommend", "--model", str(tmp_path / "model"), "--user", "u0", "-k", "2",
                                 "--explain", "--json"])  # fmt: skip
    assert result.exit_code == 0, result.output
    lists = json.loads(result.stdout)
    # because: i3's co-occurrence contributions Alpha 0.408 and Beta 0.333 as shares; i4's only Gamma
    alpha, beta = 0.408248 / 0.741582, 0.333333 / 0.741582
    assert lists == [{"user_id": "u0", "items": [
        {"item_id": "i3", "rank": 1, "score": 3.0, "reason": f"{SIMILAR_ALPHA}; {DRAMA}",
         "because": [{"item_id": "i0", "title": "Alpha", "weight": pytest.approx(alpha, abs=1e-5)},
                     {"item_id": "i1", "title": "Beta", "weight": pytest.approx(beta, abs=1e-5)}]},
        {"item_id": "i4", "rank": 2, "score": 1.0, "reason": "similar to “Gamma”",
         "because": [{"item_id": "i2", "title": "Gamma", "weight": pytest.approx(1.0)}]},
    ]}]  # fmt: skip
    plain = runner.invoke(app, ["recommend", "--model", str(tmp_path / "model"), "--user", "u0", "--json"])
    first = json.loads(plain.stdout)[0]["items"][0]
    assert "reason" not in first and "because" not in first


# ------------------------------------------------------------------ attribution: each scorer's account of its scores

COLOURS = ("red", "green", "blue", "black", "white")
THINGS = ("tea", "coffee", "cup", "pot")
N_USERS, N_ITEMS = 30, len(COLOURS) * len(THINGS)


def random_log(seed: int = 0) -> tuple[Interactions, Catalog]:
    """30 users with 2 to 9 events over 20 items titled "<colour> <thing>" (every pair once), random times."""
    rng = np.random.default_rng(seed)
    users, items = [], []
    for user in range(N_USERS):
        picked = rng.choice(N_ITEMS, size=int(rng.integers(2, 10)), replace=False)
        users += [user] * len(picked)
        items += picked.tolist()
    user_ids, item_ids = IdMap([f"u{u:02d}" for u in range(N_USERS)]), IdMap([f"i{i:02d}" for i in range(N_ITEMS)])
    log = Interactions.from_arrays(np.array(users), np.array(items), user_ids, item_ids,
                                   timestamps=rng.permutation(len(users)).astype(float))  # fmt: skip
    titles = [f"{colour} {thing}" for colour in COLOURS for thing in THINGS]
    return log, build_catalog(item_ids, pd.DataFrame({"item_id": list(item_ids.ids), "title": titles}), ["title"], None)


def fitted_on_random_log(name: str, values: dict[str, object] | None = None) -> FittedPipeline:
    """The scorer fitted on `random_log` with recency weights (half-life 2) and TF-IDF item vectors."""
    log, catalog = random_log()
    config = PipelineConfig.for_model(name, values).with_values(
        {"history.half_life": 2, "encoder.model": "tfidf", "encoder.dim": 8}
    )
    return config.fit(log, catalog)


def without(row: sp.csr_matrix, j: int) -> sp.csr_matrix:
    """The history row with its j-th stored item left out."""
    keep = np.arange(row.nnz) != j
    return sp.csr_matrix((row.data[keep], row.indices[keep], [0, int(keep.sum())]), shape=row.shape)


def score_drops(pipeline: FittedPipeline, user: int, row: sp.csr_matrix) -> np.ndarray:
    """float64[n_items, row.nnz]: score(row) - score(row without history item j), by brute force."""
    full = pipeline.scorer.score(np.array([user]), row)[0].astype(np.float64)
    return np.stack([full - pipeline.scorer.score(np.array([user]), without(row, j))[0] for j in range(row.nnz)],
                    axis=1)  # fmt: skip


def ease_weights(log: Interactions, lambda_: float) -> np.ndarray:
    """EASE's B = I - P diag(1 / diag(P)), P = (XᵀX + λI)⁻¹ (Steck 2019), computed here."""
    x = log.matrix().toarray().astype(np.float64)
    inverse = np.linalg.inv(x.T @ x + lambda_ * np.eye(x.shape[1]))
    weights = -inverse / np.diag(inverse)[None, :]
    np.fill_diagonal(weights, 0.0)
    return weights


def assert_because_follows(result_because: list[list[Because]], seen: np.ndarray, contribution: np.ndarray) -> None:
    """`because` of one list: per slot the positive contributors, strongest first, with their share."""
    for slot, because in enumerate(result_because):
        row = contribution[slot]
        positive = np.flatnonzero(row > 0)
        order = positive[np.argsort(-row[positive], kind="stable")][:MAX_BECAUSE]
        assert [b.item for b in because] == seen[order].tolist()
        assert [b.weight for b in because] == pytest.approx((row[order] / row[positive].sum()).tolist(), rel=1e-5)


@pytest.mark.parametrize(
    ("name", "values"),
    [("ease", {"lambda": 5.0}), ("itemknn", {"neighbours": 6}),
     ("item-hybrid", {"cf.lambda": 5.0, "semantic_weight": 0.5, "neighbours": 4})],
)  # fmt: skip
def test_linear_models_attribute_weight_times_relation_and_the_exact_drop(name: str, values: dict[str, object]) -> None:
    log, catalog = random_log()
    config = PipelineConfig.for_model(name).with_values(
        {**values, "history.half_life": 2, "encoder.model": "tfidf", "encoder.dim": 8}
    )
    pipeline = config.fit(log, catalog)
    scorer = pipeline.scorer
    if name == "ease":
        relation = ease_weights(log, 5.0)
        np.testing.assert_allclose(scorer.weights, relation, atol=1e-5)
    elif name == "itemknn":
        relation = scorer.similarity.toarray()
    else:  # EASE's weights plus the weighted semantic neighbourhood
        np.testing.assert_allclose(scorer.cf.weights, ease_weights(log, 5.0), atol=1e-5)
        relation = ease_weights(log, 5.0) + 0.5 * scorer.semantic.toarray()
    everything = np.arange(N_ITEMS)
    users = np.arange(N_USERS)
    result = pipeline.recommend(RecommendRequest.for_users(users, k=5, explain=True))
    assert result.because is not None and result.reasons is not None
    for user in users:
        row = pipeline.history[[user]]
        assert len(np.unique(row.data)) > 1  # recency weights: not all equal
        attribution = pipeline.scorer.attribute(int(user), row, everything)
        assert attribution is not None and attribution.shape == (N_ITEMS, row.nnz)
        expected = (row.data[:, None].astype(np.float64) * relation[row.indices]).T  # [n_items, nnz]
        np.testing.assert_allclose(attribution, expected, rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(attribution, score_drops(pipeline, int(user), row), rtol=1e-4, atol=1e-5)
        listed = result.items[user][result.items[user] >= 0]
        assert_because_follows(result.because[user], row.indices, attribution[listed])


@pytest.mark.parametrize(
    ("name", "values"),
    [("two-tower", {"dim": 8, "hidden": 8, "epochs": 3, "batch_size": 32, "learning_rate": 0.01}),
     ("two-tower", {"dim": 8, "hidden": 8, "epochs": 3, "batch_size": 32, "user_mlp": True}), ("fusion", {})],
)  # fmt: skip
def test_nonlinear_models_name_the_item_whose_removal_lowers_the_score_most(
    name: str, values: dict[str, object]
) -> None:
    pipeline = fitted_on_random_log(name, values)
    users = np.arange(N_USERS)
    result = pipeline.recommend(RecommendRequest.for_users(users, k=4, explain=True))
    assert result.because is not None
    named = 0
    for user in users:
        row = pipeline.history[[user]]
        drops = score_drops(pipeline, int(user), row)
        listed = result.items[user][result.items[user] >= 0]
        attribution = pipeline.scorer.attribute(int(user), row, listed)
        assert attribution is not None
        np.testing.assert_allclose(attribution, drops[listed], rtol=1e-4, atol=1e-5)
        for slot, item in enumerate(listed):
            because = result.because[user][slot]
            best = int(np.argmax(drops[item]))
            if drops[item, best] <= 1e-5:
                continue  # no history item holds this score up
            assert because, (user, item)
            assert because[0].item == row.indices[best], (user, item, drops[item])
            named += 1
    assert named >= N_USERS  # most lists name something


def test_als_attribution_sums_to_the_fold_in_score() -> None:
    alpha, regularization = 2.0, 0.5
    pipeline = fitted_on_random_log("als", {"factors": 6, "alpha": alpha, "regularization": regularization,
                                            "iterations": 5})  # fmt: skip
    factors = pipeline.scorer.item_factors.astype(np.float64)  # Y [n_items, d]
    everything = np.arange(N_ITEMS)
    for user in range(N_USERS):
        row = pipeline.history[[user]]
        # Hu, Koren & Volinsky (2008) with implicit's confidence: c = alpha · weight on the history items
        # (preference 1), c = 1 elsewhere (preference 0): x = (Yᵀ C Y + λI)⁻¹ Yᵀ C p
        confidence = np.ones(N_ITEMS)
        confidence[row.indices] = alpha * row.data
        preference = np.zeros(N_ITEMS)
        preference[row.indices] = 1.0
        system = factors.T @ np.diag(confidence) @ factors + regularization * np.eye(factors.shape[1])
        user_factor = np.linalg.solve(system, factors.T @ (confidence * preference))
        fold_in = factors @ user_factor
        attribution = pipeline.scorer.attribute(user, row, everything)
        assert attribution is not None and attribution.shape == (N_ITEMS, row.nnz)
        np.testing.assert_allclose(attribution.sum(axis=1), fold_in, rtol=1e-4, atol=1e-5)


def test_scorers_without_attribution_fall_back_to_co_occurrence() -> None:
    for name in ("most-popular", "bpr"):
        pipeline = fitted_on_random_log(name, {"iterations": 5} if name == "bpr" else None)
        assert pipeline.scorer.attribute(0, pipeline.history[[0]], np.arange(3)) is None
        result = pipeline.recommend(RecommendRequest.for_users([0, 1], k=3, explain=True))
        assert result.because is not None and result.reasons is not None
        assert any(because for row in result.because for because in row)


@pytest.mark.parametrize(
    ("name", "values"),
    [("ease", {"lambda": 5.0}), ("itemknn", {}), ("als", {"factors": 6, "iterations": 5}),
     ("two-tower", {"dim": 8, "hidden": 8, "epochs": 3, "batch_size": 32}), ("fusion", {}), ("item-hybrid", {}),
     ("most-popular", {})],
)  # fmt: skip
def test_reasons_name_the_title_of_the_strongest_contributor(name: str, values: dict[str, object]) -> None:
    pipeline = fitted_on_random_log(name, values)
    result = pipeline.recommend(RecommendRequest.for_users(np.arange(N_USERS), k=5, explain=True))
    assert result.reasons is not None and result.because is not None
    named = 0
    for user in range(N_USERS):
        listed = result.items[user][result.items[user] >= 0]
        assert len(result.reasons[user]) == len(result.because[user]) == len(listed)
        for reason, because in zip(result.reasons[user], result.because[user], strict=True):
            if because:
                assert reason == f"similar to “{pipeline.title(because[0].item)}”"  # no categories in this log
                assert sum(b.weight for b in because) <= 1.0 + 1e-6
                assert all(a.weight >= b.weight for a, b in itertools.pairwise(because))
                named += 1
            else:
                assert reason == ""
    assert named > 0
