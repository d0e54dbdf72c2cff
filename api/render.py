"""The printable HTML statement (Jinja2, autoescaped)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

TEMPLATES = Path(__file__).resolve().parent / "templates"


@cache
def _env() -> Environment:
    return Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                       trim_blocks=True, lstrip_blocks=True)


def render_statement(data: dict[str, Any], run_id: str) -> str:
    """A person's statement (`incentive.explain.statement_data`) as a printable HTML page."""
    return _env().get_template("statement.html").render(st=data, run_id=run_id)
