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
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import cached_property
from itertools import repeat
from operator import itemgetter
from typing import Annotated, Any

import numpy as np
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from .money import to_decimal
from .problems import InputError, Problem, ProblemCollector
from .rules import RuleSet

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


MONEY_LIMIT = Decimal(10) ** 15  # amounts at or above this cannot be rounded exactly in binary floats


def _money(v: object) -> object:
    d = to_decimal(v)
    if abs(d) >= MONEY_LIMIT:
        raise ValueError(f"{v!r} is too large (amounts must be below 10^15)")
    return d


def _opt_money(v: object) -> object:
    if v is None or v == "":
        return None
    return _money(v)


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
    """Contribution records as columns (one entry per record, in input order).

    People, projects and roles are held as integer indices (into the input's people and
    projects, in input order, and the rule set's roles, in rule-set order): what every
    vectorised step downstream works with. The text columns (`person_id`, `project_id`,
    `role`) are derived from them on demand.
    """

    id: np.ndarray  # str objects
    person_index: np.ndarray  # int64 index into `person_ids`
    project_index: np.ndarray  # int64 index into `project_ids`
    role_index: np.ndarray  # int64 index into `role_names`
    start: np.ndarray  # int64 day numbers
    end: np.ndarray  # int64 day numbers, inclusive
    fte: np.ndarray  # float64 in (0, 1]
    score: np.ndarray  # float64 >= 0
    person_ids: tuple[str, ...]
    project_ids: tuple[str, ...]
    role_names: tuple[str, ...]

    @cached_property
    def person_id(self) -> np.ndarray:  # str objects
        return _decode(self.person_index, self.person_ids)

    @cached_property
    def project_id(self) -> np.ndarray:  # str objects
        return _decode(self.project_index, self.project_ids)

    @cached_property
    def role(self) -> np.ndarray:  # str objects
        return _decode(self.role_index, self.role_names)

    def __len__(self) -> int:
        return int(self.id.shape[0])

    def record(self, i: int) -> dict[str, Any]:
        """Record i as plain data (dates as ISO text), as it would appear in a JSON input."""
        return {
            "id": str(self.id[i]),
            "person_id": self.person_ids[int(self.person_index[i])],
            "project_id": self.project_ids[int(self.project_index[i])],
            "role": self.role_names[int(self.role_index[i])],
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


def _decode(codes: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
    table = np.empty(len(names), dtype=object)
    table[:] = names
    return table[codes] if len(names) else np.empty(codes.shape[0], dtype=object)


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
        iso: dict[date, str] = {}
        return {
            "period": self.period.model_dump(mode="json"),
            "people": [_canon_person(p, iso) for p in self.people],
            "projects": [_canon_project(p, iso) for p in self.projects],
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


def _canon_money(v: Decimal | None) -> str | None:
    if v is None:
        return None
    return _canon(v)  # type: ignore[no-any-return]


def _canon_date(d: date | None, iso: dict[date, str]) -> str | None:
    if d is None:
        return None
    t = iso.get(d)
    if t is None:
        t = iso[d] = d.isoformat()
    return t


_PERSON_FIELDS = ("id", "name", "cost_center", "annual_base_salary", "left_on")
_PROJECT_FIELDS = ("id", "name", "customer", "type", "contract_value", "margin", "won_on", "stages", "collections")


def _canon_person(p: Person, iso: dict[date, str]) -> dict[str, Any]:
    """`_canon_model(p)`, field by field (the same dict, faster for many people)."""
    if tuple(type(p).model_fields) != _PERSON_FIELDS:
        return _canon_model(p)
    return {"id": p.id, "name": p.name, "cost_center": p.cost_center,
            "annual_base_salary": _canon_money(p.annual_base_salary), "left_on": _canon_date(p.left_on, iso)}


def _canon_project(p: Project, iso: dict[date, str]) -> dict[str, Any]:
    """`_canon_model(p)`, field by field (the same dict, faster for many projects)."""
    if (tuple(type(p).model_fields) != _PROJECT_FIELDS or tuple(StageWindow.model_fields) != ("start", "end")
            or tuple(Collection.model_fields) != ("id", "date", "amount")):
        return _canon_model(p)
    return {
        "id": p.id, "name": p.name, "customer": p.customer, "type": p.type,
        "contract_value": _canon_money(p.contract_value), "margin": _canon_money(p.margin),
        "won_on": _canon_date(p.won_on, iso),
        "stages": {k: {"start": _canon_date(w.start, iso), "end": _canon_date(w.end, iso)}
                   for k, w in p.stages.items()},
        "collections": [{"id": c.id, "date": _canon_date(c.date, iso), "amount": _canon_money(c.amount)}
                        for c in p.collections],
    }


def _canon_model(m: BaseModel) -> dict[str, Any]:
    data = m.model_dump(mode="python")
    return _canon(data)


_PLAIN = frozenset({str, int, float, bool, type(None)})


def _canon(v: Any) -> Any:
    t = type(v)  # exact-type dispatch first: this runs for every field of every header record
    if t in _PLAIN:
        return v
    if t is dict:
        return _canon_dict(v)
    if t is date:
        return v.isoformat()
    if t is Decimal:
        return _dec_text(v)
    if t is list or t is tuple:
        return [_canon(x) for x in v]
    return _canon_any(v)


def _dec_text(v: Decimal) -> str:
    """A decimal's canonical text: no exponent, no trailing zeros ("354000.50" -> "354000.5")."""
    return format(v.normalize(), "f")


def _canon_dict(d: dict[Any, Any]) -> dict[Any, Any]:
    out = {}
    for k, v in d.items():
        t = type(v)
        if t in _PLAIN:
            out[k] = v
        elif t is date:
            out[k] = v.isoformat()
        else:
            out[k] = _canon(v)
    return out


def _canon_any(v: Any) -> Any:
    if isinstance(v, Decimal):
        return _dec_text(v)
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, dict):
        return {k: _canon(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_canon(x) for x in v]
    return v


# ----------------------------------------------------------------------------------------
# reading and validating


_Problems = ProblemCollector


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


# ----------------------------------------------------------------------------------------
# contribution records: the fast path (nothing wrong) and the naming path (something is)
#
# A million records are checked with whole-column operations that run at C speed: the
# `RecordColumnBuilder` below. It only answers "all of this is fine" or "something is off";
# when something is off, the per-record functions after it (`_contribution_columns`,
# `_check_contributions`) run over the same records and name every culprit, so the
# problems reported are the same whichever path found them.

_REQUIRED = ("id", "person_id", "project_id", "role", "start", "end")
_GET = {name: itemgetter(name) for name in _REQUIRED}
_GET_FTE, _GET_SCORE = itemgetter("fte"), itemgetter("score")


@dataclass(frozen=True, eq=False)
class RecordColumns:
    """Contribution records as columns, checked for everything that does not depend on the
    rule set: people and projects as indices into `person_ids` / `project_ids`, roles as
    indices into `role_vocab` (the role texts in order of first use)."""

    id: np.ndarray
    person: np.ndarray
    project: np.ndarray
    role: np.ndarray
    start: np.ndarray
    end: np.ndarray
    fte: np.ndarray
    score: np.ndarray
    person_ids: list[str]
    project_ids: list[str]
    role_vocab: list[str]

    def __len__(self) -> int:
        return int(self.id.shape[0])

    def contributions(self, role_names: list[str]) -> Contributions | None:
        """The columns with roles indexed by the rule set's roles (None: a role is unknown)."""
        role_ix = {r: k for k, r in enumerate(role_names)}
        table = np.array([role_ix.get(r, -1) for r in self.role_vocab] or [0], dtype=np.int64)
        if (table < 0).any():
            return None
        return Contributions(
            id=self.id, person_index=self.person, project_index=self.project, role_index=table[self.role],
            start=self.start, end=self.end, fte=self.fte, score=self.score,
            person_ids=tuple(self.person_ids), project_ids=tuple(self.project_ids), role_names=tuple(role_names),
        )


class NotPlain(Exception):
    """Something in the records needs the per-record path."""


_CANON_DAYS: dict[str, int] = {}


def _canonical_days() -> dict[str, int]:
    """ISO text -> day number for every day of 1970-2099: what the per-record path gives
    for these texts (numpy parses them), known up front so most records need one look-up."""
    if not _CANON_DAYS:
        days = np.arange(np.datetime64("1970-01-01"), np.datetime64("2100-01-01"))
        _CANON_DAYS.update(zip(days.astype(str).tolist(), days.astype(np.int64).tolist(), strict=True))
    return _CANON_DAYS


class RecordColumnBuilder:
    """Contribution records (lists of dicts, possibly in several chunks) -> RecordColumns.

    `add` returns False as soon as anything is unusual (a missing or unknown field, a
    value of the wrong type, an unknown person or project, a date that is not
    YYYY-MM-DD, fte or score out of range, a record ending before it starts); `finish`
    also checks that ids are unique and non-empty and returns None if not.

    Each column is one pass at C speed (`map` over the records, a dict look-up that both
    checks and codes the value, `np.fromiter`); an unknown role or an unusual date text
    gets a closer look for that chunk only.
    """

    def __init__(self, person_ids: list[str], project_ids: list[str]) -> None:
        self.person_ids = person_ids
        self.project_ids = project_ids
        self.person_index = {p: i for i, p in enumerate(person_ids)}
        self.project_index = {p: j for j, p in enumerate(project_ids)}
        self.role_vocab: dict[str, int] = {}
        self.day_of = dict(_canonical_days())
        self.ids: list[str] = []
        self.id_keys: list[np.ndarray] | None = []  # None once a chunk comes without them
        self.parts: dict[str, list[np.ndarray]] = {
            k: [] for k in ("person", "project", "role", "start", "end", "fte", "score")
        }

    def add(self, recs: list[Any], dicts: bool = False) -> bool:
        """Add a chunk of records. `dicts`: they come straight from a JSON parser, so the only
        mappings among them are plain dicts (anything else fails a later step anyway)."""
        try:
            self._add(recs, dicts)
        except (NotPlain, KeyError, TypeError, ValueError, OverflowError):
            return False
        return True

    def _add(self, recs: list[Any], dicts: bool) -> None:
        n = len(recs)
        if n == 0:
            return
        if not dicts and set(map(type, recs)) != {dict}:
            raise NotPlain
        size = sum(map(len, recs))
        fte_vals: list[Any] | None = None
        score_vals: list[Any] | None = None
        if size == len(CONTRIBUTION_FIELDS) * n:
            # all eight fields in every record (a missing one raises KeyError: see below)
            try:
                fte_vals = list(map(_GET_FTE, recs))
                score_vals = list(map(_GET_SCORE, recs))
            except KeyError:
                fte_vals = score_vals = None
        if fte_vals is None or score_vals is None:
            # fte / score may be left out (default 1); then count them to rule out unknown fields
            n_opt = sum(map(dict.__contains__, recs, repeat("fte")))
            n_opt += sum(map(dict.__contains__, recs, repeat("score")))
            if size != len(_REQUIRED) * n + n_opt:
                raise NotPlain
            fte_vals = list(map(dict.get, recs, repeat("fte"), repeat(1.0)))
            score_vals = list(map(dict.get, recs, repeat("score"), repeat(1.0)))
        ids = list(map(_GET["id"], recs))
        "".join(ids)  # TypeError unless every id is text
        person = np.fromiter(map(self.person_index.get, map(_GET["person_id"], recs)), np.int64, n)
        project = np.fromiter(map(self.project_index.get, map(_GET["project_id"], recs)), np.int64, n)
        role = self._coded(recs, "role", self.role_vocab, self.learn_roles, n)
        start = self._coded(recs, "start", self.day_of, self.learn_days, n)
        end = self._coded(recs, "end", self.day_of, self.learn_days, n)
        self._append(ids, person, project, role, start, end, self._numbers(fte_vals, n), self._numbers(score_vals, n))
        self.id_keys = None

    def add_columns(self, ids: list[str], person: np.ndarray, project: np.ndarray, role: np.ndarray,
                    start: np.ndarray, end: np.ndarray, fte: np.ndarray, score: np.ndarray,
                    id_keys: np.ndarray | None = None) -> bool:
        """Add records already split into columns (ids as text; people, projects and roles as
        indices into `person_ids`, `project_ids` and `role_vocab`; dates as day numbers).
        `id_keys`: one number per id, distinct ids having distinct numbers (lets `finish`
        check that ids are unique without hashing the texts)."""
        keys = self.id_keys
        try:
            self._append(ids, person, project, role, start, end, fte, score)
        except NotPlain:
            return False
        if keys is not None and id_keys is not None:
            keys.append(id_keys)
        else:
            self.id_keys = None
        return True

    def _append(self, ids: list[str], person: np.ndarray, project: np.ndarray, role: np.ndarray,
                start: np.ndarray, end: np.ndarray, fte: np.ndarray, score: np.ndarray) -> None:
        if (end < start).any():
            raise NotPlain
        if not ((fte > 0) & (fte <= 1)).all():
            raise NotPlain
        if not ((score >= 0) & np.isfinite(score)).all():
            raise NotPlain
        self.ids += ids
        for k, v in (("person", person), ("project", project), ("role", role), ("start", start), ("end", end),
                     ("fte", fte), ("score", score)):
            self.parts[k].append(v)

    @staticmethod
    def _coded(recs: list[dict[str, Any]], name: str, codes: dict[str, int],
               learn: Callable[[list[Any]], None], n: int) -> np.ndarray:
        try:
            return np.fromiter(map(codes.get, map(_GET[name], recs)), np.int64, n)
        except TypeError:  # a value not seen yet (or not hashable): look closer, then again
            learn(list(map(_GET[name], recs)))
            return np.fromiter(map(codes.__getitem__, map(_GET[name], recs)), np.int64, n)

    def learn_roles(self, vals: list[Any]) -> None:
        """Add the role texts among `vals` to `role_vocab` (NotPlain if one is not a non-empty text)."""
        for v in dict.fromkeys(vals):
            if type(v) is not str or not v:
                raise NotPlain
            self.role_vocab.setdefault(v, len(self.role_vocab))

    def learn_days(self, vals: list[Any]) -> None:
        """Add the date texts among `vals` to `day_of`, parsed as the per-record path parses them
        (NotPlain, ValueError or TypeError if one is not a YYYY-MM-DD date)."""
        new = [v for v in dict.fromkeys(vals) if v not in self.day_of]
        if not all(type(v) is str and len(v) == 10 for v in new):
            raise NotPlain
        days = np.array(new, dtype="datetime64[D]").astype(np.int64)
        self.day_of.update(zip(new, days.tolist(), strict=True))

    @staticmethod
    def _numbers(vals: list[Any], n: int) -> np.ndarray:
        if bool in set(map(type, vals)):
            raise NotPlain
        arr = np.array(vals, dtype=np.float64)  # as the per-record path converts
        if arr.shape != (n,):
            raise NotPlain
        return arr

    def finish(self) -> RecordColumns | None:
        ids = self.ids
        if self.id_keys is not None and self.id_keys:  # every chunk came with id keys (and no empty id)
            keys = np.sort(np.concatenate(self.id_keys))
            if (keys[1:] == keys[:-1]).any():
                return None
        else:
            unique = set(ids)
            if len(unique) != len(ids) or "" in unique:
                return None
            del unique

        def col(name: str, dtype: type) -> np.ndarray:
            parts = self.parts[name]
            return np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)

        id_col = np.empty(len(ids), dtype=object)
        id_col[:] = ids
        return RecordColumns(
            id=id_col, person=col("person", np.int64), project=col("project", np.int64),
            role=col("role", np.int64), start=col("start", np.int64), end=col("end", np.int64),
            fte=col("fte", np.float64), score=col("score", np.float64),
            person_ids=self.person_ids, project_ids=self.project_ids, role_vocab=list(self.role_vocab),
        )


def record_columns(recs: list[Any], person_ids: list[str], project_ids: list[str]) -> RecordColumns | None:
    """Fast columns of a list of contribution records, or None if any of them needs a closer look."""
    b = RecordColumnBuilder(person_ids, project_ids)
    return b.finish() if b.add(recs) else None


class ParsedJson:
    """A JSON period input read by the fast path (`loading.read_raw_input`).

    `header` is the input without its contribution records, parsed exactly (money keeps its
    decimal text); `columns` are the records, already turned into checked columns. If
    validation finds anything wrong, `exact()` parses the whole text the exact way again,
    so problems are reported exactly as for any other input.
    """

    def __init__(self, header: dict[str, Any], columns: RecordColumns, exact: Callable[[], Any]) -> None:
        self.header = header
        self.columns = columns
        self.exact = exact


class _Fallback(Exception):
    """The fast path cannot vouch for this input: validate the exact parse instead."""


def _contribution_columns(raw: object, probs: _Problems) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]] | None:
    """The records as text/number columns, every field problem reported, and per field a mask
    of the records whose value is usable (so the checks across records still run on them)."""
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
    valid: dict[str, np.ndarray] = {}
    for name in ("id", "person_id", "project_id", "role"):
        vals = [r.get(name) for r in recs]
        bad = np.fromiter((type(v) is not str or not v for v in vals), dtype=bool, count=n)
        for i, lab in labels(bad):
            v = vals[i]
            probs.add(f"{lab}.{name}", "required field is missing" if v is None else f"{v!r} must be a non-empty text")
            ok = False
        col = np.empty(n, dtype=object)
        col[:] = [v if type(v) is str else "" for v in vals]
        cols[name] = col
        valid[name] = ~bad
    for name in ("start", "end"):
        vals = [r.get(name) for r in recs]
        days = np.zeros(n, dtype=np.int64)
        good = np.ones(n, dtype=bool)
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
                except (ValueError, TypeError) as exc:
                    probs.add(f"{_label('contributions', i, recs[i])}.{name}", str(exc))
                    good[i] = False
                    ok = False
        cols[name] = days
        valid[name] = good
    for name, default in (("fte", 1.0), ("score", 1.0)):
        vals = [r.get(name, default) for r in recs]
        try:
            if any(type(v) is bool for v in vals):
                raise TypeError
            arr = np.array(vals, dtype=np.float64)
            if arr.shape != (n,):  # a list or nested value somewhere
                raise TypeError
        except (ValueError, TypeError):
            arr = np.ones(n, dtype=np.float64)
            for i, v in enumerate(vals):
                try:
                    if type(v) is bool or not isinstance(v, int | float | str | Decimal):
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
    del ok  # problems are in `probs`; the masks say which values the checks across records may use
    return cols, valid


def _from_text_columns(cols: dict[str, np.ndarray], people: list[Person], projects: list[Project],
                       rules: RuleSet) -> Contributions:
    """Contributions from text columns whose references are all known."""
    def index(values: np.ndarray, names: list[str]) -> np.ndarray:
        ix = {v: i for i, v in enumerate(names)}
        return np.fromiter((ix[v] for v in values.tolist()), np.int64, values.shape[0])

    person_ids = [p.id for p in people]
    project_ids = [p.id for p in projects]
    return Contributions(
        id=cols["id"], person_index=index(cols["person_id"], person_ids),
        project_index=index(cols["project_id"], project_ids), role_index=index(cols["role"], rules.role_names),
        start=cols["start"], end=cols["end"], fte=cols["fte"], score=cols["score"],
        person_ids=tuple(person_ids), project_ids=tuple(project_ids), role_names=tuple(rules.role_names),
    )


def read_input(raw: Any, rules: RuleSet) -> PeriodInput:
    """Validate a period input (plain data, e.g. parsed JSON, or a `ParsedJson`) against a rule set.

    Every problem is collected and raised together as an InputError; nothing is computed
    from an input that has any.
    """
    if isinstance(raw, ParsedJson):
        try:
            return _read(raw.header, rules, raw.columns)
        except _Fallback:
            raw = raw.exact()
    return _read(raw, rules, None)


def _read(raw: Any, rules: RuleSet, fast: RecordColumns | None) -> PeriodInput:
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

    contribs: Contributions | None = None
    text_cols: dict[str, np.ndarray] | None = None
    text_valid: dict[str, np.ndarray] = {}
    if fast is not None:
        # the records were checked while parsing, against the people and projects as written
        if fast.person_ids != [p.id for p in people] or fast.project_ids != [p.id for p in projects]:
            raise _Fallback
        contribs = fast.contributions(rules.role_names)
        if contribs is None:
            raise _Fallback
    else:
        recs = raw.get("contributions")
        cols = record_columns(recs, [p.id for p in people], [p.id for p in projects]) \
            if isinstance(recs, list) else None
        if cols is not None:
            contribs = cols.contributions(rules.role_names)
        if contribs is None:
            parsed = _contribution_columns(recs, probs)
            if parsed is not None:
                text_cols, text_valid = parsed

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
    if text_cols is not None:
        # a person or project with a bad field is still known by its id (no false "not in people")
        known_people = {p.id for p in people} | _raw_ids(raw.get("people"))
        known_projects = {p.id for p in projects} | _raw_ids(raw.get("projects"))
        _check_contributions(text_cols, text_valid, known_people, known_projects, rules, probs)

    problems = probs.final()
    if problems:
        if fast is not None:
            raise _Fallback
        raise InputError(problems)
    assert period is not None
    if contribs is None:
        assert text_cols is not None
        contribs = _from_text_columns(text_cols, people, projects, rules)
    return PeriodInput(period, tuple(people), tuple(projects), contribs)


def _raw_ids(records: object) -> set[str]:
    """The text ids of raw records, whether or not the rest of the record is valid."""
    if not isinstance(records, list):
        return set()
    return {r["id"] for r in records if isinstance(r, dict) and isinstance(r.get("id"), str) and r["id"]}


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
    c: dict[str, np.ndarray], valid: dict[str, np.ndarray], people: set[str], projects: set[str],
    rules: RuleSet, probs: _Problems,
) -> None:
    """The per-record checks across records (duplicate ids, unknown references, end before start),
    on the values that are usable (a field already reported as bad is not reported again)."""
    cid = c["id"]

    def lab(i: int) -> str:
        return f"contributions[{cid[i]}]" if valid["id"][i] else f"contributions[#{i}]"

    ids, counts = np.unique(cid[valid["id"]].astype(str), return_counts=True)
    for k in ids[counts > 1].tolist():
        probs.add(f"contributions[{k}]", f"duplicate id {k!r} ({int(counts[ids == k][0])} records)")
    for col, known, what in (
        (c["person_id"], people, "people"),
        (c["project_id"], projects, "projects"),
        (c["role"], set(rules.roles), "the rule set's roles"),
    ):
        field_name = {"people": "person_id", "projects": "project_id"}.get(what, "role")
        uniq, inv = np.unique(col.astype(str), return_inverse=True)
        bad_vals = np.array([u not in known for u in uniq.tolist()], dtype=bool)
        if bad_vals.any():
            for i in np.flatnonzero(bad_vals[inv] & valid[field_name]).tolist():
                probs.add(f"{lab(i)}.{field_name}",
                          f"contribution {cid[i]}: {field_name} {col[i]!r} is not in {what}")
    for i in np.flatnonzero((c["end"] < c["start"]) & valid["start"] & valid["end"]).tolist():
        probs.add(f"{lab(i)}.end", f"contribution {cid[i]} ends ({_iso(int(c['end'][i]))}) before it starts "
                  f"({_iso(int(c['start'][i]))})")
