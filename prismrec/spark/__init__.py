"""prismrec on Apache Spark: the saved pipeline's recommend path over partitions of users or items.

- `session`: the Spark session (local mode by default, a cluster master when given) and the
  translation of Spark's errors into one-line `PrismrecError`s;
- `io`: Parquet and CSV tables at any path Spark reads, turned into the `Dataset` the local
  readers build;
- `workers`: what runs in the executors (the pipeline loaded once per Python worker);
- `stats`: model statistics in Spark SQL (popularity, item–item co-occurrence and neighbours);
- `jobs`: encode, fit, recommend and evaluate.

pyspark is imported only when a job runs (`pip install 'prismrec[spark]'`, Java 17).
"""

from __future__ import annotations

from prismrec.spark.session import SparkJobError, SparkSetupError, session, spark_session

__all__ = ["SparkJobError", "SparkSetupError", "session", "spark_session"]
