"""Helpers for the browser tests (tests/test_ui_browser.py): the real service as a subprocess
(`incentive serve` on a free port with a temporary SQLite database, keys made with
`incentive keys create` against it) and Debian's Chromium driven by Playwright.

Chromium is never downloaded: Playwright launches /usr/bin/chromium (``apt-get install
chromium``; .ci/run installs it). When it or Playwright is missing the tests FAIL with the
reason, they do not skip.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.api_support import CLI, serving

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("INCENTIVE_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
@dataclass
class Service:
    base_url: str
    keys: dict[str, str]
    log: Path

    def headers(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[role]}"}


def create_key(env: dict[str, str], cwd: Path, role: str) -> str:
    made = subprocess.run([*CLI, "keys", "create", "--role", role, "--name", f"ui-test-{role}"], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=60)
    if made.returncode != 0:
        pytest.fail(f"incentive keys create --role {role} failed:\n{made.stderr}")
    return made.stdout.strip().splitlines()[-1].split()[-1]


@contextmanager
def service(folder: Path, roles: tuple[str, ...] = ("hr", "manager")) -> Iterator[Service]:
    """`incentive serve` on a free port with a SQLite database in `folder`, and a key per role."""
    env = {**os.environ, "INCENTIVE_DATABASE_URL": f"sqlite:///{folder / 'ui.db'}", "INCENTIVE_LOG_LEVEL": "warning",
           "INCENTIVE_SQLITE_SYNCHRONOUS": "NORMAL"}
    env.pop("INCENTIVE_AUTO_MIGRATE", None)
    keys = {role: create_key(env, folder, role) for role in roles}
    log = folder / "serve.log"
    with serving(env, folder, log) as base:
        yield Service(base, keys, log)


def chromium_problem() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if not (Path(CHROMIUM).is_file() or shutil.which(CHROMIUM)):
        return f"{CHROMIUM} is missing (Debian: apt-get install -y chromium; .ci/run does this)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as exc:
        return f"Playwright for Python is not installed ({exc}); pip install -e '.[test]'"
    return None


def screenshot_dir(tmp: Path) -> Path:
    """Where screenshots go: docs/screenshots/ when INCENTIVE_UI_SCREENSHOTS=docs (to refresh the
    documentation), else a temporary folder (they are still taken, so their views are exercised)."""
    target = os.environ.get("INCENTIVE_UI_SCREENSHOTS", "")
    if target == "docs":
        folder = ROOT / "docs" / "screenshots"
    elif target:
        folder = Path(target)
    else:
        folder = tmp / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder
