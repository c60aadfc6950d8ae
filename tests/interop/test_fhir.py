"""FHIR R4 resources made from records and read back: codes from the data file, units by pint."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ertplan.core.errors import InputError, MonographError
from ertplan.core.goals import Goals, goals_path, load_goals, validate_goals
from ertplan.core.monograph import read_monograph_file
from ertplan.interop.fhir import (
    ImportPlan,
    PatientRecords,
    export_bundle,
    full_url,
    read_bundle,
    ucum_spelling,
    validate_resource,
)

GOALS = load_goals(goals_path("gaucher-type1"))
DRUGS = {"imiglucerase": [("http://www.whocc.no/atc", "A16AB02")]}
AT = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
PATIENT = {"id": 1, "identifier": "MRN-0001", "name": "A. Patient", "birth_date": "1990-05-01",
           "sex": "female", "gaucher_type": 1, "hypersensitivity": None,
           "alglucerase_antibodies": None, "alglucerase_reactions": None,
           "pregnancy_status": "not-pregnant", "lactating": None,
           "manifestations": ["splenomegaly"], "hypersensitivity_history": None,
           "prior_alglucerase_reaction": None}


def _records(**more: Any) -> PatientRecords:
    return PatientRecords(patient=PATIENT, **more)


def _weight(weight_id: int, weight_kg: float, day: str = "2026-12-01") -> dict[str, Any]:
    return {"id": weight_id, "patient_id": 1, "weight_kg": weight_kg, "measured_on": day}


def _read(bundle: dict[str, Any], goals: Goals = GOALS) -> ImportPlan:
    return read_bundle(bundle, goals=goals, drugs=DRUGS)


def _observation(code: tuple[str, str], value: float, ucum: str, day: str = "2026-12-01",
                 resource_id: str = "o1") -> dict[str, Any]:
    return {"fullUrl": f"urn:uuid:{resource_id}", "resource": {
        "resourceType": "Observation", "id": resource_id, "status": "final",
        "code": {"coding": [{"system": code[0], "code": code[1]}]},
        "subject": {"reference": full_url("patients", 1)}, "effectiveDateTime": day,
        "valueQuantity": {"value": value, "unit": ucum, "system": "http://unitsofmeasure.org",
                          "code": ucum}}}


def _bundle(*entries: dict[str, Any]) -> dict[str, Any]:
    bundle = export_bundle(_records(), goals=GOALS, bundle_id="b1", timestamp=AT)
    bundle["entry"].extend(entries)
    return bundle


LOINC = "http://loinc.org"


@pytest.mark.parametrize(("code", "spelling"), [
    ("10*9/L", "10^9/L"), ("10*3/uL", "10^3/uL"), ("/uL", "/uL"), ("g/dL", "g/dL"),
    ("[lb_av]", "lb"), ("{cells}/uL", "/uL"), ("[U]", "U"), ("{score}", "1")])
def test_ucum_codes_are_spelt_as_ertplan_parses_units(code: str, spelling: str) -> None:
    assert ucum_spelling(code) == spelling


def test_the_body_weight_code_comes_from_the_goals_data_not_the_code() -> None:
    bundle = export_bundle(_records(weights=[_weight(1, 70)]), goals=GOALS, bundle_id="b1",
                           timestamp=AT)
    weight = bundle["entry"][1]["resource"]
    assert weight["code"]["coding"][0]["code"] == GOALS.fhir_codes["body-weight"].code == "29463-7"
    data = read_monograph_file(goals_path("gaucher-type1"))
    data["fhir_codes"]["body-weight"]["code"] = "3141-9"  # LOINC's "measured" body weight
    changed = validate_goals(data, "changed.toml")
    bundle = export_bundle(_records(weights=[_weight(1, 70)]), goals=changed, bundle_id="b1",
                           timestamp=AT)
    assert bundle["entry"][1]["resource"]["code"]["coding"][0]["code"] == "3141-9"


def test_every_fhir_code_names_its_source_and_unverified_loinc_says_so() -> None:
    for name, entry in GOALS.fhir_codes.items():
        assert entry.source, name
        if entry.system == LOINC:
            assert entry.verified is False, name


def test_a_code_whose_unit_is_not_its_analytes_is_refused_at_load() -> None:
    data = read_monograph_file(goals_path("gaucher-type1"))
    data["fhir_codes"]["haemoglobin"]["unit"] = "g/L"
    with pytest.raises(MonographError, match=r"fhir_codes\.haemoglobin\.unit"):
        validate_goals(data, "broken.toml")


def test_exporting_twice_gives_the_same_bundle() -> None:
    records = _records(weights=[_weight(1, 70), _weight(2, 69.5, "2026-11-01")])
    first = export_bundle(records, goals=GOALS, bundle_id="b1", timestamp=AT)
    assert first == export_bundle(records, goals=GOALS, bundle_id="b1", timestamp=AT)
    assert len({entry["fullUrl"] for entry in first["entry"]}) == 3


@given(st.integers(min_value=1_000, max_value=400_000))
def test_a_weight_read_back_from_its_export_is_the_same_weight(grams: int) -> None:
    weight_kg = grams / 1000
    bundle = export_bundle(_records(weights=[_weight(1, weight_kg)]), goals=GOALS,
                           bundle_id="b1", timestamp=AT)
    plan = _read(bundle)
    assert [(weight["weight_kg"], weight["measured_on"]) for weight in plan.weights] == [
        (weight_kg, date(2026, 12, 1))]


def test_haemoglobin_in_mmol_per_l_is_converted_with_the_goals_molar_mass() -> None:
    # 8.4 mmol/L x 16114.5 g/mol = 135.3618 g/L = 13.53618 g/dL (goals: haemoglobin_molar_mass)
    plan = _read(_bundle(_observation((LOINC, "718-7"), 8.4, "mmol/L")))
    assert [(item["kind"], item["value"], item["unit"]) for item in plan.observations] == [
        ("haemoglobin", 13.53618, "g/dL")]
    assert plan.conversions == [{"entry": 1, "resource": "Observation/o1",
                                 "given": "8.4 mmol/L", "stored": "13.5362 g/dL"}]


def test_platelets_per_cubic_millimetre_are_10_9_per_litre() -> None:
    plan = _read(_bundle(_observation((LOINC, "777-3"), 150_000, "/mm3")))
    assert plan.observations[0]["value"] == 150
    assert plan.observations[0]["unit"] == "10^9/L"


def test_a_code_ertplan_does_not_know_is_reported_not_refused() -> None:
    plan = _read(_bundle(_observation((LOINC, "2345-7"), 5.4, "mmol/L")))
    assert plan.observations == []
    assert plan.unknown_codes == [{"entry": 1, "resource": "Observation/o1",
                                   "codes": ["http://loinc.org|2345-7"]}]


def test_a_spleen_in_millilitres_without_any_weight_is_refused_naming_the_unit() -> None:
    ertplan_code = (GOALS.fhir_codes["spleen-volume"].system, "spleen-volume")
    with pytest.raises(InputError) as raised:
        _read(_bundle(_observation(ertplan_code, 1400, "mL")))
    assert raised.value.field == "entry[1].resource.valueQuantity.unit"
    assert "needs a body weight" in raised.value.problem


def test_a_spleen_in_millilitres_takes_the_weight_measured_before_it() -> None:
    ertplan_code = (GOALS.fhir_codes["spleen-volume"].system, "spleen-volume")
    weight_code = (LOINC, "29463-7")
    plan = _read(_bundle(_observation(weight_code, 80, "kg", "2026-01-01", "w1"),
                         _observation(weight_code, 70, "kg", "2026-11-01", "w2"),
                         _observation(ertplan_code, 1400, "mL", "2026-12-01", "s1"),
                         _observation(weight_code, 50, "kg", "2026-12-31", "w3")))
    # 1400 mL against a normal spleen of 2 mL/kg x 70 kg = 140 mL
    assert [item["value"] for item in plan.observations] == [10]


@pytest.mark.parametrize(("bundle", "field"), [
    ([], "bundle.resourceType"),
    ({"resourceType": "Patient"}, "bundle.resourceType"),
    ({"resourceType": "Bundle", "type": "collection"}, "bundle.entry"),
    ({"resourceType": "Bundle", "type": "collection", "entry": [{}]}, "entry[0].resource"),
])
def test_what_is_not_a_bundle_of_one_patient_is_refused_naming_the_field(
        bundle: Any, field: str) -> None:
    with pytest.raises(InputError) as raised:
        _read(bundle)
    assert raised.value.field == field


def test_a_bundle_with_two_patients_is_refused() -> None:
    bundle = _bundle()
    bundle["entry"].append(copy.deepcopy(bundle["entry"][0]))
    with pytest.raises(InputError, match="exactly one Patient"):
        _read(bundle)


def test_an_invalid_resource_is_named_by_its_entry_and_element() -> None:
    bundle = _bundle(_observation((LOINC, "718-7"), 12, "g/dL"))
    bundle["entry"][1]["resource"]["valueQuantity"]["value"] = "twelve"
    with pytest.raises(InputError) as raised:
        _read(bundle)
    assert raised.value.field == "entry[1].resource.valueQuantity.value"
    assert raised.value.problem.startswith("Observation/o1: ")


def test_a_resource_type_fhir_r4_does_not_have_is_refused() -> None:
    with pytest.raises(InputError, match="not a FHIR R4 resource type"):
        validate_resource({"resourceType": "Dragon"}, "entry[0].resource")


def test_a_new_patient_is_read_with_its_gaucher_record() -> None:
    plan = _read(_bundle())
    assert plan.identifier == "MRN-0001"
    assert plan.patient is not None
    assert plan.patient["gaucher_type"] == 1
    assert plan.patient["birth_date"] == date(1990, 5, 1)
    assert plan.patient["manifestations"] == ["splenomegaly"]
    assert plan.patient["pregnancy_status"] == "not-pregnant"


def test_a_patient_without_ertplan_extensions_can_only_be_matched() -> None:
    bundle = _bundle()
    del bundle["entry"][0]["resource"]["extension"]
    plan = _read(bundle)
    assert plan.identifier == "MRN-0001"
    assert plan.patient is None


ORDER = {"id": 1, "patient_id": 1, "drug": "imiglucerase", "dose_units_per_kg": 60.0,
         "interval_days": 14.0, "duration_min": None, "start_date": "2026-12-07",
         "end_date": None, "prescriber_id": 5, "status": "ordered", "change_reason": None,
         "verified_by_id": None, "verified_at": None, "override_reason": None,
         "alert_codes": None}


def _order_bundle() -> dict[str, Any]:
    return export_bundle(_records(orders=[ORDER], usernames={5: "dr-house"},
                                  drug_codings=DRUGS), goals=GOALS, bundle_id="b1",
                         timestamp=AT)


def test_an_order_is_read_back_with_its_timing_and_prescriber() -> None:
    plan = _read(_order_bundle())
    assert plan.orders[0]["prescriber"] == "dr-house"
    columns = plan.orders[0]["columns"]
    assert (columns["dose_units_per_kg"], columns["interval_days"]) == (60, 14)
    assert columns["start_date"] == date(2026, 12, 7)


def test_an_order_says_its_dose_per_kg_and_in_units_at_the_weight_before_its_start() -> None:
    records = _records(orders=[ORDER], usernames={5: "dr-house"}, drug_codings=DRUGS,
                       weights=[_weight(1, 68, "2026-10-01"), _weight(2, 70, "2026-12-01"),
                                _weight(3, 75, "2027-02-01")])  # the last: after the start
    bundle = export_bundle(records, goals=GOALS, bundle_id="b1", timestamp=AT)
    request = next(e["resource"] for e in bundle["entry"]
                   if e["resource"]["resourceType"] == "MedicationRequest")
    ordered, calculated = request["dosageInstruction"][0]["doseAndRate"]
    assert ordered["type"]["coding"][0]["code"] == "ordered"
    assert (ordered["doseQuantity"]["value"], ordered["doseQuantity"]["code"]) == (60, "U/kg")
    assert calculated["type"]["coding"][0]["code"] == "calculated"
    # 60 U/kg x 70 kg (weighed 2026-12-01, before the 2026-12-07 start) = 4200 U
    assert (calculated["doseQuantity"]["value"], calculated["doseQuantity"]["code"]) == (
        4200, "U")
    assert "4200 U at 70 kg" in request["text"]["div"]
    assert _read(bundle).orders[0]["columns"]["dose_units_per_kg"] == 60


def test_an_order_without_an_earlier_weight_gives_its_dose_per_kg_only() -> None:
    bundle = _order_bundle()
    request = next(e["resource"] for e in bundle["entry"]
                   if e["resource"]["resourceType"] == "MedicationRequest")
    assert len(request["dosageInstruction"][0]["doseAndRate"]) == 1


@pytest.mark.parametrize(("change", "field"), [
    ({"periodUnit": "mo", "period": 1}, "timing.repeat.period"),  # a month has no fixed length
    ({"frequency": 2}, "timing.repeat.period"),
])
def test_an_order_whose_timing_ertplan_cannot_plan_is_refused(
        change: dict[str, Any], field: str) -> None:
    bundle = _order_bundle()
    bundle["entry"][1]["resource"]["dosageInstruction"][0]["timing"]["repeat"].update(change)
    with pytest.raises(InputError) as raised:
        _read(bundle)
    assert raised.value.field.endswith(field)


def test_an_order_for_a_drug_ertplan_has_no_monograph_for_is_refused() -> None:
    bundle = _order_bundle()
    bundle["entry"][1]["resource"]["medicationCodeableConcept"] = {
        "coding": [{"system": "http://www.whocc.no/atc", "code": "A16AB03"}]}
    with pytest.raises(InputError, match="no drug ertplan has a monograph for"):
        _read(bundle)


def test_an_order_from_another_system_is_skipped_and_said() -> None:
    bundle = _order_bundle()
    bundle["entry"][1]["resource"]["extension"] = []
    plan = _read(bundle)
    assert plan.orders == []
    assert plan.skipped[0]["resource"] == "MedicationRequest/order-1"
    assert "weights and lab results only" in plan.skipped[0]["reason"]


def _infusion_bundle() -> dict[str, Any]:
    preparation = {"id": 1, "order_id": 1, "prepared_by_id": 6, "verified_by_id": None,
                   "reconstituted_at": "2026-12-07T08:00:00+00:00",
                   "diluted_at": "2026-12-07T08:30:00+00:00", "storage": "refrigerated",
                   "dose_units": 4200.0, "reconstituted_beyond_use_at": None,
                   "beyond_use_at": "2026-12-08T08:30:00+00:00", "plan": {"dose_units": 4200},
                   "vials": [{"lot": "L1", "vial_units": 400, "count": 11,
                              "expiry_date": "2027-06-30"}]}
    administration = {"id": 1, "preparation_id": 1, "given_by_id": 7,
                      "started_at": "2026-12-07T09:00:00+00:00",
                      "ended_at": "2026-12-07T10:30:00+00:00", "premedication": None,
                      "rate_changes": [], "reactions": []}
    return export_bundle(_records(orders=[ORDER], preparations=[preparation],
                                  administrations=[administration],
                                  usernames={5: "dr-house", 6: "ana", 7: "joy"},
                                  drug_codings=DRUGS), goals=GOALS, bundle_id="b1",
                         timestamp=AT)


def test_an_infusion_is_read_back_with_its_bag_and_nurse() -> None:
    plan = _read(_infusion_bundle())
    assert plan.preparations[0]["vials"] == [{"lot": "L1", "vial_units": 400, "count": 11,
                                              "expiry_date": date(2027, 6, 30)}]
    assert plan.administrations[0]["given_by"] == "joy"
    assert plan.administrations[0]["preparation_key"] == plan.preparations[0]["key"]


@pytest.mark.parametrize(("period", "field", "words"), [
    ({"start": "2026-12-09T09:00:00+00:00"}, "effectivePeriod.start", "beyond-use"),
    ({"start": "2026-12-07T08:00:00+00:00"}, "effectivePeriod.start", "before the bag"),
    ({"start": "2026-12-07T09:00:00+00:00", "end": "2026-12-07T08:59:00+00:00"},
     "effectivePeriod.end", "before the start"),
])
def test_an_infusion_the_records_would_have_refused_is_refused(
        period: dict[str, str], field: str, words: str) -> None:
    bundle = _infusion_bundle()
    given = next(entry["resource"] for entry in bundle["entry"]
                 if entry["resource"]["resourceType"] == "MedicationAdministration")
    given["effectivePeriod"] = period
    with pytest.raises(InputError) as raised:
        _read(bundle)
    assert raised.value.field.endswith(field)
    assert words in raised.value.problem


@pytest.mark.parametrize(("change", "reason"), [
    ({"status": "entered-in-error"}, "its status is entered-in-error"),
    ({"status": "cancelled"}, "its status is cancelled"),
    ({"valueQuantity": None, "dataAbsentReason": {"text": "haemolysed"}}, "no value"),
    ({"valueQuantity": {"value": 10, "comparator": "<", "unit": "10*9/L",
                        "system": "http://unitsofmeasure.org", "code": "10*9/L"}},
     "a censored value (< 10)"),
])
def test_what_is_not_an_exact_result_is_skipped_and_said(
        change: dict[str, Any], reason: str) -> None:
    observation = _observation((LOINC, "777-3"), 10, "10*9/L")
    observation["resource"].update(change)
    observation["resource"] = {key: value for key, value in observation["resource"].items()
                               if value is not None}
    plan = _read(_bundle(observation))
    assert plan.observations == []
    assert [(item["entry"], item["resource"]) for item in plan.skipped] == [
        (1, "Observation/o1")]
    assert plan.skipped[0]["reason"].startswith(reason)


def test_a_result_dated_by_its_period_takes_the_start_day() -> None:
    observation = _observation((LOINC, "777-3"), 150, "10*9/L")
    del observation["resource"]["effectiveDateTime"]
    observation["resource"]["effectivePeriod"] = {"start": "2026-11-02T23:00:00+00:00",
                                                  "end": "2026-11-03T01:00:00+00:00"}
    plan = _read(_bundle(observation))
    assert plan.observations[0]["observed_on"] == date(2026, 11, 2)
