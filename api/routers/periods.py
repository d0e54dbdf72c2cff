"""Period close: compute a period and store it as an immutable run.

``Idempotency-Key`` is required. The same key with the same request gives the stored response
again (status and body), however many arrive at once; the same key with another request is a
422. A period already closed with other data is a 409 naming its run unless the request
supersedes that run (with a reason), which stores a correction and answers with a delta report.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Annotated

from fastapi import APIRouter, Body, Depends, Header, Path, Request
from fastapi.responses import Response

from .. import examples
from ..errors import ApiError, RunConflict
from ..openapi_docs import AUTH, errors
from ..routing import DecimalJSONRoute
from ..schemas import CloseIn, RunOut
from ..security import HR, actor, require, store_of
from ..service import compute, new_run, read_period_input, resolve_rules
from ..store import Actor, KeyInfo, Store
from .runs import run_response

log = logging.getLogger("incentive.api")
router = APIRouter(prefix="/v1/periods", tags=["periods"], route_class=DecimalJSONRoute)


async def raw_body(request: Request) -> bytes:
    return await request.body()


def request_hash(period_id: str, body: bytes) -> str:
    h = hashlib.sha256(period_id.encode())
    h.update(b"\x00")
    h.update(body)
    return h.hexdigest()


@router.post(
    "/{period_id}/close", status_code=201, response_model=RunOut,
    responses={200: {"model": RunOut, "description": "the period was already closed with this very data: "
                                                     "its run (no new run is stored)"},
               **errors(*AUTH, 409)},
    summary="close a period: compute it and store the run (or a correction that supersedes one)",
)
def close_period(
    period_id: Annotated[str, Path(min_length=1, max_length=200)],
    body: Annotated[CloseIn, Body(openapi_examples=examples.CLOSE_EXAMPLES)],
    raw: Annotated[bytes, Depends(raw_body)],
    idempotency_key: Annotated[str, Header(alias="Idempotency-Key", min_length=1, max_length=255,
                                           description="a unique id per intended close, e.g. a UUID")],
    request: Request,
    key: Annotated[KeyInfo, Depends(require(HR))],
) -> Response:
    return _close(store_of(request), actor(request, key), period_id, body, request_hash(period_id, raw),
                  idempotency_key, request)


def _close(store: Store, who: Actor, period_id: str, body: CloseIn, sha: str, idem_key: str,
           request: Request) -> Response:
    """The close; every outcome is audited (refusals by the error handlers, see api.errors)."""
    seen = store.idempotency(idem_key)
    if seen is not None:
        if seen.request_sha256 != sha:
            raise ApiError(422, f"Idempotency-Key {idem_key!r} was already used with a different request "
                                f"(run {seen.run_id})", path="header.Idempotency-Key")
        _audit(store, request, who, "period.close.replay", seen.status_code, period_id, seen.run_id)
        return _answer(store, seen.run_id, seen.status_code, replayed=True)

    resolved = resolve_rules(body.rules)
    inp = read_period_input(body.input, resolved.rules)
    if inp.period.id != period_id:
        raise ApiError(422, f"the input is for period {inp.period.id!r}, not {period_id!r} (the URL's)",
                       path="input.period.id")
    run = new_run(inp, resolved, compute(inp, resolved.rules))
    supersede = None if body.supersede is None else (body.supersede.run_id, body.supersede.reason)
    outcome = store.close_period(run, idem_key=idem_key, request_sha256=sha, supersede=supersede, actor=who)
    if outcome.kind == "created":
        request.state.audited = True  # in the close's own transaction
        log.info("period %s closed as run %s by key %s (request %s)", period_id, outcome.run_id, who.key_name,
                 who.request_id)
        return _answer(store, outcome.run_id, 201, replayed=False)
    if outcome.kind in ("replay", "already_closed"):
        _audit(store, request, who, f"period.close.{outcome.kind}", outcome.status, period_id, outcome.run_id)
        return _answer(store, outcome.run_id, outcome.status, replayed=outcome.kind == "replay")
    path = {"conflict": "path.period_id", "bad_supersede": "supersede.run_id",
            "idempotency_mismatch": "header.Idempotency-Key"}[outcome.kind]
    raise RunConflict(outcome.status, outcome.message, path, outcome.run_id)


def _audit(store: Store, request: Request, who: Actor, action: str, status: int, period_id: str,
           run_id: str | None) -> None:
    store.audit(who, action, status_code=status, period_id=period_id, run_id=run_id)
    request.state.audited = True


def _answer(store: Store, run_id: str | None, status: int, replayed: bool) -> Response:
    assert run_id is not None
    resp = run_response(store, run_id)
    resp.status_code = status
    if replayed:
        resp.headers["Idempotent-Replayed"] = "true"
    return resp
