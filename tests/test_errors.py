"""Error paths: every kind of bad input or rule set is refused, naming the culprit.

Each case mutates a valid base input or rule set and lists the strings the message must
contain (the record id and/or field, or the rule key). Checked through the library
(`InputError.problems`: one problem must name all of them) and through the CLI (exit 2,
the message on stderr, no traceback, no output file). Several problems in one input are
all reported at once.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from incentive.model import read_input
from incentive.pipeline import allocate
from incentive.problems import InputError
from incentive.rules import parse_ruleset, parse_ruleset_text

# ---------------------------------------------------------------------------------------
# a valid base input and rule set


def base_rules() -> dict[str, Any]:
    return {
        "ruleset": {"id": "errors", "version": "1", "currency": "CNY"},
        "pool": {
            "win_rate": "0.01",
            "collection_rate": "0.02",
            "margin_table": [{"from": "0", "multiplier": "0.5"}, {"from": "0.2", "multiplier": "1"}],
        },
        "project_types": {"standard": "1", "strategic": "1.2"},
        "split": {"result_weight": "0.6", "lookback_days": 30, "vacancy": "redistribute"},
        "roles": {"AR": "0.4", "SR": "0.35", "FR": "0.25"},
        "stages": {"lead": "0.3", "bid": "0.7"},
        "caps": {"person_project_max": "5000", "person_period_max": "8000", "redistribute": "role"},
        "people": {"leaver": "pay"},
        "rounding": {"unit": "0.01"},
    }


def base_input() -> dict[str, Any]:
    return {
        "period": {"id": "2026-Q3", "start": "2026-07-01", "end": "2026-09-30"},
        "people": [
            {"id": "alice", "annual_base_salary": "300000"},
            {"id": "bob"},
            {"id": "carol", "left_on": None},
        ],
        "projects": [
            {
                "id": "J1", "type": "strategic", "contract_value": "1000000", "margin": "0.3",
                "won_on": "2026-07-15",
                "stages": {"lead": {"start": "2026-05-01", "end": "2026-06-15"},
                           "bid": {"start": "2026-06-16", "end": "2026-07-15"}},
                "collections": [{"id": "c1", "date": "2026-08-20", "amount": "200000"}],
            },
            {"id": "J2", "contract_value": "500000", "won_on": None, "stages": {}, "collections": []},
        ],
        "contributions": [
            {"id": "k1", "person_id": "alice", "project_id": "J1", "role": "AR",
             "start": "2026-05-01", "end": "2026-08-31", "fte": 1, "score": 1},
            {"id": "k2", "person_id": "bob", "project_id": "J1", "role": "SR",
             "start": "2026-06-01", "end": "2026-07-20", "fte": 0.5, "score": 1.2},
            {"id": "k3", "person_id": "carol", "project_id": "J1", "role": "FR",
             "start": "2026-07-01", "end": "2026-09-30", "fte": 1, "score": 1},
            {"id": "k4", "person_id": "alice", "project_id": "J2", "role": "AR",
             "start": "2026-07-01", "end": "2026-09-30"},
        ],
    }


def _contrib(raw: dict[str, Any], cid: str) -> dict[str, Any]:
    return next(c for c in raw["contributions"] if c["id"] == cid)


def _project(raw: dict[str, Any], pid: str) -> dict[str, Any]:
    return next(p for p in raw["projects"] if p["id"] == pid)


def _person(raw: dict[str, Any], pid: str) -> dict[str, Any]:
    return next(p for p in raw["people"] if p["id"] == pid)


def toml_text(rules: dict[str, Any]) -> str:
    """A rule set dict as TOML (tables of scalars; arrays of inline tables)."""

    def scalar(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int | float | Decimal):
            return str(v)
        if isinstance(v, str):
            try:
                Decimal(v)
            except ArithmeticError:
                return json.dumps(v)
            return v if v.strip() == v and v.lower() not in ("nan", "inf", "infinity") else json.dumps(v)
        if isinstance(v, list):
            return "[" + ", ".join(scalar(x) for x in v) + "]"
        if isinstance(v, dict):
            return "{" + ", ".join(f"{json.dumps(k)} = {scalar(x)}" for k, x in v.items()) + "}"
        raise TypeError(v)

    out = []
    for table, body in rules.items():
        if not isinstance(body, dict):
            out.append(f"{table} = {scalar(body)}")
    for table, body in rules.items():
        if isinstance(body, dict):
            out.append(f"\n[{table}]")
            out += [f"{json.dumps(k)} = {scalar(v)}" for k, v in body.items()]
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------------------
# the cases


@dataclass
class Case:
    name: str
    must_mention: list[str]
    mutate_input: Callable[[dict[str, Any]], None] | None = None
    mutate_rules: Callable[[dict[str, Any]], None] | None = None
    rules_text: str | None = None  # a whole (broken) TOML text instead of the base rule set

    @property
    def is_rules(self) -> bool:
        return self.mutate_rules is not None or self.rules_text is not None

    def build(self) -> tuple[dict[str, Any], dict[str, Any]]:
        rules, raw = base_rules(), base_input()
        if self.mutate_rules:
            self.mutate_rules(rules)
        if self.mutate_input:
            self.mutate_input(raw)
        return rules, raw


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """A mutation setting a dotted key of the rule set (value None deletes it)."""

    def run(d: dict[str, Any]) -> None:
        *head, last = path.split(".")
        for k in head:
            d = d.setdefault(k, {})
        if value is None:
            d.pop(last, None)
        else:
            d[last] = value

    return run


def _dup_person(r: dict[str, Any]) -> None:
    r["people"].append({"id": "alice", "name": "Alice again"})


def _dup_project(r: dict[str, Any]) -> None:
    r["projects"].append({"id": "J1", "contract_value": "1", "won_on": None})


def _dup_contribution(r: dict[str, Any]) -> None:
    r["contributions"].append({**_contrib(r, "k3"), "id": "k1"})


def _dup_collection(r: dict[str, Any]) -> None:
    _project(r, "J1")["collections"].append({"id": "c1", "date": "2026-09-01", "amount": "1000"})


def _contrib_field(cid: str, key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def run(r: dict[str, Any]) -> None:
        _contrib(r, cid)[key] = value

    return run


def _project_field(pid: str, key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def run(r: dict[str, Any]) -> None:
        if value is None:
            _project(r, pid).pop(key, None)
        else:
            _project(r, pid)[key] = value

    return run


def _unknown_stage(r: dict[str, Any]) -> None:
    _project(r, "J1")["stages"]["design"] = {"start": "2026-05-01", "end": "2026-05-31"}


def _stage_backwards(r: dict[str, Any]) -> None:
    _project(r, "J1")["stages"]["bid"] = {"start": "2026-07-15", "end": "2026-06-16"}


def _period_backwards(r: dict[str, Any]) -> None:
    r["period"]["end"] = "2026-06-30"


def _period_bad_date(r: dict[str, Any]) -> None:
    r["period"]["start"] = "07/01/2026"


def _collection_before_win(r: dict[str, Any]) -> None:
    _project(r, "J1")["collections"][0]["date"] = "2026-07-01"


def _collection_not_won(r: dict[str, Any]) -> None:
    _project(r, "J2")["collections"] = [{"id": "c9", "date": "2026-08-01", "amount": "100"}]


def _collection_negative(r: dict[str, Any]) -> None:
    _project(r, "J1")["collections"][0]["amount"] = "-5000"


def _collection_bad_date(r: dict[str, Any]) -> None:
    _project(r, "J1")["collections"][0]["date"] = "2026-13-01"


def _collection_unknown_field(r: dict[str, Any]) -> None:
    _project(r, "J1")["collections"][0]["note"] = "first instalment"


def _unknown_top_level(r: dict[str, Any]) -> None:
    r["bonus_pool"] = "100"


def _person_unknown_field(r: dict[str, Any]) -> None:
    _person(r, "bob")["nickname"] = "Bobby"


def _person_bad_left_on(r: dict[str, Any]) -> None:
    _person(r, "carol")["left_on"] = "2026-02-30"


def _person_negative_salary(r: dict[str, Any]) -> None:
    _person(r, "alice")["annual_base_salary"] = "-1"


INPUT_CASES = [
    Case("duplicate person id", ["people", "alice", "duplicate"], _dup_person),
    Case("duplicate project id", ["projects", "J1", "duplicate"], _dup_project),
    Case("duplicate contribution id", ["k1", "duplicate"], _dup_contribution),
    Case("duplicate collection id", ["c1", "duplicate"], _dup_collection),
    Case("unknown person", ["k2", "zed"], _contrib_field("k2", "person_id", "zed")),
    Case("unknown project", ["k2", "J9"], _contrib_field("k2", "project_id", "J9")),
    Case("unknown role", ["k2", "XR"], _contrib_field("k2", "role", "XR")),
    Case("unknown stage", ["J1", "design"], _unknown_stage),
    Case("unknown project type", ["J1", "weird"], _project_field("J1", "type", "weird")),
    Case("contribution ends before it starts", ["k2", "end"], _contrib_field("k2", "end", "2026-05-31")),
    Case("period ends before it starts", ["period", "end"], _period_backwards),
    Case("stage ends before it starts", ["J1", "bid"], _stage_backwards),
    Case("impossible date", ["k2", "start", "2026-02-30"], _contrib_field("k2", "start", "2026-02-30")),
    Case("non-ISO date in a record", ["k3", "end", "07/01/2026"], _contrib_field("k3", "end", "07/01/2026")),
    Case("non-ISO period date", ["period", "start", "07/01/2026"], _period_bad_date),
    Case("non-ISO win date", ["J1", "won_on", "07/01/2026"], _project_field("J1", "won_on", "07/01/2026")),
    Case("bad collection date", ["c1", "date", "2026-13-01"], _collection_bad_date),
    Case("bad leaving date", ["carol", "left_on", "2026-02-30"], _person_bad_left_on),
    Case("fte 0", ["k2", "fte"], _contrib_field("k2", "fte", 0)),
    Case("fte above 1", ["k2", "fte"], _contrib_field("k2", "fte", 1.5)),
    Case("negative score", ["k2", "score"], _contrib_field("k2", "score", -0.5)),
    Case("collection before the win", ["c1", "J1"], _collection_before_win),
    Case("collection on a project not won", ["c9", "J2"], _collection_not_won),
    Case("negative collection", ["c1", "amount"], _collection_negative),
    Case("won project without contract_value", ["J1", "contract_value"], _project_field("J1", "contract_value", None)),
    Case("margin missing with a margin_table", ["J1", "margin"], _project_field("J1", "margin", None)),
    Case("margin above 1", ["J1", "margin"], _project_field("J1", "margin", "1.5")),
    Case("margin below 0", ["J1", "margin"], _project_field("J1", "margin", "-0.1")),
    Case("negative salary", ["alice", "annual_base_salary"], _person_negative_salary),
    Case("unknown top-level field", ["bonus_pool"], _unknown_top_level),
    Case("unknown field in a contribution", ["k2", "hours"], _contrib_field("k2", "hours", 40)),
    Case("unknown field in a person", ["bob", "nickname"], _person_unknown_field),
    Case("unknown field in a project", ["J1", "owner"], _project_field("J1", "owner", "dana")),
    Case("unknown field in a collection", ["c1", "note"], _collection_unknown_field),
]


def _roles_off(r: dict[str, Any]) -> None:
    r["roles"] = {"AR": "0.5", "SR": "0.3", "FR": "0.1"}


def _stages_off(r: dict[str, Any]) -> None:
    r["stages"] = {"lead": "0.6", "bid": "0.6"}


def _margin_unsorted(r: dict[str, Any]) -> None:
    r["pool"]["margin_table"] = [{"from": "0.2", "multiplier": "1"}, {"from": "0", "multiplier": "0.5"}]


RULE_CASES = [
    Case("unknown rule key", ["split", "lookahead_days"], mutate_rules=_set("split.lookahead_days", 10)),
    Case("unknown rule table", ["bonus"], mutate_rules=_set("bonus.rate", "0.1")),
    Case("unknown caps key", ["caps", "person_max"], mutate_rules=_set("caps.person_max", "100")),
    Case("roles not summing to 1", ["roles"], mutate_rules=_roles_off),
    Case("stages not summing to 1", ["stages"], mutate_rules=_stages_off),
    Case("negative win rate", ["win_rate"], mutate_rules=_set("pool.win_rate", "-0.01")),
    Case("negative collection rate", ["collection_rate"], mutate_rules=_set("pool.collection_rate", "-0.5")),
    Case("missing win rate", ["win_rate"], mutate_rules=_set("pool.win_rate", None)),
    Case("bad vacancy value", ["vacancy"], mutate_rules=_set("split.vacancy", "share")),
    Case("bad redistribute value", ["redistribute"], mutate_rules=_set("caps.redistribute", "team")),
    Case("bad leaver value", ["leaver"], mutate_rules=_set("people.leaver", "keep")),
    Case("result weight above 1", ["result_weight"], mutate_rules=_set("split.result_weight", "1.5")),
    Case("negative cap", ["person_project_max"], mutate_rules=_set("caps.person_project_max", "-5")),
    Case("zero rounding unit", ["unit"], mutate_rules=_set("rounding.unit", "0")),
    Case("margin_table not sorted", ["margin_table"], mutate_rules=_margin_unsorted),
    Case("invalid TOML", ["TOML"], rules_text="[ruleset]\nid = \"broken\nversion = 1\n[pool\nwin_rate = 0.01\n"),
]

ALL_CASES = INPUT_CASES + RULE_CASES


def problem_texts(exc: InputError) -> list[str]:
    return [f"{p.path}: {p.message}" for p in exc.problems]


def names_all(texts: list[str], tokens: list[str]) -> bool:
    """Some single problem (line) mentions every token (case-insensitive)."""
    return any(all(t.lower() in text.lower() for t in tokens) for text in texts)


# ---------------------------------------------------------------------------------------
# through the library


def test_base_input_is_valid() -> None:
    rules = parse_ruleset(base_rules())
    rules_from_text = parse_ruleset_text(toml_text(base_rules()))
    assert rules.sha256 == rules_from_text.sha256
    doc = allocate(read_input(base_input(), rules), rules).document()
    assert doc["totals"]["reconciles"] is True
    assert Decimal(doc["totals"]["pools"]) > 0


@pytest.mark.parametrize("case", ALL_CASES, ids=lambda c: c.name)
def test_library_names_the_culprit(case: Case) -> None:
    rules_d, raw = case.build()
    with pytest.raises(InputError) as info:
        if case.rules_text is not None:
            parse_ruleset_text(case.rules_text, source="broken.toml")
        else:
            rules = parse_ruleset(rules_d)
            assert not case.is_rules, "the rule set should have been refused"
            read_input(raw, rules)
    texts = problem_texts(info.value)
    assert texts, "an InputError must list at least one problem"
    assert names_all(texts, case.must_mention), f"no problem mentions all of {case.must_mention}: {texts}"
    assert all(t in info.value.render() for t in texts)


def test_library_reports_every_input_problem_at_once() -> None:
    """One input with many independent problems: each is reported, none hides another."""
    cases = [c for c in INPUT_CASES if c.name in ALL_AT_ONCE]
    raw = base_input()
    for c in cases:
        assert c.mutate_input is not None
        c.mutate_input(raw)
    with pytest.raises(InputError) as info:
        read_input(raw, parse_ruleset(base_rules()))
    texts = problem_texts(info.value)
    missing = [c.name for c in cases if not names_all(texts, c.must_mention)]
    assert not missing, f"not reported: {missing}; got {texts}"


def _record_and_reference_input() -> dict[str, Any]:
    raw = base_input()
    _contrib_field("k2", "fte", 1.5)(raw)
    _contrib_field("k1", "person_id", "zed")(raw)
    _contrib_field("k3", "role", "XR")(raw)
    _contrib_field("k4", "end", "2026-06-01")(raw)
    return raw


RECORD_AND_REFERENCE = (["k2", "fte"], ["k1", "zed"], ["k3", "XR"], ["k4", "end"])
BUG_HIDDEN = ("engine bug: a field-level problem in any contribution (fte, score, date, unknown field) makes "
              "read_input skip the reference/end-before-start checks of ALL contributions, so those problems "
              "are not reported")


def test_library_reports_record_and_reference_problems_together() -> None:
    """A contribution with a bad field does not hide another contribution's unknown person,
    role or project (each record's problems are independent)."""
    with pytest.raises(InputError) as info:
        read_input(_record_and_reference_input(), parse_ruleset(base_rules()))
    texts = problem_texts(info.value)
    for tokens in RECORD_AND_REFERENCE:
        assert names_all(texts, tokens), f"{tokens} not reported: {texts}"


def _bad_but_referenced_input() -> dict[str, Any]:
    raw = base_input()
    _project_field("J1", "owner", "dana")(raw)  # J1 exists, with one bad field
    _person_bad_left_on(raw)  # carol exists, with one bad field
    return raw


BUG_FALSE_UNKNOWN = ("engine bug: a person/project with one bad field is dropped before the reference checks, so every "
                     "valid contribution that references it is reported as 'not in people/projects' (false problems)")


def test_library_bad_field_does_not_make_a_record_unknown() -> None:
    """Only the real problems are reported: J1 and carol are in the input, so the valid
    contributions k1-k3 that reference them are not at fault."""
    with pytest.raises(InputError) as info:
        read_input(_bad_but_referenced_input(), parse_ruleset(base_rules()))
    texts = problem_texts(info.value)
    assert names_all(texts, ["J1", "owner"]) and names_all(texts, ["carol", "left_on"]), texts
    assert not [t for t in texts if "contributions" in t], f"false problems reported: {texts}"


def test_library_reports_every_rule_problem_at_once() -> None:
    rules = base_rules()
    for c in RULE_CASES:
        if c.name in ALL_RULES_AT_ONCE:
            assert c.mutate_rules is not None
            c.mutate_rules(rules)
    with pytest.raises(InputError) as info:
        parse_ruleset(rules)
    texts = problem_texts(info.value)
    missing = [c.name for c in RULE_CASES if c.name in ALL_RULES_AT_ONCE and not names_all(texts, c.must_mention)]
    assert not missing, f"not reported: {missing}; got {texts}"


ALL_AT_ONCE = {
    "duplicate person id", "duplicate contribution id", "unknown person", "unknown project type",
    "stage ends before it starts", "collection before the win", "collection on a project not won",
    "won project without contract_value", "unknown top-level field", "unknown field in a person",
    "negative salary",
}
ALL_RULES_AT_ONCE = {
    "unknown rule key", "unknown rule table", "roles not summing to 1", "stages not summing to 1",
    "negative win rate", "bad vacancy value", "margin_table not sorted", "zero rounding unit",
}


# ---------------------------------------------------------------------------------------
# through the command line


@dataclass
class CliRun:
    returncode: int
    stdout: str
    stderr: str
    out_exists: bool
    rules_path: Path


def _cli(workdir: Path, rules_text: str, raw: Any) -> CliRun:
    workdir.mkdir(parents=True, exist_ok=True)
    inp, rules, out = workdir / "input.json", workdir / "rules.toml", workdir / "result.json"
    inp.write_text(json.dumps(raw, indent=1))
    rules.write_text(rules_text)
    proc = subprocess.run(
        [sys.executable, "-m", "incentive.cli", "allocate", str(inp), "--rules", str(rules), "--out", str(out)],
        capture_output=True, text=True, timeout=120,
    )
    return CliRun(proc.returncode, proc.stdout, proc.stderr, out.exists(), rules)


def _combined_input() -> dict[str, Any]:
    raw = base_input()
    for c in INPUT_CASES:
        if c.name in ALL_AT_ONCE and c.mutate_input:
            c.mutate_input(raw)
    return raw


def _combined_rules() -> dict[str, Any]:
    rules = base_rules()
    for c in RULE_CASES:
        if c.name in ALL_RULES_AT_ONCE and c.mutate_rules:
            c.mutate_rules(rules)
    return rules


def _cli_jobs() -> dict[str, tuple[str, Any]]:
    """Every CLI run of this module: name -> (rules TOML text, raw input)."""
    jobs: dict[str, tuple[str, Any]] = {"(valid base)": (toml_text(base_rules()), base_input())}
    for c in ALL_CASES:
        rules_d, raw = c.build()
        jobs[c.name] = (c.rules_text if c.rules_text is not None else toml_text(rules_d), raw)
    jobs["(all input problems)"] = (toml_text(base_rules()), _combined_input())
    jobs["(all rule problems)"] = (toml_text(_combined_rules()), base_input())
    jobs["(record and reference problems)"] = (toml_text(base_rules()), _record_and_reference_input())
    jobs["(bad but referenced)"] = (toml_text(base_rules()), _bad_but_referenced_input())
    return jobs


class CliRuns:
    """CLI runs by name. Each is a fresh interpreter (~0.4 s), so in a plain run they are all
    started together, several at a time, on first use; under pytest-xdist, where a worker
    sees only some of the tests, each is run when asked for."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.jobs = _cli_jobs()
        self.done: dict[str, CliRun] = {}

    def _run(self, name: str) -> CliRun:
        text, raw = self.jobs[name]
        return _cli(self.root / f"run{list(self.jobs).index(name)}", text, raw)

    def __getitem__(self, name: str) -> CliRun:
        if name not in self.done:
            if os.environ.get("PYTEST_XDIST_WORKER"):
                self.done[name] = self._run(name)
            else:
                todo = [n for n in self.jobs if n not in self.done]
                with ThreadPoolExecutor(max_workers=4) as pool:
                    self.done.update(zip(todo, pool.map(self._run, todo), strict=True))
        return self.done[name]


@pytest.fixture(scope="module")
def cli_runs(tmp_path_factory: pytest.TempPathFactory) -> CliRuns:
    return CliRuns(tmp_path_factory.mktemp("cli"))


def _assert_refused(run: CliRun) -> list[str]:
    assert run.returncode == 2, (run.returncode, run.stderr)
    assert "Traceback" not in run.stderr and "Traceback" not in run.stdout
    assert not run.out_exists, "no result file may be written for a refused input"
    assert run.stderr.strip(), "the problems must be on stderr"
    return run.stderr.splitlines()


def test_cli_accepts_the_base_input(cli_runs: CliRuns) -> None:
    run = cli_runs["(valid base)"]
    assert run.returncode == 0, run.stderr
    assert run.out_exists


@pytest.mark.parametrize("case", ALL_CASES, ids=lambda c: c.name)
def test_cli_refuses_and_names_the_culprit(case: Case, cli_runs: CliRuns) -> None:
    run = cli_runs[case.name]
    lines = _assert_refused(run)
    assert names_all(lines, case.must_mention), f"no stderr line mentions all of {case.must_mention}:\n{run.stderr}"
    if case.rules_text is not None:
        assert str(run.rules_path) in run.stderr, "a broken rule-set file must be named"


def test_cli_reports_every_input_problem_at_once(cli_runs: CliRuns) -> None:
    run = cli_runs["(all input problems)"]
    lines = _assert_refused(run)
    missing = [c.name for c in INPUT_CASES if c.name in ALL_AT_ONCE and not names_all(lines, c.must_mention)]
    assert not missing, f"not reported: {missing}\n{run.stderr}"


def test_cli_reports_every_rule_problem_at_once(cli_runs: CliRuns) -> None:
    run = cli_runs["(all rule problems)"]
    lines = _assert_refused(run)
    missing = [c.name for c in RULE_CASES if c.name in ALL_RULES_AT_ONCE and not names_all(lines, c.must_mention)]
    assert not missing, f"not reported: {missing}\n{run.stderr}"



def test_cli_reports_record_and_reference_problems_together(cli_runs: CliRuns) -> None:
    run = cli_runs["(record and reference problems)"]
    lines = _assert_refused(run)
    for tokens in RECORD_AND_REFERENCE:
        assert names_all(lines, tokens), f"{tokens} not reported:\n{run.stderr}"


def test_cli_bad_field_does_not_make_a_record_unknown(cli_runs: CliRuns) -> None:
    run = cli_runs["(bad but referenced)"]
    lines = _assert_refused(run)
    assert names_all(lines, ["J1", "owner"]) and names_all(lines, ["carol", "left_on"]), run.stderr
    assert "contributions" not in run.stderr, f"false problems reported:\n{run.stderr}"
