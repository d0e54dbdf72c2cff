"""Statements: one person's payout explained from a result document, number by number.

Everything here reads the result document only (not the engine), so a statement can be
produced for any stored run, and every figure on it is one the document carries.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any


class UnknownPerson(KeyError):
    """The person has no line in this result."""


def statement_data(doc: dict[str, Any], person_id: str) -> dict[str, Any]:
    """The structured statement: the person's row, their lines with breakdowns, the events."""
    people = {p["person_id"]: p for p in doc["people"]}
    if person_id not in people:
        raise UnknownPerson(person_id)
    lines = [ln for ln in doc["lines"] if ln["person_id"] == person_id]
    projects = {p["project_id"]: p for p in doc["projects"]}
    events = {
        (p["project_id"], e["event_id"]): e for p in doc["projects"] for e in p.get("events", [])
    }
    out_lines = []
    for ln in lines:
        proj = projects.get(ln["project_id"], {})
        items = []
        for b in ln.get("breakdown", []):
            ev = events.get((ln["project_id"], b["event_id"]), {})
            items.append({**b, "event": ev})
        out_lines.append({**ln, "breakdown": items, "project_name": proj.get("name"),
                          "project_pool": proj.get("pool")})
    return {
        "period": doc["period"],
        "ruleset": doc["ruleset"],
        "input_sha256": doc.get("input_sha256"),
        "engine": doc.get("engine"),
        "person": people[person_id],
        "lines": out_lines,
        "currency": doc["ruleset"].get("currency", ""),
    }


def _share(part: str, whole: str) -> str:
    w = Decimal(whole)
    if w == 0:
        return "0"
    return f"{Decimal(part) / w:.4f}"


def statement_text(doc: dict[str, Any], person_id: str) -> str:
    """A readable statement: how each amount was computed, with the numbers."""
    st = statement_data(doc, person_id)
    cur = st["currency"]
    person = st["person"]
    period = st["period"]
    rs = st["ruleset"]
    out: list[str] = []
    title = f"Payout statement: {person['person_id']}" + (f" ({person['name']})" if person.get("name") else "")
    out += [title, "=" * len(title)]
    out.append(f"Period {period['id']} ({period['start']} to {period['end']}); rule set {rs['id']} "
               f"v{rs['version']} (sha256 {rs['sha256'][:12]}); input sha256 {str(st['input_sha256'])[:12]}")
    if person.get("cost_center"):
        out.append(f"Cost center: {person['cost_center']}")
    out.append("")
    for ln in st["lines"]:
        head = f"Project {ln['project_id']}" + (f" ({ln['project_name']})" if ln.get("project_name") else "")
        out.append(f"{head}, role {ln['role']}")
        out.append("-" * len(out[-1]))
        for b in ln["breakdown"]:
            ev = b["event"]
            out.append(f"  Event {b['event_id']} ({ev.get('kind', '?')}, {b['date']}): "
                       f"amount {ev.get('amount', '?')} {cur} "
                       f"= base {ev.get('base', '?')} x margin {ev.get('margin_multiplier', '?')} x type "
                       f"{ev.get('type_multiplier', '?')}")
            r = b["result"]
            if Decimal(r["amount"]) > 0:
                out.append(f"    result part: your effort {r['effort']} of the role's {r['role_effort']} "
                           f"(fte x days in the lookback window) x the role's {r['role_money']} "
                           f"= {r['amount']}")
            for s in b["process"]:
                out.append(f"    process, stage {s['stage']}: your effort x score {s['effort']} of the role's "
                           f"{s['role_effort']} in the stage x the role's {s['role_money']} = {s['amount']}")
        out.append(f"  Ideal amount: {ln['ideal']}")
        adj = Decimal(ln["optimizer_adjustment"])
        if adj != 0:
            kind = "cut" if adj < 0 else "uplift"
            why = ", ".join(ln["binding"]) or "caps elsewhere in its scope"
            out.append(f"  Caps: {kind} of {abs(adj):.6f} (bound by: {why}) -> {ln['final_unrounded']}")
        elif ln["binding"]:
            out.append(f"  Caps: at the limit of {', '.join(ln['binding'])}, no change")
        out.append(f"  Rounded to the unit: {ln['amount']} {cur} (rounding {ln['rounding_adjustment']})")
        out.append("")
    cap = person.get("cap")
    out.append(f"TOTAL: {person['total']} {cur}" + (f"  (period cap {cap})" if cap is not None else ""))
    if person.get("leaver"):
        out.append("Note: left on or before the period end.")
    return "\n".join(out) + "\n"
