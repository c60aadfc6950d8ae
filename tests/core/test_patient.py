"""Patient files and flags become a checked Patient; impossible values are refused by name."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ertplan.core.errors import InputError
from ertplan.core.patient import (
    Patient,
    add_months,
    canonical_term,
    completed_months,
    completed_years,
    patient_from_data,
    read_patient_file,
)

TODAY = date(2026, 11, 27)
TOML_PATIENT = """\
id = "P-0001"
birth_date = 1992-05-01
sex = "female"
weight_kg = 62.5
gaucher_type = 1
manifestations = ["anemia", "Bone disease"]
splenectomy = false
antibody_status = "negative"
antibody_tested_on = 2026-09-01
therapy_start = 2026-01-15
"""


def test_a_toml_patient_file_is_read_with_us_spellings(tmp_path: Path) -> None:
    path = tmp_path / "patient.toml"
    path.write_text(TOML_PATIENT, encoding="utf-8")
    patient = patient_from_data(read_patient_file(path), today=TODAY)
    assert patient == Patient(
        id="P-0001", birth_date=date(1992, 5, 1), sex="female", weight_kg=62.5, gaucher_type=1,
        manifestations=("anaemia", "bone-disease"), antibody_status="negative",
        antibody_tested_on=date(2026, 9, 1), therapy_start=date(2026, 1, 15))
    assert patient.age_on(TODAY) == pytest.approx(34 + 210 / 365)


def test_a_json_patient_file_reads_the_same(tmp_path: Path) -> None:
    path = tmp_path / "patient.json"
    path.write_text(json.dumps({"birth_date": "1992-05-01", "gaucher_type": "unknown",
                                "pregnant": True}), encoding="utf-8")
    patient = patient_from_data(read_patient_file(path), today=TODAY)
    assert (patient.gaucher_type, patient.pregnant, patient.birth_date) == (
        None, True, date(1992, 5, 1))


@pytest.mark.parametrize(("data", "field"), [
    ({"birth_date": "2027-01-01"}, "birth_date"),  # in the future
    ({"birth_date": "1992-13-01"}, "birth_date"),
    ({"birth_date": 1992}, "birth_date"),
    ({"age_years": -1}, "age_years"),
    ({"age_years": float("nan")}, "age_years"),
    ({"age_years": "34"}, "age_years"),
    ({"weight_kg": 0}, "weight_kg"),
    ({"sex": "x"}, "sex"),
    ({"gaucher_type": 4}, "gaucher_type"),
    ({"gaucher_type": True}, "gaucher_type"),
    ({"manifestations": ["fatigue"]}, "manifestations"),
    ({"manifestations": "anaemia"}, "manifestations"),
    ({"pregnant": "yes"}, "pregnant"),
    ({"antibody_status": "maybe"}, "antibody_status"),
    ({"antibody_tested_on": "2026-12-01"}, "antibody_tested_on"),
    ({"birth_date": "2000-01-01", "therapy_start": "1999-01-01"}, "therapy_start"),
    ({"weight": 70}, "weight"),  # an unknown key
])
def test_impossible_patient_values_are_refused_naming_the_field(data: dict[str, object],
                                                                field: str) -> None:
    with pytest.raises(InputError) as refused:
        patient_from_data(data, today=TODAY)
    assert refused.value.field == field
    assert "\n" not in str(refused.value)


@pytest.mark.parametrize(("name", "content", "problem"), [
    ("patient.toml", "birth_date = [", "not valid TOML"),
    ("patient.json", "{\"birth_date\": ", "not valid JSON"),
    ("patient.json", "[1, 2]", "one JSON object"),
    ("patient.yaml", "birth_date: 1992-05-01", ".toml or .json"),
])
def test_malformed_patient_files_are_refused(tmp_path: Path, name: str, content: str,
                                             problem: str) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError, match=problem) as refused:
        read_patient_file(path)
    assert refused.value.field == "patient"


def test_a_missing_patient_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot be read"):
        read_patient_file(tmp_path / "nobody.toml")


def test_terms_people_type_become_ertplans() -> None:
    assert canonical_term("Anemia") == "anaemia"
    assert canonical_term("chest discomfort") == "chest-discomfort"
    assert canonical_term("Dyspnea") == "dyspnoea"
    assert canonical_term("bone_disease") == "bone-disease"


def test_calendar_arithmetic_by_hand() -> None:
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2026, 11, 15), 14) == date(2028, 1, 15)
    assert completed_months(date(2026, 1, 15), date(2026, 7, 15)) == 6
    assert completed_months(date(2026, 1, 15), date(2026, 7, 14)) == 5
    assert completed_years(date(2024, 2, 29), date(2026, 2, 28)) == 1
    assert completed_years(date(2024, 2, 29), date(2026, 3, 1)) == 2


@given(start=st.dates(min_value=date(1950, 1, 1), max_value=date(2050, 1, 1)),
       months=st.integers(min_value=0, max_value=600))
def test_adding_months_then_counting_them_gives_them_back(start: date, months: int) -> None:
    assert completed_months(start, add_months(start, months)) == months
