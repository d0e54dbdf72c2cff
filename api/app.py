"""The FastAPI application: `create_app(settings)` wires settings, the store, the middleware,
the error handlers and the routers. `incentive serve` runs it under uvicorn."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.openapi.utils import get_openapi

from incentive import __version__

from . import errors
from .middleware import ServiceMiddleware
from .routers import health, periods, rulesets, runs, simulations, ui
from .settings import Settings
from .store import Store

DESCRIPTION = """\
How HR closes a period, how managers simulate, and how payroll takes the numbers.

* All bodies are JSON; money is always a decimal string.
* Errors are `{"errors": [{"path", "message"}]}`; invalid input is a 422 naming each record at fault.
* Authenticate with `Authorization: Bearer <key>` (or `X-API-Key`); keys come from
  `incentive keys create --role hr|manager|payroll`. `hr` may do everything, `manager`
  simulations, rule sets and statements, `payroll` runs, lines and exports.
* Closed runs are immutable; a correction is a new run that supersedes the old one.
"""

TAGS = [
    {"name": "simulations", "description": "compute without storing (hr, manager)"},
    {"name": "periods", "description": "close a period as an immutable run (hr)"},
    {"name": "runs", "description": "closed runs, lines, statements (hr, manager) and payroll exports (hr, payroll)"},
    {"name": "rule sets", "description": "bundled rule sets and validation (hr, manager)"},
    {"name": "health", "description": "no key needed"},
]


def create_app(settings: Settings | None = None, store: Store | None = None) -> FastAPI:
    settings = settings or Settings()
    store = store or Store.from_settings(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if settings.auto_migrate:
            await run_in_threadpool(store.migrate)
        yield
        store.dispose()

    app = FastAPI(title="Incentive", version=__version__, description=DESCRIPTION, openapi_tags=TAGS,
                  lifespan=lifespan)
    app.state.settings = settings
    app.state.store = store
    errors.install(app)
    app.add_middleware(ServiceMiddleware, max_body_bytes=settings.max_request_bytes)
    for module in (health, simulations, periods, runs, rulesets, ui):
        app.include_router(module.router)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, description=app.description,
                                 routes=app.routes, tags=app.openapi_tags)
            _add_examples(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def _add_examples(schema: dict[str, Any]) -> None:
    """Response examples for every route, computed by the engine from the request examples."""
    from .examples import example_responses

    for (path, method, status, media), example in example_responses().items():
        op = schema["paths"].get(path, {}).get(method)
        if op is None:
            continue
        content = op.setdefault("responses", {}).setdefault(str(status), {"description": ""}) \
            .setdefault("content", {})
        content.setdefault(media, {})["example"] = example
