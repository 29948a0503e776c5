"""`prismrec spark …` on a real Spark in local mode (local[2]), one session for the whole module.

Every Spark result is checked against the local command on the same files: recommend lists equal
`prismrec recommend` (ease and itemknn on ml-100k, a sample of ml-1m users), evaluate equals
`prismrec evaluate`, fit writes the arrays `prismrec fit` writes (most-popular, itemknn), encode the
vectors of the local encoder (TF-IDF). Bad input gives one line and exit code 1.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner, Result

from prismrec.cli import app
from prismrec.core.config import PipelineConfig
from prismrec.core.persistence import load_pipeline, save_pipeline
from prismrec.data.atomic import load_atomic
from prismrec.data.schema import Dataset
from prismrec.errors import DataError, FormatError
from prismrec.spark import io, workers
from prismrec.spark.session import spark_errors, spark_session

MASTER = ("--master", "local[2]")


def invoke(*args: str | Path, env: dict[str, str | None] | None = None) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args], env=env)


def ok(result: Result) -> Result:
    assert result.exit_code == 0, f"exit {result.exit_code}\nstdout: {result.stdout}\nstderr: {result.stderr}"
    return result


def user_error(result: Result) -> str:
    """The stderr of a command that failed as a user error: exit code 1, one line, no traceback."""
    assert result.exit_code == 1, f"exit {result.exit_code}: {result.stdout} {result.stderr} {result.exception!r}"
    assert isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output and "\tat " not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


@pytest.fixture(scope="module")
def spark() -> Iterator[object]:
    session = spark_session("local[2]", app_name="prismrec-tests", conf={"spark.sql.shuffle.partitions": "4"})
    yield session
    session.stop()


def write_dataset(dataset: Dataset, folder: Path, fmt: str) -> tuple[Path, Path]:
    """The dataset as an interactions file and an items file (item_id, title, year, categories) of one format."""
    folder.mkdir(parents=True, exist_ok=True)
    events = dataset.interactions.to_frame().rename(columns={"value": "rating"})
    catalog = dataset.catalog
    items = pd.DataFrame({"item_id": catalog.item_ids.ids.astype(str), "title": catalog.table[catalog.text_fields[0]],
                          "year": catalog.table["release_year"],
                          "categories": ["|".join(c) for c in catalog.categories]})  # fmt: skip
    paths = folder / f"events.{fmt}", folder / f"items.{fmt}"
    if fmt == "parquet":
        events.to_parquet(paths[0], index=False)
        items.to_parquet(paths[1], index=False)
    else:
        events.to_csv(paths[0], index=False)
        items.to_csv(paths[1], index=False)
    return paths


@pytest.fixture(scope="module")
def ml100k_files(ml100k: Dataset, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return write_dataset(ml100k, tmp_path_factory.mktemp("ml100k"), "parquet")


@pytest.fixture(scope="module")
def local_models(ml100k_files: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """ease and itemknn folders written by the local `prismrec fit` on the ml-100k files."""
    events, items = ml100k_files
    folder = tmp_path_factory.mktemp("models")
    models = {"ease": ("--param", "lambda=250"), "itemknn": ("--param", "neighbours=100")}
    for name, params in models.items():
        ok(invoke("fit", "--interactions", events, "--items", items, "--model", name, *params, "--out", folder / name))
    return {name: folder / name for name in models}


def read_lists(path: Path) -> pd.DataFrame:
    """Rows user_id, item_id, rank, score of a CSV file or a folder of Parquet/CSV part files, in list order."""
    if path.is_dir():
        parts = sorted(path.glob("part-*"))
        if parts[0].suffix == ".csv":
            frame = pd.concat([pd.read_csv(p, dtype={"user_id": str, "item_id": str}) for p in parts])
        else:
            frame = pd.read_parquet(path)
    else:
        frame = pd.read_csv(path, dtype={"user_id": str, "item_id": str})
    return frame.sort_values(["user_id", "rank"]).reset_index(drop=True)


def assert_same_lists(local: pd.DataFrame, spark: pd.DataFrame) -> None:
    assert list(spark.columns) == ["user_id", "item_id", "rank", "score"]
    assert len(local) == len(spark)
    pd.testing.assert_frame_equal(local[["user_id", "item_id", "rank"]], spark[["user_id", "item_id", "rank"]],
                                  check_dtype=False)  # fmt: skip
    np.testing.assert_allclose(spark["score"].to_numpy(np.float64), local["score"].to_numpy(np.float64), rtol=1e-6)


# ------------------------------------------------------------------ recommend


@pytest.mark.parametrize(("model", "fmt"), [("ease", "parquet"), ("itemknn", "csv")])
def test_spark_recommend_equals_local_recommend(
    spark: object, local_models: dict[str, Path], tmp_path: Path, model: str, fmt: str
) -> None:
    folder = local_models[model]
    ok(invoke("recommend", "--model", folder, "--all-users", "--out", tmp_path / "local.csv"))
    result = ok(invoke("spark", "recommend", "--model", folder, "--all-users", "--out", tmp_path / "spark",
                       "--format", fmt, "--partitions", "3", "--json", *MASTER))  # fmt: skip
    summary = json.loads(result.stdout)
    assert (summary["rows"], summary["keys"], summary["partitions"]) == (9430, 943, 3)
    assert sorted(p.suffix for p in (tmp_path / "spark").glob("part-*")) == [f".{fmt}"] * 3
    assert_same_lists(read_lists(tmp_path / "local.csv"), read_lists(tmp_path / "spark"))


def test_spark_recommend_given_users_and_a_users_file(spark: object, local_models: dict[str, Path],
                                                      tmp_path: Path) -> None:  # fmt: skip
    """Named ids (an unknown one gets the cold-start list, as locally) and a file of ids give the local lists."""
    folder = local_models["ease"]
    users = ["1", "42", "nobody", "1"]
    flags = [flag for u in users for flag in ("--user", u)]
    ok(invoke("recommend", "--model", folder, *flags, "-k", "5", "--out", tmp_path / "local.csv"))
    ok(invoke("spark", "recommend", "--model", folder, *flags, "-k", "5", "--out", tmp_path / "named", *MASTER))
    assert_same_lists(read_lists(tmp_path / "local.csv"), read_lists(tmp_path / "named"))
    pd.DataFrame({"user_id": users}).to_csv(tmp_path / "users.csv", index=False)
    ok(invoke("spark", "recommend", "--model", folder, "--users", tmp_path / "users.csv", "-k", "5",
              "--out", tmp_path / "from-file", *MASTER))  # fmt: skip
    assert_same_lists(read_lists(tmp_path / "local.csv"), read_lists(tmp_path / "from-file"))


def test_spark_recommend_on_a_sample_of_ml1m_users(spark: object, shared_data: Path, tmp_path: Path) -> None:
    data = load_atomic(shared_data / "ml-1m")
    save_pipeline(PipelineConfig.for_model("itemknn", {"neighbours": 50}).fit(data.interactions, data.catalog),
                  tmp_path / "model")  # fmt: skip
    rng = np.random.default_rng(7)
    sample = [str(u) for u in rng.choice(data.interactions.user_ids.ids, size=300, replace=False)]
    pd.DataFrame({"user_id": sample}).to_parquet(tmp_path / "users.parquet", index=False)
    flags = [flag for u in sample for flag in ("--user", u)]
    ok(invoke("recommend", "--model", tmp_path / "model", *flags, "--out", tmp_path / "local.csv"))
    ok(invoke("spark", "recommend", "--model", tmp_path / "model", "--users", tmp_path / "users.parquet",
              "--out", tmp_path / "spark", "--partitions", "4", *MASTER))  # fmt: skip
    spark_lists = read_lists(tmp_path / "spark")
    assert spark_lists["user_id"].nunique() == 300
    assert_same_lists(read_lists(tmp_path / "local.csv"), spark_lists)


# ------------------------------------------------------------------ evaluate


def test_spark_evaluate_equals_local_evaluate(spark: object, ml100k_files: tuple[Path, Path], tmp_path: Path) -> None:
    events, items = ml100k_files
    common = ("--interactions", events, "--items", items, "--model", "ease", "--param", "lambda=250", "--json")
    local = json.loads(ok(invoke("evaluate", *common)).stdout)
    remote = json.loads(ok(invoke("spark", "evaluate", *common, "--per-user", tmp_path / "per-user",
                                  "--partitions", "3", *MASTER)).stdout)  # fmt: skip
    assert remote["test_sha1"] == local["test_sha1"] == "8d849396b37f"
    assert remote["partitions"] == 3
    numbers = [key for key, value in local.items() if isinstance(value, int | float) and not key.endswith("seconds")]
    assert "ndcg@10" in numbers and "coverage@10" in numbers and "ild_genre@10" in numbers
    for key in numbers:
        assert remote[key] == pytest.approx(local[key], abs=5e-5, nan_ok=True), key
    assert remote["cold_users"] == local["cold_users"]
    per_user = pd.read_parquet(tmp_path / "per-user")
    assert len(per_user) == local["n_eval_users"] and per_user["user_id"].is_unique
    assert per_user["ndcg"].mean() == pytest.approx(local["ndcg@10"], abs=1e-9)
    assert per_user["ild_genre"].mean() == pytest.approx(local["ild_genre@10"], abs=1e-9)


# ------------------------------------------------------------------ fit


@pytest.fixture(scope="module")
def sample_files(ml100k: Dataset, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The events of 150 ml-100k users as CSV (all items in the item file)."""
    inter = ml100k.interactions
    kept = inter.select(inter.users < 150)
    sample = Dataset("sample", kept, ml100k.catalog)
    return write_dataset(sample, tmp_path_factory.mktemp("sample"), "csv")


@pytest.mark.parametrize(("model", "params"), [
    ("most-popular", ()), ("itemknn", ("neighbours=40", "shrinkage=2.5")),
    ("sansa", ("neighbours=30", "inverse_entries=30", "score_entries=40")),
])  # fmt: skip
def test_spark_fit_writes_the_local_fit(
    spark: object, sample_files: tuple[Path, Path], tmp_path: Path, model: str, params: tuple[str, ...]
) -> None:
    events, items = sample_files
    flags = [flag for p in params for flag in ("--param", p)]
    common = ("--interactions", events, "--items", items, "--model", model, *flags)
    ok(invoke("fit", *common, "--out", tmp_path / "local"))
    summary = json.loads(ok(invoke("spark", "fit", *common, "--out", tmp_path / "spark", "--json", *MASTER)).stdout)
    assert summary["statistics"] == "spark"
    local, remote = load_pipeline(tmp_path / "local"), load_pipeline(tmp_path / "spark")
    assert remote.config == local.config and remote.scorer.name == model
    assert remote.user_ids == local.user_ids and remote.item_ids == local.item_ids
    assert (remote.history != local.history).nnz == 0
    assert np.array_equal(remote.popularity, local.popularity) and remote.titles == local.titles
    mine, theirs = remote.scorer.state(), local.scorer.state()
    assert set(mine) == set(theirs)
    for name, array in theirs.items():  # the same neighbours and similarities, ties at the k-th value included
        assert mine[name].dtype == array.dtype and np.array_equal(mine[name], array), name


def test_spark_fit_of_another_model_fits_on_the_driver(spark: object, sample_files: tuple[Path, Path],
                                                       tmp_path: Path) -> None:  # fmt: skip
    events, _ = sample_files
    summary = json.loads(ok(invoke("spark", "fit", "--interactions", events, "--model", "ease", "--param", "lambda=50",
                                   "--out", tmp_path / "spark", "--json", *MASTER)).stdout)  # fmt: skip
    assert summary["statistics"] == "driver" and summary["users"] == 150
    ok(invoke("recommend", "--model", tmp_path / "spark", "--user", "1"))


# ------------------------------------------------------------------ encode


def test_spark_encode_equals_the_local_encoder(spark: object, ml100k: Dataset, tmp_path: Path) -> None:
    inter = ml100k.interactions
    kept = inter.select(inter.items < 400)
    items = ml100k.catalog
    sample = Dataset("sample", kept, items)
    events, item_file = write_dataset(sample, tmp_path / "data", "csv")
    frame = pd.read_csv(item_file, dtype=str, keep_default_na=False)
    frame[frame["item_id"].isin(set(kept.item_ids.to_external(np.unique(kept.items))))].to_csv(item_file, index=False)
    ok(invoke("fit", "--interactions", events, "--items", item_file, "--model", "itemknn",
              "--param", "encoder.model=tfidf", "--out", tmp_path / "model"))  # fmt: skip
    pipeline = load_pipeline(tmp_path / "model")
    assert 300 <= pipeline.n_items <= 400
    ok(invoke("spark", "encode", "--model", tmp_path / "model", "--items", item_file, "--out", tmp_path / "vectors",
              "--partitions", "3", *MASTER))  # fmt: skip
    ok(invoke("spark", "encode", "--model", tmp_path / "model", "--out", tmp_path / "own", *MASTER))
    for folder in ("vectors", "own"):
        table = pd.read_parquet(tmp_path / folder)
        assert list(table.columns) == ["item_id", "vector"] and table["item_id"].is_unique
        assert len(table) == pipeline.n_items
        vectors = np.stack(table["vector"].to_numpy())
        expected = pipeline.side.vectors[pipeline.item_ids.indices(table["item_id"])]
        np.testing.assert_allclose(vectors, expected, atol=1e-6)


# ------------------------------------------------------------------ bad input: one line, exit 1


def test_missing_input_path(spark: object, tmp_path: Path) -> None:
    message = user_error(invoke("spark", "fit", "--interactions", tmp_path / "none.parquet", "--model", "itemknn",
                                "--out", tmp_path / "m", *MASTER))  # fmt: skip
    assert "none.parquet" in message and "not found" in message


def test_wrong_schema(spark: object, tmp_path: Path) -> None:
    (tmp_path / "events.csv").write_text("customer,product\nc1,p1\n", encoding="utf-8")
    message = user_error(invoke("spark", "fit", "--interactions", tmp_path / "events.csv", "--model", "itemknn",
                                "--out", tmp_path / "m", *MASTER))  # fmt: skip
    assert "missing column(s) ['user_id', 'item_id']" in message and "--map" in message
    ok(invoke("spark", "fit", "--interactions", tmp_path / "events.csv", "--model", "most-popular",
              "--map", "user_id=customer", "--map", "item_id=product", "--out", tmp_path / "m", *MASTER))  # fmt: skip


def test_bad_value_names_the_field(spark: object, tmp_path: Path) -> None:
    (tmp_path / "events.csv").write_text("user_id,item_id,rating\nu1,i1,5\nu2,i2,lots\n", encoding="utf-8")
    message = user_error(invoke("spark", "fit", "--interactions", tmp_path / "events.csv", "--model", "itemknn",
                                "--out", tmp_path / "m", *MASTER))  # fmt: skip
    assert "line 3" in message and "'rating'" in message and "'lots' is not a number" in message
    (tmp_path / "ragged.csv").write_text("user_id,item_id\nu1,i1\nu2,i2,extra\n", encoding="utf-8")
    message = user_error(invoke("spark", "fit", "--interactions", tmp_path / "ragged.csv", "--model", "itemknn",
                                "--out", tmp_path / "m", *MASTER))  # fmt: skip
    assert message.startswith("error: Malformed CSV record: u2,i2,extra") and "ragged.csv" in message


def test_unknown_model_folder(spark: object, tmp_path: Path) -> None:
    message = user_error(invoke("spark", "recommend", "--model", tmp_path / "nothing", "--all-users",
                                "--out", tmp_path / "out", *MASTER))  # fmt: skip
    assert "not a saved pipeline" in message


def test_users_file_without_the_column(spark: object, local_models: dict[str, Path], tmp_path: Path) -> None:
    (tmp_path / "users.csv").write_text("customer\n1\n", encoding="utf-8")
    message = user_error(invoke("spark", "recommend", "--model", local_models["ease"], "--users",
                                tmp_path / "users.csv", "--out", tmp_path / "out", *MASTER))  # fmt: skip
    assert "missing column 'user_id'" in message


def test_existing_output_and_bad_options(spark: object, local_models: dict[str, Path], tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    model = local_models["ease"]
    assert "pass --overwrite" in user_error(invoke("spark", "recommend", "--model", model, "--all-users",
                                                   "--out", tmp_path / "out", *MASTER))  # fmt: skip
    assert "--format" in user_error(invoke("spark", "recommend", "--model", model, "--all-users",
                                           "--out", tmp_path / "o2", "--format", "json", *MASTER))  # fmt: skip
    assert "--master" in user_error(invoke("spark", "recommend", "--model", model, "--all-users",
                                           "--out", tmp_path / "o3", "--master", "mars://x"))  # fmt: skip
    assert "encoder" in user_error(invoke("spark", "encode", "--model", model, "--out", tmp_path / "o4", *MASTER))


def test_java_missing(spark: object, local_models: dict[str, Path], tmp_path: Path) -> None:
    (tmp_path / "bin").mkdir()
    env = {"PATH": str(tmp_path / "bin"), "JAVA_HOME": None}
    message = user_error(invoke("spark", "recommend", "--model", local_models["ease"], "--all-users",
                                "--out", tmp_path / "out", *MASTER, env=env))  # fmt: skip
    assert "needs a Java runtime" in message and "openjdk-17-jre-headless" in message


def test_errors_raised_in_a_worker_come_back_as_the_same_error(spark: object) -> None:
    def fail(batches):  # runs in a Python worker
        for _ in batches:
            raise DataError("bad row", "events.csv", 7, "rating")
        yield from ()

    with pytest.raises(DataError, match=r"^events.csv, line 7, field 'rating': bad row$"), spark_errors():
        spark.range(2).mapInPandas(fail, "id long").collect()  # type: ignore[attr-defined]
    with pytest.raises(DataError, match=r"not exist"), spark_errors():
        spark.read.parquet("/no/such/folder").count()  # type: ignore[attr-defined]


# ------------------------------------------------------------------ the executors' pipeline cache


def test_worker_cache_reloads_a_refitted_folder(local_models: dict[str, Path], tmp_path: Path) -> None:
    folder = tmp_path / "model"
    save_pipeline(load_pipeline(local_models["itemknn"]), folder)
    first = workers.cached_pipeline(folder)
    assert workers.cached_pipeline(folder) is first  # once per worker process
    stamp = (folder / "meta.json").stat().st_mtime_ns + 10**9
    os.utime(folder / "meta.json", ns=(stamp, stamp))
    assert workers.cached_pipeline(folder) is not first  # a refit (new meta.json) is loaded afresh
    (folder / "meta.json").write_text('{"format": 0}', encoding="utf-8")
    with pytest.raises(FormatError):
        workers.cached_pipeline(folder)


def test_spark_command_group() -> None:
    import typer

    group = typer.main.get_command(app)
    spark_group = group.commands["spark"]  # type: ignore[attr-defined]
    assert set(spark_group.commands) == {"encode", "fit", "recommend", "evaluate"}


def test_input_formats(tmp_path: Path) -> None:
    (tmp_path / "parts").mkdir()
    (tmp_path / "parts" / "part-0.csv").write_text("user_id\n1\n", encoding="utf-8")
    assert io.input_format(str(tmp_path / "parts")) == "csv"
    assert io.input_format("s3a://bucket/events.csv.gz") == "csv"
    assert io.input_format("hdfs:///logs/events") == "parquet"
    assert io.local_path("s3a://bucket/x") is None and io.local_path("file:///tmp/x") == Path("/tmp/x")
