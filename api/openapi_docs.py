"""Shared OpenAPI response documentation for the routers."""

from __future__ import annotations

from typing import Any

from .schemas import ErrorOut

_TEXT = {
    400: "malformed request",
    401: "no API key, or an unknown or revoked one",
    403: "the key's role may not do this",
    404: "no such resource",
    409: "conflicts with the stored state",
    413: "request body over the size limit",
    422: "invalid request: every problem, each naming its record or field",
    500: "unexpected failure (a JSON body, never a traceback)",
    503: "the database is not reachable",
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` entries for error statuses (the common ones always included)."""
    out: dict[int | str, dict[str, Any]] = {}
    for code in sorted({400, 413, 500, 503, *codes}):
        out[code] = {"model": ErrorOut, "description": _TEXT[code]}
    return out


AUTH = (401, 403, 422)
