"""The result document (SPEC §8): every number with where it came from.

Field names relied on by other tools: period, ruleset{id, version, sha256}, input_sha256,
projects[{project_id, pool, paid, forfeited[{reason, amount}]}], lines[{person_id,
project_id, role, ideal, amount}], people[{person_id, total, cap}]. Money is a decimal
string rounded to the unit; unrounded amounts (ideal, final_unrounded, breakdown parts)
are decimal strings with six decimals. The same input and rule set give the same bytes.

A large period has hundreds of thousands of breakdown entries, so numbers are formatted
a whole array at a time (`_texts`), each distinct value once, and the per-event figures
once per event; the text is exactly what `money.format_float` gives for each value.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson

from .gc_pause import no_gc
from .money import format_float, format_money, format_units, unit_places, units_floor

if TYPE_CHECKING:
    from .pipeline import Allocation

SCHEMA = "incentive.result/1"


def _dec_text(d: Decimal) -> str:
    t = format(d.normalize(), "f")
    return t


def _texts(values: np.ndarray, places: int = 6, distinct: bool = False) -> list[str]:
    """`format_float(v, places)` for every value of a 1-d array, as a list.

    `distinct`: format each distinct value once (for arrays with many repeats). Values
    that compare equal format the same (0.0 and -0.0 both give "0.000000")."""
    values = np.asarray(values, dtype=np.float64)
    if distinct and values.shape[0] > 64:
        uniq, inv = np.unique(values, return_inverse=True)
        table = np.empty(uniq.shape[0], dtype=object)
        table[:] = _texts(uniq, places)
        out: list[str] = table[inv.reshape(-1)].tolist()
        return out
    vals = values.tolist()
    spec = f".{places}f"
    texts = [format(v, spec) for v in vals]
    for i in np.flatnonzero(np.signbit(values)).tolist():  # only these can print a "-"
        texts[i] = format_float(vals[i], places)
    return texts


def _pick(table_values: np.ndarray, index: np.ndarray, places: int) -> list[str]:
    """Texts of `table_values.flat[index]`, formatting each distinct value used once."""
    used, inv = np.unique(index, return_inverse=True)
    table = np.empty(used.shape[0], dtype=object)
    table[:] = _texts(table_values.reshape(-1)[used], places, distinct=True)
    out: list[str] = table[inv.reshape(-1)].tolist()
    return out


def money_formatter(unit: Decimal, places: int) -> Callable[[int], str]:
    """`format_units(units, unit, places)` as a function, in integer arithmetic where that
    gives the same text (a multiple of the unit has at most `places` decimals)."""
    step = unit * (10 ** places)
    if step != step.to_integral_value() or places > 18:
        return lambda units: format_units(units, unit, places)
    step_i = int(step)
    scale = 10 ** places
    limit = 10 ** 18

    def money(units: int) -> str:
        if not -limit < units < limit:
            return format_units(units, unit, places)
        v = units * step_i
        if places == 0:
            return str(v)
        whole, frac = divmod(abs(v), scale)
        return f"{'-' if v < 0 else ''}{whole}.{frac:0{places}d}"

    return money


def build_document(a: Allocation) -> dict[str, Any]:
    """Assemble the result document of an allocation."""
    with no_gc():
        return _build(a)


def _build(a: Allocation) -> dict[str, Any]:
    from . import __version__

    inp, rules, split, rnd = a.inp, a.rules, a.split, a.rounded
    unit = rules.rounding.unit
    places = unit_places(unit)
    people, projects = inp.people, inp.projects
    roles, stages = rules.role_names, rules.stage_names
    events = a.events
    S, R = len(stages), len(roles)
    money = money_formatter(unit, places)

    # --- projects ---------------------------------------------------------------------
    events_by_project: dict[int, list[int]] = {}
    for k, e in enumerate(events):
        events_by_project.setdefault(e.project_index, []).append(k)
    forfeit_reasons = ("vacant_role", "vacant_stage", "no_contributors")
    ev_forfeit_text: list[dict[str, str]] = [{} for _ in events]
    if events:
        fk, fr = np.nonzero(split.event_forfeit > 1e-9)
        for k, r, t in zip(fk.tolist(), fr.tolist(), _texts(split.event_forfeit[fk, fr]), strict=True):
            ev_forfeit_text[k][forfeit_reasons[r]] = t
    alpha = rules.split.result_weight
    one_minus_alpha = 1 - alpha
    paid_units = np.bincount(split.line_project, rnd.line_units, minlength=len(projects)).tolist()
    proj_docs = []
    total_pool = total_paid = total_forfeit = 0
    for j in sorted(range(len(projects)), key=lambda j: projects[j].id):
        pj = projects[j]
        forfeits = rnd.forfeit_units.get(j, {})
        f_total = sum(forfeits.values())
        pool_u = rnd.pool_units.get(j, 0)
        paid_j = int(paid_units[j])
        total_pool += pool_u
        total_paid += paid_j
        total_forfeit += f_total
        ev_docs = []
        for k in events_by_project.get(j, []):
            e = events[k]
            ev_docs.append({
                "event_id": e.event_id,
                "kind": e.kind,
                "date": e.date.isoformat(),
                "base": _dec_text(e.base),
                "margin_multiplier": _dec_text(e.margin_multiplier),
                "type_multiplier": _dec_text(e.type_multiplier),
                "amount": _dec_text(e.amount),
                "result_part": _dec_text(e.amount * alpha),
                "process_part": _dec_text(e.amount * one_minus_alpha),
                "forfeited_unrounded": ev_forfeit_text[k],
            })
        proj_docs.append({
            "project_id": pj.id,
            "name": pj.name,
            "customer": pj.customer,
            "type": pj.type,
            "won_on": None if pj.won_on is None else pj.won_on.isoformat(),
            "pool": money(pool_u),
            "pool_unrounded": _dec_text(a.pools.get(j, Decimal(0))),
            "paid": money(paid_j),
            "forfeited": [{"reason": r, "amount": money(v)} for r, v in forfeits.items()],
            "forfeited_total": money(f_total),
            "reconciles": paid_j + f_total == pool_u,
            "events": ev_docs,
        })

    # --- lines --------------------------------------------------------------------------
    n = split.line_ideal.shape[0]
    pid = [people[i].id for i in split.line_person.tolist()]
    jid = [projects[j].id for j in split.line_project.tolist()]
    rid = [roles[r] for r in split.line_role.tolist()]
    order = sorted(range(n), key=lambda k: (pid[k], jid[k], rid[k]))

    # (line, event) groups, grouped by line (in their order within a line)
    g_order = np.argsort(split.group_line, kind="stable")
    g_cuts = np.searchsorted(split.group_line[g_order], np.arange(n + 1)).tolist()
    g_event = split.group_event[g_order]
    g_role = split.line_role[split.group_line[g_order]]
    g_stage = split.group_stage[g_order]
    g_stage_eff = split.group_stage_effort[g_order]
    ev_ids = [e.event_id for e in events]
    ev_dates = [e.date.isoformat() for e in events]

    # process entries: (group, stage) with money, in group order then stage order
    has_money = ~(g_stage <= 0)
    e_group, e_stage = np.nonzero(has_money)
    e_cuts = np.concatenate(([0], np.cumsum(has_money.sum(axis=1)))).tolist()
    del has_money
    e_event_role = (g_event[e_group] * S + e_stage) * R + g_role[e_group]
    entries = [
        {"stage": st, "amount": am, "effort": ef, "role_effort": re, "role_money": rm}
        for st, am, ef, re, rm in zip(
            [stages[s] for s in e_stage.tolist()],
            _texts(g_stage[e_group, e_stage], distinct=True),
            _texts(g_stage_eff[e_group, e_stage], 4, distinct=True),
            _pick(split.event_stage_role_effort, e_event_role, 4),
            _pick(split.event_stage_role_money, e_event_role, 6),
            strict=True,
        )
    ]
    del e_group, e_stage, e_event_role, g_stage, g_stage_eff

    g_event_role = g_event * R + g_role
    g_count = g_event.shape[0]
    results = [
        {"amount": am, "effort": ef, "role_effort": re, "role_money": rm}
        for am, ef, re, rm in zip(
            _texts(split.group_result[g_order], distinct=True),
            _texts(split.group_result_effort[g_order], 4, distinct=True),
            _pick(split.event_role_effort, g_event_role, 4) if g_count else [],
            _pick(split.event_result_money, g_event_role, 6) if g_count else [],
            strict=True,
        )
    ]
    breakdowns = [
        {"event_id": ev_ids[ei], "date": ev_dates[ei], "result": res, "process": entries[e0:e1]}
        for ei, res, e0, e1 in zip(g_event.tolist(), results, e_cuts[:-1], e_cuts[1:], strict=True)
    ]
    del entries, results

    x = a.caps.x
    ideal = split.line_ideal
    units = rnd.line_units
    ideal_t = _texts(ideal)
    final_t = _texts(x)
    opt_t = _texts(x - ideal)
    round_t = _texts(units.astype(np.float64) * float(unit) - x)
    units_l = units.tolist()
    extra_l = rnd.line_extra.tolist()
    binding = a.caps.binding
    line_docs = []
    for k in order:
        line_docs.append({
            "line_id": f"{pid[k]}/{jid[k]}/{rid[k]}",
            "person_id": pid[k],
            "project_id": jid[k],
            "role": rid[k],
            "ideal": ideal_t[k],
            "final_unrounded": final_t[k],
            "amount": money(units_l[k]),
            "optimizer_adjustment": opt_t[k],
            "rounding_adjustment": round_t[k],
            "rounding_unit_change": int(extra_l[k]),
            "binding": binding[k],
            "breakdown": breakdowns[g_cuts[k]:g_cuts[k + 1]],
        })
    del breakdowns

    # --- people -------------------------------------------------------------------------
    totals = np.bincount(split.line_person, rnd.line_units, minlength=len(people)).tolist()
    ideals = np.bincount(split.line_person, split.line_ideal, minlength=len(people))
    ideals_t = _texts(ideals)
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
            "ideal_total": ideals_t[i],
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
