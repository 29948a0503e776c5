"""The three matrices every bundle scorer reads: user–bundle, user–item and bundle–item.

Sources differ in what they give:

- CrossCBR folders (Youshu, NetEase, iFashion) publish a user–bundle split ("train", "tune", "test")
  and a user–item log that is not part of any split: both are used as given (`item_log="dataset"`).
- BundleRec (and any source whose bundles come as one "all" log) has no split, and its user–item log
  is the union of the items of each user's bundles, so it would leak the held-out bundles.
  `split_user_bundles` makes a seeded split and the user–item matrix is rebuilt from the train
  bundles' items only (`item_log="train-bundles"`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import scipy.sparse as sp

from prismrec.data.schema import Bundles, Dataset
from prismrec.errors import ConfigError, DataError
from prismrec.profiles.interests import normalise

SPLIT_PARTS = ("train", "tune", "test")
ITEM_LOGS = ("dataset", "train-bundles")


@dataclass(frozen=True)
class BundleSignals:
    """What the scorers learn from.

    Attributes:
        user_bundles: float32 CSR [n_users, n_bundles], 1 for each train (user, bundle) pair.
        user_items: float32 CSR [n_users, n_items], 1 for each (user, item) the user has.
        membership: float32 CSR [n_bundles, n_items], 1 where the item belongs to the bundle.
        item_vectors: float32[n_items, d] unit text vectors of the items, or None (no text).
    """

    user_bundles: sp.csr_matrix
    user_items: sp.csr_matrix
    membership: sp.csr_matrix
    item_vectors: np.ndarray | None = None

    @property
    def n_users(self) -> int:
        return int(self.user_bundles.shape[0])

    @property
    def n_bundles(self) -> int:
        return int(self.membership.shape[0])

    @cached_property
    def takers(self) -> np.ndarray:
        """float32[n_bundles]: train users per bundle."""
        return np.asarray(self.user_bundles.sum(axis=0), dtype=np.float32).ravel()

    @cached_property
    def bundle_vectors(self) -> np.ndarray:
        """float32[n_bundles, d]: the unit mean of each bundle's item vectors (zero for empty bundles)."""
        return normalise(np.asarray(self.membership @ self.require_vectors(), dtype=np.float32))

    def require_vectors(self) -> np.ndarray:
        """The item vectors, or a ConfigError that says how to get them."""
        if self.item_vectors is None:
            raise ConfigError(
                "the text signal needs item vectors: the dataset has no item text (e.g. youshu) or the config "
                "has no [encoder]; set text_weight = 0 or use a dataset with item titles"
            )
        return self.item_vectors

    @classmethod
    def from_parts(
        cls,
        dataset: Dataset,
        parts: dict[str, np.ndarray],
        item_log: str = "dataset",
        item_vectors: np.ndarray | None = None,
    ) -> BundleSignals:
        """Signals with `parts["train"]` as the user–bundle matrix.

        Args:
            dataset: a dataset with bundles.
            parts: int32 [n, 2] (user index, bundle index) pairs per part; "train" is required.
            item_log: "dataset" (the dataset's interactions) or "train-bundles" (the items of each user's
                train bundles; for sources whose item log is derived from all bundles).
            item_vectors: float32[n_items, d] unit item vectors, or None.
        """
        bundles = require_bundles(dataset)
        if "train" not in parts:
            raise DataError(f"{dataset.name}: the bundle split has no 'train' part (parts: {sorted(parts)})")
        if item_log not in ITEM_LOGS:
            raise ConfigError(f"item_log must be one of {ITEM_LOGS}, got {item_log!r}")
        n_users = dataset.interactions.n_users
        membership = sp.csr_matrix(bundles.membership, dtype=np.float32)
        user_bundles = pairs_matrix(parts["train"], (n_users, len(bundles)))
        if item_log == "dataset":
            user_items = sp.csr_matrix(dataset.interactions.matrix(), dtype=np.float32)
        else:
            user_items = sp.csr_matrix(user_bundles @ membership, dtype=np.float32)
        user_items.data[:] = 1.0
        return cls(user_bundles, user_items, membership, item_vectors)


def require_bundles(dataset: Dataset) -> Bundles:
    """The dataset's bundles, or a DataError naming the datasets that have them."""
    if dataset.bundles is None or len(dataset.bundles) == 0:
        raise DataError(
            f"{dataset.name} has no bundles; use a bundle dataset (youshu, bundlerec-electronic, "
            "bundlerec-clothing, bundlerec-food, steam-bundles)"
        )
    return dataset.bundles


def pairs_matrix(pairs: np.ndarray, shape: tuple[int, int]) -> sp.csr_matrix:
    """float32 CSR `shape` with 1 at each (row, column) pair of int[n, 2] `pairs` (repeats count once)."""
    matrix = sp.csr_matrix(
        (np.ones(len(pairs), dtype=np.float32), (pairs[:, 0], pairs[:, 1])), shape=shape, dtype=np.float32
    )
    matrix.sum_duplicates()
    matrix.data[:] = 1.0
    return matrix


def user_bundle_parts(dataset: Dataset, seed: int = 0, held_out: float = 0.1) -> tuple[dict[str, np.ndarray], str]:
    """(parts, item_log) for `dataset`: the published split when it has one, else `split_user_bundles`."""
    bundles = require_bundles(dataset)
    if all(part in bundles.user_bundles for part in SPLIT_PARTS):
        return {part: bundles.user_bundles[part] for part in SPLIT_PARTS}, "dataset"
    if "all" not in bundles.user_bundles or len(bundles.user_bundles["all"]) == 0:
        raise DataError(f"{dataset.name} has no user–bundle interactions: bundles can be generated, not recommended")
    return split_user_bundles(bundles.user_bundles["all"], seed, held_out), "train-bundles"


def split_user_bundles(pairs: np.ndarray, seed: int = 0, held_out: float = 0.1) -> dict[str, np.ndarray]:
    """A seeded split of (user, bundle) pairs into train / tune / test.

    Each pair goes to test with probability `held_out`, to tune with probability `held_out`, else to
    train; one pair of every user (chosen by the seed) always stays in train, so every evaluated user
    has a history.

    Args:
        pairs: int32 [n, 2] (user index, bundle index).
        seed: the permutation seed.
        held_out: the share of pairs in each of tune and test (0 < held_out < 0.5).

    Returns:
        {"train", "tune", "test"}: int32 [n_part, 2] each, distinct pairs sorted by (user, bundle).
    """
    if not 0.0 < held_out < 0.5:
        raise ConfigError(f"held_out must lie in (0, 0.5), got {held_out}")
    pairs = np.unique(np.asarray(pairs, dtype=np.int32), axis=0)
    draw = np.random.default_rng(seed).random(len(pairs))
    part = np.where(draw < held_out, 2, np.where(draw < 2 * held_out, 1, 0))
    # keep every user's first pair (in a seeded order) in train so that every test user has a history
    order = np.random.default_rng(seed + 1).permutation(len(pairs))
    _, first = np.unique(pairs[order, 0], return_index=True)
    part[order[first]] = 0
    return {name: pairs[part == code] for code, name in enumerate(SPLIT_PARTS)}
