"""The `prismrec` command: fit, recommend, search, evaluate, tune, tradeoff, datasets, demo, serve, keys, refit,
compact, bundles.

Commands are thin: they call the library and print. A `PrismrecError` becomes a one-line message
on stderr and exit code 1, never a traceback.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterable
from functools import wraps
from pathlib import Path
from typing import Annotated, Any, TypeVar

import numpy as np
import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from prismrec.errors import ConfigError, PrismrecError

app = typer.Typer(
    help="prismrec: fit, evaluate and serve recommendations that are relevant and diverse.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)
F = TypeVar("F", bound=Callable[..., Any])

PROTOCOL_HELP = "temporal (reference), random, leave-last-out or cold-items (see PROTOCOL.md)"
TRADEOFF_RERANKERS = "mmr,dpp,calibrated,xquad,adaptive"
MAIN_METRICS = ("ndcg", "recall", "precision", "hr", "mrr", "map", "coverage", "gini", "avgpop", "ild_genre", "novelty")


def friendly(command: F) -> F:
    """Turn user errors into a message and exit code 1."""

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except PrismrecError as error:
            typer.echo(f"error: {error}", err=True)
            raise typer.Exit(code=1) from None

    return wrapper  # type: ignore[return-value]


def step(message: str) -> Progress:
    """A spinner with elapsed time for work that can take more than a second (stderr)."""
    progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                        console=err, transient=True, disable=not err.is_terminal)  # fmt: skip
    progress.add_task(message, total=None)
    return progress


def track(items: list[Any], description: str) -> Iterable[Any]:
    from rich.progress import track as rich_track

    return rich_track(items, description=description, console=err, transient=True, disable=not err.is_terminal)


def pipeline_config(config: Path | None, model: str | None, params: list[str]) -> Any:
    from prismrec.config import PipelineConfig
    from prismrec.params import parse_assignments

    if (config is None) == (model is None):
        raise ConfigError("give exactly one of --config FILE.toml or --model NAME")
    values = parse_assignments(params)
    if config is not None:
        base = PipelineConfig.from_toml(config)
        return base.with_values(values)
    return PipelineConfig.for_model(model).with_values(values)  # type: ignore[arg-type]


def load_named_or_files(dataset: str | None, interactions: Path | None, items: Path | None,
                        maps: list[str]) -> Any:  # fmt: skip
    from prismrec.data.generic import ColumnMap, load_generic
    from prismrec.data.registry import load_dataset
    from prismrec.params import parse_assignments

    if (dataset is None) == (interactions is None):
        raise ConfigError("give exactly one of --dataset NAME or --interactions FILE")
    with step(f"loading {dataset or interactions}"):
        if dataset is not None:
            return load_dataset(dataset)
        return load_generic(interactions, items, ColumnMap.from_assignments(parse_assignments(maps, "--map")))


def metrics_table(rows: list[tuple[str, dict[str, float]]], k: int, title: str = "") -> Table:
    """Metrics down, models across (stays readable in 80 columns)."""
    table = Table(title=title or None)
    table.add_column("metric")
    for name, _ in rows:
        table.add_column(name, justify="right")
    for metric in MAIN_METRICS:
        key = f"{metric}@{k}"
        cells = []
        for _, summary in rows:
            value = summary.get(key, float("nan"))
            se = summary.get(f"{key}_se")
            cells.append(f"{value:.4f}" + (f" ±{se:.4f}" if se else ""))
        table.add_row(key, *cells)
    return table


def tuned_values(config: Any) -> dict[str, Any]:
    """Scorer parameters plus the history parameters, as `--grid` names them."""
    data = config.to_dict()
    return {**data["scorer"], **{f"history.{k}": v for k, v in data["history"].items()}}


def to_json(value: Any) -> str:
    return json.dumps(value, indent=2, default=lambda o: o.item() if isinstance(o, np.generic) else str(o))


# ---------------------------------------------------------------- commands

MapOption = Annotated[list[str], typer.Option("--map", help="column role mapping, e.g. user_id=customer (repeatable)")]
ParamOption = Annotated[list[str], typer.Option("--param", help="model parameter name=value (repeatable)")]
DatasetOption = Annotated[str | None, typer.Option(help="named dataset, e.g. ml-100k (see 'prismrec datasets')")]
InteractionsOption = Annotated[Path | None, typer.Option(help="or an interactions file")]
ItemsOption = Annotated[Path | None, typer.Option(help="item file for --interactions")]
ProtocolOption = Annotated[str, typer.Option(help=PROTOCOL_HELP)]
ModelOption = Annotated[str | None, typer.Option(help="model name")]


@app.command()
@friendly
def fit(
    interactions: Annotated[Path, typer.Option(help="CSV/TSV/Parquet: user_id,item_id[,rating][,timestamp]")],
    out_dir: Annotated[Path, typer.Option("--out", help="folder to write the fitted pipeline to")],
    items: Annotated[Path | None, typer.Option(help="item file: item_id,title[,description][,categories]")] = None,
    config: Annotated[Path | None, typer.Option(help="pipeline TOML (see configs/)")] = None,
    model: Annotated[str | None, typer.Option(help="model name: most-popular, itemknn, ease, als, bpr")] = None,
    param: ParamOption = [],  # noqa: B006  (typer reads the default)
    map_: MapOption = [],  # noqa: B006
    as_json: Annotated[bool, typer.Option("--json", help="print a JSON summary")] = False,
) -> None:
    """Fit a pipeline on an interactions file and save it to a folder."""
    from prismrec.data.generic import ColumnMap, load_generic
    from prismrec.params import parse_assignments
    from prismrec.pipeline import Pipeline

    cfg = pipeline_config(config, model, param)
    with step(f"reading {interactions}"):
        dataset = load_generic(interactions, items, ColumnMap.from_assignments(parse_assignments(map_, "--map")))
    started = time.perf_counter()
    with step(f"fitting {cfg.scorer.name}"):
        pipeline = Pipeline(cfg).fit(dataset.interactions, dataset.catalog)
    seconds = time.perf_counter() - started
    pipeline.save(out_dir)
    summary = {**dataset.summary(), "model": cfg.scorer.name, "fit_seconds": seconds, "out": str(out_dir)}
    if as_json:
        out.print_json(to_json(summary))
    else:
        out.print(f"fitted {cfg.scorer.name} on {summary['interactions']} events "
                  f"({summary['users']} users, {summary['items']} items) in {seconds:.2f} s -> {out_dir}")  # fmt: skip


@app.command()
@friendly
def recommend(
    model_dir: Annotated[Path, typer.Option("--model", help="folder written by 'prismrec fit'")],
    user: Annotated[list[str], typer.Option(help="external user id (repeatable)")] = [],  # noqa: B006
    all_users: Annotated[bool, typer.Option("--all-users", help="recommend for every known user")] = False,
    k: Annotated[int, typer.Option("-k", "--k", min=1, help="recommendations per user")] = 10,
    out_file: Annotated[Path | None, typer.Option("--out", help="write CSV user_id,item_id,rank,score here")] = None,
    explain: Annotated[bool, typer.Option("--explain", help="add a column with the reason for each item")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON instead of a CSV")] = False,
) -> None:
    """Top-K recommendations with the original ids."""
    from prismrec.pipeline import Pipeline

    if bool(user) == all_users:
        raise ConfigError("give --user ID (one or more) or --all-users")
    pipeline = Pipeline.load(model_dir)
    with step("recommending"):
        frame = pipeline.recommend_frame(None if all_users else user, k, explain)
    if out_file is not None:
        frame.to_csv(out_file, index=False)
        err.print(f"wrote {len(frame)} rows for {frame.user_id.nunique()} users to {out_file}")
    elif as_json:
        columns = ["item_id", "rank", "score", *(["reason"] if explain else [])]
        grouped = [{"user_id": u, "items": g[columns].to_dict("records")}
                   for u, g in frame.groupby("user_id", sort=False)]  # fmt: skip
        out.print_json(to_json(grouped))
    else:
        sys.stdout.write(frame.to_csv(index=False))


@app.command()
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
    """Split a dataset by a protocol, fit, recommend and print accuracy and beyond-accuracy metrics."""
    from prismrec.data.splits import split
    from prismrec.evaluation.protocol import run, run_rating

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
    summary = {
        "dataset": data.name, "protocol": protocol, "split": stage, "k": k, "model": cfg.scorer.name,
        "params": tuned_values(cfg), f"{stage}_sha1": parts.fingerprint(stage),
        **result.evaluation.summary, "fit_seconds": result.fit_seconds, "recommend_seconds": result.recommend_seconds,
    }  # fmt: skip
    if recs_out is not None:
        result.frame().to_csv(recs_out, index=False)
    if as_json:
        out.print_json(to_json(summary))
        return
    out.print(metrics_table([(cfg.scorer.name, result.evaluation.summary)], k,
                            f"{data.name} · {protocol} · {stage} ({parts.fingerprint(stage)})"))  # fmt: skip
    out.print(f"fit {result.fit_seconds:.2f} s · recommend {result.recommend_seconds:.2f} s · "
              f"{summary['n_eval_users']} users · train leaks {summary['train_leaks']}")  # fmt: skip


@app.command()
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


@app.command()
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


@app.command()
@friendly
def datasets(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """The named datasets, and whether each is present in the data home."""
    from prismrec.data.registry import REGISTRY, data_home, dataset_dir, is_present, spec_of

    spec_of("ml-100k")  # fills the registry
    rows = [{"name": n, "present": is_present(n), "folder": str(dataset_dir(n)), "description": REGISTRY[n].description,
             "terms": REGISTRY[n].terms} for n in sorted(REGISTRY)]  # fmt: skip
    if as_json:
        out.print_json(to_json(rows))
        return
    table = Table(title=f"data home: {data_home()}")
    for column in ("name", "present", "description"):
        table.add_column(column)
    for row in rows:
        table.add_row(row["name"], "yes" if row["present"] else "no (downloads on first use)", row["description"])
    out.print(table)


BEST_CONFIG = Path(__file__).resolve().parents[1] / "configs" / "ml-100k-best.toml"


@app.command()
@friendly
def demo(
    dataset: Annotated[str, typer.Option(help="named dataset")] = "ml-100k",
    user: Annotated[str | None, typer.Option(help="user to show (default: the first test user)")] = None,
    config: Annotated[Path | None, typer.Option(help="pipeline to show (default: configs/ml-100k-best.toml)")] = None,
) -> None:
    """Fit and evaluate popularity, EASE and the best pipeline; show one user's lists by title, with reasons."""
    from prismrec.config import PipelineConfig
    from prismrec.data.registry import load_dataset
    from prismrec.data.splits import split
    from prismrec.evaluation.protocol import run

    with step(f"loading {dataset}"):
        data = load_dataset(dataset)
    parts = split(data.interactions, "temporal")
    best_path = config or BEST_CONFIG
    candidates = [("most-popular", PipelineConfig.for_model("most-popular")),
                  ("ease λ=250", PipelineConfig.for_model("ease", {"lambda": 250}))]  # fmt: skip
    if best_path.is_file():
        best_config = PipelineConfig.from_toml(best_path)
        candidates.append((f"{best_config.scorer.name} ({best_path.name})", best_config))
    runs = []
    for label, cfg in candidates:
        with step(f"fitting and scoring {label}"):
            runs.append((label, run(cfg, data, parts, "test")))
    out.print(metrics_table([(label, r.evaluation.summary) for label, r in runs], 10,
                            f"{dataset} · temporal protocol · test ({parts.fingerprint()})"))  # fmt: skip
    label, best = runs[-1]
    uid = user or str(data.interactions.user_ids.ids[parts.test.active_users()[0]])
    u = data.interactions.user_ids.index(uid, "user")
    catalog = data.catalog
    train_rows = np.flatnonzero(parts.train.users == u)
    recent = train_rows[np.argsort(parts.train.timestamps[train_rows], kind="stable")][-10:][::-1]
    held = set(parts.test.items[parts.test.users == u].tolist())
    items, _ = best.pipeline.recommend(np.array([u]), 10, candidates=parts.test_catalog)
    reasons = best.pipeline.explain(np.array([u]), items)[0]
    table = Table(title=f"user {uid}: latest of {len(train_rows)} train events → {label} top 10 (✓ = in test)")
    table.add_column("recently watched")
    table.add_column("recommended")
    table.add_column("why")
    for row in range(10):
        seen = catalog.title(int(parts.train.items[recent[row]])) if row < len(recent) else ""
        item = int(items[0, row])
        rec = f"{'✓ ' if item in held else '  '}{catalog.title(item)}" if item >= 0 else ""
        table.add_row(seen, rec, reasons[row] if row < len(reasons) else "")
    out.print(table)


@app.command()
@friendly
def search(
    query: Annotated[str, typer.Argument(help="free text, any language the encoder reads")],
    model_dir: Annotated[Path, typer.Option("--model", help="folder written by 'prismrec fit'")],
    user: Annotated[str | None, typer.Option(help="personalise for this user's history")] = None,
    diversity: Annotated[float, typer.Option(min=0.0, max=1.0, help="MMR λ over the item vectors (0 = off)")] = 0.0,
    k: Annotated[int, typer.Option("-k", "--k", min=1, help="results")] = 10,
    mode: Annotated[str, typer.Option(help="fused (BM25 + vectors), lexical or dense")] = "fused",
    category: Annotated[str | None, typer.Option(help="only items of this category")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON: [{item_id, title, score, reason}]")] = False,
) -> None:
    """Search the catalogue: BM25 and the language model's vectors fused, optionally personalised and diversified."""
    from prismrec.params import parse_params
    from prismrec.pipeline import Pipeline
    from prismrec.search.searcher import SearchParams

    pipeline = Pipeline.load(model_dir)
    assert pipeline.user_ids is not None and pipeline.item_ids is not None and pipeline.history is not None
    history = pipeline.history[pipeline.user_ids.index(user, "user")] if user is not None else None
    values = {"mode": mode, "diversity": diversity, "personalisation": 1.0 if user is not None else 0.0}
    allowed = pipeline.searcher.in_category(category) if category is not None else None
    hits = pipeline.search(query, k, history, parse_params(SearchParams, values, "search"), allowed)
    titles = pipeline.titles or [str(i) for i in pipeline.item_ids.ids]
    rows = [{"item_id": str(pipeline.item_ids.ids[i]), "title": titles[i], "score": float(score), "reason": reason}
            for i, score, reason in zip(hits.items, hits.scores, hits.reasons, strict=True)]  # fmt: skip
    if as_json:
        out.print_json(to_json(rows))
        return
    table = Table(title=f"“{query}”" + (f" for {user}" if user else ""))
    for column in ("item_id", "title", "score", "reason"):
        table.add_column(column, justify="right" if column == "score" else "left")
    for row in rows:
        table.add_row(row["item_id"], row["title"], f"{row['score']:.4f}", row["reason"])
    out.print(table)


keys = typer.Typer(help="API keys of the service (stored hashed in its SQLite file).", no_args_is_help=True)
app.add_typer(keys, name="keys")


@keys.command("create")
@friendly
def keys_create(
    db: Annotated[Path, typer.Option(help="the service's SQLite file (created if missing)")],
    name: Annotated[str, typer.Option(help="a label for the key")] = "default",
) -> None:
    """Create an API key and print it (alone, once: only its hash is stored)."""
    from prismrec.serving.store import Store

    typer.echo(Store(db).create_key(name))


@app.command()
@friendly
def serve(
    model_dir: Annotated[Path, typer.Option("--model", help="folder written by 'prismrec fit'")],
    db: Annotated[Path, typer.Option(help="SQLite file for events, item changes and API keys")] = Path("prismrec.db"),
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
) -> None:
    """Serve recommendations over HTTP (FastAPI on uvicorn): /v1/users/{id}/recommendations, /v1/events, ..."""
    import uvicorn

    from prismrec.serving.app import create_app

    with step(f"loading {model_dir}"):
        service = create_app(model_dir, db)
    uvicorn.run(service, host=host, port=port, log_config=None, access_log=False, workers=1)


@app.command()
@friendly
def refit(
    model_dir: Annotated[Path, typer.Option("--model", help="the served model folder (its config.toml is reused)")],
    db: Annotated[Path, typer.Option(help="the service's SQLite file")],
    interactions: Annotated[Path, typer.Option(help="the base interactions file the model was fitted on")],
    out_dir: Annotated[Path, typer.Option("--out", help="folder for the refitted model")],
    items: Annotated[Path | None, typer.Option(help="the base items file")] = None,
) -> None:
    """Refit on the base files plus the service's events and new items; then POST /admin/reload {"model": OUT}."""
    from prismrec.config import PipelineConfig
    from prismrec.data.generic import ColumnMap, load_generic
    from prismrec.pipeline import Pipeline
    from prismrec.serving.refit import refit_files
    from prismrec.serving.store import Store

    config = PipelineConfig.from_toml(model_dir / "config.toml")
    merged, merged_items = refit_files(Store(db), interactions, items, out_dir / "data")
    dataset = load_generic(merged, merged_items, ColumnMap())
    with step(f"fitting {config.scorer.name}"):
        Pipeline(config).fit(dataset.interactions, dataset.catalog).save(out_dir)
    out.print(f"refitted {config.scorer.name} on {len(dataset.interactions)} events -> {out_dir}")


@app.command()
@friendly
def compact(
    db: Annotated[Path, typer.Option(help="the service's SQLite file")],
    older_than_days: Annotated[float, typer.Option(min=0.0, help="delete events older than this many days")],
) -> None:
    """Retention: delete the service's events older than a number of days."""
    from prismrec.serving.store import Store

    deleted = Store(db).compact(time.time() - older_than_days * 86_400.0)
    out.print(f"deleted {deleted} events older than {older_than_days:g} days from {db}")


# `prismrec bundles ...` lives in its own module; importing it registers the sub-command.
from prismrec import cli_bundles  # noqa: E402, F401


def main() -> None:
    app()


if __name__ == "__main__":
    main()
