"""Every worked case in ../shared/cases, run in place through the library and the CLI.

Compared as the cases' README says: rounded money exactly, `ideal` to 1e-4; a line or
person missing from the result counts as 0.00. Error cases must be refused with exit 2, no
traceback, and a message that mentions each string in `must_mention`.
"""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from incentive.loading import parse_json_bytes
from incentive.model import read_input
from incentive.pipeline import allocate
from incentive.problems import InputError
from incentive.result import dumps
from incentive.rules import load_ruleset

from .conftest import CASES

ALL = sorted(p.name for p in CASES.iterdir() if p.is_dir()) if CASES.is_dir() else []
GOOD = [c for c in ALL if (CASES / c / "expected.json").exists()]
BAD = [c for c in ALL if (CASES / c / "error.json").exists()]


def _library(case: Path, method: str = "fast") -> dict[str, Any]:
    rules = load_ruleset(case / "rules.toml")
    inp = read_input(parse_json_bytes((case / "input.json").read_bytes()), rules)
    return allocate(inp, rules, method=method).document()


def _cli_allocate(case: Path, out: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    """`incentive allocate` on a case folder, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "incentive.cli", "allocate", str(case / "input.json"),
         "--rules", str(case / "rules.toml"), "--out", str(out), *flags],
        capture_output=True, text=True, timeout=120,
    )


def _compare(doc: dict[str, Any], expected: dict[str, Any]) -> list[str]:
    """Differences between a result document and a case's expected.json (empty = match)."""
    diffs: list[str] = []
    projects = {p["project_id"]: p for p in doc["projects"]}
    for e in expected["projects"]:
        got = projects.get(e["project_id"])
        if got is None:
            got_vals = ("0.00", "0.00", Decimal("0.00"))
        else:
            got_vals = (got["pool"], got["paid"], sum((Decimal(f["amount"]) for f in got["forfeited"]), Decimal(0)))
        if (got_vals[0], got_vals[1]) != (e["pool"], e["paid"]) or got_vals[2] != Decimal(e["forfeited_total"]):
            diffs.append(f"project {e['project_id']}: expected pool/paid/forfeited {e['pool']}/{e['paid']}/"
                         f"{e['forfeited_total']}, got {got_vals[0]}/{got_vals[1]}/{got_vals[2]}")
    lines = {(ln["person_id"], ln["project_id"], ln["role"]): ln for ln in doc["lines"]}
    for e in expected["lines"]:
        key = (e["person_id"], e["project_id"], e["role"])
        got = lines.get(key)
        amount = got["amount"] if got else "0.00"
        ideal = float(got["ideal"]) if got else 0.0
        if Decimal(amount) != Decimal(e["amount"]):
            diffs.append(f"line {key}: expected amount {e['amount']}, got {amount} "
                         f"(final_unrounded expected {e['final_unrounded']}, got {got and got['final_unrounded']})")
        if abs(ideal - float(e["ideal"])) > 1e-4:
            diffs.append(f"line {key}: expected ideal {e['ideal']}, got {ideal}")
    expected_keys = {(e["person_id"], e["project_id"], e["role"]) for e in expected["lines"]}
    for key, ln in lines.items():
        if key not in expected_keys and Decimal(ln["amount"]) != 0:
            diffs.append(f"line {key}: not expected, but pays {ln['amount']}")
    people = {p["person_id"]: p for p in doc["people"]}
    for e in expected["people"]:
        got = people.get(e["person_id"])
        total = got["total"] if got else "0.00"
        if Decimal(total) != Decimal(e["total"]):
            diffs.append(f"person {e['person_id']}: expected total {e['total']}, got {total}")
        if got is not None and got["cap"] != e["cap"]:
            diffs.append(f"person {e['person_id']}: expected cap {e['cap']}, got {got['cap']}")
    return diffs


def test_cases_are_present() -> None:
    assert len(GOOD) >= 9 and len(BAD) >= 4, f"expected the shared worked cases in {CASES}"


@pytest.mark.parametrize("case", GOOD)
def test_case_library(case: str) -> None:
    doc = _library(CASES / case)
    expected = json.loads((CASES / case / "expected.json").read_text())
    assert _compare(doc, expected) == []
    assert doc["totals"]["reconciles"] is True


@pytest.mark.parametrize("case", GOOD)
def test_case_plain_pulp_agrees(case: str) -> None:
    """The plain PuLP formulation (one model, no decomposition) reproduces the case too."""
    doc = _library(CASES / case, method="pulp")
    expected = json.loads((CASES / case / "expected.json").read_text())
    assert _compare(doc, expected) == []


@pytest.mark.parametrize("case", GOOD)
def test_case_cli(case: str, tmp_path: Path) -> None:
    out = tmp_path / "result.json"
    proc = _cli_allocate(CASES / case, out, "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(out.read_text())
    expected = json.loads((CASES / case / "expected.json").read_text())
    assert _compare(doc, expected) == []
    summary = json.loads(proc.stdout)
    assert summary["totals"]["reconciles"] is True
    # rerun: byte-identical result
    out2 = tmp_path / "again.json"
    proc2 = _cli_allocate(CASES / case, out2, "--quiet")
    assert proc2.returncode == 0, proc2.stderr
    assert out.read_bytes() == out2.read_bytes()
    assert out.read_bytes() == dumps(_library(CASES / case))


@pytest.mark.parametrize("case", BAD)
def test_error_case_library(case: str) -> None:
    must = json.loads((CASES / case / "error.json").read_text())["must_mention"]
    with pytest.raises(InputError) as info:
        _library(CASES / case)
    text = info.value.render()
    for s in must:
        assert s in text, f"{s!r} not in {text!r}"


@pytest.mark.parametrize("case", BAD)
def test_error_case_cli(case: str, tmp_path: Path) -> None:
    must = json.loads((CASES / case / "error.json").read_text())["must_mention"]
    out = tmp_path / "result.json"
    proc = _cli_allocate(CASES / case, out)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    for s in must:
        assert s in proc.stderr
    assert not out.exists()


def test_compare_detects_a_wrong_amount() -> None:
    """The comparison itself can fail: a one-cent change is caught."""
    case = CASES / GOOD[0]
    doc = _library(case)
    expected = json.loads((case / "expected.json").read_text())
    line = expected["lines"][0]
    line["amount"] = str(Decimal(line["amount"]) + Decimal("0.01"))
    assert _compare(doc, expected)
