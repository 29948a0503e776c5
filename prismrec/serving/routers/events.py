"""POST /v1/events and GET /v1/users/{id}/events."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from prismrec.serving import schemas
from prismrec.serving.deps import State, check_optional_key, invalid, require_key
from prismrec.serving.store import Event

router = APIRouter(tags=["events"])


@router.post("/v1/events", response_model=schemas.EventsStored, dependencies=[Depends(require_key)])
def post_events(batch: schemas.EventBatch, state: State) -> schemas.EventsStored:
    live = state.live
    for position, event in enumerate(batch.events):
        if not live.has_item(event.item_id):
            raise invalid(["body", "events", position, "item_id"], f"unknown item '{event.item_id}'")
    now = time.time()
    events = [Event(e.user_id, e.item_id, e.type, e.value, e.ts if e.ts is not None else now) for e in batch.events]
    stored = state.store.add_events(events)
    state.metrics.events.inc(stored)
    for event in events:
        live.apply_event(event)
    return schemas.EventsStored(stored=stored)


@router.get("/v1/users/{user_id}/events", response_model=schemas.UserEvents,
            dependencies=[Depends(check_optional_key)])  # fmt: skip
def user_events(user_id: str, state: State, limit: Annotated[int, Query(ge=1, le=1000)] = 50) -> schemas.UserEvents:
    events = [schemas.EventOut(**vars(e)) for e in state.store.user_events(user_id, limit)]
    return schemas.UserEvents(user_id=user_id, events=events)
