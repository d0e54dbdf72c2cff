"""The command line: progress on a terminal only, machine-readable output, explain, validate."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path

from .conftest import CASES, ROOT

CASE = CASES / "gen-0004"


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "incentive.cli", *args], capture_output=True, text=True,
                          timeout=120, env=env, cwd=ROOT)


def test_quiet_when_not_a_terminal(tmp_path: Path) -> None:
    proc = _run("allocate", str(CASE / "input.json"), "--rules", str(CASE / "rules.toml"),
                "--out", str(tmp_path / "r.json"))
    assert proc.returncode == 0
    assert proc.stderr == ""
    assert "paid" in proc.stdout


def test_progress_bar_on_a_terminal(tmp_path: Path) -> None:
    """On a terminal the stages show as a progress bar on stderr (delay 0 so a small input shows it)."""
    out = tmp_path / "r.json"
    env = {**os.environ, "INCENTIVE_PROGRESS_DELAY": "0"}
    pid, fd = pty.fork()
    if pid == 0:  # child: stdin/stdout/stderr are the pty
        os.execvpe(sys.executable, [sys.executable, "-m", "incentive.cli", "allocate", str(CASE / "input.json"),
                                    "--rules", str(CASE / "rules.toml"), "--out", str(out)], env)
    chunks = []
    while True:
        try:
            data = os.read(fd, 4096)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    _, status = os.waitpid(pid, 0)
    text = b"".join(chunks).decode(errors="replace")
    assert os.waitstatus_to_exitcode(status) == 0
    assert "allocate:" in text and "stages" in text
    assert out.exists()


def test_json_summary_and_payroll(tmp_path: Path) -> None:
    payroll = tmp_path / "pay.csv"
    proc = _run("allocate", str(CASE / "input.json"), "--rules", str(CASE / "rules.toml"),
                "--out", str(tmp_path / "r.json"), "--payroll-csv", str(payroll), "--json")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["totals"]["reconciles"] is True
    assert set(summary["timings_s"]) >= {"load", "validate", "events_pools", "ideal_split", "caps", "rounding"}
    doc = json.loads((tmp_path / "r.json").read_text())
    lines = payroll.read_text().splitlines()
    assert lines[0].startswith("employee_id,pay_component,amount")
    paid = [ln for ln in doc["lines"] if ln["amount"] != "0.00"]
    assert len(lines) == 1 + len(paid) + 1
    assert lines[-1] == f"# control totals: line_count={len(paid)} amount_sum={doc['totals']['paid']}"


def test_validate_and_explain(tmp_path: Path) -> None:
    proc = _run("validate", str(CASE / "input.json"), "--rules", str(CASE / "rules.toml"), "--json")
    assert proc.returncode == 0
    assert json.loads(proc.stdout)["valid"] is True
    out = tmp_path / "r.json"
    assert _run("allocate", str(CASE / "input.json"), "--rules", str(CASE / "rules.toml"), "--out", str(out),
                "--quiet").returncode == 0
    doc = json.loads(out.read_text())
    person = doc["people"][0]
    text = _run("explain", str(out), "--person", person["person_id"])
    assert text.returncode == 0
    assert f"TOTAL: {person['total']}" in text.stdout
    for line in (ln for ln in doc["lines"] if ln["person_id"] == person["person_id"]):
        assert f"Ideal amount: {line['ideal']}" in text.stdout
        assert f"Rounded to the unit: {line['amount']}" in text.stdout
    missing = _run("explain", str(out), "--person", "nobody")
    assert missing.returncode == 2 and "nobody" in missing.stderr and "Traceback" not in missing.stderr


def test_unreadable_files_are_clean_errors(tmp_path: Path) -> None:
    proc = _run("allocate", str(tmp_path / "missing.json"), "--rules", str(tmp_path / "missing.toml"),
                "--out", str(tmp_path / "r.json"))
    assert proc.returncode == 2
    assert "missing.json" in proc.stderr and "missing.toml" in proc.stderr
    assert "Traceback" not in proc.stderr
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    proc = _run("allocate", str(bad), "--rules", str(CASE / "rules.toml"), "--out", str(tmp_path / "r.json"))
    assert proc.returncode == 2 and "not valid JSON" in proc.stderr
