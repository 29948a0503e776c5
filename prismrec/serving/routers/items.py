"""Catalogue: GET /v1/items/{id}/similar, PUT and DELETE /v1/items/{id}."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import JSONResponse

from prismrec.serving import schemas
from prismrec.serving.deps import Live, State, check_optional_key, not_found, require_key
from prismrec.serving.routers.recommendations import MAX_K, items_json
from prismrec.serving.store import ItemChange

router = APIRouter(tags=["items"])


@router.get("/v1/items/{item_id}/similar", response_model=schemas.SimilarItems,
            dependencies=[Depends(check_optional_key)])  # fmt: skip
async def similar(
    item_id: str,
    live: Live,
    k: Annotated[int, Query(ge=1, le=MAX_K)] = 10,
    diversity: Annotated[float | None, Query(ge=0.0, le=1.0, allow_inf_nan=False)] = None,
) -> Any:
    found = live.similar(item_id, k, diversity)
    return JSONResponse({"item_id": item_id, "items": items_json(found)})


@router.put("/v1/items/{item_id}", response_model=schemas.ItemSaved, dependencies=[Depends(require_key)])
def put_item(item_id: Annotated[str, Path(max_length=schemas.MAX_ID)], item: schemas.ItemIn,
             state: State) -> schemas.ItemSaved:  # fmt: skip
    change = ItemChange(item_id, item.title, item.description, tuple(item.categories), deleted=False)
    created = state.live.apply_item(change)
    state.store.save_item(change)
    return schemas.ItemSaved(item_id=item_id, created=created)


@router.delete("/v1/items/{item_id}", response_model=schemas.ItemDeleted, dependencies=[Depends(require_key)])
def delete_item(item_id: str, state: State) -> schemas.ItemDeleted:
    live = state.live
    if not live.has_item(item_id):
        raise not_found(["path", "item_id"], f"unknown item '{item_id}'")
    change = ItemChange(item_id, "", None, (), deleted=True)
    state.store.save_item(change)
    live.apply_item(change)
    return schemas.ItemDeleted(item_id=item_id, deleted=True)
