"""Reading source files with errors that name the file, line and field.

Every loader goes through these helpers, so a bad file always produces a `DataError` that says
where the problem is and what was expected, never a parser traceback.
"""

from __future__ import annotations

import gzip
import io
import json
import logging
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from prismrec.errors import DataError

log = logging.getLogger(__name__)

_PANDAS_LINE = re.compile(r"line (\d+)")


def require_file(path: Path) -> Path:
    """`path` if it is an existing, non-empty file; else a `DataError` that says so."""
    path = Path(path)
    if not path.is_file():
        raise DataError("file not found; check the path or the data home (PRISMREC_DATA_HOME)", path)
    if path.stat().st_size == 0:
        raise DataError("file is empty", path)
    return path


def read_text(path: Path, encoding: str = "utf-8") -> str:
    """The whole decoded text of a file (transparently gunzipped for `.gz`).

    Raises `DataError` with the line of the first byte that is not valid in `encoding`.
    """
    path = require_file(path)
    raw = path.read_bytes()
    if path.suffix == ".gz":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as error:
            raise DataError(f"not a valid gzip file ({error})", path) from None
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise DataError(
            f"byte 0x{raw[error.start]:02x} is not valid {encoding}; re-save the file as UTF-8 "
            f"or pass the file's encoding (e.g. --encoding latin-1)",
            path,
            line,
        ) from None
    except LookupError:
        raise DataError(f"unknown text encoding '{encoding}'", path) from None
    if not text.strip():
        raise DataError("file has no data (only whitespace)", path)
    return text


def read_delimited(
    path: Path,
    sep: str = ",",
    names: Sequence[str] | None = None,
    encoding: str = "utf-8",
    quoting: bool = True,
) -> pd.DataFrame:
    """A delimited text file as a frame of strings ("" for empty cells), rows in file order.

    Args:
        path: the file (`.gz` allowed).
        sep: the field separator.
        names: column names for a file without a header; None reads the header line.
        quoting: whether double quotes group fields (CSV); false for TSV-like formats.

    The frame gets an int64 column `_line` (1-based physical line of each record's start).
    """
    text = read_text(path, encoding)
    header_lines = 0 if names is not None else 1
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            sep=sep,
            header=None if names is not None else 0,
            names=list(names) if names is not None else None,
            dtype=str,
            keep_default_na=False,
            quoting=0 if quoting else 3,
            engine="c",
            skip_blank_lines=True,
        )
    except pd.errors.ParserError as error:
        match = _PANDAS_LINE.search(str(error))
        line = int(match.group(1)) if match else None
        raise DataError(f"malformed record: {error}", path, line) from None
    except pd.errors.EmptyDataError:
        raise DataError("file has no header or no data", path) from None
    if frame.empty:
        raise DataError("file has a header but no data rows", path)
    frame["_line"] = record_lines(text, len(frame), header_lines, quoting)
    return frame


def record_lines(text: str, n_records: int, header_lines: int, quoting: bool) -> np.ndarray:
    """Physical line of each record; exact for files without quoted newlines, else an estimate."""
    lines = [i + 1 for i, line in enumerate(text.split("\n")) if line.strip()]
    starts = lines[header_lines : header_lines + n_records]
    if len(starts) != n_records or (quoting and '"' in text):
        # Quoted fields may span lines; fall back to record numbers offset by the header.
        return np.arange(n_records, dtype=np.int64) + header_lines + 1
    return np.asarray(starts, dtype=np.int64)


def require_columns(frame: pd.DataFrame, path: Path, required: Sequence[str], hint: str = "") -> None:
    """Raise `DataError` naming the missing columns and the ones that were found."""
    missing = [c for c in required if c not in frame.columns]
    if missing:
        found = [c for c in frame.columns if c != "_line"]
        raise DataError(
            f"missing column(s) {missing}; the file has {found}{'. ' + hint if hint else ''}", path, 1
        )


def parse_float(
    frame: pd.DataFrame, column: str, path: Path, allow_empty: bool = False, values: np.ndarray | None = None
) -> np.ndarray:
    """float64 values of a string column; the first non-number raises `DataError` with its line.

    `values`: the column already read by `numbers_of`, if the caller has it.
    """
    raw = frame[column]
    values = numbers_of(raw) if values is None else values
    missing = np.flatnonzero(np.isnan(values))
    bad = np.zeros(len(values), dtype=bool)
    if len(missing):  # only the cells that did not read as numbers are looked at again
        stripped = raw.iloc[missing].str.strip()
        unreadable = ~(stripped.str.lower() == "nan").to_numpy()
        if allow_empty:
            unreadable &= (stripped != "").to_numpy()
        bad[missing] = unreadable
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise DataError(f"'{raw.iloc[first]}' is not a number", path, int(frame["_line"].iloc[first]), column)
    infinite = np.isinf(values)
    if infinite.any():
        first = int(np.flatnonzero(infinite)[0])
        raise DataError(f"'{raw.iloc[first]}' is not a finite number", path, int(frame["_line"].iloc[first]), column)
    return values


def numbers_of(raw: pd.Series) -> np.ndarray:
    """float64 of a string column; cells with surrounding spaces are stripped, unreadable ones are NaN."""
    values = pd.to_numeric(raw, errors="coerce").to_numpy(np.float64)
    missing = np.flatnonzero(np.isnan(values))
    if len(missing):
        values[missing] = pd.to_numeric(raw.iloc[missing].str.strip(), errors="coerce").to_numpy(np.float64)
    return values


def events_frame(
    frame: pd.DataFrame, path: Path, user: str, item: str, value: str | None = None, timestamp: str | None = None
) -> pd.DataFrame:
    """The events frame every loader hands to `assemble`: user_id, item_id, value, timestamp.

    Missing `value` means implicit feedback (1.0); missing `timestamp` gives NaN.
    """
    return pd.DataFrame(
        {
            "user_id": require_ids(frame, user, path),
            "item_id": require_ids(frame, item, path),
            "value": 1.0 if value is None else parse_float(frame, value, path),
            "timestamp": np.nan if timestamp is None else parse_float(frame, timestamp, path),
        }
    )


def require_ids(frame: pd.DataFrame, column: str, path: Path) -> pd.Series:
    """Stripped string ids; an empty id raises `DataError` with its line."""
    ids = frame[column].str.strip()
    empty = (ids == "").to_numpy()
    if empty.any():
        first = int(np.flatnonzero(empty)[0])
        raise DataError("empty id", path, int(frame["_line"].iloc[first]), column)
    return ids


def unique_items(frame: pd.DataFrame, path: Path, id_column: str = "item_id") -> pd.DataFrame:
    """Item rows with unique ids: exact repeats are dropped; conflicting repeats raise `DataError`."""
    content = [c for c in frame.columns if c != "_line"]
    exact = frame.duplicated(content, keep="first")
    frame = frame[~exact]
    clash = frame.duplicated(id_column, keep=False)
    if clash.any():
        rows = frame[clash]
        first_id = rows[id_column].iloc[0]
        lines = rows.loc[rows[id_column] == first_id, "_line"].tolist()
        raise DataError(
            f"item '{first_id}' is described twice with different values (lines {lines}); keep one row per item",
            path,
            int(lines[1]),
            id_column,
        )
    return frame


def iter_json_lines(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for every non-blank line of a JSON Lines file (`.gz` allowed)."""
    text = read_text(path)
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise DataError(f"invalid JSON ({error.msg} at column {error.colno})", path, number) from None
        if not isinstance(record, dict):
            raise DataError("expected a JSON object on each line", path, number)
        yield number, record


def split_labels(value: str, separator: str) -> tuple[str, ...]:
    """'A|B| C' -> ('A', 'B', 'C'); empty parts dropped."""
    return tuple(part.strip() for part in value.split(separator) if part.strip())
