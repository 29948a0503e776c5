"""`prismrec evaluate`, `prismrec tune` and `prismrec tradeoff`: offline protocols on a dataset."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from prismrec.cli.common import (
    DatasetOption,
    InteractionsOption,
    ItemsOption,
    MapOption,
    ModelOption,
    ParamOption,
    ProtocolOption,
    friendly,
    load_named_or_files,
    metrics_table,
    out,
    pipeline_config,
    print_run,
    step,
    to_json,
    track,
)
from prismrec.errors import ConfigError

if TYPE_CHECKING:
    pass

TRADEOFF_RERANKERS = "mmr,dpp,calibrated,xquad,adaptive"


@friendly
def evaluate(
    dataset: DatasetOption = None,
    interactions: InteractionsOption = None,
    items: ItemsOption = None,
    protocol: ProtocolOption = "temporal",
    config: Annotated[Path | None, typer.Option(help="pipeline TOML")] = None,
    model: ModelOption = None,
    param: ParamOption = [],  # noqa: B006
    map_: MapOption = [],  # noqa: B006
    k: Annotated[int, typer.Option("-k", "--k", min=1)] = 10,
    stage: Annotated[str, typer.Option("--split", help="test (final numbers) or valid (tuning)")] = "test",
    recs_out: Annotated[Path | None, typer.Option("--recs-out", help="also write the scored lists as CSV")] = None,
    task: Annotated[str, typer.Option(help="ranking (top-K lists) or rating (MAE/RMSE, PROTOCOL.md D)")] = "ranking",
    as_json: Annotated[bool, typer.Option("--json", help="print all metrics as JSON")] = False,
) -> None:
    """Split a dataset by a protocol, fit, recommend and print accuracy and beyond-accuracy metrics.

    Users with few train events are also reported on their own (the cold-user slice).
    """
    from prismrec.data.splits import split
    from prismrec.evaluation.protocol import run, run_rating, run_summary

    cfg = pipeline_config(config, model, param)
    data = load_named_or_files(dataset, interactions, items, map_)
    parts = split(data.interactions, protocol)
    if task == "rating":
        with step(f"fitting {cfg.scorer.name} and predicting ratings ({protocol}, {stage})"):
            errors = run_rating(cfg, data, parts, stage)
        if as_json:
            out.print_json(to_json({"dataset": data.name, "protocol": protocol, "split": stage, **errors}))
        else:
            out.print(f"{data.name} · {protocol} · {stage}: MAE {errors['mae']:.4f} · RMSE {errors['rmse']:.4f} "
                      f"(global mean: {errors['global_mean_mae']:.4f} / {errors['global_mean_rmse']:.4f}; "
                      f"{errors['n_ratings']} ratings)")  # fmt: skip
        return
    if task != "ranking":
        raise ConfigError(f"--task must be 'ranking' or 'rating', not '{task}'")
    with step(f"fitting and scoring {cfg.scorer.name} ({protocol}, {stage})"):
        result = run(cfg, data, parts, stage, k)
    summary = run_summary(result, data.name, parts, protocol, k)
    if recs_out is not None:
        result.frame().to_csv(recs_out, index=False)
    if as_json:
        out.print_json(to_json(summary))
        return
    print_run(result, f"{data.name} · {protocol} · {stage} ({parts.fingerprint(stage)})")


@friendly
def tune(
    dataset: DatasetOption = None,
    interactions: InteractionsOption = None,
    items: ItemsOption = None,
    protocol: ProtocolOption = "temporal",
    config: Annotated[Path | None, typer.Option(help="pipeline TOML to start from")] = None,
    model: ModelOption = None,
    grid: Annotated[list[str], typer.Option(help="name=v1,v2,... (repeatable); all combinations are tried")] = [],  # noqa: B006
    param: ParamOption = [],  # noqa: B006
    map_: MapOption = [],  # noqa: B006
    k: Annotated[int, typer.Option("-k", "--k", min=1)] = 10,
    save_config: Annotated[Path | None, typer.Option(help="write the chosen configuration as TOML")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print all results as JSON")] = False,
) -> None:
    """Choose hyper-parameters by NDCG@K on the validation part, then report the test part once."""
    from prismrec.data.splits import split
    from prismrec.evaluation.protocol import tune as run_tuning
    from prismrec.evaluation.protocol import tuned_values
    from prismrec.params import parse_assignments

    base = pipeline_config(config, model, param)
    assignments = parse_assignments(grid, "--grid")
    values = {name: [v for v in text.split(",") if v.strip()] for name, text in assignments.items()}
    data = load_named_or_files(dataset, interactions, items, map_)
    parts = split(data.interactions, protocol)
    result = run_tuning(base, values, data, parts, k, lambda configs: track(configs, "tuning on valid"))
    if save_config is not None:
        save_config.write_text(result.best.config.to_toml(), encoding="utf-8")
    params = [tuned_values(trial.config) for trial in result.trials]
    if as_json:
        out.print_json(to_json({
            "dataset": data.name, "protocol": protocol, "k": k,
            "trials": [{"params": p, "valid": t.evaluation.summary}
                       for p, t in zip(params, result.trials, strict=True)],
            "best": tuned_values(result.best.config), "test": result.test.evaluation.summary,
            "fit_seconds": result.test.fit_seconds, "recommend_seconds": result.test.recommend_seconds,
        }))  # fmt: skip
        return
    table = Table(title=f"{data.name} · {protocol} · valid NDCG@{k}")
    table.add_column("params")
    table.add_column(f"valid ndcg@{k}", justify="right")
    for p, trial in zip(params, result.trials, strict=True):
        mark = " ◀" if trial is result.best else ""
        setting = ", ".join(f"{a}={b}" for a, b in p.items() if a != "name")
        table.add_row(setting, f"{trial.evaluation[f'ndcg@{k}']:.4f}{mark}")
    out.print(table)
    out.print(metrics_table([(base.scorer.name, result.test.evaluation.summary)], k, "chosen setting on test"))


@friendly
def tradeoff(
    dataset: DatasetOption = None,
    interactions: InteractionsOption = None,
    items: ItemsOption = None,
    protocol: ProtocolOption = "temporal",
    config: Annotated[Path | None, typer.Option(help="pipeline TOML (its scorer is fitted once)")] = None,
    model: ModelOption = None,
    param: ParamOption = [],  # noqa: B006
    map_: MapOption = [],  # noqa: B006
    rerankers: Annotated[str, typer.Option(help="comma-separated re-rankers to sweep")] = TRADEOFF_RERANKERS,
    points: Annotated[int, typer.Option(min=2, help="knob values per re-ranker")] = 11,
    stage: Annotated[str, typer.Option("--split", help="valid (choose settings) or test (report them)")] = "valid",
    k: Annotated[int, typer.Option("-k", "--k", min=1)] = 10,
    out_dir: Annotated[Path, typer.Option("--out", help="folder for tradeoff.csv, .png and .html")] = Path("tradeoff"),
    as_json: Annotated[bool, typer.Option("--json", help="print the operating points as JSON")] = False,
) -> None:
    """Sweep each re-ranker's diversity knob: CSV, Pareto plots (PNG) and an HTML report of NDCG vs diversity."""
    from prismrec.data.splits import split
    from prismrec.evaluation.tradeoff import sweep
    from prismrec.evaluation.tradeoff_report import operating_points, write_report
    from prismrec.rerank.registry import reranker_class

    cfg = pipeline_config(config, model, param)
    if cfg.encoder is None:  # embedding ILD and vector-based re-rankers need item vectors; scores do not change
        cfg = cfg.with_values({"encoder.model": "all-MiniLM-L6-v2"})
    names = [name.strip() for name in rerankers.split(",") if name.strip()]
    if not names:
        raise ConfigError("--rerankers needs at least one re-ranker name, e.g. mmr,dpp")
    for name in names:
        reranker_class(name)  # unknown names fail before any data is loaded
    data = load_named_or_files(dataset, interactions, items, map_)
    parts = split(data.interactions, protocol)
    result = sweep(cfg, data, parts, names, points, stage, k, lambda settings: track(list(settings), "re-ranking"))
    title = f"{data.name} · {protocol} · {stage} · {cfg.scorer.name}"
    paths = write_report(result, out_dir, title)
    chosen = operating_points(result.frame)
    if as_json:
        out.print_json(to_json({"dataset": data.name, "split": stage, "files": {k: str(v) for k, v in paths.items()},
                                "baseline": result.baseline.summary, "operating_points": chosen.to_dict("records")}))
        return
    out.print(chosen.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    out.print(f"wrote {paths['csv']}, {paths['png']}, {paths['html']}")
