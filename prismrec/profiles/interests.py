"""User interest profiles from history vectors: one decayed mean, or several interests.

A profile is built from the user's weighted history row (recency/value weights, see `history`) and
the item vectors:

- `mean_profile`: the weighted mean of the history vectors, normalised (one interest);
- `interest_profiles`: weighted spherical k-means over the history vectors. The number of
  interests grows with the history size and with its spread (1 - length of the weighted mean of
  unit vectors: 0 when all items point the same way, near 1 when they scatter).

Both update incrementally from one new event: `InterestState.add` decays the old sums by the
history step and adds the new vector to the closest interest (or opens a new one).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp


def normalise(rows: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero)."""
    norms = np.linalg.norm(rows, axis=-1, keepdims=True)
    return np.divide(rows, norms, out=np.zeros_like(rows, dtype=np.float32), where=norms > 0)


def mean_profile(history: sp.csr_matrix, vectors: np.ndarray) -> np.ndarray:
    """float32[n_users, d]: unit weighted mean of each history row's item vectors."""
    return normalise(np.asarray(history @ vectors, dtype=np.float32))


def interest_count(n_events: int, spread: float, max_interests: int, events_per_interest: int) -> int:
    """How many interests a history supports: up to one per `events_per_interest` events, scaled by spread."""
    by_size = max(1, n_events // events_per_interest)
    return int(np.clip(round(by_size * min(1.0, 2.0 * spread)), 1, max_interests))


def cluster_interests(
    vectors: np.ndarray, weights: np.ndarray, n_interests: int, rng: np.random.Generator, iterations: int = 10
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted spherical k-means. Returns (unit centroids [k, d], total weight per centroid [k])."""
    n = len(vectors)
    k = min(n_interests, n)
    # k-means++ seeding on cosine distance, weighted.
    first = rng.choice(n, p=weights / weights.sum())
    centres = [vectors[first]]
    for _ in range(1, k):
        distance = 1.0 - np.max(vectors @ np.array(centres).T, axis=1)
        p = np.clip(distance, 0, None) * weights
        if p.sum() <= 0:
            break
        centres.append(vectors[rng.choice(n, p=p / p.sum())])
    centroids = np.array(centres, dtype=np.float32)
    for _ in range(iterations):
        assign = np.argmax(vectors @ centroids.T, axis=1)
        sums = np.zeros_like(centroids)
        np.add.at(sums, assign, vectors * weights[:, None])
        updated = normalise(sums)
        keep = np.linalg.norm(sums, axis=1) > 0
        if np.allclose(updated[keep], centroids[keep]):
            centroids[keep] = updated[keep]
            break
        centroids[keep] = updated[keep]
    assign = np.argmax(vectors @ centroids.T, axis=1)
    mass = np.bincount(assign, weights=weights, minlength=len(centroids)).astype(np.float32)
    used = mass > 0
    return centroids[used], mass[used]


def interest_profiles(
    history_row: sp.csr_matrix,
    vectors: np.ndarray,
    max_interests: int,
    events_per_interest: int = 10,
    seed: int = 42,
) -> tuple[np.ndarray, np.ndarray]:
    """(unit interest vectors [k, d], their weights [k]) for one user's weighted history row [1, n_items]."""
    items, weights = history_row.indices, history_row.data.astype(np.float64)
    if len(items) == 0:
        return np.zeros((0, vectors.shape[1]), np.float32), np.zeros(0, np.float32)
    history_vectors = vectors[items]
    mean = (history_vectors * weights[:, None]).sum(axis=0) / weights.sum()
    spread = 1.0 - float(np.linalg.norm(mean))
    k = interest_count(len(items), spread, max_interests, events_per_interest)
    if k == 1:
        return normalise(mean[None].astype(np.float32)), np.array([weights.sum()], np.float32)
    return cluster_interests(history_vectors, weights, k, np.random.default_rng(seed))


@dataclass
class InterestState:
    """A user's interests as running weighted sums, updated one event at a time.

    Attributes:
        step: decay applied to every old sum when an event arrives (history half-life step).
        max_interests: most interests kept.
        join_cosine: an event joins its closest interest when the cosine is at least this;
            otherwise it opens a new interest (or joins the closest when all slots are used).
        sums: float64[k, d] weighted vector sums per interest (their direction is the interest).
    """

    step: float
    max_interests: int
    join_cosine: float = 0.5
    sums: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))

    def add(self, vector: np.ndarray, weight: float = 1.0) -> int:
        """Fold in one event's unit vector; returns the index of the interest it joined."""
        vector = np.asarray(vector, dtype=np.float64)
        if self.sums.size == 0:
            self.sums = (weight * vector)[None]
            return 0
        self.sums *= self.step
        cosine = normalise(self.sums.astype(np.float32)) @ vector
        best = int(np.argmax(cosine))
        if cosine[best] < self.join_cosine and len(self.sums) < self.max_interests:
            self.sums = np.vstack([self.sums, weight * vector])
            return len(self.sums) - 1
        self.sums[best] += weight * vector
        return best

    @property
    def interests(self) -> np.ndarray:
        """float32[k, d] unit interest vectors."""
        return normalise(self.sums.astype(np.float32))

    @property
    def weights(self) -> np.ndarray:
        """float32[k]: the weight behind each interest (length of its sum)."""
        return np.linalg.norm(self.sums, axis=1).astype(np.float32)
