"""Helpers for the storage and API tests: the shared worked cases, auth headers, and where the
test PostgreSQL is (``INCENTIVE_TEST_POSTGRES_URL``, default
postgresql+psycopg://postgres@127.0.0.1:5432/test). When it is unreachable, PostgreSQL tests
skip locally and FAIL when CI=true."""

from __future__ import annotations

import json
import os
import tomllib
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
SHARED_CASES = ROOT.parent / "shared" / "cases"
PG_URL = os.environ.get("INCENTIVE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
BACKENDS = ("sqlite", "postgresql")


@cache
def postgres_unavailable() -> str | None:
    """Why PostgreSQL cannot be used, or None when it can."""
    try:
        engine = create_engine(PG_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:  # any failure to connect is a reason
        return f"PostgreSQL at {make_url(PG_URL).render_as_string(hide_password=True)} is not reachable: " \
               f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    return None


def require_postgres() -> None:
    reason = postgres_unavailable()
    if reason is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true and {reason} (.ci/run must start PostgreSQL)")
    pytest.skip(reason)


def sqlite_url(folder: Path) -> str:
    return f"sqlite:///{folder / 'incentive.db'}"


def auth(secret: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}", **extra}


def _plain(value: Any) -> Any:
    """TOML/JSON data with Decimals as decimal strings (JSON-able for a test client)."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def shared_case(name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(input, rule-set object) of a worked case in ../shared/cases."""
    folder = SHARED_CASES / name
    if not folder.is_dir():
        pytest.fail(f"shared case {folder} is missing")
    inp = json.loads((folder / "input.json").read_text())
    rules = _plain(tomllib.loads((folder / "rules.toml").read_text(), parse_float=Decimal))
    return inp, rules


def expected(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((SHARED_CASES / name / "expected.json").read_text())
    return data


def quoted(s: str) -> str:
    return quote(s, safe="")
