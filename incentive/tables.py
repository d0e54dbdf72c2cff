"""The period input as tables HR keeps: a folder of CSV files or one XLSX workbook.

Both become the same plain-data dict as the JSON period input (SPEC §2), which
`model.read_input` then validates against a rule set. This module checks only what is
about the tables themselves, and reports every such problem at once as an `InputError`
whose paths name the file, the row and the column (``contributions.csv:row 7:fte``):

- a missing file or sheet, a missing header row;
- a required column that is missing, a column that is not known (a typo), a column named
  twice, a row with more cells than the header;
- an empty cell in a required column;
- a number that does not parse (money, margin, fte, score);
- a stage or collection row naming a project that ``projects.csv`` does not list, a stage
  listed twice for one project; ``period.csv`` not having exactly one row.

Everything else (unknown person or role, bad dates, fte out of range, a collection
before the win, ...) is the engine's validation, reported against the record ids.

Tables (a header row is required; column order is free; names are not case-sensitive):

=================  ==========================================  ===========================
file / sheet       required columns                            optional columns
=================  ==========================================  ===========================
period.csv         id, start, end (exactly one row)
people.csv         id                                          name, cost_center,
                                                               annual_base_salary, left_on
projects.csv       id                                          name, customer, type,
                                                               contract_value, margin,
                                                               won_on
stages.csv         project_id, stage, start, end
collections.csv    id, project_id, date, amount
contributions.csv  id, person_id, project_id, role, start,     fte, score
                   end
=================  ==========================================  ===========================

An optional column may be left out, and an empty cell means null/absent: the JSON
defaults apply (``type`` = standard, ``fte`` = 1, ``score`` = 1). Row numbers are those a
spreadsheet shows: the header is row 1, the first record row 2. Rows with every cell
empty are skipped. Money (``annual_base_salary``, ``contract_value``, ``margin``,
``amount``) stays decimal text, so it never goes through a binary float; in a workbook a
numeric cell is read as the decimal text of its value to 15 significant digits, the
precision Excel works and displays with (so a formula result like ``=0.1+0.2`` reads as
``0.3``). Dates are ISO text (``2026-07-01``); in a workbook a date cell becomes that
text. CSV files must be UTF-8 (Excel: "CSV UTF-8"), comma-separated.
"""

from __future__ import annotations

import csv
import datetime as dt
import difflib
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from itertools import repeat
from pathlib import Path
from typing import Any

from .gc_pause import no_gc
from .problems import InputError, Problem, ProblemCollector

_DEFAULT_FTE = 1.0
_DEFAULT_SCORE = 1.0


@dataclass(frozen=True)
class TableSpec:
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()

    @property
    def columns(self) -> tuple[str, ...]:
        return self.required + self.optional


TABLES: dict[str, TableSpec] = {
    "period": TableSpec(("id", "start", "end")),
    "people": TableSpec(("id",), ("name", "cost_center", "annual_base_salary", "left_on")),
    "projects": TableSpec(("id",), ("name", "customer", "type", "contract_value", "margin", "won_on")),
    "stages": TableSpec(("project_id", "stage", "start", "end")),
    "collections": TableSpec(("id", "project_id", "date", "amount")),
    "contributions": TableSpec(("id", "person_id", "project_id", "role", "start", "end"), ("fte", "score")),
}

# columns read as decimal text (kept as strings) and as numbers (floats)
_DECIMAL_COLUMNS = {
    "people": ("annual_base_salary",),
    "projects": ("contract_value", "margin"),
    "collections": ("amount",),
}
_FLOAT_COLUMNS = {"contributions": (("fte", _DEFAULT_FTE), ("score", _DEFAULT_SCORE))}
# optional columns whose empty cell means "leave the key out" (the model's default applies)
_OMIT_WHEN_EMPTY = {"projects": ("type",)}


_Problems = ProblemCollector


@dataclass
class _Table:
    """One table as text: its columns (name -> cells, one per kept row) and row numbers."""

    name: str
    label: str  # how problems name it: "people.csv" or "input.xlsx[people]"
    columns: dict[str, list[str]]
    n: int
    row_numbers: list[int] | None  # None: row k is spreadsheet row k + 2

    def row(self, k: int) -> int:
        return self.row_numbers[k] if self.row_numbers is not None else k + 2

    def where(self, k: int, column: str) -> str:
        return f"{self.label}:row {self.row(k)}:{column}"


# ----------------------------------------------------------------------------------------
# entry points


def read_csv_folder(path: str | Path) -> dict[str, Any]:
    """Read a folder of CSV tables into the plain-data period input (see module doc)."""
    with no_gc():
        return _read_csv_folder(Path(path))


def read_xlsx(path: str | Path) -> dict[str, Any]:
    """Read an XLSX workbook (one sheet per table, named as the CSV files without .csv)."""
    with no_gc():
        return _read_xlsx(Path(path))


def _read_csv_folder(folder: Path) -> dict[str, Any]:
    probs = _Problems()
    raw: dict[str, _Grid | None] = {}
    if not folder.is_dir():
        raise InputError([Problem(str(folder), "not a folder of CSV tables")])
    for name in TABLES:
        file = folder / f"{name}.csv"
        if not file.is_file():
            present = sorted(p.name for p in folder.glob("*.csv"))
            hint = f" (found: {', '.join(present)})" if present else " (the folder has no .csv files)"
            probs.add(f"{name}.csv", f"file {name}.csv is missing from {folder}{hint}")
            raw[name] = None
            continue
        raw[name] = _read_csv(file, probs)
    return _assemble(raw, lambda name: f"{name}.csv", probs)


def _read_xlsx(file: Path) -> dict[str, Any]:
    import zipfile

    from openpyxl import load_workbook

    try:
        wb = load_workbook(file, read_only=True, data_only=True)
    except (OSError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise InputError([Problem(str(file), f"cannot read the workbook: {reason}")]) from None
    probs = _Problems()
    raw: dict[str, _Grid | None] = {}
    try:
        by_name = {ws.title.strip().lower(): ws for ws in wb.worksheets}
        for name in TABLES:
            ws = by_name.get(name)
            if ws is None:
                present = ", ".join(ws.title for ws in wb.worksheets)
                probs.add(f"{file.name}[{name}]", f"sheet {name!r} is missing from {file.name} (sheets: {present})")
                raw[name] = None
                continue
            raw[name] = _Grid([[_cell_text(v) for v in row] for row in ws.iter_rows(values_only=True)])
    finally:
        wb.close()
    return _assemble(raw, lambda name: f"{file.name}[{name}]", probs)


# ----------------------------------------------------------------------------------------
# reading cells


@dataclass
class _Grid:
    """A table's cells as text: `rows` (header first), or, on the fast path, the header
    row alone in `rows` and the cells by header position in `columns` (then no row is
    blank and every row has as many cells as the header)."""

    rows: list[list[str]]
    columns: list[list[str]] | None = None


def _read_csv(file: Path, probs: _Problems) -> _Grid | None:
    try:
        with file.open("r", encoding="utf-8-sig", newline="") as fh:
            text = fh.read()
        fast = _csv_columns(text)
        if fast is not None:
            return fast
        return _Grid(list(csv.reader(io.StringIO(text, newline=""))))
    except UnicodeDecodeError as exc:
        probs.add(file.name, f"is not UTF-8 text (byte {exc.start}); save it as 'CSV UTF-8'")
    except csv.Error as exc:
        probs.add(file.name, f"is not a readable CSV file: {exc}")
    except OSError as exc:
        probs.add(file.name, f"cannot read: {exc.strerror}")
    return None


def _csv_columns(text: str) -> _Grid | None:
    """The fast path for the common file: no quotes, no blank or ragged rows. Cells are
    then exactly the comma-separated pieces of each line, which a few C-level string
    operations split into columns (several times faster than csv.reader at a million
    rows). Anything else returns None, and csv.reader reads the file."""
    if '"' in text:
        return None
    if "\r" in text:
        text = text.replace("\r\n", "\n")
        if "\r" in text:
            return None
    if text.endswith("\n"):
        text = text[:-1]
    cut = text.find("\n")
    if cut < 0:
        return _Grid([text.split(",")]) if text else None
    header = text[:cut].split(",")
    width = len(header)
    body = text[cut + 1:]
    lines = body.split("\n")
    if "" in lines or "," * (width - 1) in lines:
        return None  # blank rows: the careful path keeps their row numbers
    if set(map(str.count, lines, repeat(","))) != {width - 1}:
        return None
    flat = body.replace("\n", ",").split(",")
    return _Grid([header], [flat[k::width] for k in range(width)])


def _cell_text(v: object) -> str:
    """A workbook cell as the text a CSV export would hold."""
    if v is None:
        return ""
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if v.is_integer() and abs(v) < 1e15:
            return str(int(v))
        # Excel keeps 15 significant digits; beyond them is binary noise (=0.1+0.2)
        text = format(v, ".15g")
        return format(Decimal(text), "f") if "e" in text else text
    if isinstance(v, dt.datetime):
        if v.time() == dt.time(0, 0):
            return v.date().isoformat()
        return v.isoformat()  # not a date: the engine says so
    if isinstance(v, dt.date):
        return v.isoformat()
    return str(v)


# ----------------------------------------------------------------------------------------
# tables


def _norm_header(cell: str) -> str:
    return cell.strip().lower()


def _make_table(name: str, label: str, grid: _Grid, probs: _Problems) -> _Table | None:
    """Check a table's header and row shapes; return its columns (unknown ones dropped)."""
    spec = TABLES[name]
    rows = grid.rows
    if not rows or not any(c.strip() for c in rows[0]):
        probs.add(label, f"has no header row (expected columns: {', '.join(spec.columns)})")
        return None
    header = [_norm_header(c) for c in rows[0]]
    while header and header[-1] == "":
        header.pop()
    data = rows[1:]
    ok = True
    if len(header) == 1 and ";" in header[0]:
        probs.add(label, "uses ';' as the separator; save it with ',' (Excel: 'CSV UTF-8 (Comma delimited)')")
        return None
    seen: dict[str, int] = {}
    for idx, col in enumerate(header):
        if col == "":
            probs.add(f"{label}:column {idx + 1}", "the header cell is empty")
            ok = False
        elif col in seen:
            probs.add(f"{label}:{col}", f"column {col!r} appears twice in the header")
            ok = False
        elif col not in spec.columns:
            close = difflib.get_close_matches(col, spec.columns, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            probs.add(f"{label}:{col}", f"unknown column {col!r} (known: {', '.join(spec.columns)}){hint}")
            ok = False
        seen.setdefault(col, idx)
    for col in spec.required:
        if col not in seen:
            probs.add(f"{label}:{col}", f"required column {col!r} is missing (header: {', '.join(header)})")
            ok = False

    if grid.columns is not None:  # the fast path: rows are neither blank nor ragged
        if not ok:
            return None
        n = len(grid.columns[0]) if grid.columns else 0
        columns = {col: _strip_column(grid.columns[pos]) for col in spec.columns
                   if (pos := seen.get(col)) is not None}
        return _Table(name, label, columns, n, None)

    # skip blank rows (keeping spreadsheet row numbers), fix ragged rows
    row_numbers: list[int] | None = None
    if not all(map(any, data)):
        row_numbers = [k + 2 for k, r in enumerate(data) if any(r)]
        data = [r for r in data if any(r)]
    width = len(header)
    if set(map(len, data)) - {width}:
        fixed = []
        for k, r in enumerate(data):
            if len(r) > width:
                if any(c.strip() for c in r[width:]):
                    row = row_numbers[k] if row_numbers is not None else k + 2
                    probs.add(f"{label}:row {row}", f"has {len(r)} cells but the header has {width} columns")
                    ok = False
                r = r[:width]
            elif len(r) < width:
                r = r + [""] * (width - len(r))
            fixed.append(r)
        data = fixed
    if not ok:
        return None
    columns = {col: _strip_column([r[pos] for r in data]) for col in spec.columns
               if (pos := seen.get(col)) is not None}
    return _Table(name, label, columns, len(data), row_numbers)


_PADDED = re.compile(r"(?:^|\x00)\s|\s(?:\x00|$)")  # a NUL in a cell can only cause a needless strip
_ASCII_SPACE = " \t\r\n\v\f"


def _strip_column(cells: list[str]) -> list[str]:
    """Cells with surrounding whitespace removed.

    The common case (no cell is padded) costs a few substring searches over the joined
    column; only a column that has a padded cell is stripped cell by cell."""
    text = "\x00".join(cells)
    if text.isascii() and "\n" not in text and "\r" not in text and "\v" not in text and "\f" not in text:
        padded = " \x00" in text or "\x00 " in text or "\t\x00" in text or "\x00\t" in text or (
            text != text.strip(_ASCII_SPACE))
    else:
        padded = _PADDED.search(text) is not None
    if not padded:
        return cells
    return [c.strip() for c in cells]


def _check_required_cells(t: _Table, probs: _Problems) -> None:
    for col in TABLES[t.name].required:
        cells = t.columns[col]
        if "" in cells:
            for k, c in enumerate(cells):
                if c == "":
                    probs.add(t.where(k, col), f"required value is empty ({col})")


def _decimal_column(t: _Table, col: str, probs: _Problems) -> list[str | None]:
    """A money/decimal column as decimal text (None where empty); bad cells are problems."""
    cells = t.columns[col]
    bad = set()
    for v in set(cells):
        if v == "":
            continue
        try:
            d = Decimal(v)
        except InvalidOperation:
            bad.add(v)
            continue
        if not d.is_finite():
            bad.add(v)
    if bad:
        for k, v in enumerate(cells):
            if v in bad:
                probs.add(t.where(k, col), f"{v!r} is not a decimal number (write e.g. 1234.56, no separators)")
    return [None if v == "" else v for v in cells]


def _float_column(t: _Table, col: str, default: float, probs: _Problems) -> list[float]:
    """A numeric column as floats (the default where empty); bad cells are problems."""
    cells = t.columns.get(col)
    if cells is None:
        return [default] * t.n
    values: dict[str, float] = {}
    bad = set()
    for v in dict.fromkeys(cells):
        if v == "":
            values[v] = default
            continue
        try:
            values[v] = float(v)
        except ValueError:
            bad.add(v)
            values[v] = default
    if bad:
        for k, v in enumerate(cells):
            if v in bad:
                probs.add(t.where(k, col), f"{v!r} is not a number")
    return [values[v] for v in cells]


def _records(t: _Table, probs: _Problems) -> list[dict[str, Any]]:
    """The rows as dicts: text columns as text (None where empty), numbers converted.

    Numeric columns with a default (fte, score) are always present; other optional
    columns only when the table has them."""
    decimal_cols = _DECIMAL_COLUMNS.get(t.name, ())
    float_cols = dict(_FLOAT_COLUMNS.get(t.name, ()))
    keys = [k for k in TABLES[t.name].columns if k in t.columns or k in float_cols]
    values: dict[str, list[Any]] = {}
    required = TABLES[t.name].required
    for k in keys:
        if k in float_cols:
            values[k] = _float_column(t, k, float_cols[k], probs)
        elif k in decimal_cols:
            values[k] = _decimal_column(t, k, probs)
        elif k in required:
            values[k] = t.columns[k]
        else:
            values[k] = [None if v == "" else v for v in t.columns[k]]
    omit = [k for k in _OMIT_WHEN_EMPTY.get(t.name, ()) if k in values]
    if t.name == "contributions":  # the large table: dict literals are twice as fast
        return [
            {"id": i, "person_id": p, "project_id": j, "role": r, "start": s, "end": e, "fte": f, "score": c}
            for i, p, j, r, s, e, f, c in zip(*(values[k] for k in TABLES["contributions"].columns), strict=True)
        ]
    cols = [values[k] for k in keys]
    recs = [dict(zip(keys, row, strict=True)) for row in zip(*cols, strict=True)] if keys else [{} for _ in range(t.n)]
    for k in omit:
        for r in recs:
            if r[k] is None:
                del r[k]
    return recs


# ----------------------------------------------------------------------------------------
# the period input


def _assemble(raw: dict[str, _Grid | None], label_of: Callable[[str], str],
              probs: _Problems) -> dict[str, Any]:
    tables: dict[str, _Table | None] = {}
    for name in TABLES:
        grid = raw.get(name)
        tables[name] = None if grid is None else _make_table(name, label_of(name), grid, probs)
    for t in tables.values():
        if t is not None:
            _check_required_cells(t, probs)

    out: dict[str, Any] = {}
    pt = tables["period"]
    if pt is not None:
        if pt.n != 1:
            probs.add(pt.label, f"must have exactly one row (the period), has {pt.n}")
        else:
            out["period"] = {k: pt.columns[k][0] for k in TABLES["period"].required}

    pe = tables["people"]
    out["people"] = _records(pe, probs) if pe is not None else []

    pr = tables["projects"]
    projects: list[dict[str, Any]] = []
    if pr is not None:
        projects = _records(pr, probs)
        for p in projects:
            p["stages"] = {}
            p["collections"] = []
    by_id: dict[str, list[dict[str, Any]]] = {}
    for p in projects:
        if p["id"]:
            by_id.setdefault(p["id"], []).append(p)
    known = pr is not None

    st = tables["stages"]
    if st is not None and known:
        first_row: dict[tuple[str, str], int] = {}
        pids, names, starts, ends = (st.columns[c] for c in ("project_id", "stage", "start", "end"))
        for k in range(st.n):
            pid, stage = pids[k], names[k]
            if not pid or not stage:
                continue  # reported as an empty required value
            owners = by_id.get(pid)
            if owners is None:
                probs.add(st.where(k, "project_id"), _unknown_project(pid, "stage", stage))
                continue
            key = (pid, stage)
            if key in first_row:
                probs.add(st.where(k, "stage"), f"stage {stage!r} of project {pid} is listed twice "
                          f"(rows {first_row[key]} and {st.row(k)})")
                continue
            first_row[key] = st.row(k)
            for owner in owners:
                owner["stages"][stage] = {"start": starts[k], "end": ends[k]}

    co = tables["collections"]
    if co is not None:
        for k, rec in enumerate(_records(co, probs)):  # amounts are checked even without projects
            pid = rec.pop("project_id")
            if not pid or not known:
                continue
            owners = by_id.get(pid)
            if owners is None:
                probs.add(co.where(k, "project_id"), _unknown_project(pid, "collection", rec["id"]))
                continue
            for owner in owners:
                owner["collections"].append(rec)
    out["projects"] = projects

    ct = tables["contributions"]
    out["contributions"] = _records(ct, probs) if ct is not None else []
    probs.raise_if_any()
    return out


def _unknown_project(pid: str, what: str, name: str) -> str:
    return f"{what} {name!r} names project {pid!r}, which is not in the projects table"


def table_columns() -> dict[str, tuple[str, ...]]:
    """Each table's columns, required first (for templates and documentation)."""
    return {name: spec.columns for name, spec in TABLES.items()}


def input_to_tables(data: dict[str, Any]) -> dict[str, list[list[Any]]]:
    """The inverse: a plain-data period input as tables (header row first), for writing
    CSV files or a workbook. Values are passed through (None for absent)."""
    t: dict[str, list[list[Any]]] = {name: [list(spec.columns)] for name, spec in TABLES.items()}
    period = data.get("period") or {}
    t["period"].append([period.get(c) for c in TABLES["period"].columns])
    for p in data.get("people", []):
        t["people"].append([p.get(c) for c in TABLES["people"].columns])
    for p in data.get("projects", []):
        t["projects"].append([p.get(c) for c in TABLES["projects"].columns])
        for stage, win in (p.get("stages") or {}).items():
            t["stages"].append([p["id"], stage, win.get("start"), win.get("end")])
        for c in p.get("collections") or []:
            t["collections"].append([c.get("id"), p["id"], c.get("date"), c.get("amount")])
    for c in data.get("contributions", []):
        t["contributions"].append([c.get(k) for k in TABLES["contributions"].columns])
    return t


def write_csv_folder(data: dict[str, Any], folder: str | Path) -> list[Path]:
    """Write a plain-data period input as a folder of CSV tables (UTF-8, comma, LF)."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, rows in input_to_tables(data).items():
        file = out / f"{name}.csv"
        with file.open("w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerows([_csv_cell(v) for v in row] for row in rows)
        written.append(file)
    return written


def _csv_cell(v: object) -> object:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v
