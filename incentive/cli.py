"""The `incentive` command line.

    incentive allocate INPUT --rules RULES --out RESULT.json [--payroll-csv FILE]
    incentive validate INPUT --rules RULES
    incentive explain RESULT.json --person ID [--json]
    incentive demo [--out DIR] [--json]
    incentive synth ...        (synthetic company generator)
    incentive serve ...        (the HTTP service)
    incentive keys ...         (API keys)

Exit 0 on success, 2 on bad input or rules (every problem on stderr, never a traceback),
1 on any other failure.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from .problems import InputError

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_INPUT = ROOT / "examples" / "company" / "input.json"
EXAMPLE_RULES = ROOT / "rules" / "ltc-default.toml"
STAGES = ("load", "validate", "events_pools", "ideal_split", "caps", "rounding", "write")


class _Progress:
    """A one-line progress bar over the pipeline's stages, on a terminal only.

    It appears once a run has taken `INCENTIVE_PROGRESS_DELAY` seconds (default 1), so quick
    runs stay silent, and it is erased when the run ends. Not on a terminal: nothing.
    """

    WIDTH = 20

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.delay = float(os.environ.get("INCENTIVE_PROGRESS_DELAY", "1.0"))
        self.t0 = time.perf_counter()
        self.done = 0
        self.shown = False

    def stage(self, name: str) -> None:
        if not self.enabled:
            return
        if name != STAGES[0]:
            self.done += 1
        elapsed = time.perf_counter() - self.t0
        if elapsed < self.delay and not self.shown:
            return
        filled = self.WIDTH * self.done // len(STAGES)
        bar = "#" * filled + "-" * (self.WIDTH - filled)
        sys.stderr.write(f"\rallocate: [{bar}] {self.done}/{len(STAGES)} stages, {elapsed:5.1f} s: {name:<12}")
        sys.stderr.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown:
            sys.stderr.write("\r" + " " * 79 + "\r")
            sys.stderr.flush()


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


def run_allocate(input_path: str, rules_ref: str, method: str = "fast",
                 hook: Callable[[str], None] | None = None) -> tuple[dict[str, Any], dict[str, float]]:
    """Load, validate, allocate; return the result document and the stage timings."""
    from .loading import read_raw_input
    from .model import read_input
    from .pipeline import allocate
    from .rules import load_ruleset

    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    if hook:
        hook("load")
    problems = []
    rules = None
    try:
        rules = load_ruleset(rules_ref)
    except InputError as exc:
        problems += exc.problems
    try:
        raw = read_raw_input(input_path)
    except InputError as exc:
        problems += exc.problems
        raw = None
    if problems or rules is None:
        raise InputError(problems, "input and rule set")
    timings["load"] = time.perf_counter() - t0
    if hook:
        hook("validate")
    t0 = time.perf_counter()
    inp = read_input(raw, rules)
    del raw
    timings["validate"] = time.perf_counter() - t0
    alloc = allocate(inp, rules, method=method, hook=hook)
    timings.update(alloc.timings)
    t0 = time.perf_counter()
    doc = alloc.document()
    timings["document"] = time.perf_counter() - t0
    return doc, timings


def cmd_allocate(args: argparse.Namespace) -> int:
    from .payroll import payroll_csv
    from .result import dumps

    progress = _Progress(sys.stderr.isatty() and not args.quiet)
    try:
        doc, timings = run_allocate(args.input, args.rules, method=args.method, hook=progress.stage)
        progress.stage("write")
        t0 = time.perf_counter()
        _write(Path(args.out), dumps(doc))
        if args.payroll_csv:
            _write(Path(args.payroll_csv), payroll_csv(doc).encode())
        timings["write"] = time.perf_counter() - t0
    finally:
        progress.close()
    summary = {
        "out": args.out,
        "period": doc["period"]["id"],
        "totals": doc["totals"],
        "solver": doc["solver"]["name"],
        "timings_s": {k: round(v, 4) for k, v in timings.items()},
    }
    if args.json:
        print(json.dumps(summary, indent=2))
    elif not args.quiet:
        t = doc["totals"]
        print(f"{doc['period']['id']}: pools {t['pools']}, paid {t['paid']}, forfeited {t['forfeited']} "
              f"({t['lines']} lines, {t['people']} people); solver {doc['solver']['name']}; wrote {args.out}")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from .loading import load

    inp, rules = load(args.input, args.rules)
    info = {"valid": True, "period": inp.period.id, "people": len(inp.people), "projects": len(inp.projects),
            "contributions": len(inp.contributions), "input_sha256": inp.sha256, "ruleset_sha256": rules.sha256}
    if args.json:
        print(json.dumps(info, indent=2))
    else:
        print(f"valid: period {inp.period.id}, {info['people']} people, {info['projects']} projects, "
              f"{info['contributions']} contribution records (input sha256 {inp.sha256[:12]}, "
              f"rule set {rules.ruleset.id} v{rules.ruleset.version})")
    return 0


def cmd_explain(args: argparse.Namespace) -> int:
    from .explain import UnknownPerson, statement_data, statement_text
    from .loading import parse_json_bytes

    try:
        doc = parse_json_bytes(Path(args.result).read_bytes(), args.result)
    except OSError as exc:
        print(f"error: cannot read {args.result}: {exc.strerror}", file=sys.stderr)
        return 2
    if not isinstance(doc, dict) or "lines" not in doc or "people" not in doc:
        print(f"error: {args.result} is not a result document (no lines/people)", file=sys.stderr)
        return 2
    try:
        if args.json:
            print(json.dumps(statement_data(doc, args.person), indent=2, default=str))
        else:
            sys.stdout.write(statement_text(doc, args.person))
    except UnknownPerson:
        print(f"error: person {args.person!r} has no line in {args.result}", file=sys.stderr)
        return 2
    return 0


def _table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    def fmt(r: list[str]) -> str:
        cells = enumerate(zip(r, widths, strict=True))
        return "  ".join(str(c).rjust(w) if k > 0 else str(c).ljust(w) for k, (c, w) in cells)
    return "\n".join([fmt(header), fmt(["-" * w for w in widths]), *(fmt(r) for r in rows)])


def cmd_demo(args: argparse.Namespace) -> int:
    from .result import dumps

    t0 = time.perf_counter()
    doc, _timings = run_allocate(str(EXAMPLE_INPUT), str(EXAMPLE_RULES))
    out_dir = Path(args.out)
    result_path = out_dir / "demo-result.json"
    _write(result_path, dumps(doc))
    from .payroll import payroll_csv

    _write(out_dir / "demo-payroll.csv", payroll_csv(doc).encode())
    elapsed = time.perf_counter() - t0
    if args.json:
        print(json.dumps({"result": str(result_path), "totals": doc["totals"], "seconds": round(elapsed, 3),
                          "projects": [{k: p[k] for k in ("project_id", "pool", "paid", "forfeited_total")}
                                       for p in doc["projects"]]}, indent=2))
        return 0
    t = doc["totals"]
    print(f"Example company, period {doc['period']['id']} ({doc['period']['start']} to {doc['period']['end']}), "
          f"rule set {doc['ruleset']['id']} v{doc['ruleset']['version']}\n")
    rows = [[p["project_id"], p.get("name") or "", p["pool"], p["paid"], p["forfeited_total"],
             ", ".join(f"{f['reason']} {f['amount']}" for f in p["forfeited"])]
            for p in doc["projects"] if Decimal(p["pool"]) > 0]
    print(_table(rows, ["project", "name", "pool", "paid", "forfeited", "forfeit reasons"]))
    print()
    top = sorted(doc["people"], key=lambda p: -Decimal(p["total"]))[:10]
    capped = sum(1 for ln in doc["lines"] if any(b.startswith(("person_", "budget")) for b in ln["binding"]))
    print(_table([[p["person_id"], p.get("name") or "", p.get("cost_center") or "", p["total"], p["cap"] or "-"]
                  for p in top], ["person", "name", "cost center", "total", "cap"]))
    print(f"\nTotals: pools {t['pools']} = paid {t['paid']} + forfeited {t['forfeited']} "
          f"(reconciles: {t['reconciles']}); {t['lines']} lines, {t['people']} people, "
          f"{capped} lines held by a cap; solver {doc['solver']['name']}.")
    print(f"Wrote {result_path} and {out_dir / 'demo-payroll.csv'} in {elapsed:.2f} s.")
    print(f"Explain one: incentive explain {result_path} --person {top[0]['person_id'] if top else 'ID'}")
    return 0


def _lazy(module: str, func: str) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        import importlib

        fn: Callable[[argparse.Namespace], int] = getattr(importlib.import_module(module), func)
        return fn(args)

    return run


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="incentive", description="Project bonus allocation for LTC iron-triangle teams.")
    sub = ap.add_subparsers(dest="command", required=True)

    a = sub.add_parser("allocate", help="compute the allocation of a period input")
    a.add_argument("input", help="period input: a JSON file, a folder of CSV tables, or an .xlsx workbook")
    a.add_argument("--rules", required=True, help="rule-set TOML file, or the id of one under rules/")
    a.add_argument("--out", required=True, help="where to write the result document (JSON)")
    a.add_argument("--payroll-csv", help="also write the payroll file (CSV) here")
    a.add_argument("--method", choices=("fast", "decompose", "pulp"), default="fast",
                   help="cap optimizer: levels, else the decomposed LP path (default); the decomposed "
                        "path alone; or one plain PuLP model")
    a.add_argument("--json", action="store_true", help="print a machine-readable summary")
    a.add_argument("--quiet", action="store_true", help="print nothing on success")
    a.set_defaults(func=cmd_allocate)

    v = sub.add_parser("validate", help="validate an input against a rule set, computing nothing")
    v.add_argument("input")
    v.add_argument("--rules", required=True)
    v.add_argument("--json", action="store_true")
    v.set_defaults(func=cmd_validate)

    e = sub.add_parser("explain", help="a readable statement for one person from a result document")
    e.add_argument("result")
    e.add_argument("--person", required=True)
    e.add_argument("--json", action="store_true", help="the statement as structured JSON")
    e.set_defaults(func=cmd_explain)

    d = sub.add_parser("demo", help="run the bundled example company and print a summary")
    d.add_argument("--out", default="out", help="folder for the result and payroll files (default: out)")
    d.add_argument("--json", action="store_true")
    d.set_defaults(func=cmd_demo)

    s = sub.add_parser("synth", help="write a synthetic company period input and rule set")
    s.add_argument("--people", type=int, default=1000)
    s.add_argument("--projects", type=int, default=500)
    s.add_argument("--records-per-project", type=int, default=100)
    s.add_argument("--seed", type=int, default=1)
    s.add_argument("--out", required=True)
    s.set_defaults(func=_lazy("incentive.synth", "cmd_synth"))

    sv = sub.add_parser("serve", help="run the HTTP service")
    sv.add_argument("--host", default="127.0.0.1")
    sv.add_argument("--port", type=int, default=8000)
    sv.add_argument("--workers", type=int, default=1)
    sv.set_defaults(func=_lazy("api.commands", "cmd_serve"))

    k = sub.add_parser("keys", help="manage API keys")
    ksub = k.add_subparsers(dest="keys_command", required=True)
    kc = ksub.add_parser("create", help="create a key (printed once)")
    kc.add_argument("--role", required=True, choices=("hr", "manager", "payroll"))
    kc.add_argument("--name")
    kl = ksub.add_parser("list", help="list keys (never the secrets)")
    kl.add_argument("--json", action="store_true")
    kr = ksub.add_parser("revoke", help="revoke a key")
    kr.add_argument("key_id")
    k.set_defaults(func=_lazy("api.commands", "cmd_keys"))
    return ap


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except InputError as exc:
        print(exc.render(), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # never a traceback for the user; say what failed
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
