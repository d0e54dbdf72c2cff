"""Request (``…In``) and response (``…Out``) models of the v1 API.

Request bodies are parsed with decimals kept exact (`api.routing.DecimalJSONRoute`); the period
input and a rule-set object are passed on to the engine as plain data and validated there, whole,
so that every problem names its record. Their OpenAPI schemas are the engine's own models
(`incentive.model`, `incentive.rules.RuleSet`). Money in responses is always a decimal string.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from incentive.model import Period, Person, Project
from incentive.rules import RuleSet

MONEY_PATTERN = r"^-?\d+(\.\d+)?$"
Money = Annotated[str, Field(pattern=MONEY_PATTERN, description="money as a decimal string",
                             examples=["1234.56"])]
Sha256 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]


def inline_refs(schema: dict[str, Any]) -> dict[str, Any]:
    """A pydantic JSON schema with its ``$defs`` substituted in place (no recursion in ours)."""
    defs = schema.get("$defs", {})

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                merged = {**walk(defs[ref.split("/")[-1]]), **{k: walk(v) for k, v in node.items() if k != "$ref"}}
                return merged
            return {k: walk(v) for k, v in node.items() if k != "$defs"}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    out: dict[str, Any] = walk(schema)
    return out


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ContributionDoc(_Doc):
    """One contribution record (SPEC §2)."""

    id: str = Field(min_length=1)
    person_id: str = Field(min_length=1)
    project_id: str = Field(min_length=1)
    role: str = Field(min_length=1, description="a role of the rule set, e.g. AR, SR, FR")
    start: str = Field(json_schema_extra={"format": "date"})
    end: str = Field(json_schema_extra={"format": "date"}, description="inclusive")
    fte: float = Field(default=1, gt=0, le=1)
    score: float = Field(default=1, ge=0)


class PeriodInputDoc(_Doc):
    """A period input (SPEC §2): the same document `incentive allocate` reads."""

    period: Period
    people: list[Person] = Field(default_factory=list)
    projects: list[Project] = Field(default_factory=list)
    contributions: list[ContributionDoc] = Field(default_factory=list)


def _schema_of(model: type[BaseModel]) -> dict[str, Any]:
    return inline_refs(model.model_json_schema(mode="validation"))


PeriodInputJson = Annotated[dict[str, Any], WithJsonSchema(
    {**_schema_of(PeriodInputDoc), "description": "the period input (SPEC §2); validated whole by the engine"})]
RulesRef = Annotated[str | dict[str, Any], WithJsonSchema({
    "description": "a rule-set id from rules/ (see GET /v1/rulesets) or a rule-set object with the TOML's "
                   "tables and keys",
    "anyOf": [{"type": "string", "minLength": 1, "maxLength": 200}, _schema_of(RuleSet)],
})]
RulesPatch = Annotated[dict[str, Any], WithJsonSchema({
    "type": "object",
    "description": "tables/keys merged (deep) into the base rule set; a key set to null removes it",
    "additionalProperties": True,
})]


# ---------------------------------------------------------------------------------------------
# requests


class ScenarioIn(_Doc):
    name: str = Field(min_length=1, max_length=200)
    rules_patch: RulesPatch = Field(default_factory=dict)


class SimulationIn(_Doc):
    input: PeriodInputJson
    rules: RulesRef
    scenarios: list[ScenarioIn] = Field(default_factory=list, max_length=50)


class SupersedeIn(_Doc):
    run_id: str = Field(min_length=1, max_length=40)
    reason: str = Field(min_length=1, max_length=2000, description="why the period is closed again (required)")


class CloseIn(_Doc):
    input: PeriodInputJson
    rules: RulesRef
    supersede: SupersedeIn | None = None


class ValidateRulesIn(_Doc):
    """Exactly one of `rules` (an id or an object) and `toml` (the text of a rule-set file)."""

    rules: RulesRef | None = None
    toml: str | None = Field(default=None, max_length=1_000_000)


# ---------------------------------------------------------------------------------------------
# responses


class _Out(BaseModel):
    model_config = ConfigDict(extra="allow")


class ProblemOut(BaseModel):
    path: str = Field(description="the record, field or rule key at fault, e.g. input.people[p1].left_on")
    message: str


class ErrorOut(BaseModel):
    errors: list[ProblemOut]


class PeriodOut(_Out):
    id: str
    start: str
    end: str


class ResultRulesetOut(_Out):
    id: str
    version: str
    sha256: Sha256
    currency: str
    unit: Money
    pay_component: str


class TotalsOut(_Out):
    pools: Money
    paid: Money
    forfeited: Money
    reconciles: bool
    lines: int
    people: int


class ForfeitOut(_Out):
    reason: str
    amount: Money


class ProjectResultOut(_Out):
    project_id: str
    pool: Money
    paid: Money
    forfeited: list[ForfeitOut]
    forfeited_total: Money
    events: list[dict[str, Any]]


class LineOut(_Out):
    line_id: str
    person_id: str
    project_id: str
    role: str
    ideal: str
    final_unrounded: str
    amount: Money
    binding: list[str]
    breakdown: list[dict[str, Any]]


class PersonResultOut(_Out):
    person_id: str
    name: str | None
    cost_center: str | None
    total: Money
    cap: Money | None
    leaver: bool


class ResultOut(_Out):
    """The engine's result document (see incentive/result.py); more fields than listed here."""

    schema_: str = Field(alias="schema")
    period: PeriodOut
    ruleset: ResultRulesetOut
    input_sha256: Sha256
    solver: dict[str, Any]
    totals: TotalsOut
    projects: list[ProjectResultOut]
    lines: list[LineOut]
    people: list[PersonResultOut]


class PersonDeltaOut(BaseModel):
    person_id: str
    old: Money
    new: Money
    difference: Money


class LineDeltaOut(BaseModel):
    line_id: str
    person_id: str
    project_id: str
    role: str
    old: Money
    new: Money
    difference: Money


class DeltaTotalsOut(BaseModel):
    old: Money
    new: Money
    difference: Money


class DeltaOut(BaseModel):
    """What changed from an old result to a new one: only people and lines whose amount differs."""

    base_run_id: str | None = Field(description="the run compared against (a correction's superseded run)")
    totals: DeltaTotalsOut
    people: list[PersonDeltaOut]
    lines: list[LineDeltaOut]
    unchanged_people: int
    unchanged_lines: int


class ScenarioOut(BaseModel):
    name: str
    ruleset_sha256: Sha256
    result: ResultOut
    deltas: DeltaOut


class SimulationOut(BaseModel):
    result: ResultOut
    scenarios: list[ScenarioOut]


class RunRulesetOut(BaseModel):
    id: str
    version: str
    sha256: Sha256
    format: Literal["toml", "json"]


class RunTotalsOut(BaseModel):
    pools: Money
    paid: Money
    forfeited: Money


class RunSummaryOut(BaseModel):
    run_id: str
    period_id: str
    status: Literal["current", "superseded"]
    created_at: str = Field(description="UTC, ISO 8601")
    closed_by: str = Field(description="name of the API key that closed the period")
    input_sha256: Sha256
    result_sha256: Sha256
    ruleset: RunRulesetOut
    currency: str
    totals: RunTotalsOut
    line_count: int
    people_count: int
    supersedes: str | None
    supersede_reason: str | None
    superseded_by: str | None


class RunOut(RunSummaryOut):
    result: ResultOut
    delta: DeltaOut | None = Field(description="for a correction: the change from the run it supersedes")


class RunListOut(BaseModel):
    runs: list[RunSummaryOut]


class LinesPageOut(BaseModel):
    run_id: str
    total: int
    limit: int
    offset: int
    next_offset: int | None
    items: list[LineOut]


class StatementOut(_Out):
    run_id: str
    period: PeriodOut
    ruleset: ResultRulesetOut
    person: PersonResultOut
    lines: list[dict[str, Any]]
    currency: str


class PayrollRowOut(BaseModel):
    employee_id: str
    pay_component: str
    amount: Money
    currency: str
    period_id: str
    cost_center: str
    run_id: str
    line_ref: str


class ControlTotalsOut(BaseModel):
    line_count: int
    amount_sum: Money


class PayrollOut(BaseModel):
    run_id: str
    period_id: str
    columns: list[str]
    rows: list[PayrollRowOut]
    control_totals: ControlTotalsOut


class RulesetSummaryOut(BaseModel):
    id: str
    version: str
    currency: str
    sha256: Sha256


class InvalidRulesetOut(BaseModel):
    id: str
    errors: list[ProblemOut]


class RulesetListOut(BaseModel):
    rulesets: list[RulesetSummaryOut]
    invalid: list[InvalidRulesetOut]


class RulesetOut(RulesetSummaryOut):
    pay_component: str
    canonical: dict[str, Any]
    toml: str


class ValidateRulesOut(RulesetSummaryOut):
    valid: Literal[True]
    canonical: dict[str, Any]


class HealthOut(BaseModel):
    status: Literal["ok"]


class ReadyOut(BaseModel):
    status: Literal["ready"]
    database: str
    schema_revision: str | None
