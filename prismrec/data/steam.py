"""Steam bundles (Pathak, Gupta & McAuley, SIGIR 2017): store bundles with item names, genres and prices.

One file, `bundle_data.json`: a single JSON array (on one line) of bundle objects with

- `bundle_id` (a string of digits), `bundle_name`, `bundle_url`, `bundle_price` and
  `bundle_final_price` (strings like "$73.86"), `bundle_discount` (a string like "10%");
- `items`: a list of `{item_id, item_name, genre, discounted_price, item_url}`, where `item_id` is a
  string, `genre` a comma-separated string ("Adventure, Indie, RPG", often "") and `discounted_price`
  a string like "$8.99".

There are no users: the dataset has a catalogue and bundles, and no events.

Quirks of the published file (615 bundles, 3,525 bundle-item entries):

- 10 entries in 7 bundles have an empty `item_id` (their URL ends in `/app/`): 8 different add-ons
  (DLC, a season pass, GTA cash cards). Read as one item they would join unrelated bundles, so each
  distinct name becomes its own item with the id `noid-` + the first 12 hex digits of the sha256 of
  the name. The catalogue thus has 2,797 Steam apps + 8 such items.
- Bundle 383 lists item 94620 twice; membership counts it once.
- An item listed in several bundles keeps its first name, genres and price (file order); 5 items
  have different prices in different bundles.

Every price in the file has the form "$8.99"; a price that does not ("Free", "") is read as missing.
The file is a single line, so an error in a record names the record by its 1-based position in the
array (in the message), not by a line number.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from prismrec.data.readers import read_text, split_labels
from prismrec.data.schema import Bundles, Dataset, IdMap, assemble, binary_csr
from prismrec.errors import DataError

FILE_NAME = "bundle_data.json"
NO_ID_PREFIX = "noid-"

# "$8.99", "$1,299.99", "8.99": optional dollar sign, optional thousands separators.
_DOLLARS = re.compile(r"\$?\s*(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?")


def parse_dollars(value: str) -> str:
    """'$8.99' -> '8.99', '$1,299.99' -> '1299.99'; "" for anything that is not an amount ('Free', '')."""
    match = _DOLLARS.fullmatch(value.strip())
    if match is None:
        return ""
    return match.group(1).replace(",", "") + (match.group(2) or "")


def item_key(item_id: str, title: str) -> str:
    """The catalogue id of a listed item: its `item_id`, or `noid-<12 hex digits>` derived from the name."""
    if item_id:
        return item_id
    return NO_ID_PREFIX + hashlib.sha256(title.encode("utf-8")).hexdigest()[:12]


def load_steam_bundles(folder: str | Path, name: str = "steam-bundles") -> Dataset:
    """Load `bundle_data.json` from `folder`.

    Returns:
        Dataset `name` with no users or events. Catalogue: one row per item with text field `title`
        and attribute `price` (dollars as a decimal string, "" if unknown); categories = the genre
        labels. `bundles`: membership [n_bundles, n_items], names = bundle names, prices =
        float64[n_bundles] final bundle prices in dollars (NaN if unknown), user_bundles {}.
    """
    path = Path(folder) / FILE_NAME
    records = read_bundle_array(path)
    bundles, entries = parse_bundles(records, path)
    if entries.empty:
        raise DataError("no bundle lists any item", path, field="items")

    items = entries.drop(columns=["bundle_id"]).drop_duplicates("item_id", keep="first")
    events = pd.DataFrame({"user_id": pd.Series(dtype=object), "item_id": pd.Series(dtype=object),
                           "value": pd.Series(dtype=float), "timestamp": pd.Series(dtype=float)})  # fmt: skip
    interactions, catalog, _ = assemble(name, events, items, ("title",), "categories", implicit=True)

    bundle_ids = IdMap.sorted_from(bundles["bundle_id"])
    membership = binary_csr(
        bundle_ids.indices(entries["bundle_id"]), interactions.item_ids.indices(entries["item_id"]),
        (len(bundle_ids), interactions.n_items),
    )  # fmt: skip
    aligned = bundles.set_index("bundle_id").reindex(bundle_ids.ids)
    prices = aligned["price"].to_numpy(np.float64)
    result = Bundles(bundle_ids, membership, {}, tuple(aligned["name"]), prices)
    return Dataset(name, interactions, catalog, bundles=result)


def read_bundle_array(path: Path) -> list[dict[str, Any]]:
    """The bundle objects of the file, in array order; `DataError` unless it is a non-empty array of objects."""
    text = read_text(path)
    try:
        records = json.loads(text)
    except json.JSONDecodeError as error:
        raise DataError(f"invalid JSON ({error.msg} at column {error.colno})", path, error.lineno) from None
    if not isinstance(records, list):
        raise DataError(f"expected a JSON array of bundles, got {_json_type(records)}", path)
    if not records:
        raise DataError("the JSON array holds no bundles", path)
    for position, record in enumerate(records, start=1):
        if not isinstance(record, dict):
            raise DataError(f"{_bundle_at(position)}: expected a JSON object, got {_json_type(record)}", path)
    return records


def parse_bundles(records: list[dict[str, Any]], path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(bundles, entries) from the bundle objects.

    Returns:
        bundles [n_bundles, 3]: bundle_id, name, price (float, NaN if unknown), in array order;
        entries [n_entries, 5]: bundle_id, item_id, title, price (str), categories (tuple), in file
        order, repeats kept.
    """
    bundle_rows: list[tuple[str, str, float]] = []
    entry_rows: list[tuple[str, str, str, str, tuple[str, ...]]] = []
    first_position: dict[str, int] = {}
    for position, record in enumerate(records, start=1):
        where = _bundle_at(position)
        bundle_id = _string(record, "bundle_id", path, where, required=True)
        if not bundle_id:
            raise DataError(f"{where}: empty bundle id", path, field="bundle_id")
        if bundle_id in first_position:
            message = f"{where}: bundle '{bundle_id}' was already listed at position {first_position[bundle_id]}"
            raise DataError(message, path, field="bundle_id")
        first_position[bundle_id] = position
        where = _bundle_at(position, bundle_id)
        price = parse_dollars(_string(record, "bundle_final_price", path, where))
        bundle_rows.append((bundle_id, _string(record, "bundle_name", path, where), float(price or "nan")))
        entry_rows.extend((bundle_id, *entry) for entry in _parse_items(record, path, where))
    bundles = pd.DataFrame(bundle_rows, columns=["bundle_id", "name", "price"])
    entries = pd.DataFrame(entry_rows, columns=["bundle_id", "item_id", "title", "price", "categories"])
    return bundles, entries


def _parse_items(record: dict[str, Any], path: Path, where: str) -> list[tuple[str, str, str, tuple[str, ...]]]:
    """Per listed item of one bundle: (item_id, title, price, categories)."""
    if "items" not in record:
        raise DataError(f"{where}: missing 'items'", path, field="items")
    listed = record["items"]
    if not isinstance(listed, list):
        raise DataError(f"{where}: expected a list of items, got {_json_type(listed)}", path, field="items")
    parsed = []
    for number, item in enumerate(listed, start=1):
        at = f"{where}, item {number}"
        if not isinstance(item, dict):
            raise DataError(f"{at}: expected a JSON object, got {_json_type(item)}", path, field="items")
        item_id = _string(item, "item_id", path, at, required=True)
        title = _string(item, "item_name", path, at)
        if not item_id and not title:
            raise DataError(f"{at}: empty item id and no item_name to tell the item apart", path, field="item_id")
        price = parse_dollars(_string(item, "discounted_price", path, at))
        categories = split_labels(_string(item, "genre", path, at), ",")
        parsed.append((item_key(item_id, title), title, price, categories))
    return parsed


def _string(record: dict[str, Any], key: str, path: Path, where: str, required: bool = False) -> str:
    """`record[key]` as text, whitespace collapsed; "" when absent or null (a `DataError` when `required`)."""
    value = record.get(key)
    if value is None:
        if required:
            raise DataError(f"{where}: missing '{key}'", path, field=key)
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise DataError(f"{where}: expected a string, got {_json_type(value)}", path, field=key)
    return " ".join(str(value).split())


def _bundle_at(position: int, bundle_id: str | None = None) -> str:
    """'bundle 3 (1-based position in the array, bundle_id '1474')' for messages."""
    known = f", bundle_id '{bundle_id}'" if bundle_id is not None else ""
    return f"bundle {position} (1-based position in the array{known})"


def _json_type(value: object) -> str:
    """The JSON name of a parsed value's type ('an object', 'a string', ...)."""
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number")
