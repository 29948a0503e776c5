"""GET /v1/search."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse

from prismrec.serving import schemas
from prismrec.serving.deps import Live, check_optional_key
from prismrec.serving.routers.recommendations import MAX_K, items_json

router = APIRouter(tags=["search"], dependencies=[Depends(check_optional_key)])


@router.get("/v1/search", response_model=schemas.SearchResults)
async def search(
    live: Live,
    q: Annotated[str, Query(min_length=1, max_length=1000, description="free text")],
    user_id: Annotated[str | None, Query(max_length=256, description="personalise for this user")] = None,
    k: Annotated[int, Query(ge=1, le=MAX_K)] = 10,
    diversity: Annotated[float, Query(ge=0.0, le=1.0, allow_inf_nan=False)] = 0.0,
    category: Annotated[str | None, Query(max_length=1000, description="only items of this category")] = None,
) -> Any:
    found = live.search(q, k, user_id, diversity, category)
    return JSONResponse({"query": q, "items": items_json(found)})
