"""The period input (SPEC §2): period, people, projects and contribution records.

People and projects are few (thousands) and are pydantic models. Contribution records are
many (a million in a large company) and are held as columns: numpy arrays, one value per
record, so every rule downstream is a vectorised formula over them. Dates become integer
day numbers (days since 1970-01-01) so windows and overlaps are integer arithmetic.

`read_input` validates the whole input against a rule set and reports every problem at
once, each naming the record id and field at fault.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Annotated, Any

import numpy as np
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from .money import to_decimal
from .problems import InputError, Problem
from .rules import RuleSet

MAX_PROBLEMS = 500
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
EPOCH = date(1970, 1, 1)


def _iso_date(v: object) -> object:
    if isinstance(v, date):
        return v
    if not isinstance(v, str) or not _DATE_RE.match(v.strip()):
        raise ValueError(f"{v!r} is not an ISO date (YYYY-MM-DD)")
    try:
        return date.fromisoformat(v.strip())
    except ValueError:
        raise ValueError(f"{v!r} is not a valid calendar date") from None


def _money(v: object) -> object:
    return to_decimal(v)


def _opt_money(v: object) -> object:
    if v is None or v == "":
        return None
    return to_decimal(v)


def _opt_date(v: object) -> object:
    if v is None or v == "":
        return None
    return _iso_date(v)


IsoDate = Annotated[date, BeforeValidator(_iso_date)]
OptDate = Annotated[date | None, BeforeValidator(_opt_date)]
Money = Annotated[Decimal, BeforeValidator(_money)]
OptMoney = Annotated[Decimal | None, BeforeValidator(_opt_money)]


def day_number(d: date) -> int:
    """Days since 1970-01-01: the integer form of a date used in all array arithmetic."""
    return (d - EPOCH).days


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Period(_Record):
    id: str = Field(min_length=1)
    start: IsoDate
    end: IsoDate


class Person(_Record):
    id: str = Field(min_length=1)
    name: str | None = None
    cost_center: str | None = None
    annual_base_salary: OptMoney = None
    left_on: OptDate = None


class Collection(_Record):
    id: str = Field(min_length=1)
    date: IsoDate
    amount: Money


class StageWindow(_Record):
    start: IsoDate
    end: IsoDate


class Project(_Record):
    id: str = Field(min_length=1)
    name: str | None = None
    customer: str | None = None
    type: str = "standard"
    contract_value: OptMoney = None
    margin: OptMoney = None
    won_on: OptDate = None
    stages: dict[str, StageWindow] = Field(default_factory=dict)
    collections: tuple[Collection, ...] = ()


CONTRIBUTION_FIELDS = ("id", "person_id", "project_id", "role", "start", "end", "fte", "score")


@dataclass(frozen=True, eq=False)
class Contributions:
    """Contribution records as columns (one entry per record, in input order)."""

    id: np.ndarray  # str objects
    person_id: np.ndarray  # str objects
    project_id: np.ndarray  # str objects
    role: np.ndarray  # str objects
    start: np.ndarray  # int64 day numbers
    end: np.ndarray  # int64 day numbers, inclusive
    fte: np.ndarray  # float64 in (0, 1]
    score: np.ndarray  # float64 >= 0

    def __len__(self) -> int:
        return int(self.id.shape[0])

    def record(self, i: int) -> dict[str, Any]:
        """Record i as plain data (dates as ISO text), as it would appear in a JSON input."""
        return {
            "id": str(self.id[i]),
            "person_id": str(self.person_id[i]),
            "project_id": str(self.project_id[i]),
            "role": str(self.role[i]),
            "start": _iso(int(self.start[i])),
            "end": _iso(int(self.end[i])),
            "fte": _num(float(self.fte[i])),
            "score": _num(float(self.score[i])),
        }

    def records(self) -> list[dict[str, Any]]:
        starts = (self.start.astype("datetime64[D]")).astype(str).tolist()
        ends = (self.end.astype("datetime64[D]")).astype(str).tolist()
        return [
            {
                "id": i, "person_id": p, "project_id": j, "role": r, "start": s, "end": e,
                "fte": _num(f), "score": _num(c),
            }
            for i, p, j, r, s, e, f, c in zip(
                self.id.tolist(), self.person_id.tolist(), self.project_id.tolist(),
                self.role.tolist(), starts, ends, self.fte.tolist(), self.score.tolist(),
                strict=True,
            )
        ]

    def digest(self) -> bytes:
        """A sha256 of the columns in a fixed encoding (fast at a million records)."""
        h = hashlib.sha256()
        for col in (self.id, self.person_id, self.project_id, self.role):
            h.update("\x1f".join(col.tolist()).encode())
            h.update(b"\x1e")
        for arr in (self.start, self.end):
            h.update(np.ascontiguousarray(arr, dtype="<i8").tobytes())
        for arr in (self.fte, self.score):
            h.update(np.ascontiguousarray(arr, dtype="<f8").tobytes())
        return h.digest()


def _iso(day: int) -> str:
    return str(np.datetime64(day, "D"))


def _num(x: float) -> int | float:
    return int(x) if x == int(x) else x


@dataclass(frozen=True, eq=False)
class PeriodInput:
    """A validated period input. Immutable; `sha256` identifies it in results and runs."""

    period: Period
    people: tuple[Person, ...]
    projects: tuple[Project, ...]
    contributions: Contributions
    _sha: list[str] = field(default_factory=list, repr=False)

    @property
    def period_start(self) -> int:
        return day_number(self.period.start)

    @property
    def period_end(self) -> int:
        return day_number(self.period.end)

    def header(self) -> dict[str, Any]:
        """Period, people and projects as canonical plain data (money as decimal text)."""
        return {
            "period": self.period.model_dump(mode="json"),
            "people": [_canon_model(p) for p in self.people],
            "projects": [_canon_model(p) for p in self.projects],
        }

    def to_document(self) -> dict[str, Any]:
        """The whole input as canonical JSON-able data (what a stored run keeps)."""
        doc = self.header()
        doc["contributions"] = self.contributions.records()
        return doc

    @property
    def sha256(self) -> str:
        """sha256 of the canonical input: header JSON (sorted keys) then the record columns."""
        if not self._sha:
            h = hashlib.sha256()
            h.update(json.dumps(self.header(), sort_keys=True, separators=(",", ":")).encode())
            h.update(self.contributions.digest())
            self._sha.append(h.hexdigest())
        return self._sha[0]


def _canon_model(m: BaseModel) -> dict[str, Any]:
    data = m.model_dump(mode="python")
    return _canon(data)


def _canon(v: Any) -> Any:
    if isinstance(v, Decimal):
        return format(v.normalize(), "f") if v == v.to_integral_value() else format(v, "f")
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, dict):
        return {k: _canon(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_canon(x) for x in v]
    return v


# ----------------------------------------------------------------------------------------
# reading and validating


class _Problems:
    """Collects problems up to a limit, then counts the rest."""

    def __init__(self) -> None:
        self.items: list[Problem] = []
        self.dropped = 0

    def add(self, path: str, message: str) -> None:
        if len(self.items) < MAX_PROBLEMS:
            self.items.append(Problem(path, message))
        else:
            self.dropped += 1

    def final(self) -> list[Problem]:
        out = list(self.items)
        if self.dropped:
            out.append(Problem("(input)", f"... and {self.dropped} more problem(s) not listed"))
        return out


def _label(kind: str, index: int, raw: object) -> str:
    if isinstance(raw, dict) and isinstance(raw.get("id"), str) and raw.get("id"):
        return f"{kind}[{raw['id']}]"
    return f"{kind}[#{index}]"


def _model_problems(err: ValidationError, base: str, probs: _Problems, raw: object) -> None:
    for e in err.errors():
        loc = list(e["loc"])
        path = base
        node: Any = raw
        for item in loc:
            if isinstance(item, int):
                child = node[item] if isinstance(node, list | tuple) and item < len(node) else None
                if isinstance(child, dict) and isinstance(child.get("id"), str):
                    path += f"[{child['id']}]"
                else:
                    path += f"[#{item}]"
                node = child
            else:
                path += f".{item}"
                node = node.get(item) if isinstance(node, dict) else None
        msg = e["msg"]
        if e["type"] == "extra_forbidden":
            msg = "unknown field"
        elif e["type"] == "missing":
            msg = "required field is missing"
        elif msg.startswith("Value error, "):
            msg = msg[len("Value error, "):]
        probs.add(path, msg)


def _parse_records(raw: object, kind: str, model: type[BaseModel], probs: _Problems) -> list[Any]:
    if raw is None:
        raw = []
    if not isinstance(raw, list):
        probs.add(kind, "must be a list of records")
        return []
    out = []
    for i, rec in enumerate(raw):
        label = _label(kind, i, rec)
        if not isinstance(rec, dict):
            probs.add(label, "must be an object")
            continue
        try:
            out.append(model.model_validate(rec))
        except ValidationError as err:
            _model_problems(err, label, probs, rec)
    return out


def _dup_ids(ids: list[str], kind: str, probs: _Problems) -> None:
    for k, n in sorted(Counter(ids).items()):
        if n > 1:
            probs.add(f"{kind}[{k}]", f"duplicate id {k!r} ({n} records)")


def _contribution_columns(raw: object, probs: _Problems) -> Contributions | None:
    if raw is None:
        raw = []
    if not isinstance(raw, list):
        probs.add("contributions", "must be a list of records")
        return None
    recs: list[Any] = raw
    n = len(recs)
    if not all(type(r) is dict for r in recs):
        for i, r in enumerate(recs):
            if not isinstance(r, dict):
                probs.add(f"contributions[#{i}]", "must be an object")
        return None
    keys: set[str] = set().union(*(r.keys() for r in recs)) if n else set()
    extra = keys - set(CONTRIBUTION_FIELDS)
    ok = True
    if extra:
        for i, r in enumerate(recs):
            for k in sorted(set(r) - set(CONTRIBUTION_FIELDS)):
                probs.add(f"{_label('contributions', i, r)}.{k}", "unknown field")
        ok = False

    def labels(mask: np.ndarray) -> list[tuple[int, str]]:
        return [(int(i), _label("contributions", int(i), recs[int(i)])) for i in np.flatnonzero(mask)]

    cols: dict[str, np.ndarray] = {}
    for name in ("id", "person_id", "project_id", "role"):
        vals = [r.get(name) for r in recs]
        bad = np.fromiter((type(v) is not str or not v for v in vals), dtype=bool, count=n)
        for i, lab in labels(bad):
            v = vals[i]
            probs.add(f"{lab}.{name}", "required field is missing" if v is None else f"{v!r} must be a non-empty text")
            ok = False
        cols[name] = np.array(vals, dtype=object)
    for name in ("start", "end"):
        vals = [r.get(name) for r in recs]
        days = np.zeros(n, dtype=np.int64)
        try:
            if not all(type(v) is str and len(v) == 10 for v in vals):
                raise ValueError
            days = np.array(vals, dtype="datetime64[D]").astype(np.int64)
        except (ValueError, TypeError):
            for i, v in enumerate(vals):
                try:
                    if v is None:
                        raise ValueError("required field is missing")
                    days[i] = day_number(_iso_date(v))  # type: ignore[arg-type]
                except ValueError as exc:
                    probs.add(f"{_label('contributions', i, recs[i])}.{name}", str(exc))
                    ok = False
        cols[name] = days
    for name, default in (("fte", 1.0), ("score", 1.0)):
        vals = [r.get(name, default) for r in recs]
        try:
            if any(type(v) is bool for v in vals):
                raise TypeError
            arr = np.array(vals, dtype=np.float64)
        except (ValueError, TypeError):
            arr = np.ones(n, dtype=np.float64)
            for i, v in enumerate(vals):
                try:
                    if type(v) is bool:
                        raise ValueError
                    arr[i] = float(v)
                except (ValueError, TypeError):
                    probs.add(f"{_label('contributions', i, recs[i])}.{name}", f"{v!r} is not a number")
                    arr[i] = default
                    ok = False
        if name == "fte":
            bad = ~((arr > 0) & (arr <= 1))
            what = "fte must be in (0, 1]"
        else:
            bad = ~((arr >= 0) & np.isfinite(arr))
            what = "score must be a finite number >= 0"
        for i, lab in labels(bad):
            probs.add(f"{lab}.{name}", f"{what}, got {vals[i]!r}")
            ok = False
        cols[name] = arr
    if not ok:
        return None
    return Contributions(**cols)


def read_input(raw: Any, rules: RuleSet) -> PeriodInput:
    """Validate a period input (plain data, e.g. parsed JSON) against a rule set.

    Every problem is collected and raised together as an InputError; nothing is computed
    from an input that has any.
    """
    probs = _Problems()
    if not isinstance(raw, dict):
        raise InputError([Problem("(input)", "the period input must be a JSON object")])
    for k in sorted(set(raw) - {"period", "people", "projects", "contributions"}):
        probs.add(k, "unknown top-level field")
    period: Period | None = None
    if "period" not in raw:
        probs.add("period", "required field is missing")
    else:
        try:
            period = Period.model_validate(raw["period"])
        except ValidationError as err:
            _model_problems(err, "period", probs, raw["period"])
    people: list[Person] = _parse_records(raw.get("people"), "people", Person, probs)
    projects: list[Project] = _parse_records(raw.get("projects"), "projects", Project, probs)
    contribs = _contribution_columns(raw.get("contributions"), probs)

    if period is not None and period.end < period.start:
        probs.add("period.end", f"period ends ({period.end}) before it starts ({period.start})")
    _dup_ids([p.id for p in people], "people", probs)
    _dup_ids([p.id for p in projects], "projects", probs)
    _dup_ids([c.id for p in projects for c in p.collections], "collections", probs)
    for p in people:
        if p.annual_base_salary is not None and p.annual_base_salary < 0:
            probs.add(f"people[{p.id}].annual_base_salary", "must not be negative")
    for pj in projects:
        _check_project(pj, rules, probs)
    if contribs is not None:
        _check_contributions(contribs, {p.id for p in people}, {p.id for p in projects}, rules, probs)

    problems = probs.final()
    if problems:
        raise InputError(problems)
    assert period is not None and contribs is not None
    return PeriodInput(period, tuple(people), tuple(projects), contribs)


def _check_project(pj: Project, rules: RuleSet, probs: _Problems) -> None:
    base = f"projects[{pj.id}]"
    if rules.project_types is not None and pj.type not in rules.project_types:
        known = ", ".join(sorted(rules.project_types))
        probs.add(f"{base}.type", f"project {pj.id}: type {pj.type!r} is not in the rule set's project_types ({known})")
    if pj.contract_value is not None and pj.contract_value < 0:
        probs.add(f"{base}.contract_value", f"project {pj.id}: contract_value must not be negative")
    if pj.margin is not None and not (0 <= pj.margin <= 1):
        probs.add(f"{base}.margin", f"project {pj.id}: margin must be between 0 and 1, got {pj.margin}")
    if pj.won_on is not None:
        if pj.contract_value is None:
            probs.add(f"{base}.contract_value", f"project {pj.id} is won but has no contract_value")
        if rules.pool.margin_table is not None and pj.margin is None:
            probs.add(f"{base}.margin",
                      f"project {pj.id} is won and the rule set has a margin_table, but margin is missing")
    for name, win in pj.stages.items():
        if name not in rules.stages:
            known = ", ".join(rules.stages)
            probs.add(f"{base}.stages.{name}",
                      f"project {pj.id}: stage {name!r} is not in the rule set's stages ({known})")
        if win.end < win.start:
            probs.add(f"{base}.stages.{name}",
                      f"project {pj.id}: stage {name!r} ends ({win.end}) before it starts ({win.start})")
    for c in pj.collections:
        path = f"{base}.collections[{c.id}]"
        if pj.won_on is None:
            probs.add(path, f"collection {c.id} on project {pj.id}, which is not won (won_on is null)")
        elif c.date < pj.won_on:
            probs.add(path, f"collection {c.id} on project {pj.id} is dated {c.date}, before the win on {pj.won_on}")
        if c.amount < 0:
            probs.add(f"{path}.amount", f"collection {c.id} on project {pj.id} is negative ({c.amount}): "
                      "refunds/clawbacks are not supported yet")


def _check_contributions(
    c: Contributions, people: set[str], projects: set[str], rules: RuleSet, probs: _Problems
) -> None:
    def lab(i: int) -> str:
        return f"contributions[{c.id[i]}]"

    ids, counts = np.unique(c.id.astype(str), return_counts=True)
    for k in ids[counts > 1].tolist():
        probs.add(f"contributions[{k}]", f"duplicate id {k!r} ({int(counts[ids == k][0])} records)")
    for col, known, what in (
        (c.person_id, people, "people"),
        (c.project_id, projects, "projects"),
        (c.role, set(rules.roles), "the rule set's roles"),
    ):
        uniq, inv = np.unique(col.astype(str), return_inverse=True)
        bad_vals = np.array([u not in known for u in uniq.tolist()], dtype=bool)
        if bad_vals.any():
            field_name = {"people": "person_id", "projects": "project_id"}.get(what, "role")
            for i in np.flatnonzero(bad_vals[inv]).tolist():
                probs.add(f"{lab(i)}.{field_name}",
                          f"contribution {c.id[i]}: {field_name} {col[i]!r} is not in {what}")
    for i in np.flatnonzero(c.end < c.start).tolist():
        probs.add(f"{lab(i)}.end", f"contribution {c.id[i]} ends ({_iso(int(c.end[i]))}) before it starts "
                  f"({_iso(int(c.start[i]))})")
