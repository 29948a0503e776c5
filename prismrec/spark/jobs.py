"""The driver side of `prismrec spark encode | fit | recommend | evaluate`.

- `recommend`: the user ids are split into partitions; `mapInPandas` runs `workers.recommend_batches`
  over each (the saved pipeline loaded once per Python worker; only its folder path is broadcast) and
  the rows user_id, item_id, rank, score are written as Parquet or CSV part files.
- `evaluate`: split, fit and score as `prismrec evaluate`: the split and the fit run on the driver
  (`evaluation.protocol`'s code), the fitted pipeline is saved to a work folder, the executors build
  every user's list and per-user metric rows (`workers.evaluate_batches`), and the summary is
  `evaluate_lists` over the collected lists — the numbers of `prismrec evaluate`.
- `fit`: the log is read with Spark; most-popular and itemknn statistics come from Spark SQL
  (`stats`), every other model is fitted on the driver with the local code; the folder written is
  the one `prismrec fit` writes.
- `encode`: item texts → vectors with the pipeline's encoder in the executors, written as Parquet.

The folders given to executors (the model, the work folder) must be readable at the same path on
every executor: any local path in local mode, a shared file system on a cluster. Lists are built per
Arrow batch of a partition (up to `spark.sql.execution.arrow.maxRecordsPerBatch` users), so a
cross-user re-ranker (`exposure`) balances exposure within a batch, not within the scoring chunk
the local command uses; every other re-ranker builds each list on its own and answers alike.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from prismrec.core.config import PipelineConfig
from prismrec.core.persistence import load_pipeline, save_pipeline
from prismrec.core.pipeline import FittedPipeline
from prismrec.data.generic import ColumnMap
from prismrec.data.schema import Dataset
from prismrec.data.splits import Split
from prismrec.errors import ConfigError, DataError, RequestError
from prismrec.evaluation.protocol import Run, cold_slice, run_summary
from prismrec.evaluation.report import evaluate_lists
from prismrec.spark import io, stats, workers

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


@dataclass(frozen=True)
class Written:
    """What a job wrote: rows, distinct keys (users or items), the folder, partitions and seconds."""

    rows: int
    keys: int
    out: str
    partitions: int
    seconds: float

    def summary(self) -> dict[str, Any]:
        return {"rows": self.rows, "keys": self.keys, "out": self.out, "partitions": self.partitions,
                "seconds": self.seconds}  # fmt: skip


def _partitioned(frame: DataFrame, partitions: int | None) -> DataFrame:
    if partitions is not None and partitions < 1:
        raise ConfigError(f"--partitions must be at least 1, got {partitions}")
    return frame.repartition(partitions) if partitions else frame


def _folder(path: str | Path) -> str:
    """An absolute folder path for the executors (the same path on every machine)."""
    return str(Path(path).expanduser().resolve())


def _count(spark: SparkSession, out: str, fmt: str, key: str) -> tuple[int, int]:
    from pyspark.sql import functions as F

    reader = spark.read.option("header", "true") if fmt == "csv" else spark.read
    row = reader.format(fmt).load(out).agg(F.count("*"), F.countDistinct(key)).collect()[0]
    return int(row[0]), int(row[1])


# ---------------------------------------------------------------------------------------------- recommend


def user_table(
    spark: SparkSession, pipeline: FittedPipeline, user_ids: list[str] | None, users_path: str | None, column: str
) -> DataFrame:
    """The users to answer as a one-column DataFrame `user_id`: given ids, a file's column, or all fitted users."""
    from pyspark.sql import functions as F

    if users_path is not None:
        frame = io.read_table(spark, users_path)
        if column not in frame.columns:
            raise DataError(f"missing column '{column}'; the file has {frame.columns}", users_path, 1, column)
        ids = frame.select(F.trim(F.col(f"`{column}`").cast("string")).alias("user_id"))
        return ids.where(F.col("user_id").isNotNull() & (F.col("user_id") != "")).distinct()
    listed = list(dict.fromkeys(str(u).strip() for u in user_ids)) if user_ids is not None else \
        [str(u) for u in pipeline.user_ids.ids]  # fmt: skip
    return spark.createDataFrame(pd.DataFrame({"user_id": listed}, dtype=object), "user_id string")


def check_recommend(
    model_dir: str | Path, out: str | Path, users_path: str | None, k: int, fmt: str, overwrite: bool
) -> FittedPipeline:
    """What `recommend` checks before any Spark work; returns the loaded pipeline (a bad folder fails here)."""
    if k < 1:
        raise RequestError(f"k must be at least 1, got {k}", field="k")
    io.check_format(fmt)
    io.require_new_output(out, overwrite)
    if users_path is not None:
        io.require_input(users_path)
    return load_pipeline(model_dir)


def recommend(
    spark: SparkSession,
    model_dir: str | Path,
    out: str | Path,
    user_ids: list[str] | None = None,
    users_path: str | None = None,
    k: int = 10,
    fmt: str = "parquet",
    partitions: int | None = None,
    overwrite: bool = False,
    user_column: str = "user_id",
    pipeline: FittedPipeline | None = None,
) -> Written:
    """Top-k lists of the users (None and no file: every fitted user) written to `out` as part files.

    Each partition's rows are answered by `workers.recommend_batches` — `load_pipeline` once per
    Python worker, then `FittedPipeline.recommend` + `lists_to_frame` as in `prismrec recommend`.
    `pipeline` is the folder's pipeline when the caller has loaded it (`check_recommend`).
    """
    if pipeline is None:
        pipeline = check_recommend(model_dir, out, users_path, k, fmt, overwrite)
    users = _partitioned(user_table(spark, pipeline, user_ids, users_path, user_column), partitions)
    folder = spark.sparkContext.broadcast(_folder(model_dir))
    started = time.perf_counter()
    lists = users.mapInPandas(partial(workers.recommend_batches, folder=folder, k=k), workers.RECOMMEND_SCHEMA)
    io.write_table(lists, out, fmt, overwrite)
    seconds = time.perf_counter() - started
    rows, keys = _count(spark, str(out), fmt, "user_id")
    return Written(rows, keys, str(out), users.rdd.getNumPartitions(), seconds)


# ---------------------------------------------------------------------------------------------- fit


def check_inputs(*paths: str | Path | None) -> None:
    """Local input paths must exist (checked before any Spark work)."""
    for path in paths:
        if path is not None:
            io.require_input(str(path))


def fit_with_state(config: PipelineConfig, dataset: Dataset, state: dict[str, np.ndarray]) -> FittedPipeline:
    """The pipeline `config.fit` would make, with the scorer restored from arrays computed elsewhere.

    Histories, item side data and the re-ranker come from `PipelineConfig.fit` with the popularity
    scorer (a pass over the log); the scorer is then the configured one restored from `state`.
    """
    train = dataset.interactions
    base = config.with_values({"name": "most-popular"}).fit(train, dataset.catalog)
    scorer = config.scorer.create().restore(state, train.matrix(binary=True), base.side)
    return base.evolve(config=config, scorer=scorer)


def fit(
    spark: SparkSession,
    interactions: str | Path,
    out_dir: str | Path,
    config: PipelineConfig,
    items: str | Path | None = None,
    columns: ColumnMap | None = None,
    partitions: int | None = None,
) -> dict[str, Any]:
    """Read the log (and items) with Spark, fit `config` and save the folder `prismrec fit` writes."""
    check_inputs(interactions, items)
    dataset = io.read_dataset(spark, interactions, items, columns)
    started = time.perf_counter()
    in_spark = config.scorer.name in stats.SPARK_MODELS
    if in_spark:
        pairs = stats.index_pairs(spark, dataset.interactions, partitions)
        pipeline = fit_with_state(config, dataset, stats.scorer_state(config.scorer, pairs, dataset.n_items))
    else:
        pipeline = config.fit(dataset.interactions, dataset.catalog)
    seconds = time.perf_counter() - started
    save_pipeline(pipeline, out_dir)
    return {**dataset.summary(), "model": config.scorer.name, "fit_seconds": seconds, "out": str(out_dir),
            "statistics": "spark" if in_spark else "driver"}  # fmt: skip


# ---------------------------------------------------------------------------------------------- evaluate


@dataclass(frozen=True)
class SparkRun:
    """A protocol run whose lists and per-user metric rows were computed by the executors."""

    run: Run
    per_user: pd.DataFrame  # user_id and one column per per-user metric, in user order
    partitions: int


def metric_names(fit_part: Any, truth: Any, catalog: np.ndarray, categories: Any, vectors: Any, k: int) -> list[str]:
    """The per-user metrics `evaluate_lists` reports with this side data (asked of it on one empty list)."""
    first = int(truth.users[0])
    one = truth.select(truth.users == first)
    empty = np.full((1, k), -1, dtype=np.int64)
    return list(evaluate_lists(empty, np.array([first]), fit_part, one, catalog, categories, k,
                               vectors=vectors).per_user)  # fmt: skip


def evaluate(
    spark: SparkSession,
    config: PipelineConfig,
    dataset: Dataset,
    parts: Split,
    stage: str = "test",
    k: int = 10,
    partitions: int | None = None,
    work_dir: str | Path | None = None,
) -> SparkRun:
    """Fit on the stage's fit part (driver), build and score every held-out user's list in the executors."""
    fit_part, truth = parts.stage(stage)
    catalog = parts.catalog(stage)
    if len(truth) == 0:
        raise DataError(f"the {stage} part holds no events: nothing to evaluate")
    started = time.perf_counter()
    pipeline = config.fit(fit_part, dataset.catalog)
    fitted = time.perf_counter()
    categories = dataset.catalog.category_matrix()[0] if any(dataset.catalog.categories) else None
    vectors = pipeline.side.vectors
    names = metric_names(fit_part, truth, catalog, categories, vectors, k)
    temporary = work_dir is None
    work = Path(tempfile.mkdtemp(prefix="prismrec-spark-") if work_dir is None else work_dir)
    try:
        save_pipeline(pipeline, work)
        arrays = work / workers.EVAL_ARRAYS
        arrays.mkdir(parents=True, exist_ok=True)
        np.save(arrays / "fit_users.npy", fit_part.users)
        np.save(arrays / "fit_items.npy", fit_part.items)
        np.save(arrays / "catalog.npy", catalog)
        users = truth.active_users()
        order = np.argsort(truth.users, kind="stable")
        held = np.split(truth.items[order].astype(np.int64), np.cumsum(truth.user_counts()[users])[:-1])
        rows = spark.createDataFrame(pd.DataFrame({"user": users, "truth": held}), "user long, truth array<long>")
        rows = _partitioned(rows, partitions)
        folder = spark.sparkContext.broadcast(_folder(work))
        scored = rows.mapInPandas(partial(workers.evaluate_batches, folder=folder, k=k, metrics=names),
                                  workers.evaluation_schema(names))  # fmt: skip
        result = scored.toPandas().sort_values("user", kind="stable").reset_index(drop=True)
        n_partitions = rows.rdd.getNumPartitions()
    finally:
        if temporary:
            shutil.rmtree(work, ignore_errors=True)
    done = time.perf_counter()
    listed = result["user"].to_numpy(np.int64)
    items = np.stack(result["items"].to_numpy()).astype(np.int64) if len(result) else np.empty((0, k), np.int64)
    scores = np.stack(result["scores"].to_numpy()).astype(np.float32) if len(result) else np.empty((0, k), np.float32)
    evaluation = evaluate_lists(items, listed, fit_part, truth, catalog, categories, k, vectors=vectors)
    cold = cold_slice(items, listed, fit_part, truth, catalog, categories, k, vectors)
    run = Run(config, stage, evaluation, fitted - started, done - fitted, pipeline, listed, items, scores, cold)
    return SparkRun(run, result[["user_id", *names]], n_partitions)


def evaluation_summary(result: SparkRun, dataset: Dataset, parts: Split, protocol: str, k: int) -> dict[str, Any]:
    """The summary `prismrec evaluate --json` prints (plus the partitions the executors used)."""
    return {**run_summary(result.run, dataset.name, parts, protocol, k), "partitions": result.partitions}


def dataset_for(
    spark: SparkSession, name: str | None, interactions: str | None, items: str | None, columns: ColumnMap | None
) -> Dataset:
    """A named dataset (loaded on the driver from the data home) or files read with Spark."""
    from prismrec.data.registry import load_dataset

    if (name is None) == (interactions is None):
        raise ConfigError("give exactly one of --dataset NAME or --interactions PATH")
    if name is not None:
        return load_dataset(name)
    check_inputs(interactions, items)
    return io.read_dataset(spark, str(interactions), items, columns)


# ---------------------------------------------------------------------------------------------- encode


def item_rows(spark: SparkSession, items: str, columns: ColumnMap) -> DataFrame:
    """The item file as string columns, checked as the local item reader checks it (ids, repeats, columns)."""
    from pyspark.sql import functions as F

    raw = io.read_table(spark, items, multiline=True)
    missing = [c for c in (columns.item_id, *columns.extra_text) if c not in raw.columns]
    if missing:
        raise DataError(f"missing column(s) {missing}; the file has {raw.columns}", items, 1)
    frame = raw.select(*io.string_columns(raw)).dropDuplicates()
    identifier = F.trim(F.col(f"`{columns.item_id}`"))
    if frame.where(identifier == "").limit(1).count():
        raise DataError("empty id", items, None, columns.item_id)
    repeated = frame.groupBy(identifier.alias("id")).count().where(F.col("count") > 1).limit(1).collect()
    if repeated:
        raise DataError(f"item '{repeated[0]['id']}' is described twice with different values; keep one row per item",
                        items, None, columns.item_id)  # fmt: skip
    return frame


def check_encode(model_dir: str | Path, out: str | Path, items: str | None, overwrite: bool) -> FittedPipeline:
    """What `encode` checks before any Spark work; returns the loaded pipeline."""
    io.require_new_output(out, overwrite)
    check_inputs(items)
    pipeline = load_pipeline(model_dir)
    if pipeline.config.encoder is None or pipeline.side.vectors is None:
        raise ConfigError(f"{model_dir} was fitted without an [encoder]; refit it with one "
                          "(e.g. --param encoder.model=tfidf) to encode item texts")  # fmt: skip
    return pipeline


def encode(
    spark: SparkSession,
    model_dir: str | Path,
    out: str | Path,
    items: str | None = None,
    columns: ColumnMap | None = None,
    partitions: int | None = None,
    overwrite: bool = False,
    pipeline: FittedPipeline | None = None,
) -> Written:
    """Vectors of item texts (an item file, or the model's own items) by the model's encoder, as Parquet.

    The texts are built with the model's `[encoder]` template from the item file's roles (`columns`);
    rows are item_id, vector (float32, L2-normalised). `pipeline`: the folder's, if loaded (`check_encode`).
    """
    if pipeline is None:
        pipeline = check_encode(model_dir, out, items, overwrite)
    columns = columns or ColumnMap()
    if items is None:
        ids = [str(i) for i in pipeline.item_ids.ids]
        rows = spark.createDataFrame(pd.DataFrame({"item_id": ids, "text": list(pipeline.texts)}, dtype=object),
                                     "item_id string, text string")  # fmt: skip
        function = partial(workers.encode_batches, columns=None)
    else:
        rows = item_rows(spark, items, columns)
        function = partial(workers.encode_batches, columns=columns)
    rows = _partitioned(rows, partitions)
    folder = spark.sparkContext.broadcast(_folder(model_dir))
    started = time.perf_counter()
    vectors = rows.mapInPandas(partial(function, folder=folder), workers.ENCODE_SCHEMA)
    io.write_table(vectors, out, "parquet", overwrite)
    seconds = time.perf_counter() - started
    count, keys = _count(spark, str(out), "parquet", "item_id")
    return Written(count, keys, str(out), rows.rdd.getNumPartitions(), seconds)
