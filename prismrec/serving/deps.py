"""What the routers share, as FastAPI dependencies: the service state, the live model and API-key checks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request

from prismrec.serving.live import LiveModel
from prismrec.serving.observe import Metrics
from prismrec.serving.settings import ServiceSettings
from prismrec.serving.store import Store


@dataclass
class ServiceState:
    """One app's state; `live` is replaced whole on reload (requests keep the one they started with)."""

    settings: ServiceSettings
    store: Store
    live: LiveModel
    metrics: Metrics
    rerankers: tuple[str, ...]


def service_state(request: Request) -> ServiceState:
    return request.app.state.service


def live_model(state: Annotated[ServiceState, Depends(service_state)]) -> LiveModel:
    """The live model as it is when the request starts."""
    return state.live


State = Annotated[ServiceState, Depends(service_state)]
UNKNOWN_KEY = "unknown API key in the Authorization header ('prismrec keys create' makes one)"
Live = Annotated[LiveModel, Depends(live_model)]


def _key_of(authorization: str | None) -> str | None:
    if authorization is None:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise HTTPException(403, "the Authorization header must be 'Bearer <key>'")
    return token.strip()


def require_key(state: State, authorization: Annotated[str | None, Header()] = None) -> None:
    """Writes and /admin: a known API key is required."""
    key = _key_of(authorization)
    if key is None:
        message = "this endpoint needs an API key: send 'Authorization: Bearer <key>' ('prismrec keys create')"
        raise HTTPException(401, message, headers={"WWW-Authenticate": "Bearer"})
    if not state.store.has_key(key):
        raise HTTPException(403, UNKNOWN_KEY)


async def check_optional_key(state: State, authorization: Annotated[str | None, Header()] = None) -> None:
    """Reads: no key needed, but a key that is sent must be known."""
    key = _key_of(authorization)
    if key is not None and not state.store.has_key(key):
        raise HTTPException(403, UNKNOWN_KEY)


def invalid(location: list[object], message: str) -> HTTPException:
    """A 422 naming the field, in FastAPI's validation-error shape."""
    return HTTPException(422, [{"loc": location, "msg": message, "type": "value_error"}])


def not_found(location: list[object], message: str) -> HTTPException:
    """A 404 naming the field that holds the unknown id, in FastAPI's validation-error shape."""
    return HTTPException(404, [{"loc": location, "msg": message, "type": "unknown_id"}])
