"""The manager's page: the scenario simulator at ``/ui`` and the printable payout statement at
``/ui/runs/{run_id}/people/{person_id}/statement`` (docs/ui.md).

The HTML pages are Jinja2 shells that need no key: they hold no data. Their JavaScript
(api/static/) asks for an API key once, keeps it in the tab's sessionStorage and calls the
JSON API (``/v1/...``) with it. What the API lacks for the page is here, under ``/ui/...``,
behind the same keys and roles, and left out of the OpenAPI schema (it is the page's, not a
public contract):

* ``POST /ui/tables`` (hr, manager): CSV tables or an XLSX workbook → the JSON period input;
* ``POST /ui/rulesets/toml`` (hr, manager): a rule set (id or object) and a scenario's patch →
  the TOML text of the patched rule set (its sha256 in ``X-Ruleset-Sha256``);
* ``GET /ui/runs/{run_id}/ruleset`` (hr): the rule set a closed run was computed with, so
  the run can be the simulator's baseline (its input comes from ``GET /v1/runs/{id}/input``,
  hr only too).
"""

from __future__ import annotations

import hashlib
import re
import tempfile
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Body, Depends, File, Request, UploadFile
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, HTMLResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import BaseModel, ConfigDict, Field

from incentive.problems import InputError, Problem
from incentive.rules import RuleSet, apply_patch, parse_ruleset, parse_ruleset_text
from incentive.tables import TABLES, read_csv_folder, read_xlsx

from ..errors import ApiError
from ..routing import DecimalJSONRoute
from ..schemas import RulesPatch, RulesRef
from ..security import HR, MANAGER, require, store_of
from ..service import resolve_rules, under
from ..store import KeyInfo

API_DIR = Path(__file__).resolve().parent.parent
TEMPLATES = API_DIR / "templates"
STATIC = API_DIR / "static"
_STATIC_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,80}\.(css|js|svg|png|ico)$")
_MEDIA = {"css": "text/css; charset=utf-8", "js": "text/javascript; charset=utf-8", "svg": "image/svg+xml",
          "png": "image/png", "ico": "image/x-icon"}
# the pages load nothing from elsewhere and run no inline script
_PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                               "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
                               "frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}
MAX_TABLE_FILES = len(TABLES)

router = APIRouter(prefix="/ui", include_in_schema=False)
# JSON bodies keep their numbers' decimal text; included into `router` below (so no prefix of its own)
json_router = APIRouter(include_in_schema=False, route_class=DecimalJSONRoute)
Manager = Annotated[KeyInfo, Depends(require(MANAGER))]
Hr = Annotated[KeyInfo, Depends(require(HR))]


@cache
def _env() -> Environment:
    return Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                       trim_blocks=True, lstrip_blocks=True)


@cache
def _asset_version() -> str:
    """Changes whenever a static file does, so browsers never run a stale script."""
    h = hashlib.sha256()
    for p in sorted(STATIC.glob("*")):
        if p.is_file():
            h.update(p.name.encode() + b"\0" + p.read_bytes())
    return h.hexdigest()[:10]


def _page(template: str, **context: Any) -> HTMLResponse:
    html = _env().get_template(template).render(asset_version=_asset_version(), **context)
    return HTMLResponse(html, headers=_PAGE_HEADERS)


# ---------------------------------------------------------------------------------------------
# pages and static files (no key: they carry no data)


@router.get("", response_class=HTMLResponse)
def simulator_page() -> HTMLResponse:
    return _page("ui-simulator.html", page="simulator")


@router.get("/runs/{run_id}/people/{person_id}/statement", response_class=HTMLResponse)
def statement_page(run_id: Annotated[str, PathParam(min_length=1, max_length=40)],
                   person_id: Annotated[str, PathParam(min_length=1, max_length=200)]) -> HTMLResponse:
    return _page("ui-statement.html", page="statement", run_id=run_id, person_id=person_id)


@router.get("/static/{name}")
def static_file(name: Annotated[str, PathParam(max_length=100)]) -> FileResponse:
    file = STATIC / name
    if not _STATIC_NAME.match(name) or not file.is_file():
        raise ApiError(404, f"no static file {name!r}", path="path.name")
    return FileResponse(file, media_type=_MEDIA[name.rsplit(".", 1)[1]],
                        headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"})


# ---------------------------------------------------------------------------------------------
# CSV / XLSX tables -> the JSON period input


@router.post("/tables")
async def tables_to_input(files: Annotated[list[UploadFile], File(description="the CSV tables or one XLSX")],
                          _key: Manager) -> Response:
    """The period input read from uploaded tables (incentive.tables): either one ``.xlsx``
    workbook or the ``.csv`` files (period, people, projects, stages, collections,
    contributions). Problems are a 422 naming the file, row and column."""
    if not files:
        raise InputError([Problem("files", "upload the CSV tables or one XLSX workbook")])
    if len(files) > MAX_TABLE_FILES:
        raise InputError([Problem("files", f"at most {MAX_TABLE_FILES} files (one per table)")])
    names = [Path(f.filename or "").name for f in files]
    with tempfile.TemporaryDirectory(prefix="incentive-ui-") as tmp:
        folder = Path(tmp)
        if len(files) == 1 and names[0].lower().endswith(".xlsx"):
            target = folder / "input.xlsx"
            target.write_bytes(await files[0].read())
            data = read_xlsx(target)
        else:
            problems = []
            for name in names:
                stem = name.lower().removesuffix(".csv")
                if not name.lower().endswith(".csv") or stem not in TABLES:
                    known = ", ".join(f"{t}.csv" for t in TABLES)
                    problems.append(Problem(f"files[{name}]", f"not one of the tables ({known}) nor a single .xlsx"))
            if len(set(n.lower() for n in names)) != len(names):
                problems.append(Problem("files", "a table was uploaded twice"))
            if problems:
                raise InputError(problems)
            for upload, name in zip(files, names, strict=True):
                (folder / name.lower()).write_bytes(await upload.read())
            data = read_csv_folder(folder)
    # money stays decimal text; fte and score are numbers, as in the JSON input
    return Response(orjson.dumps(data, default=str), media_type="application/json")


# ---------------------------------------------------------------------------------------------
# a rule set as TOML


class TomlIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rules: RulesRef
    rules_patch: RulesPatch = Field(default_factory=dict)
    name: str | None = Field(default=None, max_length=200, description="the scenario's name, for the header")


_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def _toml_key(key: str) -> str:
    return key if _BARE_KEY.match(key) else _toml_string(key)


def _toml_string(text: str) -> str:
    out = ['"']
    for ch in text:
        code = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\u{code:04X}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        text = format(value.normalize(), "f")
        return text
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


def ruleset_toml(rules: RuleSet, header: list[str] | None = None) -> str:
    """The TOML text of a validated rule set: its tables in the model's order, numbers as their
    exact decimal text. Reading it back gives the same rule set (the same sha256)."""
    data = rules.model_dump(by_alias=True, mode="python", exclude_none=True)
    out = [f"# {line}" if line else "#" for line in header or []]
    for table, body in data.items():
        if not isinstance(body, dict):
            raise TypeError(f"rule-set table {table!r} is not a table")
        if out:
            out.append("")
        out.append(f"[{_toml_key(table)}]")
        for key, value in body.items():
            if isinstance(value, list | tuple) and value and all(isinstance(v, dict) for v in value):
                rows = ",\n".join(f"  {_toml_value(v)}" for v in value)
                out.append(f"{_toml_key(key)} = [\n{rows},\n]")
            else:
                out.append(f"{_toml_key(key)} = {_toml_value(value)}")
    text = "\n".join(out) + "\n"
    again = parse_ruleset_text(text, source="generated TOML")
    if again.sha256 != rules.sha256:  # never hand out a file that means something else
        raise RuntimeError("the generated TOML does not read back as the same rule set")
    return text


def _changes(patch: dict[str, Any], prefix: str = "") -> list[str]:
    out = []
    for key, value in patch.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and key not in ("roles", "stages", "project_types"):
            out += _changes(value, path + ".")
        elif value is None:
            out.append(f"{path}: removed")
        else:
            out.append(f"{path} = {_show(value)}")
    return out


def _show(value: Any) -> str:
    """A patch value as TOML-like text for a comment (decimal strings bare)."""
    if isinstance(value, str):
        try:
            Decimal(value)
        except ArithmeticError:
            return _toml_string(value)
        return value
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_toml_key(str(k))} = {_show(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    return _toml_value(value)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-")[:60] or "scenario"


@json_router.post("/rulesets/toml")
def rules_as_toml(body: Annotated[TomlIn, Body()], _key: Manager) -> Response:
    """The rule set (a bundled id or an object) with the patch applied, as a TOML file."""
    base = resolve_rules(body.rules).rules
    rules = under("rules_patch", lambda: apply_patch(base, body.rules_patch), "rule set") \
        if body.rules_patch else base
    rs = rules.ruleset
    header = [f"rule set {rs.id} v{rs.version}" + (f", scenario {body.name!r}" if body.name else "")
              + " (written by the Incentive simulator, /ui)"]
    changes = _changes(body.rules_patch)
    if changes:
        header += [f"changed from {rs.id} v{rs.version} (sha256 {base.sha256[:12]}):", *(f"  {c}" for c in changes),
                   "bump [ruleset].version before you use this file: a result names the version it used"]
    header.append(f"sha256 of this rule set: {rules.sha256}")
    text = ruleset_toml(rules, header)
    filename = f"{_slug(rs.id)}-{_slug(body.name)}.toml" if body.name else f"{_slug(rs.id)}.toml"
    return Response(text, media_type="application/toml; charset=utf-8",
                    headers={"X-Ruleset-Sha256": rules.sha256,
                             "Content-Disposition": f'attachment; filename="{filename}"'})


# ---------------------------------------------------------------------------------------------
# a closed run's rule set (for using the run as the baseline)


@router.get("/runs/{run_id}/ruleset")
def run_ruleset(run_id: Annotated[str, PathParam(min_length=1, max_length=40)], request: Request,
                _key: Hr) -> Response:
    """The rule set a run was computed with: its canonical object (usable as ``rules`` in a
    simulation), sha256, and the stored text."""
    source = store_of(request).ruleset_source(run_id)
    if source is None:
        raise ApiError(404, f"no run {run_id!r}", path="path.run_id")
    fmt, text = source
    rules = parse_ruleset_text(text, source=run_id) if fmt == "toml" else parse_ruleset(orjson.loads(text))
    return Response(orjson.dumps({"run_id": run_id, "format": fmt, "sha256": rules.sha256, "id": rules.ruleset.id,
                                  "version": rules.ruleset.version, "canonical": rules.canonical(), "text": text}),
                    media_type="application/json")


router.include_router(json_router)
