"""Company-scale benchmark: every pipeline stage, end to end, and the machine's floor.

    python bench/run.py --sizes S,M          # or: make bench
    python bench/run.py --sizes XS           # a smoke run in seconds (make bench-smoke)
    python bench/run.py --sizes S,M,L --repeat 3

For each size it

1. generates a synthetic company with `incentive synth` (input.json and rules.toml, under
   --work, default bench/data/SIZE; kept and reused while the synth arguments match);
2. runs the pipeline stage by stage in a fresh Python process and records each stage's
   wall time, CPU time and peak RSS: parse+validate, events/pools, ideal split, caps,
   rounding, writing the result (the document, then its bytes to a file);
3. runs `incentive allocate` end to end as a subprocess (wall, CPU, peak RSS);
4. measures the floor in a subprocess of its own: parse the same input file with orjson
   and sum fte x overlap-days (with the period) per (person, project, role) line in plain
   numpy -- the least any program must do with this input;
5. reports end to end / floor (wall and CPU), and checks the targets of issue 4.

Output: a Markdown table on stdout and JSON in bench/results/latest.json (--json PATH to
change). Peak RSS of a stage is the process's peak during that stage (Linux: the
high-water mark is reset before each stage through /proc/self/clear_refs; elsewhere it is
the running peak). Times are wall-clock seconds unless marked CPU; with --repeat N every
measurement is taken N times and the fastest kept. On a busy machine wall times stretch
while CPU times move much less: compare the CPU ratio too.

`--no-period-caps` drops the person period caps from the generated rule set (the caps
then couple no projects), to measure everything else while the cap optimizer is slow.
`--time-limit S` (default 900) stops any one measured run after S seconds; that size is then
reported as not finished (with what was running) instead of the benchmark hanging: with
the synthetic period caps, M's caps stage does not finish (BENCHMARKS.md).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "latest.json"

# name: (people, projects, records per project, seed)
SIZES: dict[str, tuple[int, int, int, int]] = {
    "XS": (60, 30, 20, 1),
    "S": (1_000, 500, 100, 1),
    "M": (10_000, 5_000, 200, 1),
    "L": (50_000, 20_000, 250, 1),
}
STAGES = ("parse_validate", "events_pools", "ideal_split", "caps", "rounding", "write_result")
TARGETS = {  # issue 4
    "M": {"ratio_max": 3.0, "rss_max_mb": 1500.0, "caps_max_s": 1.0},
    "L": {"e2e_max_s": 30.0},
}


# ----------------------------------------------------------------------------------------
# measuring a subprocess


def run_measured(cmd: list[str], cwd: Path | None = None, time_limit: float | None = None) -> dict[str, Any]:
    """Run a command; its wall time, CPU time (user + sys) and peak RSS (of it and anything
    it waited for), its exit code and output. Past `time_limit` seconds it is killed and the
    result says `timed_out`."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    # read output on the side so a chatty child cannot block on a full pipe
    import threading

    out: dict[str, bytes] = {}

    def drain(name: str, stream: Any) -> None:
        out[name] = stream.read()

    threads = [threading.Thread(target=drain, args=(k, s)) for k, s in (("out", proc.stdout), ("err", proc.stderr))]
    for t in threads:
        t.start()
    killed = threading.Event()

    def kill() -> None:
        killed.set()
        proc.kill()

    timer = threading.Timer(time_limit, kill) if time_limit else None
    if timer:
        timer.start()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    if timer:
        timer.cancel()
    for t in threads:
        t.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    return {
        "wall_s": wall,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "peak_rss_mb": _maxrss_mb(usage.ru_maxrss),
        "returncode": proc.returncode,
        "timed_out": killed.is_set(),
        "stdout": out.get("out", b"").decode(errors="replace"),
        "stderr": out.get("err", b"").decode(errors="replace"),
    }


def _maxrss_mb(maxrss: int) -> float:
    return maxrss / (1024 * 1024) if sys.platform == "darwin" else maxrss / 1024  # bytes on macOS, KiB on Linux


def _check(result: dict[str, Any], what: str) -> dict[str, Any]:
    if result["returncode"] != 0:
        raise SystemExit(f"{what} failed (exit {result['returncode']}):\n{result['stderr'][-3000:]}")
    return result


# ----------------------------------------------------------------------------------------
# inside a child process: the stages, and the floor


class _Peak:
    """The process's peak RSS since the last reset (Linux), or since it started."""

    def __init__(self) -> None:
        self.resettable = False
        try:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")
            self.resettable = True
        except OSError:
            pass

    def reset(self) -> None:
        if self.resettable:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")

    def mb(self) -> float:
        try:
            with open("/proc/self/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1]) / 1024
        except OSError:
            pass
        import resource

        return _maxrss_mb(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def child_stages(input_path: str, rules_path: str, out_path: str) -> dict[str, Any]:
    """Run the pipeline stage by stage in this process (a fresh one); per stage: wall, CPU, peak RSS."""
    from incentive.loading import read_raw_input
    from incentive.model import read_input
    from incentive.pipeline import allocate
    from incentive.result import dumps
    from incentive.rules import load_ruleset

    peak = _Peak()
    stages: dict[str, dict[str, float]] = {}
    state: dict[str, Any] = {}

    def start(name: str) -> None:
        peak.reset()
        state.update(name=name, wall=time.perf_counter(), cpu=time.process_time())

    def stop() -> None:
        name = state.pop("name", None)
        if name is not None:
            stages[name] = {"wall_s": time.perf_counter() - state["wall"],
                             "cpu_s": time.process_time() - state["cpu"], "peak_rss_mb": peak.mb()}

    def hook(name: str) -> None:  # called as each pipeline stage starts: the previous one ends
        stop()
        start(name)

    start("parse_validate")
    rules = load_ruleset(rules_path)
    raw = read_raw_input(input_path)
    inp = read_input(raw, rules)
    del raw
    stop()
    alloc = allocate(inp, rules, hook=hook)
    stop()

    start("write_result")
    t0 = time.perf_counter()
    doc = alloc.document()
    t_doc = time.perf_counter() - t0
    Path(out_path).write_bytes(dumps(doc))
    stop()
    stages["write_result"]["document_s"] = t_doc
    stages["write_result"]["serialize_write_s"] = stages["write_result"]["wall_s"] - t_doc
    totals = doc["totals"]
    return {
        "stages": stages,
        "records": len(inp.contributions),
        "people": len(inp.people),
        "projects": len(inp.projects),
        "lines": totals["lines"],
        "solver": doc["solver"]["name"],
        "reconciles": totals["reconciles"],
        "peak_resettable": peak.resettable,
    }


def child_floor(input_path: str) -> dict[str, Any]:
    """The floor: parse the input with orjson, then one numpy pass summing fte x overlap-days
    (with the period) per (person, project, role) line."""
    import numpy as np
    import orjson

    t0 = time.perf_counter()
    with open(input_path, "rb") as f:
        doc = orjson.loads(f.read())
    recs = doc["contributions"]
    n = len(recs)
    start = np.array([r["start"] for r in recs], dtype="datetime64[D]").astype(np.int64)
    end = np.array([r["end"] for r in recs], dtype="datetime64[D]").astype(np.int64)
    fte = np.fromiter((r.get("fte", 1.0) for r in recs), dtype=np.float64, count=n)
    line_of: dict[tuple[str, str, str], int] = {}
    line = np.fromiter((line_of.setdefault((r["person_id"], r["project_id"], r["role"]), len(line_of))
                        for r in recs), dtype=np.int64, count=n)
    p0 = np.datetime64(doc["period"]["start"], "D").astype(np.int64)
    p1 = np.datetime64(doc["period"]["end"], "D").astype(np.int64)
    days = np.maximum(np.minimum(end, p1) - np.maximum(start, p0) + 1, 0)
    effort = np.bincount(line, fte * days, minlength=len(line_of))
    return {"work_s": time.perf_counter() - t0, "lines": len(line_of), "effort": float(effort.sum())}


# ----------------------------------------------------------------------------------------
# one size


def generate(size: str, work: Path, no_period_caps: bool) -> tuple[Path, Path, dict[str, Any]]:
    people, projects, rpp, seed = SIZES[size]
    folder = work / size
    args = ["--people", str(people), "--projects", str(projects), "--records-per-project", str(rpp),
            "--seed", str(seed)]
    marker = folder / "synth-args.json"
    inp, rules = folder / "input.json", folder / "rules.toml"
    info: dict[str, Any] = {"synth_args": args, "reused": False}
    if not (marker.exists() and json.loads(marker.read_text()) == args and inp.exists() and rules.exists()):
        folder.mkdir(parents=True, exist_ok=True)
        r = _check(run_measured([sys.executable, "-m", "incentive.cli", "synth", *args, "--out", str(folder)]),
                   f"incentive synth ({size})")
        marker.write_text(json.dumps(args))
        info["synth_s"] = r["wall_s"]
    else:
        info["reused"] = True
    info["input_mb"] = inp.stat().st_size / 1e6
    if no_period_caps:
        text = rules.read_text()
        stripped = re.sub(r"(?m)^\s*(person_period_max|person_period_salary_multiple)\s*=.*\n", "", text)
        rules = folder / "rules-no-period-caps.toml"
        rules.write_text(stripped)
    info["rules"] = str(rules)
    return inp, rules, info


class _TimedOut(Exception):
    pass


def measure(size: str, work: Path, repeat: int, no_period_caps: bool, time_limit: float | None = None
            ) -> dict[str, Any]:
    inp, rules, info = generate(size, work, no_period_caps)
    me = [sys.executable, str(Path(__file__).resolve())]
    best: dict[str, Any] = {}
    try:
        return _measure(size, work, repeat, inp, rules, info, me, best, time_limit)
    except _TimedOut as exc:
        people, projects, rpp, seed = SIZES[size]
        what = str(exc)
        report: dict[str, Any] = {
            "size": size, "people": people, "projects": projects, "records_per_project": rpp, "seed": seed,
            "input": info, "did_not_finish": {"what": what, "time_limit_s": time_limit},
            "floor": best.get("floor"),
        }
        report["targets"] = [{"target": f"{size} finishes ({what})", "value": time_limit, "met": False}]
        return report


def _measure(size: str, work: Path, repeat: int, inp: Path, rules: Path, info: dict[str, Any], me: list[str],
             best: dict[str, Any], time_limit: float | None) -> dict[str, Any]:
    def timed(cmd: list[str], what: str) -> dict[str, Any]:
        result = run_measured(cmd, time_limit=time_limit)
        if result["timed_out"]:
            raise _TimedOut(what)
        result.pop("timed_out")
        return _check(result, what)

    def keep_best(key: str, result: dict[str, Any]) -> None:
        if key not in best or result["wall_s"] < best[key]["wall_s"]:
            best[key] = result

    out = work / size / "result.json"
    for _ in range(repeat):
        floor = timed([*me, "--_floor", str(inp)], f"floor ({size})")
        floor.update(json.loads(floor.pop("stdout")))
        keep_best("floor", floor)
        e2e = timed([sys.executable, "-m", "incentive.cli", "allocate", str(inp), "--rules", str(rules),
                     "--out", str(out), "--quiet"], f"incentive allocate ({size})")
        e2e.pop("stdout")
        keep_best("e2e", e2e)
        st = timed([*me, "--_stages", str(inp), str(rules), str(work / size / "result-stages.json")],
                   f"stages ({size})")
        st.update(json.loads(st.pop("stdout")))
        keep_best("stages", st)
    for r in best.values():
        r.pop("stderr", None)
        r.pop("returncode", None)
    same = out.read_bytes() == (work / size / "result-stages.json").read_bytes()
    floor, e2e, st = best["floor"], best["e2e"], best["stages"]
    people, projects, rpp, seed = SIZES[size]
    report = {
        "size": size,
        "people": people,
        "projects": projects,
        "records_per_project": rpp,
        "seed": seed,
        "input": info,
        "records": st["records"],
        "lines": st["lines"],
        "solver": st["solver"],
        "reconciles": st["reconciles"],
        "stages": {k: st["stages"][k] for k in STAGES},
        "stages_process": {k: st[k] for k in ("wall_s", "cpu_s", "peak_rss_mb")},
        "peak_rss_per_stage": st["peak_resettable"],
        "end_to_end": e2e,
        "end_to_end_same_bytes_as_stages": same,
        "floor": floor,
        "ratio_wall": e2e["wall_s"] / floor["wall_s"] if floor["wall_s"] > 0 else math.inf,
        "ratio_cpu": e2e["cpu_s"] / floor["cpu_s"] if floor["cpu_s"] > 0 else math.inf,
    }
    report["targets"] = _targets(size, report)
    return report


def _targets(size: str, r: dict[str, Any]) -> list[dict[str, Any]]:
    t = TARGETS.get(size, {})
    out = []
    if "ratio_max" in t:
        out.append({"target": f"end to end <= {t['ratio_max']:g}x floor (wall)", "value": r["ratio_wall"],
                    "met": r["ratio_wall"] <= t["ratio_max"]})
    if "rss_max_mb" in t:
        rss = r["end_to_end"]["peak_rss_mb"]
        out.append({"target": f"peak RSS <= {t['rss_max_mb']:g} MB", "value": rss, "met": rss <= t["rss_max_mb"]})
    if "caps_max_s" in t:
        caps = r["stages"]["caps"]["wall_s"]
        out.append({"target": f"caps stage <= {t['caps_max_s']:g} s", "value": caps, "met": caps <= t["caps_max_s"]})
    if "e2e_max_s" in t:
        w = r["end_to_end"]["wall_s"]
        out.append({"target": f"end to end <= {t['e2e_max_s']:g} s", "value": w, "met": w <= t["e2e_max_s"]})
    return out


# ----------------------------------------------------------------------------------------
# reporting


def machine() -> dict[str, Any]:
    info: dict[str, Any] = {
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "python": platform.python_version(),
    }
    try:
        with open("/proc/meminfo") as f:
            info["memory_gb"] = round(int(f.readline().split()[1]) / 1024 / 1024, 1)
        with open("/proc/cpuinfo") as f:
            names = [ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")]
        if names:
            info["processor"] = names[0]
    except OSError:
        pass
    if hasattr(os, "getloadavg"):
        info["load_average"] = [round(x, 2) for x in os.getloadavg()]
    try:
        info["git_commit"] = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                            text=True, check=False).stdout.strip() or None
    except OSError:
        info["git_commit"] = None
    return info


def markdown(results: list[dict[str, Any]], meta: dict[str, Any]) -> str:
    m = meta["machine"]
    lines = [
        f"Benchmark {meta['date']} -- `{meta['command']}`",
        f"Machine: {m.get('cores')} cores, {m.get('memory_gb', '?')} GB, {m.get('processor')}, "
        f"Python {m.get('python')}, load average at start {m.get('load_average')}",
        "",
    ]
    for r in results:
        if "did_not_finish" in r:
            dnf = r["did_not_finish"]
            lines += [f"### {r['size']}: {r['people']:,} people, {r['projects']:,} projects "
                      f"({r['input']['input_mb']:.0f} MB): **did not finish** -- {dnf['what']} stopped after "
                      f"{dnf['time_limit_s']:g} s (--time-limit)", ""]
            for t in r["targets"]:
                lines.append(f"- target {t['target']}: MISSED")
            lines.append("")
            continue
        lines += [
            f"### {r['size']}: {r['people']:,} people, {r['projects']:,} projects, {r['records']:,} records "
            f"({r['input']['input_mb']:.0f} MB), {r['lines']:,} lines, solver {r['solver']}",
            "",
            "| stage | wall s | CPU s | peak RSS MB |",
            "|---|---:|---:|---:|",
        ]
        for k in STAGES:
            s = r["stages"][k]
            lines.append(f"| {k} | {s['wall_s']:.2f} | {s['cpu_s']:.2f} | {s['peak_rss_mb']:.0f} |")
        e, f = r["end_to_end"], r["floor"]
        lines += [
            f"| **end to end** (`incentive allocate`) | **{e['wall_s']:.2f}** | {e['cpu_s']:.2f} | "
            f"{e['peak_rss_mb']:.0f} |",
            f"| floor (orjson + numpy pass) | {f['wall_s']:.2f} | {f['cpu_s']:.2f} | {f['peak_rss_mb']:.0f} |",
            f"| **ratio to floor** | **{r['ratio_wall']:.2f}x** | {r['ratio_cpu']:.2f}x | |",
            "",
        ]
        for t in r["targets"]:
            lines.append(f"- target {t['target']}: {t['value']:.2f} -- {'met' if t['met'] else 'MISSED'}")
        if r["targets"]:
            lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="S,M", help="comma-separated, from " + ", ".join(SIZES) + " (default S,M)")
    ap.add_argument("--repeat", type=int, default=1, help="take every measurement N times, keep the fastest")
    ap.add_argument("--work", default=str(ROOT / "bench" / "data"), help="where generated inputs are kept")
    ap.add_argument("--json", default=str(RESULTS), help="where to write the JSON results")
    ap.add_argument("--no-period-caps", action="store_true", help="drop person period caps from the rule set")
    ap.add_argument("--time-limit", type=float, default=900.0,
                    help="seconds any one measured run may take before it is stopped and the size reported as "
                         "not finished (default 900; 0 for none)")
    ap.add_argument("--_stages", nargs=3, help=argparse.SUPPRESS)
    ap.add_argument("--_floor", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args._stages:
        print(json.dumps(child_stages(*args._stages)))
        return 0
    if args._floor:
        print(json.dumps(child_floor(args._floor)))
        return 0

    sizes = [s.strip().upper() for s in args.sizes.split(",") if s.strip()]
    unknown = [s for s in sizes if s not in SIZES]
    if unknown:
        ap.error(f"unknown size(s) {', '.join(unknown)}; choose from {', '.join(SIZES)}")
    meta = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": "python bench/run.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "machine": machine(),
        "repeat": args.repeat,
        "no_period_caps": args.no_period_caps,
    }
    results = []
    for size in sizes:
        print(f"[bench] {size} ...", file=sys.stderr, flush=True)
        results.append(measure(size, Path(args.work), max(args.repeat, 1), args.no_period_caps,
                               args.time_limit or None))
    print(markdown(results, meta))
    path = Path(args.json)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({**meta, "results": results}, indent=2) + "\n")
    print(f"\n(JSON: {path})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
