"""An item knowledge graph: items linked to their attributes (category, brand, tag, bundle, ...).

The graph is a bipartite item–attribute incidence matrix. It gives two things:

- relatedness between items: the cosine of their IDF-weighted attribute rows (TF-IDF over
  attributes), usable as a scorer feature;
- reasons for pairs of items, from the most specific attribute both have, e.g.
  "both for “camping trip for two”".

Attributes come from `Catalog.categories` (kind "category"), from string columns of the catalogue
table (kind after the column: "tags" → "tag", "brand" → "brand") and from bundle membership (kind
"bundle"). What the loaders put in the table columns:

- ml-latest-small: `tags` = distinct lower-cased tags joined by ", " (split into one tag each);
- kuairec-captions: `topic_tag` = topic tags joined by ", " (split; kind "tag");
- amazon-2018: `brand` = one brand per item (not split);
- ml-100k (atomic), BundleRec, CrossCBR: no brand or tag column; genres / category paths are in
  `Catalog.categories`.

An attribute is identified by (kind, value); repeats of the same edge count once. The graph is saved
as `item_graph.npz` (CSR arrays, no pickle) and `item_graph.json` (attribute kinds, values, labels).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from prismrec.data.schema import Bundles, Catalog
from prismrec.errors import FormatError, PrismrecError

FORMAT_VERSION = 1
NPZ_FILE = "item_graph.npz"
JSON_FILE = "item_graph.json"

# Column name -> attribute kind; other columns keep their name as the kind.
COLUMN_KINDS: dict[str, str] = {
    "tags": "tag", "tag": "tag", "topic_tag": "tag", "topic_tags": "tag",
    "brand": "brand", "brands": "brand", "genre": "genre", "genres": "genre",
}  # fmt: skip
# Multi-valued columns and how the loaders join their values; other columns hold one value per item.
LIST_SEPARATORS: dict[str, str] = {"tags": ", ", "topic_tag": ", "}
# Among attributes equally specific (same idf), the kind named first explains a pair best.
KIND_PRECEDENCE: tuple[str, ...] = ("bundle", "brand", "tag", "genre", "category")


@dataclass(frozen=True)
class Attribute:
    """One attribute node of the graph.

    Attributes:
        kind: "category", "brand", "genre", "tag", "bundle" or another column name.
        value: the raw key: the label for categories and columns, the external id for bundles.
        label: display text: the bundle's intent or name ("bundle <id>" when it has none), else the value.
    """

    kind: str
    value: str
    label: str


class ItemGraph:
    """Items × attributes incidence with IDF weights, relatedness and pair reasons.

    Args:
        incidence: [n_items, n_attributes] sparse matrix; every stored entry is an edge (stored as 1.0).
        kinds, values, labels: one entry per attribute column; (kind, value) pairs must be unique.
    """

    def __init__(
        self, incidence: sp.spmatrix, kinds: Sequence[str], values: Sequence[str], labels: Sequence[str]
    ) -> None:
        matrix = sp.csr_matrix(incidence, dtype=np.float32, copy=True)
        matrix.sum_duplicates()
        matrix.eliminate_zeros()
        matrix.data[:] = 1.0
        matrix.sort_indices()
        if not (len(kinds) == len(values) == len(labels) == matrix.shape[1]):
            raise ValueError("ItemGraph needs one kind, value and label per incidence column")
        self.incidence: sp.csr_matrix = matrix
        self.kinds: tuple[str, ...] = tuple(str(k) for k in kinds)
        self.values: tuple[str, ...] = tuple(str(v) for v in values)
        self.labels: tuple[str, ...] = tuple(str(label) for label in labels)
        if len(set(zip(self.kinds, self.values, strict=True))) != len(self.kinds):
            raise ValueError("ItemGraph attributes must be unique by (kind, value)")
        self._index = {key: j for j, key in enumerate(zip(self.kinds, self.values, strict=True))}

    # ------------------------------------------------------------------------- construction

    @classmethod
    def from_catalog(
        cls,
        catalog: Catalog,
        bundles: Bundles | None = None,
        columns: Sequence[str] = ("brand", "tags"),
        separators: Mapping[str, str] | None = None,
    ) -> ItemGraph:
        """Build the graph from a catalogue (and its bundles).

        Args:
            catalog: categories become kind "category"; each of `columns` present in `catalog.table`
                becomes kind `COLUMN_KINDS.get(column, column)`. Missing columns and empty values
                are skipped.
            bundles: membership [n_bundles, n_items] becomes kind "bundle" (value = bundle id,
                label = its name/intent or "bundle <id>"); bundles without items add no attribute.
            columns: the table columns to read, in this order.
            separators: column -> separator of multi-valued columns (default `LIST_SEPARATORS`).

        Returns:
            The graph; attributes are grouped as categories, then `columns` in order (values sorted
            within each group), then bundles in bundle index order.
        """
        separators = LIST_SEPARATORS if separators is None else separators
        n_items = len(catalog)
        groups = [_category_edges(catalog)]
        groups += [
            _column_edges(catalog.table[column], COLUMN_KINDS.get(column, column), separators.get(column))
            for column in columns
            if column in catalog.table.columns
        ]
        builder = _Builder()
        for kind, edges in groups:
            for value in sorted({value for _, value in edges}):
                builder.attribute(kind, value, value)
            builder.edges(kind, edges)
        if bundles is not None:
            _add_bundles(builder, bundles, n_items)
        return builder.build(n_items)

    # ------------------------------------------------------------------------- basic properties

    @property
    def n_items(self) -> int:
        return int(self.incidence.shape[0])

    @property
    def n_attributes(self) -> int:
        return int(self.incidence.shape[1])

    def attribute(self, index: int) -> Attribute:
        """The attribute of one column index."""
        return Attribute(self.kinds[index], self.values[index], self.labels[index])

    def attribute_index(self, kind: str, value: str) -> int:
        """Column index of the attribute (kind, value); raises `KeyError` when the graph has none."""
        return self._index[(kind, str(value))]

    def attributes_of(self, item: int) -> list[Attribute]:
        """The attributes of one item, in attribute index order."""
        row = self.incidence.indices[self.incidence.indptr[item] : self.incidence.indptr[item + 1]]
        return [self.attribute(int(j)) for j in row]

    def items_with(self, attribute_index: int) -> np.ndarray:
        """int64[df]: sorted indices of the items that have the attribute."""
        columns = self._by_attribute
        return columns.indices[columns.indptr[attribute_index] : columns.indptr[attribute_index + 1]].astype(np.int64)

    @cached_property
    def _by_attribute(self) -> sp.csc_matrix:
        matrix = self.incidence.tocsc()
        matrix.sort_indices()
        return matrix

    @cached_property
    def df(self) -> np.ndarray:
        """int64[n_attributes]: number of items with each attribute."""
        return np.diff(self._by_attribute.indptr).astype(np.int64)

    @cached_property
    def idf(self) -> np.ndarray:
        """float64[n_attributes]: ln(n_items / df); 0 on every item, ln(n_items) on one item, 0 without items."""
        ratio = np.divide(self.n_items, self.df, out=np.ones(len(self.df)), where=self.df > 0)
        return np.log(ratio)

    # ------------------------------------------------------------------------- relatedness

    @cached_property
    def _unit_rows(self) -> sp.csr_matrix:
        """float64 CSR [n_items, n_attributes]: IDF-weighted rows scaled to unit length (empty rows stay 0)."""
        weighted = sp.csr_matrix(self.incidence @ sp.diags(self.idf), dtype=np.float64)
        weighted.eliminate_zeros()  # attributes on every item weigh nothing
        norms = np.sqrt(np.asarray(weighted.multiply(weighted).sum(axis=1)).ravel())
        scale = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
        return sp.csr_matrix(sp.diags(scale) @ weighted)

    @cached_property
    def _unit_columns(self) -> sp.csr_matrix:
        """float64 CSR [n_attributes, n_items]: the transpose of `_unit_rows`, kept for products."""
        return self._unit_rows.T.tocsr()

    def relatedness(self, items: np.ndarray) -> np.ndarray:
        """float32[len(items), n_items]: TF-IDF cosine of each given item with every item.

        Each item is its incidence row weighted by `idf`, scaled to unit length; relatedness is the
        dot product of two such rows, in [0, 1]. Attributes on only one item are part of the rows
        (they lower the item's cosine with others) but never connect two items. Items without
        attributes, or whose attributes are all on every item (idf 0), score 0 with everything.
        The diagonal is included as computed: an item scores 1 with itself (up to rounding) unless
        its row is empty, in which case 0. Sparse throughout; only the result is dense.
        """
        items = np.asarray(items, dtype=np.int64).reshape(-1)
        product = self._unit_rows[items] @ self._unit_columns
        return np.asarray(product.toarray(), dtype=np.float32)

    # ------------------------------------------------------------------------- explanations

    def shared(self, a: int, b: int) -> list[Attribute]:
        """The attributes items a and b both have: highest idf first, ties by kind then label.

        Kinds are ordered by `KIND_PRECEDENCE` (bundle, brand, tag, genre, category), other kinds
        after these in alphabetical order; last ties by value.
        """
        row_a = self.incidence.indices[self.incidence.indptr[a] : self.incidence.indptr[a + 1]]
        row_b = self.incidence.indices[self.incidence.indptr[b] : self.incidence.indptr[b + 1]]
        common = np.intersect1d(row_a, row_b)
        ordered = sorted(
            (int(j) for j in common),
            key=lambda j: (-self.idf[j], _kind_rank(self.kinds[j]), self.labels[j], self.values[j]),
        )
        return [self.attribute(j) for j in ordered]

    def reason(self, a: int, b: int, kinds: tuple[str, ...] | None = None) -> str:
        """Why b goes with a, from the first attribute of `shared(a, b)` (of `kinds` only, when given).

        Wording by kind: bundle `both for “<label>”`, category `both in <label>`, brand
        `both by <label>`, tag `both tagged <label>`, genre `both <label>`, any other kind
        `both have <kind> <label>`; "" when they share nothing.
        """
        for attribute in self.shared(a, b):
            if kinds is None or attribute.kind in kinds:
                return describe(attribute)
        return ""

    def with_items(self, n_items: int) -> ItemGraph:
        """This graph over `n_items` ≥ `self.n_items` items; the extra items (added later) have no attribute."""
        if n_items == self.n_items:
            return self
        incidence = self.incidence.copy()
        incidence.resize((n_items, incidence.shape[1]))
        return ItemGraph(incidence, self.kinds, self.values, self.labels)

    # ------------------------------------------------------------------------- persistence

    def save(self, directory: str | Path) -> Path:
        """Write `item_graph.npz` (incidence CSR arrays) and `item_graph.json` (attributes) to a folder."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        matrix = self.incidence
        np.savez(
            directory / NPZ_FILE,
            data=matrix.data, indices=matrix.indices, indptr=matrix.indptr,
            shape=np.asarray(matrix.shape, dtype=np.int64),
        )  # fmt: skip
        meta = {"format": FORMAT_VERSION, "n_items": self.n_items, "kinds": list(self.kinds),
                "values": list(self.values), "labels": list(self.labels)}  # fmt: skip
        (directory / JSON_FILE).write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> ItemGraph:
        """Read a graph written by `save` (arrays loaded without pickle)."""
        directory = Path(directory)
        meta = json.loads((directory / JSON_FILE).read_text(encoding="utf-8"))
        if meta.get("format") != FORMAT_VERSION:
            raise FormatError(f"{directory}: item graph format {meta.get('format')} is not supported; refit the model")
        with np.load(directory / NPZ_FILE, allow_pickle=False) as arrays:
            shape = tuple(int(x) for x in arrays["shape"])
            matrix = sp.csr_matrix((arrays["data"], arrays["indices"], arrays["indptr"]), shape=shape)
        if shape[0] != meta["n_items"]:
            raise PrismrecError(f"{directory}: item graph arrays do not match its json "
                                f"({shape[0]} vs {meta['n_items']}); refit the model")
        return cls(matrix, meta["kinds"], meta["values"], meta["labels"])


# ----------------------------------------------------------------------------- helpers


def describe(attribute: Attribute) -> str:
    """The reason text of one shared attribute (see `ItemGraph.reason`)."""
    label = attribute.label
    templates = {
        "bundle": f"both for “{label}”",
        "category": f"both in {label}",
        "brand": f"both by {label}",
        "tag": f"both tagged {label}",
        "genre": f"both {label}",
    }
    return templates.get(attribute.kind, f"both have {attribute.kind} {label}")


def _kind_rank(kind: str) -> tuple[int, str]:
    """Sort key of a kind: position in `KIND_PRECEDENCE`, then the name."""
    position = KIND_PRECEDENCE.index(kind) if kind in KIND_PRECEDENCE else len(KIND_PRECEDENCE)
    return position, kind


def _category_edges(catalog: Catalog) -> tuple[str, list[tuple[int, str]]]:
    """("category", [(item, label), ...]) from `catalog.categories` (blank labels skipped)."""
    edges = [(item, label.strip()) for item, labels in enumerate(catalog.categories) for label in labels]
    return "category", [(item, label) for item, label in edges if label]


def _column_edges(column: pd.Series, kind: str, separator: str | None) -> tuple[str, list[tuple[int, str]]]:
    """(kind, [(item, value), ...]) from one table column; split at `separator` when given."""
    edges: list[tuple[int, str]] = []
    for item, raw in enumerate(column.fillna("").astype(str)):
        for value in _split(raw, separator):
            edges.append((item, value))
    return kind, edges


def _split(raw: str, separator: str | None) -> Iterable[str]:
    """Non-empty, stripped parts of one cell (the whole cell when `separator` is None)."""
    parts = [raw] if separator is None else raw.split(separator)
    return (part.strip() for part in parts if part.strip())


def _add_bundles(builder: _Builder, bundles: Bundles, n_items: int) -> None:
    """One "bundle" attribute per non-empty bundle, edges from the membership rows."""
    membership = sp.csr_matrix(bundles.membership)
    if membership.shape[1] != n_items:
        raise ValueError(f"bundle membership has {membership.shape[1]} item columns, the catalogue {n_items} items")
    membership.eliminate_zeros()
    ids = bundles.bundle_ids.ids
    edges: list[tuple[int, str]] = []
    for bundle in range(membership.shape[0]):
        members = membership.indices[membership.indptr[bundle] : membership.indptr[bundle + 1]]
        if len(members) == 0:
            continue
        name = bundles.names[bundle].strip() if bundle < len(bundles.names) else ""
        builder.attribute("bundle", str(ids[bundle]), name or f"bundle {ids[bundle]}")
        edges.extend((int(item), str(ids[bundle])) for item in members)
    builder.edges("bundle", edges)


class _Builder:
    """Collects attributes (in order) and (item, attribute) edges for `ItemGraph.from_catalog`."""

    def __init__(self) -> None:
        self.index: dict[tuple[str, str], int] = {}
        self.kinds: list[str] = []
        self.values: list[str] = []
        self.labels: list[str] = []
        self.rows: list[np.ndarray] = []
        self.cols: list[np.ndarray] = []

    def attribute(self, kind: str, value: str, label: str) -> None:
        """Add an attribute column unless (kind, value) is known already (then the first label stays)."""
        if (kind, value) not in self.index:
            self.index[(kind, value)] = len(self.kinds)
            self.kinds.append(kind)
            self.values.append(value)
            self.labels.append(label)

    def edges(self, kind: str, pairs: list[tuple[int, str]]) -> None:
        """Add (item, value) edges of attributes of `kind` added before."""
        self.rows.append(np.fromiter((item for item, _ in pairs), dtype=np.int64, count=len(pairs)))
        self.cols.append(np.fromiter((self.index[(kind, v)] for _, v in pairs), dtype=np.int64, count=len(pairs)))

    def build(self, n_items: int) -> ItemGraph:
        rows = np.concatenate([np.zeros(0, np.int64), *self.rows])
        cols = np.concatenate([np.zeros(0, np.int64), *self.cols])
        shape = (n_items, len(self.kinds))
        incidence = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=shape, dtype=np.float32)
        return ItemGraph(incidence, self.kinds, self.values, self.labels)
