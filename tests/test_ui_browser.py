"""End to end in a real browser: the manager's page (/ui) and the printable statement, served by
`incentive serve` (a subprocess, a temporary SQLite database, keys from `incentive keys
create`), driven in Debian's headless Chromium by Playwright (tests/ui_support.py).

The numbers on the page are checked against the JSON API for the same input: the example
company (examples/company) under ltc-default, a lever changed in two scenarios. Screenshots of
the main views are taken each run (into docs/screenshots/ with INCENTIVE_UI_SCREENSHOTS=docs).
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import tomllib
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.ui_support import CHROMIUM, CHROMIUM_ARGS, ROOT, Service, chromium_problem, screenshot_dir, service

pytestmark = [pytest.mark.browser, pytest.mark.slow]

EXAMPLE = ROOT / "examples" / "company"
RULES = "ltc-default"
SCENARIOS = [  # what the test sets on the page, as the API's rules_patch
    {"name": "Result weight 0.5", "rules_patch": {"split": {"result_weight": "0.5"}}},
    {"name": "No redistribution", "rules_patch": {"caps": {"redistribute": "none"}}},
]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}

with contextlib.suppress(ImportError):  # when missing, the `browser` fixture fails each test (never a skip)
    from playwright.sync_api import Browser, Page, expect, sync_playwright


# ---------------------------------------------------------------------------------------------
# fixtures


@pytest.fixture(scope="module")
def svc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    with service(tmp_path_factory.mktemp("ui-service")) as s:
        yield s


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if problem := chromium_problem():  # fail loudly, never skip: CI must run these
        pytest.fail(f"the browser tests cannot run: {problem}", pytrace=False)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return screenshot_dir(tmp_path_factory.mktemp("ui-shots"))


@pytest.fixture(scope="module")
def example_text() -> str:
    return (EXAMPLE / "input.json").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def api_sim(svc: Service, example_text: str) -> dict[str, Any]:
    """The API's answer for the input and scenarios the test enters on the page."""
    body = '{"input":' + example_text + ',"rules":"' + RULES + '","scenarios":' + json.dumps(SCENARIOS) + "}"
    r = httpx.post(f"{svc.base_url}/v1/simulations", content=body, timeout=60,
                   headers={**svc.headers("manager"), "Content-Type": "application/json"})
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


@pytest.fixture(scope="module")
def closed_run(svc: Service, example_text: str) -> dict[str, Any]:
    """HR closes the example period (once per server)."""
    body = '{"input":' + example_text + ',"rules":"' + RULES + '"}'
    r = httpx.post(f"{svc.base_url}/v1/periods/2026-Q3/close", content=body, timeout=60,
                   headers={**svc.headers("hr"), "Content-Type": "application/json", "Idempotency-Key": "ui-test"})
    assert r.status_code in (200, 201), r.text
    out: dict[str, Any] = r.json()
    return out


class Watch:
    """JavaScript exceptions on a page: there must be none."""

    def __init__(self, page: Page) -> None:
        self.errors: list[str] = []
        page.on("pageerror", lambda e: self.errors.append(str(e)))

    def check(self) -> None:
        assert not self.errors, self.errors


def new_page(browser: Browser, viewport: dict[str, int] = DESKTOP) -> tuple[Page, Watch]:
    page = browser.new_page(viewport=viewport)  # type: ignore[arg-type]
    page.set_default_timeout(20_000)
    return page, Watch(page)


def enter_key(page: Page, key: str) -> None:
    expect(page.locator("#key-panel")).to_be_visible()
    page.fill("#api-key", key)
    page.press("#api-key", "Enter")
    expect(page.locator("#key-panel")).to_be_hidden()


def open_simulator(browser: Browser, svc: Service, role: str = "manager",
                   viewport: dict[str, int] = DESKTOP) -> tuple[Page, Watch]:
    page, watch = new_page(browser, viewport)
    page.goto(f"{svc.base_url}/ui")
    enter_key(page, svc.keys[role])
    expect(page.locator("#ruleset-select")).to_have_value(RULES)
    page.wait_for_selector(".scenario", state="attached")
    return page, watch


def shown(text: str) -> str:
    """A number as displayed (grouping, a + sign, a real minus) back to the API's decimal text."""
    return text.strip().replace(",", "").replace("\u2212", "-").removeprefix("+")


def table(page: Page, selector: str) -> list[dict[str, Any]]:
    """The rows of a table: their data-* and each data-col cell's (data-value, text)."""
    rows: list[dict[str, Any]] = page.evaluate(
        """sel => Array.from(document.querySelectorAll(sel + ' tbody tr')).map(tr => ({
            ...tr.dataset,
            cells: Object.fromEntries(Array.from(tr.querySelectorAll('[data-col]'))
                .map(td => [td.dataset.col, [td.dataset.value, td.textContent]]))}))""", selector)
    return rows


def set_lever(page: Page, card: int, path: str, value: str) -> None:
    field = page.locator(".scenario").nth(card).locator(f'[data-path="{path}"]')
    if field.evaluate("e => e.tagName") == "SELECT":
        field.select_option(value)
    else:
        field.fill(value)


def error_of(page: Page, card: int, path: str) -> Any:
    return page.locator(".scenario").nth(card).locator(f'[data-error-for="{path}"]')


# ---------------------------------------------------------------------------------------------
# the simulator


def test_simulator_two_scenarios_match_the_api(svc: Service, browser: Browser, shots: Path,
                                               api_sim: dict[str, Any]) -> None:
    page, watch = open_simulator(browser, svc)
    base, sc = api_sim["result"], api_sim["scenarios"]

    # load the example company: the period, its projects and people, as the API computes them
    page.set_input_files("#input-file", str(EXAMPLE / "input.json"))
    expect(page.locator("#overview")).to_be_visible()
    assert page.get_attribute("#overview-paid", "data-value") == base["totals"]["paid"]
    assert page.get_attribute("#overview-input-sha", "data-value") == base["input_sha256"]
    projects = {r["project"]: r["cells"] for r in table(page, "#projects-table")}
    assert set(projects) == {p["project_id"] for p in base["projects"]}
    for p in base["projects"]:
        for col, field in (("pool", "pool"), ("paid", "paid"), ("forfeited", "forfeited_total")):
            value, text = projects[p["project_id"]][col]
            assert value == p[field] and shown(text).startswith(p[field]), (p["project_id"], col)
    people = {r["person"]: r["cells"]["total"] for r in table(page, "#people-table")}
    assert people == {p["person_id"]: [p["total"], _group(p["total"])] for p in base["people"]}

    # change a lever: inline validation first (a value out of range, role shares not summing to 1)
    set_lever(page, 0, "split.result_weight", "1.5")
    expect(error_of(page, 0, "split.result_weight")).to_contain_text("1")
    expect(page.locator('.scenario >> nth=0 >> [data-path="split.result_weight"]')).to_have_attribute(
        "aria-invalid", "true")
    set_lever(page, 0, "roles.AR", "0.5")
    expect(error_of(page, 0, "roles")).to_contain_text("sum")
    page.locator(".scenario").nth(0).screenshot(path=str(shots / "simulator-validation.png"))
    set_lever(page, 0, "roles.AR", "0.4")
    set_lever(page, 0, "split.result_weight", "0.5")
    expect(error_of(page, 0, "split.result_weight")).to_be_empty()
    expect(error_of(page, 0, "roles")).to_be_empty()
    set_lever(page, 0, "name", SCENARIOS[0]["name"])
    expect(page.locator(".scenario >> nth=0 >> .changes")).to_contain_text("split.result_weight 0.6 → 0.5")

    # a second scenario: no redistribution of capped money
    page.click("#add-scenario")
    expect(page.locator(".scenario")).to_have_count(2)
    set_lever(page, 1, "name", SCENARIOS[1]["name"])
    set_lever(page, 1, "caps.redistribute", "none")
    expect(page.locator(".scenario >> nth=1 >> .changes")).to_contain_text("caps.redistribute project → none")
    page.locator("#scenarios").scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "simulator-levers.png"))
    page.click("#run-scenarios")
    expect(page.locator("#compare")).to_be_visible()
    expect(page.locator("#run-status")).to_contain_text("Ran 2 scenarios")

    # side by side: every person's amount and delta is the API's
    rows = table(page, "#compare-table")
    docs = [base, sc[0]["result"], sc[1]["result"]]
    totals = [{p["person_id"]: p["total"] for p in d["people"]} for d in docs]
    assert {r["person"] for r in rows} == set().union(*totals)
    for r in rows:
        c = r["cells"]
        for k in range(3):
            value, text = c[f"amount-{k}"]
            assert value == totals[k].get(r["person"], ""), (r["person"], k)
            assert text == "–" if not value else shown(text) == value
        for k in (1, 2):
            old = Decimal(totals[0].get(r["person"], "0"))
            new = Decimal(totals[k].get(r["person"], "0"))
            value, text = c[f"delta-{k}"]
            assert Decimal(value) == new - old and shown(text) == value, (r["person"], k)
    for k, s in enumerate(sc, start=1):  # the API's own delta report agrees
        changed = {d["person_id"]: d["difference"] for d in s["deltas"]["people"]}
        for r in rows:
            assert Decimal(r["cells"][f"delta-{k}"][0]) == Decimal(changed.get(r["person"], "0"))
    foot = page.evaluate("() => Object.fromEntries(Array.from(document.querySelectorAll("
                         "'#compare-table tfoot [data-col]')).map(td => [td.dataset.col, td.dataset.value]))")
    for k, d in enumerate(docs):
        assert foot[f"sum-{k}"] == d["totals"]["paid"]
        assert page.locator(f'[data-result="{k}"] [data-col="paid"]').get_attribute("data-value") == d["totals"]["paid"]
    for k in (1, 2):
        assert Decimal(foot[f"dsum-{k}"]) == Decimal(sc[k - 1]["deltas"]["totals"]["difference"])

    # sortable: by the second scenario's delta, ascending then descending
    page.click('#compare-table button[data-sort="delta-2"]')
    desc = [Decimal(r["cells"]["delta-2"][0]) for r in table(page, "#compare-table")]
    assert desc == sorted(desc, reverse=True)  # a numeric column sorts largest first on the first click
    page.click('#compare-table button[data-sort="delta-2"]')
    assert [Decimal(r["cells"]["delta-2"][0]) for r in table(page, "#compare-table")] == sorted(desc)
    assert page.get_attribute('#compare-table th:has(button[data-sort="delta-2"])', "aria-sort") == "ascending"

    # filterable by project, role and cost center
    lines = [ln for d in docs for ln in d["lines"]]
    page.select_option("#filter-project", "P01")
    assert {r["person"] for r in table(page, "#compare-table")} == {ln["person_id"] for ln in lines
                                                                     if ln["project_id"] == "P01"}
    page.select_option("#filter-role", "SR")
    assert {r["person"] for r in table(page, "#compare-table")} == {
        ln["person_id"] for ln in lines if ln["project_id"] == "P01" and ln["role"] == "SR"}
    page.select_option("#filter-role", "")
    page.locator("#compare").screenshot(path=str(shots / "simulator-comparison.png"))
    page.select_option("#filter-project", "")
    page.select_option("#filter-cc", "delivery")
    cc = {p["person_id"]: p["cost_center"] for d in docs for p in d["people"]}
    assert {r["person"] for r in table(page, "#compare-table")} == {p for p, c in cc.items() if c == "delivery"}
    page.select_option("#filter-cc", "")
    page.check('input[name="view"][value="lines"]')
    line_rows = table(page, "#compare-table")
    assert {r["key"] for r in line_rows} == {ln["line_id"] for ln in lines}
    amounts = [{ln["line_id"]: ln["amount"] for ln in d["lines"]} for d in docs]
    for r in line_rows:
        for k in range(3):
            assert r["cells"][f"amount-{k}"][0] == amounts[k].get(r["key"], "")
    page.check('input[name="view"][value="people"]')

    # the waterfall of P01 without redistribution: pool -> ideal -> caps -> rounding -> paid + forfeited
    page.select_option("#wf-project", "P01")
    page.select_option("#wf-result", "2")
    proj = next(p for p in sc[1]["result"]["projects"] if p["project_id"] == "P01")
    steps = {r["step"]: r["cells"] for r in page.evaluate(
        """() => Array.from(document.querySelectorAll('#wf-table tbody tr')).map(tr => ({step: tr.dataset.step,
            cells: {value: tr.querySelector('[data-value]').dataset.value}}))""")}
    assert Decimal(steps["Pool"]["value"]) == Decimal(proj["pool_unrounded"])
    assert steps["Paid"]["value"] == proj["paid"]
    assert steps["Forfeited"]["value"] == proj["forfeited_total"]
    assert Decimal(proj["forfeited_total"]) > 0  # capped money is forfeited without redistribution
    p01 = [ln for ln in sc[1]["result"]["lines"] if ln["project_id"] == "P01"]
    assert Decimal(steps["Ideal split"]["value"]) == sum(Decimal(ln["ideal"]) for ln in p01)
    assert Decimal(steps["After caps"]["value"]) == sum(Decimal(ln["final_unrounded"]) for ln in p01)
    assert Decimal(proj["pool"]) == Decimal(proj["paid"]) + Decimal(proj["forfeited_total"])
    expect(page.locator("#wf-caption")).to_contain_text("reconciles to the cent")
    page.locator("#waterfall").screenshot(path=str(shots / "waterfall.png"))

    # downloads: the scenario's rule set (TOML) and result (JSON, CSV)
    card = page.locator('[data-result="2"]')
    with page.expect_download() as dl:
        card.locator('button[data-download="toml"]').click()
    toml_text = Path(dl.value.path()).read_text(encoding="utf-8")
    assert tomllib.loads(toml_text)["caps"]["redistribute"] == "none"
    check = httpx.post(f"{svc.base_url}/v1/rulesets/validate", json={"toml": toml_text}, headers=svc.headers("manager"))
    assert check.status_code == 200 and check.json()["sha256"] == sc[1]["ruleset_sha256"]
    with page.expect_download() as dl:
        card.locator('button[data-download="json"]').click()
    assert json.loads(Path(dl.value.path()).read_text(encoding="utf-8")) == sc[1]["result"]
    with page.expect_download() as dl:
        card.locator('button[data-download="csv"]').click()
    got = {(r["person_id"], r["project_id"], r["role"]): r["amount"]
           for r in csv.DictReader(io.StringIO(Path(dl.value.path()).read_text(encoding="utf-8")))}
    assert got == {(ln["person_id"], ln["project_id"], ln["role"]): ln["amount"] for ln in sc[1]["result"]["lines"]}

    # "why?": a person's statement under a scenario; the dialog closes with Escape
    first = table(page, "#compare-table")[0]["person"]
    page.locator(f'#compare-table tr[data-person="{first}"] button.why').click()
    expect(page.locator("#why-dialog")).to_be_visible()
    person = next(p for p in sc[0]["result"]["people"] if p["person_id"] == first)
    expect(page.locator("#why-dialog #statement-total")).to_have_text(person["total"])
    page.keyboard.press("Escape")
    expect(page.locator("#why-dialog")).to_be_hidden()
    watch.check()
    page.close()


# ---------------------------------------------------------------------------------------------
# the statement


def test_statement_page_shows_the_result_document(svc: Service, browser: Browser, shots: Path,
                                                  closed_run: dict[str, Any]) -> None:
    run_id, doc = closed_run["run_id"], closed_run["result"]
    # someone with the most lines, most of them cut by caps
    per_person: dict[str, list[dict[str, Any]]] = {}
    for ln in doc["lines"]:
        per_person.setdefault(ln["person_id"], []).append(ln)
    pid = min(per_person, key=lambda p: (-len(per_person[p]),
                                         -sum(ln["optimizer_adjustment"].startswith("-") for ln in per_person[p]), p))
    person = next(p for p in doc["people"] if p["person_id"] == pid)

    page, watch = new_page(browser)
    page.goto(f"{svc.base_url}/ui/runs/{run_id}/people/{pid}/statement")
    page.fill("#api-key", "inc_not_a_key")  # a fresh tab asks for the key; a wrong one is refused
    page.press("#api-key", "Enter")
    expect(page.locator("#api-key-error")).to_contain_text("not valid")
    expect(page.locator("#statement-total")).to_have_count(0)
    enter_key(page, svc.keys["manager"])
    expect(page.locator("#statement-total")).to_have_text(person["total"])
    api_st = httpx.get(f"{svc.base_url}/v1/runs/{run_id}/people/{pid}/statement", headers=svc.headers("manager")).json()
    assert api_st["person"]["total"] == person["total"]

    # every line: its amount, and each number of its breakdown, exactly as the document has it
    for ln in per_person[pid]:
        section = page.locator(f'.statement-line[data-line="{ln["line_id"]}"]')
        expect(section.locator(".line-amount strong")).to_have_text(ln["amount"])
        steps = section.locator(".statement-steps").inner_text()
        for field in ("ideal", "optimizer_adjustment", "final_unrounded", "rounding_adjustment"):
            assert ln[field] in steps, (ln["line_id"], field)
        parts = section.locator(".statement-parts").all_inner_texts()
        assert len(parts) == len(ln["breakdown"])
        for b, text in zip(ln["breakdown"], parts, strict=True):
            assert b["result"]["amount"] in text and b["result"]["role_money"] in text
            for s in b["process"]:
                assert s["amount"] in text and s["effort"] in text, (ln["line_id"], b["event_id"], s["stage"])
        summary = page.locator(f'.statement-summary tr[data-line="{ln["line_id"]}"] .summary-amount')
        expect(summary).to_have_text(ln["amount"])
    assert sum(Decimal(ln["amount"]) for ln in per_person[pid]) == Decimal(person["total"])
    page.screenshot(path=str(shots / "statement.png"), full_page=False)

    # print: the page alone, no navigation or buttons; the browser makes a PDF of it
    page.emulate_media(media="print")
    assert not page.locator(".topbar").is_visible() and not page.locator("#print-statement").is_visible()
    expect(page.locator("#statement-total")).to_be_visible()
    pdf = page.pdf(format="A4", print_background=True)
    assert pdf.startswith(b"%PDF") and len(pdf) > 10_000
    page.screenshot(path=str(shots / "statement-print.png"), full_page=True)
    page.emulate_media(media="screen")

    # an unknown person: the API's 404, shown on the page
    page.goto(f"{svc.base_url}/ui/runs/{run_id}/people/nobody/statement")
    expect(page.locator("#statement-errors")).to_contain_text("has no line")
    watch.check()
    page.close()


# ---------------------------------------------------------------------------------------------
# a closed run as the baseline, tables upload, keyboard, labels and phone width


def test_run_baseline_tables_keyboard_and_phone(svc: Service, browser: Browser, shots: Path,
                                                closed_run: dict[str, Any], api_sim: dict[str, Any]) -> None:
    run_id, doc = closed_run["run_id"], closed_run["result"]
    page, watch = open_simulator(browser, svc, role="hr")

    # the six CSV tables give the same input as the JSON (same sha256, same baseline)
    page.set_input_files("#input-file", sorted(str(p) for p in (EXAMPLE / "csv").glob("*.csv")))
    expect(page.locator("#overview")).to_be_visible()
    expect(page.locator("#overview-input-sha")).to_have_attribute("data-value", doc["input_sha256"])
    assert page.get_attribute("#overview-paid", "data-value") == api_sim["result"]["totals"]["paid"]

    # the closed run as the baseline: its stored result, with links to the printable statements
    page.select_option("#run-select", run_id)
    page.click("#run-load")
    expect(page.locator("#load-status")).to_contain_text(f"Run {run_id}")
    people = {r["person"]: r["cells"]["total"][0] for r in table(page, "#people-table")}
    assert people == {p["person_id"]: p["total"] for p in doc["people"]}
    link = page.locator("#people-table a.statement-link").first
    assert f"/ui/runs/{run_id}/people/" in (link.get_attribute("href") or "")
    set_lever(page, 0, "caps.person_project_max", "")  # no pair cap
    page.click("#run-scenarios")
    expect(page.locator("#compare")).to_be_visible()
    assert page.locator("#compare-table thead th").nth(3).inner_text().startswith(f"Run {run_id}")
    rows = table(page, "#compare-table")
    assert {r["person"]: r["cells"]["amount-0"][0] for r in rows} == {p["person_id"]: p["total"]
                                                                       for p in doc["people"]}

    # keyboard: the skip link is the first stop and jumps to the content; a sort button works with
    # Enter; every control has a label
    first_stop = page.evaluate("""() => Array.from(document.querySelectorAll('a[href], button, input, select'))
        .find(e => !e.disabled && e.tabIndex >= 0).className""")
    assert first_stop == "skip-link"
    page.focus(".skip-link")
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.id") == "main"
    page.focus('#compare-table button[data-sort="person"]')
    page.keyboard.press("Enter")
    assert page.get_attribute('#compare-table th:has(button[data-sort="person"])', "aria-sort") == "ascending"
    persons = [r["person"] for r in table(page, "#compare-table")]
    assert persons == sorted(persons)
    unlabelled = page.evaluate("""() => Array.from(document.querySelectorAll('input, select, textarea'))
        .filter(e => e.type !== 'hidden' && !(e.labels && e.labels.length) && !e.getAttribute('aria-label')
                     && !e.getAttribute('aria-labelledby'))
        .map(e => e.outerHTML.slice(0, 120))""")
    assert unlabelled == []

    # phone width: one column, no sideways scrolling of the page (wide tables scroll in their frame)
    page.set_viewport_size(PHONE)  # type: ignore[arg-type]
    page.evaluate("() => window.scrollTo(0, 0)")
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    page.locator("#compare").scroll_into_view_if_needed()
    page.evaluate("() => document.querySelector('#compare').scrollIntoView()")
    page.screenshot(path=str(shots / "simulator-phone.png"))
    phone, phone_watch = new_page(browser, PHONE)
    phone.goto(f"{svc.base_url}/ui/runs/{run_id}/people/{doc['people'][0]['person_id']}/statement")
    enter_key(phone, svc.keys["manager"])
    expect(phone.locator("#statement-total")).to_have_text(doc["people"][0]["total"])
    assert phone.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    phone.screenshot(path=str(shots / "statement-phone.png"))
    phone_watch.check()
    phone.close()
    watch.check()
    page.close()


def test_pages_need_no_key_and_send_no_data(svc: Service) -> None:
    """The HTML shells and static files are public and carry no data; the /ui JSON helpers need a
    key like the API (and are not part of the OpenAPI schema)."""
    with httpx.Client(base_url=svc.base_url, timeout=30) as c:
        page = c.get("/ui")
        assert page.status_code == 200 and "Scenario simulator" in page.text
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert c.get("/ui/static/simulator.js").status_code == 200
        assert c.get("/ui/static/..%2Fapp.py").status_code == 404
        assert c.get("/ui/runs/x/people/y/statement").status_code == 200
        assert c.post("/ui/rulesets/toml", json={"rules": RULES}).status_code == 401
        assert c.get("/ui/runs/x/ruleset", headers=svc.headers("manager")).status_code == 403
        assert not [p for p in c.get("/openapi.json").json()["paths"] if p.startswith("/ui")]
        base = c.post("/ui/rulesets/toml", json={"rules": RULES}, headers=svc.headers("manager"))
        assert base.status_code == 200
        bundled = c.get(f"/v1/rulesets/{RULES}", headers=svc.headers("manager")).json()
        assert base.headers["x-ruleset-sha256"] == bundled["sha256"]
        bad = c.post("/ui/rulesets/toml", json={"rules": RULES, "rules_patch": {"split": {"result_weight": 2}}},
                     headers=svc.headers("manager"))
        assert bad.status_code == 422 and bad.json()["errors"][0]["path"].startswith("rules_patch.split")
        xlsx = c.post("/ui/tables", headers=svc.headers("manager"),
                      files={"files": ("input.xlsx", (EXAMPLE / "input.xlsx").read_bytes())})
        assert xlsx.status_code == 200
        assert xlsx.json()["period"]["id"] == "2026-Q3"
        wrong = c.post("/ui/tables", headers=svc.headers("manager"), files={"files": ("notes.txt", b"x")})
        assert wrong.status_code == 422 and "files[notes.txt]" in wrong.text


# ---------------------------------------------------------------------------------------------


def _group(text: str) -> str:
    sign, digits = ("-", text[1:]) if text.startswith("-") else ("", text)
    whole, _, frac = digits.partition(".")
    out = f"{int(whole):,}"
    return sign + out + (f".{frac}" if frac else "")
