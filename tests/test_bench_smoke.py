"""A tiny run of the company-scale benchmark (bench/run.py, size XS): the harness works and
reports every stage, end to end, the floor and a finite ratio. The real benchmark is not
part of the suite (`make bench`)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STAGES = ("parse_validate", "events_pools", "ideal_split", "caps", "rounding", "write_result")


def test_bench_smoke_xs(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--sizes", "XS", "--work", str(tmp_path / "work"),
         "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "| **end to end**" in proc.stdout and "ratio to floor" in proc.stdout

    report = json.loads(out.read_text())
    assert report["machine"]["cores"]
    (xs,) = report["results"]
    assert xs["size"] == "XS" and xs["records"] > 0 and xs["lines"] > 0 and xs["reconciles"] is True
    for stage in STAGES:
        s = xs["stages"][stage]
        assert s["wall_s"] >= 0 and s["cpu_s"] >= 0 and s["peak_rss_mb"] > 0, stage
    for what in ("end_to_end", "floor"):
        assert xs[what]["wall_s"] > 0 and xs[what]["peak_rss_mb"] > 0, what
    assert math.isfinite(xs["ratio_wall"]) and xs["ratio_wall"] > 0
    assert math.isfinite(xs["ratio_cpu"]) and xs["ratio_cpu"] > 0
    assert xs["end_to_end_same_bytes_as_stages"] is True


def test_bench_reports_a_size_that_does_not_finish_instead_of_hanging(tmp_path: Path) -> None:
    """With --time-limit, a run that takes too long is stopped and reported as not finished
    (what was running, the limit, the target missed), and the benchmark still exits 0."""
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--sizes", "XS", "--work", str(tmp_path / "work"),
         "--json", str(out), "--time-limit", "0.01"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "**did not finish**" in proc.stdout and "stopped after 0.01 s" in proc.stdout
    (xs,) = json.loads(out.read_text())["results"]
    assert xs["did_not_finish"] == {"what": "floor (XS)", "time_limit_s": 0.01}
    assert [t["met"] for t in xs["targets"]] == [False]
