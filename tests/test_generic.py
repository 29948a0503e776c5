"""The generic CSV/TSV/Parquet loader: column mapping, timestamps, categories and bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from prismrec.data.generic import ColumnMap, load_generic
from prismrec.errors import ConfigError, DataError


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_with_items_categories_and_duplicates(tmp_path: Path) -> None:
    inter = write(
        tmp_path / "events.csv", "user_id,item_id,rating,timestamp\nu1,a,5,100\nu1,b,3,50\nu2,a,4,70\nu1,a,1,10\n"
    )
    items = write(
        tmp_path / "items.csv",
        'item_id,title,description,categories,price\na,Green Tea,"Loose leaf, 100 g",Tea|Drinks,4.5\n'
        "b,Mug,,Kitchen,9\nc,Kettle,Electric,Kitchen|Electric,30\n",
    )
    data = load_generic(inter, items)
    # The repeated pair (u1, a) keeps its earliest event: timestamp 10, rating 1.
    frame = data.interactions.to_frame()
    assert len(frame) == 3
    row = frame[(frame.user_id == "u1") & (frame.item_id == "a")].iloc[0]
    assert (row.value, row.timestamp) == (1.0, 10.0)
    # Item c has no events but is in the catalogue (a cold item).
    assert list(data.catalog.item_ids.ids) == ["a", "b", "c"]
    assert data.catalog.text_fields == ("title", "description")
    assert data.catalog.categories == (("Tea", "Drinks"), ("Kitchen",), ("Kitchen", "Electric"))
    assert data.catalog.table.loc[0, "description"] == "Loose leaf, 100 g"
    assert data.catalog.table.loc[2, "price"] == "30"
    assert data.rating_scale == (1.0, 5.0)


def test_parquet_with_column_map_and_iso_dates(tmp_path: Path) -> None:
    path = tmp_path / "events.parquet"
    pd.DataFrame(
        {"customer": ["x", "x", "y"], "sku": [10, 11, 10], "when": ["2024-01-01T00:00:00Z", "2024-01-02", "2024-01-01"]}
    ).to_parquet(path)
    columns = ColumnMap.from_assignments({"user_id": "customer", "item_id": "sku", "timestamp": "when"})
    data = load_generic(path, columns=columns)
    assert data.rating_scale is None
    assert np.all(data.interactions.values == 1.0)
    seconds = data.interactions.to_frame().set_index(["user_id", "item_id"]).timestamp
    assert seconds[("x", "10")] == 1704067200.0  # 2024-01-01 00:00:00 UTC
    assert seconds[("x", "11")] == 1704067200.0 + 86400


def test_tsv_is_read_by_extension(tmp_path: Path) -> None:
    data = load_generic(write(tmp_path / "log.tsv", "user_id\titem_id\nu\ti\nu\tj\n"))
    assert len(data.interactions) == 2
    assert data.name == "log"


@pytest.mark.parametrize(
    ("text", "line", "field", "words"),
    [
        ("user_id,item_id,rating\nu,a,5\nu,b,abc\n", 3, "rating", "'abc' is not a number"),
        ("user_id,item_id,timestamp\nu,a,2024-01-01\nu,b,yesterday\n", 3, "timestamp", "ISO date"),
        ("user_id,item_id\nu,a\n,b\n", 3, "user_id", "empty id"),
    ],
)
def test_bad_values_name_file_line_and_field(tmp_path: Path, text: str, line: int, field: str, words: str) -> None:
    path = write(tmp_path / "events.csv", text)
    with pytest.raises(DataError) as error:
        load_generic(path)
    message = str(error.value)
    assert str(path) in message and f"line {line}" in message and f"field '{field}'" in message and words in message


def test_missing_columns_suggest_the_map(tmp_path: Path) -> None:
    path = write(tmp_path / "events.csv", "customer,sku\nu,a\n")
    with pytest.raises(DataError, match=r"missing column\(s\) \['user_id', 'item_id'\].*--map"):
        load_generic(path)


def test_conflicting_item_rows_are_rejected(tmp_path: Path) -> None:
    inter = write(tmp_path / "events.csv", "user_id,item_id\nu,a\n")
    items = write(tmp_path / "items.csv", "item_id,title\na,Tea\na,Coffee\n")
    with pytest.raises(DataError, match="described twice"):
        load_generic(inter, items)


def test_unknown_map_role(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown role"):
        ColumnMap.from_assignments({"usr": "customer"})


def test_header_only_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no data rows"):
        load_generic(write(tmp_path / "events.csv", "user_id,item_id\n"))
