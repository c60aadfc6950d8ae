"""A FHIR import lands on the right patient or nowhere (issue 17, a safety problem): the patient is
matched on the identifier's system and value, confirmed by name, sex and birth date, and any
difference refuses the whole Bundle with a 422 that lists them."""

from __future__ import annotations

from typing import Any

from tests.interop.test_fhir_store import _lab_bundle, _store_counts
from tests.service.conftest import SITE_PATIENT_SYSTEM, Clinic
from tests.service.test_records import PATIENT, _ok


def _patient_of(bundle: dict[str, Any]) -> dict[str, Any]:
    resource: dict[str, Any] = next(entry["resource"] for entry in bundle["entry"]
                                    if entry["resource"]["resourceType"] == "Patient")
    return resource


def test_another_hospitals_mrn_with_the_same_value_is_refused(clinic: Clinic) -> None:
    _ok(clinic.post("physician", "/patients", PATIENT), 201)  # our MRN-0001
    bundle = _lab_bundle()
    _patient_of(bundle)["identifier"][0]["system"] = "urn:oid:2.16.840.1.113883.19.5"
    before = _store_counts(clinic.engine)
    response = clinic.post("nurse", "/fhir/import", bundle)
    assert response.status_code == 422
    detail = response.json()["detail"][0]
    assert detail["loc"][-2:] == ["resource", "identifier"]
    assert SITE_PATIENT_SYSTEM in detail["msg"]
    assert "urn:oid:2.16.840.1.113883.19.5|MRN-0001" in detail["msg"]
    assert _store_counts(clinic.engine) == before


def test_our_identifier_on_someone_else_is_refused_listing_every_difference(
        clinic: Clinic) -> None:
    _ok(clinic.post("physician", "/patients", PATIENT), 201)
    bundle = _lab_bundle()
    patient = _patient_of(bundle)
    patient.update(name=[{"family": "Other", "given": ["B."]}], gender="male",
                   birthDate="1961-02-03")
    before = _store_counts(clinic.engine)
    response = clinic.post("nurse", "/fhir/import", bundle)
    assert response.status_code == 422
    message = response.json()["detail"][0]["msg"]
    for difference in ("name: 'B. Other' here, 'A. Patient' in ertplan",
                       "gender: 'male' here, 'female' in ertplan",
                       "birthDate: '1961-02-03' here, '1990-05-01' in ertplan"):
        assert difference in message
    assert _store_counts(clinic.engine) == before


def test_a_patient_without_a_birth_date_cannot_confirm_the_match(clinic: Clinic) -> None:
    _ok(clinic.post("physician", "/patients", PATIENT), 201)
    bundle = _lab_bundle()
    del _patient_of(bundle)["birthDate"]
    response = clinic.post("nurse", "/fhir/import", bundle)
    assert response.status_code == 422
    assert "birthDate: missing here" in response.json()["detail"][0]["msg"]


def test_the_same_person_written_family_name_first_is_confirmed(clinic: Clinic) -> None:
    stored = _ok(clinic.post("physician", "/patients", PATIENT), 201)
    bundle = _lab_bundle()
    _patient_of(bundle)["name"] = [{"text": "PATIENT, A."}]
    report = _ok(clinic.post("nurse", "/fhir/import", bundle))
    assert report["patient"]["id"] == stored["id"]
