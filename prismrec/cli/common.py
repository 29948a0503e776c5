"""What every command shares: error handling, progress on stderr, the consoles, reading configurations and
data, printing metrics and JSON, and the option types several commands take."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import numpy as np
import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from prismrec.errors import ConfigError, PrismrecError

if TYPE_CHECKING:
    from prismrec.core.config import PipelineConfig
    from prismrec.data.schema import Dataset

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)
F = TypeVar("F", bound=Callable[..., Any])

PROTOCOL_HELP = "temporal (reference), random, leave-one-out (sequential) or cold-items (see PROTOCOL.md)"
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
    """A progress bar over `items` (stderr, only on a terminal)."""
    from rich.progress import track as rich_track

    return rich_track(items, description=description, console=err, transient=True, disable=not err.is_terminal)


def pipeline_config(config: Path | None, model: str | None, params: list[str]) -> PipelineConfig:
    """The pipeline of `--config FILE.toml` or `--model NAME`, with the `--param` values applied."""
    from prismrec.core.config import PipelineConfig
    from prismrec.params import parse_assignments

    if (config is None) == (model is None):
        raise ConfigError("give exactly one of --config FILE.toml or --model NAME")
    values = parse_assignments(params)
    base = PipelineConfig.from_toml(config) if config is not None else PipelineConfig.for_model(str(model))
    return base.with_values(values)


def load_named_or_files(dataset: str | None, interactions: Path | None, items: Path | None,
                        maps: list[str]) -> Dataset:  # fmt: skip
    """A named dataset (`--dataset`) or the files `--interactions` [`--items`] read with the `--map` roles."""
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
    """Metrics down, models (or user slices) across; stays readable in 80 columns."""
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


def print_run(run: Any, title: str, detail: str = "") -> None:
    """An evaluation run as `prismrec evaluate` shows it: metrics (and the cold-user slice), timings, users."""
    from prismrec.evaluation.protocol import COLD_USER_EVENTS

    columns = [(run.config.scorer.name, run.evaluation.summary)]
    if run.cold is not None:
        columns.append((f"cold users ({len(run.cold.users)})", run.cold.summary))
    out.print(metrics_table(columns, run.evaluation.k, title))
    summary = run.evaluation.summary
    out.print(f"fit {run.fit_seconds:.2f} s · recommend {run.recommend_seconds:.2f} s{detail} · "
              f"{summary['n_eval_users']} users · train leaks {summary['train_leaks']}")  # fmt: skip
    if run.cold is None:
        out.print(f"cold users: no users with ≤ {COLD_USER_EVENTS} train events")
    else:
        out.print(f"cold users: the {len(run.cold.users)} users with ≤ {COLD_USER_EVENTS} train events")


def to_json(value: Any) -> str:
    return json.dumps(value, indent=2, default=lambda o: o.item() if isinstance(o, np.generic) else str(o))


MapOption = Annotated[list[str], typer.Option("--map", help="column role mapping, e.g. user_id=customer (repeatable)")]
ParamOption = Annotated[list[str], typer.Option("--param", help="model parameter name=value (repeatable)")]
DatasetOption = Annotated[str | None, typer.Option(help="named dataset, e.g. ml-100k (see 'prismrec datasets')")]
InteractionsOption = Annotated[Path | None, typer.Option(help="or an interactions file")]
ItemsOption = Annotated[Path | None, typer.Option(help="item file for --interactions")]
ProtocolOption = Annotated[str, typer.Option(help=PROTOCOL_HELP)]
ModelOption = Annotated[str | None, typer.Option(help="model name")]
ModelDirOption = Annotated[Path, typer.Option("--model", help="folder written by 'prismrec fit'")]
