"""The in-memory dataset: id maps, interactions, item catalogue and bundles.

Inside prismrec users, items and bundles are dense integer indices `0..n-1`; external ids are
strings and are mapped only at the edges through an `IdMap`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd
import scipy.sparse as sp

from prismrec.errors import UnknownIdError


def binary_csr(rows: np.ndarray, cols: np.ndarray, shape: tuple[int, int]) -> sp.csr_matrix:
    """float32 CSR of the given shape with 1.0 at every (row, col) pair (repeats count once)."""
    matrix = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=shape, dtype=np.float32)
    matrix.sum_duplicates()
    matrix.data[:] = 1.0
    return matrix


class IdMap:
    """A bijection between external string ids and dense indices `0..n-1`.

    Args:
        ids: the external ids in index order; must be unique.
    """

    def __init__(self, ids: Iterable[str]) -> None:
        self._ids = np.asarray([str(i) for i in ids], dtype=object)
        self._index = {external: position for position, external in enumerate(self._ids)}
        if len(self._index) != len(self._ids):
            raise ValueError("IdMap ids must be unique")

    @classmethod
    def sorted_from(cls, *id_groups: Iterable[str]) -> IdMap:
        """The sorted union of several id collections (string order): independent of file order."""
        union: set[str] = set()
        for group in id_groups:
            union.update(str(i) for i in pd.unique(np.asarray(_listed(group), dtype=object)))
        return cls(sorted(union))

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, external: object) -> bool:
        return str(external) in self._index

    def __eq__(self, other: object) -> bool:
        return isinstance(other, IdMap) and np.array_equal(self._ids, other._ids)

    def __hash__(self) -> int:
        return hash(tuple(self._ids))

    @property
    def ids(self) -> np.ndarray:
        """object[n]: external id of every index (read-only view)."""
        view = self._ids.view()
        view.flags.writeable = False
        return view

    def index(self, external: str, kind: str = "id") -> int:
        """Index of one external id; raises `UnknownIdError` naming the id."""
        try:
            return self._index[str(external)]
        except KeyError:
            raise UnknownIdError(f"unknown {kind} '{external}'") from None

    def indices(self, externals: Iterable[str], kind: str = "id") -> np.ndarray:
        """int64[n]: indices of several external ids; unknown ids raise `UnknownIdError`."""
        return np.fromiter((self.index(e, kind) for e in externals), dtype=np.int64)

    def lookup(self, externals: Iterable[str]) -> np.ndarray:
        """int64[n]: indices, with -1 for unknown ids (no error); hashed in bulk, so millions take seconds."""
        keys = pd.Index(np.asarray(_listed(externals), dtype=object)).astype(str)
        return self._hashed.get_indexer(keys).astype(np.int64)

    @cached_property
    def _hashed(self) -> pd.Index:
        return pd.Index(self._ids)

    def to_external(self, indices: np.ndarray) -> np.ndarray:
        """object array of the same shape: external ids of `indices`."""
        return self._ids[np.asarray(indices)]


def _listed(values: Iterable[str]) -> Sequence[str] | np.ndarray | pd.Series:
    """Arrays and series as they are; any other iterable as a list."""
    return values if isinstance(values, np.ndarray | pd.Series | pd.Index | list | tuple) else list(values)


@dataclass(frozen=True)
class Interactions:
    """A log of (user, item, value, timestamp) events over fixed user and item id maps.

    Rows keep the order of the source file (line order decides ties in splits). Subsets made by
    `select` share the same id maps, so train, valid and test live in one index space.

    Attributes:
        users: int32[n] user index per event.
        items: int32[n] item index per event.
        values: float32[n] rating or event weight (1.0 for implicit data).
        timestamps: float64[n] Unix seconds; NaN where the source has no time.
        user_ids: the user id map (size = number of users of the whole dataset).
        item_ids: the item id map (size = number of items of the catalogue).
    """

    users: np.ndarray
    items: np.ndarray
    values: np.ndarray
    timestamps: np.ndarray
    user_ids: IdMap
    item_ids: IdMap

    def __post_init__(self) -> None:
        n = len(self.users)
        if not (len(self.items) == len(self.values) == len(self.timestamps) == n):
            raise ValueError("Interactions arrays must all have the same length")
        for array in (self.users, self.items, self.values, self.timestamps):
            array.flags.writeable = False

    @classmethod
    def from_arrays(
        cls,
        users: np.ndarray,
        items: np.ndarray,
        user_ids: IdMap,
        item_ids: IdMap,
        values: np.ndarray | None = None,
        timestamps: np.ndarray | None = None,
    ) -> Interactions:
        n = len(users)
        return cls(
            users=np.asarray(users, dtype=np.int32),
            items=np.asarray(items, dtype=np.int32),
            values=np.ones(n, np.float32) if values is None else np.asarray(values, dtype=np.float32),
            timestamps=np.full(n, np.nan) if timestamps is None else np.asarray(timestamps, np.float64),
            user_ids=user_ids,
            item_ids=item_ids,
        )

    def __len__(self) -> int:
        return len(self.users)

    @property
    def n_users(self) -> int:
        return len(self.user_ids)

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    @property
    def has_timestamps(self) -> bool:
        return bool(len(self.timestamps)) and not np.isnan(self.timestamps).all()

    def select(self, mask: np.ndarray) -> Interactions:
        """The events where `mask` (bool[n]) is true, in the same order and index space."""
        return Interactions(
            self.users[mask], self.items[mask], self.values[mask], self.timestamps[mask],
            self.user_ids, self.item_ids,
        )  # fmt: skip

    def matrix(self, binary: bool = True) -> sp.csr_matrix:
        """float32 CSR [n_users, n_items]: 1 per (user, item) pair, or the value when `binary=False`."""
        shape = (self.n_users, self.n_items)
        if binary:
            return binary_csr(self.users, self.items, shape)
        m = sp.csr_matrix((self.values, (self.users, self.items)), shape=shape)
        m.sum_duplicates()
        return m

    def item_counts(self) -> np.ndarray:
        """int64[n_items]: number of distinct users per item."""
        return np.bincount(self.items, minlength=self.n_items).astype(np.int64)

    def user_counts(self) -> np.ndarray:
        """int64[n_users]: number of events per user."""
        return np.bincount(self.users, minlength=self.n_users).astype(np.int64)

    def active_users(self) -> np.ndarray:
        """int64[m]: sorted indices of users with at least one event."""
        return np.flatnonzero(self.user_counts())

    def to_frame(self) -> pd.DataFrame:
        """Columns user_id, item_id (external), value, timestamp, in row order."""
        return pd.DataFrame(
            {
                "user_id": self.user_ids.to_external(self.users),
                "item_id": self.item_ids.to_external(self.items),
                "value": self.values,
                "timestamp": self.timestamps,
            }
        )


@dataclass(frozen=True)
class Catalog:
    """Items with their text fields, categories and other attributes.

    Attributes:
        item_ids: the item id map shared with `Interactions`.
        table: one row per item index; text fields and attributes as columns (strings, "" if absent).
        text_fields: the columns that hold natural-language text (title first, then others).
        categories: per item index, a tuple of category labels (possibly empty).
    """

    item_ids: IdMap
    table: pd.DataFrame
    text_fields: tuple[str, ...]
    categories: tuple[tuple[str, ...], ...]

    def __post_init__(self) -> None:
        if len(self.table) != len(self.item_ids) or len(self.categories) != len(self.item_ids):
            raise ValueError("Catalog table and categories must have one entry per item")

    @classmethod
    def empty(cls, item_ids: IdMap) -> Catalog:
        """A catalogue that knows only the ids (datasets without item text)."""
        return cls(item_ids, pd.DataFrame(index=range(len(item_ids))), (), ((),) * len(item_ids))

    def __len__(self) -> int:
        return len(self.item_ids)

    def title(self, item: int) -> str:
        """Display title of an item index: its first text field, else its external id."""
        if self.text_fields:
            value = str(self.table.iloc[item][self.text_fields[0]])
            if value:
                return value
        return str(self.item_ids.ids[item])

    def prices(self) -> np.ndarray | None:
        """float64[n_items] from the `price` column (NaN where missing or not a number), or None without one."""
        if "price" not in self.table.columns:
            return None
        return pd.to_numeric(self.table["price"], errors="coerce").to_numpy(np.float64)

    def category_matrix(self) -> tuple[sp.csr_matrix, list[str]]:
        """(float32 CSR [n_items, n_categories] of 0/1, category names in column order)."""
        names = sorted({c for cats in self.categories for c in cats})
        column = {c: j for j, c in enumerate(names)}
        rows = [i for i, cats in enumerate(self.categories) for _ in cats]
        cols = [column[c] for cats in self.categories for c in cats]
        return binary_csr(np.asarray(rows, np.int64), np.asarray(cols, np.int64), (len(self), len(names))), names


@dataclass(frozen=True)
class Bundles:
    """Bundles (item sets) and, where the source has them, user-bundle interactions.

    Attributes:
        bundle_ids: the bundle id map.
        membership: float32 CSR [n_bundles, n_items], 1 where the item belongs to the bundle.
        user_bundles: named parts of the user-bundle log (e.g. "train", "tune", "test" or "all"),
            each an int32 array [n, 2] of (user index, bundle index) in file order.
        names: per bundle index, a display name or intent text ("" if the source has none).
        prices: float64[n_bundles], the price of each bundle (e.g. dollars; NaN where unknown),
            or None when the source has no prices.
    """

    bundle_ids: IdMap
    membership: sp.csr_matrix
    user_bundles: dict[str, np.ndarray] = field(default_factory=dict)
    names: tuple[str, ...] = ()
    prices: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.prices is not None and self.prices.shape != (len(self.bundle_ids),):
            raise ValueError("Bundles prices must have one entry per bundle")

    def __len__(self) -> int:
        return len(self.bundle_ids)


@dataclass(frozen=True)
class Dataset:
    """Everything a recommender learns from: interactions + catalogue (+ bundles).

    Attributes:
        name: short name ("ml-100k", or the file stem for generic files).
        interactions: the event log, duplicates already resolved by the loader.
        catalog: the items; its id map is the interactions' item map.
        bundles: optional bundle data.
        rating_scale: (min, max) of explicit ratings, or None for implicit data.
        user_table: optional user attributes, one row per user index (strings).
    """

    name: str
    interactions: Interactions
    catalog: Catalog
    bundles: Bundles | None = None
    rating_scale: tuple[float, float] | None = None
    user_table: pd.DataFrame | None = None

    def __post_init__(self) -> None:
        if self.catalog.item_ids is not self.interactions.item_ids and not (
            self.catalog.item_ids == self.interactions.item_ids
        ):
            raise ValueError("catalog and interactions must share one item id map")

    @property
    def n_users(self) -> int:
        return self.interactions.n_users

    @property
    def n_items(self) -> int:
        return self.interactions.n_items

    def summary(self) -> dict[str, object]:
        """Counts a person wants to see first."""
        inter = self.interactions
        return {
            "name": self.name,
            "users": inter.n_users,
            "items": inter.n_items,
            "items_with_interactions": int((inter.item_counts() > 0).sum()),
            "interactions": len(inter),
            "density": len(inter) / max(1, inter.n_users * inter.n_items),
            "text_fields": list(self.catalog.text_fields),
            "categories": len({c for cats in self.catalog.categories for c in cats}),
            "bundles": 0 if self.bundles is None else len(self.bundles),
            "rating_scale": self.rating_scale,
        }


def assemble(
    name: str,
    events: pd.DataFrame,
    items: pd.DataFrame | None = None,
    text_fields: Sequence[str] = (),
    category_column: str | None = None,
    rating_scale: tuple[float, float] | None = None,
    implicit: bool = False,
    extra_user_ids: Iterable[str] = (),
    extra_item_ids: Iterable[str] = (),
) -> tuple[Interactions, Catalog, float]:
    """Build interactions and catalogue from validated frames. Used by every loader.

    Args:
        name: dataset name (only for messages).
        events: columns user_id, item_id (str), value (float), timestamp (float, NaN allowed),
            in source line order. Duplicate (user, item) pairs are reduced to the earliest
            (by timestamp, then line order), as in PROTOCOL.md.
        items: optional item table with column item_id (str) plus text/attribute columns;
            `category_column` holds a tuple of labels per row.
        text_fields: the natural-language columns of `items`, most important first.
        implicit: when true, values become 1.0.
        extra_user_ids / extra_item_ids: ids known from elsewhere (bundle files, size files).

    Returns:
        (interactions, catalog, share of rows dropped as duplicates).
    """
    n_raw = len(events)
    events = events.reset_index(drop=True)
    kept = events.iloc[earliest_of_each_pair(events)]
    duplicate_share = 1.0 - len(kept) / n_raw if n_raw else 0.0

    item_sources: list[Iterable[str]] = [kept["item_id"], extra_item_ids]
    if items is not None:
        item_sources.append(items["item_id"])
    user_ids = IdMap.sorted_from(kept["user_id"], extra_user_ids)
    item_ids = IdMap.sorted_from(*item_sources)
    interactions = Interactions.from_arrays(
        users=user_ids.lookup(kept["user_id"]),
        items=item_ids.lookup(kept["item_id"]),
        user_ids=user_ids,
        item_ids=item_ids,
        values=None if implicit else kept["value"].to_numpy(np.float32),
        timestamps=kept["timestamp"].to_numpy(np.float64),
    )
    catalog = build_catalog(item_ids, items, text_fields, category_column)
    return interactions, catalog, duplicate_share


def earliest_of_each_pair(events: pd.DataFrame) -> np.ndarray:
    """int64 rows (ascending) keeping each (user_id, item_id) pair once: its earliest timestamp, then first line.

    Pairs are compared on hashed integer codes, so a log of millions of events dedupes in seconds.
    """
    users, _ = pd.factorize(events["user_id"])
    items, item_uniques = pd.factorize(events["item_id"])
    pair = users.astype(np.int64) * max(len(item_uniques), 1) + items
    rows = np.arange(len(events))
    times = np.nan_to_num(events["timestamp"].to_numpy(np.float64), nan=np.inf)  # missing times sort last
    order = np.lexsort((rows, times, pair))
    first = np.ones(len(order), dtype=bool)
    first[1:] = pair[order][1:] != pair[order][:-1]
    return np.sort(order[first])


def build_catalog(
    item_ids: IdMap,
    items: pd.DataFrame | None,
    text_fields: Sequence[str],
    category_column: str | None,
) -> Catalog:
    """Align an item table (one row per item_id, first row wins) to `item_ids`."""
    if items is None or items.empty:
        return Catalog.empty(item_ids)
    items = items.drop_duplicates("item_id", keep="first").set_index("item_id")
    aligned = items.reindex(item_ids.ids)
    categories: tuple[tuple[str, ...], ...]
    if category_column is not None and category_column in aligned:
        categories = tuple(tuple(c) if isinstance(c, tuple | list) else () for c in aligned[category_column])
        aligned = aligned.drop(columns=[category_column])
    else:
        categories = ((),) * len(item_ids)
    table = aligned.reset_index(drop=True)
    for column in table.columns:
        if table[column].dtype == object:
            table[column] = table[column].fillna("").astype(str)
    return Catalog(item_ids, table, tuple(f for f in text_fields if f in table.columns), categories)
