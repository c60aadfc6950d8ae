"""Screening in the records service, on SQLite and PostgreSQL: a stored patient is screened as
``ertplan screen`` screens the same facts, and a screening warning holds an order's verification
until a pharmacist states an override reason, which is stored and audited."""

from __future__ import annotations

import json
from typing import Any, get_args

import pytest

from ertplan.cli.app import main
from ertplan.core.patient import MANIFESTATIONS
from ertplan.service.schemas import Manifestation
from tests.service.conftest import NOW, Clinic
from tests.service.test_records import PATIENT, _ok, _ok_list

TODAY = NOW.date().isoformat()  # the service's today (2026-12-07)
# the monograph's worked example, inside the labelled range: 60 U/kg every 2 weeks, 70 kg
IN_LABEL_ORDER = {"dose_units_per_kg": 60, "interval_days": 14, "start_date": "2026-12-07"}


def _patient(clinic: Clinic, identifier: str, **facts: Any) -> int:
    body = {**PATIENT, "identifier": identifier, "hypersensitivity_history": False,
            "prior_alglucerase_reaction": False, "lactating": False, **facts}
    patient = _ok(clinic.post("physician", "/patients", body), 201)
    _ok(clinic.post("nurse", "/weights", {"patient_id": patient["id"], "weight_kg": 70,
                                          "measured_on": "2026-12-01"}), 201)
    return int(patient["id"])


def _order(clinic: Clinic, patient_id: int, **changes: Any) -> dict[str, Any]:
    return _ok(clinic.post("physician", "/orders",
                           {"patient_id": patient_id, **IN_LABEL_ORDER, **changes}), 201)


def _screening(clinic: Clinic, patient_id: int) -> dict[str, Any]:
    return _ok(clinic.get("viewer", f"/patients/{patient_id}/screening"))


def test_a_pregnant_patient_on_an_in_label_order_is_verified_only_with_a_stated_reason(
        clinic: Clinic) -> None:
    patient_id = _patient(clinic, "MRN-PREG", pregnancy_status="pregnant")
    order = _order(clinic, patient_id)
    refused = clinic.post("pharmacist", f"/orders/{order['id']}/verify", {"version": 1})
    assert refused.status_code == 422
    detail = refused.json()["detail"][0]
    assert detail["loc"] == ["body", "override_reason"]
    assert "pregnancy" in detail["msg"]
    assert _ok(clinic.get("viewer", f"/orders/{order['id']}"))["status"] == "ordered"

    verified = _ok(clinic.post("pharmacist", f"/orders/{order['id']}/verify", {
        "version": 1, "override_reason": "benefit outweighs risk, discussed with obstetrics"}))
    assert verified["status"] == "verified"
    assert verified["override_reason"] == "benefit outweighs risk, discussed with obstetrics"
    assert verified["alert_codes"] == "pregnancy"
    audit = _ok_list(clinic.get("viewer", "/audit", entity="order", entity_id=order["id"]))
    assert [entry["action"] for entry in audit] == ["create", "verify"]
    assert audit[1]["after"]["override_reason"] == verified["override_reason"]
    assert audit[1]["after"]["alert_codes"] == "pregnancy"


def test_earlier_hypersensitivity_and_an_out_of_label_dose_both_need_the_override(
        clinic: Clinic) -> None:
    patient_id = _patient(clinic, "MRN-HYPER", hypersensitivity_history=True,
                          hypersensitivity="urticaria at the third infusion, 2025")
    order = _order(clinic, patient_id, dose_units_per_kg=70)
    refused = clinic.post("pharmacist", f"/orders/{order['id']}/verify", {"version": 1})
    assert refused.status_code == 422
    assert "hypersensitivity-history" in refused.json()["detail"][0]["msg"]
    verified = _ok(clinic.post("pharmacist", f"/orders/{order['id']}/verify", {
        "version": 1, "override_reason": "premedicated, slower rate"}))
    codes = set(verified["alert_codes"].split(","))
    assert "hypersensitivity-history" in codes
    assert codes - {"hypersensitivity-history"}  # the dose's own out-of-label warning is kept


def test_a_type_1_patient_with_a_manifestation_on_an_in_label_order_needs_no_reason(
        clinic: Clinic) -> None:
    patient_id = _patient(clinic, "MRN-OK", manifestations=["anaemia"])
    assert [alert["code"] for alert in _screening(clinic, patient_id)["alerts"]] == []
    order = _order(clinic, patient_id)
    verified = _ok(clinic.post("pharmacist", f"/orders/{order['id']}/verify", {"version": 1}))
    assert (verified["status"], verified["override_reason"], verified["alert_codes"]) == (
        "verified", None, None)


def test_a_type_1_patient_without_a_recorded_manifestation_is_held_as_indication_not_met(
        clinic: Clinic) -> None:
    patient_id = _patient(clinic, "MRN-NONE", manifestations=[])
    order = _order(clinic, patient_id)
    refused = clinic.post("pharmacist", f"/orders/{order['id']}/verify", {"version": 1})
    assert refused.status_code == 422
    assert "indication-not-met" in refused.json()["detail"][0]["msg"]


def test_the_screening_endpoint_answers_what_ertplan_screen_answers_for_the_same_facts(
        clinic: Clinic, capsys: pytest.CaptureFixture[str]) -> None:
    patient_id = _patient(clinic, "MRN-SAME", birth_date="2024-12-20",
                          manifestations=["splenomegaly", "thrombocytopenia"],
                          pregnancy_status="not-applicable", sex="male", lactating=False,
                          prior_alglucerase_reaction=True)
    # the last IgG test: its date is the last test and its result the status
    for observed_on, result in (("2026-03-01", "negative"), ("2026-08-01", " Positive ")):
        _ok(clinic.post("nurse", "/observations", {
            "patient_id": patient_id, "kind": "antibody", "value_text": result,
            "observed_on": observed_on, "source": "reference laboratory"}), 201)
    # therapy started with the earliest order, 2026-01-15 (a later order changes nothing)
    _order(clinic, patient_id, start_date="2026-06-01")
    _order(clinic, patient_id, start_date="2026-01-15")
    served = _screening(clinic, patient_id)

    assert main(["screen", "--birth-date", "2024-12-20", "--gaucher-type", "1",
                 "--manifestation", "splenomegaly", "--manifestation", "thrombocytopenia",
                 "--prior-alglucerase-reaction", "--antibody-status", "positive",
                 "--antibody-tested-on", "2026-08-01", "--therapy-start", "2026-01-15",
                 "--today", TODAY, "--json"]) == 0
    cli = json.loads(capsys.readouterr().out)

    codes = [alert["code"] for alert in served["alerts"]]
    assert codes == ["age-under-2", "prior-alglucerase-reaction", "antibody-positive",
                     "antibody-testing-due"]
    assert served["alerts"] == cli["alerts"]
    assert (served["screened_on"], served["age_years"], served["verification_note"]) == (
        cli["screened_on"], cli["age_years"], cli["verification_note"])
    assert set(cli["not_checked"]) <= set(served["not_checked"])
    assert served["patient"] == {**cli["patient"], "id": "MRN-SAME", "sex": "male",
                                 "weight_kg": 70.0}


def test_what_the_records_do_not_hold_stays_unknown_and_is_listed_as_not_checked(
        clinic: Clinic) -> None:
    patient_id = _patient(clinic, "MRN-UNKNOWN", pregnancy_status="unknown", lactating=None,
                          hypersensitivity_history=None, prior_alglucerase_reaction=None,
                          sex="other")
    _ok(clinic.post("nurse", "/observations", {
        "patient_id": patient_id, "kind": "antibody", "value_text": "borderline, repeat",
        "observed_on": "2026-11-30", "source": "reference laboratory"}), 201)
    served = _screening(clinic, patient_id)
    assert served["alerts"] == []
    assert served["patient"]["sex"] is None
    assert served["patient"]["antibody_status"] == "unknown"
    assert served["patient"]["antibody_tested_on"] == "2026-11-30"
    assert served["patient"]["therapy_start"] is None
    rules = [line.split(":")[0] for line in served["not_checked"]]
    assert rules == ["antibody-testing-due", "pregnancy", "lactation", "hypersensitivity-history",
                     "prior-alglucerase-reaction", "respiratory-symptoms-afebrile"]


def test_an_antibody_result_dated_after_today_is_not_yet_the_last_test(clinic: Clinic) -> None:
    patient_id = _patient(clinic, "MRN-FUTURE")
    _ok(clinic.post("nurse", "/observations", {
        "patient_id": patient_id, "kind": "antibody", "value_text": "positive",
        "observed_on": "2026-12-20", "source": "typed ahead"}), 201)
    served = _screening(clinic, patient_id)
    assert served["patient"]["antibody_status"] == "unknown"
    assert served["patient"]["antibody_tested_on"] is None


def test_manifestations_are_checked_kept_once_and_cannot_be_nulled(clinic: Clinic) -> None:
    assert set(get_args(Manifestation)) == set(MANIFESTATIONS)
    patient_id = _patient(clinic, "MRN-MANI", manifestations=["anaemia", "bone-disease",
                                                              "anaemia"])
    patient = _ok(clinic.get("viewer", f"/patients/{patient_id}"))
    assert patient["manifestations"] == ["anaemia", "bone-disease"]
    refused = clinic.post("physician", "/patients", {**PATIENT, "identifier": "MRN-BAD",
                                                     "manifestations": ["fatigue"]})
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["loc"][:2] == ["body", "manifestations"]
    nulled = clinic.patch("physician", f"/patients/{patient_id}",
                          {"version": patient["version"], "manifestations": None})
    assert nulled.status_code == 422
    changed = _ok(clinic.patch("physician", f"/patients/{patient_id}",
                               {"version": patient["version"], "manifestations": [],
                                "hypersensitivity_history": None}))
    assert (changed["manifestations"], changed["hypersensitivity_history"]) == ([], None)


def test_screening_needs_a_signed_in_user_and_a_known_patient(clinic: Clinic) -> None:
    assert clinic.client.get("/patients/1/screening").status_code == 401
    assert clinic.get("viewer", "/patients/999/screening").status_code == 404
