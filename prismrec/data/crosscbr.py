"""Bundle-recommendation benchmarks in the BGCN / CrossCBR text format (Youshu, NetEase, iFashion).

A folder holds headerless `id<TAB>id` files with dense 0-based integer ids:

- `user_item.txt` (user, item), implicit, no timestamps;
- `bundle_item.txt` (bundle, item): bundle composition;
- `user_bundle_{train,tune,test}.txt` (user, bundle): the published split;
- `{name}_data_size.txt`: one line `n_users<TAB>n_bundles<TAB>n_items`.

Every id `0..n-1` declared by the size file is in the id maps (as its decimal string), also when it
has no interaction; ids outside the declared range are errors. There is no item text.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from prismrec.data.readers import parse_float, read_delimited, read_text, require_ids
from prismrec.data.schema import Bundles, Dataset, IdMap, assemble, binary_csr
from prismrec.errors import DataError

SPLITS = ("train", "tune", "test")


def load_crosscbr(folder: str | Path, name: str = "Youshu") -> Dataset:
    """Load a CrossCBR-format bundle dataset from `folder`.

    Args:
        folder: the folder holding the files.
        name: the prefix of the size file (`{name}_data_size.txt`); the dataset is called
            `name.lower()`.

    Returns:
        Dataset with implicit user-item interactions, an id-only catalogue and `bundles` holding
        membership [n_bundles, n_items] and user_bundles {"train", "tune", "test"} int32 [n, 2].
    """
    folder = Path(folder)
    size_path = folder / f"{name}_data_size.txt"
    n_users, n_bundles, n_items = _read_sizes(size_path)
    limits = {"user": n_users, "bundle": n_bundles, "item": n_items}
    user_item = _read_pairs(folder / "user_item.txt", ("user", "item"), limits, size_path.name)
    bundle_item = _read_pairs(folder / "bundle_item.txt", ("bundle", "item"), limits, size_path.name)
    user_bundle = {
        part: _read_pairs(folder / f"user_bundle_{part}.txt", ("user", "bundle"), limits, size_path.name)
        for part in SPLITS
    }

    events = pd.DataFrame(
        {
            "user_id": _decimal(user_item[:, 0]),
            "item_id": _decimal(user_item[:, 1]),
            "value": 1.0,
            "timestamp": np.nan,
        }
    )
    interactions, catalog, _ = assemble(
        name.lower(),
        events,
        implicit=True,
        extra_user_ids=_decimal(np.arange(n_users)),
        extra_item_ids=_decimal(np.arange(n_items)),
    )
    bundle_ids = IdMap.sorted_from(_decimal(np.arange(n_bundles)))
    # raw integer id -> dense index (id maps are in string order)
    user_index = interactions.user_ids.lookup(_decimal(np.arange(n_users)))
    item_index = interactions.item_ids.lookup(_decimal(np.arange(n_items)))
    bundle_index = bundle_ids.lookup(_decimal(np.arange(n_bundles)))

    member_bundles, member_items = bundle_index[bundle_item[:, 0]], item_index[bundle_item[:, 1]]
    membership = binary_csr(member_bundles, member_items, (n_bundles, n_items))
    parts = {
        part: np.column_stack([user_index[pairs[:, 0]], bundle_index[pairs[:, 1]]]).astype(np.int32)
        for part, pairs in user_bundle.items()
    }
    bundles = Bundles(bundle_ids, membership, parts, names=("",) * n_bundles)
    return Dataset(name.lower(), interactions, catalog, bundles=bundles)


def _decimal(ids: np.ndarray) -> np.ndarray:
    """object[n]: integer ids as decimal strings."""
    return np.asarray([str(i) for i in ids.tolist()], dtype=object)


def _read_sizes(path: Path) -> tuple[int, int, int]:
    """(n_users, n_bundles, n_items) from the one-line size file."""
    fields = read_text(path).split()
    if len(fields) != 3 or not all(f.isascii() and f.isdigit() for f in fields):
        raise DataError(
            f"expected three non-negative integers 'n_users<TAB>n_bundles<TAB>n_items', got {fields[:5]}",
            path,
            1,
        )
    n_users, n_bundles, n_items = (int(f) for f in fields)
    return n_users, n_bundles, n_items


def _read_pairs(path: Path, kinds: tuple[str, str], limits: dict[str, int], size_file: str) -> np.ndarray:
    """int64 [n, 2]: the (kinds[0], kinds[1]) id pairs of a headerless TAB file, in line order."""
    columns = [f"{kind}_id" for kind in kinds]
    frame = read_delimited(path, sep="\t", names=columns, quoting=False)
    ids = [_dense_ids(frame, c, limits[k], path, size_file) for k, c in zip(kinds, columns, strict=True)]
    return np.column_stack(ids)


def _dense_ids(frame: pd.DataFrame, column: str, limit: int, path: Path, size_file: str) -> np.ndarray:
    """int64[n]: integer ids of one column, each checked to lie in `0..limit-1`."""
    require_ids(frame, column, path)  # a missing field reads as "": "empty id" with its line
    values = parse_float(frame, column, path)
    not_int = values != np.floor(values)
    if not_int.any():
        first = int(np.flatnonzero(not_int)[0])
        message = f"'{frame[column].iloc[first]}' is not an integer id"
        raise DataError(message, path, int(frame["_line"].iloc[first]), column)
    outside = (values < 0) | (values >= limit)
    if outside.any():
        first = int(np.flatnonzero(outside)[0])
        raise DataError(
            f"id {int(values[first])} is outside 0..{limit - 1} declared in {size_file}",
            path,
            int(frame["_line"].iloc[first]),
            column,
        )
    return values.astype(np.int64)
