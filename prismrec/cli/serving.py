"""`prismrec serve`, `prismrec keys create` and `prismrec compact`: the HTTP service and its SQLite file."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from prismrec.cli.common import ModelDirOption, friendly, out, step


@friendly
def serve(
    model_dir: ModelDirOption,
    db: Annotated[Path, typer.Option(help="SQLite file for events, item changes and API keys")] = Path("prismrec.db"),
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
) -> None:
    """Serve recommendations over HTTP (FastAPI on uvicorn): /v1/users/{id}/recommendations, /v1/events, ..."""
    import uvicorn

    from prismrec.serving.app import create_app

    with step(f"loading {model_dir}"):
        service = create_app(model_dir, db)
    uvicorn.run(service, host=host, port=port, log_config=None, access_log=False, workers=1)


@friendly
def keys_create(
    db: Annotated[Path, typer.Option(help="the service's SQLite file (created if missing)")],
    name: Annotated[str, typer.Option(help="a label for the key")] = "default",
) -> None:
    """Create an API key and print it (alone, once: only its hash is stored)."""
    from prismrec.serving.store import Store

    typer.echo(Store(db).create_key(name))


@friendly
def compact(
    db: Annotated[Path, typer.Option(help="the service's SQLite file")],
    older_than_days: Annotated[float, typer.Option(min=0.0, help="delete events older than this many days")],
) -> None:
    """Retention: delete the service's events older than a number of days."""
    from prismrec.serving.store import Store

    deleted = Store(db).compact(time.time() - older_than_days * 86_400.0)
    out.print(f"deleted {deleted} events older than {older_than_days:g} days from {db}")
