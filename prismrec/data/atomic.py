"""RecBole atomic files: `<name>.inter`, `<name>.item`, `<name>.user` (TSV with typed headers).

Header cells are `name:type` with type token, token_seq, float or float_seq. Interactions need
`user_id` and `item_id`; `rating` (or `label`) becomes the value and `timestamp` the time. In the
item file token_seq columns are text, except the category column (`class`, `genre` or
`categories`), whose space-separated tokens become category labels.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from prismrec.data.readers import events_frame, read_delimited, require_columns, require_ids, unique_items
from prismrec.data.schema import Dataset, assemble
from prismrec.errors import DataError

CATEGORY_COLUMNS = ("class", "genre", "genres", "categories", "category")
VALUE_COLUMNS = ("rating", "label", "value")


def read_atomic(path: Path) -> tuple[pd.DataFrame, dict[str, str]]:
    """(frame with plain column names, {column: RecBole type})."""
    frame = read_delimited(path, sep="\t", quoting=False)
    types: dict[str, str] = {}
    renamed = {}
    for column in frame.columns:
        if column == "_line":
            continue
        name, _, kind = column.partition(":")
        if kind and kind not in ("token", "token_seq", "float", "float_seq"):
            raise DataError(f"unknown RecBole type '{kind}' in header cell '{column}'", path, 1, name)
        types[name] = kind or "token"
        renamed[column] = name
    return frame.rename(columns=renamed), types


def load_atomic(directory: Path, name: str | None = None, implicit: bool = False) -> Dataset:
    """Load `<name>.inter` (+ `.item`, `.user` when present) from a folder.

    Args:
        directory: the folder holding the files.
        name: the file stem; by default the single `*.inter` file of the folder decides it.
        implicit: ignore ratings (every event has value 1).
    """
    directory = Path(directory)
    name = name or _single_stem(directory)
    inter_path = directory / f"{name}.inter"
    inter, _ = read_atomic(inter_path)
    require_columns(inter, inter_path, ["user_id", "item_id"])
    value_column = next((c for c in VALUE_COLUMNS if c in inter.columns), None)
    timestamp = "timestamp" if "timestamp" in inter else None
    events = events_frame(inter, inter_path, "user_id", "item_id", value_column, timestamp)
    items, text_fields, category_column = _read_items(directory / f"{name}.item")
    interactions, catalog, _ = assemble(
        name, events, items, text_fields, category_column, implicit=implicit or value_column is None
    )
    scale = None if implicit or value_column is None else (float(events.value.min()), float(events.value.max()))
    users = _read_users(directory / f"{name}.user", interactions.user_ids.ids)
    return Dataset(name, interactions, catalog, rating_scale=scale, user_table=users)


def _single_stem(directory: Path) -> str:
    stems = sorted(p.stem for p in directory.glob("*.inter") if p.name.count(".") == 1)
    if not stems:
        raise DataError("no <name>.inter file in this folder", directory)
    if len(stems) > 1:
        raise DataError(f"several .inter files ({stems}); pass the dataset name", directory)
    return stems[0]


def _read_items(path: Path) -> tuple[pd.DataFrame | None, list[str], str | None]:
    if not path.exists():
        return None, [], None
    frame, types = read_atomic(path)
    require_columns(frame, path, ["item_id"])
    frame["item_id"] = require_ids(frame, "item_id", path)
    frame = unique_items(frame, path)
    category_column = next((c for c in CATEGORY_COLUMNS if c in frame.columns), None)
    if category_column is not None:
        frame[category_column] = [tuple(v.split()) for v in frame[category_column]]
    text_fields = [c for c, kind in types.items() if kind == "token_seq" and c != category_column]
    return frame.drop(columns="_line"), text_fields, category_column


def _read_users(path: Path, user_ids: np.ndarray) -> pd.DataFrame | None:
    if not path.exists():
        return None
    frame, _ = read_atomic(path)
    require_columns(frame, path, ["user_id"])
    frame["user_id"] = require_ids(frame, "user_id", path)
    frame = unique_items(frame, path, "user_id").drop(columns="_line")
    return frame.set_index("user_id").reindex(user_ids).fillna("").reset_index(drop=True)
