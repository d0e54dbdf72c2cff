"""A route class whose JSON bodies are parsed with `incentive.loading.parse_json_bytes`:
numbers keep their decimal text (Decimal, never a binary float), as the engine expects."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

from incentive.loading import parse_json_bytes
from incentive.problems import InputError

from .errors import ApiError


class DecimalRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            try:
                self._json = parse_json_bytes(await self.body(), "body")
            except InputError as exc:
                raise ApiError(422, exc.problems) from None
        return self._json


class DecimalJSONRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def decimal_handler(request: Request) -> Response:
            return await handler(DecimalRequest(request.scope, request.receive))

        return decimal_handler
