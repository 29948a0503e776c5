"""`prismrec spark encode | fit | recommend | evaluate`: the local commands on Apache Spark.

Local mode over every core by default (`--master local[N]`, or a cluster URL). Inputs may be any
path Spark reads (Parquet or CSV); outputs are folders of part files. Model and work folders must
be readable at the same path by every executor (a shared file system on a cluster).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from prismrec.cli.common import (
    DatasetOption,
    MapOption,
    ModelDirOption,
    ModelOption,
    ParamOption,
    ProtocolOption,
    err,
    friendly,
    out,
    pipeline_config,
    print_run,
    step,
    to_json,
)

if TYPE_CHECKING:
    from prismrec.data.generic import ColumnMap

HELP = "Run encode, fit, recommend and evaluate on Apache Spark (local mode by default; needs Java 17)."

MasterOption = Annotated[str, typer.Option(help="Spark master: local[*] (this machine), local[N], or a cluster URL")]
DriverMemoryOption = Annotated[str | None, typer.Option(help="driver memory, e.g. 4g")]
PartitionsOption = Annotated[int | None, typer.Option(min=1, help="partitions of the users or items (default: Spark)")]
ConfOption = Annotated[list[str], typer.Option("--conf", help="Spark setting key=value (repeatable)")]
FormatOption = Annotated[str, typer.Option("--format", help="output format: parquet or csv")]
OverwriteOption = Annotated[bool, typer.Option("--overwrite", help="replace an existing output folder")]
JsonOption = Annotated[bool, typer.Option("--json", help="print a JSON summary")]
UserOption = Annotated[list[str], typer.Option(help="user id (repeatable); an unknown id gets the cold-start list")]
ItemsOption = Annotated[str | None, typer.Option(help="item file or folder: item_id,title[,description][,categories]")]
WorkOption = Annotated[Path | None, typer.Option(help="folder for the fitted pipeline the executors read (default: a "
                                                      "temporary folder; on a cluster: a shared path)")]  # fmt: skip


def _columns(maps: list[str]) -> ColumnMap:
    from prismrec.data.generic import ColumnMap
    from prismrec.params import parse_assignments

    return ColumnMap.from_assignments(parse_assignments(maps, "--map"))


@friendly
def spark_recommend(
    model_dir: ModelDirOption,
    out_dir: Annotated[Path, typer.Option("--out", help="output folder of part files user_id,item_id,rank,score")],
    user: UserOption = [],  # noqa: B006
    users: Annotated[str | None, typer.Option(help="a Parquet/CSV file or folder with a user_id column")] = None,
    all_users: Annotated[bool, typer.Option("--all-users", help="recommend for every known user")] = False,
    k: Annotated[int, typer.Option("-k", "--k", min=1, help="recommendations per user")] = 10,
    fmt: FormatOption = "parquet",
    overwrite: OverwriteOption = False,
    master: MasterOption = "local[*]",
    partitions: PartitionsOption = None,
    driver_memory: DriverMemoryOption = None,
    conf: ConfOption = [],  # noqa: B006
    as_json: JsonOption = False,
) -> None:
    """Top-K lists for many users: the saved pipeline is loaded once per executor worker."""
    from prismrec.errors import ConfigError
    from prismrec.spark import jobs
    from prismrec.spark.session import conf_pairs, session

    if sum([bool(user), users is not None, all_users]) != 1:
        raise ConfigError("give one of --user ID (repeatable), --users FILE or --all-users")
    pipeline = jobs.check_recommend(model_dir, str(out_dir), users, k, fmt, overwrite)
    with session(master, driver_memory, conf_pairs(conf)) as spark, step("recommending on Spark"):
        written = jobs.recommend(spark, model_dir, str(out_dir), user or None, users, k, fmt, partitions, overwrite,
                                 pipeline=pipeline)  # fmt: skip
    if as_json:
        out.print_json(to_json(written.summary()))
    else:
        err.print(f"wrote {written.rows} rows for {written.keys} users to {out_dir} "
                  f"({written.partitions} partitions, {written.seconds:.1f} s)")  # fmt: skip


@friendly
def spark_fit(
    interactions: Annotated[str, typer.Option(help="Parquet/CSV file or folder: user_id,item_id[,rating][,timestamp]")],
    out_dir: Annotated[Path, typer.Option("--out", help="folder to write the fitted pipeline to")],
    items: ItemsOption = None,
    config: Annotated[Path | None, typer.Option(help="pipeline TOML (see configs/)")] = None,
    model: Annotated[str | None, typer.Option(help="model name: itemknn, ease, sansa, als, bpr, ...")] = None,
    param: ParamOption = [],  # noqa: B006
    map_: MapOption = [],  # noqa: B006
    master: MasterOption = "local[*]",
    partitions: PartitionsOption = None,
    driver_memory: DriverMemoryOption = None,
    conf: ConfOption = [],  # noqa: B006
    as_json: JsonOption = False,
) -> None:
    """Fit a pipeline on a log read with Spark (most-popular and itemknn statistics in Spark SQL); save the folder."""
    from prismrec.spark import jobs
    from prismrec.spark.session import conf_pairs, session

    cfg = pipeline_config(config, model, param)
    columns = _columns(map_)
    jobs.check_inputs(interactions, items)
    with session(master, driver_memory, conf_pairs(conf)) as spark, step(f"fitting {cfg.scorer.name} on Spark"):
        summary = jobs.fit(spark, interactions, out_dir, cfg, items, columns, partitions)
    if as_json:
        out.print_json(to_json(summary))
    else:
        out.print(f"fitted {cfg.scorer.name} on {summary['interactions']} events ({summary['users']} users, "
                  f"{summary['items']} items; statistics on the {summary['statistics']}) "
                  f"in {summary['fit_seconds']:.2f} s -> {out_dir}")  # fmt: skip


@friendly
def spark_evaluate(
    dataset: DatasetOption = None,
    interactions: Annotated[str | None, typer.Option(help="or an interactions file or folder (Parquet/CSV)")] = None,
    items: Annotated[str | None, typer.Option(help="item file or folder for --interactions")] = None,
    protocol: ProtocolOption = "temporal",
    config: Annotated[Path | None, typer.Option(help="pipeline TOML")] = None,
    model: ModelOption = None,
    param: ParamOption = [],  # noqa: B006
    map_: MapOption = [],  # noqa: B006
    k: Annotated[int, typer.Option("-k", "--k", min=1)] = 10,
    stage: Annotated[str, typer.Option("--split", help="test (final numbers) or valid (tuning)")] = "test",
    recs_out: Annotated[Path | None, typer.Option("--recs-out", help="also write the scored lists as CSV")] = None,
    per_user: Annotated[str | None, typer.Option(help="write the per-user metric rows to this folder")] = None,
    fmt: FormatOption = "parquet",
    overwrite: OverwriteOption = False,
    work: WorkOption = None,
    master: MasterOption = "local[*]",
    partitions: PartitionsOption = None,
    driver_memory: DriverMemoryOption = None,
    conf: ConfOption = [],  # noqa: B006
    as_json: Annotated[bool, typer.Option("--json", help="print all metrics as JSON")] = False,
) -> None:
    """Split, fit and score as 'prismrec evaluate'; the lists and per-user metrics are computed by the executors."""
    from prismrec.data.splits import split
    from prismrec.spark import io, jobs
    from prismrec.spark.session import conf_pairs, session

    cfg = pipeline_config(config, model, param)
    columns = _columns(map_)
    io.check_format(fmt)
    jobs.check_inputs(interactions, items)
    if per_user is not None:
        io.require_new_output(per_user, overwrite)
    with session(master, driver_memory, conf_pairs(conf)) as spark:
        with step(f"loading {dataset or interactions}"):
            data = jobs.dataset_for(spark, dataset, interactions, items, columns)
        parts = split(data.interactions, protocol)
        with step(f"fitting and scoring {cfg.scorer.name} on Spark ({protocol}, {stage})"):
            result = jobs.evaluate(spark, cfg, data, parts, stage, k, partitions, work)
        if per_user is not None:
            io.write_table(spark.createDataFrame(result.per_user), per_user, fmt, overwrite)
    run = result.run
    summary = jobs.evaluation_summary(result, data, parts, protocol, k)
    if recs_out is not None:
        run.frame().to_csv(recs_out, index=False)
    if as_json:
        out.print_json(to_json(summary))
        return
    print_run(run, f"{data.name} · {protocol} · {stage} ({parts.fingerprint(stage)})",
              f" on {result.partitions} partitions")


@friendly
def spark_encode(
    model_dir: ModelDirOption,
    out_dir: Annotated[str, typer.Option("--out", help="output folder of Parquet part files item_id,vector")],
    items: Annotated[str | None, typer.Option(help="item file or folder (default: the model's own items)")] = None,
    map_: MapOption = [],  # noqa: B006
    overwrite: OverwriteOption = False,
    master: MasterOption = "local[*]",
    partitions: PartitionsOption = None,
    driver_memory: DriverMemoryOption = None,
    conf: ConfOption = [],  # noqa: B006
    as_json: JsonOption = False,
) -> None:
    """Item texts to vectors with the model's encoder, in the executors (Parquet item_id, vector)."""
    from prismrec.spark import jobs
    from prismrec.spark.session import conf_pairs, session

    columns = _columns(map_)
    pipeline = jobs.check_encode(model_dir, out_dir, items, overwrite)
    with session(master, driver_memory, conf_pairs(conf)) as spark, step("encoding on Spark"):
        written = jobs.encode(spark, model_dir, out_dir, items, columns, partitions, overwrite, pipeline)
    if as_json:
        out.print_json(to_json(written.summary()))
    else:
        err.print(f"wrote {written.rows} vectors to {out_dir} ({written.partitions} partitions, "
                  f"{written.seconds:.1f} s)")  # fmt: skip


def spark_app() -> typer.Typer:
    """The `prismrec spark` command group."""
    group = typer.Typer(help=HELP, no_args_is_help=True)
    group.command("encode")(spark_encode)
    group.command("fit")(spark_fit)
    group.command("recommend")(spark_recommend)
    group.command("evaluate")(spark_evaluate)
    return group
