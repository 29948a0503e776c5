"""What runs in the executors: the saved pipeline, loaded once per Python worker, answering batches of rows.

Each function here is handed to `DataFrame.mapInPandas`: it gets an iterator of pandas batches of
one partition and yields result batches. The pipeline comes from `core.persistence.load_pipeline`
and is kept in a module-level dict keyed by (folder, modification time of its meta.json), so a
worker process that runs many tasks loads a folder once, and a refitted folder is loaded afresh.
Every list is built by `FittedPipeline.recommend` — the path the CLI, the service and evaluation use.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from prismrec.core.frames import lists_to_frame
from prismrec.core.persistence import load_pipeline
from prismrec.core.pipeline import FittedPipeline
from prismrec.core.request import RecommendRequest
from prismrec.data.generic import ColumnMap
from prismrec.data.readers import split_labels
from prismrec.data.schema import IdMap, Interactions, build_catalog
from prismrec.evaluation.report import evaluate_lists
from prismrec.semantic.embed import catalog_texts

RECOMMEND_SCHEMA = "user_id string, item_id string, rank int, score float"
ENCODE_SCHEMA = "item_id string, vector array<float>"
NEIGHBOUR_SCHEMA = "i int, j int, sim float"
EVAL_ARRAYS = "evaluation"  # sub-folder of an evaluation's work folder: the fit events and the ranked catalogue

_CACHE: dict[tuple[str, str], tuple[int, Any]] = {}


def cached(kind: str, folder: str | Path, load: Callable[[Path], Any]) -> Any:
    """`load(folder)`, once per worker process while the folder's meta.json keeps its modification time."""
    folder = Path(folder)
    stamp = os.stat(folder / "meta.json").st_mtime_ns if (folder / "meta.json").is_file() else -1
    key = (kind, str(folder.resolve()))
    hit = _CACHE.get(key)
    if hit is not None and hit[0] == stamp:
        return hit[1]
    value = load(folder)
    _CACHE[key] = (stamp, value)
    return value


def cached_pipeline(folder: str | Path) -> FittedPipeline:
    """The saved pipeline of `folder`, loaded by `load_pipeline` once per worker process."""
    return cached("pipeline", folder, load_pipeline)


# ---------------------------------------------------------------------------------------------- recommend


def recommend_ids(pipeline: FittedPipeline, user_ids: list[str], k: int) -> pd.DataFrame:
    """Rows user_id, item_id, rank, score for external user ids, in one request (as `prismrec recommend`).

    An id the model was not fitted on gets an empty history row, so the cold-start policy answers it.
    """
    listed, request = pipeline.request_for_ids(user_ids, k=k)
    result = pipeline.recommend(request)
    return lists_to_frame(listed, pipeline.item_ids, np.arange(len(listed)), result.items, result.scores)


def recommend_batches(batches: Iterator[pd.DataFrame], folder: Any, k: int) -> Iterator[pd.DataFrame]:
    """mapInPandas: batches of `user_id` → rows user_id, item_id, rank, score (`folder` is a broadcast path)."""
    pipeline = cached_pipeline(folder.value)
    for batch in batches:
        if len(batch) == 0:
            continue
        frame = recommend_ids(pipeline, batch["user_id"].tolist(), k)
        yield frame.astype({"rank": np.int32, "score": np.float32})


# ---------------------------------------------------------------------------------------------- evaluate


def load_evaluation(folder: Path) -> tuple[FittedPipeline, Interactions, np.ndarray]:
    """(pipeline, fit events, ranked catalogue mask) of an evaluation's work folder."""
    pipeline = load_pipeline(folder)
    arrays = folder / EVAL_ARRAYS
    fit = Interactions.from_arrays(np.load(arrays / "fit_users.npy", allow_pickle=False),
                                   np.load(arrays / "fit_items.npy", allow_pickle=False),
                                   pipeline.user_ids, pipeline.item_ids)  # fmt: skip
    return pipeline, fit, np.load(arrays / "catalog.npy", allow_pickle=False)


def evaluation_schema(metrics: list[str]) -> str:
    return ", ".join(["user long", "user_id string", "items array<long>", "scores array<float>",
                      *(f"`{name}` double" for name in metrics)])  # fmt: skip


def evaluate_batches(
    batches: Iterator[pd.DataFrame], folder: Any, k: int, metrics: list[str]
) -> Iterator[pd.DataFrame]:
    """mapInPandas: batches of (user, held-out items) → each user's list and per-user metric values.

    The lists are the protocol's (`candidates` = the ranked catalogue); the metrics are those of
    `evaluate_lists` over the batch's users, against the full fit events.
    """
    pipeline, fit, catalog = cached("evaluation", folder.value, load_evaluation)
    categories, vectors = pipeline.side.categories, pipeline.side.vectors
    for batch in batches:
        if len(batch) == 0:
            continue
        order = np.argsort(batch["user"].to_numpy(np.int64), kind="stable")
        users = batch["user"].to_numpy(np.int64)[order]
        held = [np.asarray(batch["truth"].iloc[i], dtype=np.int64) for i in order]
        truth = Interactions.from_arrays(np.repeat(users, [len(h) for h in held]), np.concatenate(held),
                                         fit.user_ids, fit.item_ids)  # fmt: skip
        result = pipeline.recommend(RecommendRequest.for_users(users, k=k, candidates=catalog))
        evaluation = evaluate_lists(result.items, users, fit, truth, catalog, categories, k, vectors=vectors)
        frame = pd.DataFrame({"user": users, "user_id": pipeline.user_ids.to_external(users).astype(str),
                              "items": list(result.items), "scores": list(result.scores)})  # fmt: skip
        for name in metrics:
            frame[name] = evaluation.per_user.get(name, np.nan)
        yield frame


# ---------------------------------------------------------------------------------------------- encode


def encode_batches(batches: Iterator[pd.DataFrame], folder: Any, columns: ColumnMap | None) -> Iterator[pd.DataFrame]:
    """mapInPandas: item rows → item_id, vector with the pipeline's encoder and text template.

    With `columns` the rows are item-file rows (the roles of `columns`, categories `|`-separated);
    without, they are (item_id, text) pairs already in the encoder's template.
    """
    pipeline = cached_pipeline(folder.value)
    encoder = pipeline.text_encoder
    params = pipeline.config.encoder
    if encoder is None or params is None:
        raise RuntimeError(f"{folder.value} has no item vectors to encode with")
    for batch in batches:
        if len(batch) == 0:
            continue
        texts = batch["text"].tolist() if columns is None else item_batch_texts(batch, columns, params)
        vectors = encoder.encode(texts)
        yield pd.DataFrame({"item_id": batch["item_id" if columns is None else columns.item_id].str.strip(),
                            "vector": list(np.asarray(vectors, dtype=np.float32))})  # fmt: skip


def item_batch_texts(batch: pd.DataFrame, columns: ColumnMap, params: Any) -> list[str]:
    """The encoder texts of item-file rows (one per row, in order), as the pipeline built them at fit."""
    frame = batch.rename(columns={columns.item_id: "item_id", columns.title: "title",
                                  columns.description: "description", columns.categories: "categories"})  # fmt: skip
    frame["item_id"] = frame["item_id"].str.strip()
    text_fields = [c for c in ("title", "description", *columns.extra_text) if c in frame.columns]
    if "categories" in frame.columns:
        frame["categories"] = [split_labels(v, columns.category_separator) for v in frame["categories"]]
    ids = IdMap([f"{position}" for position in range(len(frame))])  # rows, not ids: a batch may repeat an id
    catalog = build_catalog(ids, frame.assign(item_id=ids.ids), text_fields,
                            "categories" if "categories" in frame.columns else None)  # fmt: skip
    return catalog_texts(catalog, params)


# ---------------------------------------------------------------------------------------------- itemknn


def neighbour_batches(batches: Iterator[pd.DataFrame], n_items: int, k: int) -> Iterator[pd.DataFrame]:
    """mapInPandas over rows (i, j, sim > 0) sorted by target item i within the partition: each i's k best j.

    A target's rows may span batches: the last target of a batch waits for the next one.
    """
    carry: pd.DataFrame | None = None
    for batch in batches:
        if carry is not None and len(carry):
            batch = pd.concat([carry, batch], ignore_index=True)
        if len(batch) == 0:
            continue
        targets = batch["i"].to_numpy(np.int64)
        cut = int(np.searchsorted(targets, targets[-1], side="left"))
        carry = batch.iloc[cut:]
        if cut:
            yield item_neighbours(batch.iloc[:cut], n_items, k)
    if carry is not None and len(carry):
        yield item_neighbours(carry, n_items, k)


def item_neighbours(frame: pd.DataFrame, n_items: int, k: int) -> pd.DataFrame:
    """The k best neighbours j of every target i among rows (i, j, sim > 0) sorted by i.

    The choice is the one `models.itemknn` makes over the target's dense similarity column (zeros
    where items never co-occur and on the diagonal): all positive entries when there are at most k,
    the k largest when no tie straddles the k-th place, else that same numpy selection on the column.
    """
    targets = frame["i"].to_numpy(np.int64)
    sources = frame["j"].to_numpy(np.int64)
    values = frame["sim"].to_numpy(np.float32)
    starts = np.flatnonzero(np.r_[True, targets[1:] != targets[:-1]])
    ends = np.r_[starts[1:], len(targets)]
    chosen = []
    for start, end in zip(starts, ends, strict=True):
        if end - start <= k:
            chosen.append(np.arange(start, end))
            continue
        order = start + np.argsort(-values[start:end], kind="stable")
        if values[order[k - 1]] > values[order[k]]:
            chosen.append(order[:k])
            continue
        column = np.zeros(n_items, dtype=np.float32)
        column[sources[start:end]] = values[start:end]
        top = np.argpartition(-column, k - 1)[:k] if k < n_items else np.argsort(-column)
        position = np.full(n_items, -1, dtype=np.int64)
        position[sources[start:end]] = np.arange(start, end)
        picked = position[top[column[top] > 0]]
        chosen.append(picked)
    rows = np.concatenate(chosen) if chosen else np.empty(0, dtype=np.int64)
    return pd.DataFrame({"i": targets[rows].astype(np.int32), "j": sources[rows].astype(np.int32),
                         "sim": values[rows]})  # fmt: skip
