"""Helpers for the storage and API tests: the shared worked cases, auth headers, and where the
test PostgreSQL is (``INCENTIVE_TEST_POSTGRES_URL``, default
postgresql+psycopg://postgres@127.0.0.1:5432/test). When it is unreachable, PostgreSQL tests
skip locally and FAIL when CI=true."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
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


# --- a real `incentive serve` for the HTTP tests (smoke, browser) ---------------------------

CLI = [sys.executable, "-m", "incentive.cli"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def run_cli(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=60)


@contextmanager
def serving(env: dict[str, str], cwd: Path, log: Path, workers: int = 1) -> Iterator[str]:
    port = free_port()
    with log.open("ab") as sink:
        proc = subprocess.Popen([*CLI, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers",
                                 str(workers)], env=env, cwd=cwd, stdout=sink, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                pytest.fail(f"incentive serve exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"incentive serve did not become ready:\n{log.read_text()[-3000:]}")
            time.sleep(0.1)
        yield base
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
