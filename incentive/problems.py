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
