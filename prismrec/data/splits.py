"""Deterministic train/test splits, implementing PROTOCOL.md exactly.

Every split keeps the dataset's id maps, so train, valid and test share one index space, and a
model fitted on train scores users and items by the same indices the metrics use.

Protocols:
    temporal        per user, the last 20% of events by time (ties: file line order) are test.
    random          per user, 20% chosen by one key per event from default_rng(seed).random(N).
    leave-one-out   per user with at least two events, the single latest event is test (PROTOCOL.md E;
                    the old name `leave-last-out` is accepted too).
    cold-items      20% of the items (seeded permutation of the sorted ids) are cold: all their
                    events are test, everything else is train (PROTOCOL.md B).
Validation applies the same rule again to the train part (fresh generator for `random`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from prismrec.data.schema import Interactions
from prismrec.errors import ConfigError, DataError

PROTOCOLS = ("temporal", "random", "leave-one-out", "cold-items")
ALIASES = {"leave-last-out": "leave-one-out"}  # old names still accepted


def protocol_name(protocol: str) -> str:
    """The protocol's current name (aliases resolved); unknown names are left for the caller to reject."""
    return ALIASES.get(protocol, protocol)
DEFAULT_SEED = 42
DEFAULT_TEST_RATIO = Fraction(1, 5)


def n_holdout(counts: np.ndarray, ratio: Fraction = DEFAULT_TEST_RATIO) -> np.ndarray:
    """int64: max(1, floor(ratio * n + 1/2)) per user, in exact integer arithmetic.

    With ratio 1/5 this is PROTOCOL.md's `max(1, (2n + 5) // 10)`.
    """
    n = np.asarray(counts, dtype=np.int64)
    p, q = ratio.numerator, ratio.denominator
    return np.maximum(1, (2 * n * p + q) // (2 * q))


def _holdout_mask(inter: Interactions, order_key: np.ndarray, n_test: np.ndarray | None, ratio: Fraction) -> np.ndarray:
    """bool[n]: events among each user's last `n_test` by (order_key, line order)."""
    rows = np.arange(len(inter))
    order = np.lexsort((rows, order_key, inter.users))
    counts = inter.user_counts()
    per_user_test = n_holdout(counts, ratio) if n_test is None else np.minimum(n_test, counts)
    sorted_users = inter.users[order]
    ends = np.cumsum(counts)
    position_from_end = ends[sorted_users] - 1 - np.arange(len(order))
    held = np.zeros(len(inter), dtype=bool)
    held[order] = position_from_end < per_user_test[sorted_users]
    return held


def holdout(
    inter: Interactions,
    protocol: str,
    seed: int = DEFAULT_SEED,
    ratio: Fraction = DEFAULT_TEST_RATIO,
) -> np.ndarray:
    """bool[n] mask of the held-out events of one split step (the rest is kept)."""
    protocol = protocol_name(protocol)
    if protocol == "temporal":
        return _holdout_mask(inter, _require_time(inter), None, ratio)
    if protocol == "random":
        return _holdout_mask(inter, np.random.default_rng(seed).random(len(inter)), None, ratio)
    if protocol == "leave-one-out":
        single = (inter.user_counts() >= 2).astype(np.int64)  # a user's only event stays in train
        return _holdout_mask(inter, _require_time(inter), single, ratio)
    if protocol == "cold-items":
        return np.isin(inter.items, cold_items(inter, seed, ratio))
    raise ConfigError(f"unknown protocol '{protocol}'; choose one of {', '.join(PROTOCOLS)}")


def cold_items(inter: Interactions, seed: int = DEFAULT_SEED, ratio: Fraction = DEFAULT_TEST_RATIO) -> np.ndarray:
    """int64[m]: item indices chosen as cold (PROTOCOL.md B), in permutation order.

    Items with at least one event, sorted by external id as strings, are permuted with
    default_rng(seed); the first floor(ratio * n + 1/2) are cold.
    """
    active = np.flatnonzero(inter.item_counts())
    by_id = active[np.argsort(inter.item_ids.ids[active].astype(str), kind="stable")]
    permuted = by_id[np.random.default_rng(seed).permutation(len(by_id))]
    n_cold = int((2 * len(by_id) * ratio.numerator + ratio.denominator) // (2 * ratio.denominator))
    return permuted[:n_cold]


def _require_time(inter: Interactions) -> np.ndarray:
    if len(inter) and not inter.has_timestamps:
        raise DataError("this dataset has no timestamps; use the 'random' protocol instead")
    return np.nan_to_num(inter.timestamps, nan=-np.inf)


@dataclass(frozen=True)
class Split:
    """The four parts of one protocol run.

    Attributes:
        protocol: the protocol name.
        data: all events (duplicates already resolved).
        train / test: the outer split; models are refit on train and scored on test.
        subtrain / valid: the same rule applied to train; used for choosing hyper-parameters.
        test_catalog / valid_catalog: bool[n_items], the items ranked and counted by the metrics
            at each stage (PROTOCOL.md A: every item with at least one event; for cold-items only
            the items made cold at that stage).
    """

    protocol: str
    data: Interactions
    train: Interactions
    test: Interactions
    subtrain: Interactions
    valid: Interactions
    test_catalog: np.ndarray
    valid_catalog: np.ndarray

    def stage(self, which: str) -> tuple[Interactions, Interactions]:
        """(fit part, evaluation part) for 'valid' or 'test'."""
        if which == "valid":
            return self.subtrain, self.valid
        if which == "test":
            return self.train, self.test
        raise ConfigError(f"unknown split part '{which}'; choose 'valid' or 'test'")

    def catalog(self, which: str) -> np.ndarray:
        """bool[n_items]: the items ranked at stage 'valid' or 'test'."""
        self.stage(which)
        return self.valid_catalog if which == "valid" else self.test_catalog

    def fingerprint(self, which: str = "test") -> str:
        """First 12 hex digits of sha1 over the sorted 'user<TAB>item' lines of the part (as evaluate.py)."""
        _, part = self.stage(which)
        lines = sorted(
            u + "\t" + i
            for u, i in zip(part.user_ids.to_external(part.users), part.item_ids.to_external(part.items), strict=True)
        )
        return hashlib.sha1("\n".join(lines).encode()).hexdigest()[:12]


def split(inter: Interactions, protocol: str = "temporal", seed: int = DEFAULT_SEED) -> Split:
    """Split events by `protocol` into train/test and subtrain/valid (see module docstring)."""
    if len(inter) == 0:
        raise DataError(
            "this dataset has no interactions: it can feed item text (encoding, search) but not fit or "
            "evaluate a recommender"
        )
    protocol = protocol_name(protocol)
    held = holdout(inter, protocol, seed)
    train, test = inter.select(~held), inter.select(held)
    inner = holdout(train, protocol, seed)
    if protocol == "cold-items":
        test_catalog, valid_catalog = _mask(inter, cold_items(inter, seed)), _mask(inter, cold_items(train, seed))
    else:
        test_catalog = valid_catalog = inter.item_counts() > 0
    return Split(protocol, inter, train, test, train.select(~inner), train.select(inner), test_catalog, valid_catalog)


def _mask(inter: Interactions, items: np.ndarray) -> np.ndarray:
    mask = np.zeros(inter.n_items, dtype=bool)
    mask[items] = True
    return mask
