"""Errors as data: every problem found in an input or a rule set, with where it is.

A validation pass collects `Problem` records instead of raising at the first one, so a
user sees everything that is wrong at once. `InputError` carries the whole list; the CLI
prints it and exits 2, the API returns it as a 422 JSON body.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with an input or rule set.

    `path` names the record, field or rule key at fault (for example
    ``contributions[k78].end`` or ``roles``); `message` says what is wrong in words
    that repeat the ids involved.
    """

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "message": self.message}


class InputError(Exception):
    """The input or the rule set cannot be used; `problems` lists every reason."""

    def __init__(self, problems: Iterable[Problem], what: str = "input") -> None:
        self.problems: list[Problem] = list(problems)
        self.what = what
        super().__init__(self.render())

    def render(self) -> str:
        head = f"{len(self.problems)} problem(s) in the {self.what}:"
        return "\n".join([head, *(f"  - {p}" for p in self.problems)])

    def as_list(self) -> list[dict[str, str]]:
        return [p.as_dict() for p in self.problems]


MAX_PROBLEMS = 500


class ProblemCollector:
    """Collects problems while a whole input is checked: up to `limit` listed, the rest counted."""

    def __init__(self, limit: int = MAX_PROBLEMS) -> None:
        self.items: list[Problem] = []
        self.dropped = 0
        self.limit = limit

    def add(self, path: str, message: str) -> None:
        if len(self.items) < self.limit:
            self.items.append(Problem(path, message))
        else:
            self.dropped += 1

    def final(self) -> list[Problem]:
        """Everything found, with a last line counting what was not listed."""
        out = list(self.items)
        if self.dropped:
            out.append(Problem("(input)", f"... and {self.dropped} more problem(s) not listed"))
        return out

    def raise_if_any(self) -> None:
        if self.items:
            raise InputError(self.final())
