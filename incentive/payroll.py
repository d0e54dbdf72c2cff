"""Payroll export: the computed allocations of a run as rows payroll can import.

One row per person and line with a non-zero amount: employee id, pay component code (from
the rule set's `payroll.component_code`), amount, currency, period, cost center, run id
and a line reference. Control totals (row count and amount sum) travel with the file so
payroll can check it arrived whole.
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any

COLUMNS = ("employee_id", "pay_component", "amount", "currency", "period_id", "cost_center", "run_id",
           "line_ref")


def payroll_rows(doc: dict[str, Any], run_id: str | None = None) -> list[dict[str, str]]:
    """Rows of the payroll file, sorted by employee then line reference."""
    cc = {p["person_id"]: p.get("cost_center") or "" for p in doc["people"]}
    rs = doc["ruleset"]
    rows = []
    for ln in doc["lines"]:
        if Decimal(ln["amount"]) == 0:
            continue
        rows.append({
            "employee_id": ln["person_id"],
            "pay_component": rs.get("pay_component", "LTC_PROJECT_BONUS"),
            "amount": ln["amount"],
            "currency": rs.get("currency", ""),
            "period_id": doc["period"]["id"],
            "cost_center": cc.get(ln["person_id"], ""),
            "run_id": run_id or "",
            "line_ref": ln.get("line_id") or f"{ln['person_id']}/{ln['project_id']}/{ln['role']}",
        })
    rows.sort(key=lambda r: (r["employee_id"], r["line_ref"]))
    return rows


def control_totals(rows: list[dict[str, str]]) -> dict[str, str | int]:
    """Row count and amount sum (exact decimal) of a payroll file."""
    total = sum((Decimal(r["amount"]) for r in rows), Decimal(0))
    return {"line_count": len(rows), "amount_sum": str(total)}


def payroll_csv(doc: dict[str, Any], run_id: str | None = None) -> str:
    """The payroll file as CSV text, ending in a control-total trailer row."""
    rows = payroll_rows(doc, run_id)
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    ct = control_totals(rows)
    buf.write(f"# control totals: line_count={ct['line_count']} amount_sum={ct['amount_sum']}\n")
    return buf.getvalue()
