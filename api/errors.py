"""Errors as JSON: every error body is ``{"errors": [{"path", "message"}]}``.

`ApiError` is raised by routers; `install` registers the handlers that turn it, the engine's
`InputError`, FastAPI's request validation errors and HTTP exceptions into that body.
Unexpected exceptions are turned into a JSON 500 by `api.middleware.ServiceMiddleware`,
which logs no message text (it could carry amounts), only the type and where.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from incentive.problems import InputError, Problem

log = logging.getLogger("incentive.api")
# the requests that change state: each is audited, refused ones too (see _audit_refusal)
STATE_CHANGING = re.compile(r"^/v1/periods/[^/]+/close$")


def error_body(problems: Sequence[Problem | dict[str, str]]) -> bytes:
    items = [p.as_dict() if isinstance(p, Problem) else {"path": str(p.get("path", "")),
                                                         "message": str(p.get("message", ""))} for p in problems]
    return orjson.dumps({"errors": items})


def error_response(status: int, problems: Sequence[Problem | dict[str, str]],
                   headers: Mapping[str, str] | None = None) -> Response:
    return Response(error_body(problems), status_code=status, media_type="application/json",
                    headers=dict(headers or {}))


class ApiError(StarletteHTTPException):
    """An HTTP error with a list of problems."""

    def __init__(self, status: int, problems: Sequence[Problem] | str, path: str = "",
                 headers: Mapping[str, str] | None = None) -> None:
        if isinstance(problems, str):
            problems = [Problem(path, problems)]
        self.problems = list(problems)
        super().__init__(status_code=status, detail="; ".join(str(p) for p in self.problems),
                         headers=dict(headers) if headers else None)


class RunConflict(ApiError):
    """A close refused because of the stored state; `run_id` names the run in the way."""

    def __init__(self, status: int, message: str, path: str, run_id: str | None) -> None:
        super().__init__(status, message, path=path)
        self.run_id = run_id


class BodyTooLarge(ApiError):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body larger than the limit of {limit} bytes "
                              "(setting INCENTIVE_MAX_REQUEST_BYTES)", path="body")


def _loc(loc: Sequence[Any]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


async def _audit_refusal(request: Request, status: int, problems: Sequence[Problem | dict[str, str]],
                         run_id: str | None = None) -> None:
    """Audit a refused state-changing request: who, the status, the paths at fault (never the
    messages: they may quote amounts). Requests the handler audited itself are skipped."""
    if request.method != "POST" or not STATE_CHANGING.match(request.url.path):
        return
    if getattr(request.state, "audited", False):
        return
    from .security import actor  # (security imports this module)

    who = actor(request, getattr(request.state, "key", None))
    paths = sorted({p.path if isinstance(p, Problem) else str(p.get("path", "")) for p in problems})
    try:
        await run_in_threadpool(request.app.state.store.audit, who, "period.close.rejected", status_code=status,
                                period_id=request.path_params.get("period_id"), run_id=run_id,
                                detail=", ".join(paths[:20]) or None)
    except Exception as exc:  # the refusal still goes out; the failure to audit is logged
        log.error("could not audit a refused request %s: %s", who.request_id, type(exc).__name__)


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    await _audit_refusal(request, exc.status_code, exc.problems, getattr(exc, "run_id", None))
    return error_response(exc.status_code, exc.problems, exc.headers)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail
    if isinstance(detail, list):
        problems = [d if isinstance(d, dict) else {"path": "", "message": str(d)} for d in detail]
    else:
        problems = [{"path": "", "message": str(detail)}]
    await _audit_refusal(request, exc.status_code, problems)
    return error_response(exc.status_code, problems, exc.headers)


async def _input_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, InputError)
    await _audit_refusal(request, 422, exc.problems)
    return error_response(422, exc.problems)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    problems = []
    for e in exc.errors():
        loc = list(e.get("loc", ()))
        if len(loc) > 1 and loc[0] == "body":
            loc = loc[1:]  # body fields by their own names, as the engine's problems are (input.…, rules.…)
        msg = str(e.get("msg", "invalid"))
        if e.get("type") == "json_invalid":
            msg = f"not valid JSON: {e.get('ctx', {}).get('error', msg)}"
        problems.append({"path": _loc(loc), "message": msg})
    await _audit_refusal(request, 422, problems)
    return error_response(422, problems)


def install(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(InputError, _input_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
