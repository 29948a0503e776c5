"""Operations: /health, /ready, /metrics and POST /admin/reload."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from prismrec.errors import PrismrecError
from prismrec.serving import schemas
from prismrec.serving.deps import State, invalid, require_key
from prismrec.serving.live import LiveModel

router = APIRouter(tags=["admin"])


@router.get("/health", response_model=schemas.Status, response_model_exclude_none=True)
def health() -> schemas.Status:
    return schemas.Status(status="ok")


@router.get("/ready", response_model=schemas.Status, response_model_exclude_none=True)
def ready(state: State) -> Any:
    live = state.live
    if not state.store.ping():
        return JSONResponse({"status": "store unreachable"}, status_code=503)
    return schemas.Status(status="ready", model=str(live.model_dir), items=int((~live.deleted).sum()))


@router.get("/metrics")
def prometheus(state: State) -> Response:
    return Response(generate_latest(state.metrics.registry), media_type=CONTENT_TYPE_LATEST)


@router.post("/admin/reload", response_model=schemas.Reloaded, dependencies=[Depends(require_key)])
def reload(state: State, request: schemas.ReloadIn | None = None) -> schemas.Reloaded:
    folder = Path(request.model) if request is not None and request.model else state.live.model_dir
    try:
        fresh = LiveModel(folder, state.store)
    except PrismrecError as error:
        raise invalid(["body", "model"], str(error)) from None
    except (OSError, ValueError) as error:  # e.g. a name too long for the file system, a NUL byte
        raise invalid(["body", "model"], f"{folder} cannot be read as a model folder ({error})") from None
    state.live = fresh
    return schemas.Reloaded(model=str(folder), items=int((~fresh.deleted).sum()))
