"""BundleRec crowd-sourced bundles (Sun et al., SIGIR 2022): one domain folder (electronic, clothing, food).

Comma CSV files with headers (column names contain spaces):

- `user_item.csv` (user ID, item ID, timestamp): implicit events; ~27 % exact repeats (the
  user→bundle→item expansion), reduced by `assemble`;
- `item_titles.csv` (item ID, titles): Amazon product titles with HTML entities (`&amp;`);
- `item_categories.csv` (item ID, categories): category paths written `[[A,B,C],[A,D]]`, where a
  label may itself contain ", " (e.g. "Clothing, Shoes & Jewelry"), so labels are split at commas
  not followed by a space;
- `bundle_item.csv` (bundle ID, item ID), `bundle_intent.csv` (bundle ID, intent),
  `user_bundle.csv` (user ID, bundle ID, timestamp).
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import numpy as np
import pandas as pd

from prismrec.data.readers import events_frame, read_delimited, require_columns, require_ids, unique_items
from prismrec.data.schema import Bundles, Dataset, IdMap, assemble, binary_csr
from prismrec.errors import DataError

_LABEL_SEPARATOR = re.compile(r",(?! )")


def clean_text(value: str) -> str:
    """HTML entities decoded, whitespace (including newlines) collapsed to single spaces."""
    return " ".join(html.unescape(value).split())


def parse_category_paths(value: str) -> tuple[str, ...] | None:
    """'[[A,B, C,D],[A,E]]' -> ('A', 'B, C', 'D', 'E'): labels of all paths, no repeats; None if malformed."""
    value = value.strip()
    if not (value.startswith("[[") and value.endswith("]]")):
        return None
    labels = (label.strip() for path in value[2:-2].split("],[") for label in _LABEL_SEPARATOR.split(path))
    return tuple(dict.fromkeys(label for label in labels if label))


def load_bundlerec(folder: str | Path, name: str | None = None) -> Dataset:
    """Load one BundleRec domain folder.

    Returns:
        Dataset (default name `bundlerec-<folder name>`) with implicit interactions and timestamps;
        catalogue text field `title`, categories = labels of the category paths; `bundles` with
        membership [n_bundles, n_items], names = intents, user_bundles {"all": int32 [n, 2]}.
    """
    folder = Path(folder)
    name = name or f"bundlerec-{folder.name}"
    events = _read_user_items(folder / "user_item.csv")
    items = _read_items(folder / "item_titles.csv", folder / "item_categories.csv")
    bundle_items = _read_ids(folder / "bundle_item.csv", {"bundle ID": "bundle_id", "item ID": "item_id"})
    intents = _read_intents(folder / "bundle_intent.csv")
    user_bundles = _read_ids(folder / "user_bundle.csv", {"user ID": "user_id", "bundle ID": "bundle_id"})

    interactions, catalog, _ = assemble(
        name,
        events,
        items,
        ("title",),
        "categories",
        implicit=True,
        extra_user_ids=user_bundles["user_id"],
        extra_item_ids=bundle_items["item_id"],
    )
    bundle_ids = IdMap.sorted_from(bundle_items["bundle_id"], intents.index, user_bundles["bundle_id"])
    membership = binary_csr(
        bundle_ids.indices(bundle_items["bundle_id"]), interactions.item_ids.indices(bundle_items["item_id"]),
        (len(bundle_ids), interactions.n_items),
    )  # fmt: skip
    users = interactions.user_ids.indices(user_bundles["user_id"])
    pairs = np.column_stack([users, bundle_ids.indices(user_bundles["bundle_id"])]).astype(np.int32)
    names = tuple(intents.reindex(bundle_ids.ids).fillna(""))
    bundles = Bundles(bundle_ids, membership, {"all": pairs}, names)
    return Dataset(name, interactions, catalog, bundles=bundles)


def _read_user_items(path: Path) -> pd.DataFrame:
    """Events frame [n, 4] (user_id, item_id, value, timestamp) in file order, repeats kept."""
    frame = read_delimited(path)
    require_columns(frame, path, ["user ID", "item ID", "timestamp"])
    return events_frame(frame, path, "user ID", "item ID", None, "timestamp")


def _read_ids(path: Path, columns: dict[str, str]) -> pd.DataFrame:
    """The id columns of a file, renamed (e.g. 'bundle ID' -> 'bundle_id'), in file order."""
    frame = read_delimited(path)
    require_columns(frame, path, list(columns))
    return pd.DataFrame({new: require_ids(frame, old, path) for old, new in columns.items()})


def _read_items(titles_path: Path, categories_path: Path) -> pd.DataFrame:
    """Items frame [n_items, 3]: item_id, title, categories (tuple; NaN for items without a category row)."""
    titles = read_delimited(titles_path)
    require_columns(titles, titles_path, ["item ID", "titles"])
    titles["item ID"] = require_ids(titles, "item ID", titles_path)
    titles = unique_items(titles, titles_path, "item ID")

    categories = read_delimited(categories_path)
    require_columns(categories, categories_path, ["item ID", "categories"])
    categories["item ID"] = require_ids(categories, "item ID", categories_path)
    categories = unique_items(categories, categories_path, "item ID")

    left = pd.DataFrame({"item_id": titles["item ID"].to_numpy(), "title": titles["titles"].map(clean_text)})
    labels = _category_labels(categories, categories_path)
    right = pd.DataFrame({"item_id": categories["item ID"].to_numpy(), "categories": labels})
    return left.merge(right, on="item_id", how="outer", sort=False)


def _category_labels(frame: pd.DataFrame, path: Path) -> list[tuple[str, ...]]:
    """Per row, the parsed category labels; a value not shaped `[[...]]` raises `DataError`."""
    parsed = []
    for value, line in zip(frame["categories"], frame["_line"], strict=True):
        labels = parse_category_paths(value)
        if labels is None:
            message = f"expected category paths like '[[A,B],[C]]', got '{value[:60]}'"
            raise DataError(message, path, int(line), "categories")
        parsed.append(labels)
    return parsed


def _read_intents(path: Path) -> pd.Series:
    """bundle id -> intent text (entities decoded, whitespace collapsed; may be "")."""
    frame = read_delimited(path)
    require_columns(frame, path, ["bundle ID", "intent"])
    frame["bundle ID"] = require_ids(frame, "bundle ID", path)
    frame["intent"] = frame["intent"].map(clean_text)
    frame = unique_items(frame, path, "bundle ID")
    return pd.Series(frame["intent"].to_numpy(), index=frame["bundle ID"].to_numpy(), dtype=object)
