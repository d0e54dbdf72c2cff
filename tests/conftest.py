"""Shared test configuration: where the worked cases live, and the hypothesis profile."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("INCENTIVE_SHARED", ROOT.parent / "shared"))
CASES = SHARED / "cases"

# In CI the examples are derandomized (the same every run: a red build is reproducible, never
# a coin toss); locally they vary from run to run, finding new cases.
settings.register_profile("ci", deadline=None, print_blob=True, derandomize=True, database=None)
settings.register_profile("dev", deadline=None, print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") == "true" else "dev")


@pytest.fixture(scope="session")
def cases_dir() -> Path:
    if not CASES.is_dir():
        pytest.fail(f"the worked cases are not at {CASES} (set INCENTIVE_SHARED to the shared/ folder)")
    return CASES
