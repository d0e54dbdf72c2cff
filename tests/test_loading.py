"""The fast JSON path (records parsed straight from the bytes) must read exactly what the
plain decimal-exact parse reads, whatever the file's layout."""

from __future__ import annotations

import json
import random
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest

from incentive.loading import parse_json_bytes, read_raw_input
from incentive.model import read_input
from incentive.pipeline import allocate
from incentive.problems import InputError
from incentive.result import dumps
from incentive.rules import load_ruleset

from .conftest import ROOT

EXAMPLE = ROOT / "examples" / "company" / "input.json"
RULES = load_ruleset(ROOT / "rules" / "ltc-default.toml")


def _layouts(doc: dict[str, Any]) -> dict[str, bytes]:
    shuffled = json.loads(json.dumps(doc))
    rng = random.Random(7)
    shuffled["contributions"] = [dict(rng.sample(list(r.items()), len(r))) for r in shuffled["contributions"]]
    escaped = json.loads(json.dumps(doc))
    escaped["contributions"][0]["id"] = "K\u00e9\"quoted\""
    return {
        "compact": orjson.dumps(doc),
        "indent1": json.dumps(doc, indent=1).encode(),
        "indent2": orjson.dumps(doc, option=orjson.OPT_INDENT_2),
        "spaces": json.dumps(doc, separators=(" , ", " : ")).encode(),
        "shuffled-keys": json.dumps(shuffled).encode(),
        "escaped-id": json.dumps(escaped, ensure_ascii=True).encode(),
        "crlf": json.dumps(doc, indent=2).replace("\n", "\r\n").encode(),
    }


@pytest.mark.parametrize("layout", ["compact", "indent1", "indent2", "spaces", "shuffled-keys", "escaped-id", "crlf"])
def test_every_layout_reads_like_the_exact_parse(layout: str, tmp_path: Path) -> None:
    doc = json.loads(EXAMPLE.read_text())
    data = _layouts(doc)[layout]
    path = tmp_path / "input.json"
    path.write_bytes(data)
    fast = read_input(read_raw_input(path), RULES)
    exact = read_input(parse_json_bytes(data), RULES)
    assert fast.sha256 == exact.sha256
    assert fast.contributions.records() == exact.contributions.records()
    assert dumps(allocate(fast, RULES).document()) == dumps(allocate(exact, RULES).document())


def test_money_keeps_its_decimal_text(tmp_path: Path) -> None:
    doc = json.loads(EXAMPLE.read_text())
    doc["projects"][0]["contract_value"] = 1234567.125  # a JSON number, not a string
    path = tmp_path / "input.json"
    path.write_text(json.dumps(doc))
    inp = read_input(read_raw_input(path), RULES)
    assert inp.projects[0].contract_value == Decimal("1234567.125")


def test_bad_records_are_reported_from_the_fast_path_too(tmp_path: Path) -> None:
    doc = json.loads(EXAMPLE.read_text())
    doc["contributions"][3]["fte"] = 1.5
    doc["contributions"][5]["person_id"] = "nobody"
    path = tmp_path / "input.json"
    path.write_bytes(orjson.dumps(doc))
    with pytest.raises(InputError) as info:
        read_input(read_raw_input(path), RULES)
    text = info.value.render()
    assert f"contributions[{doc['contributions'][3]['id']}].fte" in text
    assert "nobody" in text and doc["contributions"][5]["id"] in text
