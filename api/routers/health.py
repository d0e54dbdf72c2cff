"""Liveness and readiness; no API key needed."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.exc import SQLAlchemyError

from ..db import current_revision
from ..errors import ApiError
from ..openapi_docs import errors
from ..schemas import HealthOut, ReadyOut
from ..security import store_of

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=HealthOut, responses=errors(),
            summary="the process is up")
async def healthz() -> HealthOut:
    return HealthOut(status="ok")


@router.get("/readyz", response_model=ReadyOut, responses=errors(),
            summary="the database is reachable (503 when not)")
async def readyz(request: Request) -> ReadyOut:
    store = store_of(request)
    try:
        revision = await run_in_threadpool(current_revision, store.engine)
    except SQLAlchemyError:
        raise ApiError(503, "the database is not reachable") from None
    return ReadyOut(status="ready", database=store.engine.dialect.name, schema_revision=revision)
