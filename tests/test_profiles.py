"""User interest profiles: how many interests, spherical k-means, incremental state and the mean profile.

Expectations are computed by hand (arithmetic in the comments) or as plain weighted means here.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from prismrec.data.schema import IdMap, Interactions
from prismrec.profiles.history import HistoryParams, history_matrix
from prismrec.profiles.interests import (
    InterestState,
    cluster_interests,
    interest_count,
    interest_profiles,
    mean_profile,
    normalise,
)


def unit(*values: float) -> np.ndarray:
    vector = np.array(values, dtype=np.float64)
    return vector / np.linalg.norm(vector)


def group(centre: int, size: int, dim: int, noise: float, rng: np.random.Generator) -> np.ndarray:
    """`size` unit vectors scattered around the basis vector e_centre."""
    vectors = np.zeros((size, dim)) + np.eye(dim)[centre] + noise * rng.normal(size=(size, dim))
    return normalise(vectors.astype(np.float32))


# ------------------------------------------------------------------ interest_count


@pytest.mark.parametrize(
    ("n_events", "spread", "expected"),
    [
        (5, 0.5, 1),  # 5 // 10 = 0 -> at least 1
        (30, 0.5, 3),  # 3 * min(1, 1.0) = 3
        (60, 0.5, 6),  # 6 * 1.0 = 6
        (60, 0.05, 1),  # 6 * 0.1 = 0.6 -> 1
        (60, 0.2, 2),  # 6 * 0.4 = 2.4 -> 2
        (60, 0.3, 4),  # 6 * 0.6 = 3.6 -> 4
        (60, 0.9, 6),  # 6 * min(1, 1.8) = 6
        (60, 0.0, 1),  # 6 * 0 = 0 -> at least 1
        (200, 0.9, 8),  # 20 -> capped at max_interests 8
    ],
)
def test_interest_count_by_hand(n_events: int, spread: float, expected: int) -> None:
    assert interest_count(n_events, spread, max_interests=8, events_per_interest=10) == expected


def test_interest_count_grows_with_size_and_spread_and_is_capped() -> None:
    by_size = [interest_count(n, 0.5, 4, 10) for n in range(0, 200, 5)]
    by_spread = [interest_count(60, s, 4, 10) for s in np.linspace(0, 1, 21)]
    for counts in (by_size, by_spread):
        assert counts == sorted(counts)  # never shrinks
        assert counts[0] == 1 and counts[-1] == 4  # from one interest up to the cap


# ------------------------------------------------------------------ cluster_interests


def test_two_separated_groups_give_two_centroids_at_their_weighted_means() -> None:
    rng = np.random.default_rng(0)
    a, b = group(0, 7, 6, 0.15, rng), group(3, 5, 6, 0.15, rng)
    vectors = np.vstack([a, b])
    weights = rng.uniform(0.5, 2.0, size=12)
    centroids, mass = cluster_interests(vectors, weights, 2, np.random.default_rng(1))
    assert centroids.shape == (2, 6) and mass.shape == (2,)
    for members, w in ((a, weights[:7]), (b, weights[7:])):
        expected = unit(*(members * w[:, None]).sum(axis=0))  # the normalised weighted mean of the group
        best = int(np.argmax(centroids @ expected))
        assert centroids[best] @ expected > 0.9999
        assert mass[best] == pytest.approx(w.sum(), rel=1e-5)
    np.testing.assert_allclose(np.linalg.norm(centroids, axis=1), 1.0, atol=1e-5)


def test_cluster_interests_never_makes_more_centroids_than_distinct_vectors() -> None:
    vectors = np.tile(np.eye(4, dtype=np.float32)[:1], (5, 1))  # five copies of e0
    centroids, mass = cluster_interests(vectors, np.ones(5), 3, np.random.default_rng(0))
    assert len(centroids) == 1 and mass.tolist() == [5.0]
    np.testing.assert_allclose(centroids[0], [1, 0, 0, 0], atol=1e-6)


# ------------------------------------------------------------------ interest_profiles


def test_short_history_has_one_interest_the_weighted_mean() -> None:
    vectors = np.eye(3, dtype=np.float32)[[0, 0, 1]]  # items 0, 1 = e0; item 2 = e1
    row = sp.csr_matrix(np.array([[1.0, 0.5, 0.25]], dtype=np.float32))
    interests, weights = interest_profiles(row, vectors, max_interests=4, events_per_interest=10)
    # 3 events < 10 -> one interest; sum = 1*e0 + 0.5*e0 + 0.25*e1 = (1.5, 0.25, 0), |.| = sqrt(2.3125) = 1.520691
    np.testing.assert_allclose(interests, [[1.5 / 1.520691, 0.25 / 1.520691, 0.0]], atol=1e-6)
    np.testing.assert_allclose(weights, [1.75])


def test_tight_long_history_has_one_interest() -> None:
    rng = np.random.default_rng(2)
    vectors = group(1, 40, 8, 0.01, rng)
    row = sp.csr_matrix(np.ones((1, 40), dtype=np.float32))
    interests, weights = interest_profiles(row, vectors, max_interests=8, events_per_interest=10)
    # by size 4 interests, but the spread is ~1e-4 -> round(4 * 2e-4) = 0 -> 1
    assert interests.shape == (1, 8) and weights.tolist() == [40.0]
    assert interests[0, 1] > 0.999


def test_wide_long_history_has_one_interest_per_topic() -> None:
    rng = np.random.default_rng(3)
    vectors = np.vstack([group(0, 20, 8, 0.05, rng), group(5, 20, 8, 0.05, rng)])
    row = sp.csr_matrix(np.ones((1, 40), dtype=np.float32))
    interests, weights = interest_profiles(row, vectors, max_interests=8, events_per_interest=10)
    # |mean| ~ 0.707 -> spread ~ 0.29; round(4 * min(1, 0.59)) = round(2.3) = 2
    assert len(interests) == 2
    assert sorted(np.argmax(interests, axis=1).tolist()) == [0, 5]
    np.testing.assert_allclose(sorted(weights.tolist()), [20.0, 20.0])


def test_empty_history_has_no_interest() -> None:
    interests, weights = interest_profiles(sp.csr_matrix((1, 3), dtype=np.float32), np.eye(3, dtype=np.float32), 4)
    assert interests.shape == (0, 3) and weights.shape == (0,)


# ------------------------------------------------------------------ InterestState


def test_one_interest_is_the_decayed_weighted_sum() -> None:
    v1, v2, v3 = np.array([1.0, 0, 0]), np.array([0.6, 0.8, 0]), np.array([0.0, 1, 0])
    state = InterestState(step=0.5, max_interests=1)
    assert [state.add(v1, 1.0), state.add(v2, 2.0), state.add(v3, 1.0)] == [0, 0, 0]
    # after v1: (1, 0, 0); after v2: 0.5*(1, 0, 0) + 2*(0.6, 0.8, 0) = (1.7, 1.6, 0);
    # after v3: 0.5*(1.7, 1.6, 0) + (0, 1, 0) = (0.85, 1.8, 0); |.| = sqrt(0.7225 + 3.24) = 1.990603
    np.testing.assert_allclose(state.sums, [[0.85, 1.8, 0.0]], atol=1e-12)
    np.testing.assert_allclose(state.weights, [1.990603], atol=1e-6)
    np.testing.assert_allclose(state.interests, [[0.85 / 1.990603, 1.8 / 1.990603, 0.0]], atol=1e-6)


def test_one_interest_matches_the_history_matrix_profile() -> None:
    # step 0.5 is half_life 1; value_power 1 multiplies by the value: weights 0.25*1, 0.5*2, 1*1
    inter = Interactions.from_arrays(
        np.zeros(3), np.arange(3), IdMap(["u"]), IdMap(["a", "b", "c"]),
        values=np.array([1.0, 2.0, 1.0]), timestamps=np.array([1.0, 2.0, 3.0]),
    )  # fmt: skip
    params = HistoryParams(half_life=1.0, value_power=1.0)
    vectors = np.array([[1.0, 0, 0], [0.6, 0.8, 0], [0.0, 1, 0]], dtype=np.float32)
    state = InterestState(step=params.step, max_interests=1)
    for vector, value in zip(vectors, [1.0, 2.0, 1.0], strict=True):
        state.add(vector, value**params.value_power)
    np.testing.assert_allclose(state.interests, mean_profile(history_matrix(inter, params), vectors), atol=1e-6)


def test_a_far_vector_opens_a_new_interest() -> None:
    state = InterestState(step=1.0, max_interests=2, join_cosine=0.5)
    e0, e1 = np.eye(3)[0], np.eye(3)[1]
    assert state.add(e0) == 0
    near = unit(0.9, 0.1, 0)  # cosine 0.994 with e0 -> joins
    assert state.add(near) == 0
    assert state.add(e1) == 1  # cosine ~0.08 < 0.5 -> a second interest
    assert state.sums.shape == (2, 3)
    # all slots used: a vector far from both joins the closest (cosine 0.30 with e1, 0.0x with interest 0)
    third = unit(0, 0.3, 0.95)
    assert state.add(third) == 1
    np.testing.assert_allclose(state.sums[0], e0 + near)
    np.testing.assert_allclose(state.sums[1], e1 + third)


# ------------------------------------------------------------------ mean_profile


def test_mean_profile_is_the_normalised_weighted_mean() -> None:
    vectors = np.array([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]], dtype=np.float32)
    history = sp.csr_matrix(np.array([[2.0, 0.0, 1.0], [0.0, 0.0, 0.0], [0.0, 3.0, 0.0]], dtype=np.float32))
    profile = mean_profile(history, vectors)
    # user 0: 2*(1, 0) + (0.6, 0.8) = (2.6, 0.8), |.| = sqrt(7.4) = 2.720294; user 1: empty -> zero row
    # user 2: 3*(0, 1) -> (0, 1)
    np.testing.assert_allclose(profile, [[2.6 / 2.720294, 0.8 / 2.720294], [0, 0], [0, 1]], atol=1e-6)
    assert profile.dtype == np.float32
