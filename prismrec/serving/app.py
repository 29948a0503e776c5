"""The HTTP service: a FastAPI app over one `LiveModel` and one `Store`.

Reads (recommendations, bundles, similar items, events) need no key unless the request carries one; writes
(events, catalogue changes) and /admin need `Authorization: Bearer <key>` (`prismrec keys create`).
Every request is counted and timed for /metrics and logged as one JSON line on stderr (method,
route, status, milliseconds — never headers or bodies).
"""

from __future__ import annotations

import json
import logging
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest

from prismrec import __version__
from prismrec.bundles.rows import bundle_rows, generate_for, generated_rows
from prismrec.errors import ConfigError, PrismrecError, UnknownIdError
from prismrec.rerank.registry import rerankers
from prismrec.serving import schemas
from prismrec.serving.live import LiveModel, Recommendation
from prismrec.serving.store import Event, ItemChange, Store

MAX_BODY_BYTES = 1_000_000
MAX_K = 100
LATENCY_BUCKETS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0)


@dataclass
class ServiceState:
    """What the endpoints share; `live` is replaced whole on reload (requests keep the one they started with)."""

    store: Store
    live: LiveModel


class Metrics:
    """Prometheus counters of one app (own registry, so several apps can live in one process)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("prismrec_requests_total", "HTTP requests", ["method", "route", "status"],
                                registry=self.registry)  # fmt: skip
        self.latency = Histogram("prismrec_request_seconds", "request latency in seconds", ["route"],
                                 buckets=LATENCY_BUCKETS, registry=self.registry)  # fmt: skip
        self.events = Counter("prismrec_events_ingested_total", "events stored", registry=self.registry)


class Observe:
    """ASGI middleware: request metrics and one JSON log line per request."""

    def __init__(self, app: Any, metrics: Metrics, logger: logging.Logger) -> None:
        self.app, self.metrics, self.logger = app, metrics, logger

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = {"code": 500}

        async def sending(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        await self.app(scope, receive, sending)
        seconds = time.perf_counter() - started
        route = getattr(scope.get("route"), "path", None) or getattr(scope.get("endpoint"), "__name__", "unmatched")
        self.metrics.requests.labels(scope["method"], route, str(status["code"])).inc()
        self.metrics.latency.labels(route).observe(seconds)
        self.logger.info(json.dumps({"ts": round(time.time(), 3), "method": scope["method"], "route": route,
                                     "status": status["code"], "ms": round(1000 * seconds, 2)}))  # fmt: skip


def json_logger() -> logging.Logger:
    logger = logging.getLogger("prismrec.serve")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
    return logger


def create_app(model_dir: str | Path, db_path: str | Path) -> FastAPI:
    """The service for a fitted pipeline folder and a SQLite file (created if missing)."""
    store = Store(db_path)
    state = ServiceState(store, LiveModel(model_dir, store))
    metrics = Metrics()
    known_rerankers = tuple(rerankers())
    app = FastAPI(title="prismrec", version=__version__, description="Recommendations that are relevant and diverse.",
                  max_body_size=MAX_BODY_BYTES)  # larger bodies (also chunked ones) get 413

    def key_of(authorization: str | None) -> str | None:
        if authorization is None:
            return None
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise HTTPException(403, "the Authorization header must be 'Bearer <key>'")
        return token.strip()

    def require_key(authorization: Annotated[str | None, Header()] = None) -> None:
        key = key_of(authorization)
        if key is None:
            message = "this endpoint needs an API key: send 'Authorization: Bearer <key>' ('prismrec keys create')"
            raise HTTPException(401, message, headers={"WWW-Authenticate": "Bearer"})
        if not store.has_key(key):
            raise HTTPException(403, "unknown API key")

    async def check_optional_key(authorization: Annotated[str | None, Header()] = None) -> None:
        key = key_of(authorization)
        if key is not None and not store.has_key(key):
            raise HTTPException(403, "unknown API key")

    def items_json(found: list[Recommendation]) -> list[dict[str, Any]]:
        # Built directly (the response_model documents it): the hot path skips re-validating its own output.
        return [{"item_id": r.item_id, "score": r.score, "reason": r.reason} for r in found]

    def invalid(location: list[Any], message: str) -> HTTPException:
        return HTTPException(422, [{"loc": location, "msg": message, "type": "value_error"}])

    @app.exception_handler(PrismrecError)
    async def prismrec_error(request: Request, error: PrismrecError) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, status_code=422)

    @app.get("/health", response_model=schemas.Status, response_model_exclude_none=True)
    def health() -> schemas.Status:
        return schemas.Status(status="ok")

    @app.get("/ready", response_model=schemas.Status, response_model_exclude_none=True)
    def ready() -> Any:
        live = state.live
        if not store.ping():
            return JSONResponse({"status": "store unreachable"}, status_code=503)
        return schemas.Status(status="ready", model=str(live.model_dir), items=int((~live.deleted).sum()))

    @app.get("/metrics")
    def prometheus() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/v1/users/{user_id}/recommendations", response_model=schemas.UserRecommendations,
             dependencies=[Depends(check_optional_key)])  # fmt: skip
    async def recommendations(
        user_id: str,
        k: Annotated[int, Query(ge=1, le=MAX_K)] = 10,
        diversity: Annotated[float | None, Query(ge=0.0, le=1.0)] = None,
        reranker: Annotated[str | None, Query(description="a registered re-ranker, e.g. mmr or dpp")] = None,
        exclude: Annotated[str | None, Query(description="comma-separated item ids never to return")] = None,
        category: Annotated[str | None, Query(description="only items of this category")] = None,
    ) -> Any:
        """Top-k for one user. CPU-bound for about a millisecond, so it runs on the event loop (no thread hop)."""
        if reranker is not None and reranker not in known_rerankers:
            raise invalid(["query", "reranker"], f"unknown re-ranker '{reranker}'; choose one of "
                          f"{', '.join(known_rerankers)}")  # fmt: skip
        excluded = tuple(i.strip() for i in (exclude or "").split(",") if i.strip())
        try:
            found = state.live.recommend(user_id, k, diversity, reranker, excluded, category)
        except ConfigError as error:
            raise invalid(["query", "reranker"], str(error)) from None
        return JSONResponse({"user_id": user_id, "items": items_json(found)})

    def bundle_pipeline() -> Any:
        """The served pipeline, or a 404 saying how to serve one with bundles."""
        if state.live.pipeline.bundle_model is None:
            raise HTTPException(404, "the served model has no bundles; fit one with 'prismrec bundles fit "
                                "--dataset NAME --out DIR' and serve that folder")  # fmt: skip
        return state.live.pipeline

    @app.get("/v1/users/{user_id}/bundles", response_model=schemas.UserBundles,
             dependencies=[Depends(check_optional_key)])  # fmt: skip
    def bundles(user_id: str, k: Annotated[int, Query(ge=1, le=MAX_K)] = 10) -> Any:
        """Top-k ready-made bundles for a user the model was fitted on (never one the user has), with reasons.

        Runs in the thread pool: scoring reads the user's row against every bundle (milliseconds on large sets)."""
        pipeline = bundle_pipeline()
        assert pipeline.user_ids is not None
        if user_id not in pipeline.user_ids:
            raise HTTPException(404, f"unknown user '{user_id}'")
        with state.live.lock:  # the user's items now, events since the fit included
            items = state.live.history_row(user_id)
        found = pipeline.recommend_bundles(pipeline.user_ids.index(user_id), k, state.live.deleted_items(), items)
        return JSONResponse({"user_id": user_id, "bundles": bundle_rows(pipeline, found)})

    @app.post("/v1/bundles/generate", response_model=schemas.GeneratedBundleOut,
              dependencies=[Depends(check_optional_key)])  # fmt: skip
    def generate_bundle(request: schemas.GenerateIn) -> Any:
        """Compose a bundle from seed items, a user or an intent (a read: no key needed unless one is sent)."""
        pipeline = bundle_pipeline()
        given = [name for name in ("item_ids", "user_id", "intent") if getattr(request, name) is not None]
        if len(given) != 1:
            raise invalid(["body"], f"give exactly one of item_ids, user_id and intent (got {given or 'none'})")
        values = request.model_dump(exclude_none=True, exclude={"item_ids", "user_id", "intent"})
        try:
            history = None
            if request.user_id is not None:
                with state.live.lock:  # the user's items now, events since the fit included
                    history = state.live.history_row(request.user_id)
            found = generate_for(pipeline, request.item_ids, request.user_id, request.intent, values,
                                 state.live.deleted_items(), history)  # fmt: skip
        except UnknownIdError as error:
            raise HTTPException(404, str(error)) from None
        return JSONResponse({"items": generated_rows(pipeline, found)})

    @app.get("/v1/items/{item_id}/similar", response_model=schemas.SimilarItems,
             dependencies=[Depends(check_optional_key)])  # fmt: skip
    async def similar(
        item_id: str,
        k: Annotated[int, Query(ge=1, le=MAX_K)] = 10,
        diversity: Annotated[float | None, Query(ge=0.0, le=1.0)] = None,
    ) -> Any:
        try:
            found = state.live.similar(item_id, k, diversity)
        except UnknownIdError as error:
            raise HTTPException(404, str(error)) from None
        return JSONResponse({"item_id": item_id, "items": items_json(found)})

    @app.get("/v1/search", response_model=schemas.SearchResults, dependencies=[Depends(check_optional_key)])
    async def search(
        q: Annotated[str, Query(min_length=1, max_length=1000, description="free text")],
        user_id: Annotated[str | None, Query(description="personalise for this user")] = None,
        k: Annotated[int, Query(ge=1, le=MAX_K)] = 10,
        diversity: Annotated[float, Query(ge=0.0, le=1.0)] = 0.0,
        category: Annotated[str | None, Query(description="only items of this category")] = None,
    ) -> Any:
        found = state.live.search(q, k, user_id, diversity, category)
        return JSONResponse({"query": q, "items": items_json(found)})

    @app.post("/v1/events", response_model=schemas.EventsStored, dependencies=[Depends(require_key)])
    def post_events(batch: schemas.EventBatch) -> schemas.EventsStored:
        live = state.live
        for position, event in enumerate(batch.events):
            if not live.has_item(event.item_id):
                raise invalid(["body", "events", position, "item_id"], f"unknown item '{event.item_id}'")
        now = time.time()
        events = [Event(e.user_id, e.item_id, e.type, e.value, e.ts if e.ts is not None else now) for e in batch.events]
        stored = store.add_events(events)
        metrics.events.inc(stored)
        for event in events:
            live.apply_event(event)
        return schemas.EventsStored(stored=stored)

    @app.get("/v1/users/{user_id}/events", response_model=schemas.UserEvents,
             dependencies=[Depends(check_optional_key)])  # fmt: skip
    def user_events(user_id: str, limit: Annotated[int, Query(ge=1, le=1000)] = 50) -> schemas.UserEvents:
        events = [schemas.EventOut(**vars(e)) for e in store.user_events(user_id, limit)]
        return schemas.UserEvents(user_id=user_id, events=events)

    @app.put("/v1/items/{item_id}", response_model=schemas.ItemSaved, dependencies=[Depends(require_key)])
    def put_item(item_id: str, item: schemas.ItemIn) -> schemas.ItemSaved:
        change = ItemChange(item_id, item.title, item.description, tuple(item.categories), deleted=False)
        created = state.live.apply_item(change)
        store.save_item(change)
        return schemas.ItemSaved(item_id=item_id, created=created)

    @app.delete("/v1/items/{item_id}", response_model=schemas.ItemDeleted, dependencies=[Depends(require_key)])
    def delete_item(item_id: str) -> schemas.ItemDeleted:
        live = state.live
        if not live.has_item(item_id):
            raise HTTPException(404, f"unknown item '{item_id}'")
        change = ItemChange(item_id, "", None, (), deleted=True)
        store.save_item(change)
        live.apply_item(change)
        return schemas.ItemDeleted(item_id=item_id, deleted=True)

    @app.post("/admin/reload", response_model=schemas.Reloaded, dependencies=[Depends(require_key)])
    def reload(request: schemas.ReloadIn | None = None) -> schemas.Reloaded:
        folder = Path(request.model) if request is not None and request.model else state.live.model_dir
        try:
            fresh = LiveModel(folder, store)
        except PrismrecError as error:
            raise invalid(["body", "model"], str(error)) from None
        state.live = fresh
        return schemas.Reloaded(model=str(folder), items=int((~fresh.deleted).sum()))

    app.add_middleware(Observe, metrics=metrics, logger=json_logger())
    app.state.service = state
    return app
