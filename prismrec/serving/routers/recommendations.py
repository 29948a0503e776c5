"""GET /v1/users/{user_id}/recommendations."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse

from prismrec.serving import schemas
from prismrec.serving.deps import Live, State, check_optional_key, invalid
from prismrec.serving.live import Recommendation

router = APIRouter(tags=["recommendations"], dependencies=[Depends(check_optional_key)])
MAX_K = 100


def items_json(found: list[Recommendation], titles: Any = None) -> list[dict[str, Any]]:
    """Items as JSON rows; with `titles` (item_id -> title) also each item's attribution (`because`)."""
    # Built directly (the response_model documents it): the hot path skips re-validating its own output.
    rows = [{"item_id": r.item_id, "score": r.score, "reason": r.reason} for r in found]
    if titles is not None:
        for row, r in zip(rows, found, strict=True):
            row["because"] = [{"item_id": item_id, "title": title, "weight": b.weight}
                              for b in r.because for item_id, title in [titles(b.item)]]  # fmt: skip
    return rows


@router.get("/v1/users/{user_id}/recommendations", response_model=schemas.UserRecommendations,
            response_model_exclude_none=True)  # fmt: skip
async def recommendations(
    user_id: str,
    state: State,
    live: Live,
    k: Annotated[int, Query(ge=1, le=MAX_K)] = 10,
    diversity: Annotated[float | None, Query(ge=0.0, le=1.0, allow_inf_nan=False)] = None,
    reranker: Annotated[str | None, Query(max_length=100, description="a registered re-ranker, e.g. mmr")] = None,
    exclude: Annotated[str | None, Query(max_length=100_000, description="item ids never to return, a,b,c")] = None,
    category: Annotated[str | None, Query(max_length=1000, description="only items of this category")] = None,
    explain: Annotated[bool, Query(description="add the history items behind each item ('because')")] = False,
) -> Any:
    """Top-k for one user. CPU-bound for about a millisecond, so it runs on the event loop (no thread hop)."""
    if reranker is not None and reranker not in state.rerankers:
        raise invalid(["query", "reranker"], f"unknown re-ranker '{reranker}'; choose one of "
                      f"{', '.join(state.rerankers)}")  # fmt: skip
    excluded = tuple(i.strip() for i in (exclude or "").split(",") if i.strip())
    found = live.recommend(user_id, k, diversity, reranker, excluded, category)
    pipeline = live.pipeline
    titles = (lambda i: (str(pipeline.item_ids.ids[i]), pipeline.title(i))) if explain else None
    return JSONResponse({"user_id": user_id, "items": items_json(found, titles)})
