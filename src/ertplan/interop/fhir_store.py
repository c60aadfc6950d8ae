"""FHIR R4 export and import against the store: shared by ``ertplan fhir`` and the ``/fhir`` routes.

The pure mapping (:mod:`ertplan.interop.fhir`) makes and reads the resources; this module reads the
records it needs and writes an import through the repositories, each record with its audit row, in
the caller's transaction: a Bundle imports whole or not at all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ertplan.core.errors import InputError
from ertplan.service.planning import Planner
from ertplan.store import repositories as repo
from ertplan.store.models import (
    Administration,
    Observation,
    Order,
    Patient,
    Preparation,
    PreparationVial,
    RateChange,
    Reaction,
    User,
    Weight,
)

if TYPE_CHECKING:  # the FHIR core (and fhir.resources) load only when an import runs
    from ertplan.interop.fhir import ImportPlan

ATC_SYSTEM = "http://www.whocc.no/atc"
RXNORM_SYSTEM = "http://www.nlm.nih.gov/research/umls/rxnorm"
IMPORT_ACTION = "import"


def drug_codings(planner: Planner, drugs: Sequence[str]) -> dict[str, list[tuple[str, str]]]:
    """Each drug's (system, code) pairs from its monograph (ATC and RxNorm, as the CDS service
    reads them)."""
    codings: dict[str, list[tuple[str, str]]] = {}
    for drug in drugs:
        monograph = planner.monograph(drug)
        codings[drug] = [(ATC_SYSTEM, code) for code in monograph.codes.atc]
        if monograph.rxnorm is not None:
            codings[drug] += [(RXNORM_SYSTEM, code) for code in monograph.rxnorm.codes]
    return codings


def export_patient(session: Session, planner: Planner, *, patient_id: int, now: datetime,
                   identifier_system: str | None = None) -> dict[str, Any]:
    """The FHIR R4 collection Bundle of one stored patient (NotFoundError if there is none);
    the patient's identifier in `identifier_system`, the clinic's
    (``ERTPLAN_FHIR_PATIENT_SYSTEM``)."""
    from ertplan.interop.fhir import PatientRecords, export_bundle

    patient = repo.get_record(session, model=Patient, record_id=patient_id)
    weights = _all(session, Weight, Weight.patient_id == patient_id)
    observations = _all(session, Observation, Observation.patient_id == patient_id)
    orders = _all(session, Order, Order.patient_id == patient_id)
    preparations = _all(session, Preparation,
                        Preparation.order_id.in_([order.id for order in orders]))
    administrations = _all(session, Administration, Administration.preparation_id.in_(
        [preparation.id for preparation in preparations]))
    user_ids = {order.prescriber_id for order in orders} | {
        order.verified_by_id for order in orders} | {
        preparation.prepared_by_id for preparation in preparations} | {
        preparation.verified_by_id for preparation in preparations} | {
        administration.given_by_id for administration in administrations}
    users = session.scalars(select(User).where(User.id.in_(
        [user_id for user_id in user_ids if user_id is not None])))
    records = PatientRecords(
        patient=repo.snapshot(patient),
        weights=[repo.snapshot(weight) for weight in weights],
        observations=[repo.snapshot(observation) for observation in observations],
        orders=[repo.snapshot(order) for order in orders],
        preparations=[{**repo.snapshot(preparation),
                       "vials": [repo.snapshot(vial) for vial in preparation.vials]}
                      for preparation in preparations],
        administrations=[{**repo.snapshot(administration),
                          "rate_changes": [repo.snapshot(change)
                                           for change in administration.rate_changes],
                          "reactions": [repo.snapshot(reaction)
                                        for reaction in administration.reactions]}
                         for administration in administrations],
        usernames={user.id: user.username for user in users},
        drug_codings=drug_codings(planner, sorted({order.drug for order in orders})))
    return export_bundle(records, goals=planner.goals(), timestamp=now,
                         bundle_id=f"ertplan-patient-{patient_id}-{now:%Y%m%dT%H%M%SZ}",
                         identifier_system=identifier_system or _site_system())


def _site_system() -> str:
    from ertplan.service.settings import Settings

    return Settings().fhir_patient_system


def _all(session: Session, model: Any, condition: Any) -> list[Any]:
    return list(session.scalars(select(model).where(condition).order_by(model.id)))


def import_bundle(session: Session, planner: Planner, *, bundle: object, actor: User | None,
                  now: datetime, identifier_system: str | None = None) -> dict[str, Any]:
    """Write what `bundle` holds for the store; the JSON report of what was done.

    The patient is matched on the identifier's system (`identifier_system`, the clinic's) and
    value, and confirmed by name, sex and birth date: any difference refuses the whole Bundle
    (InputError listing them, HTTP 422). An unknown patient is registered when the Patient carries
    ertplan's Gaucher record. Weights and lab results are added (an identical one already stored
    is reported as a duplicate, so importing twice changes nothing). Orders, preparations,
    administrations and reactions of an ertplan export are recreated only for a patient this
    import registers; users are matched by username and never created. Nothing is committed here:
    the caller commits, or a raised error leaves the store as it was.
    """
    from ertplan.core.monograph import available_drugs
    from ertplan.interop.fhir import patient_differences, patient_identifier, read_bundle

    system = identifier_system or _site_system()
    identifier = patient_identifier(bundle, system)
    patient = session.scalars(select(Patient).where(Patient.identifier == identifier)).first()
    if patient is not None:
        entry, differences = patient_differences(bundle, {
            "name": patient.name, "sex": patient.sex, "birth_date": patient.birth_date})
        if differences:
            raise InputError(f"entry[{entry}].resource", f"the Patient's identifier {system}|"
                             f"{identifier} is ertplan's patient {patient.id}, but it differs: "
                             + "; ".join(differences), identifier)
    stored = [] if patient is None else [
        (weight.measured_on, weight.weight_kg)
        for weight in _all(session, Weight, Weight.patient_id == patient.id)]
    plan = read_bundle(bundle, goals=planner.goals(), store_weights=stored,
                       drugs=drug_codings(planner, available_drugs()), identifier_system=system)
    created = patient is None
    _check_fits(plan)
    if patient is None:
        if plan.patient is None:
            raise InputError(f"entry[{plan.patient_entry}].resource.extension",
                             f"patient {identifier!r} is not in the store, and the Patient "
                             "carries no gaucher-type extension to register it with: register "
                             "the patient first (POST /patients)", identifier)
        _check_new_patient(identifier, plan.patient, plan.patient_entry)
        patient = repo.add_record(session, actor=actor, now=now, action=IMPORT_ACTION,
                                  record=Patient(identifier=identifier, created_at=now,
                                                 **plan.patient))
    imported = {"patients": int(created), "weights": 0, "observations": 0, "orders": 0,
                "preparations": 0, "administrations": 0, "reactions": 0}
    duplicates: list[dict[str, Any]] = []
    skipped = list(plan.skipped)
    for weight in plan.weights:
        if session.scalars(select(Weight).where(
                Weight.patient_id == patient.id, Weight.measured_on == weight["measured_on"],
                Weight.weight_kg == weight["weight_kg"])).first() is not None:
            duplicates.append(_said(weight))
            continue
        repo.add_record(session, actor=actor, now=now, action=IMPORT_ACTION, record=Weight(
            patient_id=patient.id, weight_kg=weight["weight_kg"],
            measured_on=weight["measured_on"]))
        imported["weights"] += 1
    for observation in plan.observations:
        columns = {key: observation[key] for key in
                   ("kind", "value", "value_text", "unit", "observed_on", "source")}
        if _identical_observation(session, patient.id, columns):
            duplicates.append(_said(observation))
            continue
        repo.add_record(session, actor=actor, now=now, action=IMPORT_ACTION,
                        record=Observation(patient_id=patient.id, **columns))
        imported["observations"] += 1
    treatment = [*plan.orders, *plan.preparations, *plan.administrations]
    if created:
        _recreate_treatment(session, plan, patient.id, actor, now, imported)
    else:
        skipped += [{"entry": item["entry"], "resource": item["resource"],
                     "reason": "the patient was already in the store: orders, preparations and "
                               "infusions are recreated only for a patient the import registers"}
                    for item in treatment]
    return {"patient": {"id": patient.id, "identifier": identifier, "created": created},
            "imported": imported, "conversions": plan.conversions, "duplicates": duplicates,
            "unknown_codes": plan.unknown_codes,
            "skipped": sorted(skipped, key=lambda item: item["entry"])}


def _check_new_patient(identifier: str, columns: Mapping[str, Any], entry: int) -> None:
    """A patient registered by an import meets the same rules as one registered by a physician."""
    from pydantic import ValidationError

    from ertplan.service.schemas import PatientCreate

    try:
        PatientCreate.model_validate({"identifier": identifier, **columns})
    except ValidationError as error:
        first = error.errors()[0]
        element = ".".join(str(part) for part in first["loc"])
        raise InputError(f"entry[{entry}].resource", f"Patient {element}: {first['msg']}",
                         _shown(first.get("input"))) from None


def _shown(value: object) -> str | None:
    return None if value is None or isinstance(value, dict | list) else str(value)[:100]


_LATEST = datetime(2199, 12, 31, 23, 59, 59).date()
_EARLIEST = datetime(1900, 1, 1).date()


def _check_fits(plan: ImportPlan) -> None:
    """Every value fits its column on every database (lengths, NUL, 32-bit integers, finite
    numbers, dates the API accepts): refused naming the entry rather than failing the write."""
    groups: list[tuple[type[Any], Sequence[Mapping[str, Any]]]] = [
        (Weight, plan.weights), (Observation, plan.observations)]
    for item in plan.orders:
        groups.append((Order, [{**item["columns"], "entry": item["entry"],
                                "resource": item["resource"]}]))
    for item in plan.preparations:
        groups.append((Preparation, [{**item["columns"], "entry": item["entry"],
                                      "resource": item["resource"]}]))
        groups.append((PreparationVial, [{**vial, "entry": item["entry"],
                                          "resource": item["resource"]}
                                         for vial in item["vials"]]))
    for item in plan.administrations:
        tagged = {"entry": item["entry"], "resource": item["resource"]}
        groups.append((Administration, [{**item["columns"], **tagged}]))
        groups.append((RateChange, [{**change, **tagged} for change in item["rate_changes"]]))
        groups.append((Reaction, [{**reaction, **tagged} for reaction in item["reactions"]]))
    for model, rows in groups:
        for row in rows:
            if "entry" in row:
                _check_row(model, row)


def _check_row(model: type[Any], row: Mapping[str, Any]) -> None:
    import math
    from datetime import date

    from ertplan.service.schemas import DATABASE_INT_MAX

    columns = model.__table__.columns
    for name, value in row.items():
        if name in ("entry", "resource") or name not in columns:
            continue
        where, problem = f"entry[{row['entry']}].resource", None
        length = getattr(columns[name].type, "length", None)
        if isinstance(value, str):
            if "\x00" in value:
                problem = "must not contain NUL characters"
            elif length is not None and len(value) > length:
                problem = f"is longer than the {length} characters ertplan keeps"
        elif isinstance(value, bool):
            continue
        elif isinstance(value, int) and abs(value) > DATABASE_INT_MAX:
            problem = "is too large"
        elif isinstance(value, float) and not math.isfinite(value):
            problem = "must be a finite number"
        elif isinstance(value, date) and not _EARLIEST <= (
                value.date() if isinstance(value, datetime) else value) <= _LATEST:
            problem = f"must be between {_EARLIEST} and {_LATEST}"
        if problem is not None:
            raise InputError(where, f"{row['resource']}: {name} {problem}", _shown(value))


def _said(item: Mapping[str, Any]) -> dict[str, Any]:
    return {"entry": item["entry"], "resource": item["resource"],
            "reason": "the same result is already stored for this patient"}


def _identical_observation(session: Session, patient_id: int, columns: Mapping[str, Any]) -> bool:
    query = select(Observation).where(Observation.patient_id == patient_id)
    for name, value in columns.items():
        column = getattr(Observation, name)
        query = query.where(column.is_(None) if value is None else column == value)
    return session.scalars(query).first() is not None


def _recreate_treatment(session: Session, plan: ImportPlan, patient_id: int, actor: User | None,
                        now: datetime, imported: dict[str, int]) -> None:
    orders: dict[str, Order] = {}
    for order in plan.orders:
        where = f"entry[{order['entry']}].resource"
        columns = dict(order["columns"])
        columns["prescriber_id"] = _user_id(session, order["prescriber"], f"{where}.requester")
        columns["verified_by_id"] = None if order["verified_by"] is None else _user_id(
            session, order["verified_by"], f"{where}.extension")
        orders[order["key"]] = repo.add_record(
            session, actor=actor, now=now, action=IMPORT_ACTION,
            record=Order(patient_id=patient_id, **columns))
        imported["orders"] += 1
    preparations: dict[str, Preparation] = {}
    for preparation in plan.preparations:
        where = f"entry[{preparation['entry']}].resource.extension"
        if preparation["prepared_by"] is None:
            raise InputError(where, f"{preparation['resource']}: needs prepared-by")
        order_record = orders.get(preparation["order_key"])
        if order_record is None:
            raise InputError(where, f"{preparation['resource']}: its order is not an ertplan "
                             "MedicationRequest of this Bundle")
        record = Preparation(
            order_id=order_record.id,
            prepared_by_id=_user_id(session, preparation["prepared_by"], where),
            verified_by_id=None if preparation["verified_by"] is None else _user_id(
                session, preparation["verified_by"], where),
            vials=[PreparationVial(**vial) for vial in preparation["vials"]],
            **preparation["columns"])
        preparations[preparation["key"]] = repo.add_record(
            session, actor=actor, now=now, action=IMPORT_ACTION, record=record)
        imported["preparations"] += 1
    for administration in plan.administrations:
        where = f"entry[{administration['entry']}].resource.performer[0].actor"
        bag = preparations.get(administration["preparation_key"])
        if bag is None:  # pragma: no cover - the mapping reads only administrations of our bags
            raise InputError(where, "refers to no preparation of this Bundle")
        given = Administration(
            preparation_id=bag.id,
            given_by_id=_user_id(session, administration["given_by"], where),
            rate_changes=[RateChange(**change) for change in administration["rate_changes"]],
            reactions=[Reaction(**reaction) for reaction in administration["reactions"]],
            **administration["columns"])
        repo.add_record(session, actor=actor, now=now, action=IMPORT_ACTION, record=given)
        imported["administrations"] += 1
        imported["reactions"] += len(administration["reactions"])


def _user_id(session: Session, username: str, field: str) -> int:
    user = repo.find_user(session, username=username)
    if user is None:
        raise InputError(field, "names a user this store has no account for: create it first "
                         "(ertplan users add); an import never creates accounts", username)
    return user.id
