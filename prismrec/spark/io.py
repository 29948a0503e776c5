"""Reading and writing tables at any path Spark reads (local, hdfs://, s3a://, …): Parquet or CSV.

Inputs are read as strings, as the local readers read files, and handed to the same checks
(`prismrec.data.readers`, `prismrec.data.generic`), so a bad id, rating or timestamp gives the
same message as `prismrec fit`. The row order of a log is the file order (files of a folder by
name): it decides ties in time, as line order does locally. Line numbers in messages count the
rows of each file (after the header of a CSV file).
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING
from urllib.parse import urlparse

import numpy as np
import pandas as pd

from prismrec.data.generic import ColumnMap, parse_timestamps
from prismrec.data.readers import parse_float, require_columns, require_ids, split_labels, unique_items
from prismrec.data.schema import Dataset, assemble
from prismrec.errors import ConfigError, DataError

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

FORMATS = ("parquet", "csv")
PARQUET_SUFFIXES = (".parquet", ".pq")
CSV_SUFFIXES = (".csv", ".tsv", ".tab", ".txt")
LINE = "_line"
_FILE, _ROW = "_prismrec_file", "_prismrec_row"


def local_path(path: str) -> Path | None:
    """The local file system path of `path` (plain or file:), None for other schemes (hdfs://, s3a://, …)."""
    parsed = urlparse(str(path))
    if parsed.scheme in ("", "file") or len(parsed.scheme) == 1:  # a one-letter scheme is a drive letter
        return Path(parsed.path if parsed.scheme == "file" else str(path))
    return None


def input_format(path: str, fmt: str = "auto") -> str:
    """'parquet' or 'csv': as given, else by suffix (a local folder: by the files in it; other folders: Parquet)."""
    if fmt != "auto":
        return check_format(fmt)
    suffixes = [s.lower() for s in PurePosixPath(str(path).rstrip("/")).suffixes]
    if any(s in PARQUET_SUFFIXES for s in suffixes):
        return "parquet"
    if any(s in CSV_SUFFIXES for s in suffixes):
        return "csv"
    local = local_path(path)
    if local is not None and local.is_dir():
        names = [p.name.lower() for p in local.rglob("*") if p.is_file() and not p.name.startswith(("_", "."))]
        if any(n.endswith(PARQUET_SUFFIXES) for n in names):
            return "parquet"
        if any(n.split(".gz")[0].endswith(CSV_SUFFIXES) for n in names):
            return "csv"
        raise DataError("folder holds no .parquet or .csv files", path)
    return "parquet"


def check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise ConfigError(f"--format must be one of {', '.join(FORMATS)}, not '{fmt}'")
    return fmt


def require_input(path: str) -> None:
    """A local input path must exist and not be empty (other schemes are checked by Spark)."""
    local = local_path(path)
    if local is None:
        return
    if not local.exists():
        raise DataError("file or folder not found; check the path", path)
    if local.is_file() and local.stat().st_size == 0:
        raise DataError("file is empty", path)


def read_table(spark: SparkSession, path: str | Path, fmt: str = "auto", multiline: bool = False) -> DataFrame:
    """A Parquet or CSV file or folder as a Spark DataFrame with its columns as read.

    CSV: a header line, `,` (`\\t` for .tsv/.tab), RFC 4180 quotes, .gz allowed, a malformed record
    fails the read; `multiline` lets quoted fields span lines (a file is then read by one task).
    """
    path = str(path)
    require_input(path)
    kind = input_format(path, fmt)
    if kind == "parquet":
        return spark.read.parquet(path)
    suffixes = [s.lower() for s in PurePosixPath(path.rstrip("/")).suffixes]
    sep = "\t" if ".tsv" in suffixes or ".tab" in suffixes else ","
    frame = (spark.read.option("header", "true").option("sep", sep).option("quote", '"').option("escape", '"')
             .option("multiLine", str(multiline).lower()).option("inferSchema", "false").option("mode", "FAILFAST")
             .csv(path))  # fmt: skip
    return frame.toDF(*[name.removeprefix("\ufeff") for name in frame.columns])  # a UTF-8 byte order mark


def string_columns(frame: DataFrame, names: list[str] | None = None) -> list[Column]:
    """The columns as strings ("" for null; timestamps and dates as Unix seconds), as the local readers see them."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import DateType, TimestampNTZType, TimestampType

    types = {f.name: f.dataType for f in frame.schema.fields}
    out = []
    for name in names or list(types):
        column = F.col(f"`{name}`")
        if isinstance(types[name], TimestampType | TimestampNTZType | DateType):
            column = F.unix_micros(column.cast("timestamp")) / F.lit(1e6)
        out.append(F.coalesce(column.cast("string"), F.lit("")).alias(name))
    return out


def collect_strings(frame: DataFrame, source: str, header: bool) -> pd.DataFrame:
    """The rows of a table read by `read_table`, as strings in file order, with a 1-based `_line` per file."""
    from pyspark.sql import functions as F

    names = [f.name for f in frame.schema.fields]
    if not names:
        raise DataError("file has no header or no data", source)
    ordered = frame.select("*", F.col("_metadata.file_path").alias(_FILE), F.monotonically_increasing_id().alias(_ROW))
    rows = ordered.select(*string_columns(ordered, names), _FILE, _ROW).toPandas()
    if rows.empty:
        raise DataError("file has no data rows", source)
    rows = rows.sort_values([_FILE, _ROW], kind="mergesort").reset_index(drop=True)
    rows[LINE] = rows.groupby(_FILE, sort=False).cumcount().to_numpy(np.int64) + (2 if header else 1)
    return rows.drop(columns=[_FILE, _ROW])


def read_log(spark: SparkSession, path: str | Path, fmt: str = "auto") -> pd.DataFrame:
    """An interactions table collected to the driver as strings in file order (with `_line`)."""
    path = str(path)
    frame = read_table(spark, path, fmt)
    return collect_strings(frame, path, header=input_format(path, fmt) == "csv")


def read_items(spark: SparkSession, path: str | Path, fmt: str = "auto") -> pd.DataFrame:
    """An item table collected to the driver as strings in file order (quoted fields may span lines)."""
    path = str(path)
    frame = read_table(spark, path, fmt, multiline=True)
    return collect_strings(frame, path, header=input_format(path, fmt) == "csv")


def table_name(path: str | Path) -> str:
    """The dataset name of a file or folder: its name up to the first dot (as `prismrec fit` names it)."""
    return PurePosixPath(str(path).rstrip("/")).name.split(".")[0] or "data"


def dataset_from_tables(
    events: pd.DataFrame,
    items: pd.DataFrame | None,
    columns: ColumnMap,
    source: str,
    items_source: str | None = None,
    implicit: bool = False,
    name: str | None = None,
) -> Dataset:
    """A `Dataset` from string tables (as `load_generic` builds one from files; the same checks and messages)."""
    path = Path(source)
    hint = "name other columns with --map, e.g. --map user_id=customer_id"
    require_columns(events, path, [columns.user_id, columns.item_id], hint)
    has_rating = columns.rating in events.columns and not implicit
    frame = pd.DataFrame(
        {
            "user_id": require_ids(events, columns.user_id, path),
            "item_id": require_ids(events, columns.item_id, path),
            "value": parse_float(events, columns.rating, path) if has_rating else 1.0,
            "timestamp": parse_timestamps(events, columns.timestamp, path)
            if columns.timestamp in events.columns
            else np.nan,
        }
    )
    item_frame, text_fields = (None, []) if items is None else item_table(items, columns, items_source or "items")
    label = name or table_name(source)
    inter, catalog, _ = assemble(label, frame, item_frame, text_fields,
                                 "categories" if item_frame is not None else None, implicit=not has_rating)  # fmt: skip
    scale = (float(frame.value.min()), float(frame.value.max())) if has_rating else None
    return Dataset(label, inter, catalog, rating_scale=scale)


def item_table(frame: pd.DataFrame, columns: ColumnMap, source: str) -> tuple[pd.DataFrame, list[str]]:
    """(items with the roles' column names and category tuples, the text fields), as the local item reader."""
    path = Path(source)
    require_columns(frame, path, [columns.item_id], "name the id column with --map item_id=<column>")
    missing = [c for c in columns.extra_text if c not in frame.columns]
    if missing:
        require_columns(frame, path, missing)
    frame = frame.copy()
    frame[columns.item_id] = require_ids(frame, columns.item_id, path)
    frame = unique_items(frame, path, columns.item_id)
    renamed = {columns.item_id: "item_id", columns.title: "title", columns.description: "description",
               columns.categories: "categories"}  # fmt: skip
    frame = frame.rename(columns={k: v for k, v in renamed.items() if k in frame.columns})
    if "categories" in frame.columns:
        frame["categories"] = [split_labels(v, columns.category_separator) for v in frame["categories"]]
    text = [c for c in ("title", "description", *columns.extra_text) if c in frame.columns]
    return frame.drop(columns=LINE), text


def read_dataset(
    spark: SparkSession,
    interactions: str | Path,
    items: str | Path | None = None,
    columns: ColumnMap | None = None,
    fmt: str = "auto",
) -> Dataset:
    """Interactions (and items) read with Spark from any path, as the `Dataset` `prismrec fit` would load."""
    columns = columns or ColumnMap()
    events = read_log(spark, interactions, fmt)
    item_rows = None if items is None else read_items(spark, items, fmt)
    return dataset_from_tables(events, item_rows, columns, str(interactions), None if items is None else str(items))


def require_new_output(path: str | Path, overwrite: bool = False) -> None:
    """A local output folder must not exist unless `overwrite` (other schemes are checked by Spark)."""
    local = local_path(str(path))
    if local is not None and local.exists() and not overwrite:
        raise DataError("already exists; choose another output folder or pass --overwrite", path)


def write_table(frame: DataFrame, path: str | Path, fmt: str = "parquet", overwrite: bool = False) -> None:
    """Write part files of `frame` to the folder `path` (Parquet, or CSV with a header)."""
    path = str(path)
    check_format(fmt)
    require_new_output(path, overwrite)
    writer = frame.write.mode("overwrite" if overwrite else "errorifexists")
    if fmt == "csv":
        writer.option("header", "true").option("escape", '"').csv(path)
    else:
        writer.parquet(path)
