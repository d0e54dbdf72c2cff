"""One pure-ASGI middleware for every request: a request id (``X-Request-ID``, echoed back),
the request size limit (413, from Content-Length up front or while the body streams), and
the last line of defence: an unexpected exception becomes a JSON 500 (a database outage a
JSON 503) with no traceback in the body and no message text in the log."""

from __future__ import annotations

import logging
import re
import traceback
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import BodyTooLarge, error_body

log = logging.getLogger("incentive.api")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


class ServiceMiddleware:
    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        incoming = headers.get(b"x-request-id", b"").decode("latin-1")
        rid = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = rid
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                MutableHeaders(scope=message).append("x-request-id", rid)
            await send(message)

        if "\x00" in scope.get("path", "") or b"%00" in scope.get("query_string", b""):
            # no id holds a NUL character (PostgreSQL text cannot): refuse before any lookup
            await _send_error(send_with_id, 400, "url", "NUL characters are not allowed in the URL")
            return
        limit = self.max_body_bytes
        length = headers.get(b"content-length")
        if length is not None:
            if not length.isdigit():
                await _send_error(send_with_id, 400, "body", "Content-Length is not a number")
                return
            if int(length) > limit:
                await _send_error(send_with_id, 413, "body", BodyTooLarge(limit).problems[0].message)
                return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        try:
            await self.app(scope, limited_receive, send_with_id)
        except BodyTooLarge as exc:
            if not started:
                await _send_error(send_with_id, 413, "body", exc.problems[0].message)
        except Exception as exc:
            unavailable = isinstance(exc, OperationalError | PoolTimeout) or (
                isinstance(exc, DBAPIError) and exc.connection_invalidated)
            # the type and where only: an exception's text may quote data (amounts, salaries)
            frames = " <- ".join(f"{Path(f.filename).name}:{f.lineno} {f.name}"
                                 for f in reversed(traceback.extract_tb(exc.__traceback__)[-8:]))
            log.error("request %s %s %s failed: %s at %s", rid, scope.get("method"), scope.get("path"),
                      type(exc).__name__, frames)
            if not started:
                if unavailable:
                    await _send_error(send_with_id, 503, "", f"the database is not reachable (request {rid})")
                else:
                    await _send_error(send_with_id, 500, "",
                                      f"internal error (request {rid}); it has been logged")


async def _send_error(send: Any, status: int, path: str, message: str) -> None:
    body = error_body([{"path": path, "message": message}])
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
