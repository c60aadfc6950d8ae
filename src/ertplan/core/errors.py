"""The one error family of ertplan; shells map it to exit code 2 or an HTTP 4xx in one place."""

from __future__ import annotations


class ErtplanError(Exception):
    """Root of every error ertplan raises on purpose."""


class InputError(ValueError, ErtplanError):
    """An input a person or a system gave cannot be planned with.

    `field` names the input (as the user knows it: ``weight``, ``dose``), `value` is what was given.
    ``str(error)`` is one line: ``weight: must be a mass such as 70 kg (got '70 m')``.
    """

    def __init__(self, field: str, problem: str, value: object = None) -> None:
        self.field = field
        self.problem = problem
        self.value = value
        shown = f" (got {value!r})" if value is not None else ""
        super().__init__(f"{field}: {problem}{shown}")


class MonographError(ErtplanError):
    """A monograph data file is missing or does not follow the schema; names the field path."""


class ConflictError(ErtplanError):
    """Inputs that are each valid but contradict one another (e.g. two frequencies)."""
