"""What went wrong, and where: one `Problem` per finding, all findings of a load collected.

Every problem names the file, the line, the field (a path such as `services[0].slos[2].objective`,
or `SLO/search-slo.spec.objectives[0].target` for OpenSLO objects) and what would be valid, because a
catalogue author should be able to fix every mistake of a file in one pass, not one per run.

Two levels: an `error` refuses the object it is in (and makes `load_catalog` raise); a `note` says
that something was mapped with a stated substitution or not held by the model (e.g. an OpenSLO
Prometheus query replaced by an event match), so nothing is ever dropped silently.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field

ERROR = "error"
NOTE = "note"


@dataclass(frozen=True, slots=True)
class Problem:
    file: str
    line: int
    field: str
    message: str
    hint: str = ""  # what would be valid, e.g. "e.g. 99.9"
    level: str = ERROR

    @property
    def is_error(self) -> bool:
        return self.level == ERROR

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        level = "" if self.is_error else "note: "
        hint = f" ({self.hint})" if self.hint else ""
        return f"{where}: {self.field}: {level}{self.message}{hint}"


class CatalogError(Exception):
    """Raised by `load_catalog` when any file has an error; `.problems` holds all of them."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        errors = [p for p in problems if p.is_error]
        head = "\n".join(str(p) for p in errors[:20])
        more = f"\n... and {len(errors) - 20} more" if len(errors) > 20 else ""
        super().__init__(f"{len(errors)} catalogue error(s):\n{head}{more}")


@dataclass
class Report:
    """Collects problems while loading; loaders add to it and never raise for bad input."""

    problems: list[Problem] = field(default_factory=list)
    _counted: int = field(default=0, repr=False)  # problems[:_counted] are counted in _errors
    _errors: int = field(default=0, repr=False)

    def error(self, file: str, line: int, path: str, message: str, hint: str = "") -> None:
        self.problems.append(Problem(file, line, path, message, hint))

    def note(self, file: str, line: int, path: str, message: str, hint: str = "") -> None:
        self.problems.append(Problem(file, line, path, message, hint, NOTE))

    @property
    def error_count(self) -> int:
        """Errors so far. Loaders ask before and after every object, so only the problems added
        since the last call are counted (`problems` only grows while loading)."""
        self._errors += sum(1 for p in self.problems[self._counted:] if p.is_error)
        self._counted = len(self.problems)
        return self._errors


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """'did you mean X?' for a close match, else the list of valid choices."""
    choices = sorted(str(c) for c in choices)
    close = difflib.get_close_matches(str(word), choices, n=1, cutoff=0.6)
    if close:
        return f"did you mean {close[0]!r}?"
    return "valid: " + ", ".join(choices)


def sort_key(problem: Problem) -> tuple:
    return (problem.file, problem.line, problem.field, problem.message)
