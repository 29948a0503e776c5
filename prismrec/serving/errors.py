"""Errors as HTTP answers: a user mistake is a 4xx naming the field, never a 5xx.

- `PrismrecError` (and subclasses): 422 with `{"detail": [{"loc", "msg", "type"}]}`; an unknown id 404.
- Request validation (pydantic): 422, every input echoed only if JSON can carry it (inf/NaN, bytes are
  shown as text, lone surrogates as "?"), so the answer itself never fails.
- A body that cannot be read as JSON at all (not UTF-8, nested too deeply, an integer of thousands of
  digits): 400 naming the body and why.
- Every other `HTTPException` as FastAPI answers it, its detail made JSON-safe alike (messages echo ids).
"""

from __future__ import annotations

import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException

from prismrec.errors import PrismrecError, UnknownIdError

BODY_NOT_READ = "There was an error parsing the body"  # FastAPI's 400 when the body is not JSON it can decode


def error_body(field: str | None, message: str, kind: str = "value_error") -> dict[str, Any]:
    return {"detail": [{"loc": [field] if field else [], "msg": message, "type": kind}]}


def json_safe(value: Any) -> Any:
    """`value` with every non-finite float and byte string turned into text and every lone surrogate into
    "?" (JSON carries no inf or NaN, and UTF-8 no surrogate)."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, str):
        return value.encode("utf-8", errors="replace").decode("utf-8")
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(PrismrecError)
    async def prismrec_error(request: Request, error: PrismrecError) -> JSONResponse:
        status = 404 if isinstance(error, UnknownIdError) else 422
        return JSONResponse(json_safe(error_body(error.field, str(error))), status_code=status)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> Response:
        if error.status_code in (204, 304) or error.status_code < 200:
            return Response(status_code=error.status_code, headers=error.headers)
        detail: Any = error.detail
        if error.status_code == 400 and detail == BODY_NOT_READ and error.__cause__ is not None:
            reason = str(error.__cause__) or type(error.__cause__).__name__
            detail = [{"loc": ["body"], "msg": f"the body is not JSON this service can read: {reason}",
                       "type": "json_invalid"}]  # fmt: skip
        return JSONResponse({"detail": json_safe(detail)}, status_code=error.status_code, headers=error.headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, error: RequestValidationError) -> JSONResponse:
        details = [{"loc": json_safe(list(e.get("loc", ()))), "msg": json_safe(_message(e)),
                    "type": str(e.get("type", "value_error")), "input": json_safe(e.get("input"))}
                   for e in error.errors()]  # fmt: skip
        return JSONResponse({"detail": details}, status_code=422)


def _message(error: dict[str, Any]) -> str:
    """pydantic's message, or what to do when the body came with a content type other than JSON (FastAPI then
    hands the raw bytes to validation)."""
    if tuple(error.get("loc", ())) == ("body",) and isinstance(error.get("input"), bytes):
        return "the body must be a JSON object sent with 'Content-Type: application/json'"
    return str(error.get("msg", "invalid value"))
