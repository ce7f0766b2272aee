"""The one error body of dashcam's HTTP APIs (server and relay), its OpenAPI responses,
and the handlers that answer with it.

Every error answer is ``{"detail": "<one readable line>"}``; a request that fails
validation (422) also lists the fields at fault in ``errors``. Routes document the codes
they can answer with ``responses=error_responses(404, 409, ...)``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from dashcam.errors import DashcamError, describe_fields


class FieldError(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class ErrorBody(BaseModel):
    """An error answer: ``detail`` says what went wrong in one line."""

    detail: str
    errors: list[FieldError] | None = None


_MEANING = {
    400: "The body is not JSON the server can read",
    401: "Missing or wrong API key (the relay: the worker is not registered)",
    403: "Not yours: the job is claimed by another worker",
    404: "No such item",
    409: "Conflict: the lease was lost, or the item is not in a state that allows this",
    410: "Gone",
    422: "Invalid input: `detail` says which field and why",
    503: "The database or a storage root is unavailable",
}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for these error codes, each with :class:`ErrorBody`."""
    return {code: {"model": ErrorBody, "description": _MEANING[code]} for code in codes}


def error_response(
    status: int, detail: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status, headers=dict(headers or {}))


def install_error_handlers(
    app: FastAPI, status_of: Sequence[tuple[type[DashcamError], int]] = ()
) -> None:
    """Answer validation errors, HTTP errors and our own errors (by ``status_of``, first
    match; else 500) with :class:`ErrorBody`."""

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {
                "loc": [p if isinstance(p, int) else str(p) for p in e.get("loc", ())],
                "msg": str(e.get("msg", "")),
                "type": str(e.get("type", "")),
            }
            for e in exc.errors()
        ]
        body = {"detail": describe_fields(exc.errors()) or "invalid request", "errors": errors}
        return JSONResponse(body, status_code=422)

    @app.exception_handler(HTTPException)
    async def _http(_: Request, exc: HTTPException) -> JSONResponse:
        return error_response(exc.status_code, str(exc.detail), exc.headers)

    @app.exception_handler(DashcamError)
    async def _ours(_: Request, exc: DashcamError) -> JSONResponse:
        code = next((c for t, c in status_of if isinstance(exc, t)), 500)
        return error_response(code, str(exc))
