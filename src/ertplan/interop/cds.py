"""FHIR R4 order data (as a CDS Hooks request carries it) read into the planner's text inputs.

Pure functions over parsed JSON: a draft ``MedicationRequest`` gives the dose and timing, an
``Observation`` (or a search ``Bundle`` of them) gives the body weight. What cannot be read is an
:class:`InputError` naming the FHIR element, so the service can say which one to fix.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ertplan.core.errors import InputError
from ertplan.core.inputs import PreparationInputs
from ertplan.core.preparation import Alternative, PreparationPlan
from ertplan.core.units import MASS, UnitTable, parse_quantity

UCUM_SYSTEM = "http://unitsofmeasure.org"
LOINC_SYSTEM = "http://loinc.org"
RXNORM_SYSTEM = "http://www.nlm.nih.gov/research/umls/rxnorm"
XHTML = "http://www.w3.org/1999/xhtml"
# FHIR Timing.repeat.periodUnit / durationUnit (UCUM) -> the words ertplan's unit file knows;
# months and years have no fixed length, so an order in them is refused rather than guessed
_TIME_WORDS = {"s": "second", "min": "minute", "h": "hour", "d": "day", "wk": "week"}
# UCUM codes of body weight -> the unit file's spelling
_MASS_WORDS = {"kg": "kg", "g": "g", "[lb_av]": "lb", "[oz_av]": "oz"}
# UCUM's enzyme unit is `U` (µmol/min); ertplan writes `U` and `U/kg` and reads `[U]` and
# `[U]/kg` too, which older ertplan exports and some systems write though UCUM defines no `[U]`
UNITS_CODE = "U"
PER_KG_CODE = "U/kg"
_PER_KG_DOSE = (PER_KG_CODE, "[U]/kg")
_TOTAL_DOSE = (UNITS_CODE, "[U]")
_NOT_A_RESULT = ("entered-in-error", "cancelled", "registered")


@dataclass(frozen=True, kw_only=True)
class Reading:
    """One quantity read from an Observation, as text the unit parser takes (``70 kg``)."""

    text: str
    effective: str | None


def resources_in(value: object, resource_type: str) -> Iterator[Mapping[str, Any]]:
    """The resources of `resource_type` in `value`: that resource itself, or a Bundle's entries."""
    if not isinstance(value, Mapping):
        return
    if value.get("resourceType") == resource_type:
        yield value
    elif value.get("resourceType") == "Bundle":
        for entry in value.get("entry") or ():
            resource = entry.get("resource") if isinstance(entry, Mapping) else None
            if isinstance(resource, Mapping) and resource.get("resourceType") == resource_type:
                yield resource


def has_coding(concept: object, system: str, code: str) -> bool:
    """Whether a CodeableConcept carries the coding `system` | `code`."""
    return (system, code) in codings(concept)


def codings(concept: object) -> set[tuple[str, str]]:
    """The (system, code) pairs of a CodeableConcept; anything malformed is ignored."""
    found: set[tuple[str, str]] = set()
    if isinstance(concept, Mapping):
        for coding in concept.get("coding") or ():
            if isinstance(coding, Mapping) and isinstance(coding.get("system"), str) \
                    and isinstance(coding.get("code"), str):
                found.add((coding["system"], coding["code"]))
    return found


def medication_codings(request: Mapping[str, Any],
                       bundle: object = None) -> set[tuple[str, str]]:
    """The drug codes of a MedicationRequest: R4's ``medicationCodeableConcept``, or the code of
    the Medication its ``medicationReference`` names (contained ``#id``, or an entry of `bundle`
    by ``Medication/id`` or fullUrl), or R5's ``medication.concept``.

    >>> order = {"medicationReference": {"reference": "#m"}, "contained": [{"resourceType":
    ...     "Medication", "id": "m", "code": {"coding": [{"system": "s", "code": "c"}]}}]}
    >>> medication_codings(order)
    {('s', 'c')}
    """
    r5 = request.get("medication")
    found = codings(request.get("medicationCodeableConcept")) | codings(
        r5.get("concept") if isinstance(r5, Mapping) else None)
    medication = _referenced_medication(request, bundle)
    if medication is not None:
        found |= codings(medication.get("code"))
    return found


def _referenced_medication(request: Mapping[str, Any],
                           bundle: object) -> Mapping[str, Any] | None:
    reference = request.get("medicationReference")
    target = reference.get("reference") if isinstance(reference, Mapping) else None
    if not isinstance(target, str):
        return None
    if target.startswith("#"):
        for item in request.get("contained") or ():
            if isinstance(item, Mapping) and item.get("resourceType") == "Medication" \
                    and item.get("id") == target[1:]:
                return item
        return None
    entries = bundle.get("entry") if isinstance(bundle, Mapping) else None
    for entry in entries if isinstance(entries, list) else ():
        resource = entry.get("resource") if isinstance(entry, Mapping) else None
        if isinstance(resource, Mapping) and resource.get("resourceType") == "Medication" and (
                entry.get("fullUrl") == target or f"Medication/{resource.get('id')}" == target):
            return resource
    return None


def order_name(request: Mapping[str, Any]) -> str:
    """How a card names the order: ``MedicationRequest/{id}``, or its position when it has none.

    >>> order_name({"id": "imiglucerase-1"}), order_name({})
    ('MedicationRequest/imiglucerase-1', 'the MedicationRequest without an id')
    """
    identity = request.get("id")
    return (f"MedicationRequest/{identity}" if isinstance(identity, str) and identity
            else "the MedicationRequest without an id")


def order_start(request: Mapping[str, Any]) -> datetime | None:
    """When the order starts, if it says so to the minute: ``timing.repeat.boundsPeriod.start``
    of the first dosage instruction as a date-time with its offset; a bare date gives None.

    >>> order_start({"dosageInstruction": [{"timing": {"repeat": {"boundsPeriod": {
    ...     "start": "2026-12-09T08:30:00+01:00"}}}}]}).isoformat()
    '2026-12-09T08:30:00+01:00'
    """
    dosages = request.get("dosageInstruction")
    first = dosages[0] if isinstance(dosages, list) and dosages else None
    timing = first.get("timing") if isinstance(first, Mapping) else None
    repeat = timing.get("repeat") if isinstance(timing, Mapping) else None
    bounds = repeat.get("boundsPeriod") if isinstance(repeat, Mapping) else None
    start = bounds.get("start") if isinstance(bounds, Mapping) else None
    if not isinstance(start, str) or "T" not in start:
        return None
    try:
        moment = datetime.fromisoformat(start.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def with_dose(request: Mapping[str, Any], *, dose_units: float, dosage_text: str,
              narrative: str) -> dict[str, Any]:
    """`request` as one coherent resource with the total dose `dose_units` U: every dose of every
    dosage instruction (``doseQuantity`` and ``doseRange`` alike, per kg or total) becomes that
    dose in UCUM ``U`` (rates are kept), each instruction's ``text`` becomes `dosage_text`, and the
    narrative is generated anew from `narrative` (CDS Hooks 2.0.1 §Action: an update holds the
    resource in its entirety).

    >>> order = {"resourceType": "MedicationRequest", "dosageInstruction": [{"doseAndRate": [
    ...     {"doseQuantity": {"value": 60, "code": "U/kg"}}, {"doseQuantity": {"value": 4080,
    ...     "code": "U"}}]}]}
    >>> updated = with_dose(order, dose_units=4000, dosage_text="4000 U", narrative="4000 U")
    >>> [item["doseQuantity"]["value"] for item in updated["dosageInstruction"][0]["doseAndRate"]]
    [4000]
    """
    import copy
    import html

    updated: dict[str, Any] = copy.deepcopy(dict(request))
    dose = {"value": dose_units, "unit": "U", "system": UCUM_SYSTEM, "code": UNITS_CODE}
    for dosage in updated.get("dosageInstruction") or ():
        if not isinstance(dosage, dict):
            continue
        kept: list[dict[str, Any]] = []
        for entry in dosage.get("doseAndRate") or ():
            if not isinstance(entry, dict):
                continue
            entry.pop("doseQuantity", None)
            entry.pop("doseRange", None)
            entry.pop("type", None)  # "ordered" or "calculated" no longer says which is which
            if any(key.startswith("rate") for key in entry):
                kept.append(entry)
        first = kept[0] if kept else {}
        dosage["doseAndRate"] = [{"doseQuantity": dict(dose), **first}, *kept[1:]]
        dosage["text"] = dosage_text
    updated["text"] = {"status": "generated",
                       "div": f'<div xmlns="{XHTML}"><p>{html.escape(narrative)}</p></div>'}
    return updated


def latest_reading(value: object, loinc_code: str) -> Reading | None:
    """The most recent numeric Observation coded LOINC `loinc_code` in `value`, or None."""
    best: tuple[datetime, Reading] | None = None
    for observation in resources_in(value, "Observation"):
        if observation.get("status") in _NOT_A_RESULT \
                or not has_coding(observation.get("code"), LOINC_SYSTEM, loinc_code):
            continue
        reading = _quantity_reading(observation)
        if reading is None:
            continue
        when = _moment(reading.effective)
        if best is None or when > best[0]:
            best = (when, reading)
    return None if best is None else best[1]


def _quantity_reading(observation: Mapping[str, Any]) -> Reading | None:
    quantity = observation.get("valueQuantity")
    if not isinstance(quantity, Mapping):
        return None
    number = quantity.get("value")
    if isinstance(number, bool) or not isinstance(number, int | float):
        return None
    code = quantity.get("code")
    unit = _MASS_WORDS.get(code, code) if isinstance(code, str) else quantity.get("unit")
    if not isinstance(unit, str):
        return None
    effective = observation.get("effectiveDateTime") or observation.get("issued")
    return Reading(text=f"{number!r} {unit}",
                   effective=effective if isinstance(effective, str) else None)


def _moment(text: str | None) -> datetime:
    """An ISO date(-time) for ordering readings; undated or unreadable ones sort first."""
    try:
        moment = datetime.fromisoformat(text) if text else datetime.min
        # compare instants: an offset is turned into UTC before it is dropped
        return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment
    except (ValueError, OverflowError):
        return datetime.min


def preparation_inputs(request: Mapping[str, Any], *, weight: str, table: UnitTable,
                       vial_sizes: str | None = None) -> PreparationInputs:
    """``ertplan prepare``'s inputs from a MedicationRequest and a body weight text.

    The dose is ``dosageInstruction[0].doseAndRate[0].doseQuantity`` in UCUM ``U/kg``, or a
    total in ``U`` (divided by the weight: the core plans per kg; ``[U]/kg`` and ``[U]`` are
    read too); the interval is
    ``timing.repeat`` (``period`` / ``frequency`` in ``periodUnit``), the infusion time
    ``timing.repeat.duration``.

    >>> order = {"dosageInstruction": [{"timing": {"repeat": {"frequency": 1, "period": 2,
    ...     "periodUnit": "wk"}}, "doseAndRate": [{"doseQuantity": {"value": 60,
    ...     "system": "http://unitsofmeasure.org", "code": "U/kg"}}]}]}
    >>> inputs = preparation_inputs(order, weight="70 kg", table={})
    >>> inputs.dose, inputs.every
    ('60.0 U/kg', '2.0 week')
    """
    dosage = _first(request.get("dosageInstruction"), "dosageInstruction")
    dose = _first(dosage.get("doseAndRate"), "dosageInstruction[0].doseAndRate")
    quantity = dose.get("doseQuantity")
    field = "dosageInstruction[0].doseAndRate[0].doseQuantity"
    if not isinstance(quantity, Mapping):
        raise InputError(field, "is needed: the dose as a UCUM U/kg or U quantity")
    number = _positive(quantity.get("value"), f"{field}.value")
    code = quantity.get("code")
    if code in _PER_KG_DOSE:
        dose_text = f"{number!r} U/kg"
    elif code in _TOTAL_DOSE:
        dose_text = f"{number / parse_quantity(weight, MASS, 'weight', table)!r} U/kg"
    else:
        raise InputError(f"{field}.code", "must be the UCUM code U/kg or U (the enzyme unit)",
                         code)
    timing = dosage.get("timing")
    repeat = timing.get("repeat") if isinstance(timing, Mapping) else None
    if not isinstance(repeat, Mapping):
        raise InputError("dosageInstruction[0].timing.repeat",
                         "is needed: the interval as period and periodUnit (e.g. 2 wk)")
    return PreparationInputs(weight=weight, dose=dose_text, every=_interval(repeat),
                             duration=_duration(repeat), vial_sizes=vial_sizes)


def _interval(repeat: Mapping[str, Any]) -> str:
    field = "dosageInstruction[0].timing.repeat"
    period = _positive(repeat.get("period"), f"{field}.period")
    per_period = _positive(repeat.get("frequency", 1), f"{field}.frequency")
    return f"{period / per_period!r} {_time_word(repeat.get('periodUnit'), f'{field}.periodUnit')}"


def _duration(repeat: Mapping[str, Any]) -> str | None:
    if repeat.get("duration") is None:
        return None
    field = "dosageInstruction[0].timing.repeat"
    length = _positive(repeat.get("duration"), f"{field}.duration")
    return f"{length!r} {_time_word(repeat.get('durationUnit'), f'{field}.durationUnit')}"


def _time_word(code: object, field: str) -> str:
    if not isinstance(code, str) or code not in _TIME_WORDS:
        raise InputError(field, "must be one of " + ", ".join(_TIME_WORDS), code)
    return _TIME_WORDS[code]


def _first(items: object, field: str) -> Mapping[str, Any]:
    if not isinstance(items, list) or not items or not isinstance(items[0], Mapping):
        raise InputError(field, "is needed: a list with at least one entry")
    first: Mapping[str, Any] = items[0]
    return first


def _positive(number: object, field: str) -> float:
    if isinstance(number, bool) or not isinstance(number, int | float) or not number > 0 \
            or number == float("inf"):
        raise InputError(field, "must be a number above zero", number)
    return float(number)


def rounded_doses_within(plan: PreparationPlan,
                         tolerance_percent: float) -> tuple[Alternative, ...]:
    """Whole-vial doses other than the prescribed one that differ from it by at most
    `tolerance_percent` (the calendar's per-infusion tolerance)."""
    return tuple(alternative for alternative in plan.alternatives
                 if alternative.dose_units != plan.dose_units
                 and abs(alternative.percent_of_prescribed - 100) <= tolerance_percent)
