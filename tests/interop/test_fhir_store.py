"""FHIR R4 out and in through the API, on SQLite and PostgreSQL.

A patient with three infusions is exported and imported into a new, empty store with nothing lost;
lab bundles shaped like the FHIR R4 examples are imported with their units converted; unknown codes
are reported; a Bundle with one bad resource leaves the store as it was.
"""

from __future__ import annotations

import copy
import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from ertplan.app import create_app
from ertplan.interop.fhir import EXTENSION, validate_resource
from ertplan.service.security import new_token, token_digest
from ertplan.service.settings import Settings
from ertplan.store import repositories as repo
from ertplan.store.db import make_engine, session_factory, sqlite_url, transaction, upgrade
from ertplan.store.models import (
    Administration,
    AuditEntry,
    Observation,
    Order,
    Patient,
    Preparation,
    User,
    Weight,
)
from tests.service.conftest import NOW, SITE_PATIENT_SYSTEM, Clinic
from tests.service.test_records import PATIENT, _ok

FIXTURES = Path(__file__).parent / "fixtures"
# three bags two weeks apart for the monograph's worked example (70 kg, 60 U/kg every 2 weeks)
DAYS = ("2026-12-07", "2026-12-21", "2027-01-04")
LOTS = (("L400A", "L200B"), ("L400C", "L200B"), ("L400C", "L200D"))


def _patient_with_three_infusions(clinic: Clinic) -> int:
    """A patient with weights, labs, a verified order and three infusions, one with a reaction."""
    patient = _ok(clinic.post("physician", "/patients", {
        **PATIENT, "manifestations": ["splenomegaly", "thrombocytopenia"],
        "hypersensitivity_history": False, "lactating": None}), 201)
    patient_id = int(patient["id"])
    for day, kilograms in (("2026-11-20", 69.5), ("2026-12-01", 70)):
        _ok(clinic.post("nurse", "/weights", {"patient_id": patient_id, "weight_kg": kilograms,
                                              "measured_on": day}), 201)
    for kind, value, value_text, unit in (
            ("haemoglobin", 10.9, None, "g/dL"), ("platelets", 88, None, "10^9/L"),
            ("spleen-volume", 14.5, None, "MN"), ("liver-volume", 1.9, None, "MN"),
            ("biomarker", 12500, "chitotriosidase", "nmol/h/mL"),
            ("antibody", None, "IgG negative", None),
            ("bone-event", None, "bone crisis, left femur", None)):
        _ok(clinic.post("nurse", "/observations", {
            "patient_id": patient_id, "kind": kind, "value": value, "value_text": value_text,
            "unit": unit, "observed_on": "2026-11-20", "source": "St Elsewhere laboratory"}),
            201)
    order = _ok(clinic.post("physician", "/orders", {
        "patient_id": patient_id, "dose_units_per_kg": 60, "interval_days": 14,
        "duration_min": 90, "start_date": DAYS[0], "end_date": "2027-12-31"}), 201)
    _ok(clinic.post("pharmacist", f"/orders/{order['id']}/verify",
                    {"version": order["version"], "override_reason": "reviewed"}))
    for number, (day, (big, small)) in enumerate(zip(DAYS, LOTS, strict=True)):
        bag = _ok(clinic.post("pharmacist", "/preparations", {
            "order_id": order["id"], "reconstituted_at": f"{day}T08:00:00Z",
            "diluted_at": f"{day}T08:30:00Z", "vials": [
                {"lot": big, "vial_units": 400, "count": 10, "expiry_date": "2027-06-30"},
                {"lot": small, "vial_units": 200, "count": 1, "expiry_date": "2027-05-31"}]}),
            201)
        _ok(clinic.post("pharmacist-2", f"/preparations/{bag['id']}/verify",
                        {"version": bag["version"]}))
        given = {"preparation_id": bag["id"], "started_at": f"{day}T09:00:00Z",
                 "ended_at": f"{day}T10:40:00Z", "premedication": None,
                 "rate_changes": [{"at": f"{day}T09:00:00Z", "rate_ml_per_h": 50,
                                   "reason": "start slowly"},
                                  {"at": f"{day}T09:15:00Z", "rate_ml_per_h": 100}]}
        if number == 1:
            given["premedication"] = "cetirizine 10 mg"
            given["reactions"] = [{"at": f"{day}T09:40:00Z", "grade": 2,
                                   "description": "flushing and pruritus",
                                   "action_taken": "infusion paused 15 min, resumed at 50 mL/h"}]
        _ok(clinic.post("nurse", "/administrations", given), 201)
    return patient_id


def _records(engine: Engine, identifier: str) -> dict[str, Any]:
    """The patient's records as plain data, ids replaced by what they stand for (usernames)."""
    with Session(engine) as session:
        patient = session.scalars(select(Patient).where(Patient.identifier == identifier)).one()
        names = {user.id: user.username for user in session.scalars(select(User))}

        def plain(record: Any, *drop: str) -> dict[str, Any]:
            data = repo.snapshot(record)
            for key in ("id", "version", "created_at", "patient_id", "order_id",
                        "preparation_id", "administration_id", *drop):
                data.pop(key, None)
            for key in [key for key in data if key.endswith("_by_id") or key == "prescriber_id"]:
                data[key] = names.get(data[key])
            return data

        orders = session.scalars(select(Order).where(Order.patient_id == patient.id)).all()
        bags = session.scalars(select(Preparation).where(Preparation.order_id.in_(
            [order.id for order in orders])).order_by(Preparation.id)).all()
        given = session.scalars(select(Administration).where(Administration.preparation_id.in_(
            [bag.id for bag in bags])).order_by(Administration.id)).all()
        return {
            "patient": plain(patient),
            "weights": sorted((plain(weight) for weight in session.scalars(
                select(Weight).where(Weight.patient_id == patient.id))), key=str),
            "observations": sorted((plain(observation) for observation in session.scalars(
                select(Observation).where(Observation.patient_id == patient.id))), key=str),
            "orders": [plain(order) for order in orders],
            "preparations": [{**plain(bag), "vials": [plain(vial) for vial in bag.vials]}
                             for bag in bags],
            "administrations": [{
                **plain(administration),
                "rate_changes": [plain(change) for change in administration.rate_changes],
                "reactions": [plain(reaction) for reaction in administration.reactions]}
                for administration in given],
        }


@pytest.fixture
def new_store(database_url: str, request: pytest.FixtureRequest,
              tmp_path: Path) -> Iterator[Engine]:
    """A second, empty and migrated store on the same backend as the test's."""
    if database_url.startswith("sqlite"):
        template: Path = request.getfixturevalue("migrated_sqlite_template")
        path = tmp_path / "new-store.sqlite3"
        shutil.copyfile(template, path)
        engine = make_engine(sqlite_url(path))
    else:
        create: Callable[[], str] = request.getfixturevalue("create_postgres_database")
        engine = make_engine(create())
        upgrade(engine)
    yield engine
    engine.dispose()


def _client_on(engine: Engine, usernames: list[tuple[str, str]], password_hash: str
               ) -> tuple[TestClient, dict[str, str]]:
    tokens: dict[str, str] = {}
    with transaction(session_factory(engine)) as session:
        for name, role in usernames:
            user = repo.add_user(session, actor=None, username=name, role=role,
                                 password_hash=password_hash, now=NOW)
            tokens[name] = new_token()
            repo.add_token(session, user=user, token_sha256=token_digest(tokens[name]), now=NOW,
                           expires_at=NOW.replace(year=2027))
    # the other store of the same hospital: its patients carry the same identifier system
    app = create_app(engine=engine, settings=Settings(
        database_url=None, vial_sizes=None, fhir_patient_system=SITE_PATIENT_SYSTEM),
        clock=lambda: NOW)
    return TestClient(app, raise_server_exceptions=False), tokens


def _count(engine: Engine, model: Any) -> int:
    with engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(model)) or 0


def _export(clinic: Clinic, patient_id: int) -> dict[str, Any]:
    response = clinic.get("viewer", f"/fhir/patients/{patient_id}/bundle")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/fhir+json")
    bundle: dict[str, Any] = response.json()
    return bundle


def test_a_patient_with_three_infusions_is_exported_as_a_valid_r4_collection(
        clinic: Clinic) -> None:
    bundle = _export(clinic, _patient_with_three_infusions(clinic))
    validate_resource(bundle)
    assert bundle["type"] == "collection"
    kinds = [entry["resource"]["resourceType"] for entry in bundle["entry"]]
    assert kinds.count("Patient") == 1
    assert kinds.count("Observation") == 2 + 7
    assert kinds.count("MedicationRequest") == 1
    assert kinds.count("Medication") == 3
    assert kinds.count("MedicationAdministration") == 3
    assert kinds.count("AdverseEvent") == 1
    for entry in bundle["entry"]:
        assert entry["resource"]["text"]["status"] == "generated"
        assert entry["resource"]["text"]["div"].startswith('<div xmlns="http://www.w3.org/1999/')
    by_code = {entry["resource"]["code"]["coding"][0]["code"]: entry["resource"]
               for entry in bundle["entry"] if entry["resource"]["resourceType"] == "Observation"}
    weight = by_code["29463-7"]
    assert weight["valueQuantity"]["system"] == "http://unitsofmeasure.org"
    assert weight["valueQuantity"]["code"] == "kg"
    assert by_code["777-3"]["valueQuantity"] == {
        "value": 88, "unit": "10^9/L", "system": "http://unitsofmeasure.org", "code": "10*9/L"}
    assert by_code["718-7"]["valueQuantity"]["code"] == "g/dL"
    request = next(entry["resource"] for entry in bundle["entry"]
                   if entry["resource"]["resourceType"] == "MedicationRequest")
    assert request["medicationCodeableConcept"]["coding"] == [  # the monograph's codes
        {"system": "http://www.whocc.no/atc", "code": "A16AB02"},
        {"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "1726266"},
        {"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "1726268"}]
    dosage = request["dosageInstruction"][0]
    assert dosage["doseAndRate"][0]["doseQuantity"]["code"] == "U/kg"
    assert dosage["timing"]["repeat"]["period"] == 14
    assert dosage["timing"]["repeat"]["periodUnit"] == "d"
    assert dosage["timing"]["repeat"]["duration"] == 90
    given = [entry["resource"] for entry in bundle["entry"]
             if entry["resource"]["resourceType"] == "MedicationAdministration"]
    # 70 kg x 60 U/kg = 4200 U, started at 50 mL/h
    assert [item["dosage"]["dose"]["value"] for item in given] == [4200, 4200, 4200]
    assert given[0]["dosage"]["rateQuantity"] == {
        "value": 50, "unit": "mL/h", "system": "http://unitsofmeasure.org", "code": "mL/h"}
    assert given[0]["effectivePeriod"] == {"start": "2026-12-07T09:00:00+00:00",
                                           "end": "2026-12-07T10:40:00+00:00"}
    bags = {entry["fullUrl"]: entry["resource"] for entry in bundle["entry"]
            if entry["resource"]["resourceType"] == "Medication"}
    first_bag = bags[given[0]["medicationReference"]["reference"]]
    assert [lot["batch"]["lotNumber"] for lot in first_bag["contained"]] == ["L400A", "L200B"]
    assert "L400A" in given[0]["text"]["div"]
    event = next(entry["resource"] for entry in bundle["entry"]
                 if entry["resource"]["resourceType"] == "AdverseEvent")
    assert event["suspectEntity"][0]["instance"]["reference"] == next(
        entry["fullUrl"] for entry in bundle["entry"] if entry["resource"] is given[1])


def test_the_export_imported_into_an_empty_store_recreates_the_same_records(
        clinic: Clinic, new_store: Engine, password_hash: str) -> None:
    patient_id = _patient_with_three_infusions(clinic)
    bundle = _export(clinic, patient_id)
    # the same people hold accounts in the new store, under other ids
    client, tokens = _client_on(new_store, [
        ("admin", "admin"), ("nurse", "nurse"), ("pharmacist-2", "pharmacist"),
        ("pharmacist", "pharmacist"), ("physician", "physician")], password_hash)
    with client:
        response = client.post("/fhir/import", json=bundle,
                               headers={"Authorization": f"Bearer {tokens['physician']}"})
        assert response.status_code == 200, response.text
        report = response.json()
        assert report["imported"] == {"patients": 1, "weights": 2, "observations": 7,
                                      "orders": 1, "preparations": 3, "administrations": 3,
                                      "reactions": 1}
        assert report["unknown_codes"] == report["skipped"] == report["duplicates"] == []
        assert _records(new_store, "MRN-0001") == _records(clinic.engine, "MRN-0001")
        # every record written by the import has its audit row, by the importing user
        with new_store.connect() as connection:
            audited = connection.execute(select(AuditEntry.entity, AuditEntry.actor).where(
                AuditEntry.action == "import")).all()
        assert sorted({entity for entity, _ in audited}) == [
            "administration", "observation", "order", "patient", "preparation", "weight"]
        assert {actor for _, actor in audited} == {"physician"}
        # and the new store exports the same Bundle, but for its own ids and time
        again = client.get("/fhir/patients/1/bundle",
                           headers={"Authorization": f"Bearer {tokens['nurse']}"}).json()
    assert _without_ids(again) == _without_ids(bundle)


def _without_ids(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    text = json.dumps([entry["resource"] for entry in bundle["entry"]])
    for entry in bundle["entry"]:
        text = text.replace(entry["fullUrl"], "(ref)").replace(
            f'"{entry["resource"]["id"]}"', '"(id)"')
    found: list[dict[str, Any]] = json.loads(text)
    return found


def test_importing_the_same_bundle_twice_changes_nothing(clinic: Clinic) -> None:
    patient_id = _patient_with_three_infusions(clinic)
    bundle = _export(clinic, patient_id)
    before = _count(clinic.engine, AuditEntry)
    report = _ok(clinic.post("nurse", "/fhir/import", bundle))
    assert report["patient"] == {"id": patient_id, "identifier": "MRN-0001", "created": False}
    assert sum(report["imported"].values()) == 0
    assert len(report["duplicates"]) == 2 + 7
    assert {item["resource"].split("/")[0] for item in report["skipped"]} == {
        "MedicationRequest", "Medication", "MedicationAdministration"}
    assert _count(clinic.engine, AuditEntry) == before


def _lab_bundle() -> dict[str, Any]:
    bundle: dict[str, Any] = json.loads((FIXTURES / "fhir-lab-results.json").read_text())
    return bundle


def test_a_lab_bundle_is_imported_with_its_units_converted_and_unknown_codes_reported(
        clinic: Clinic) -> None:
    patient = _ok(clinic.post("physician", "/patients", PATIENT), 201)
    report = _ok(clinic.post("nurse", "/fhir/import", _lab_bundle()))
    assert report["patient"] == {"id": patient["id"], "identifier": "MRN-0001",
                                 "created": False}
    assert report["imported"]["weights"] == 1
    assert report["imported"]["observations"] == 4
    assert report["unknown_codes"] == [{"entry": 6, "resource": "Observation/glucose",
                                        "codes": ["http://loinc.org|2345-7"]}]
    assert [item["resource"] for item in report["skipped"]] == ["Condition/gaucher"]
    stored = {item["kind"]: item for item in clinic.get(
        "viewer", "/observations", patient_id=patient["id"]).json()}
    # 118 g/L = 11.8 g/dL; 95 000 /µL = 95 x 10^9/L; a spleen of 1400 mL at the Bundle's
    # 69.853 kg against a normal spleen of 2 mL/kg (goals data): 1400 / (2 x 69.853) MN
    spleen_mn = 1400 / (2 * 69.85322498)
    assert (stored["haemoglobin"]["value"], stored["haemoglobin"]["unit"]) == (11.8, "g/dL")
    assert (stored["platelets"]["value"], stored["platelets"]["unit"]) == (95, "10^9/L")
    assert stored["spleen-volume"]["value"] == pytest.approx(spleen_mn, rel=1e-11)
    assert stored["spleen-volume"]["unit"] == "MN"
    assert stored["biomarker"]["value_text"] == "lyso-gb1"
    assert stored["haemoglobin"]["source"] == "FHIR import: Observation/hb"
    weights = clinic.get("viewer", "/weights", patient_id=patient["id"]).json()
    assert [(weight["weight_kg"], weight["measured_on"]) for weight in weights] == [
        (69.85322498, "2026-11-30")]  # 154 [lb_av] x 0.45359237 kg/lb
    assert {item["given"]: item["stored"] for item in report["conversions"]} == {
        "118 g/L": "11.8 g/dL", "95000 /uL": "95 10^9/L", "1400 mL": f"{spleen_mn:g} MN"}


def _store_counts(engine: Engine) -> tuple[int, ...]:
    return tuple(_count(engine, model) for model in (
        Patient, Weight, Observation, Order, Preparation, Administration, AuditEntry))


def _broken(path: list[Any], value: Any) -> dict[str, Any]:
    bundle = _lab_bundle()
    target: Any = bundle
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return bundle


@pytest.mark.parametrize(("path", "value", "location", "words"), [
    # a unit that is not a concentration of haemoglobin
    (["entry", 2, "resource", "valueQuantity", "code"], "mL",
     ["body", "entry", 2, "resource", "valueQuantity", "unit"], "does not fit haemoglobin"),
    # not a FHIR date
    (["entry", 3, "resource", "effectiveDateTime"], "2026-13-45",
     ["body", "entry", 3, "resource", "effectiveDateTime"], "Observation"),
    # a result of another patient
    (["entry", 4, "resource", "subject"], {"reference": "Patient/someone-else"},
     ["body", "entry", 4, "resource", "subject"], "the Bundle's Patient"),
    # a weight in a unit that is not a mass
    (["entry", 1, "resource", "valueQuantity", "code"], "cm",
     ["body", "entry", 1, "resource", "valueQuantity", "unit"], "a mass"),
])
def test_a_bundle_with_one_bad_resource_writes_nothing_and_names_it(
        clinic: Clinic, path: list[Any], value: Any, location: list[Any], words: str) -> None:
    _ok(clinic.post("physician", "/patients", PATIENT), 201)
    before = _store_counts(clinic.engine)
    response = clinic.post("nurse", "/fhir/import", _broken(path, value))
    assert response.status_code == 422, response.text
    detail = response.json()["detail"][0]
    assert detail["loc"] == location
    assert words in detail["msg"]
    assert _store_counts(clinic.engine) == before


def test_a_value_no_database_keeps_is_refused_before_anything_is_written(clinic: Clinic) -> None:
    _ok(clinic.post("physician", "/patients", PATIENT), 201)
    before = _store_counts(clinic.engine)
    bundle = _lab_bundle()
    bundle["entry"][3]["resource"]["extension"] = [
        {"url": f"{EXTENSION}record-source", "valueString": "lab\x00"}]
    response = clinic.post("nurse", "/fhir/import", bundle)
    assert response.status_code == 422, response.text
    detail = response.json()["detail"][0]
    assert detail["loc"] == ["body", "entry", 3, "resource"]
    assert detail["msg"] == "Observation/platelets: source must not contain NUL characters"
    assert _store_counts(clinic.engine) == before


def test_a_new_patient_follows_the_rules_of_registration(clinic: Clinic) -> None:
    bundle = _export(clinic, _patient_with_three_infusions(clinic))
    bundle["entry"][0]["resource"]["identifier"][0]["value"] = "MRN-0002"
    bundle["entry"][0]["resource"]["gender"] = "woman"  # FHIR's codes are ertplan's sexes
    before = _store_counts(clinic.engine)
    response = clinic.post("physician", "/fhir/import", bundle)
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["msg"].startswith("Patient sex: ")
    assert _store_counts(clinic.engine) == before


def test_an_unknown_patient_without_a_gaucher_record_is_refused(clinic: Clinic) -> None:
    before = _store_counts(clinic.engine)
    response = clinic.post("nurse", "/fhir/import", _lab_bundle())
    assert response.status_code == 422
    assert "register the patient first" in response.json()["detail"][0]["msg"]
    assert _store_counts(clinic.engine) == before


def test_an_order_whose_prescriber_has_no_account_writes_nothing(
        clinic: Clinic, new_store: Engine, password_hash: str) -> None:
    bundle = _export(clinic, _patient_with_three_infusions(clinic))
    client, tokens = _client_on(new_store, [("nurse", "nurse")], password_hash)
    with client:
        response = client.post("/fhir/import", json=bundle,
                               headers={"Authorization": f"Bearer {tokens['nurse']}"})
    assert response.status_code == 422
    detail = response.json()["detail"][0]
    assert detail["loc"][-1] == "requester"
    assert detail["input"] == "physician"
    assert _count(new_store, Patient) == 0
    assert _count(new_store, AuditEntry) == 1  # the nurse's own account


@pytest.mark.parametrize("body", [
    [], {"resourceType": "Patient"}, {"resourceType": "Bundle", "type": "collection"},
    {"resourceType": "Bundle", "type": "collection", "entry": [{"fullUrl": "x"}]},
    {"resourceType": "Bundle", "type": "collection", "entry": 5},
    {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": {
        "resourceType": "Patient", "identifier": 5}}]},
    {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": {
        "resourceType": "Dragon"}}]},
])
def test_what_is_not_a_bundle_of_one_patient_is_a_422_never_a_500(
        clinic: Clinic, body: Any) -> None:
    response = clinic.post("nurse", "/fhir/import", body)
    assert response.status_code == 422, response.text


def test_a_bundle_with_a_reaction_to_a_foreign_infusion_is_refused(clinic: Clinic) -> None:
    bundle = _export(clinic, _patient_with_three_infusions(clinic))
    event = next(entry["resource"] for entry in bundle["entry"]
                 if entry["resource"]["resourceType"] == "AdverseEvent")
    event["suspectEntity"][0]["instance"]["reference"] = "MedicationAdministration/elsewhere"
    response = clinic.post("nurse", "/fhir/import", bundle)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][-3:] == ["suspectEntity", 0, "instance"]


def test_export_needs_a_signed_in_user_and_a_stored_patient(clinic: Clinic) -> None:
    assert clinic.client.get("/fhir/patients/1/bundle").status_code == 401
    assert clinic.get("viewer", "/fhir/patients/99/bundle").status_code == 404
    assert clinic.post("viewer", "/fhir/import", _lab_bundle()).status_code == 403


def test_the_export_carries_ertplan_records_in_extensions_it_names(clinic: Clinic) -> None:
    bundle = _export(clinic, _patient_with_three_infusions(clinic))
    patient = copy.deepcopy(bundle["entry"][0]["resource"])
    urls = {item["url"] for item in patient["extension"]}
    assert f"{EXTENSION}gaucher-type" in urls
    assert patient["identifier"][0]["value"] == "MRN-0001"
