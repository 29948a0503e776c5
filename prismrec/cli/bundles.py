"""`prismrec bundles`: fit a pipeline with bundles, recommend bundles to users, compose bundles, evaluate."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from prismrec.cli.common import friendly, out, step, to_json
from prismrec.errors import ConfigError

if TYPE_CHECKING:
    import numpy as np

    from prismrec.bundles.config import BundleScorerConfig
    from prismrec.data.schema import Dataset

HELP = "Bundles: recommend ready-made bundles, compose new ones, evaluate."
BundleParamOption = Annotated[list[str], typer.Option("--param", help="bundle scorer parameter name=value (repeated)")]
CUTOFF_KEYS = ("recall@20", "ndcg@20", "recall@40", "ndcg@40")


def bundle_config(config: Path | None, params: list[str]) -> BundleScorerConfig:
    """The [bundles] section of `config` (default: the fused scorer's defaults) with `--param` values."""
    from prismrec.bundles.config import BundleScorerConfig
    from prismrec.params import parse_assignments

    base = BundleScorerConfig.from_toml(config) if config is not None else BundleScorerConfig.from_table(None)
    values = parse_assignments(params)
    return base.with_values(values) if values else base


def item_vectors_for(config: BundleScorerConfig, dataset: Dataset, pipeline_file: Path | None) -> np.ndarray | None:
    """Item vectors when the scorer reads text (the text scorer or text_weight > 0), else None; the
    encoder is the [encoder] of `pipeline_file` when it has one, else the default (all-MiniLM-L6-v2)."""
    from prismrec.bundles.scorers import reads_text
    from prismrec.core.config import read_toml
    from prismrec.params import parse_params
    from prismrec.semantic.embed import embed_catalog
    from prismrec.semantic.encoder import EncoderParams

    if not reads_text(config.name, config.params):
        return None
    if not has_text(dataset):
        raise ConfigError(f"{dataset.name} has no item text; set text_weight = 0 (the text signal needs titles)")
    table = read_toml(pipeline_file).get("encoder") if pipeline_file is not None else None
    encoder = parse_params(EncoderParams, table, "[encoder]") if table is not None else EncoderParams()
    with step("encoding the item texts"):
        vectors, _ = embed_catalog(dataset.catalog, encoder)
    return vectors


def has_text(dataset: Dataset) -> bool:
    """Whether the catalogue has item titles (CrossCBR datasets have ids only)."""
    return any(dataset.catalog.title(i) for i in range(min(len(dataset.catalog), 50)))


@friendly
def bundles_evaluate(
    dataset: Annotated[str, typer.Option(help="a dataset with bundles: youshu, bundlerec-electronic, ...")],
    config: Annotated[Path | None, typer.Option(help="TOML with a [bundles] section (scorer and parameters)")] = None,
    param: BundleParamOption = [],  # noqa: B006
    seed: Annotated[int, typer.Option(help="split seed for datasets without a published split")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="print the metrics as JSON")] = False,
) -> None:
    """Fit on the train part, print Recall/NDCG@20/40 on test (and tune): the CrossCBR protocol."""
    from prismrec.bundles.evaluate import describe_params, run_protocol
    from prismrec.data.registry import load_dataset

    cfg = bundle_config(config, param)
    with step(f"loading {dataset}"):
        data = load_dataset(dataset)
    vectors = item_vectors_for(cfg, data, config)
    with step(f"fitting and ranking all bundles with '{cfg.name}'"):
        result = run_protocol(cfg.create(), data, vectors, seed)
    summary = {
        "dataset": data.name, "scorer": cfg.name, "params": cfg.to_dict(), "split": result.split,
        **{key: result.test.metrics[key] for key in CUTOFF_KEYS}, "test_users": len(result.test.users),
        "tune": {key: result.tune.metrics[key] for key in CUTOFF_KEYS}, "fit_seconds": result.fit_seconds,
    }  # fmt: skip
    if as_json:
        out.print_json(to_json(summary))
        return
    table = Table(title=f"{data.name} · {cfg.name} ({describe_params(cfg.params)}) · {result.split} split")
    for column in ("part", "users", *CUTOFF_KEYS):
        table.add_column(column, justify="left" if column == "part" else "right")
    for part, evaluation in (("test", result.test), ("tune", result.tune)):
        table.add_row(part, str(len(evaluation.users)), *(f"{evaluation.metrics[key]:.4f}" for key in CUTOFF_KEYS))
    out.print(table)
    out.print(f"fit {result.fit_seconds:.2f} s")


@friendly
def bundles_fit(
    dataset: Annotated[str, typer.Option(help="a dataset with bundles")],
    out_dir: Annotated[Path, typer.Option("--out", help="folder to write the fitted pipeline to")],
    config: Annotated[Path | None, typer.Option(help="pipeline TOML; its [bundles] section picks the scorer")] = None,
    param: BundleParamOption = [],  # noqa: B006
    as_json: Annotated[bool, typer.Option("--json", help="print a JSON summary")] = False,
) -> None:
    """Fit a pipeline (items and bundles) on every interaction of a bundle dataset and save it."""
    import dataclasses

    from prismrec.bundles.config import BundleScorerConfig
    from prismrec.bundles.pipeline_bundles import PipelineBundles
    from prismrec.core.config import PipelineConfig
    from prismrec.core.persistence import save_pipeline
    from prismrec.data.registry import load_dataset
    from prismrec.params import parse_assignments
    from prismrec.semantic.encoder import EncoderParams

    with step(f"loading {dataset}"):
        data = load_dataset(dataset)
    if config is not None:
        cfg = PipelineConfig.from_toml(config)
    else:
        cfg = PipelineConfig.for_model("ease")
        cfg = dataclasses.replace(cfg, encoder=EncoderParams() if has_text(data) else None)
    scorer = BundleScorerConfig.of_pipeline(cfg)
    values = parse_assignments(param)
    scorer = scorer.with_values(values) if values else scorer
    cfg = dataclasses.replace(cfg, bundles=scorer.to_dict())  # saved in full, as fitted
    with step(f"fitting {cfg.scorer.name} and the '{scorer.name}' bundle scorer"):
        pipeline = cfg.fit(data.interactions, data.catalog)
        bundles = PipelineBundles.fit(pipeline, data)
    save_pipeline(pipeline, out_dir)
    bundles.save(out_dir)
    summary = {**data.summary(), "bundles": len(data.bundles) if data.bundles is not None else 0,
               "scorer": cfg.scorer.name, "bundle_scorer": scorer.name, "out": str(out_dir)}  # fmt: skip
    if as_json:
        out.print_json(to_json(summary))
    else:
        out.print(f"fitted {cfg.scorer.name} + bundles ({scorer.name}) on {data.name}: {summary['users']} "
                  f"users, {summary['items']} items, {summary['bundles']} bundles -> {out_dir}")  # fmt: skip


@friendly
def bundles_recommend(
    model_dir: Annotated[Path, typer.Option("--model", help="folder written by 'prismrec bundles fit'")],
    user: Annotated[str, typer.Option(help="external user id")],
    k: Annotated[int, typer.Option("-k", "--k", min=1, help="bundles")] = 10,
    as_json: Annotated[
        bool, typer.Option("--json", help="print JSON: [{bundle_id, name, score, items, reason}]")
    ] = False,
) -> None:
    """Top-k ready-made bundles for a user, with their items and a reason each."""
    from prismrec.bundles.pipeline_bundles import PipelineBundles
    from prismrec.bundles.rows import bundle_rows
    from prismrec.core.persistence import load_pipeline

    pipeline = load_pipeline(model_dir)
    bundles = PipelineBundles.load(pipeline, model_dir)
    rows = bundle_rows(bundles, bundles.recommend(pipeline.user_ids.index(user, "user"), k))
    if as_json:
        out.print_json(to_json(rows))
        return
    table = Table(title=f"bundles for {user}")
    for column in ("bundle_id", "name", "score", "items", "reason"):
        table.add_column(column, justify="right" if column == "score" else "left")
    for row in rows:
        titles = "; ".join(item["title"] for item in row["items"])
        table.add_row(row["bundle_id"], row["name"], f"{row['score']:.4f}", titles, row["reason"])
    out.print(table)


@friendly
def bundles_generate(
    model_dir: Annotated[Path, typer.Option("--model", help="folder written by 'prismrec bundles fit'")],
    item: Annotated[list[str], typer.Option(help="seed item id (repeatable): complete a bundle around it")] = [],  # noqa: B006
    user: Annotated[str | None, typer.Option(help="or a user id: a bundle that goes with what the user has")] = None,
    intent: Annotated[str | None, typer.Option(help="or free text, e.g. \"camping trip for two\"")] = None,
    k: Annotated[int, typer.Option("-k", "--k", min=1, help="items to compose (seeds not counted)")] = 4,
    budget: Annotated[float | None, typer.Option(min=0.0, help="maximum total price (where items have prices)")] = None,
    param: Annotated[list[str], typer.Option("--param", help="generation parameter name=value (repeatable), e.g. "
                                             "max_per_category=2")] = [],  # noqa: B006
    as_json: Annotated[bool, typer.Option("--json", help="print JSON: [{item_id, title, score, reason}]")] = False,
) -> None:
    """Compose a bundle of complementary items from seed items, a user or an intent, with a reason per item."""
    from prismrec.bundles.pipeline_bundles import PipelineBundles
    from prismrec.bundles.rows import generate_for, generated_rows
    from prismrec.core.persistence import load_pipeline
    from prismrec.params import parse_assignments

    values: dict[str, Any] = {**parse_assignments(param), "k": k}
    if budget is not None:
        values["budget"] = budget
    pipeline = load_pipeline(model_dir)
    bundles = PipelineBundles.load(pipeline, model_dir)
    with step("composing"):
        rows = generated_rows(bundles, generate_for(bundles, item or None, user, intent, values))
    if as_json:
        out.print_json(to_json(rows))
        return
    seed = f"“{intent}”" if intent else f"user {user}" if user is not None else ", ".join(item)
    table = Table(title=f"bundle for {seed}")
    for column in ("item_id", "title", "score", "reason"):
        table.add_column(column, justify="right" if column == "score" else "left")
    for row in rows:
        table.add_row(row["item_id"], row["title"], f"{row['score']:.3f}", row["reason"])
    out.print(table)
