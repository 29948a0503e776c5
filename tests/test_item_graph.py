"""The item knowledge graph: edges, idf, TF-IDF relatedness, shared attributes, reasons, save/load.

One hand-made catalogue (5 items) and 4 bundles are used throughout:

    item  categories         brand  tags              bundles
    i0    outdoor, tent      Acme   camping, family   B1
    i1    outdoor            Acme   camping           B1
    i2    outdoor, kitchen   Bolt   -                 B2, B4
    i3    kitchen            -      family            B2
    i4    -                  -      -                 -

    bundle  name                   items
    B1      camping trip for two   i0 i1
    B2      "" (-> "bundle B2")    i2 i3
    B3      empty                  -      (no attribute: no items)
    B4      kitchen basics         i2

Attributes in column order (categories, brand, tags, bundles; values sorted within a group) with
df and idf = ln(5 / df):

    0 category kitchen   i2 i3     df 2  ln 2.5 = 0.916291
    1 category outdoor   i0 i1 i2  df 3  ln 5/3 = 0.510826
    2 category tent      i0        df 1  ln 5   = 1.609438
    3 brand Acme         i0 i1     df 2  0.916291
    4 brand Bolt         i2        df 1  1.609438
    5 tag camping        i0 i1     df 2  0.916291
    6 tag family         i0 i3     df 2  0.916291
    7 bundle B1          i0 i1     df 2  0.916291
    8 bundle B2          i2 i3     df 2  0.916291
    9 bundle B4          i2        df 1  1.609438

i0 and i1 share outdoor (0.51) and Acme, camping, B1 (0.92 each): equal idf is ordered by kind
precedence bundle, brand, tag -> B1, Acme, camping, outdoor; the reason names B1's intent.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from prismrec.data.registry import DATA_HOME_ENV, load_dataset
from prismrec.data.schema import Bundles, Catalog, Dataset, IdMap, binary_csr, build_catalog
from prismrec.graph import Attribute, ItemGraph

ITEMS = IdMap([f"i{i}" for i in range(5)])
CATEGORIES = [("outdoor", "tent"), ("outdoor",), ("outdoor", "kitchen"), ("kitchen",), ()]
BRANDS = ["Acme", "Acme", "Bolt", "", ""]
TAGS = ["camping, family", "camping", "", "family", ""]
BUNDLE_IDS = IdMap(["B1", "B2", "B3", "B4"])
BUNDLE_ITEMS = {"B1": [0, 1], "B2": [2, 3], "B3": [], "B4": [2]}
BUNDLE_NAMES = ("camping trip for two", "", "empty", "kitchen basics")

ATTRIBUTES = [
    Attribute("category", "kitchen", "kitchen"),
    Attribute("category", "outdoor", "outdoor"),
    Attribute("category", "tent", "tent"),
    Attribute("brand", "Acme", "Acme"),
    Attribute("brand", "Bolt", "Bolt"),
    Attribute("tag", "camping", "camping"),
    Attribute("tag", "family", "family"),
    Attribute("bundle", "B1", "camping trip for two"),
    Attribute("bundle", "B2", "bundle B2"),
    Attribute("bundle", "B4", "kitchen basics"),
]
EDGES = {  # item -> attribute columns
    0: [1, 2, 3, 5, 6, 7],
    1: [1, 3, 5, 7],
    2: [0, 1, 4, 8, 9],
    3: [0, 6, 8],
    4: [],
}
DF = [2, 3, 1, 2, 1, 2, 2, 2, 2, 1]
LN_2_5, LN_5_3, LN_5 = 0.916290731874155, 0.5108256237659907, 1.6094379124341003


def catalog() -> Catalog:
    items = pd.DataFrame(
        {"item_id": list(ITEMS.ids), "title": [f"T{i}" for i in range(5)], "brand": BRANDS, "tags": TAGS,
         "categories": CATEGORIES}
    )  # fmt: skip
    return build_catalog(ITEMS, items, ["title", "tags"], "categories")


def bundles() -> Bundles:
    rows = [BUNDLE_IDS.index(b) for b, members in BUNDLE_ITEMS.items() for _ in members]
    cols = [item for members in BUNDLE_ITEMS.values() for item in members]
    membership = binary_csr(np.asarray(rows, np.int64), np.asarray(cols, np.int64), (len(BUNDLE_IDS), len(ITEMS)))
    return Bundles(BUNDLE_IDS, membership, names=BUNDLE_NAMES)


@pytest.fixture
def graph() -> ItemGraph:
    return ItemGraph.from_catalog(catalog(), bundles())


def dense_incidence() -> np.ndarray:
    matrix = np.zeros((5, len(ATTRIBUTES)))
    for item, columns in EDGES.items():
        matrix[item, columns] = 1.0
    return matrix


def brute_force_cosine(incidence: np.ndarray) -> np.ndarray:
    """Dense TF-IDF cosine [n, n] with idf = ln(n / df); zero rows stay zero."""
    n = incidence.shape[0]
    weighted = incidence * np.log(n / incidence.sum(axis=0))
    norms = np.linalg.norm(weighted, axis=1, keepdims=True)
    unit = np.divide(weighted, norms, out=np.zeros_like(weighted), where=norms > 0)
    return unit @ unit.T


# ----------------------------------------------------------------------------- construction


def test_attributes_and_edges(graph: ItemGraph) -> None:
    assert graph.n_items == 5
    assert graph.n_attributes == len(ATTRIBUTES)
    assert [graph.attribute(j) for j in range(graph.n_attributes)] == ATTRIBUTES
    assert graph.incidence.dtype == np.float32
    np.testing.assert_array_equal(graph.incidence.toarray(), dense_incidence())
    assert set(graph.incidence.data) == {1.0}


def test_attributes_of_and_items_with(graph: ItemGraph) -> None:
    for item, columns in EDGES.items():
        assert graph.attributes_of(item) == [ATTRIBUTES[j] for j in columns]
    assert graph.items_with(1).tolist() == [0, 1, 2]
    assert graph.items_with(graph.attribute_index("bundle", "B2")).tolist() == [2, 3]
    assert graph.items_with(graph.attribute_index("tag", "family")).tolist() == [0, 3]
    with pytest.raises(KeyError):
        graph.attribute_index("bundle", "B3")  # empty bundle: no attribute


def test_missing_columns_and_no_bundles() -> None:
    graph = ItemGraph.from_catalog(catalog(), columns=("colour", "brand"))
    assert set(graph.kinds) == {"category", "brand"}
    assert graph.n_attributes == 5
    assert graph.attributes_of(3) == [Attribute("category", "kitchen", "kitchen")]


def test_bundles_without_names_get_id_labels() -> None:
    plain = Bundles(BUNDLE_IDS, bundles().membership)  # names = ()
    graph = ItemGraph.from_catalog(catalog(), plain)
    labels = [graph.labels[j] for j in range(graph.n_attributes) if graph.kinds[j] == "bundle"]
    assert labels == ["bundle B1", "bundle B2", "bundle B4"]


def test_idf_by_hand(graph: ItemGraph) -> None:
    assert graph.df.tolist() == DF
    expected = [LN_2_5, LN_5_3, LN_5, LN_2_5, LN_5, LN_2_5, LN_2_5, LN_2_5, LN_2_5, LN_5]
    assert graph.idf.dtype == np.float64
    np.testing.assert_allclose(graph.idf, expected, rtol=1e-12)
    assert math.isclose(LN_2_5, math.log(2.5)) and math.isclose(LN_5_3, math.log(5 / 3))


# ----------------------------------------------------------------------------- relatedness


def test_relatedness_matches_brute_force(graph: ItemGraph) -> None:
    expected = brute_force_cosine(dense_incidence())
    scores = graph.relatedness(np.arange(5))
    assert scores.dtype == np.float32 and scores.shape == (5, 5)
    np.testing.assert_allclose(scores, expected, atol=1e-6)
    np.testing.assert_allclose(np.diag(scores), [1, 1, 1, 1, 0], atol=1e-6)  # i4 has no attributes
    assert scores[0, 1] > scores[0, 3] > 0 and scores[1, 3] == 0
    picked = graph.relatedness(np.array([3, 0, 3]))
    np.testing.assert_allclose(picked, expected[[3, 0, 3]], atol=1e-6)


def test_relatedness_hand_value(graph: ItemGraph) -> None:
    """i1 · i3 share nothing; i2 · i3 share kitchen and B2: (2 ln²2.5) / (|i2| |i3|)."""
    i2 = math.sqrt(LN_2_5**2 + LN_5_3**2 + LN_5**2 + LN_2_5**2 + LN_5**2)  # kitchen, outdoor, Bolt, B2, B4
    i3 = math.sqrt(3 * LN_2_5**2)  # kitchen, family, B2
    assert graph.relatedness(np.array([2]))[0, 3] == pytest.approx(2 * LN_2_5**2 / (i2 * i3), rel=1e-6)


def test_attribute_on_every_item_carries_nothing() -> None:
    items = pd.DataFrame({"item_id": ["a", "b", "c"], "categories": [("x",), ("x", "y"), ("y",)]})
    graph = ItemGraph.from_catalog(build_catalog(IdMap(["a", "b", "c"]), items, [], "categories"), columns=())
    assert graph.idf[graph.attribute_index("category", "x")] == pytest.approx(math.log(1.5))
    everywhere = pd.DataFrame({"item_id": ["a", "b"], "categories": [("x",), ("x",)]})
    flat = ItemGraph.from_catalog(build_catalog(IdMap(["a", "b"]), everywhere, [], "categories"), columns=())
    assert flat.idf.tolist() == [0.0]
    np.testing.assert_array_equal(flat.relatedness(np.array([0, 1])), np.zeros((2, 2), np.float32))


# ----------------------------------------------------------------------------- shared and reason


def test_shared_ordering(graph: ItemGraph) -> None:
    assert graph.shared(0, 1) == [ATTRIBUTES[7], ATTRIBUTES[3], ATTRIBUTES[5], ATTRIBUTES[1]]
    assert graph.shared(1, 0) == graph.shared(0, 1)
    assert graph.shared(2, 3) == [ATTRIBUTES[8], ATTRIBUTES[0]]
    assert graph.shared(1, 3) == []
    assert graph.shared(0, 4) == []
    # an item with itself: all its attributes, most specific first (tent, Acme... by idf then kind)
    assert graph.shared(0, 0)[0] == ATTRIBUTES[2]
    assert graph.shared(0, 0)[-1] == ATTRIBUTES[1]


def test_reason_strings(graph: ItemGraph) -> None:
    assert graph.reason(0, 1) == "both for “camping trip for two”"
    assert graph.reason(2, 3) == "both for “bundle B2”"
    assert graph.reason(1, 2) == "both in outdoor"
    assert graph.reason(2, 3, kinds=("category",)) == "both in kitchen"
    assert graph.reason(0, 1, kinds=("brand",)) == "both by Acme"
    assert graph.reason(0, 3) == "both tagged family"
    assert graph.reason(1, 3) == ""
    assert graph.reason(3, 4) == ""
    assert graph.reason(0, 1, kinds=("genre",)) == ""


def test_reason_other_kinds() -> None:
    items = pd.DataFrame({"item_id": ["a", "b"], "genres": ["Comedy", "Comedy"], "year": ["1995", "1995"]})
    graph = ItemGraph.from_catalog(build_catalog(IdMap(["a", "b"]), items, [], None), columns=("genres", "year"))
    assert graph.kinds == ("genre", "year")
    assert graph.reason(0, 1) == "both Comedy"
    assert graph.reason(0, 1, kinds=("year",)) == "both have year 1995"


# ----------------------------------------------------------------------------- save / load


def test_save_load_round_trip(graph: ItemGraph, tmp_path: Path) -> None:
    folder = graph.save(tmp_path / "graph")
    assert sorted(p.name for p in folder.iterdir()) == ["item_graph.json", "item_graph.npz"]
    meta = json.loads((folder / "item_graph.json").read_text(encoding="utf-8"))
    assert meta["labels"][7] == "camping trip for two"
    loaded = ItemGraph.load(folder)
    assert (loaded.kinds, loaded.values, loaded.labels) == (graph.kinds, graph.values, graph.labels)
    assert loaded.incidence.shape == graph.incidence.shape
    for part in ("data", "indices", "indptr"):
        original, restored = getattr(graph.incidence, part), getattr(loaded.incidence, part)
        assert restored.dtype == original.dtype
        np.testing.assert_array_equal(restored, original)
    np.testing.assert_array_equal(loaded.idf, graph.idf)
    np.testing.assert_array_equal(loaded.relatedness(np.arange(5)), graph.relatedness(np.arange(5)))
    assert loaded.reason(0, 1) == graph.reason(0, 1)


def test_graph_does_not_change_the_given_matrix() -> None:
    matrix = binary_csr(np.array([0, 1]), np.array([0, 0]), (2, 1))
    matrix.data[:] = 3.0
    ItemGraph(matrix, ["tag"], ["x"], ["x"])
    assert matrix.data.tolist() == [3.0, 3.0]


# ----------------------------------------------------------------------------- real data


@pytest.fixture(scope="module")
def electronic(shared_data: Path) -> Dataset:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(DATA_HOME_ENV, str(shared_data))
        return load_dataset("bundlerec-electronic", download=False)


def test_bundlerec_electronic(electronic: Dataset) -> None:
    bundles = electronic.bundles
    assert bundles is not None
    graph = ItemGraph.from_catalog(electronic.catalog, bundles)
    assert graph.n_items == electronic.n_items == 3499
    bundle_columns = [j for j, kind in enumerate(graph.kinds) if kind == "bundle"]
    non_empty = np.flatnonzero(np.diff(bundles.membership.indptr))
    assert len(bundle_columns) == len(non_empty) > 0
    for j in bundle_columns:
        bundle = bundles.bundle_ids.index(graph.values[j])
        assert graph.items_with(j).tolist() == sorted(bundles.membership[bundle].indices.tolist())
        assert graph.labels[j] == (bundles.names[bundle] or f"bundle {graph.values[j]}")
    categories = {label for labels in electronic.catalog.categories for label in labels}
    assert {graph.values[j] for j, kind in enumerate(graph.kinds) if kind == "category"} == categories

    # for pairs whose only shared bundle is this one, the reason is that bundle's intent
    checked = 0
    for bundle in non_empty:
        first, second = (int(i) for i in bundles.membership[bundle].indices[:2])
        shared_bundles = [a for a in graph.shared(first, second) if a.kind == "bundle"]
        assert str(bundles.bundle_ids.ids[bundle]) in {a.value for a in shared_bundles}
        if len(shared_bundles) == 1:
            intent = bundles.names[bundle]
            assert intent and intent in graph.reason(first, second)
            assert graph.reason(first, second) == f"both for “{intent}”"
            checked += 1
    assert checked > len(non_empty) // 2

    scores = graph.relatedness(np.array([first]))
    assert scores.shape == (1, 3499)
    assert scores[0, second] > 0 and scores[0, first] == pytest.approx(1.0, abs=1e-5)
