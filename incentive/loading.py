"""Load: read a period input from a JSON file, a folder of CSV tables or an XLSX workbook,
and a rule set from TOML, then validate both whole (see `model.read_input`).

JSON numbers are read by their decimal text (never through a binary float) so money
keeps every digit it was written with.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from .model import PeriodInput, read_input
from .problems import InputError, Problem
from .rules import RuleSet, load_ruleset


def parse_json_bytes(data: bytes | str, source: str = "(input)") -> Any:
    """Parse JSON text with decimals kept exact; a syntax error becomes an InputError."""
    try:
        return json.loads(data, parse_float=Decimal)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError([Problem(source, f"not valid JSON: {exc}")]) from None


def read_raw_input(path: str | Path) -> Any:
    """The input as plain data: a JSON file, a folder of CSV tables, or an .xlsx workbook."""
    p = Path(path)
    if p.is_dir():
        from .tables import read_csv_folder

        return read_csv_folder(p)
    if p.suffix.lower() == ".xlsx":
        from .tables import read_xlsx

        return read_xlsx(p)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise InputError([Problem(str(path), f"cannot read input: {exc.strerror}")]) from None
    return parse_json_bytes(data, str(path))


def load(input_path: str | Path, rules_ref: str | Path) -> tuple[PeriodInput, RuleSet]:
    """Read and validate a rule set and an input; every problem of both is reported together."""
    problems: list[Problem] = []
    rules: RuleSet | None = None
    raw: Any = None
    try:
        rules = load_ruleset(rules_ref)
    except InputError as exc:
        problems += [Problem(f"rules:{p.path}", p.message) for p in exc.problems]
    try:
        raw = read_raw_input(input_path)
    except InputError as exc:
        problems += exc.problems
    if problems or rules is None:
        raise InputError(problems, "input and rule set" if rules is None else "input")
    return read_input(raw, rules), rules
