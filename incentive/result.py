"""The result document (SPEC §8): every number with where it came from.

Field names relied on by other tools: period, ruleset{id, version, sha256}, input_sha256,
projects[{project_id, pool, paid, forfeited[{reason, amount}]}], lines[{person_id,
project_id, role, ideal, amount}], people[{person_id, total, cap}]. Money is a decimal
string rounded to the unit; unrounded amounts (ideal, final_unrounded, breakdown parts)
are decimal strings with six decimals. The same input and rule set give the same bytes.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson

from .money import format_float, format_money, format_units, unit_places, units_floor

if TYPE_CHECKING:
    from .pipeline import Allocation

SCHEMA = "incentive.result/1"


def _dec_text(d: Decimal) -> str:
    t = format(d.normalize(), "f")
    return t


def build_document(a: Allocation) -> dict[str, Any]:
    """Assemble the result document of an allocation."""
    from . import __version__

    inp, rules, split, rnd = a.inp, a.rules, a.split, a.rounded
    unit = rules.rounding.unit
    places = unit_places(unit)
    people, projects = inp.people, inp.projects
    roles, stages = rules.role_names, rules.stage_names

    def money(units: int) -> str:
        return format_units(units, unit, places)

    # --- projects ---------------------------------------------------------------------
    events_by_project: dict[int, list[tuple[int, Any]]] = {}
    for k, e in enumerate(a.events):
        events_by_project.setdefault(e.project_index, []).append((k, e))
    paid_units = np.bincount(split.line_project, rnd.line_units, minlength=len(projects))
    alpha = rules.split.result_weight
    proj_docs = []
    total_pool = total_paid = total_forfeit = 0
    for j in sorted(range(len(projects)), key=lambda j: projects[j].id):
        pj = projects[j]
        forfeits = rnd.forfeit_units.get(j, {})
        f_total = sum(forfeits.values())
        pool_u = rnd.pool_units.get(j, 0)
        total_pool += pool_u
        total_paid += int(paid_units[j])
        total_forfeit += f_total
        proj_docs.append({
            "project_id": pj.id,
            "name": pj.name,
            "customer": pj.customer,
            "type": pj.type,
            "won_on": None if pj.won_on is None else pj.won_on.isoformat(),
            "pool": money(pool_u),
            "pool_unrounded": _dec_text(a.pools.get(j, Decimal(0))),
            "paid": money(int(paid_units[j])),
            "forfeited": [{"reason": r, "amount": money(v)} for r, v in forfeits.items()],
            "forfeited_total": money(f_total),
            "reconciles": int(paid_units[j]) + f_total == pool_u,
            "events": [
                {
                    "event_id": e.event_id,
                    "kind": e.kind,
                    "date": e.date.isoformat(),
                    "base": _dec_text(e.base),
                    "margin_multiplier": _dec_text(e.margin_multiplier),
                    "type_multiplier": _dec_text(e.type_multiplier),
                    "amount": _dec_text(e.amount),
                    "result_part": _dec_text(e.amount * alpha),
                    "process_part": _dec_text(e.amount * (1 - alpha)),
                    "forfeited_unrounded": {
                        reason: format_float(float(split.event_forfeit[k, r]))
                        for r, reason in enumerate(("vacant_role", "vacant_stage", "no_contributors"))
                        if split.event_forfeit[k, r] > 1e-9
                    },
                }
                for k, e in events_by_project.get(j, [])
            ],
        })

    # --- lines --------------------------------------------------------------------------
    n = split.line_ideal.shape[0]
    pid = [people[i].id for i in split.line_person.tolist()]
    jid = [projects[j].id for j in split.line_project.tolist()]
    rid = [roles[r] for r in split.line_role.tolist()]
    order = sorted(range(n), key=lambda k: (pid[k], jid[k], rid[k]))
    g_order = np.argsort(split.group_line, kind="stable")
    g_cuts = np.searchsorted(split.group_line[g_order], np.arange(n + 1))
    ev_res_money = split.event_result_money
    ev_role_eff = split.event_role_effort
    ev_srole_money = split.event_stage_role_money
    ev_srole_eff = split.event_stage_role_effort
    x = a.caps.x
    line_docs = []
    for k in order:
        r = int(split.line_role[k])
        breakdown = []
        for g in g_order[g_cuts[k]:g_cuts[k + 1]].tolist():
            ei = int(split.group_event[g])
            ev = a.events[ei]
            proc = []
            for s in range(len(stages)):
                amt = float(split.group_stage[g, s])
                if amt <= 0:
                    continue
                proc.append({
                    "stage": stages[s],
                    "amount": format_float(amt),
                    "effort": format_float(float(split.group_stage_effort[g, s]), 4),
                    "role_effort": format_float(float(ev_srole_eff[ei, s, r]), 4),
                    "role_money": format_float(float(ev_srole_money[ei, s, r])),
                })
            res_amt = float(split.group_result[g])
            breakdown.append({
                "event_id": ev.event_id,
                "date": ev.date.isoformat(),
                "result": {
                    "amount": format_float(res_amt),
                    "effort": format_float(float(split.group_result_effort[g]), 4),
                    "role_effort": format_float(float(ev_role_eff[ei, r]), 4),
                    "role_money": format_float(float(ev_res_money[ei, r])),
                },
                "process": proc,
            })
        ideal = float(split.line_ideal[k])
        units = int(rnd.line_units[k])
        line_docs.append({
            "line_id": f"{pid[k]}/{jid[k]}/{rid[k]}",
            "person_id": pid[k],
            "project_id": jid[k],
            "role": rid[k],
            "ideal": format_float(ideal),
            "final_unrounded": format_float(float(x[k])),
            "amount": money(units),
            "optimizer_adjustment": format_float(float(x[k]) - ideal),
            "rounding_adjustment": format_float(units * float(unit) - float(x[k])),
            "rounding_unit_change": int(rnd.line_extra[k]),
            "binding": a.caps.binding[k],
            "breakdown": breakdown,
        })

    # --- people -------------------------------------------------------------------------
    totals = np.bincount(split.line_person, rnd.line_units, minlength=len(people))
    ideals = np.bincount(split.line_person, split.line_ideal, minlength=len(people))
    has_line = np.bincount(split.line_person, minlength=len(people)) > 0
    pend = inp.period.end
    people_docs = []
    for i in sorted(np.flatnonzero(has_line).tolist(), key=lambda i: people[i].id):
        p = people[i]
        cap = a.period_caps[i]
        people_docs.append({
            "person_id": p.id,
            "name": p.name,
            "cost_center": p.cost_center,
            "total": money(int(totals[i])),
            "ideal_total": format_float(float(ideals[i])),
            "cap": None if cap is None else money(units_floor(cap, unit)),
            "leaver": p.left_on is not None and p.left_on <= pend,
        })

    return {
        "schema": SCHEMA,
        "engine": {"name": "incentive", "version": __version__},
        "period": {"id": inp.period.id, "start": inp.period.start.isoformat(), "end": inp.period.end.isoformat()},
        "ruleset": {
            "id": rules.ruleset.id,
            "version": rules.ruleset.version,
            "sha256": rules.sha256,
            "currency": rules.ruleset.currency,
            "unit": format_money(unit, places),
            "pay_component": rules.payroll.component_code,
        },
        "input_sha256": inp.sha256,
        "solver": {
            "method": a.method,
            "name": a.caps.solver,
            "status": a.caps.status,
            "stats": a.caps.stats,
        },
        "totals": {
            "pools": money(total_pool),
            "paid": money(total_paid),
            "forfeited": money(total_forfeit),
            "reconciles": total_paid + total_forfeit == total_pool,
            "lines": n,
            "people": len(people_docs),
        },
        "projects": proj_docs,
        "lines": line_docs,
        "people": people_docs,
    }


def dumps(doc: dict[str, Any]) -> bytes:
    """The canonical bytes of a result document (indented JSON, trailing newline)."""
    return orjson.dumps(doc, option=orjson.OPT_INDENT_2) + b"\n"
