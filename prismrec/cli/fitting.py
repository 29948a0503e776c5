"""`prismrec fit` and `prismrec refit`: fit a pipeline on files and save it to a folder."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from prismrec.cli.common import MapOption, ParamOption, friendly, out, pipeline_config, step, to_json


@friendly
def fit(
    interactions: Annotated[Path, typer.Option(help="CSV/TSV/Parquet: user_id,item_id[,rating][,timestamp]")],
    out_dir: Annotated[Path, typer.Option("--out", help="folder to write the fitted pipeline to")],
    items: Annotated[Path | None, typer.Option(help="item file: item_id,title[,description][,categories]")] = None,
    config: Annotated[Path | None, typer.Option(help="pipeline TOML (see configs/)")] = None,
    model: Annotated[str | None, typer.Option(help="model name: itemknn, ease, sansa, als, bpr, ...")] = None,
    param: ParamOption = [],  # noqa: B006  (typer reads the default)
    map_: MapOption = [],  # noqa: B006
    as_json: Annotated[bool, typer.Option("--json", help="print a JSON summary")] = False,
) -> None:
    """Fit a pipeline on an interactions file and save it to a folder."""
    from prismrec.core.persistence import save_pipeline
    from prismrec.data.generic import ColumnMap, load_generic
    from prismrec.params import parse_assignments

    cfg = pipeline_config(config, model, param)
    with step(f"reading {interactions}"):
        dataset = load_generic(interactions, items, ColumnMap.from_assignments(parse_assignments(map_, "--map")))
    started = time.perf_counter()
    with step(f"fitting {cfg.scorer.name}"):
        pipeline = cfg.fit(dataset.interactions, dataset.catalog)
    seconds = time.perf_counter() - started
    save_pipeline(pipeline, out_dir)
    summary = {**dataset.summary(), "model": cfg.scorer.name, "fit_seconds": seconds, "out": str(out_dir)}
    if as_json:
        out.print_json(to_json(summary))
    else:
        out.print(f"fitted {cfg.scorer.name} on {summary['interactions']} events "
                  f"({summary['users']} users, {summary['items']} items) in {seconds:.2f} s -> {out_dir}")  # fmt: skip


@friendly
def refit(
    model_dir: Annotated[Path, typer.Option("--model", help="the served model folder (its config.toml is reused)")],
    db: Annotated[Path, typer.Option(help="the service's SQLite file")],
    interactions: Annotated[Path, typer.Option(help="the base interactions file the model was fitted on")],
    out_dir: Annotated[Path, typer.Option("--out", help="folder for the refitted model")],
    items: Annotated[Path | None, typer.Option(help="the base items file")] = None,
) -> None:
    """Refit on the base files plus the service's events and new items; then POST /admin/reload {"model": OUT}."""
    from prismrec.core.config import PipelineConfig
    from prismrec.core.persistence import save_pipeline
    from prismrec.data.generic import ColumnMap, load_generic
    from prismrec.serving.refit import refit_files
    from prismrec.serving.store import Store

    config = PipelineConfig.from_toml(model_dir / "config.toml")
    merged, merged_items = refit_files(Store(db), interactions, items, out_dir / "data")
    dataset = load_generic(merged, merged_items, ColumnMap())
    with step(f"fitting {config.scorer.name}"):
        save_pipeline(config.fit(dataset.interactions, dataset.catalog), out_dir)
    out.print(f"refitted {config.scorer.name} on {len(dataset.interactions)} events -> {out_dir}")
