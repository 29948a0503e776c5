"""Generic interaction and item files (CSV, TSV or Parquet) with a column mapping.

Interactions: `user_id,item_id[,rating][,timestamp]`. Items: `item_id,title[,description]
[,categories]` plus any other attribute columns; categories are `|`-separated. Other column names
are given with a `ColumnMap` (CLI: `--map user_id=customer --map categories=genres`).
Timestamps may be Unix seconds or ISO dates.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from prismrec.data.readers import (
    numbers_of,
    parse_float,
    read_delimited,
    require_columns,
    require_file,
    require_ids,
    split_labels,
    unique_items,
)
from prismrec.data.schema import Dataset, assemble
from prismrec.errors import ConfigError, DataError


@dataclass(frozen=True)
class ColumnMap:
    """Which source column plays which role. Optional columns may be absent from the file."""

    user_id: str = "user_id"
    item_id: str = "item_id"
    rating: str = "rating"
    timestamp: str = "timestamp"
    title: str = "title"
    description: str = "description"
    categories: str = "categories"
    category_separator: str = "|"
    extra_text: tuple[str, ...] = ()

    @classmethod
    def from_assignments(cls, assignments: dict[str, str]) -> ColumnMap:
        """From {'user_id': 'customer', 'extra_text': 'brand,tags', ...}."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(assignments) - known)
        if unknown:
            raise ConfigError(f"--map: unknown role(s) {unknown}; roles are {', '.join(sorted(known))}")
        values: dict[str, object] = dict(assignments)
        if "extra_text" in values:
            values["extra_text"] = tuple(c.strip() for c in str(values["extra_text"]).split(",") if c.strip())
        return cls(**values)  # type: ignore[arg-type]


def read_table(path: str | Path, encoding: str = "utf-8") -> pd.DataFrame:
    """A CSV/TSV (optionally .gz) or Parquet file as strings, with a `_line` column (header = line 1)."""
    path = require_file(Path(path))
    suffixes = [s.lower() for s in path.suffixes]
    if ".parquet" in suffixes or ".pq" in suffixes:
        try:
            frame = pd.read_parquet(path)
        except Exception as error:  # pyarrow raises several unrelated types for a bad file
            raise DataError(f"cannot read Parquet ({error})", path) from None
        if frame.empty:
            raise DataError("file has no rows", path)
        frame = frame.astype(object).where(frame.notna(), "").astype(str)
        frame["_line"] = np.arange(len(frame), dtype=np.int64) + 1
        return frame
    sep = "\t" if ".tsv" in suffixes or ".tab" in suffixes else ","
    return read_delimited(path, sep=sep, encoding=encoding)


def parse_timestamps(frame: pd.DataFrame, column: str, path: Path) -> np.ndarray:
    """float64 Unix seconds from numbers or ISO dates; the first unreadable value raises `DataError`."""
    numbers = numbers_of(frame[column])
    if not np.isnan(numbers).any():
        return parse_float(frame, column, path, values=numbers)
    raw = frame[column].str.strip()
    numeric = pd.Series(numbers, index=raw.index)
    dates = pd.to_datetime(raw, errors="coerce", utc=True, format="ISO8601")
    bad = (dates.isna() & numeric.isna()).to_numpy()
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"'{raw.iloc[first]}' is neither Unix seconds nor an ISO date (e.g. 2024-05-01T12:00:00)",
            path, int(frame["_line"].iloc[first]), column,
        )  # fmt: skip
    seconds = (dates - pd.Timestamp(0, tz="UTC")).dt.total_seconds().to_numpy(np.float64)
    return np.where(numeric.notna(), numeric.to_numpy(np.float64), seconds)


def load_generic(
    interactions: str | Path,
    items: str | Path | None = None,
    columns: ColumnMap = ColumnMap(),
    implicit: bool = False,
    encoding: str = "utf-8",
    name: str | None = None,
) -> Dataset:
    """Load an interactions file and an optional items file.

    Args:
        interactions: CSV/TSV/Parquet with user, item and optional rating and timestamp columns.
        items: optional item file with an id column, text columns and a category column.
        columns: the column mapping.
        implicit: ignore ratings (every event has value 1).
        encoding: text encoding of CSV files.
        name: dataset name; defaults to the interactions file stem.
    """
    path = Path(interactions)
    frame = read_table(path, encoding)
    hint = "name other columns with --map, e.g. --map user_id=customer_id"
    require_columns(frame, path, [columns.user_id, columns.item_id], hint)
    has_rating = columns.rating in frame.columns and not implicit
    events = pd.DataFrame(
        {
            "user_id": require_ids(frame, columns.user_id, path),
            "item_id": require_ids(frame, columns.item_id, path),
            "value": parse_float(frame, columns.rating, path) if has_rating else 1.0,
            "timestamp": parse_timestamps(frame, columns.timestamp, path)
            if columns.timestamp in frame.columns
            else np.nan,
        }
    )
    item_frame, text_fields = (None, []) if items is None else _read_items(Path(items), columns, encoding)
    inter, catalog, _ = assemble(
        name or path.name.split(".")[0], events, item_frame, text_fields,
        "categories" if item_frame is not None else None, implicit=not has_rating,
    )  # fmt: skip
    scale = (float(events.value.min()), float(events.value.max())) if has_rating else None
    return Dataset(name or path.name.split(".")[0], inter, catalog, rating_scale=scale)


def _read_items(path: Path, columns: ColumnMap, encoding: str) -> tuple[pd.DataFrame, list[str]]:
    frame = read_table(path, encoding)
    require_columns(frame, path, [columns.item_id], "name the id column with --map item_id=<column>")
    missing = [c for c in columns.extra_text if c not in frame.columns]
    if missing:
        require_columns(frame, path, missing)
    frame[columns.item_id] = require_ids(frame, columns.item_id, path)
    frame = unique_items(frame, path, columns.item_id)
    renamed = {columns.item_id: "item_id", columns.title: "title", columns.description: "description",
               columns.categories: "categories"}  # fmt: skip
    frame = frame.rename(columns={k: v for k, v in renamed.items() if k in frame.columns})
    if "categories" in frame.columns:
        frame["categories"] = [split_labels(v, columns.category_separator) for v in frame["categories"]]
    text = [c for c in ("title", "description", *columns.extra_text) if c in frame.columns]
    return frame.drop(columns="_line"), text
