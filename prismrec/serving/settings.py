"""The service's settings: one typed object, made once per app."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from prismrec.params import param


@dataclass(frozen=True)
class ServiceSettings:
    """What `create_app` needs besides code.

    Attributes:
        model_dir: the served pipeline folder (`prismrec fit`).
        db_path: the SQLite file for events, item changes and API keys (created if missing).
    """

    model_dir: Path
    db_path: Path
    max_body_bytes: int = param(1_000_000, "largest request body (bytes); larger ones get 413", min=1)
    max_k: int = param(100, "largest list a request may ask for", min=1)
    max_events: int = param(1000, "largest page of GET /v1/users/{id}/events", min=1)
