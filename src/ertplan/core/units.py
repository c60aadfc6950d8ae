"""Parse what people type (``70 kg``, ``154lb``, ``60 U/kg``, ``2 weeks``) into plain floats.

pint is the authority on every conversion, through ertplan's small registry (``units.txt``).
Importing pint costs more than the rest of a ``prepare`` run, so what pint says about each unit
spelling is memoised in a :class:`UnitTable` (spelling -> dimensionality and factor to base units);
a shell may persist that table between runs. Only the number is parsed here; the unit is always
pint's answer.
"""

from __future__ import annotations

import math
import re
from collections.abc import MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from ertplan.core.errors import InputError

UNIT_DEFINITIONS: Final = Path(__file__).with_name("units.txt")


@dataclass(frozen=True)
class Kind:
    """A kind of quantity an input must be: its canonical unit and how to describe it."""

    name: str
    canonical_unit: str
    example: str


MASS: Final = Kind("a mass", "kg", "70 kg or 154 lb")
DOSE_PER_MASS: Final = Kind("enzyme units per kg", "U/kg", "60 U/kg")
DURATION: Final = Kind("a duration", "min", "60 min or 1.5 h")
INTERVAL: Final = Kind("a time interval", "day", "2 weeks or 14 d")
HALF_LIFE: Final = Kind("a duration", "min", "6 min")
VOLUME: Final = Kind("a volume", "L", "8.4 L")
VOLUME_PER_MASS: Final = Kind("a volume per kg", "L/kg", "0.12 L/kg")
BAG_VOLUME: Final = Kind("a volume", "mL", "200 mL")

# dimensionality as pint prints it, and the factor from one of the spelled unit to base units
UnitFact = tuple[str, float]
UnitTable = MutableMapping[str, UnitFact]

_NUMBER_THEN_UNIT: Final = re.compile(
    r"^\s*(?P<number>[-+]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][-+]?\d+)?)\s*(?P<unit>.*?)\s*$"
)

_registry: Any = None


def definitions_text() -> str:
    """The text of ertplan's pint definition file (shells hash it to key a persisted table)."""
    return UNIT_DEFINITIONS.read_text(encoding="utf-8")


def _pint_registry() -> Any:
    global _registry
    if _registry is None:
        import pint  # imported here: it is only needed for spellings not yet in the table

        _registry = pint.UnitRegistry(str(UNIT_DEFINITIONS), cache_folder=None)
    return _registry


def ask_pint(spelling: str) -> UnitFact:
    """Ask pint what `spelling` means: its dimensionality and its factor to base units.

    Raises ``ValueError`` when pint does not know the spelling.

    >>> ask_pint("lb")
    ('[mass]', 453.59237)
    """
    registry = _pint_registry()
    try:
        base = registry.Quantity(1.0, spelling).to_base_units()
    except Exception as error:  # pint raises several unrelated types for unknown spellings
        raise ValueError(f"unknown unit {spelling!r}") from error
    return str(base.dimensionality), float(base.magnitude)


def unit_fact(spelling: str, table: UnitTable) -> UnitFact:
    """What `spelling` means, from `table` or else from pint (and then remembered in `table`)."""
    fact = table.get(spelling)
    if fact is None:
        fact = ask_pint(spelling)
        table[spelling] = fact
    return fact


def parse_quantity(text: str, kind: Kind, field: str, table: UnitTable | None = None) -> float:
    """Parse `text` as a quantity of `kind` and return it in the kind's canonical unit.

    Refuses, with an :class:`InputError` naming `field`, anything that is not a finite positive
    number followed by a unit of the right kind. Range checks beyond "positive" are the caller's.

    >>> parse_quantity("154 lb", MASS, "weight")
    69.85322498
    >>> parse_quantity("1.5h", DURATION, "duration")
    90.0
    >>> parse_quantity("60 mg/kg", DOSE_PER_MASS, "dose")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ertplan.core.errors.InputError: dose: must be enzyme units per kg such as 60 U/kg (got ...)
    """
    memo: UnitTable = {} if table is None else table
    match = _NUMBER_THEN_UNIT.match(text)
    if match is None:
        raise InputError(field, f"must be a number with a unit, e.g. {kind.example}", text)
    number = float(_decimal_point(match["number"]))
    spelling = match["unit"]
    if not spelling:
        raise InputError(field, f"needs a unit, e.g. {kind.example}", text)
    if not math.isfinite(number):
        raise InputError(field, "must be a finite number", text)
    try:
        dimensionality, factor = unit_fact(spelling, memo)
    except ValueError:
        problem = f"has a unit ertplan does not know; use e.g. {kind.example}"
        raise InputError(field, problem, text) from None
    wanted_dimensionality, canonical_factor = unit_fact(kind.canonical_unit, memo)
    if dimensionality != wanted_dimensionality:
        raise InputError(field, f"must be {kind.name} such as {kind.example}", text)
    if number <= 0:
        raise InputError(field, "must be greater than zero", text)
    value = number * factor / canonical_factor
    if not math.isfinite(value):
        raise InputError(field, "is too large", text)
    return value


def _decimal_point(number: str) -> str:
    # "70,5 kg" is how much of Europe writes 70.5 kg
    return number.replace(",", ".")


def lab_unit_fact(spelling: str, table: UnitTable) -> UnitFact:
    """What a laboratory unit means, scale factors allowed: ``10^9/L``, ``/mm3``, ``x10^3/µL``.

    Raises ``ValueError`` when pint does not know the spelling.

    >>> lab_unit_fact("/mm3", {})[0], round(lab_unit_fact("10^9/L", {})[1] / 1e12, 6)
    ('1 / [length] ** 3', 1.0)
    """
    key = f"lab:{spelling}"
    fact = table.get(key)
    if fact is None:
        expression = _lab_spelling(spelling)
        registry = _pint_registry()
        try:
            base = registry.Quantity(registry.parse_expression(expression)).to_base_units()
        except Exception as error:  # pint raises several unrelated types for unknown spellings
            raise ValueError(f"unknown unit {spelling!r}") from error
        fact = (str(base.dimensionality), float(base.magnitude))
        table[key] = fact
    return fact


def _lab_spelling(spelling: str) -> str:
    # how labs write units -> pint's expression syntax: x10^9/L, ×10^9/L, /mm3, mm³
    text = spelling.strip().replace("×", "*").replace("³", "^3").replace("μ", "µ")
    text = re.sub(r"^[xX*]\s*(?=10)", "", text)
    text = re.sub(r"(?<=[A-Za-zµ])(\d)", r"^\1", text)  # mm3 -> mm^3
    return f"1{text}" if text.startswith("/") else text
