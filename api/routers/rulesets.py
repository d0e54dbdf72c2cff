"""Rule sets: the bundled files under rules/, and validation of a candidate rule set."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Path

from incentive.problems import InputError, Problem
from incentive.rules import parse_ruleset_text

from .. import examples
from ..errors import ApiError
from ..openapi_docs import AUTH, errors
from ..routing import DecimalJSONRoute
from ..schemas import RulesetListOut, RulesetOut, ValidateRulesIn, ValidateRulesOut
from ..security import MANAGER, require
from ..service import bundled_rulesets, resolve_rules, ruleset_summary, validate_toml
from ..store import KeyInfo

router = APIRouter(prefix="/v1/rulesets", tags=["rule sets"], route_class=DecimalJSONRoute)
Manager = Annotated[KeyInfo, Depends(require(MANAGER))]


@router.get("", response_model=RulesetListOut, responses=errors(*AUTH),
            summary="the bundled rule sets (files under rules/)")
def list_rulesets(_key: Manager) -> RulesetListOut:
    valid, invalid = [], []
    for rid, path in sorted(bundled_rulesets().items()):
        try:
            rules = parse_ruleset_text(path.read_text(encoding="utf-8"), source=rid)
        except InputError as exc:
            invalid.append({"id": rid, "errors": exc.as_list()})
            continue
        valid.append(ruleset_summary(rules))
    return RulesetListOut.model_validate({"rulesets": valid, "invalid": invalid})


@router.get("/{ruleset_id}", response_model=RulesetOut, responses=errors(*AUTH, 404),
            summary="one bundled rule set: its TOML text, canonical form and sha256")
def get_ruleset(ruleset_id: Annotated[str, Path(min_length=1, max_length=200)], _key: Manager) -> RulesetOut:
    path = bundled_rulesets().get(ruleset_id)
    if path is None:
        raise ApiError(404, f"no bundled rule set {ruleset_id!r}", path="path.ruleset_id")
    resolved = resolve_rules(ruleset_id)
    rules = resolved.rules
    return RulesetOut.model_validate({**ruleset_summary(rules), "pay_component": rules.payroll.component_code,
                                      "canonical": rules.canonical(), "toml": resolved.text})


@router.post("/validate", response_model=ValidateRulesOut, responses=errors(*AUTH),
             summary="validate a rule set (an id, an object, or TOML text) without computing anything")
def validate_ruleset(body: Annotated[ValidateRulesIn, Body(openapi_examples=examples.VALIDATE_EXAMPLES)],
                     _key: Manager) -> ValidateRulesOut:
    if (body.rules is None) == (body.toml is None):
        raise InputError([Problem("body", "give exactly one of 'rules' (an id or an object) and 'toml' (text)")])
    rules = resolve_rules(body.rules).rules if body.rules is not None else validate_toml(body.toml or "")
    return ValidateRulesOut.model_validate({**ruleset_summary(rules), "valid": True, "canonical": rules.canonical()})
