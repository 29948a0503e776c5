"""Model statistics computed with Spark SQL: what would not fit on the driver stays in the cluster.

- most-popular: distinct users per item (a group-by).
- itemknn: item–item co-occurrence counts by a self-join of the (user, item) pairs on the user, the
  cosine with shrinkage, then the `neighbours` best neighbours of every target item, chosen in the
  executors over partitions sorted by target (`workers.item_neighbours`). Only the kept neighbours
  (n_items × neighbours values) come back to the driver.
- sansa: the same self-join's counts, each item's `neighbours` largest, and two per-item sums for the
  diagonal compensation; the driver then factorises the pruned Gram matrix (n_items × neighbours).

Each floating-point step is rounded to float32 as `models.itemknn` computes it in numpy (a double
operation on float32 inputs, rounded to float32, gives the float32 result), and the neighbours are
chosen as numpy chooses them there, so the similarity matrix equals the local one exactly, ties at
the k-th similarity included.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from prismrec.data.arrays import sparse_state
from prismrec.data.schema import Interactions
from prismrec.models.sansa import compensated_gram
from prismrec.spark import workers

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

    from prismrec.core.config import ScorerConfig

SPARK_MODELS = ("most-popular", "itemknn", "sansa")  # models whose learned state Spark computes


def index_pairs(spark: SparkSession, train: Interactions, partitions: int | None = None) -> DataFrame:
    """The distinct (user, item) index pairs of a log as a Spark DataFrame (the binary user–item matrix)."""
    import pandas as pd

    matrix = train.matrix(binary=True).tocoo()
    frame = pd.DataFrame({"user": matrix.row.astype(np.int32), "item": matrix.col.astype(np.int32)})
    pairs = spark.createDataFrame(frame, "user int, item int")
    return pairs.repartition(partitions, "user") if partitions else pairs


def item_user_counts(pairs: DataFrame, n_items: int) -> np.ndarray:
    """int64[n_items]: distinct users per item."""
    counts = np.zeros(n_items, dtype=np.int64)
    rows = pairs.groupBy("item").count().toPandas()
    counts[rows["item"].to_numpy(np.int64)] = rows["count"].to_numpy(np.int64)
    return counts


def f32(column: Column) -> Column:
    return column.cast("float")


def cooccurrences(pairs: DataFrame) -> DataFrame:
    """Rows (i, j, co) for every ordered pair of distinct items with co > 0 users in common (a self-join)."""
    from pyspark.sql import functions as F

    a, b = pairs.alias("a"), pairs.alias("b")
    same_user = (F.col("a.user") == F.col("b.user")) & (F.col("a.item") < F.col("b.item"))
    upper = a.join(b, same_user).groupBy(F.col("a.item").alias("i"), F.col("b.item").alias("j"))
    upper = upper.agg(F.count("*").alias("co"))
    return upper.unionByName(upper.select(F.col("j").alias("i"), F.col("i").alias("j"), "co"))


def top_per_target(scored: DataFrame, n_items: int, neighbours: int) -> sp.csr_matrix:
    """float32 CSR [n_items, n_items]: entry (j, i) = sim for the `neighbours` best j of each target i, from rows
    (i, j, sim) (non-positive ones dropped), chosen in the executors as `models.itemknn.top_cooccurrences` does."""
    from pyspark.sql import functions as F

    k = min(neighbours, max(n_items - 1, 1))
    by_target = scored.where(F.col("sim") > 0).repartition("i").sortWithinPartitions("i")
    kept = by_target.mapInPandas(partial(workers.neighbour_batches, n_items=n_items, k=k), workers.NEIGHBOUR_SCHEMA)
    rows = kept.toPandas()
    targets, sources = rows["i"].to_numpy(np.int64), rows["j"].to_numpy(np.int64)
    matrix = sp.csr_matrix((rows["sim"].to_numpy(np.float32), (sources, targets)), shape=(n_items, n_items),
                           dtype=np.float32)  # fmt: skip
    matrix.sort_indices()
    return matrix


def itemknn_similarity(pairs: DataFrame, n_items: int, neighbours: int, shrinkage: float) -> sp.csr_matrix:
    """float32 CSR [n_items, n_items]: entry (j, i) = sim(i, j) for the `neighbours` best j of each target i."""
    from pyspark.sql import functions as F

    counts = pairs.groupBy("item").agg(F.count("*").alias("n"))
    norms = F.broadcast(counts.select(F.col("item"), f32(F.sqrt(F.col("n").cast("double"))).alias("norm")))
    scored = (cooccurrences(pairs).join(norms.select(F.col("item").alias("i"), F.col("norm").alias("norm_i")), "i")
              .join(norms.select(F.col("item").alias("j"), F.col("norm").alias("norm_j")), "j"))  # fmt: skip
    product = f32(F.col("norm_j") * F.col("norm_i"))
    denominator = f32(f32(product + F.lit(shrinkage).cast("float")) + F.lit(1e-12).cast("float"))
    similarity = f32(F.col("co").cast("float").cast("double") / denominator.cast("double"))
    return top_per_target(scored.select("i", "j", similarity.alias("sim")), n_items, neighbours)


def sansa_gram(pairs: DataFrame, n_items: int, neighbours: int) -> sp.csr_matrix:
    """float64 CSR [n_items, n_items]: SANSA's pruned, diagonally compensated Gram matrix (`models.sansa.
    pruned_gram`): each item's `neighbours` largest co-occurrence counts from the self-join, and per item its
    users and the off-diagonal row sum of XᵀX (Σ over its users of their other items) from two group-bys."""
    from pyspark.sql import functions as F

    kept = top_per_target(cooccurrences(pairs).select("i", "j", f32(F.col("co")).alias("sim")), n_items, neighbours)
    activity = pairs.groupBy("user").agg(F.count("*").alias("activity"))
    per_item = (pairs.join(activity, "user").groupBy("item")
                .agg(F.count("*").alias("n"), F.sum("activity").alias("total")).toPandas())  # fmt: skip
    counts, totals = np.zeros(n_items), np.zeros(n_items)
    index = per_item["item"].to_numpy(np.int64)
    counts[index] = per_item["n"].to_numpy(np.float64)
    totals[index] = per_item["total"].to_numpy(np.float64)
    return compensated_gram(kept, counts, totals - counts)


def scorer_state(scorer: ScorerConfig, pairs: DataFrame, n_items: int) -> dict[str, np.ndarray]:
    """The learned arrays of a most-popular, itemknn or sansa scorer (`Scorer.state()` layout), computed by Spark."""
    if scorer.name == "most-popular":
        return {"counts": item_user_counts(pairs, n_items).astype(np.float32)}
    if scorer.name == "itemknn":
        params = scorer.params
        return sparse_state("similarity", itemknn_similarity(pairs, n_items, params.neighbours, params.shrinkage))
    if scorer.name == "sansa":
        model = scorer.create()
        model.fit_gram(sansa_gram(pairs, n_items, scorer.params.neighbours))
        return model.state()
    raise ValueError(f"Spark computes no statistics for model '{scorer.name}'")
