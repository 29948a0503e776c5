"""Request metrics (Prometheus) and one JSON log line per request (method, route, status, ms — never
headers or bodies)."""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram

LATENCY_BUCKETS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0)


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
