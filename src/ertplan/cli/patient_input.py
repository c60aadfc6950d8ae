"""Shared shell-side input of the safety and monitoring commands: the patient and "today".

A patient comes from ``--patient FILE`` (TOML or JSON, schema in the README) and/or flags; a flag
overrides the file's key. "Today" is read from the clock here, at the edge, unless ``--today`` fixes
it (for reproducible output and tests). Imported only by the commands that need it.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ertplan.core.errors import InputError
from ertplan.core.patient import Patient, patient_from_data, read_patient_file

if TYPE_CHECKING:
    from ertplan.core.monograph import Monograph
    from ertplan.core.preparation import PreparationPlan
    from ertplan.core.safety import Screening


def parse_day(field: str, text: str) -> date:
    """An ISO date (``2026-11-27``), refused naming `field`."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InputError(field, "must be a date such as 2026-11-27", text) from None


def today_from(text: str | None) -> date:
    """``--today`` when given, else the local date of the clock."""
    return date.today() if text is None else parse_day("today", text)


def load_patient(patient_file: str | None, overrides: dict[str, Any], *, today: date) -> Patient:
    """The patient from the file (if any) with each given flag (not None) overriding its key.

    An age flag replaces the file's birth date and a birth-date flag the file's age.
    """
    data: dict[str, Any] = {} if patient_file is None else read_patient_file(Path(patient_file))
    given = {key: value for key, value in overrides.items() if value is not None}
    if "age_years" in given:
        data.pop("birth_date", None)
    if "birth_date" in given:
        data.pop("age_years", None)
    data.update(given)
    return patient_from_data(data, today=today)


def screen_into_plan(plan: PreparationPlan, monograph: Monograph, patient_file: str,
                     day: date) -> tuple[PreparationPlan, Screening]:
    """`plan` with the screening alerts of the patient in `patient_file` merged into its alerts."""
    import dataclasses

    from ertplan.core.alerts import by_severity
    from ertplan.core.goals import goals_path, load_goals
    from ertplan.core.safety import screen_patient

    person = load_patient(patient_file, {}, today=day)
    screening = screen_patient(person, monograph, load_goals(goals_path("gaucher-type1")),
                               today=day)
    merged = by_severity([*plan.alerts, *screening.alerts])
    return dataclasses.replace(plan, alerts=merged), screening
