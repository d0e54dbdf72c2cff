"""The bridge between the HTTP layer and the engine: rule-set resolution, allocation,
delta reports, run views and payroll files. Nothing here knows about HTTP or roles.

Problems found by the engine keep their record paths, prefixed with where they sit in the
request (``input.people[p1].left_on``, ``rules.roles``, ``scenarios[0].rules_patch.caps``).
"""

from __future__ import annotations

import io
import logging
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any, Literal, TypeVar

import orjson

from incentive.model import PeriodInput, read_input
from incentive.money import unit_places
from incentive.payroll import COLUMNS, control_totals, payroll_csv, payroll_rows
from incentive.pipeline import allocate
from incentive.problems import InputError, Problem
from incentive.result import dumps
from incentive.rules import RuleSet, apply_patch, list_bundled, parse_ruleset, parse_ruleset_text

from .store import NewRun, RunMeta

T = TypeVar("T")
log = logging.getLogger("incentive.api")
# patch tables that change what a valid input is (roles, stages, project types, margin rule)
_INPUT_RELEVANT = frozenset({"roles", "stages", "project_types", "pool"})


def prefixed(prefix: str, problems: Iterable[Problem]) -> list[Problem]:
    out = []
    for p in problems:
        inner = p.path
        if inner in ("", "(input)", "(rule set)"):
            path = prefix
        elif inner.startswith("["):
            path = prefix + inner
        else:
            path = f"{prefix}.{inner}"
        out.append(Problem(path, p.message))
    return out


def under(prefix: str, fn: Callable[[], T], what: str = "request") -> T:
    """Run `fn`; an InputError it raises comes out with its paths under `prefix`."""
    try:
        return fn()
    except InputError as exc:
        raise InputError(prefixed(prefix, exc.problems), what) from None


# ---------------------------------------------------------------------------------------------
# rule sets


@dataclass(frozen=True)
class ResolvedRules:
    rules: RuleSet
    format: Literal["toml", "json"]
    text: str


def bundled_rulesets() -> dict[str, Path]:
    """The rule-set files under rules/, by id (file name without .toml)."""
    return {p.stem: p for p in list_bundled()}


def resolve_rules(ref: str | dict[str, Any], path: str = "rules") -> ResolvedRules:
    """A rule set from an id of a bundled file or from a rule-set object; only bundled files are
    read (an id is never used as a file path)."""
    if isinstance(ref, str):
        files = bundled_rulesets()
        file = files.get(ref)
        if file is None:
            known = ", ".join(sorted(files)) or "none"
            raise InputError([Problem(path, f"unknown rule-set id {ref!r} (bundled: {known})")], "rule set")
        text = file.read_text(encoding="utf-8")
        return ResolvedRules(under(path, lambda: parse_ruleset_text(text, source=ref), "rule set"), "toml", text)
    rules = under(path, lambda: parse_ruleset(ref), "rule set")
    return ResolvedRules(rules, "json", rules.canonical_json())


def validate_toml(text: str, path: str = "toml") -> RuleSet:
    return under(path, lambda: parse_ruleset_text(text, source=path), "rule set")


def ruleset_summary(rules: RuleSet) -> dict[str, Any]:
    return {"id": rules.ruleset.id, "version": rules.ruleset.version, "currency": rules.ruleset.currency,
            "sha256": rules.sha256}


# ---------------------------------------------------------------------------------------------
# allocation


def read_period_input(raw: dict[str, Any], rules: RuleSet, path: str = "input") -> PeriodInput:
    """The validated input; problems come out under `path`.

    Validation that crashes instead of reporting (an engine gap, logged with where) is still
    the input's fault: it becomes a 422, never a 500."""
    try:
        return under(path, lambda: read_input(raw, rules), "input")
    except InputError:
        raise
    except (ValueError, TypeError, IndexError, KeyError, AttributeError) as exc:
        where = traceback.extract_tb(exc.__traceback__)[-1]
        log.warning("engine validation crashed (%s at %s:%s) instead of reporting a problem; answered 422",
                    type(exc).__name__, Path(where.filename).name, where.lineno)
        raise InputError([Problem(path, "the input could not be validated: a field has a value of the wrong "
                                        "kind (for example a list or object where a number or text belongs)")],
                         "input") from None


def compute(inp: PeriodInput, rules: RuleSet) -> dict[str, Any]:
    """The result document of a validated input under a validated rule set."""
    try:
        return allocate(inp, rules).document()
    except OverflowError:
        # engine gap (reported): amounts beyond 64-bit minor units pass validation, then overflow
        raise InputError([Problem("input", "amounts too large to compute: an event amount exceeds "
                                           "2^63 rounding units; check contract values, collections and rates")],
                         "input") from None


def simulate(raw: dict[str, Any], ref: str | dict[str, Any], scenarios: list[tuple[str, dict[str, Any]]]
             ) -> dict[str, Any]:
    """The base result and, per scenario (a rules patch), its result and the deltas from the base."""
    names = [n for n, _ in scenarios]
    problems = [Problem(f"scenarios[{k}].name", f"scenario name {n!r} is already used by scenarios[{names.index(n)}]")
                for k, n in enumerate(names) if names.index(n) != k]
    base = resolve_rules(ref)
    patched: list[RuleSet] = []
    for k, (_, patch) in enumerate(scenarios):
        try:
            patched.append(under(f"scenarios[{k}].rules_patch", partial(apply_patch, base.rules, patch)))
        except InputError as exc:
            problems += exc.problems
    if problems:
        raise InputError(problems, "request")
    inp = read_period_input(raw, base.rules)
    result = compute(inp, base.rules)
    out = []
    for (name, patch), rules in zip(scenarios, patched, strict=True):
        sc_inp = _scenario_input(raw, rules, name) if _INPUT_RELEVANT & set(patch) else inp
        sc_result = compute(sc_inp, rules)
        out.append({"name": name, "ruleset_sha256": rules.sha256, "result": sc_result,
                    "deltas": delta_report(result, sc_result)})
    return {"result": result, "scenarios": out}


def _scenario_input(raw: dict[str, Any], rules: RuleSet, name: str) -> PeriodInput:
    try:
        return read_period_input(raw, rules)
    except InputError as exc:
        raise InputError([Problem(p.path, f"under scenario {name!r}: {p.message}") for p in exc.problems],
                         "input") from None


def new_run(inp: PeriodInput, resolved: ResolvedRules, doc: dict[str, Any]) -> NewRun:
    """What a close stores, computed before its transaction opens."""
    rules = resolved.rules
    _storable(inp, rules, doc)
    return NewRun(
        period_id=inp.period.id, input_sha256=inp.sha256, ruleset_id=rules.ruleset.id,
        ruleset_version=rules.ruleset.version, ruleset_sha256=rules.sha256, ruleset_format=resolved.format,
        ruleset_text=resolved.text, input_json=orjson.dumps(inp.to_document()), result_json=dumps(doc),
        currency=rules.ruleset.currency, totals=doc["totals"], lines=doc["lines"], people_count=len(doc["people"]),
    )


def _storable(inp: PeriodInput, rules: RuleSet, doc: dict[str, Any]) -> None:
    """Text the store keeps in columns must not hold NUL characters (PostgreSQL refuses them)."""
    problems = []
    for path, value in (("input.period.id", inp.period.id), ("rules.ruleset.id", rules.ruleset.id),
                        ("rules.ruleset.version", rules.ruleset.version),
                        ("rules.ruleset.currency", rules.ruleset.currency)):
        if "\x00" in value:
            problems.append(Problem(path, "must not contain NUL characters"))
    bad = {(kind, ln[field]) for ln in doc["lines"] for kind, field in
           (("people", "person_id"), ("projects", "project_id"), ("roles", "role")) if "\x00" in ln[field]}
    for kind, value in sorted(bad):
        where = f"rules.roles.{value!r}" if kind == "roles" else f"input.{kind}[{value!r}].id"
        problems.append(Problem(where, "ids must not contain NUL characters"))
    if problems:
        raise InputError(problems, "input")


# ---------------------------------------------------------------------------------------------
# deltas


def _unit_zero(doc: dict[str, Any]) -> Decimal:
    return Decimal(0).quantize(Decimal(doc["ruleset"].get("unit", "0.01")))


def delta_report(old: dict[str, Any], new: dict[str, Any], base_run_id: str | None = None) -> dict[str, Any]:
    """Per person and per line: old amount, new amount and the difference; only those that
    changed are listed (the counts of the others are given)."""
    zero = _unit_zero(new)

    def diff(a: dict[Any, dict[str, Any]], b: dict[Any, dict[str, Any]], field: str,
             head: Callable[[dict[str, Any]], dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
        changed, same = [], 0
        for key in sorted(set(a) | set(b)):
            o = Decimal(a[key][field]) if key in a else zero
            n = Decimal(b[key][field]) if key in b else zero
            if o == n:
                same += 1
                continue
            changed.append({**head(a.get(key) or b[key]), "old": str(o), "new": str(n), "difference": str(n - o)})
        return changed, same

    people, same_people = diff({p["person_id"]: p for p in old["people"]}, {p["person_id"]: p for p in new["people"]},
                               "total", lambda p: {"person_id": p["person_id"]})
    key = _line_key
    lines, same_lines = diff({key(ln): ln for ln in old["lines"]}, {key(ln): ln for ln in new["lines"]}, "amount",
                             lambda ln: {"line_id": ln.get("line_id") or "/".join(key(ln)),
                                         "person_id": ln["person_id"], "project_id": ln["project_id"],
                                         "role": ln["role"]})
    o_paid, n_paid = Decimal(old["totals"]["paid"]), Decimal(new["totals"]["paid"])
    return {"base_run_id": base_run_id, "totals": {"old": str(o_paid), "new": str(n_paid),
                                                   "difference": str(n_paid - o_paid)},
            "people": people, "lines": lines, "unchanged_people": same_people, "unchanged_lines": same_lines}


def _line_key(ln: dict[str, Any]) -> tuple[str, str, str]:
    return (ln["person_id"], ln["project_id"], ln["role"])


# ---------------------------------------------------------------------------------------------
# run views


def run_summary(m: RunMeta) -> dict[str, Any]:
    return {
        "run_id": m.run_id, "period_id": m.period_id, "status": "superseded" if m.superseded_by else "current",
        "created_at": m.created_at, "closed_by": m.closed_by, "input_sha256": m.input_sha256,
        "result_sha256": m.result_sha256,
        "ruleset": {"id": m.ruleset_id, "version": m.ruleset_version, "sha256": m.ruleset_sha256,
                    "format": m.ruleset_format},
        "currency": m.currency,
        "totals": {"pools": m.total_pools, "paid": m.total_paid, "forfeited": m.total_forfeited},
        "line_count": m.line_count, "people_count": m.people_count, "supersedes": m.supersedes,
        "supersede_reason": m.supersede_reason, "superseded_by": m.superseded_by,
    }


def run_body(m: RunMeta, result: bytes, superseded_result: bytes | None) -> bytes:
    """The JSON body of a run (GET /v1/runs/{id} and every close response): a pure function of
    what is stored, so a replayed close answers with the same bytes."""
    doc = orjson.loads(result)
    delta = None
    if m.supersedes is not None and superseded_result is not None:
        delta = delta_report(orjson.loads(superseded_result), doc, m.supersedes)
    return orjson.dumps({**run_summary(m), "result": doc, "delta": delta})


# ---------------------------------------------------------------------------------------------
# payroll files

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def payroll_json(doc: dict[str, Any], run_id: str, rows: list[dict[str, str]] | None = None) -> dict[str, Any]:
    rows = payroll_rows(doc, run_id) if rows is None else rows
    return {"run_id": run_id, "period_id": doc["period"]["id"], "columns": list(COLUMNS), "rows": rows,
            "control_totals": control_totals(rows)}


def payroll_file(doc: dict[str, Any], run_id: str, fmt: str) -> tuple[bytes, str, dict[str, str | int]]:
    """(content, media type, control totals) of the payroll export in `fmt` (csv, json, xlsx)."""
    rows = payroll_rows(doc, run_id)
    totals = control_totals(rows)
    if fmt == "csv":
        return payroll_csv(doc, run_id).encode(), "text/csv; charset=utf-8", totals
    if fmt == "json":
        return orjson.dumps(payroll_json(doc, run_id, rows)), "application/json", totals
    return _xlsx(rows, totals, doc, run_id), XLSX_MEDIA_TYPE, totals


def _xlsx(rows: list[dict[str, str]], totals: dict[str, str | int], doc: dict[str, Any], run_id: str) -> bytes:
    """Sheet "payroll" (amounts as numbers formatted to the rounding unit) and sheet "control"."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    places = unit_places(Decimal(doc["ruleset"].get("unit", "0.01")))
    number_format = "0" if places == 0 else "0." + "0" * places
    wb = Workbook(write_only=True)  # streamed: linear in the rows
    ws = wb.create_sheet("payroll")

    def amount(ws_: Any, value: str | int) -> WriteOnlyCell:
        cell = WriteOnlyCell(ws_, value=Decimal(str(value)))
        cell.number_format = number_format
        return cell

    ws.append(list(COLUMNS))
    for r in rows:
        ws.append([amount(ws, r[c]) if c == "amount" else r[c] for c in COLUMNS])
    ct = wb.create_sheet("control")
    ct.append(["line_count", totals["line_count"]])
    ct.append(["amount_sum", amount(ct, totals["amount_sum"])])
    ct.append(["run_id", run_id])
    ct.append(["period_id", doc["period"]["id"]])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
