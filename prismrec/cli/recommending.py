"""`prismrec recommend` (top-K lists with the original ids) and `prismrec demo` (ml-100k, by title)."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterable, Iterator
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import numpy as np
import pandas as pd
import typer
from rich.table import Table

from prismrec.cli.common import ModelDirOption, err, friendly, metrics_table, out, step, to_json
from prismrec.errors import ConfigError

if TYPE_CHECKING:

    from prismrec.core.pipeline import FittedPipeline
    from prismrec.core.request import RecommendResult
    from prismrec.data.schema import IdMap

BEST_CONFIG = resources.files("prismrec") / "configs" / "ml-100k-best.toml"  # packaged with prismrec


@friendly
def recommend(
    model_dir: ModelDirOption,
    user: Annotated[
        list[str], typer.Option(help="external user id (repeatable); an unknown user gets the cold-start list")
    ] = [],  # noqa: B006
    all_users: Annotated[bool, typer.Option("--all-users", help="recommend for every known user")] = False,
    k: Annotated[int, typer.Option("-k", "--k", min=1, help="recommendations per user")] = 10,
    out_file: Annotated[Path | None, typer.Option("--out", help="write CSV user_id,item_id,rank,score here")] = None,
    explain: Annotated[
        bool, typer.Option("--explain", help="add the reason for each item (--json: also the history items behind it)")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON instead of a CSV")] = False,
    file_format: Annotated[str | None, typer.Option("--format", help="csv or parquet (default: from --out's "
                                                    "suffix)")] = None,
    workers: Annotated[int | None, typer.Option(min=1, help="processes for --all-users (default: the cores)")] = None,
) -> None:
    """Top-K recommendations with the original ids; --all-users streams them block by block on every core."""
    from prismrec.core.persistence import load_pipeline

    if bool(user) == all_users:
        raise ConfigError("give --user ID (one or more) or --all-users")
    kind = output_format(out_file, file_format)
    pipeline = load_pipeline(model_dir)
    with step("recommending"):
        if all_users:
            frames = all_user_frames(pipeline, k, explain, workers)
        else:
            frames = iter([recommendations(pipeline, user, k, explain)])
        if as_json and out_file is None:
            frame = pd.concat(list(frames), ignore_index=True)
            columns = ["item_id", "rank", "score", *(["reason", "because"] if explain else [])]
            grouped = [{"user_id": u, "items": g[columns].to_dict("records")}
                       for u, g in frame.groupby("user_id", sort=False)]  # fmt: skip
            out.print_json(to_json(grouped))
            return
        rows, users = write_frames((f.drop(columns=["because"], errors="ignore") for f in frames), out_file, kind)
    if out_file is not None:
        err.print(f"wrote {rows} rows for {users} users to {out_file}")


def output_format(out_file: Path | None, file_format: str | None) -> str:
    """csv or parquet: as asked, else from the file's suffix (stdout: csv)."""
    kind = file_format or ("parquet" if out_file is not None and out_file.suffix.lower() == ".parquet" else "csv")
    if kind not in ("csv", "parquet"):
        raise ConfigError(f"--format must be csv or parquet, not '{kind}'")
    if kind == "parquet" and out_file is None:
        raise ConfigError("--format parquet needs --out FILE")
    return kind


def all_user_frames(pipeline: FittedPipeline, k: int, explain: bool, workers: int | None) -> Iterator[pd.DataFrame]:
    """The lists of every fitted user, block by block (in user order), scored on `workers` processes."""
    from prismrec.core.batch import recommend_blocks

    users = np.arange(len(pipeline.user_ids), dtype=np.int64)
    for block, result in recommend_blocks(pipeline, users, k, workers, explain=explain):
        yield result_frame(pipeline, pipeline.user_ids, block, result, explain)


def write_frames(frames: Iterable[pd.DataFrame], out_file: Path | None, kind: str) -> tuple[int, int]:
    """Stream frames to a CSV file (or stdout) or a Parquet file; returns (rows, distinct users)."""
    rows, users = 0, 0
    with contextlib.ExitStack() as stack:
        handle = sys.stdout
        if kind == "csv" and out_file is not None:
            handle = stack.enter_context(open(out_file, "w", encoding="utf-8", newline=""))
        writer = None
        for frame in frames:
            if kind == "parquet":
                import pyarrow as pa
                import pyarrow.parquet as pq

                table = pa.Table.from_pandas(frame, preserve_index=False)
                if writer is None:
                    writer = stack.enter_context(pq.ParquetWriter(str(out_file), table.schema))
                writer.write_table(table)
            else:
                frame.to_csv(handle, index=False, header=rows == 0)
            rows, users = rows + len(frame), users + frame["user_id"].nunique()
    return rows, users


def recommendations(pipeline: FittedPipeline, user_ids: list[str] | None, k: int, explain: bool) -> pd.DataFrame:
    """Rows user_id, item_id, rank, score (+ reason and because) of the users (None = every fitted user).

    One request for all of them. An unknown user id gets an empty history row, so the cold-start
    policy answers it, as the service answers a user it has not seen.
    """
    from prismrec.core.request import RecommendRequest

    if user_ids is None:
        listed = pipeline.user_ids
        request = RecommendRequest.for_users(np.arange(len(listed), dtype=np.int64), k=k, explain=explain)
    else:
        listed, request = pipeline.request_for_ids(user_ids, k=k, explain=explain)
    return result_frame(pipeline, listed, np.arange(len(listed)), pipeline.recommend(request), explain)


def result_frame(pipeline: FittedPipeline, user_ids: IdMap, rows: np.ndarray, result: RecommendResult,
                 explain: bool) -> pd.DataFrame:  # fmt: skip
    """Rows user_id, item_id, rank, score (+ reason and because) of a result; `rows` index `user_ids`."""
    from prismrec.core.frames import lists_to_frame

    frame = lists_to_frame(user_ids, pipeline.item_ids, rows, result.items, result.scores)
    if explain:
        reasons = result.reasons or []
        because = result.because or []
        frame["reason"] = [reason for row in reasons for reason in row]
        frame["because"] = [[{"item_id": str(pipeline.item_ids.ids[b.item]), "title": pipeline.title(b.item),
                              "weight": b.weight} for b in slot] for row in because for slot in row]  # fmt: skip
    return frame


@friendly
def demo(
    dataset: Annotated[str, typer.Option(help="named dataset")] = "ml-100k",
    user: Annotated[str | None, typer.Option(help="user to show (default: the first test user)")] = None,
    config: Annotated[Path | None, typer.Option(help="pipeline to show (default: configs/ml-100k-best.toml)")] = None,
) -> None:
    """Fit and evaluate popularity, EASE and the best pipeline; show one user's lists by title, with reasons."""
    from prismrec.core.config import PipelineConfig
    from prismrec.core.request import RecommendRequest
    from prismrec.data.registry import load_dataset
    from prismrec.data.splits import split
    from prismrec.evaluation.protocol import run

    with step(f"loading {dataset}"):
        data = load_dataset(dataset)
    parts = split(data.interactions, "temporal")
    candidates: list[tuple[str, Any]] = [("most-popular", PipelineConfig.for_model("most-popular")),
                                         ("ease λ=250", PipelineConfig.for_model("ease", {"lambda": 250}))]  # fmt: skip
    if config is not None:
        best_config = PipelineConfig.from_toml(config)
        candidates.append((f"{best_config.scorer.name} ({config.name})", best_config))
    elif BEST_CONFIG.is_file():
        with resources.as_file(BEST_CONFIG) as path:
            best_config = PipelineConfig.from_toml(path)
        candidates.append((f"{best_config.scorer.name} ({BEST_CONFIG.name})", best_config))
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
    result = best.pipeline.recommend(RecommendRequest.for_users([u], k=10, candidates=parts.test_catalog,
                                                                explain=True))  # fmt: skip
    items = result.items[0]
    reasons = result.reasons[0] if result.reasons is not None else []
    table = Table(title=f"user {uid}: latest of {len(train_rows)} train events → {label} top 10 (✓ = in test)")
    table.add_column("recently watched")
    table.add_column("recommended")
    table.add_column("why")
    for row in range(10):
        seen = catalog.title(int(parts.train.items[recent[row]])) if row < len(recent) else ""
        item = int(items[row]) if row < len(items) else -1
        rec = f"{'✓ ' if item in held else '  '}{catalog.title(item)}" if item >= 0 else ""
        table.add_row(seen, rec, reasons[row] if row < len(reasons) else "")
    out.print(table)
