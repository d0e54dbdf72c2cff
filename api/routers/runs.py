"""Runs: list and read closed periods, page their lines, explain a person's payout, and export
the payroll file. Runs are read-only here (and everywhere)."""

from __future__ import annotations

from typing import Annotated, Literal

import orjson
from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response

from incentive.explain import UnknownPerson, statement_data, statement_text

from ..errors import ApiError
from ..openapi_docs import AUTH, errors
from ..render import render_statement
from ..routing import DecimalJSONRoute
from ..schemas import LinesPageOut, PayrollOut, RunListOut, StatementOut
from ..security import HR, MANAGER, PAYROLL, require, store_of
from ..service import XLSX_MEDIA_TYPE, payroll_file, run_body, run_summary
from ..store import KeyInfo, RunMeta, Store

router = APIRouter(prefix="/v1/runs", tags=["runs"], route_class=DecimalJSONRoute)
Payroll = Annotated[KeyInfo, Depends(require(PAYROLL))]
Manager = Annotated[KeyInfo, Depends(require(MANAGER))]
Hr = Annotated[KeyInfo, Depends(require(HR))]
RunId = Annotated[str, Path(min_length=1, max_length=40)]
MAX_PAGE = 1000


def _meta(store: Store, run_id: str) -> RunMeta:
    meta = store.get_run(run_id)
    if meta is None:
        raise ApiError(404, f"no run {run_id!r}", path="path.run_id")
    return meta


def _doc(store: Store, run_id: str) -> dict[str, object]:
    blob = store.result_bytes(run_id)
    if blob is None:
        raise ApiError(404, f"no run {run_id!r}", path="path.run_id")
    doc: dict[str, object] = orjson.loads(blob)
    return doc


def run_response(store: Store, run_id: str) -> Response:
    """A run as JSON: summary, result document and (for a correction) the delta report."""
    meta = _meta(store, run_id)
    result = store.result_bytes(run_id)
    assert result is not None
    old = store.result_bytes(meta.supersedes) if meta.supersedes else None
    return Response(run_body(meta, result, old), media_type="application/json")


def _json(data: object) -> Response:
    return Response(orjson.dumps(data), media_type="application/json")


@router.get("", response_model=RunListOut, responses=errors(*AUTH),
            summary="runs, oldest first (optionally of one period)")
def list_runs(request: Request, _key: Payroll,
              period_id: Annotated[str | None, Query(min_length=1, max_length=200)] = None) -> Response:
    return _json({"runs": [run_summary(m) for m in store_of(request).list_runs(period_id)]})


@router.get("/{run_id}", response_model=None, responses={
    200: {"description": "the run: who closed it and when, hashes, the result document, and for a correction "
                         "the delta from the run it supersedes",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/RunOut"}}}},
    **errors(*AUTH, 404)}, summary="one run with its result document")
def get_run(run_id: RunId, request: Request, _key: Payroll) -> Response:
    return run_response(store_of(request), run_id)


@router.get("/{run_id}/input", response_model=None, responses={
    200: {"description": "the canonical period input the run was computed from",
          "content": {"application/json": {"schema": {"type": "object"}}}},
    **errors(*AUTH, 404)}, summary="the stored canonical input of a run (hr only)")
def get_run_input(run_id: RunId, request: Request, _key: Hr) -> Response:
    blob = store_of(request).input_bytes(run_id)
    if blob is None:
        raise ApiError(404, f"no run {run_id!r}", path="path.run_id")
    return Response(blob, media_type="application/json")


@router.get("/{run_id}/lines", response_model=LinesPageOut, responses=errors(*AUTH, 404),
            summary="a page of a run's lines, optionally for one person and/or project")
def get_lines(run_id: RunId, request: Request, _key: Payroll,
              person_id: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
              project_id: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
              limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
              offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0) -> Response:
    store = store_of(request)
    _meta(store, run_id)
    items, total = store.lines(run_id, person_id=person_id, project_id=project_id, limit=limit, offset=offset)
    nxt = offset + len(items) if offset + len(items) < total else None
    return _json({"run_id": run_id, "total": total, "limit": limit, "offset": offset, "next_offset": nxt,
                  "items": items})


def _preferred(accept: str, offered: tuple[str, ...]) -> str:
    """The offered media type that the Accept header gives the highest q (the first offered one on
    a tie, or when the header accepts none of them)."""
    ranked = []
    for k, cand in enumerate(offered):
        q = 0.0
        for item in accept.split(","):
            media, *params = (p.strip() for p in item.split(";"))
            if media.lower() in (cand, cand.split("/")[0] + "/*", "*/*"):
                q = max(q, _q(params))
        ranked.append((-q, k))
    return offered[min(ranked)[1]]


def _q(params: list[str]) -> float:
    for p in params:
        if p.startswith("q="):
            try:
                return max(0.0, min(1.0, float(p[2:])))
            except ValueError:
                return 0.0
    return 1.0


@router.get("/{run_id}/people/{person_id}/statement", response_model=StatementOut, responses={
    200: {"description": "the statement; `Accept: text/html` gives a printable page, `text/plain` the text",
          "content": {"text/html": {"schema": {"type": "string"}}, "text/plain": {"schema": {"type": "string"}}}},
    **errors(*AUTH, 404)}, summary="one person's payout explained, number by number")
def get_statement(run_id: RunId, person_id: Annotated[str, Path(min_length=1, max_length=200)], request: Request,
                  _key: Manager) -> Response:
    store = store_of(request)
    doc = _doc(store, run_id)
    media = _preferred(request.headers.get("accept", ""), ("application/json", "text/html", "text/plain"))
    try:
        if media == "text/plain":
            return Response(statement_text(doc, person_id), media_type="text/plain; charset=utf-8")
        data = statement_data(doc, person_id)
    except UnknownPerson:
        raise ApiError(404, f"person {person_id!r} has no line in run {run_id}", path="path.person_id") from None
    if media == "text/html":
        return Response(render_statement(data, run_id), media_type="text/html; charset=utf-8")
    return _json({"run_id": run_id, **data})


@router.get("/{run_id}/export", response_model=PayrollOut, responses={
    200: {"description": "the payroll file: csv (a control-total trailer line), json, or xlsx (a 'control' "
                         "sheet); control totals also in the X-Control-Line-Count and X-Control-Amount-Sum headers",
          "content": {"text/csv": {"schema": {"type": "string"}},
                      XLSX_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}}},
    **errors(*AUTH, 404)}, summary="the payroll export of a run, with control totals")
def export_run(run_id: RunId, request: Request, _key: Payroll,
               format: Annotated[Literal["csv", "json", "xlsx"], Query()] = "csv") -> Response:
    store = store_of(request)
    meta = _meta(store, run_id)
    content, media, totals = payroll_file(_doc(store, run_id), run_id, format)
    headers = {"Content-Disposition": f'attachment; filename="payroll-{run_id}.{format}"',
               "X-Control-Line-Count": str(totals["line_count"]),
               "X-Control-Amount-Sum": str(totals["amount_sum"])}
    if meta.superseded_by:
        headers["X-Run-Superseded-By"] = meta.superseded_by
    return Response(content, media_type=media, headers=headers)
