"""Steam bundles loader: a hand-made file (exact content), clear errors, the real file via the registry."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from prismrec.data import registry
from prismrec.data.registry import load_dataset, sha256_of, spec_of
from prismrec.data.schema import Bundles, Dataset, IdMap, binary_csr
from prismrec.data.steam import FILE_NAME, item_key, load_steam_bundles, parse_dollars
from prismrec.errors import DataError


def item(item_id: str, name: str, genre: str, price: str) -> dict[str, str]:
    return {"genre": genre, "item_id": item_id, "discounted_price": price, "item_url": "u", "item_name": name}


def tiny_bundles() -> list[dict[str, Any]]:
    """3 bundles: item 100 listed twice in bundle 10, item 200 and 300 in two bundles, an id-less item."""
    return [
        {
            "bundle_id": "10", "bundle_name": "Alpha  Pack ", "bundle_final_price": "$12.50",
            "items": [
                item("100", "Alpha", "Action, Indie", "$9.99"),
                item("200", "Beta\u3000 Soundtrack", "", "Free"),
                item("100", "Alpha", "Action, Indie", "$9.99"),
            ],
        },
        {
            "bundle_id": "2", "bundle_name": "Beta Bundle", "bundle_final_price": "$3.00",
            "items": [item("200", "Beta Soundtrack (renamed)", "Casual", "$4.99"),
                      item("300", "Gamma", "RPG,Strategy, ", "$1,299.00")],
        },
        {
            "bundle_id": "7", "bundle_name": "Gamma Set", "bundle_final_price": "",
            "items": [item("300", "Gamma", "RPG,Strategy", "$1,299.00"), item("", "Season Pass", "", "$2.50")],
        },
    ]  # fmt: skip


def write_bundles(folder: Path, content: object) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    text = content if isinstance(content, str) else json.dumps(content)
    (folder / FILE_NAME).write_text(text, encoding="utf-8")
    return folder


def members(data: Dataset, bundle: str) -> list[str]:
    assert data.bundles is not None
    row = data.bundles.membership[data.bundles.bundle_ids.index(bundle)]
    return sorted(data.catalog.item_ids.to_external(row.indices))


def test_tiny_file_exact_content(tmp_path: Path) -> None:
    data = load_steam_bundles(write_bundles(tmp_path / "steam", tiny_bundles()))
    season_pass = item_key("", "Season Pass")
    assert season_pass.startswith("noid-") and len(season_pass) == len("noid-") + 12
    assert data.name == "steam-bundles"
    assert data.catalog.item_ids.ids.tolist() == ["100", "200", "300", season_pass]
    assert data.catalog.text_fields == ("title",)
    table = data.catalog.table
    assert table.columns.tolist() == ["title", "price"]
    assert table["title"].tolist() == ["Alpha", "Beta Soundtrack", "Gamma", "Season Pass"]  # first name wins
    assert table["price"].tolist() == ["9.99", "", "1299.00", "2.50"]  # "Free" (first listing of 200) -> ""
    assert data.catalog.categories == (("Action", "Indie"), (), ("RPG", "Strategy"), ())

    # no users: a valid dataset with zero events and every item in the item map
    assert (data.n_users, data.n_items, len(data.interactions)) == (0, 4, 0)
    assert data.interactions.matrix().shape == (0, 4)
    assert data.summary()["items_with_interactions"] == 0

    bundles = data.bundles
    assert bundles is not None
    assert bundles.bundle_ids.ids.tolist() == ["10", "2", "7"]
    assert bundles.names == ("Alpha Pack", "Beta Bundle", "Gamma Set")
    assert bundles.user_bundles == {}
    assert bundles.membership.dtype == np.float32
    assert bundles.membership.toarray().tolist() == [[1, 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, 1]]  # 100 counted once
    assert bundles.prices is not None and bundles.prices.dtype == np.float64
    assert bundles.prices[:2].tolist() == [12.5, 3.0]
    assert math.isnan(bundles.prices[2])
    assert members(data, "7") == ["300", season_pass]


def test_id_less_items_are_told_apart_by_name(tmp_path: Path) -> None:
    bundles = [
        {"bundle_id": "1", "bundle_name": "A", "items": [item("", "DLC one", "", "$1"), item("", "DLC two", "", "$2")]},
        {"bundle_id": "2", "bundle_name": "B", "items": [item("", "DLC  one", "", "$1"), item("5", "Game", "", "$3")]},
    ]
    data = load_steam_bundles(write_bundles(tmp_path, bundles))
    assert data.n_items == 3
    assert members(data, "1") == sorted([item_key("", "DLC one"), item_key("", "DLC two")])
    assert members(data, "2") == sorted([item_key("", "DLC one"), "5"])  # same name (whitespace collapsed)
    assert data.bundles is not None and np.isnan(data.bundles.prices).all()  # no bundle_final_price key


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("$8.99", "8.99"), (" $0.49 ", "0.49"), ("$1,299.99", "1299.99"), ("$5", "5"), ("12.50", "12.50"),
     ("Free", ""), ("", ""), ("$", ""), ("$1.2.3", ""), ("-$1.00", "")],
)  # fmt: skip
def test_parse_dollars(raw: str, expected: str) -> None:
    assert parse_dollars(raw) == expected


def test_bundles_prices_must_match_the_bundles() -> None:
    membership = binary_csr(np.array([0, 1]), np.array([0, 0]), (2, 1))
    with pytest.raises(ValueError, match="one entry per bundle"):
        Bundles(IdMap(["a", "b"]), membership, prices=np.array([1.0]))
    assert Bundles(IdMap(["a", "b"]), membership).prices is None  # other loaders: unchanged default


# ----------------------------------------------------------------------------- errors


def load_error(tmp_path: Path, content: object) -> DataError:
    with pytest.raises(DataError) as error:
        load_steam_bundles(write_bundles(tmp_path, content))
    assert error.value.path is not None and Path(error.value.path).name == FILE_NAME
    assert FILE_NAME in str(error.value)
    return error.value


def with_change(position: int, change: dict[str, Any], item_number: int | None = None) -> list[dict[str, Any]]:
    """The tiny bundles with keys of one bundle (or one of its items) replaced; None values delete the key."""
    bundles = tiny_bundles()
    record = bundles[position - 1] if item_number is None else bundles[position - 1]["items"][item_number - 1]
    for key, value in change.items():
        if value is None:
            del record[key]
        else:
            record[key] = value
    return bundles


@pytest.mark.parametrize(
    ("position", "change", "item_number", "field", "match"),
    [
        (2, {"items": None}, None, "items", r"bundle 2 \(1-based position in the array, bundle_id '2'\): missing"),
        (3, {"items": "300"}, None, "items", "expected a list of items, got a string"),
        (1, {"bundle_id": None}, None, "bundle_id", r"bundle 1 \(1-based position in the array\): missing"),
        (3, {"bundle_id": " "}, None, "bundle_id", "empty bundle id"),
        (3, {"bundle_id": "10"}, None, "bundle_id", "bundle '10' was already listed at position 1"),
        (2, {"bundle_name": ["x"]}, None, "bundle_name", "expected a string, got an array"),
        (2, {"item_id": None}, 2, "item_id", r"bundle_id '2'\), item 2: missing 'item_id'"),
        (1, {"item_id": {"id": 1}}, 1, "item_id", "expected a string, got an object"),
        (3, {"item_name": None}, 2, "item_id", "empty item id and no item_name"),
        (1, {"genre": False}, 3, "genre", "expected a string, got a boolean"),
        (1, {"discounted_price": [9.99]}, 1, "discounted_price", "expected a string, got an array"),
    ],
)
def test_bad_records_name_the_field_and_the_position(
    tmp_path: Path, position: int, change: dict[str, Any], item_number: int | None, field: str, match: str
) -> None:
    error = load_error(tmp_path, with_change(position, change, item_number))
    assert error.field == field
    assert f"field '{field}'" in str(error)
    assert error.line is None  # the file is one line: the position is in the message
    assert re.search(match, str(error)), str(error)


def test_item_that_is_not_an_object(tmp_path: Path) -> None:
    bundles = tiny_bundles()
    bundles[1]["items"][0] = "200"
    error = load_error(tmp_path, bundles)
    assert error.field == "items"
    assert "bundle 2 (1-based position in the array, bundle_id '2'), item 1: expected a JSON object" in str(error)


def test_not_an_array_of_bundles(tmp_path: Path) -> None:
    assert "expected a JSON array of bundles, got an object" in str(load_error(tmp_path, {"bundles": []}))
    assert "holds no bundles" in str(load_error(tmp_path, []))
    error = load_error(tmp_path, [tiny_bundles()[0], "450"])
    assert "bundle 2 (1-based position in the array): expected a JSON object, got a string" in str(error)
    error = load_error(tmp_path, [{"bundle_id": "1", "items": []}])
    assert (error.field, "no bundle lists any item" in str(error)) == ("items", True)


def test_invalid_json_reports_line_and_column(tmp_path: Path) -> None:
    text = json.dumps(tiny_bundles())
    error = load_error(tmp_path, text[:-1])  # the closing bracket is missing
    assert "invalid JSON" in str(error) and f"at column {len(text)}" in str(error)
    assert error.line == 1
    error = load_error(tmp_path, '[\n{"bundle_id": "1",\n "items": [}\n]')
    assert (error.line, "at column 12" in str(error)) == (3, True)


def test_missing_and_empty_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="file not found"):
        load_steam_bundles(tmp_path)
    assert "file is empty" in str(load_error(tmp_path, ""))


# ----------------------------------------------------------------------------- the real file


@pytest.fixture(scope="module")
def steam(shared_data: Path) -> Dataset:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(registry.DATA_HOME_ENV, str(shared_data))
        return load_dataset("steam-bundles", download=False)


@pytest.fixture(scope="module")
def raw(shared_data: Path) -> list[dict[str, Any]]:
    with open(shared_data / "steam-bundles" / FILE_NAME, encoding="utf-8") as stream:
        return json.load(stream)


def expected_key(entry: dict[str, str]) -> str:
    """The item an entry denotes: its id, or for the id-less entries their (whitespace-collapsed) name."""
    return entry["item_id"] or "name: " + " ".join(entry["item_name"].split())


def test_real_file_counts(steam: Dataset, raw: list[dict[str, Any]]) -> None:
    # the statistics of SOURCE.md, on the raw file
    assert len(raw) == 615
    assert sum(len(b["items"]) for b in raw) == 3525
    assert len({i["item_id"] for b in raw for i in b["items"]}) == 2798  # counts the empty id "" as one item
    id_less = {expected_key(i) for b in raw for i in b["items"] if not i["item_id"]}
    assert len(id_less) == 8

    expected_items = {expected_key(i) for b in raw for i in b["items"]}
    expected_pairs = {(b["bundle_id"], expected_key(i)) for b in raw for i in b["items"]}
    assert (len(expected_items), len(expected_pairs)) == (2797 + 8, 3525 - 1)  # 94620 twice in bundle 383

    assert steam.name == "steam-bundles"
    assert (steam.n_users, steam.n_items, len(steam.interactions)) == (0, len(expected_items), 0)
    bundles = steam.bundles
    assert bundles is not None
    assert len(bundles) == 615
    assert bundles.membership.shape == (615, len(expected_items))
    assert bundles.membership.nnz == len(expected_pairs)
    titles = steam.catalog.table["title"]
    item_ids = steam.catalog.item_ids.ids
    keys = [f"name: {titles[k]}" if str(i).startswith("noid-") else str(i) for k, i in enumerate(item_ids)]
    rows, cols = bundles.membership.nonzero()
    actual_pairs = {(bundles.bundle_ids.ids[r], keys[c]) for r, c in zip(rows, cols, strict=True)}
    assert actual_pairs == expected_pairs
    assert bundles.user_bundles == {}
    assert len(bundles.names) == 615 and all(bundles.names)


def test_real_file_content(steam: Dataset, raw: list[dict[str, Any]]) -> None:
    catalog, bundles = steam.catalog, steam.bundles
    assert bundles is not None
    index = catalog.item_ids.index("326950")
    assert catalog.table.iloc[index].to_dict() == {"title": "Sword of Asumi", "price": "8.99"}
    assert catalog.categories[index] == ("Adventure", "Indie", "RPG")
    assert catalog.table.iloc[catalog.item_ids.index("384225")]["title"] == "D4: Hand Cursor Set Vol.1"  # U+3000
    assert catalog.table.iloc[catalog.item_ids.index("16866")]["title"] == "Civilization V: Explorer’s Map Pack"
    assert catalog.table.iloc[catalog.item_ids.index("353370")]["price"] == "29.99"  # first listing; $49.99 later
    assert (catalog.table["price"] == "").sum() == 0  # every price in the file is "$d.dd"
    assert sum(1 for c in catalog.categories if not c) == 310 + 8  # empty genre: 311 raw ids incl. "", + 8
    assert len({c for cats in catalog.categories for c in cats}) == 21

    first = bundles.bundle_ids.index("450")
    assert bundles.names[first] == "Dharker Studio 2015 Complete"
    assert bundles.prices is not None and bundles.prices[first] == pytest.approx(66.46)
    assert not np.isnan(bundles.prices).any()
    expected = [float(b["bundle_final_price"].lstrip("$")) for b in raw]
    assert bundles.prices[bundles.bundle_ids.indices(b["bundle_id"] for b in raw)].tolist() == expected
    telltale = bundles.membership[bundles.bundle_ids.index("383")]
    assert telltale.nnz == 48 and telltale.data.tolist() == [1.0] * 48  # 49 entries, 94620 twice
    chess = catalog.item_ids.to_external(bundles.membership[bundles.bundle_ids.index("1141")].indices)
    assert sorted(catalog.table["title"][catalog.item_ids.indices(chess)]) == [
        "Battle vs Chess - Floating Island DLC", "Battle vs. Chess - Dark Desert DLC",
    ]  # fmt: skip


def test_registered_checksum(shared_data: Path) -> None:
    spec = spec_of("steam-bundles")
    assert spec.folder_name == "steam-bundles"
    assert [f.path for f in spec.files] == [FILE_NAME]
    remote = spec.files[0]
    assert remote.url == (
        "https://raw.githubusercontent.com/Carineyam/systeme-de-recommandation-de-jeux-vid-os/"
        "15baafe623d17ffc3ae8daec2b3f8b661e9cb9e3/bundle_data.json"
    )
    assert sha256_of(shared_data / "steam-bundles" / FILE_NAME) == remote.sha256
    assert "Pathak, Gupta & McAuley, SIGIR 2017" in spec.terms
