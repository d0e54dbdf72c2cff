"""The period input as CSV tables and as an XLSX workbook (incentive/tables.py)."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
from openpyxl import load_workbook

from incentive.cli import main
from incentive.loading import read_raw_input
from incentive.model import read_input
from incentive.problems import InputError
from incentive.rules import load_ruleset
from incentive.tables import TABLES, _csv_columns, read_csv_folder, read_xlsx

ROOT = Path(__file__).resolve().parent.parent
COMPANY = ROOT / "examples" / "company"
TEMPLATES = ROOT / "examples" / "templates"


@pytest.fixture(scope="module")
def rules():
    return load_ruleset(ROOT / "rules" / "ltc-default.toml")


@pytest.fixture(scope="module")
def json_input(rules):
    return read_input(read_raw_input(COMPANY / "input.json"), rules)


@pytest.fixture
def csv_dir(tmp_path: Path) -> Path:
    out = tmp_path / "csv"
    shutil.copytree(COMPANY / "csv", out)
    return out


@pytest.fixture
def xlsx_file(tmp_path: Path) -> Path:
    out = tmp_path / "input.xlsx"
    shutil.copy(COMPANY / "input.xlsx", out)
    return out


def read_rows(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.reader(fh))


def write_rows(path: Path, rows: list[list[str]], encoding: str = "utf-8") -> None:
    with path.open("w", encoding=encoding, newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)


def set_cell(path: Path, row: int, column: str, value: str) -> None:
    """Set the cell at spreadsheet row `row` (header = row 1) and column name `column`."""
    rows = read_rows(path)
    rows[row - 1][rows[0].index(column)] = value
    write_rows(path, rows)


def problems_of(fn, *args) -> dict[str, str]:
    with pytest.raises(InputError) as info:
        fn(*args)
    return {p.path: p.message for p in info.value.problems}


# ----------------------------------------------------------------------------------------
# the same input from every format


def test_csv_folder_reads_to_the_json_input(rules, json_input):
    inp = read_input(read_csv_folder(COMPANY / "csv"), rules)
    assert inp.to_document() == json_input.to_document()
    assert inp.sha256 == json_input.sha256


def test_xlsx_reads_to_the_json_input(rules, json_input):
    inp = read_input(read_xlsx(COMPANY / "input.xlsx"), rules)
    assert inp.to_document() == json_input.to_document()
    assert inp.sha256 == json_input.sha256


def test_loading_dispatches_folders_and_workbooks(json_input, rules):
    assert read_input(read_raw_input(COMPANY / "csv"), rules).sha256 == json_input.sha256
    assert read_input(read_raw_input(COMPANY / "input.xlsx"), rules).sha256 == json_input.sha256


def test_money_stays_decimal_text():
    data = read_csv_folder(COMPANY / "csv")
    person = data["people"][0]
    assert isinstance(person["annual_base_salary"], str)
    assert all(isinstance(p["contract_value"], str) and isinstance(p["margin"], str) for p in data["projects"])
    assert all(isinstance(c["amount"], str) for p in data["projects"] for c in p["collections"])
    assert all(isinstance(c["fte"], float) for c in data["contributions"])
    xdata = read_xlsx(COMPANY / "input.xlsx")
    assert xdata["people"] == data["people"]
    assert xdata["projects"] == data["projects"]


@pytest.mark.parametrize("source", ["csv", "xlsx"])
def test_templates_are_valid_inputs(rules, source):
    raw = read_csv_folder(TEMPLATES) if source == "csv" else read_xlsx(TEMPLATES / "input.xlsx")
    inp = read_input(raw, rules)
    assert len(inp.people) == len(inp.projects) == len(inp.contributions) == 1
    for name, spec in TABLES.items():
        assert read_rows(TEMPLATES / f"{name}.csv")[0] == list(spec.columns)


def test_empty_cells_and_left_out_columns_take_the_defaults(csv_dir, rules):
    set_cell(csv_dir / "contributions.csv", 2, "fte", "")
    set_cell(csv_dir / "contributions.csv", 3, "score", "")
    set_cell(csv_dir / "projects.csv", 2, "type", "")
    rows = read_rows(csv_dir / "people.csv")
    k = rows[0].index("name")
    write_rows(csv_dir / "people.csv", [r[:k] + r[k + 1:] for r in rows])  # no name column at all
    data = read_csv_folder(csv_dir)
    assert data["contributions"][0]["fte"] == 1.0
    assert data["contributions"][1]["score"] == 1.0
    assert "type" not in data["projects"][0]
    assert "name" not in data["people"][0]
    assert data["people"][0]["left_on"] is None
    inp = read_input(data, rules)
    assert inp.projects[0].type == "standard"
    assert inp.people[0].name is None


def test_header_case_whitespace_bom_blank_rows_and_padding(csv_dir, rules, json_input):
    path = csv_dir / "contributions.csv"
    rows = read_rows(path)
    rows[0] = [f" {c.upper()} " for c in rows[0]]
    rows[1] = [f" {c} " for c in rows[1]]
    rows.insert(3, ["", "", "", "", "", "", "", ""])
    rows.insert(5, [])
    rows.append(["", ""])
    write_rows(path, rows, encoding="utf-8-sig")
    assert read_input(read_csv_folder(csv_dir), rules).sha256 == json_input.sha256
    # row numbers still name the spreadsheet row after skipped blank rows
    rows = read_rows(path)
    rows[6][rows[0].index(" FTE ")] = "x"  # data row 6 in the file = spreadsheet row 7
    write_rows(path, rows, encoding="utf-8-sig")
    assert "contributions.csv:row 7:fte" in problems_of(read_csv_folder, csv_dir)


# ----------------------------------------------------------------------------------------
# each kind of problem names file, row and column


def test_missing_file(csv_dir):
    (csv_dir / "stages.csv").unlink()
    probs = problems_of(read_csv_folder, csv_dir)
    assert "stages.csv" in probs and "missing" in probs["stages.csv"]


def test_missing_sheet(xlsx_file):
    wb = load_workbook(xlsx_file)
    del wb["collections"]
    wb.save(xlsx_file)
    probs = problems_of(read_xlsx, xlsx_file)
    assert "input.xlsx[collections]" in probs
    assert "missing" in probs["input.xlsx[collections]"]


def test_missing_required_column(csv_dir):
    rows = read_rows(csv_dir / "contributions.csv")
    k = rows[0].index("person_id")
    write_rows(csv_dir / "contributions.csv", [r[:k] + r[k + 1:] for r in rows])
    probs = problems_of(read_csv_folder, csv_dir)
    assert "required column 'person_id' is missing" in probs["contributions.csv:person_id"]


def test_unknown_column_suggests_the_known_one(csv_dir):
    rows = read_rows(csv_dir / "people.csv")
    rows[0][rows[0].index("annual_base_salary")] = "anual_base_salary"
    write_rows(csv_dir / "people.csv", rows)
    msg = problems_of(read_csv_folder, csv_dir)["people.csv:anual_base_salary"]
    assert "unknown column" in msg and "did you mean 'annual_base_salary'" in msg


def test_stage_and_collection_naming_an_unknown_project(csv_dir):
    set_cell(csv_dir / "stages.csv", 4, "project_id", "P99")
    set_cell(csv_dir / "collections.csv", 3, "project_id", "NOPE")
    probs = problems_of(read_csv_folder, csv_dir)
    assert "'P99'" in probs["stages.csv:row 4:project_id"]
    assert "'NOPE'" in probs["collections.csv:row 3:project_id"]


@pytest.mark.parametrize(("table", "row", "column", "value"), [
    ("contributions", 7, "fte", "half"),
    ("contributions", 9, "score", "1,2"),
    ("people", 3, "annual_base_salary", "12,000"),
    ("projects", 2, "contract_value", "lots"),
    ("projects", 5, "margin", "30%"),
    ("collections", 2, "amount", "1e"),
])
def test_unparseable_number(csv_dir, table, row, column, value):
    set_cell(csv_dir / f"{table}.csv", row, column, value)
    probs = problems_of(read_csv_folder, csv_dir)
    assert repr(value) in probs[f"{table}.csv:row {row}:{column}"]


def test_unparseable_number_in_a_workbook(xlsx_file):
    wb = load_workbook(xlsx_file)
    ws = wb["contributions"]
    header = [c.value for c in ws[1]]
    ws.cell(row=7, column=header.index("fte") + 1, value="most")
    wb.save(xlsx_file)
    probs = problems_of(read_xlsx, xlsx_file)
    assert "'most'" in probs["input.xlsx[contributions]:row 7:fte"]


def test_table_shape_problems(csv_dir):
    write_rows(csv_dir / "period.csv", [["id", "start", "end"], ["2026-Q3", "2026-07-01", "2026-09-30"],
                                        ["2026-Q4", "2026-10-01", "2026-12-31"]])
    rows = read_rows(csv_dir / "stages.csv")
    rows.append(list(rows[1]))  # the same stage of the same project twice
    write_rows(csv_dir / "stages.csv", rows)
    dup_row = len(rows)
    rows = read_rows(csv_dir / "collections.csv")
    rows[2] = [*rows[2], "extra"]
    write_rows(csv_dir / "collections.csv", rows)
    set_cell(csv_dir / "contributions.csv", 5, "person_id", "")
    probs = problems_of(read_csv_folder, csv_dir)
    assert "exactly one row" in probs["period.csv"]
    assert "listed twice" in probs[f"stages.csv:row {dup_row}:stage"]
    assert "5 cells" in probs["collections.csv:row 3"]
    assert "empty" in probs["contributions.csv:row 5:person_id"]


def test_not_utf8_and_semicolons(csv_dir):
    (csv_dir / "people.csv").write_bytes("id,name\nE1,J\xfcrgen\n".encode("latin-1"))
    (csv_dir / "period.csv").write_text("id;start;end\n2026-Q3;2026-07-01;2026-09-30\n", encoding="utf-8")
    probs = problems_of(read_csv_folder, csv_dir)
    assert "UTF-8" in probs["people.csv"]
    assert "';'" in probs["period.csv"]


def test_every_problem_is_reported_at_once(csv_dir):
    (csv_dir / "stages.csv").unlink()
    set_cell(csv_dir / "contributions.csv", 7, "fte", "abc")
    set_cell(csv_dir / "contributions.csv", 8, "score", "?")
    set_cell(csv_dir / "people.csv", 3, "annual_base_salary", "n/a")
    set_cell(csv_dir / "collections.csv", 2, "project_id", "P404")
    set_cell(csv_dir / "collections.csv", 3, "amount", "1.2.3")
    rows = read_rows(csv_dir / "projects.csv")
    rows[0][rows[0].index("customer")] = "client"
    write_rows(csv_dir / "projects.csv", rows)
    with pytest.raises(InputError) as info:
        read_csv_folder(csv_dir)
    paths = {p.path for p in info.value.problems}
    assert {"stages.csv", "contributions.csv:row 7:fte", "contributions.csv:row 8:score",
            "people.csv:row 3:annual_base_salary", "projects.csv:client", "collections.csv:row 3:amount"} <= paths
    # projects.csv cannot be read, so collections are not checked against it
    assert "collections.csv:row 2:project_id" not in paths


def test_cli_reports_table_problems_and_exits_2(csv_dir, capsys):
    set_cell(csv_dir / "contributions.csv", 7, "fte", "abc")
    set_cell(csv_dir / "collections.csv", 2, "project_id", "P404")
    code = main(["validate", str(csv_dir), "--rules", "ltc-default"])
    err = capsys.readouterr().err
    assert code == 2
    assert "contributions.csv:row 7:fte" in err and "collections.csv:row 2:project_id" in err
    assert "Traceback" not in err


def test_engine_validation_still_applies_after_reading(csv_dir, rules):
    set_cell(csv_dir / "contributions.csv", 4, "person_id", "GHOST")
    data = read_csv_folder(csv_dir)  # a table problem it is not
    with pytest.raises(InputError) as info:
        read_input(data, rules)
    assert any("GHOST" in p.message for p in info.value.problems)


# ----------------------------------------------------------------------------------------
# the fast path for plain files and the careful path for everything else


@pytest.mark.parametrize("name", list(TABLES))
def test_fast_path_splits_as_csv_reader_does(name):
    text = (COMPANY / "csv" / f"{name}.csv").read_text(encoding="utf-8")
    grid = _csv_columns(text)
    assert grid is not None and grid.columns is not None
    rows = read_rows(COMPANY / "csv" / f"{name}.csv")
    assert grid.rows == [rows[0]]
    assert [list(col) for col in zip(*grid.columns, strict=True)] == rows[1:]


@pytest.mark.parametrize("text", ['id,name\nE1,"Berg, Anna"\n', "id,name\r\nE1,A\rE2,B\n", "id,name\nE1\n",
                                  "id,name\n\nE1,A\n", "id,name\n,\nE1,A\n"])
def test_fast_path_leaves_quotes_blank_and_ragged_rows_to_csv_reader(text):
    assert _csv_columns(text) is None


def test_quoted_cells_with_commas_and_line_breaks(csv_dir, rules):
    rows = read_rows(csv_dir / "people.csv")
    rows[1][rows[0].index("name")] = "Berg, Anna\n(sales lead)"
    write_rows(csv_dir / "people.csv", rows)
    data = read_csv_folder(csv_dir)
    assert data["people"][0]["name"] == "Berg, Anna\n(sales lead)"
    set_cell(csv_dir / "people.csv", 3, "annual_base_salary", "x")  # a spreadsheet row, not a line
    assert "people.csv:row 3:annual_base_salary" in problems_of(read_csv_folder, csv_dir)


def test_unreadable_workbook_and_missing_folder(tmp_path):
    bad = tmp_path / "input.xlsx"
    bad.write_bytes(b"not a zip file")
    assert str(bad) in problems_of(read_xlsx, bad)
    assert str(tmp_path / "nope") in problems_of(read_csv_folder, tmp_path / "nope")


def test_workbook_numbers_are_read_as_excel_shows_them(xlsx_file):
    wb = load_workbook(xlsx_file)
    ws = wb["collections"]
    header = [c.value for c in ws[1]]
    ws.cell(row=2, column=header.index("amount") + 1, value=0.1 + 0.2)  # what =0.1+0.2 stores
    ws.cell(row=3, column=header.index("amount") + 1, value=1234.5)
    ws.cell(row=4, column=header.index("amount") + 1, value=2.5e-7)
    ws.cell(row=5, column=header.index("amount") + 1, value="1500000.00")  # a text cell stays as typed
    wb.save(xlsx_file)
    data = read_xlsx(xlsx_file)
    amounts = [c["amount"] for p in data["projects"] for c in p["collections"]]
    assert amounts[:4] == ["0.3", "1234.5", "0.00000025", "1500000.00"]
