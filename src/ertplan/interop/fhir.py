"""One patient's records as a FHIR R4 ``collection`` Bundle, and such a Bundle read back.

Pure functions over plain data: the shell hands in the records as the store's snapshots (columns,
dates in ISO 8601) and gets JSON-ready resources back; a Bundle read in becomes an
:class:`ImportPlan` the shell writes in one transaction. Every resource made or read is validated
with the ``fhir.resources`` R4B models (FHIR 4.3, wire-compatible with R4 4.0.1 for the resources
used here; see the README). What FHIR has an element for goes there (codes, UCUM quantities,
timing, lots, periods); what only ertplan records (verification, beyond-use times, the core plan)
travels in extensions under :data:`EXTENSION`, so that an export imported into an empty store
recreates the same records. Anything that cannot be read is an :class:`InputError` naming the entry
and element (``entry[3].resource.valueQuantity.unit``): a Bundle imports whole or not at all.
"""

from __future__ import annotations

import html
import json
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from ertplan.core.errors import InputError
from ertplan.core.goals import Goals, ObservationCode
from ertplan.core.monitoring import convert_to_analyte_unit
from ertplan.core.units import INTERVAL, MASS, UnitTable, parse_quantity
from ertplan.interop.cds import PER_KG_CODE, UCUM_SYSTEM, UNITS_CODE
from ertplan.interop.cds import codings as _codings

__all__ = ["EXTENSION", "ImportPlan", "PatientRecords", "export_bundle", "read_bundle",
           "validate_resource"]

ERTPLAN_FHIR = "http://ertplan.invalid/fhir"
EXTENSION = f"{ERTPLAN_FHIR}/StructureDefinition/"
PATIENT_IDENTIFIER_SYSTEM = f"{ERTPLAN_FHIR}/identifier/patient"
USER_IDENTIFIER_SYSTEM = f"{ERTPLAN_FHIR}/identifier/user"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
# fullUrls are urn:uuid, derived from the record's table and id: exporting twice gives one Bundle
_NAMESPACE = uuid.UUID("6f1c1f3e-5a52-4d0e-9a51-2b8f0d7e0c11")
_XHTML = "http://www.w3.org/1999/xhtml"
# UCUM's enzyme unit is written `U` (µmol/min); `[U]` (not a UCUM code) is read from older exports
_PER_KG = PER_KG_CODE
_PER_KG_READ = (PER_KG_CODE, "[U]/kg")
_DOSE_RATE_TYPES = "http://terminology.hl7.org/CodeSystem/dose-rate-type"
_UNITS = UNITS_CODE
_UNITS_READ = (UNITS_CODE, "[U]")
_RATE = "mL/h"
# FHIR Timing units (UCUM) -> the words ertplan's unit file knows; months and years have no
# fixed length, so an order in them is refused rather than guessed
_TIME_WORDS = {"s": "second", "min": "minute", "h": "hour", "d": "day", "wk": "week"}
# UCUM codes whose spelling pint does not share
_UCUM_SPELLINGS = {"[lb_av]": "lb", "[oz_av]": "oz", "[U]": "U", "[iU]": "IU"}
_ORDER_STATUS = {"ordered": "active", "verified": "active", "discontinued": "stopped"}
# Observation statuses that carry no result (as the CDS service reads them)
_NOT_A_RESULT = ("entered-in-error", "cancelled", "registered")


# ---- the records handed in by the shell ----


@dataclass(frozen=True, kw_only=True)
class PatientRecords:
    """One patient's stored records, each as the store's snapshot (columns, ISO dates).

    `preparations` carry their ``vials``; `administrations` their ``rate_changes`` and
    ``reactions``; `usernames` name the users the records point at by id; `drug_codings` are
    each drug's (system, code) pairs from its monograph.
    """

    patient: Mapping[str, Any]
    weights: Sequence[Mapping[str, Any]] = ()
    observations: Sequence[Mapping[str, Any]] = ()
    orders: Sequence[Mapping[str, Any]] = ()
    preparations: Sequence[Mapping[str, Any]] = ()
    administrations: Sequence[Mapping[str, Any]] = ()
    usernames: Mapping[int, str] = field(default_factory=dict)
    drug_codings: Mapping[str, Sequence[tuple[str, str]]] = field(default_factory=dict)


def full_url(table: str, record_id: int) -> str:
    """The Bundle fullUrl of a record: a UUID fixed by its table and id.

    >>> full_url("patients", 1) == full_url("patients", 1) != full_url("patients", 2)
    True
    """
    return f"urn:uuid:{uuid.uuid5(_NAMESPACE, f'ertplan/{table}/{record_id}')}"


def _narrative(*lines: str) -> dict[str, str]:
    body = "".join(f"<p>{html.escape(line)}</p>" for line in lines)
    return {"status": "generated", "div": f'<div xmlns="{_XHTML}">{body}</div>'}


def _ext(name: str, **value: Any) -> dict[str, Any]:
    return {"url": EXTENSION + name, **value}


def _user(usernames: Mapping[int, str], user_id: int | None) -> dict[str, Any]:
    name = usernames.get(user_id, f"user {user_id}") if user_id is not None else "unknown"
    return {"identifier": {"system": USER_IDENTIFIER_SYSTEM, "value": name}, "display": name}


def _quantity(value: float, unit: str, ucum: str | None) -> dict[str, Any]:
    quantity: dict[str, Any] = {"value": value, "unit": unit}
    if ucum is not None:
        quantity.update(system=UCUM_SYSTEM, code=ucum)
    return quantity


def _concept(entry: ObservationCode, text: str | None = None) -> dict[str, Any]:
    concept: dict[str, Any] = {"coding": [{"system": entry.system, "code": entry.code,
                                           "display": entry.display}]}
    if text is not None:
        concept["text"] = text
    return concept


def _drug(name: str, codings: Mapping[str, Sequence[tuple[str, str]]]) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code} for system, code in codings.get(name, ())],
            "text": name}


# ---- export ----


def export_bundle(records: PatientRecords, *, goals: Goals, bundle_id: str,
                  timestamp: datetime,
                  identifier_system: str = PATIENT_IDENTIFIER_SYSTEM) -> dict[str, Any]:
    """The patient's records as a FHIR R4 ``collection`` Bundle, each resource validated.

    A collection, not a ``document``: a document needs a Composition that a clinician attests,
    and this is a set of records for exchange (FHIR R4 §Bundle, bundle-type).
    """
    patient = records.patient
    subject = {"reference": full_url("patients", patient["id"]), "display": patient["name"]}
    entries = [_entry("patients", patient["id"], _patient(patient, identifier_system))]
    weight_code = _first_code(goals, "weight", None)
    for weight in records.weights:
        entries.append(_entry("weights", weight["id"], _weight(weight, weight_code, subject)))
    for observation in records.observations:
        entries.append(_entry("observations", observation["id"],
                              _observation(observation, goals, subject)))
    orders = {order["id"]: order for order in records.orders}
    for order in records.orders:
        entries.append(_entry("orders", order["id"], _medication_request(order, records,
                                                                         subject)))
    preparations = {preparation["id"]: preparation for preparation in records.preparations}
    for preparation in records.preparations:
        entries.append(_entry("preparations", preparation["id"], _medication(
            preparation, orders[preparation["order_id"]], records)))
    for administration in records.administrations:
        preparation = preparations[administration["preparation_id"]]
        entries.append(_entry("administrations", administration["id"], _administration(
            administration, preparation, orders[preparation["order_id"]], records, subject)))
        for reaction in administration["reactions"]:
            entries.append(_entry("reactions", reaction["id"], _adverse_event(
                reaction, administration, subject)))
    bundle = {"resourceType": "Bundle", "id": bundle_id, "type": "collection",
              "identifier": {"system": f"{ERTPLAN_FHIR}/identifier/bundle", "value": bundle_id},
              "timestamp": timestamp.isoformat(), "entry": entries}
    validate_resource(bundle)
    return bundle


def _entry(table: str, record_id: int, resource: dict[str, Any]) -> dict[str, Any]:
    resource = {"resourceType": resource.pop("resourceType"),
                "id": f"{table.removesuffix('s')}-{record_id}", **resource}
    return {"fullUrl": full_url(table, record_id), "resource": resource}


def _first_code(goals: Goals, record: str, analyte: str | None) -> ObservationCode:
    for entry in goals.fhir_codes.values():
        if entry.record == record and entry.analyte == analyte:
            return entry
    raise KeyError((record, analyte))  # the packaged goals file codes every record


def _patient(patient: Mapping[str, Any], identifier_system: str) -> dict[str, Any]:
    extensions = [_ext("gaucher-type", valueInteger=patient["gaucher_type"]),
                  _ext("pregnancy-status", valueCode=patient["pregnancy_status"])]
    extensions += [_ext("manifestation", valueCode=item) for item in patient["manifestations"]]
    for name, kind in (("lactating", "valueBoolean"),
                       ("hypersensitivity-history", "valueBoolean"),
                       ("prior-alglucerase-reaction", "valueBoolean"),
                       ("hypersensitivity", "valueString"),
                       ("alglucerase-antibodies", "valueString"),
                       ("alglucerase-reactions", "valueString")):
        value = patient[name.replace("-", "_")]
        if value is not None:
            extensions.append(_ext(name, **{kind: value}))
    return {
        "resourceType": "Patient",
        "text": _narrative(f"{patient['name']}, born {patient['birth_date']}, "
                           f"{patient['sex']}; identifier {patient['identifier']}",
                           f"Gaucher disease type {patient['gaucher_type']}; manifestations: "
                           + (", ".join(patient["manifestations"]) or "none recorded")),
        "extension": extensions,
        "identifier": [{"system": identifier_system, "value": patient["identifier"]}],
        "name": [{"text": patient["name"]}],
        "gender": patient["sex"],
        "birthDate": patient["birth_date"],
    }


def _category(code: str) -> list[dict[str, Any]]:
    return [{"coding": [{"system": OBSERVATION_CATEGORY, "code": code}]}]


def _weight(weight: Mapping[str, Any], code: ObservationCode,
            subject: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "text": _narrative(f"Body weight {weight['weight_kg']:g} kg on {weight['measured_on']}"),
        "status": "final",
        "category": _category(code.category),
        "code": _concept(code),
        "subject": subject,
        "effectiveDateTime": weight["measured_on"],
        "valueQuantity": _quantity(weight["weight_kg"], "kg", code.ucum),
    }


def _observation(observation: Mapping[str, Any], goals: Goals,
                 subject: dict[str, Any]) -> dict[str, Any]:
    kind = observation["kind"]
    text = observation["value_text"]
    analyte = None
    if kind == "biomarker" and text is not None:
        analyte = _analyte_named(goals, text)
    else:
        analyte = next((entry.analyte for entry in goals.fhir_codes.values()
                        if entry.record == kind and entry.analyte is not None), None)
    code = _first_code(goals, kind, analyte)
    named = kind == "biomarker" and text is not None
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "extension": [_ext("record-source", valueString=observation["source"])],
        "status": "final",
        "category": _category(code.category),
        "code": _concept(code, text if named else None),
        "subject": subject,
        "effectiveDateTime": observation["observed_on"],
    }
    unit = observation["unit"]
    if observation["value"] is not None:
        ucum = code.ucum if unit == code.unit else None
        resource["valueQuantity"] = _quantity(observation["value"], unit or "", ucum)
        if unit is None:
            del resource["valueQuantity"]["unit"]
        if text is not None and not named:
            resource["extension"].append(_ext("value-text", valueString=text))
        shown = f"{observation['value']:g} {unit or ''}".strip()
    else:
        if text is not None and not named:
            resource["valueString"] = text
        if unit is not None:
            resource["extension"].append(_ext("unit", valueString=unit))
        shown = text or "no value"
    label = text if named else code.display
    resource["text"] = _narrative(f"{label}: {shown} on {observation['observed_on']}",
                                  f"Source: {observation['source']}")
    return resource


def _analyte_named(goals: Goals, text: str) -> str | None:
    for entry in goals.fhir_codes.values():
        if entry.record == "biomarker" and entry.analyte is not None:
            analyte = goals.analytes[entry.analyte]
            term = text.strip().lower()
            if term == entry.analyte or term in analyte.aliases:
                return entry.analyte
    return None


def _medication_request(order: Mapping[str, Any], records: PatientRecords,
                        subject: dict[str, Any]) -> dict[str, Any]:
    repeat: dict[str, Any] = {"frequency": 1, "period": order["interval_days"], "periodUnit": "d",
                              "boundsPeriod": {"start": order["start_date"]}}
    if order["end_date"] is not None:
        repeat["boundsPeriod"]["end"] = order["end_date"]
    if order["duration_min"] is not None:
        repeat.update(duration=order["duration_min"], durationUnit="min")
    dose = f"{order['dose_units_per_kg']:g} U/kg every {order['interval_days']:g} days"
    dose_and_rate: list[dict[str, Any]] = [{
        "type": _dose_rate_type("ordered"),
        "doseQuantity": _quantity(order["dose_units_per_kg"], "U/kg", _PER_KG)}]
    weighed = [weight for weight in records.weights
               if str(weight["measured_on"]) <= str(order["start_date"])]
    if weighed:
        # the dose in units as the planner takes it: the order's U/kg times the last weight
        # recorded by the order's start (Dosage.doseAndRate.type "calculated")
        weight = max(weighed, key=lambda w: str(w["measured_on"]))
        units = float(f"{order['dose_units_per_kg'] * weight['weight_kg']:.12g}")
        dose_and_rate.append({"type": _dose_rate_type("calculated"),
                              "doseQuantity": _quantity(units, "U", _UNITS)})
        dose += (f" ({units:g} U at {weight['weight_kg']:g} kg, the weight of "
                 f"{weight['measured_on']})")
    extensions = [_ext("order-status", valueCode=order["status"])]
    for name, kind in (("change-reason", "valueString"), ("verified-at", "valueDateTime"),
                       ("override-reason", "valueString"), ("alert-codes", "valueString")):
        value = order[name.replace("-", "_")]
        if value is not None:
            extensions.append(_ext(name, **{kind: value}))
    if order["verified_by_id"] is not None:
        extensions.append(_ext("verified-by", valueString=records.usernames.get(
            order["verified_by_id"], str(order["verified_by_id"]))))
    return {
        "resourceType": "MedicationRequest",
        "text": _narrative(f"{order['drug']} {dose} from {order['start_date']}"
                           + (f" to {order['end_date']}" if order["end_date"] else ""),
                           f"Status: {order['status']}. Decision support: every plan must be "
                           "verified by a pharmacist."),
        "extension": extensions,
        "status": _ORDER_STATUS[order["status"]],
        "intent": "order",
        "medicationCodeableConcept": _drug(order["drug"], records.drug_codings),
        "subject": subject,
        "requester": _user(records.usernames, order["prescriber_id"]),
        "dosageInstruction": [{
            "text": dose,
            "timing": {"repeat": repeat},
            "doseAndRate": dose_and_rate,
        }],
    }


def _dose_rate_type(code: str) -> dict[str, Any]:
    """A Dosage.doseAndRate.type (FHIR R4 value set dose-rate-type: ordered, calculated)."""
    return {"coding": [{"system": _DOSE_RATE_TYPES, "code": code}]}


def _medication(preparation: Mapping[str, Any], order: Mapping[str, Any],
                records: PatientRecords) -> dict[str, Any]:
    drug = _drug(order["drug"], records.drug_codings)
    contained, ingredients = [], []
    for index, vial in enumerate(preparation["vials"], start=1):
        contained.append({
            "resourceType": "Medication", "id": f"lot-{index}", "code": drug,
            "amount": {"numerator": _quantity(vial["vial_units"], "U", _UNITS),
                       "denominator": {"value": 1, "unit": "vial"}},
            "batch": {"lotNumber": vial["lot"], "expirationDate": vial["expiry_date"]}})
        ingredients.append({
            "itemReference": {"reference": f"#lot-{index}"}, "isActive": True,
            "strength": {"numerator": {"value": vial["count"], "unit": "vial"},
                         "denominator": {"value": 1, "unit": "bag"}}})
    extensions = [
        _ext("order", valueReference={"reference": full_url("orders", order["id"])}),
        _ext("prepared-by", valueString=records.usernames.get(
            preparation["prepared_by_id"], str(preparation["prepared_by_id"]))),
        _ext("reconstituted-at", valueDateTime=preparation["reconstituted_at"]),
        _ext("diluted-at", valueDateTime=preparation["diluted_at"]),
        _ext("storage", valueCode=preparation["storage"]),
        _ext("dose-units", valueDecimal=preparation["dose_units"]),
        _ext("plan", valueString=json.dumps(preparation["plan"], sort_keys=True,
                                            ensure_ascii=False))]
    for name in ("reconstituted-beyond-use-at", "beyond-use-at"):
        value = preparation[name.replace("-", "_")]
        if value is not None:
            extensions.append(_ext(name, valueDateTime=value))
    if preparation["verified_by_id"] is not None:
        extensions.append(_ext("verified-by", valueString=records.usernames.get(
            preparation["verified_by_id"], str(preparation["verified_by_id"]))))
    lots = "; ".join(f"{vial['count']} x {vial['vial_units']} U lot {vial['lot']} "
                     f"(expires {vial['expiry_date']})" for vial in preparation["vials"])
    return {
        "resourceType": "Medication",
        "text": _narrative(f"{order['drug']} {preparation['dose_units']:g} U bag, diluted "
                           f"{preparation['diluted_at']}, {preparation['storage']}; beyond use "
                           f"{preparation['beyond_use_at'] or 'at once (no stability given)'}",
                           f"Vials: {lots}"),
        "contained": contained,
        "extension": extensions,
        "code": drug,
        "ingredient": ingredients,
    }


def _administration(administration: Mapping[str, Any], preparation: Mapping[str, Any],
                    order: Mapping[str, Any], records: PatientRecords,
                    subject: dict[str, Any]) -> dict[str, Any]:
    changes = administration["rate_changes"]
    rate = changes[0]["rate_ml_per_h"] if changes else (
        preparation["plan"].get("infusion", {}).get("rate_ml_per_h"))
    period = {"start": administration["started_at"]}
    if administration["ended_at"] is not None:
        period["end"] = administration["ended_at"]
    # a complex extension: its parts are named by relative urls (FHIR R4 §Extensibility)
    extensions = [_ext("rate-change", extension=[
        {"url": "at", "valueDateTime": change["at"]},
        {"url": "rate-ml-per-h", "valueDecimal": change["rate_ml_per_h"]},
        *([{"url": "reason", "valueString": change["reason"]}] if change["reason"] else [])])
        for change in changes]
    if administration["premedication"] is not None:
        extensions.append(_ext("premedication", valueString=administration["premedication"]))
    dosage: dict[str, Any] = {
        "text": f"{preparation['dose_units']:g} U, the whole bag",
        "dose": _quantity(preparation["dose_units"], "U", _UNITS)}
    if rate is not None:
        dosage["rateQuantity"] = _quantity(rate, "mL/h", _RATE)
    lots = ", ".join(vial["lot"] for vial in preparation["vials"])
    resource: dict[str, Any] = {
        "resourceType": "MedicationAdministration",
        "text": _narrative(f"{order['drug']} {preparation['dose_units']:g} U from "
                           f"{administration['started_at']} to "
                           f"{administration['ended_at'] or '(running)'}",
                           f"Lots: {lots}; initial rate "
                           + (f"{rate:g} mL/h" if rate is not None else "not recorded")),
        "status": "completed" if administration["ended_at"] is not None else "in-progress",
        "medicationReference": {"reference": full_url("preparations", preparation["id"])},
        "subject": subject,
        "effectivePeriod": period,
        "performer": [{"actor": _user(records.usernames, administration["given_by_id"])}],
        "request": {"reference": full_url("orders", order["id"])},
        "dosage": dosage,
    }
    if extensions:
        resource["extension"] = extensions
    return resource


def _adverse_event(reaction: Mapping[str, Any], administration: Mapping[str, Any],
                   subject: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "AdverseEvent",
        "text": _narrative(f"Infusion reaction grade {reaction['grade']} at {reaction['at']}: "
                           f"{reaction['description']}",
                           f"Action taken: {reaction['action_taken']}"),
        "extension": [_ext("reaction-grade", valueInteger=reaction["grade"]),
                      _ext("action-taken", valueString=reaction["action_taken"])],
        "actuality": "actual",
        "event": {"text": reaction["description"]},
        "subject": subject,
        "date": reaction["at"],
        "suspectEntity": [{"instance": {
            "reference": full_url("administrations", administration["id"])}}],
    }


# ---- validation ----


def validate_resource(resource: Mapping[str, Any], where: str = "") -> None:
    """Check `resource` against its FHIR R4B model; InputError names the first bad element.

    `where` prefixes the element's path (empty for a Bundle: ``entry[3].resource.status``).
    """
    from fhir.resources.R4B import get_fhir_model_class
    from pydantic import ValidationError

    resource_type = str(resource.get("resourceType"))
    model = _model(get_fhir_model_class, resource_type, f"{where or 'bundle'}.resourceType")
    if resource_type == "Bundle" and isinstance(resource.get("entry"), list):
        # fhir.resources fails with a bare KeyError on an entry of an unknown resource type
        for index, entry in enumerate(resource["entry"]):
            inner = entry.get("resource") if isinstance(entry, Mapping) else None
            if isinstance(inner, Mapping):
                _model(get_fhir_model_class, str(inner.get("resourceType")),
                       f"{where}.entry[{index}].resource.resourceType".lstrip("."))
    try:
        model.model_validate(dict(resource))
    except (KeyError, TypeError, AttributeError) as error:  # a model's own validator slipped
        raise InputError(where or "bundle", f"{resource_type}: is not valid FHIR R4 "
                         f"({error.__class__.__name__})") from None
    except ValidationError as error:
        first = error.errors()[0]
        loc = [part for part in first["loc"] if part != "__root__"]
        path = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc)
        name = resource_type
        if resource_type == "Bundle" and len(loc) > 2 and loc[0] == "entry" and isinstance(
                loc[1], int) and loc[2] == "resource":
            inner = resource["entry"][loc[1]]["resource"]
            name = f"{inner.get('resourceType')}/{inner.get('id', '(no id)')}"
        raise InputError(f"{where}{path}".lstrip("."), f"{name}: {first['msg']}",
                         _shown(first.get("input"))) from None


def _model(lookup: Any, resource_type: str, field_: str) -> Any:
    try:
        return lookup(resource_type)
    except (KeyError, ValueError):  # fhir.resources says ValueError; older majors KeyError
        raise InputError(field_, "is not a FHIR R4 resource type", resource_type) from None


def _shown(value: object) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    return str(value)[:100]


# ---- import ----


@dataclass(kw_only=True)
class ImportPlan:
    """What a Bundle holds for the store, checked and converted; the shell writes it whole.

    Records point at each other by the Bundle's fullUrls (`key`s) and at users by username.
    `patient` is None when the Patient carries no Gaucher type (it can then only be matched).
    """

    identifier: str
    patient: dict[str, Any] | None
    patient_entry: int
    weights: list[dict[str, Any]] = field(default_factory=list)
    observations: list[dict[str, Any]] = field(default_factory=list)
    orders: list[dict[str, Any]] = field(default_factory=list)
    preparations: list[dict[str, Any]] = field(default_factory=list)
    administrations: list[dict[str, Any]] = field(default_factory=list)
    conversions: list[dict[str, Any]] = field(default_factory=list)
    unknown_codes: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class _Entry:
    index: int
    resource: Mapping[str, Any]

    @property
    def where(self) -> str:
        return f"entry[{self.index}].resource"

    @property
    def name(self) -> str:
        return f"{self.resource.get('resourceType')}/{self.resource.get('id', '(no id)')}"


def patient_identifier(bundle: object, system: str = PATIENT_IDENTIFIER_SYSTEM) -> str:
    """The value of the Bundle's one Patient's identifier in the clinic's `system` (a patient is
    matched on system and value, never on the value alone).

    The Bundle is validated first: a malformed one is refused here, naming the element.
    """
    entries = _entries(bundle)
    validate_resource(bundle)  # type: ignore[arg-type]  # a Mapping, checked by _entries
    return _identifier(_patient_entry(entries), system)


def patient_differences(bundle: object, stored: Mapping[str, Any]) -> tuple[int, list[str]]:
    """The Bundle's Patient entry, and how it differs from the `stored` patient (columns
    ``name``, ``sex``, ``birth_date``): empty when name, sex and birth date all confirm the match
    made on the identifier."""
    patient = _patient_entry(_entries(bundle))
    return patient.index, demographic_differences(patient.resource, stored)


def _name_words(text: str) -> tuple[str, ...]:
    return tuple(sorted(re.sub(r"[^\w\s]", " ", text.casefold()).split()))


def demographic_differences(resource: Mapping[str, Any], stored: Mapping[str, Any]) -> list[str]:
    """How a FHIR Patient differs from a stored patient in name, sex and birth date; a missing
    element is a difference too (it cannot confirm the match).

    >>> stored = {"name": "A. Patient", "sex": "female", "birth_date": "1990-05-01"}
    >>> demographic_differences({"name": [{"family": "Patient", "given": ["A."]}],
    ...     "gender": "female", "birthDate": "1990-05-01"}, stored)
    []
    >>> demographic_differences({"name": [{"text": "B. Other"}], "gender": "male"}, stored)
    ["name: 'B. Other' here, 'A. Patient' in ertplan", "gender: 'male' here, 'female' in \
ertplan", "birthDate: missing here, '1990-05-01' in ertplan"]
    """
    names = [name.get("text") or " ".join([*name.get("given", []), name.get("family", "")])
             for name in resource.get("name") or () if isinstance(name, Mapping)]
    names = [name.strip() for name in names if isinstance(name, str) and name.strip()]
    found: list[str] = []
    if _name_words(str(stored["name"])) not in {_name_words(name) for name in names}:
        found.append(f"name: {names[0]!r} here, {stored['name']!r} in ertplan" if names
                     else f"name: missing here, {stored['name']!r} in ertplan")
    for element, column in (("gender", "sex"), ("birthDate", "birth_date")):
        given, kept = resource.get(element), str(stored[column])
        if given != kept:
            found.append(f"{element}: {given!r} here, {kept!r} in ertplan" if given is not None
                         else f"{element}: missing here, {kept!r} in ertplan")
    return found


def read_bundle(bundle: object, *, goals: Goals, drugs: Mapping[str, Sequence[tuple[str, str]]],
                store_weights: Sequence[tuple[date, float]] = (),
                table: UnitTable | None = None,
                identifier_system: str = PATIENT_IDENTIFIER_SYSTEM) -> ImportPlan:
    """Check every resource of `bundle` and gather what ertplan stores, converted to its units.

    `drugs` maps each drug ertplan has a monograph for to its (system, code) pairs;
    `store_weights` are the matched patient's stored weights (organ volumes in mL need one).
    Observations with codes the goals file does not list are reported, not refused; a resource
    that breaks FHIR or ertplan's rules refuses the whole Bundle.
    """
    memo: UnitTable = {} if table is None else table
    entries = _entries(bundle)
    validate_resource(bundle)  # type: ignore[arg-type]  # a Mapping, checked above
    patient = _patient_entry(entries)
    plan = ImportPlan(identifier=_identifier(patient, identifier_system),
                      patient=_patient_columns(patient),
                      patient_entry=patient.index)
    references = _reference_index(bundle, entries)
    subject_keys = {f"Patient/{patient.resource.get('id')}", _full_url(bundle, patient.index)}
    weights = list(store_weights)
    coded = []
    for entry in entries:
        kind = entry.resource.get("resourceType")
        if kind == "Observation":
            _check_subject(entry, subject_keys)
            code = _observation_code(entry, goals)
            not_stored = _not_a_stored_result(entry.resource)
            if not_stored is not None:
                plan.skipped.append({"entry": entry.index, "resource": entry.name,
                                     "reason": not_stored})
            elif code is None:
                plan.unknown_codes.append({
                    "entry": entry.index, "resource": entry.name,
                    "codes": sorted(f"{system}|{value}" for system, value in
                                    _codings(entry.resource.get("code")))})
            elif code.record == "weight":
                weight = _read_weight(entry, memo)
                plan.weights.append(weight)
                weights.append((weight["measured_on"], weight["weight_kg"]))
            else:
                coded.append((entry, code))
        elif kind not in ("Patient", "MedicationRequest", "Medication",
                          "MedicationAdministration", "AdverseEvent"):
            plan.skipped.append({"entry": entry.index, "resource": entry.name,
                                 "reason": "ertplan does not import this resource type"})
    for entry, code in coded:
        plan.observations.append(_read_observation(entry, code, goals, weights, memo, plan))
    _read_treatment(entries, references, drugs, plan, memo)
    return plan


def _entries(bundle: object) -> list[_Entry]:
    if not isinstance(bundle, Mapping) or bundle.get("resourceType") != "Bundle":
        raise InputError("bundle.resourceType", "must be Bundle (a FHIR R4 Bundle in JSON)",
                         None if not isinstance(bundle, Mapping)
                         else _shown(bundle.get("resourceType")))
    listed = bundle.get("entry") or []
    if not isinstance(listed, list):
        raise InputError("bundle.entry", "must be a list of entries")
    found = []
    for index, entry in enumerate(listed):
        resource = entry.get("resource") if isinstance(entry, Mapping) else None
        if not isinstance(resource, Mapping):
            raise InputError(f"entry[{index}].resource", "is missing: ertplan imports only "
                             "entries that carry a resource")
        found.append(_Entry(index, resource))
    return found


def _full_url(bundle: object, index: int) -> str:
    assert isinstance(bundle, Mapping)
    value = bundle["entry"][index].get("fullUrl")
    return str(value) if value else f"(entry {index})"


def _reference_index(bundle: object, entries: Sequence[_Entry]) -> dict[str, _Entry]:
    index: dict[str, _Entry] = {}
    for entry in entries:
        index[_full_url(bundle, entry.index)] = entry
        index[f"{entry.resource.get('resourceType')}/{entry.resource.get('id')}"] = entry
    return index


def _patient_entry(entries: Sequence[_Entry]) -> _Entry:
    patients = [entry for entry in entries if entry.resource.get("resourceType") == "Patient"]
    if len(patients) != 1:
        raise InputError("bundle.entry", "must hold exactly one Patient (the patient whose "
                         f"records these are), not {len(patients)}")
    return patients[0]


def _identifier(entry: _Entry, system: str) -> str:
    identifiers = [item for item in entry.resource.get("identifier") or ()
                   if isinstance(item, Mapping) and isinstance(item.get("value"), str)
                   and item["value"].strip()]
    ours = [item for item in identifiers if item.get("system") == system]
    if not ours:
        given = ", ".join(f"{item.get('system') or '(no system)'}|{item['value']}"
                          for item in identifiers[:5]) or "none"
        raise InputError(f"{entry.where}.identifier", f"{entry.name}: needs an identifier of "
                         f"this clinic's system {system}: ertplan matches a patient on system "
                         f"and value (given: {given})")
    return str(ours[0]["value"]).strip()


def _extensions(resource: Mapping[str, Any], name: str) -> list[Mapping[str, Any]]:
    return [item for item in resource.get("extension") or ()
            if isinstance(item, Mapping) and item.get("url") == EXTENSION + name]


def _extension(resource: Mapping[str, Any], name: str, kind: str) -> Any:
    found = _extensions(resource, name)
    return found[0].get(kind) if found else None


def _part(extension: Mapping[str, Any], name: str, kind: str) -> Any:
    """A part of a complex extension (named by a relative url)."""
    for item in extension.get("extension") or ():
        if isinstance(item, Mapping) and item.get("url") == name:
            return item.get(kind)
    return None


def _patient_columns(entry: _Entry) -> dict[str, Any] | None:
    resource = entry.resource
    gaucher_type = _extension(resource, "gaucher-type", "valueInteger")
    if gaucher_type is None:
        return None
    where = entry.where
    if gaucher_type not in (1, 2, 3):
        raise InputError(f"{where}.extension", f"{entry.name}: gaucher-type must be 1, 2 or 3",
                         str(gaucher_type))
    names = [name.get("text") or " ".join([*name.get("given", []), name.get("family", "")])
             for name in resource.get("name") or () if isinstance(name, Mapping)]
    name = next((text.strip() for text in names if text and text.strip()), None)
    if name is None:
        raise InputError(f"{where}.name", f"{entry.name}: a new patient needs a name")
    if not resource.get("birthDate") or len(str(resource["birthDate"])) != 10:
        raise InputError(f"{where}.birthDate", f"{entry.name}: a new patient needs a full "
                         "birth date (YYYY-MM-DD)", _shown(resource.get("birthDate")))
    columns: dict[str, Any] = {
        "name": name, "birth_date": date.fromisoformat(resource["birthDate"]),
        "sex": resource.get("gender") or "unknown", "gaucher_type": gaucher_type,
        "pregnancy_status": _extension(resource, "pregnancy-status", "valueCode") or "unknown",
        "manifestations": [item.get("valueCode") for item in
                           _extensions(resource, "manifestation")]}
    for name_, kind in (("lactating", "valueBoolean"),
                        ("hypersensitivity-history", "valueBoolean"),
                        ("prior-alglucerase-reaction", "valueBoolean"),
                        ("hypersensitivity", "valueString"),
                        ("alglucerase-antibodies", "valueString"),
                        ("alglucerase-reactions", "valueString")):
        columns[name_.replace("-", "_")] = _extension(resource, name_, kind)
    return columns


def _not_a_stored_result(resource: Mapping[str, Any]) -> str | None:
    """Why an Observation is no result to store, or None: ertplan never stores a guess."""
    status = resource.get("status")
    if status in _NOT_A_RESULT:
        return f"its status is {status}: not a result"
    has_value = resource.get("valueQuantity") is not None or resource.get(
        "valueString") is not None
    if not has_value and resource.get("dataAbsentReason") is not None:
        return "no value (dataAbsentReason)"
    quantity = resource.get("valueQuantity")
    if isinstance(quantity, Mapping) and quantity.get("comparator"):
        return (f"a censored value ({quantity['comparator']} {quantity.get('value')}): "
                "ertplan stores exact numbers only")
    return None


def _observation_code(entry: _Entry, goals: Goals) -> ObservationCode | None:
    codings = _codings(entry.resource.get("code"))
    for code in goals.fhir_codes.values():
        if (code.system, code.code) in codings:
            return code
    return None


def _check_subject(entry: _Entry, subject_keys: set[str]) -> None:
    subject = entry.resource.get("subject")
    reference = subject.get("reference") if isinstance(subject, Mapping) else None
    if reference not in subject_keys:
        raise InputError(f"{entry.where}.subject", f"{entry.name}: must refer to the Bundle's "
                         "Patient", _shown(reference))


def _day(entry: _Entry) -> date:
    """The day of a result as written (effectiveDateTime, effectiveInstant, or the start of
    effectivePeriod)."""
    resource = entry.resource
    period = resource.get("effectivePeriod")
    value = resource.get("effectiveDateTime") or resource.get("effectiveInstant") or (
        period.get("start") if isinstance(period, Mapping) else None)
    if not isinstance(value, str) or len(value) < 10:
        raise InputError(f"{entry.where}.effectiveDateTime", f"{entry.name}: needs the date "
                         "of the result (effectiveDateTime, at least YYYY-MM-DD)", _shown(value))
    return date.fromisoformat(value[:10])


def _value_and_unit(entry: _Entry) -> tuple[float, str]:
    quantity = entry.resource.get("valueQuantity")
    where = f"{entry.where}.valueQuantity"
    if not isinstance(quantity, Mapping) or quantity.get("value") is None:
        raise InputError(f"{where}.value", f"{entry.name}: needs a numeric value")
    if quantity.get("system") == UCUM_SYSTEM and quantity.get("code"):
        return float(quantity["value"]), ucum_spelling(str(quantity["code"]))
    if not quantity.get("unit"):
        raise InputError(f"{where}.unit", f"{entry.name}: needs a unit (UCUM code or text)")
    return float(quantity["value"]), str(quantity["unit"])


def ucum_spelling(code: str) -> str:
    """A UCUM code as ertplan's unit parser spells it: ``10*9/L`` -> ``10^9/L``.

    >>> ucum_spelling("10*3/uL"), ucum_spelling("[lb_av]"), ucum_spelling("{cells}/uL")
    ('10^3/uL', 'lb', '/uL')
    """
    if code in _UCUM_SPELLINGS:
        return _UCUM_SPELLINGS[code]
    text = re.sub(r"\{[^}]*\}", "", code).replace("10*", "10^")
    return text or "1"


def _read_weight(entry: _Entry, table: UnitTable) -> dict[str, Any]:
    value, unit = _value_and_unit(entry)
    field_ = f"{entry.where}.valueQuantity"
    kilograms = parse_quantity(f"{value!r} {unit}", MASS, f"{field_}.unit", table)
    return {"weight_kg": float(f"{kilograms:.12g}"), "measured_on": _day(entry),
            "entry": entry.index, "resource": entry.name, "given": f"{value:g} {unit}"}


def _read_observation(entry: _Entry, code: ObservationCode, goals: Goals,
                      weights: Sequence[tuple[date, float]], table: UnitTable,
                      plan: ImportPlan) -> dict[str, Any]:
    resource = entry.resource
    observed_on = _day(entry)
    source = _extension(resource, "record-source", "valueString") or (
        f"FHIR import: {entry.name}")
    value_text = _extension(resource, "value-text", "valueString")
    if code.record == "biomarker":
        concept = resource.get("code")
        value_text = code.analyte or (concept.get("text") if isinstance(concept, Mapping)
                                      else None)
        if value_text is None:
            raise InputError(f"{entry.where}.code.text", f"{entry.name}: a biomarker ertplan "
                             "does not know must be named in code.text")
    record = {"kind": code.record, "value": None, "value_text": value_text, "unit": None,
              "observed_on": observed_on, "source": source, "entry": entry.index,
              "resource": entry.name}
    if resource.get("valueQuantity") is None:
        text = resource.get("valueString")
        if code.record != "biomarker":
            if not isinstance(text, str) or not text.strip():
                raise InputError(f"{entry.where}.valueString", f"{entry.name}: needs a value "
                                 "(valueQuantity or valueString)")
            record["value_text"] = text
        record["unit"] = _extension(resource, "unit", "valueString")
        return record
    value, unit = _value_and_unit(entry)
    if code.analyte is None or code.unit is None:
        record.update(value=value, unit=unit)
        return record
    weight_kg = _weight_on(weights, observed_on)
    field_ = f"{entry.where}.valueQuantity.unit"
    try:
        converted = convert_to_analyte_unit(code.analyte, value, unit, goals,
                                            weight_kg=weight_kg, table=table, field=field_)
    except InputError as error:
        if error.field == "weight":
            raise InputError(field_, f"{entry.name}: {unit} needs a body weight to convert to "
                             f"{code.unit}, and neither the Bundle nor the store holds one",
                             unit) from None
        raise InputError(error.field, f"{entry.name}: {error.problem}", error.value) from None
    record.update(value=converted, unit=code.unit)
    if unit != code.unit:
        plan.conversions.append({"entry": entry.index, "resource": entry.name,
                                 "given": f"{value:g} {unit}",
                                 "stored": f"{converted:g} {code.unit}"})
    return record


def _weight_on(weights: Sequence[tuple[date, float]], day: date) -> float | None:
    before = sorted(item for item in weights if item[0] <= day)
    if before:
        return before[-1][1]
    after = sorted(item for item in weights if item[0] > day)
    return after[0][1] if after else None


# ---- orders, preparations, administrations, reactions (ertplan's own exports) ----


def _is_ertplan(resource: Mapping[str, Any], marker: str) -> bool:
    return bool(_extensions(resource, marker))


def _referenced(references: Mapping[str, _Entry], value: object, where: str, name: str,
                resource_type: str) -> _Entry:
    reference = value.get("reference") if isinstance(value, Mapping) else None
    target = references.get(str(reference)) if reference else None
    if target is None or target.resource.get("resourceType") != resource_type:
        raise InputError(where, f"{name}: must refer to a {resource_type} in the Bundle",
                         _shown(reference))
    return target


def _username(value: object, where: str, name: str) -> str:
    if isinstance(value, Mapping):
        identifier = value.get("identifier")
        if isinstance(identifier, Mapping) and identifier.get("value"):
            return str(identifier["value"])
        if value.get("display"):
            return str(value["display"])
    if isinstance(value, str) and value:
        return value
    raise InputError(where, f"{name}: must name the user (identifier or display)")


def _moment(value: object, where: str, name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise InputError(where, f"{name}: must be a date-time with its UTC offset",
                         _shown(value))
    return moment


def _optional_moment(value: object, where: str, name: str) -> datetime | None:
    return None if value is None else _moment(value, where, name)


def _read_treatment(entries: Sequence[_Entry], references: Mapping[str, _Entry],
                    drugs: Mapping[str, Sequence[tuple[str, str]]], plan: ImportPlan,
                    table: UnitTable) -> None:
    for entry in entries:
        resource, kind = entry.resource, entry.resource.get("resourceType")
        marker = {"MedicationRequest": "order-status", "Medication": "prepared-by",
                  "MedicationAdministration": None, "AdverseEvent": "reaction-grade"}
        if kind not in marker:
            continue
        if kind == "MedicationAdministration":
            medication = resource.get("medicationReference")
            target = references.get(str(medication.get("reference"))) if isinstance(
                medication, Mapping) else None
            ours = target is not None and _is_ertplan(target.resource, "prepared-by")
        else:
            ours = _is_ertplan(resource, str(marker[kind]))
        if not ours:
            plan.skipped.append({
                "entry": entry.index, "resource": entry.name,
                "reason": "not an ertplan record: from other systems ertplan imports weights "
                          "and lab results only"})
        elif kind == "MedicationRequest":
            plan.orders.append(_read_order(entry, references, drugs, table))
        elif kind == "Medication":
            plan.preparations.append(_read_preparation(entry, references))
        elif kind == "MedicationAdministration":
            plan.administrations.append(_read_administration(entry, references))
    bags = {preparation["key"]: preparation["columns"] for preparation in plan.preparations}
    for administration in plan.administrations:
        _check_infusion_times(administration, bags.get(administration["preparation_key"]))
    by_key = {administration["key"]: administration for administration in plan.administrations}
    for entry in entries:
        if entry.resource.get("resourceType") == "AdverseEvent" and _is_ertplan(
                entry.resource, "reaction-grade"):
            reaction, key = _read_reaction(entry, references)
            if key not in by_key:
                raise InputError(f"{entry.where}.suspectEntity[0].instance", f"{entry.name}: "
                                 "must refer to an administration of an ertplan preparation")
            by_key[key]["reactions"].append(reaction)


def _check_infusion_times(administration: Mapping[str, Any],
                          bag: Mapping[str, Any] | None) -> None:
    """The rules the records held when the infusion was recorded (see repositories)."""
    where = f"entry[{administration['entry']}].resource.effectivePeriod"
    name = administration["resource"]
    started, ended = (administration["columns"]["started_at"],
                      administration["columns"]["ended_at"])
    if ended is not None and ended < started:
        raise InputError(f"{where}.end", f"{name}: before the start", ended.isoformat())
    if bag is None:
        return
    if started < bag["diluted_at"]:
        raise InputError(f"{where}.start", f"{name}: before the bag was diluted",
                         started.isoformat())
    if bag["beyond_use_at"] is not None and started > bag["beyond_use_at"]:
        raise InputError(f"{where}.start", f"{name}: after the bag's beyond-use time: it must "
                         "not have been given", started.isoformat())


def _key(entry: _Entry, references: Mapping[str, _Entry]) -> str:
    return next(url for url, target in references.items() if target is entry)


def _read_order(entry: _Entry, references: Mapping[str, _Entry],
                drugs: Mapping[str, Sequence[tuple[str, str]]],
                table: UnitTable) -> dict[str, Any]:
    resource, where, name = entry.resource, entry.where, entry.name
    codings = _codings(resource.get("medicationCodeableConcept"))
    drug = next((drug for drug, codes in drugs.items() if codings & set(codes)), None)
    if drug is None:
        raise InputError(f"{where}.medicationCodeableConcept", f"{name}: names no drug ertplan "
                         "has a monograph for (by its codes)")
    dosage = (resource.get("dosageInstruction") or [{}])[0]
    dose = ((dosage.get("doseAndRate") or [{}])[0]).get("doseQuantity") or {}
    if dose.get("system") != UCUM_SYSTEM or dose.get("code") not in _PER_KG_READ or dose.get(
            "value") is None:
        raise InputError(f"{where}.dosageInstruction[0].doseAndRate[0].doseQuantity",
                         f"{name}: ertplan orders dose in UCUM {_PER_KG}")
    repeat = (dosage.get("timing") or {}).get("repeat") or {}
    timing = f"{where}.dosageInstruction[0].timing.repeat"
    if repeat.get("frequency", 1) != 1 or repeat.get("periodUnit") not in _TIME_WORDS \
            or repeat.get("period") is None:
        raise InputError(f"{timing}.period", f"{name}: needs one infusion per period, in "
                         "s, min, h, d or wk")
    interval_days = parse_quantity(f"{repeat['period']!r} {_TIME_WORDS[repeat['periodUnit']]}",
                                   INTERVAL, f"{timing}.period", table)
    duration_min = None
    if repeat.get("duration") is not None:
        if repeat.get("durationUnit") not in _TIME_WORDS:
            raise InputError(f"{timing}.durationUnit", f"{name}: must be s, min, h, d or wk",
                             _shown(repeat.get("durationUnit")))
        duration_min = float(repeat["duration"]) * {"s": 1 / 60, "min": 1, "h": 60,
                                                    "d": 1440, "wk": 10080}[
            repeat["durationUnit"]]
    bounds = repeat.get("boundsPeriod") or {}
    if not bounds.get("start"):
        raise InputError(f"{timing}.boundsPeriod.start", f"{name}: needs the start date")
    status = _extension(resource, "order-status", "valueCode")
    if status not in ("ordered", "verified", "discontinued"):
        raise InputError(f"{where}.extension", f"{name}: order-status must be ordered, "
                         "verified or discontinued", _shown(status))
    verified_by = _extension(resource, "verified-by", "valueString")
    return {
        "key": _key(entry, references), "entry": entry.index, "resource": name,
        "prescriber": _username(resource.get("requester"), f"{where}.requester", name),
        "verified_by": verified_by,
        "columns": {
            "drug": drug, "dose_units_per_kg": float(dose["value"]),
            "interval_days": float(f"{interval_days:.12g}"), "duration_min": duration_min,
            "start_date": date.fromisoformat(str(bounds["start"])[:10]),
            "end_date": date.fromisoformat(str(bounds["end"])[:10]) if bounds.get("end")
            else None,
            "status": status,
            "change_reason": _extension(resource, "change-reason", "valueString"),
            "verified_at": _optional_moment(_extension(resource, "verified-at",
                                                       "valueDateTime"),
                                            f"{where}.extension", name),
            "override_reason": _extension(resource, "override-reason", "valueString"),
            "alert_codes": _extension(resource, "alert-codes", "valueString")}}


def _read_preparation(entry: _Entry, references: Mapping[str, _Entry]) -> dict[str, Any]:
    resource, where, name = entry.resource, entry.where, entry.name
    order = _referenced(references, _extension(resource, "order", "valueReference"),
                        f"{where}.extension", name, "MedicationRequest")
    contained = {item.get("id"): item for item in resource.get("contained") or ()
                 if isinstance(item, Mapping)}
    vials = []
    for index, ingredient in enumerate(resource.get("ingredient") or ()):
        at = f"{where}.ingredient[{index}]"
        lot = contained.get(str((ingredient.get("itemReference") or {}).get(
            "reference", "")).removeprefix("#"))
        count = ((ingredient.get("strength") or {}).get("numerator") or {}).get("value")
        units = ((lot or {}).get("amount") or {}).get("numerator") or {}
        batch = (lot or {}).get("batch") or {}
        if lot is None or count is None or units.get("code") not in _UNITS_READ or not batch.get(
                "lotNumber") or not batch.get("expirationDate") or not _whole(
                units.get("value")) or not _whole(count):
            raise InputError(at, f"{name}: each ingredient is a contained vial lot (amount in "
                             f"whole {_UNITS}, batch lotNumber and expirationDate) and a whole "
                             "number of vials")
        vials.append({"lot": batch["lotNumber"], "vial_units": int(units["value"]),
                      "count": int(count),
                      "expiry_date": date.fromisoformat(str(batch["expirationDate"])[:10])})
    if not vials:
        raise InputError(f"{where}.ingredient", f"{name}: lists no vial")
    plan_text = _extension(resource, "plan", "valueString")
    try:
        core_plan = json.loads(plan_text) if plan_text else None
    except ValueError:
        core_plan = None
    if not isinstance(core_plan, dict):
        raise InputError(f"{where}.extension", f"{name}: plan must be the core plan as JSON")
    ext = f"{where}.extension"
    dose_units = _extension(resource, "dose-units", "valueDecimal")
    storage = _extension(resource, "storage", "valueCode")
    if dose_units is None or storage not in ("refrigerated", "room"):
        raise InputError(ext, f"{name}: needs dose-units and storage (refrigerated or room)")
    return {
        "key": _key(entry, references), "entry": entry.index, "resource": name,
        "order_key": _key(order, references),
        "prepared_by": _extension(resource, "prepared-by", "valueString"),
        "verified_by": _extension(resource, "verified-by", "valueString"),
        "vials": vials,
        "columns": {
            "reconstituted_at": _moment(_extension(resource, "reconstituted-at",
                                                   "valueDateTime"), ext, name),
            "diluted_at": _moment(_extension(resource, "diluted-at", "valueDateTime"), ext,
                                  name),
            "storage": storage, "dose_units": float(dose_units),
            "reconstituted_beyond_use_at": _optional_moment(_extension(
                resource, "reconstituted-beyond-use-at", "valueDateTime"), ext, name),
            "beyond_use_at": _optional_moment(_extension(resource, "beyond-use-at",
                                                         "valueDateTime"), ext, name),
            "plan": core_plan}}


def _whole(value: object) -> bool:
    return isinstance(value, int | float) and float(value).is_integer() and value > 0


def _read_administration(entry: _Entry, references: Mapping[str, _Entry]) -> dict[str, Any]:
    resource, where, name = entry.resource, entry.where, entry.name
    preparation = _referenced(references, resource.get("medicationReference"),
                              f"{where}.medicationReference", name, "Medication")
    period = resource.get("effectivePeriod") or {}
    performers = resource.get("performer") or [{}]
    changes = []
    for index, change in enumerate(_extensions(resource, "rate-change")):
        at = f"{where}.extension"
        rate = _part(change, "rate-ml-per-h", "valueDecimal")
        if rate is None or float(rate) <= 0:
            raise InputError(at, f"{name}: rate-change {index} needs a positive rate-ml-per-h")
        changes.append({"at": _moment(_part(change, "at", "valueDateTime"), at, name),
                        "rate_ml_per_h": float(rate),
                        "reason": _part(change, "reason", "valueString")})
    return {
        "key": _key(entry, references), "entry": entry.index, "resource": name,
        "preparation_key": _key(preparation, references),
        "given_by": _username(performers[0].get("actor"), f"{where}.performer[0].actor", name),
        "columns": {
            "started_at": _moment(period.get("start"), f"{where}.effectivePeriod.start", name),
            "ended_at": _optional_moment(period.get("end"), f"{where}.effectivePeriod.end",
                                         name),
            "premedication": _extension(resource, "premedication", "valueString")},
        "rate_changes": changes, "reactions": []}


def _read_reaction(entry: _Entry, references: Mapping[str, _Entry]
                   ) -> tuple[dict[str, Any], str]:
    resource, where, name = entry.resource, entry.where, entry.name
    suspects = resource.get("suspectEntity") or [{}]
    administration = _referenced(references, suspects[0].get("instance"),
                                 f"{where}.suspectEntity[0].instance", name,
                                 "MedicationAdministration")
    grade = _extension(resource, "reaction-grade", "valueInteger")
    if grade not in (1, 2, 3, 4, 5):
        raise InputError(f"{where}.extension", f"{name}: reaction-grade must be 1 to 5",
                         _shown(grade))
    description = (resource.get("event") or {}).get("text")
    action = _extension(resource, "action-taken", "valueString")
    if not description or not action:
        raise InputError(f"{where}.event.text", f"{name}: needs the description (event.text) "
                         "and the action-taken extension")
    return ({"at": _moment(resource.get("date"), f"{where}.date", name), "grade": grade,
             "description": description, "action_taken": action},
            _key(administration, references))
