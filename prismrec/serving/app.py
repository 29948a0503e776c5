"""The HTTP service: a FastAPI app over one `LiveModel` and one `Store`.

Reads (recommendations, bundles, similar items, events, search) need no key unless the request carries
one; writes (events, catalogue changes) and /admin need `Authorization: Bearer <key>` (`prismrec keys
create`). Every request is counted and timed for /metrics and logged as one JSON line on stderr.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from prismrec import __version__
from prismrec.rerank.registry import rerankers
from prismrec.serving.deps import ServiceState
from prismrec.serving.errors import install_error_handlers
from prismrec.serving.live import LiveModel
from prismrec.serving.observe import Metrics, Observe, json_logger
from prismrec.serving.routers import admin, bundles, events, items, recommendations, search
from prismrec.serving.settings import ServiceSettings
from prismrec.serving.store import Store


def create_app(model_dir: str | Path, db_path: str | Path, settings: ServiceSettings | None = None) -> FastAPI:
    """The service for a fitted pipeline folder and a SQLite file (created if missing)."""
    settings = settings or ServiceSettings(Path(model_dir), Path(db_path))
    store = Store(settings.db_path)
    state = ServiceState(settings, store, LiveModel(settings.model_dir, store), Metrics(), tuple(rerankers()))
    # Larger bodies than settings.max_body_bytes (also chunked ones) get 413.
    app = FastAPI(title="prismrec", version=__version__, description="Recommendations that are relevant and diverse.",
                  max_body_size=settings.max_body_bytes)  # fmt: skip
    for module in (recommendations, items, events, search, bundles, admin):
        app.include_router(module.router)
    install_error_handlers(app)
    app.add_middleware(Observe, metrics=state.metrics, logger=json_logger())
    app.state.service = state
    return app
