"""Rule sets: the versioned TOML files under `rules/` that say how money is computed.

A rule set is validated whole before any calculation: every unknown key, bad value or
weight table that does not sum to 1 is reported at once, each naming its key. The
canonical form (validated values, defaults filled in, keys sorted, numbers as decimal
text) is what the sha256 in every result is taken over, so two files that differ only in
comments or layout have the same hash.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .money import to_decimal
from .problems import InputError, Problem

WEIGHT_TOLERANCE = Decimal("1e-9")
RULES_DIR = Path(__file__).resolve().parent.parent / "rules"


def _dec(v: object) -> Decimal:
    return to_decimal(v)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RulesetId(_Strict):
    id: str = Field(min_length=1)
    version: str = Field(min_length=1)
    currency: str = Field(min_length=1)

    @field_validator("version", mode="before")
    @classmethod
    def _version_text(cls, v: object) -> object:
        return str(v) if isinstance(v, int | Decimal) else v


class MarginRow(_Strict):
    from_: Decimal = Field(alias="from")
    multiplier: Decimal = Field(ge=0)

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Pool(_Strict):
    win_rate: Decimal = Field(ge=0)
    collection_rate: Decimal = Field(ge=0)
    margin_table: tuple[MarginRow, ...] | None = None

    @field_validator("margin_table")
    @classmethod
    def _sorted(cls, v: tuple[MarginRow, ...] | None) -> tuple[MarginRow, ...] | None:
        if v is not None:
            if not v:
                raise ValueError("margin_table must have at least one row (or be left out)")
            froms = [row.from_ for row in v]
            if froms != sorted(froms) or len(set(froms)) != len(froms):
                raise ValueError("margin_table rows must be sorted by 'from', strictly increasing")
        return v


class Split(_Strict):
    result_weight: Decimal = Field(ge=0, le=1)
    lookback_days: int = Field(ge=1)
    vacancy: Literal["redistribute", "forfeit"]


class Caps(_Strict):
    person_project_max: Decimal | None = Field(default=None, ge=0)
    person_period_max: Decimal | None = Field(default=None, ge=0)
    person_period_salary_multiple: Decimal | None = Field(default=None, ge=0)
    redistribute: Literal["none", "role", "project"] = "none"
    period_budget: Decimal | None = Field(default=None, ge=0)


class PeoplePolicy(_Strict):
    leaver: Literal["pay", "forfeit"] = "pay"


class Rounding(_Strict):
    unit: Decimal = Field(default=Decimal("0.01"), gt=0)


class Payroll(_Strict):
    """Extension (not in SPEC §3): the pay component code payroll files carry."""

    component_code: str = Field(default="LTC_PROJECT_BONUS", min_length=1)


class RuleSet(_Strict):
    """A whole, validated rule set. Field names are the TOML's tables and keys."""

    ruleset: RulesetId
    pool: Pool
    project_types: dict[str, Decimal] | None = None
    split: Split
    roles: dict[str, Decimal]
    stages: dict[str, Decimal]
    caps: Caps = Caps()
    people: PeoplePolicy = PeoplePolicy()
    rounding: Rounding = Rounding()
    payroll: Payroll = Payroll()

    # --- derived, read by the engine -------------------------------------------------
    @property
    def role_names(self) -> list[str]:
        return list(self.roles)

    @property
    def stage_names(self) -> list[str]:
        return list(self.stages)

    def margin_multiplier(self, margin: Decimal | None) -> Decimal:
        """Multiplier of the last row with `from <= margin`; below the first row, 0 (a gate).

        With no margin table every project gets 1.
        """
        table = self.pool.margin_table
        if table is None:
            return Decimal(1)
        if margin is None:
            return Decimal(0)
        mult = Decimal(0)
        for row in table:
            if row.from_ <= margin:
                mult = row.multiplier
        return mult

    def type_multiplier(self, project_type: str) -> Decimal:
        """The project type's multiplier; 1 for every type when the table is absent."""
        if self.project_types is None:
            return Decimal(1)
        return self.project_types[project_type]

    def canonical(self) -> dict[str, Any]:
        """The validated rule set as plain data: decimals as text, keys as in the TOML."""
        return _canon(self.model_dump(by_alias=True, mode="python"))

    def canonical_json(self) -> str:
        return json.dumps(self.canonical(), sort_keys=True, separators=(",", ":"))

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.canonical_json().encode()).hexdigest()


def _canon(value: Any) -> Any:
    if isinstance(value, Decimal):
        text = format(value.normalize(), "f")
        return text
    if isinstance(value, dict):
        return {str(k): _canon(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_canon(v) for v in value]
    return value


def _loc(loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        else:
            parts.append(("." if parts else "") + str(item))
    return "".join(parts) or "(rule set)"


def _pydantic_problems(err: ValidationError) -> list[Problem]:
    out = []
    for e in err.errors():
        loc = tuple(x for x in e["loc"] if x not in ("function-after", "function-before"))
        msg = e["msg"]
        if e["type"] == "extra_forbidden":
            msg = "unknown key"
        elif e["type"] == "missing":
            msg = "required key is missing"
        out.append(Problem(_loc(loc), msg))
    return out


def _convert_numbers(value: Any) -> Any:
    """TOML numbers to Decimal by their text (floats were parsed with parse_float=Decimal)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, dict):
        return {k: _convert_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_convert_numbers(v) for v in value]
    return value


def parse_ruleset(data: dict[str, Any]) -> RuleSet:
    """Validate a rule set given as plain data (the TOML's tables); raise InputError listing all problems."""
    problems: list[Problem] = []
    if not isinstance(data, dict):
        raise InputError([Problem("(rule set)", "a rule set must be a table/object")], "rule set")
    data = _convert_numbers(data)
    # lookback_days is an integer key: keep it an int if it was written as one
    split = data.get("split")
    if isinstance(split, dict) and isinstance(split.get("lookback_days"), Decimal):
        lb = split["lookback_days"]
        split["lookback_days"] = int(lb) if lb == lb.to_integral_value() else lb
    try:
        rs = RuleSet.model_validate(data)
    except ValidationError as err:
        problems.extend(_pydantic_problems(err))
        rs = None
    # checks across keys, reported even when other keys failed
    for table in ("roles", "stages"):
        weights = data.get(table)
        if isinstance(weights, dict):
            if not weights:
                problems.append(Problem(table, f"{table} must list at least one entry"))
                continue
            try:
                vals = [to_decimal(v) for v in weights.values()]
            except ValueError:
                continue  # already reported by the model
            bad = [k for k, v in weights.items() if to_decimal(v) < 0]
            for k in bad:
                problems.append(Problem(f"{table}.{k}", "weight must not be negative"))
            total = sum(vals, Decimal(0))
            if abs(total - 1) > WEIGHT_TOLERANCE:
                problems.append(Problem(table, f"{table} weights sum to {total}, not 1"))
    types = data.get("project_types")
    if isinstance(types, dict):
        for k, v in types.items():
            try:
                if to_decimal(v) < 0:
                    problems.append(Problem(f"project_types.{k}", "multiplier must not be negative"))
            except ValueError:
                pass
    if problems:
        raise InputError(problems, "rule set")
    assert rs is not None
    return rs


def load_ruleset(ref: str | Path) -> RuleSet:
    """Read and validate a rule set from a TOML file path, or by id from the `rules/` folder."""
    path = Path(ref)
    if not path.exists() and not str(ref).endswith(".toml"):
        candidate = RULES_DIR / f"{ref}.toml"
        if candidate.exists():
            path = candidate
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError([Problem(str(ref), f"cannot read rule set: {exc.strerror}")], "rule set") from None
    return parse_ruleset_text(text, source=str(ref))


def parse_ruleset_text(text: str, source: str = "(rule set)") -> RuleSet:
    """Validate a rule set given as TOML text."""
    try:
        data = tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as exc:
        raise InputError([Problem(source, f"not valid TOML: {exc}")], "rule set") from None
    return parse_ruleset(data)


def list_bundled() -> list[Path]:
    """The rule-set files shipped under `rules/`, sorted by name."""
    return sorted(RULES_DIR.glob("*.toml"))


def apply_patch(base: RuleSet, patch: dict[str, Any]) -> RuleSet:
    """A new rule set: `base` with the tables/keys of `patch` merged in (deep), validated whole.

    A key set to null in the patch removes it (for example a cap).
    """
    merged = _deep_merge(base.canonical(), patch)
    return parse_ruleset(merged)


def _deep_merge(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        elif isinstance(v, dict) and isinstance(out.get(k), dict) and k not in ("roles", "stages", "project_types"):
            out[k] = _deep_merge(out[k], v)
        else:
            out[k] = v
    return out
