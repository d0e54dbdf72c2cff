"""Shared test configuration: where the worked cases live, and the hypothesis profile."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("INCENTIVE_SHARED", ROOT.parent / "shared"))
CASES = SHARED / "cases"

settings.register_profile("ci", deadline=None, print_blob=True)
settings.load_profile("ci")


@pytest.fixture(scope="session")
def cases_dir() -> Path:
    if not CASES.is_dir():
        pytest.fail(f"the worked cases are not at {CASES} (set INCENTIVE_SHARED to the shared/ folder)")
    return CASES
