"""The patient as ertplan's safety and monitoring rules see them, and the patient file's loader.

A patient file is TOML or JSON with the keys of :class:`Patient` (schema in the README); the same
model is meant for the records store. Everything is optional except what a rule needs: a rule that
lacks its data says so (``not_checked``) instead of guessing. Parsing is pure and takes `today` as
a parameter; :func:`read_patient_file` is the one function here that touches the file system.
"""

from __future__ import annotations

import calendar
import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import date, datetime
from pathlib import Path
from typing import Any, Final, Literal

from ertplan.core.errors import InputError

Sex = Literal["female", "male"]
AntibodyStatus = Literal["positive", "negative", "unknown"]

# the five manifestations of the labelled indication, in ertplan's spelling
MANIFESTATIONS: Final = ("anaemia", "thrombocytopenia", "bone-disease", "hepatomegaly",
                         "splenomegaly")
# other spellings people type (US English and loose forms) -> ertplan's term
_SPELLINGS: Final = {
    "anemia": "anaemia", "dyspnea": "dyspnoea", "cough": "coughing",
    "bone": "bone-disease", "hemoglobin": "haemoglobin",
}
# a sanity bound on typed ages (a typing error, not a clinical limit)
_OLDEST_AGE_YEARS: Final = 150


@dataclass(frozen=True, kw_only=True)
class Patient:
    """What screening and monitoring need to know about one patient. All fields are optional.

    `age_years` is used only when `birth_date` is absent. `gaucher_type` None means unknown.
    """

    id: str | None = None
    birth_date: date | None = None
    age_years: float | None = None
    sex: Sex | None = None
    weight_kg: float | None = None
    gaucher_type: int | None = None
    manifestations: tuple[str, ...] = ()
    splenectomy: bool = False
    pregnant: bool = False
    breastfeeding: bool = False
    hypersensitivity_history: bool = False
    prior_alglucerase_reaction: bool = False
    antibody_status: AntibodyStatus = "unknown"
    antibody_tested_on: date | None = None
    respiratory_symptoms: bool = False
    fever: bool = False
    therapy_start: date | None = None

    def age_on(self, day: date) -> float | None:
        """Age in years on `day` (from the birth date, else the age given), or None if unknown.

        >>> Patient(birth_date=date(2024, 11, 28)).age_on(date(2026, 11, 27)) < 2
        True
        """
        if self.birth_date is None:
            return self.age_years
        whole = completed_years(self.birth_date, day)
        last_birthday = _anniversary(self.birth_date, whole)
        next_birthday = _anniversary(self.birth_date, whole + 1)
        return whole + (day - last_birthday).days / (next_birthday - last_birthday).days


PATIENT_FIELDS: Final = tuple(field.name for field in fields(Patient))


def completed_years(start: date, day: date) -> int:
    """Whole years from `start` to `day` (a birthday counts on the day itself)."""
    years = day.year - start.year
    return years - 1 if (day.month, day.day) < (start.month, start.day) else years


def canonical_term(text: str) -> str:
    """A manifestation, sign or analyte as ertplan spells it: ``Anemia`` -> ``anaemia``,
    ``chest discomfort`` -> ``chest-discomfort``, ``Dyspnea`` -> ``dyspnoea``."""
    term = "-".join(text.strip().lower().replace("_", " ").split())
    return _SPELLINGS.get(term, term)


def read_patient_file(path: Path) -> dict[str, Any]:
    """The raw content of a TOML or JSON patient file (by its suffix), refused naming `patient`."""
    suffix = path.suffix.lower()
    if suffix not in (".toml", ".json"):
        raise InputError("patient", "must be a .toml or .json file", str(path))
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise InputError("patient", f"cannot be read ({error.__class__.__name__})",
                         str(path)) from None
    if suffix == ".toml":
        import tomllib

        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as error:
            raise InputError("patient", f"is not valid TOML ({error})", str(path)) from None
    import json

    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise InputError("patient", f"is not valid JSON ({error.msg}, line {error.lineno})",
                         str(path)) from None
    if not isinstance(data, dict):
        raise InputError("patient", "must hold one JSON object", str(path))
    return data


def patient_from_data(data: Mapping[str, Any], *, today: date) -> Patient:
    """Check and convert the keys of a patient file (or of the CLI flags) into a :class:`Patient`.

    Refuses, naming the key, unknown keys, wrong types, dates after `today` (birth, antibody test)
    and impossible ages or weights. Dates may be TOML dates or ISO strings.

    >>> patient_from_data({"birth_date": "1992-05-01", "gaucher_type": 1,
    ...                    "manifestations": ["Anemia", "splenomegaly"]},
    ...                   today=date(2026, 11, 27)).manifestations
    ('anaemia', 'splenomegaly')
    """
    unknown = sorted(set(data) - set(PATIENT_FIELDS) - {"format_version"})
    if unknown:
        raise InputError(unknown[0], "is not a patient field; known: " + ", ".join(PATIENT_FIELDS))
    values: dict[str, Any] = {}
    if "id" in data and data["id"] is not None:
        values["id"] = str(data["id"])
    for name in ("birth_date", "antibody_tested_on", "therapy_start"):
        if data.get(name) is not None:
            values[name] = _date(name, data[name])
    for name in ("splenectomy", "pregnant", "breastfeeding", "hypersensitivity_history",
                 "prior_alglucerase_reaction", "respiratory_symptoms", "fever"):
        if data.get(name) is not None:
            values[name] = _flag(name, data[name])
    if data.get("age_years") is not None:
        values["age_years"] = _number("age_years", data["age_years"], lowest=0,
                                      highest=_OLDEST_AGE_YEARS)
    if data.get("weight_kg") is not None:
        values["weight_kg"] = _number("weight_kg", data["weight_kg"], lowest=0, strict=True)
    if data.get("sex") is not None:
        values["sex"] = _choice("sex", data["sex"], ("female", "male"))
    if data.get("antibody_status") is not None:
        values["antibody_status"] = _choice("antibody_status", data["antibody_status"],
                                            ("positive", "negative", "unknown"))
    if data.get("gaucher_type") is not None:
        values["gaucher_type"] = _gaucher_type(data["gaucher_type"])
    if data.get("manifestations") is not None:
        values["manifestations"] = _manifestations(data["manifestations"])
    patient = Patient(**values)
    _check_dates(patient, today)
    return patient


def _check_dates(patient: Patient, today: date) -> None:
    if patient.birth_date is not None:
        if patient.birth_date > today:
            raise InputError("birth_date", f"must not be after today ({today.isoformat()})",
                             patient.birth_date.isoformat())
        if (patient.age_on(today) or 0) > _OLDEST_AGE_YEARS:
            raise InputError("birth_date", "gives an impossible age",
                             patient.birth_date.isoformat())
        if patient.therapy_start is not None and patient.therapy_start < patient.birth_date:
            raise InputError("therapy_start", "must not be before the birth date",
                             patient.therapy_start.isoformat())
    if patient.antibody_tested_on is not None and patient.antibody_tested_on > today:
        raise InputError("antibody_tested_on", f"must not be after today ({today.isoformat()})",
                         patient.antibody_tested_on.isoformat())


def _date(name: str, value: object) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise InputError(name, "must be a date such as 1992-05-01", _shown(value))


def _flag(name: str, value: object) -> bool:
    if isinstance(value, bool):
        return value
    raise InputError(name, "must be true or false", _shown(value))


def _number(name: str, value: object, *, lowest: float, highest: float = math.inf,
            strict: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InputError(name, "must be a number", _shown(value))
    too_low = value <= lowest if strict else value < lowest
    if too_low or value > highest:
        bound = "greater than" if strict else "at least"
        upper = "" if math.isinf(highest) else f" and at most {highest:g}"
        raise InputError(name, f"must be {bound} {lowest:g}{upper}", value)
    return float(value)


def _choice(name: str, value: object, allowed: tuple[str, ...]) -> str:
    if isinstance(value, str) and value.strip().lower() in allowed:
        return value.strip().lower()
    raise InputError(name, "must be one of " + ", ".join(allowed), _shown(value))


def _gaucher_type(value: object) -> int | None:
    text = str(value).strip().lower() if isinstance(value, int | str) else None
    if isinstance(value, bool) or text not in ("1", "2", "3", "unknown"):
        raise InputError("gaucher_type", "must be 1, 2, 3 or unknown", _shown(value))
    return None if text == "unknown" else int(text)


def _manifestations(value: object) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise InputError("manifestations", "must be a list such as [\"anaemia\"]", _shown(value))
    found: list[str] = []
    for item in value:
        term = canonical_term(item) if isinstance(item, str) else None
        if term not in MANIFESTATIONS:
            raise InputError("manifestations", "must be among " + ", ".join(MANIFESTATIONS)
                             + " (US spellings accepted)", _shown(item))
        if term not in found:
            found.append(term)
    return tuple(found)


def _anniversary(start: date, years: int) -> date:
    try:
        return start.replace(year=start.year + years)
    except ValueError:  # 29 February in a common year
        return start.replace(year=start.year + years, day=28)


def _shown(value: object) -> object:
    return value if isinstance(value, str | int | float) else repr(value)


def add_months(start: date, months: int) -> date:
    """The same day `months` calendar months later (the month's last day where it is shorter).

    >>> add_months(date(2026, 8, 31), 6)
    datetime.date(2027, 2, 28)
    """
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def completed_months(start: date, day: date) -> int:
    """Whole calendar months from `start` to `day` (negative before `start`).

    >>> completed_months(date(2026, 1, 31), date(2026, 2, 28)), completed_months(
    ...     date(2026, 1, 15), date(2026, 7, 14))
    (1, 5)
    """
    months = (day.year - start.year) * 12 + day.month - start.month
    while months > 0 and add_months(start, months) > day:
        months -= 1
    while add_months(start, months + 1) <= day:
        months += 1
    return months
