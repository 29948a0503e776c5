"""Amazon Review Data (2018, Ni, Li & McAuley): gzip JSON Lines reviews + item metadata.

Reviews need `reviewerID`, `asin`, `overall` (rating) and `unixReviewTime`. Metadata records need
`asin`; `title`, `brand`, `description` (list of paragraphs, may hold HTML), `feature` (list),
`category` (list), `price` and `main_cat` are optional. HTML tags are removed and entities decoded
in every text value. Items with metadata but no review stay in the catalogue (cold items).
"""

from __future__ import annotations

import html
import math
import re
from pathlib import Path
from typing import Any

import pandas as pd

from prismrec.data.readers import iter_json_lines, unique_items
from prismrec.data.schema import Dataset, assemble
from prismrec.errors import DataError

TEXT_FIELDS = ("title", "brand", "description", "features")

_TAG = re.compile(r"<[^>]*>")
_ALT = re.compile(r"""\balt\s*=\s*["']([^"']*)["']""", re.IGNORECASE)


def clean_html(value: str) -> str:
    """Text without HTML tags, with entities decoded and whitespace collapsed."""
    return " ".join(html.unescape(_TAG.sub(" ", value)).split())


def load_amazon_2018(
    folder: str | Path,
    reviews: str = "Gift_Cards_5.json.gz",
    meta: str = "meta_Gift_Cards.json.gz",
    name: str | None = None,
) -> Dataset:
    """Load one category of the 2018 Amazon review data.

    Args:
        folder: the folder holding both files.
        reviews: the review file (`<Category>_5.json.gz` or `<Category>.json.gz`).
        meta: the metadata file (`meta_<Category>.json.gz`); skipped when it does not exist.
        name: dataset name; by default the folder name.

    Returns:
        Dataset with explicit ratings (`overall`) and timestamps; catalogue = metadata items ∪
        reviewed items, text fields title, brand, description, features; attributes price,
        main_cat; categories = the `category` list without repeats.
    """
    folder = Path(folder)
    name = name or folder.name
    events = _read_reviews(folder / reviews)
    meta_path = folder / meta
    items = _read_meta(meta_path) if meta_path.exists() else None
    interactions, catalog, _ = assemble(name, events, items, TEXT_FIELDS, "categories")
    scale = (float(events["value"].min()), float(events["value"].max()))
    return Dataset(name, interactions, catalog, rating_scale=scale)


def _read_reviews(path: Path) -> pd.DataFrame:
    """Events frame [n_reviews, 4] (user_id, item_id, value, timestamp) in file order."""
    rows = [
        (
            _id(record, "reviewerID", path, line),
            _id(record, "asin", path, line),
            _number(record, "overall", path, line),
            _number(record, "unixReviewTime", path, line),
        )
        for line, record in iter_json_lines(path)
    ]
    if not rows:
        raise DataError("file has no review records", path)
    return pd.DataFrame(rows, columns=["user_id", "item_id", "value", "timestamp"])


def _read_meta(path: Path) -> pd.DataFrame:
    """Items frame [n_items, 8]: item_id, title, brand, description, features, price, main_cat, categories."""
    rows = [
        {
            "item_id": _id(record, "asin", path, line),
            "title": _text(record, "title", path, line, " "),
            "brand": _text(record, "brand", path, line, " "),
            "description": _text(record, "description", path, line, " "),
            "features": _text(record, "feature", path, line, "; "),
            "price": _text(record, "price", path, line, " "),
            "main_cat": _main_category(record, path, line),
            "categories": _labels(record, "category", path, line),
            "_line": line,
        }
        for line, record in iter_json_lines(path)
    ]
    if not rows:
        raise DataError("file has no metadata records", path)
    return unique_items(pd.DataFrame(rows), path).drop(columns="_line")


def _require(record: dict[str, Any], key: str, path: Path, line: int) -> Any:
    if key not in record or record[key] is None:
        raise DataError("required field is missing", path, line, key)
    return record[key]


def _id(record: dict[str, Any], key: str, path: Path, line: int) -> str:
    """A non-empty string (or integer) id."""
    value = _require(record, key, path, line)
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise DataError(f"expected a string id, got {type(value).__name__}", path, line, key)
    text = str(value).strip()
    if not text:
        raise DataError("empty id", path, line, key)
    return text


def _number(record: dict[str, Any], key: str, path: Path, line: int) -> float:
    """A finite number (JSON number or numeric string)."""
    value = _require(record, key, path, line)
    try:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise ValueError
        number = float(value)
    except ValueError:
        raise DataError(f"'{value}' is not a number", path, line, key) from None
    if not math.isfinite(number):
        raise DataError(f"'{value}' is not a finite number", path, line, key)
    return number


def _strings(record: dict[str, Any], key: str, path: Path, line: int) -> list[str]:
    """An optional string or list of strings as a list ([] when absent)."""
    value = record.get(key)
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    raise DataError(f"expected a string or a list of strings, got {type(value).__name__}", path, line, key)


def _text(record: dict[str, Any], key: str, path: Path, line: int, joiner: str) -> str:
    """Cleaned, non-empty parts of a text field joined by `joiner` ("" when absent)."""
    parts = (clean_html(v) for v in _strings(record, key, path, line))
    return joiner.join(p for p in parts if p)


def _labels(record: dict[str, Any], key: str, path: Path, line: int) -> tuple[str, ...]:
    """Cleaned, non-empty labels without repeats, in first-seen order."""
    labels = (clean_html(v) for v in _strings(record, key, path, line))
    return tuple(dict.fromkeys(label for label in labels if label))


def _main_category(record: dict[str, Any], path: Path, line: int) -> str:
    """`main_cat` as text; a few records hold an <img> tag whose alt text is the category."""
    raw = " ".join(_strings(record, "main_cat", path, line))
    text = clean_html(raw)
    if not text and (alt := _ALT.search(raw)):
        text = clean_html(alt.group(1))
    return text
