"""Reasons for recommendations: the most contributing history item, the over-represented category, cold users.

One hand-made log (6 items, 6 users) is used throughout; every share, lift and similarity is worked
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
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from typer.testing import CliRunner

from prismrec.cli import app
from prismrec.config import PipelineConfig
from prismrec.data.schema import Catalog, IdMap, Interactions, build_catalog
from prismrec.explain import NO_HISTORY, Explainer
from prismrec.models import ItemSide
from prismrec.pipeline import Pipeline

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
    return Explainer(TITLES, side, interactions().matrix(), min_share=min_share, min_lift=min_lift)


def history_row(weights: dict[int, float]) -> sp.csr_matrix:
    row = np.zeros((1, 6), dtype=np.float32)
    for item, weight in weights.items():
        row[0, item] = weight
    return sp.csr_matrix(row)


U0 = history_row(dict(enumerate(U0_WEIGHTS)))


# ------------------------------------------------------------------ the most contributing history item


def test_reason_names_the_largest_weight_times_similarity() -> None:
    reasons = explainer().reasons(U0, np.array([[3, 4]]))
    # i3: 0.408248 * 1 = 0.408 (Alpha) > 0.666667 * 0.5 = 0.333 (Beta) > 0 (Gamma); drama share 0.67, lift 1.56
    # i4: only Gamma: 0.707107 * 0.25 = 0.177; horror and comedy have lift < 1.2 -> no category reason
    assert reasons == [[f"{SIMILAR_ALPHA}; {DRAMA}", "similar to “Gamma”"]]


def test_equal_weights_change_the_reason() -> None:
    reasons = explainer().reasons(history_row({0: 1.0, 1: 1.0, 2: 1.0}), np.array([[3, 4]]))
    # i3: 0.408 (Alpha) < 0.667 (Beta). Categories: drama 2, comedy 1, horror 1 of 4 -> share 0.5,
    # lift 0.5 / 0.428571 = 1.1667 < 1.2 -> no category reason
    assert reasons == [["similar to “Beta”", "similar to “Gamma”"]]


def test_text_vectors_join_the_similarity() -> None:
    vectors = np.eye(4, dtype=np.float32)[[0, 1, 2, 1, 3, 1]]  # i3 and i5 read like i1 (Beta)
    reasons = explainer(vectors).reasons(U0, np.array([[3, 5, 4]]))
    # similarity = 0.5 * co-occurrence cosine + 0.5 * text cosine
    # i3: Alpha 0.5 * 0.408 * 1 = 0.204 < Beta (0.5 * 0.667 + 0.5 * 1) * 0.5 = 0.417
    # i5 (no events): only the text links it, to Beta: 0.5 * 1 * 0.5 = 0.25; no categories
    # i4: Gamma 0.5 * 0.707 * 0.25 = 0.088
    assert reasons == [[f"similar to “Beta”; {DRAMA}", "similar to “Beta”", "similar to “Gamma”"]]


def test_nothing_linking_gives_an_empty_reason() -> None:
    reasons = explainer().reasons(history_row({4: 1.0}), np.array([[5, 3]]))
    # i5 has no events and no categories; i3 never co-occurs with i4 and drama is not in the history
    assert reasons == [["", ""]]


def test_user_without_history_gets_the_popularity_reason() -> None:
    history = sp.vstack([history_row({}), U0]).tocsr()
    reasons = explainer().reasons(history, np.array([[1, 3, -1], [3, -1, -1]]))
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
    reason = explainer(min_share=min_share, min_lift=min_lift).reasons(U0, np.array([[3]]))[0][0]
    assert reason == (f"{SIMILAR_ALPHA}; {DRAMA}" if named else SIMILAR_ALPHA)


def test_category_reason_names_the_highest_lift() -> None:
    reasons = explainer(min_lift=0.5).reasons(U0, np.array([[1, 4]]))
    # min_lift 0.5: i1 (drama 1.556, comedy 0.778) -> drama; i4 (horror share 0.111 but lift 0.389 < 0.5,
    # comedy share 0.222, lift 0.778) -> comedy
    assert reasons[0][0].endswith(DRAMA)
    assert reasons[0][1] == "similar to “Gamma”; matches your interest in comedy"


# ------------------------------------------------------------------ through the pipeline and the CLI


def fitted_pipeline() -> Pipeline:
    config = PipelineConfig.for_model("most-popular").with_values({"history.half_life": 1})
    return Pipeline(config).fit(interactions(), catalog())


def test_recommend_frame_has_aligned_reasons() -> None:
    pipeline = fitted_pipeline()
    frame = pipeline.recommend_frame(k=6, explain=True)
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
        assert row.reason == pipeline.explain(np.array([user]), np.array([[item]]))[0][0]
    assert "reason" not in pipeline.recommend_frame(k=2).columns


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
    assert lists == [{"user_id": "u0", "items": [
        {"item_id": "i3", "rank": 1, "score": 3.0, "reason": f"{SIMILAR_ALPHA}; {DRAMA}"},
        {"item_id": "i4", "rank": 2, "score": 1.0, "reason": "similar to “Gamma”"},
    ]}]  # fmt: skip
    plain = runner.invoke(app, ["recommend", "--model", str(tmp_path / "model"), "--user", "u0", "--json"])
    assert "reason" not in json.loads(plain.stdout)[0]["items"][0]
