"""`prismrec search`: free-text search over a fitted pipeline's catalogue."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from prismrec.cli.common import ModelDirOption, friendly, out, to_json


@friendly
def search(
    query: Annotated[str, typer.Argument(help="free text, any language the encoder reads")],
    model_dir: ModelDirOption,
    user: Annotated[str | None, typer.Option(help="personalise for this user's history")] = None,
    diversity: Annotated[float, typer.Option(min=0.0, max=1.0, help="MMR λ over the item vectors (0 = off)")] = 0.0,
    k: Annotated[int, typer.Option("-k", "--k", min=1, help="results")] = 10,
    mode: Annotated[str, typer.Option(help="fused (BM25 + vectors), lexical or dense")] = "fused",
    category: Annotated[str | None, typer.Option(help="only items of this category")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON: [{item_id, title, score, reason}]")] = False,
) -> None:
    """Search the catalogue: BM25 and the language model's vectors fused, optionally personalised and diversified."""
    from prismrec.core.persistence import load_pipeline
    from prismrec.params import parse_params
    from prismrec.search.pipeline_search import pipeline_searcher, search_pipeline
    from prismrec.search.searcher import SearchParams

    pipeline = load_pipeline(model_dir)
    history = pipeline.history[pipeline.user_ids.index(user, "user")] if user is not None else None
    params = parse_params(SearchParams, {"mode": mode, "diversity": diversity,
                                         "personalisation": 1.0 if user is not None else 0.0}, "search")  # fmt: skip
    searcher = pipeline_searcher(pipeline)
    allowed = searcher.in_category(category) if category is not None else None
    hits = search_pipeline(pipeline, searcher, query, k, history, params, allowed)
    rows = [{"item_id": str(pipeline.item_ids.ids[i]), "title": pipeline.title(i), "score": float(score),
             "reason": reason}
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
