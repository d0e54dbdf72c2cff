"""Results (SPEC §4): the win and collection events of the period and each project's pool.

A project pays only when there is a result. For each won project:
- a win event when `won_on` falls in the period: base = win_rate x contract_value;
- a collection event for each collection dated in the period: base = collection_rate x amount.
Each event's amount is base x margin multiplier x project-type multiplier, in exact decimals.
The project's pool is the sum of its events' amounts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from .model import PeriodInput, day_number
from .rules import RuleSet


@dataclass(frozen=True, slots=True)
class Event:
    """One result in the period that pays into a project's pool."""

    project_index: int
    project_id: str
    event_id: str  # "win" or the collection's id
    kind: str  # "win" | "collection"
    date: date
    base: Decimal
    margin_multiplier: Decimal
    type_multiplier: Decimal
    amount: Decimal

    @property
    def day(self) -> int:
        return day_number(self.date)


def period_events(inp: PeriodInput, rules: RuleSet) -> list[Event]:
    """All events of the period, by project (input order) then date, win first on a tie."""
    start, end = inp.period.start, inp.period.end
    events: list[Event] = []
    for j, pj in enumerate(inp.projects):
        if pj.won_on is None:
            continue
        mm = rules.margin_multiplier(pj.margin)
        tm = rules.type_multiplier(pj.type)
        found: list[Event] = []
        if start <= pj.won_on <= end:
            assert pj.contract_value is not None  # validated: a won project has one
            base = rules.pool.win_rate * pj.contract_value
            found.append(Event(j, pj.id, "win", "win", pj.won_on, base, mm, tm, base * mm * tm))
        for c in pj.collections:
            if start <= c.date <= end:
                base = rules.pool.collection_rate * c.amount
                found.append(Event(j, pj.id, c.id, "collection", c.date, base, mm, tm, base * mm * tm))
        found.sort(key=lambda e: (e.date, e.kind != "win", e.event_id))
        events.extend(found)
    return events


def project_pools(events: list[Event]) -> dict[int, Decimal]:
    """Pool B_j of each project that has events: the exact sum of its event amounts."""
    pools: dict[int, Decimal] = {}
    for e in events:
        pools[e.project_index] = pools.get(e.project_index, Decimal(0)) + e.amount
    return pools
