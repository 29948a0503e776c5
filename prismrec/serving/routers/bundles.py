"""GET /v1/users/{id}/bundles and POST /v1/bundles/generate."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import JSONResponse

from prismrec.bundles.pipeline_bundles import PipelineBundles
from prismrec.bundles.rows import bundle_rows, generate_for, generated_rows
from prismrec.serving import schemas
from prismrec.serving.deps import Live, check_optional_key, invalid, not_found
from prismrec.serving.live import LiveModel
from prismrec.serving.routers.recommendations import MAX_K

router = APIRouter(tags=["bundles"], dependencies=[Depends(check_optional_key)])


def served_bundles(live: LiveModel) -> PipelineBundles:
    """The served bundle model, or a 404 saying how to serve one."""
    if live.bundles is None:
        raise HTTPException(404, "the served model has no bundles; fit one with 'prismrec bundles fit "
                            "--dataset NAME --out DIR' and serve that folder")  # fmt: skip
    return live.bundles


@router.get("/v1/users/{user_id}/bundles", response_model=schemas.UserBundles)
def bundles(user_id: str, live: Live, k: Annotated[int, Query(ge=1, le=MAX_K)] = 10) -> Any:
    """Top-k ready-made bundles (never one the user has), with reasons; users the model was not fitted on get
    the bundles that hold most of their items since, else the most taken ones.

    Runs in the thread pool: scoring reads the user's row against every bundle (milliseconds on large sets)."""
    model = served_bundles(live)
    with live.lock:  # the user's items now, events since the fit included
        items = live.history_row(user_id)
    ids = model.pipeline.user_ids
    user = ids.index(user_id) if user_id in ids else None
    found = model.recommend(user, k, live.deleted_items(), items)
    return JSONResponse({"user_id": user_id, "bundles": bundle_rows(model, found)})


@router.post("/v1/bundles/generate", response_model=schemas.GeneratedBundleOut)
def generate_bundle(request: schemas.GenerateIn, live: Live) -> Any:
    """Compose a bundle from seed items, a user or an intent (a read: no key needed unless one is sent)."""
    model = served_bundles(live)
    given = [name for name in ("item_ids", "user_id", "intent") if getattr(request, name) is not None]
    if len(given) != 1:
        raise invalid(["body"], f"give exactly one of item_ids, user_id and intent (got {given or 'none'})")
    ids = model.pipeline.item_ids
    for position, item_id in enumerate(request.item_ids or ()):
        if item_id not in ids:
            raise not_found(["body", "item_ids", position], f"unknown item '{item_id}'")
    values = request.model_dump(exclude_none=True, exclude={"item_ids", "user_id", "intent"})
    history = None
    if request.user_id is not None:
        with live.lock:  # the user's items now, events since the fit included
            history = live.history_row(request.user_id)
    found = generate_for(model, request.item_ids, request.user_id, request.intent, values, live.deleted_items(),
                         history)  # fmt: skip
    return JSONResponse({"items": generated_rows(model, found)})
