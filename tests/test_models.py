"""Scorers: the shared contract for every registered model, then known behaviour of each one.

The contract runs on a small random log; the known-behaviour tests compare with formulas computed
independently here (numpy.linalg.inv for EASE, brute-force cosine for ItemKNN) or on a block
dataset whose right answer is obvious.
"""

from __future__ import annotations

import numpy as np
import pytest

from prismrec.core.config import PipelineConfig, ScorerConfig
from prismrec.core.request import RecommendRequest
from prismrec.data.items import ItemSide
from prismrec.data.schema import IdMap, Interactions
from prismrec.errors import ConfigError, NotFittedError, PrismrecError
from prismrec.models import SCORERS, Scorer, scorer_class
from prismrec.models.ease import EASE
from prismrec.models.itemknn import ItemKNN
from prismrec.models.popularity import MostPopular


def random_log(n_users: int = 25, n_items: int = 12, density: float = 0.35, seed: int = 0) -> Interactions:
    rng = np.random.default_rng(seed)
    users, items = np.nonzero(rng.random((n_users, n_items)) < density)
    return Interactions.from_arrays(
        users, items, IdMap([f"u{u}" for u in range(n_users)]), IdMap([f"i{i}" for i in range(n_items)])
    )


@pytest.fixture(scope="module")
def log() -> Interactions:
    return random_log()


def unit_vectors(n_items: int = 12, dim: int = 6, seed: int = 1) -> np.ndarray:
    vectors = np.random.default_rng(seed).normal(size=(n_items, dim)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def side_for(name: str) -> ItemSide:
    """Item vectors for the scorers that read text; nothing for the others."""
    return ItemSide(vectors=unit_vectors()) if SCORERS[name].needs_vectors else ItemSide()


def fitted(name: str, log: Interactions) -> Scorer:
    return SCORERS[name]().fit(log, side_for(name))


# ------------------------------------------------------------------ contract (every registered scorer)


@pytest.mark.parametrize("name", sorted(SCORERS))
class TestScorerContract:
    def test_registered_under_its_name(self, name: str) -> None:
        assert scorer_class(name).name == name

    def test_fit_returns_self(self, name: str, log: Interactions) -> None:
        model = SCORERS[name]()
        assert model.fit(log, side_for(name)) is model
        assert model.fitted and model.n_items == 12

    def test_score_shape_and_dtype(self, name: str, log: Interactions) -> None:
        model = fitted(name, log)
        scores = model.score(np.array([3, 0, 7]))
        assert scores.shape == (3, 12)
        assert scores.dtype == np.float32
        assert np.isfinite(scores).all()

    def test_not_fitted(self, name: str) -> None:
        with pytest.raises(NotFittedError, match=name):
            SCORERS[name]().score(np.array([0]))

    def test_state_restore_round_trip(self, name: str, log: Interactions) -> None:
        model = fitted(name, log)
        state = {key: np.array(value, copy=True) for key, value in model.state().items()}
        assert all(isinstance(v, np.ndarray) and v.dtype != object for v in state.values())
        restored = SCORERS[name](model.params).restore(state, log.matrix(), side_for(name))
        users = np.arange(log.n_users)
        np.testing.assert_array_equal(restored.score(users), model.score(users))

    def test_refit_is_deterministic(self, name: str, log: Interactions) -> None:
        users = np.arange(log.n_users)
        first = fitted(name, log).score(users)
        second = fitted(name, log).score(users)
        np.testing.assert_array_equal(first, second)


# ------------------------------------------------------------------ EASE


def test_ease_equals_closed_form(tiny: Interactions) -> None:
    lam = 2.0
    x = tiny.matrix().toarray().astype(np.float64)  # 4 x 8, binary
    p = np.linalg.inv(x.T @ x + lam * np.eye(8))
    b = np.eye(8) - p / np.diag(p)[None, :]  # B_ij = delta_ij - P_ij / P_jj (Steck 2019)
    model = EASE(lambda_=lam).fit(tiny)
    np.testing.assert_allclose(model.weights, b, atol=1e-5)
    np.testing.assert_allclose(model.score(np.arange(4)), x @ b, atol=1e-5)


def test_ease_diagonal_is_zero(log: Interactions) -> None:
    model = EASE(lambda_=10.0).fit(log)
    np.testing.assert_array_equal(np.diag(model.weights), np.zeros(12))


# ------------------------------------------------------------------ ItemKNN


def brute_cosine(interactions: Interactions, shrinkage: float) -> np.ndarray:
    x = interactions.matrix().toarray().astype(np.float64)
    co = x.T @ x
    n = np.diag(co)
    sim = co / (np.sqrt(np.outer(n, n)) + shrinkage)
    np.fill_diagonal(sim, 0.0)
    return sim


@pytest.mark.parametrize("shrinkage", [0.0, 1.5])
def test_itemknn_equals_brute_force_cosine(log: Interactions, shrinkage: float) -> None:
    model = ItemKNN(neighbours=12, shrinkage=shrinkage).fit(log)  # neighbours >= n_items: nothing pruned
    np.testing.assert_allclose(model.similarity.toarray(), brute_cosine(log, shrinkage), atol=1e-6)
    history = log.matrix().toarray()
    np.testing.assert_allclose(model.score(np.arange(25)), history @ brute_cosine(log, shrinkage), atol=1e-5)


def test_itemknn_tiny_similarity_by_hand(tiny: Interactions) -> None:
    sim = ItemKNN(neighbours=10).fit(tiny).similarity.toarray()
    # i3 (users u1, u2, u3) and i6 (u1, u2, u4) share u1, u2: 2 / sqrt(3 * 3) = 0.6666667
    assert sim[2, 5] == pytest.approx(2 / 3, abs=1e-6)
    # i7 and i8 are both only u1's: 1 / sqrt(1 * 1) = 1
    assert sim[6, 7] == pytest.approx(1.0, abs=1e-6)
    # i4 (u1, u3) and i1 (u1, u2): 1 / sqrt(2 * 2) = 0.5
    assert sim[3, 0] == pytest.approx(0.5, abs=1e-6)


@pytest.mark.parametrize("neighbours", [1, 2, 4])
def test_itemknn_keeps_the_top_neighbours_per_target(log: Interactions, neighbours: int) -> None:
    sim = ItemKNN(neighbours=neighbours).fit(log).similarity.toarray()
    full = brute_cosine(log, 0.0)
    kept = sim != 0
    assert (kept.sum(axis=0) <= neighbours).all()
    np.testing.assert_allclose(sim[kept], full[kept], atol=1e-6)
    for target in range(12):
        column, dropped = full[:, target], ~kept[:, target]
        dropped[target] = False
        if kept[:, target].any() and dropped.any():
            assert column[kept[:, target]].min() >= column[dropped].max() - 1e-6
        # exactly min(neighbours, number of positive similarities) are kept
        assert kept[:, target].sum() == min(neighbours, int((column > 0).sum()))


# ------------------------------------------------------------------ block structure


def block_log() -> tuple[Interactions, np.ndarray]:
    """Two user groups with disjoint item sets: users 0-5 use items 0-4, users 6-11 use items 5-9.

    User u has every item of its block except item (u mod 5) of the block, which is the held-out answer.
    """
    users, items = [], []
    for u in range(12):
        block = u // 6
        for j in range(5):
            if j != u % 5:
                users.append(u)
                items.append(5 * block + j)
    answer = np.array([5 * (u // 6) + u % 5 for u in range(12)])
    inter = Interactions.from_arrays(
        np.array(users), np.array(items), IdMap([f"u{u:02d}" for u in range(12)]), IdMap([f"i{i}" for i in range(10)])
    )
    return inter, answer


@pytest.mark.parametrize(
    ("name", "values"),
    [
        ("itemknn", {}),
        ("ease", {"lambda": 10}),
        ("als", {"factors": 4, "regularization": 0.1}),  # small model: the defaults over-regularise 40 events
    ],
)
def test_own_block_item_comes_first(name: str, values: dict[str, object]) -> None:
    inter, answer = block_log()
    result = PipelineConfig.for_model(name, values).fit(inter).recommend(RecommendRequest.for_users(np.arange(12), k=1))
    np.testing.assert_array_equal(result.items[:, 0], answer)


def test_ease_and_itemknn_give_zero_to_the_other_block() -> None:
    inter, _ = block_log()
    for model in (EASE(lambda_=10.0).fit(inter), ItemKNN().fit(inter)):
        scores = model.score(np.arange(12))
        np.testing.assert_allclose(scores[:6, 5:], 0.0, atol=1e-6)
        np.testing.assert_allclose(scores[6:, :5], 0.0, atol=1e-6)


# ------------------------------------------------------------------ MostPopular


def test_most_popular_ranks_by_count(tiny: Interactions) -> None:
    model = MostPopular().fit(tiny)
    # distinct users per item: i1 2, i2 2, i3 3, i4 2, i5 2, i6 3, i7 1, i8 1
    np.testing.assert_array_equal(model.score(np.array([0, 3])), [[2, 2, 3, 2, 2, 3, 1, 1]] * 2)
    pipeline = PipelineConfig.for_model("most-popular").fit(tiny)
    items = pipeline.recommend(RecommendRequest.for_users([3], k=8, exclude_seen=False)).items
    # count 3: i3, i6; count 2: i1, i2, i4, i5; count 1: i7, i8 (ties by lower index)
    np.testing.assert_array_equal(items[0], [2, 5, 0, 1, 3, 4, 6, 7])


# ------------------------------------------------------------------ parameters


def test_negative_lambda_is_rejected_naming_the_parameter() -> None:
    with pytest.raises(ConfigError, match=r"parameter 'lambda'.*below the minimum"):
        PipelineConfig.for_model("ease", {"lambda": "-1"})


def test_bounds_are_checked_at_fit(tiny: Interactions) -> None:
    with pytest.raises(ConfigError, match="lambda"):
        EASE(lambda_=-5.0).fit(tiny)
    with pytest.raises(ConfigError, match="neighbours"):
        ItemKNN(neighbours=0).fit(tiny)


def test_unknown_parameter_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError, match=r"no parameter \['lamda'\].*parameters are: lambda"):
        ScorerConfig.build("ease", {"lamda": 100})
    with pytest.raises(ConfigError, match="neighbours, shrinkage, similarity"):
        ScorerConfig.build("itemknn", {"k": 5})


def test_wrong_types_and_choices() -> None:
    with pytest.raises(ConfigError, match=r"'factors': expected an integer, got '2\.5'"):
        ScorerConfig.build("als", {"factors": "2.5"})
    with pytest.raises(ConfigError, match="'jaccard' is not one of cosine"):
        ScorerConfig.build("itemknn", {"similarity": "jaccard"})


def test_unknown_model_lists_the_registered_ones() -> None:
    with pytest.raises(ConfigError, match=r"unknown model 'knn'.*itemknn"):
        scorer_class("knn")


def test_every_registered_scorer_is_a_scorer() -> None:
    assert {"most-popular", "itemknn", "ease", "als", "bpr"} <= set(SCORERS)
    assert all(issubclass(cls, Scorer) for cls in SCORERS.values())


# ------------------------------------------------------------------ known bugs (regressions)


def test_ease_lambda_zero_fails_as_a_user_error(tiny: Interactions) -> None:
    with pytest.raises(PrismrecError):
        EASE(lambda_=0.0).fit(tiny)


def test_nan_parameter_is_rejected() -> None:
    with pytest.raises(ConfigError, match="lambda"):
        PipelineConfig.for_model("ease", {"lambda": "nan"})
