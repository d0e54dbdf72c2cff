"""Soak the cap optimum by levels against the decomposed LP path on random instances.

    .venv/bin/python bench/levels_soak.py 1000 1500     # seeds [1000, 1500), both families

For every seed it builds the small and the wide reference instance of
tests/test_optimizer_reference.py, solves it with method "fast" and, where the levels gave a
proven answer, with method "decompose", and compares the amounts as the reference tests do
(`assert_same_x`: 1e-6 relative, 1e-6 of the largest ideal absolute). Prints how many were
solved by levels and every mismatch; exits 1 if there is one. Not part of the test suite (a
few minutes for a thousand seeds); the suite runs the same comparison on its 208 fixed
instances.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from incentive.caps import solve_caps
from tests.test_optimizer_reference import assert_same_x, make_instance, make_wide


def main(lo: int, hi: int) -> int:
    seen: Counter[str] = Counter()
    bad: list[str] = []
    for seed in range(lo, hi):
        for maker in (make_instance, make_wide):
            p = maker(seed)
            fast = solve_caps(p, method="fast")
            if not fast.stats.get("levels"):
                seen["not by levels"] += 1
                continue
            seen["by levels"] += 1
            ref = solve_caps(p, method="decompose")
            try:
                assert_same_x(p, fast.x, ref.x)
            except AssertionError:
                bad.append(f"{maker.__name__}({seed}): largest difference {np.abs(fast.x - ref.x).max():.3g}")
    print(dict(seen), "mismatches:", len(bad))
    for line in bad:
        print(" ", line)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]), int(sys.argv[2])))
