"""Generate the example company and the input templates (deterministic: a fixed seed).

    python examples/make_example.py            # rewrite examples/company/ and examples/templates/
    python examples/make_example.py DIR        # write them under DIR instead (DIR/company, DIR/templates)

Writes:

- ``examples/company/input.json``   one quarter (2026-Q3) of a ~40-person company: sales,
  presales and delivery people with salaries; 12 projects of different types, won in or
  before the quarter (one not won, one lost, one under the margin gate), with stage windows
  and cash collections; time-phased contribution records (two to four weeks each) for the
  AR/SR/FR teams, one leaver, one contractor without a salary, one project run without an
  SR (a vacant role);
- ``examples/company/csv/*.csv`` and ``examples/company/input.xlsx``: the same data as the
  tables HR keeps (they read back to exactly the same input);
- ``examples/templates/*.csv`` and ``examples/templates/input.xlsx``: empty tables with
  the header and one illustrative row each.

Under ``rules/ltc-default.toml`` the person-project and period caps bind for a few people,
so ``incentive demo`` shows the optimizer redistributing what they cut off. Run it again
after changing anything here and commit the outputs together with this script.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import random
import re
import sys
import zipfile
from decimal import Decimal
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from incentive.tables import TABLES, input_to_tables, write_csv_folder  # noqa: E402

SEED = 20260701
PERIOD = {"id": "2026-Q3", "start": "2026-07-01", "end": "2026-09-30"}
PERIOD_END = dt.date(2026, 9, 30)
STAGES = ("lead", "opportunity", "solution", "bid", "contract", "delivery")
# share of the pre-signature time each stage takes
STAGE_SPLIT = (0.15, 0.20, 0.25, 0.25, 0.15)

FIRST = ["Anna", "Ben", "Chen", "Dara", "Elif", "Femi", "Gita", "Hugo", "Ines", "Jonas", "Kai", "Lena",
         "Mateo", "Nora", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tariq", "Uma", "Viktor", "Wei", "Xenia",
         "Yusuf", "Zoe", "Aiko", "Bruno", "Carla", "Dmitri", "Esra", "Farah", "Goran", "Hana", "Ivo", "Jana",
         "Kofi", "Lin", "Marta", "Nils", "Olga", "Pavel"]
LAST = ["Ahmed", "Berg", "Costa", "Dubois", "Eriksen", "Fischer", "Garcia", "Huang", "Ivanova", "Jensen",
        "Kowalski", "Li", "Moreau", "Novak", "Okafor", "Petrov", "Quist", "Rossi", "Sato", "Tanaka", "Urban",
        "Vogel", "Wang", "Xu", "Yilmaz", "Zhang"]

# cost center, count, salary range (annual, CNY)
STAFF = (
    ("sales", 9, (300_000, 460_000)),
    ("presales", 11, (240_000, 380_000)),
    ("delivery", 20, (160_000, 300_000)),
)

# id, name, customer, type, contract value, margin, won_on (None: not won), first day of
# lead, planned end of delivery, collections (date, share of contract value), team (AR, SR, FR)
PROJECTS: list[dict[str, Any]] = [
    dict(id="P01", name="Core network upgrade", customer="Northwind Telecom", type="strategic",
         cv=18_600_000, margin="0.34", won="2026-08-12", lead="2025-09-01", end="2027-06-30",
         coll=[("2026-09-10", "0.30")], team=(2, 3, 5)),
    dict(id="P02", name="Billing platform migration", customer="Contoso Energy", type="standard",
         cv=7_400_000, margin="0.31", won="2026-03-18", lead="2025-06-02", end="2026-12-18",
         coll=[("2026-04-20", "0.30"), ("2026-07-28", "0.25"), ("2026-09-22", "0.25")], team=(1, 2, 5)),
    dict(id="P03", name="Data center build-out", customer="Fabrikam Logistics", type="new_logo",
         cv=9_800_000, margin="0.28", won="2026-07-22", lead="2025-11-03", end="2027-03-31",
         coll=[("2026-08-31", "0.20")], team=(2, 2, 4)),
    dict(id="P04", name="Managed services renewal", customer="Tailspin Airlines", type="renewal",
         cv=5_200_000, margin="0.37", won="2026-09-03", lead="2026-04-06", end="2027-09-30",
         coll=[], team=(1, 1, 2)),
    dict(id="P05", name="Field services call-off 2026", customer="Contoso Energy", type="framework",
         cv=3_100_000, margin="0.42", won="2026-05-11", lead="2026-02-02", end="2026-11-30",
         coll=[("2026-06-15", "0.40"), ("2026-08-17", "0.35")], team=(1, 1, 3)),
    dict(id="P06", name="Smart metering pilot", customer="Woodgrove Utilities", type="standard",
         cv=2_600_000, margin="0.29", won=None, lead="2026-03-02", end=None,
         coll=[], team=(1, 2, 1)),
    dict(id="P07", name="Retail POS rollout", customer="Adventure Works", type="standard",
         cv=6_300_000, margin="0.08", won="2026-07-15", lead="2025-12-01", end="2027-01-29",
         coll=[("2026-09-01", "0.20")], team=(1, 2, 3)),
    dict(id="P08", name="Support contract extension", customer="Litware Bank", type="renewal",
         cv=4_100_000, margin="0.36", won="2026-08-26", lead="2026-05-04", end="2027-08-31",
         coll=[("2026-09-25", "0.25")], team=(1, 0, 2)),
    dict(id="P09", name="National backbone phase 2", customer="Northwind Telecom", type="strategic",
         cv=24_500_000, margin="0.33", won="2026-02-27", lead="2025-04-07", end="2027-02-26",
         coll=[("2026-03-31", "0.15"), ("2026-07-16", "0.20"), ("2026-09-17", "0.20")], team=(2, 3, 6)),
    dict(id="P10", name="Warehouse automation", customer="Fabrikam Logistics", type="standard",
         cv=3_900_000, margin="0.24", won="2026-09-18", lead="2026-01-12", end="2027-04-30",
         coll=[], team=(1, 2, 2)),
    dict(id="P11", name="Cloud contact center", customer="Proseware Insurance", type="new_logo",
         cv=4_700_000, margin="0.39", won="2026-06-08", lead="2025-10-06", end="2027-01-29",
         coll=[("2026-07-07", "0.30"), ("2026-09-08", "0.30")], team=(1, 2, 3)),
    dict(id="P12", name="Campus Wi-Fi refresh", customer="Lucerne University", type="standard",
         cv=1_800_000, margin="0.27", won=None, lead="2026-05-18", end=None,
         coll=[], team=(1, 1, 0)),
]


def d(s: str) -> dt.date:
    return dt.date.fromisoformat(s)


def money(x: Decimal | int) -> str:
    """Decimal text without trailing zeros, so a workbook's numeric cell reads back the same."""
    return format(Decimal(x).normalize(), "f")


def make_people(rng: random.Random) -> list[dict[str, Any]]:
    names = [f"{f} {last}" for f, last in zip(rng.sample(FIRST, 40), rng.sample(LAST * 2, 40), strict=True)]
    people: list[dict[str, Any]] = []
    n = 0
    for cc, count, (lo, hi) in STAFF:
        for _ in range(count):
            n += 1
            people.append({
                "id": f"E{1000 + n}",
                "name": names[n - 1],
                "cost_center": cc,
                "annual_base_salary": money(rng.randrange(lo, hi, 6000)),
                "left_on": None,
            })
    # a leaver (sales, left in August) and a contractor without a salary (delivery)
    people[3]["left_on"] = "2026-08-14"
    people[-1]["annual_base_salary"] = None
    people[-1]["name"] += " (contractor)"
    return people


def stage_windows(p: dict[str, Any]) -> dict[str, dict[str, str]]:
    lead = d(p["lead"])
    # a project not won is still in the pipeline at the period end: the stages reached so far
    sign = PERIOD_END + dt.timedelta(days=60) if p["won"] is None else d(p["won"])
    total = (sign - lead).days + 1
    out: dict[str, dict[str, str]] = {}
    a = lead
    for k, frac in enumerate(STAGE_SPLIT):
        b = sign if k == len(STAGE_SPLIT) - 1 else a + dt.timedelta(days=max(7, round(total * frac)) - 1)
        if a > PERIOD_END:
            break
        out[STAGES[k]] = {"start": a.isoformat(), "end": b.isoformat()}
        a = b + dt.timedelta(days=1)
    if p["won"] is not None:
        out["delivery"] = {"start": (sign + dt.timedelta(days=1)).isoformat(), "end": p["end"]}
    return out


def stints(p: dict[str, Any], stages: dict[str, dict[str, str]], rng: random.Random) -> dict[str, list[tuple]]:
    """Per role, one (start, end, fte before signature, fte after) per team member."""
    lead = d(p["lead"])
    sol = d(stages["solution"]["start"]) if "solution" in stages else lead
    bid = d(stages["bid"]["start"]) if "bid" in stages else sol
    sign = d(p["won"]) if p["won"] else PERIOD_END
    n_ar, n_sr, n_fr = p["team"]
    jitter = lambda days: dt.timedelta(days=rng.randrange(0, days + 1))  # noqa: E731
    out: dict[str, list[tuple]] = {"AR": [], "SR": [], "FR": []}
    for k in range(n_ar):
        start = lead + jitter(20) if k == 0 else sol + jitter(40)
        out["AR"].append((start, PERIOD_END, rng.choice((0.2, 0.3, 0.4)), rng.choice((0.1, 0.2))))
    for k in range(n_sr):
        start = (sol - dt.timedelta(days=30)) + jitter(30) if k == 0 else sol + jitter(50)
        end = sign + dt.timedelta(days=rng.randrange(14, 60))
        out["SR"].append((start, end, rng.choice((0.3, 0.4, 0.5)), rng.choice((0.1, 0.2))))
    for k in range(n_fr):
        if k == 0:  # the FR lead joins during the bid to own the delivery plan
            start = bid + jitter(20)
            out["FR"].append((start, PERIOD_END, rng.choice((0.2, 0.3)), rng.choice((0.3, 0.5))))
        else:  # the delivery team from signature, some leaving the project before the end
            start = sign + dt.timedelta(days=1) + jitter(30)
            end = PERIOD_END if rng.random() < 0.7 else start + dt.timedelta(days=rng.randrange(40, 120))
            fte = rng.choice((0.4, 0.5, 0.6, 0.8))
            out["FR"].append((start, end, fte, fte))
    return out


def records_for(start: dt.date, end: dt.date, sign: dt.date | None, fte_pre: float, fte_post: float,
                score: float, rng: random.Random) -> list[tuple[dt.date, dt.date, float, float]]:
    """Consecutive records of two to four weeks covering [start, end]; fte by phase."""
    out = []
    a = start
    while a <= end:
        b = min(end, a + dt.timedelta(days=rng.choice((14, 14, 21, 28)) - 1))
        if sign is not None and a <= sign < b:
            b = sign  # a record does not straddle the signature (the fte changes there)
        fte = fte_pre if sign is None or b <= sign else fte_post
        s = score if rng.random() < 0.8 else round(min(1.5, max(0.5, score + rng.choice((-0.1, 0.1)))), 2)
        out.append((a, b, fte, s))
        a = b + dt.timedelta(days=1)
    return out


def make_company(seed: int = SEED) -> dict[str, Any]:
    rng = random.Random(seed)
    people = make_people(rng)
    by_cc: dict[str, list[dict[str, Any]]] = {}
    for p in people:
        by_cc.setdefault(p["cost_center"], []).append(p)
    role_cc = {"AR": "sales", "SR": "presales", "FR": "delivery"}
    # each person's booked fte per day, so nobody is planned above 100% of their time
    origin = min(d(p["lead"]) for p in PROJECTS)
    booked = {p["id"]: [0.0] * ((PERIOD_END - origin).days + 1) for p in people}
    # a few stars are on more (and larger) deals than the rest: they are the ones caps hold
    stars = [by_cc["sales"][0]["id"], by_cc["sales"][1]["id"], by_cc["presales"][0]["id"]]

    def peak(pid: str, a: dt.date, b: dt.date) -> float:
        days = booked[pid][(a - origin).days:(b - origin).days + 1]
        return max(days, default=0.0)

    projects: list[dict[str, Any]] = []
    contributions: list[dict[str, Any]] = []
    for spec in PROJECTS:
        stages = stage_windows(spec)
        cv = Decimal(spec["cv"])
        collections = [
            {"id": f"{spec['id']}-C{k + 1}", "date": date, "amount": money((cv * Decimal(share)).quantize(1))}
            for k, (date, share) in enumerate(spec["coll"])
        ]
        projects.append({
            "id": spec["id"], "name": spec["name"], "customer": spec["customer"], "type": spec["type"],
            "contract_value": money(cv), "margin": spec["margin"], "won_on": spec["won"],
            "stages": stages, "collections": collections,
        })
        sign = d(spec["won"]) if spec["won"] else None
        used: set[str] = set()
        for role, members in stints(spec, stages, rng).items():
            pool = by_cc[role_cc[role]]
            for start, end, fte_pre, fte_post in members:
                score = rng.choice((0.8, 0.9, 1.0, 1.0, 1.0, 1.1, 1.2))
                planned = records_for(start, min(end, PERIOD_END), sign, fte_pre, fte_post, score, rng)
                if not planned:
                    continue
                a0, b0 = planned[0][0], planned[-1][1]
                free = [p["id"] for p in pool if p["id"] not in used]
                star = [pid for pid in stars if pid in free and peak(pid, a0, b0) <= 0.8]
                # a star when one has time, else whoever has the most time (ties at random)
                pid = star[0] if star and rng.random() < 0.7 else min(
                    free, key=lambda pid: (round(peak(pid, a0, b0), 1), rng.random()))
                used.add(pid)
                person = next(p for p in people if p["id"] == pid)
                left = d(person["left_on"]) if person["left_on"] else None
                for a, b, fte, s in planned:
                    if left is not None and a > left:
                        break
                    if left is not None:
                        b = min(b, left)
                    # nobody is booked above 100%: take what is left of their time (at least 10%)
                    fte = max(0.1, round(min(fte, 1.0 - peak(pid, a, b)), 1))
                    for k in range((a - origin).days, (b - origin).days + 1):
                        booked[pid][k] += fte
                    contributions.append({
                        "id": f"K{len(contributions) + 1:04d}", "person_id": pid,
                        "project_id": spec["id"], "role": role, "start": a.isoformat(), "end": b.isoformat(),
                        "fte": fte, "score": s,
                    })
    return {"period": dict(PERIOD), "people": people, "projects": projects, "contributions": contributions}


# ----------------------------------------------------------------------------------------
# writing


def write_json(data: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


DATE_COLUMNS = {"start", "end", "left_on", "won_on", "date"}
MONEY_COLUMNS = {"annual_base_salary", "contract_value", "amount"}


def _xlsx_value(column: str, v: Any) -> Any:
    """Cells as HR types them: dates as dates, money and numbers as numbers."""
    if v is None or v == "":
        return None
    if column in DATE_COLUMNS and isinstance(v, str):
        return dt.date.fromisoformat(v)
    if column in MONEY_COLUMNS or column == "margin":
        dec = Decimal(v)
        return int(dec) if dec == dec.to_integral_value() else float(dec)
    return v


def write_xlsx(tables: dict[str, list[list[Any]]], path: Path, notes: list[str] | None = None) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    wb.remove(wb.active)
    for name, rows in tables.items():
        ws = wb.create_sheet(name)
        header = rows[0]
        ws.append(header)
        for cell in ws[1]:
            cell.font = Font(bold=True)
        for row in rows[1:]:
            ws.append([_xlsx_value(c, v) for c, v in zip(header, row, strict=True)])
        for k, col in enumerate(header):
            letter = ws.cell(row=1, column=k + 1).column_letter
            ws.column_dimensions[letter].width = max(10, min(32, 2 + max(len(str(r[k] or "")) for r in rows)))
            for cells in ws.iter_rows(min_row=2, min_col=k + 1, max_col=k + 1):
                for cell in cells:
                    if col in DATE_COLUMNS:
                        cell.number_format = "yyyy-mm-dd"
                    elif col in MONEY_COLUMNS:
                        cell.number_format = "#,##0.00"
        ws.freeze_panes = "A2"
    if notes:
        ws = wb.create_sheet("README")
        for line in notes:
            ws.append([line])
        ws.column_dimensions["A"].width = 110
    fixed = dt.datetime(2026, 7, 1, 0, 0, 0)
    wb.properties.creator = "examples/make_example.py"
    wb.properties.created = fixed
    wb.properties.modified = fixed
    buf = io.BytesIO()
    wb.save(buf)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(_deterministic_zip(buf.getvalue()))


def _deterministic_zip(data: bytes) -> bytes:
    """The same workbook with fixed timestamps, so reruns give the same bytes."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                body = re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(<)", rb"\g<1>2026-07-01T00:00:00Z\2", body)
            zi = zipfile.ZipInfo(info.filename, date_time=(2026, 7, 1, 0, 0, 0))
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o644 << 16
            dst.writestr(zi, body)
    return out.getvalue()


TEMPLATE_ROWS: dict[str, list[Any]] = {
    "period": ["2026-Q3", "2026-07-01", "2026-09-30"],
    "people": ["E1001", "Anna Berg", "sales", "360000", ""],
    "projects": ["P01", "Core network upgrade", "Northwind Telecom", "strategic", "18600000", "0.34", "2026-08-12"],
    "stages": ["P01", "bid", "2026-05-11", "2026-08-12"],
    "collections": ["P01-C1", "P01", "2026-09-10", "5580000"],
    "contributions": ["K0001", "E1001", "P01", "AR", "2026-07-01", "2026-07-14", 0.5, 1],
}

TEMPLATE_NOTES = [
    "Period input for the incentive engine: one sheet per table; the first row of each sheet is the header.",
    "Replace the illustrative row of each sheet with your data. An empty cell means null/absent.",
    "period: exactly one row (id, start, end). Dates are dates (or ISO text 2026-07-01); ranges are inclusive.",
    "people: id required; name, cost_center, annual_base_salary (money), left_on (date, empty if still employed).",
    "projects: id required; type (default standard; must be listed in the rule set), contract_value (money),",
    "  margin (gross margin 0..1), won_on (date, empty if not won). Stages and collections go in their own sheets.",
    "stages: project_id, stage (lead, opportunity, solution, bid, contract, delivery), start, end.",
    "collections: id, project_id, date, amount (money received; must be on or after won_on).",
    "contributions: id, person_id, project_id, role (AR, SR, FR), start, end, fte (0-1, default 1),",
    "  score (process evaluation >= 0, default 1). Write consecutive records, e.g. two weeks each.",
    "The same tables work as CSV files (UTF-8, comma-separated) named after the sheets: people.csv, ...",
    "This README sheet is ignored by the engine.",
]


def write_templates(folder: Path) -> None:
    tables = {name: [list(spec.columns), TEMPLATE_ROWS[name]] for name, spec in TABLES.items()}
    folder.mkdir(parents=True, exist_ok=True)
    import csv

    for name, rows in tables.items():
        with (folder / f"{name}.csv").open("w", encoding="utf-8", newline="") as fh:
            csv.writer(fh, lineterminator="\n").writerows(rows)
    write_xlsx(tables, folder / "input.xlsx", notes=TEMPLATE_NOTES)


def main(root: Path = HERE) -> None:
    """Write the example company and the templates under `root` (normally examples/)."""
    data = make_company()
    company = root / "company"
    write_json(data, company / "input.json")
    csv_dir = company / "csv"
    for old in csv_dir.glob("*.csv"):
        old.unlink()
    write_csv_folder(data, csv_dir)
    write_xlsx(input_to_tables(data), company / "input.xlsx")
    write_templates(root / "templates")
    n = len(data["contributions"])
    print(f"wrote {company}: {len(data['people'])} people, {len(data['projects'])} projects, "
          f"{n} contribution records; templates in {root / 'templates'}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)
