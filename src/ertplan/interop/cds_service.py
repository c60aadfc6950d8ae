"""CDS Hooks 2.0 services: ertplan's plan of a draft imiglucerase order, as cards.

The discovery document, the request's checks (a malformed request is :class:`BadRequest`, HTTP
400), the body weight from prefetch or from the client's FHIR server, and the cards. Every number
on a card comes from the core planner (:mod:`ertplan.interop.cds` reads the FHIR order into the same
text inputs as ``ertplan prepare``); this module only words and arranges it.
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Literal
from urllib.parse import urlencode

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ertplan.core.alerts import Alert
from ertplan.core.errors import InputError
from ertplan.core.inputs import PreparationInputs
from ertplan.core.monograph import Monograph
from ertplan.core.preparation import PreparationPlan
from ertplan.core.vials import VialCount
from ertplan.interop.cds import (
    UCUM_SYSTEM,
    Reading,
    latest_reading,
    medication_codings,
    preparation_inputs,
    resources_in,
    rounded_doses_within,
)
from ertplan.service.errors import BadRequest
from ertplan.service.planning import Planner
from ertplan.service.schemas import Moment

ATC_SYSTEM = "http://www.whocc.no/atc"
# LOINC codes of what the services read (identifiers, not clinical numbers)
WEIGHT_LOINC = "29463-7"  # Body weight
HAEMOGLOBIN_LOINC = "718-7"  # Hemoglobin [Mass/volume] in Blood
PLATELETS_LOINC = "777-3"  # Platelets [#/volume] in Blood by Automated count
SUMMARY_LIMIT = 140  # CDS Hooks 2.0 §Card Attributes: summary "<140 characters"
SOURCE_LABEL = "ertplan: {drug} monograph data"

_PATIENT = "{{context.patientId}}"
PREFETCH = {
    "patient": f"Patient/{_PATIENT}",
    "weight": f"Observation?patient={_PATIENT}&code=http://loinc.org|{WEIGHT_LOINC}"
              "&_sort=-date&_count=1",
    "haemoglobin": f"Observation?patient={_PATIENT}&code=http://loinc.org|{HAEMOGLOBIN_LOINC}"
                   "&_sort=-date&_count=3",
    "platelets": f"Observation?patient={_PATIENT}&code=http://loinc.org|{PLATELETS_LOINC}"
                 "&_sort=-date&_count=3",
}
SERVICES: dict[str, dict[str, str]] = {
    "ertplan-order-select": {
        "hook": "order-select",
        "title": "ertplan imiglucerase preparation plan",
        "description": "While an imiglucerase order is selected: dose, whole vials, volumes, "
                       "rate, beyond-use times and ertplan's alerts, from the body weight.",
    },
    "ertplan-order-sign": {
        "hook": "order-sign",
        "title": "ertplan imiglucerase order check",
        "description": "Before an imiglucerase order is signed: the same plan and alerts, and a "
                       "whole-vial dose within the per-infusion rounding tolerance to choose.",
    },
}


# ---- the request (CDS Hooks 2.0 §HTTP Request) ----


class FhirAuthorization(BaseModel):
    """§FHIR Resource Access: the bearer token the service may use on ``fhirServer``."""

    model_config = ConfigDict(extra="allow")
    access_token: str = Field(min_length=1, max_length=8192)
    token_type: Literal["Bearer"]
    expires_in: int | None = None
    scope: str | None = Field(default=None, max_length=8192)
    subject: str | None = Field(default=None, max_length=1024)


class HookRequest(BaseModel):
    """The body a CDS client posts to ``/cds-services/{id}``."""

    model_config = ConfigDict(extra="allow")
    hook: str = Field(min_length=1, max_length=100)
    hookInstance: str = Field(min_length=1, max_length=100)  # the spec's name
    fhirServer: str | None = Field(default=None, max_length=2048)
    fhirAuthorization: FhirAuthorization | None = None
    context: dict[str, Any]
    prefetch: dict[str, Any] | None = None


def parse_request(raw: bytes, service_id: str) -> HookRequest:
    """The request of service `service_id`, or BadRequest naming what is wrong with it."""
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        raise BadRequest("the body is not JSON") from None
    try:
        request = HookRequest.model_validate(body)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "body"
        raise BadRequest(f"{where}: {first['msg']}") from None
    expected = SERVICES[service_id]["hook"]
    if request.hook != expected:
        raise BadRequest(f"hook: this service answers {expected}, not {request.hook}")
    if request.fhirAuthorization is not None and request.fhirServer is None:
        raise BadRequest("fhirServer: required when fhirAuthorization is given")
    if request.fhirServer is not None and not request.fhirServer.startswith(
            ("http://", "https://")):
        raise BadRequest("fhirServer: must be an http(s) base URL")
    if not isinstance(request.context.get("patientId"), str):
        raise BadRequest("context.patientId: required, a FHIR id")
    orders = request.context.get("draftOrders")
    if not isinstance(orders, Mapping) or orders.get("resourceType") != "Bundle":
        raise BadRequest("context.draftOrders: required, a FHIR Bundle")
    if expected == "order-select":
        selections = request.context.get("selections")
        if not isinstance(selections, list) or not all(isinstance(s, str) for s in selections):
            raise BadRequest("context.selections: required, a list of resource references")
    return request


def draft_medication_requests(request: HookRequest) -> list[Mapping[str, Any]]:
    """The MedicationRequests the hook is about: all draft orders (order-sign), or the selected
    ones (order-select, ``selections`` as ``MedicationRequest/{id}``)."""
    orders = list(resources_in(request.context["draftOrders"], "MedicationRequest"))
    if request.hook == "order-select":
        chosen = set(request.context["selections"])
        orders = [order for order in orders if f"MedicationRequest/{order.get('id')}" in chosen]
    return orders


# ---- the response (CDS Hooks 2.0 §CDS Service Response) ----


class Source(BaseModel):
    label: str
    url: str | None = None


class Action(BaseModel):
    type: Literal["create", "update", "delete"]
    description: str
    resource: dict[str, Any] | None = None


class Suggestion(BaseModel):
    label: str
    uuid: str
    isRecommended: bool | None = None  # the spec's name
    actions: list[Action]


class Link(BaseModel):
    """§Link: a page the clinician can open from the card (here the printable worksheet)."""

    label: str
    url: str
    type: Literal["absolute", "smart"]


class Card(BaseModel):
    uuid: str
    summary: str = Field(max_length=SUMMARY_LIMIT - 1)
    detail: str | None = None
    indicator: Literal["info", "warning", "critical"]
    source: Source
    suggestions: list[Suggestion] | None = None
    selectionBehavior: Literal["at-most-one", "any"] | None = None
    links: list[Link] | None = None


class CdsResponse(BaseModel):
    cards: list[Card]


class AcceptedSuggestion(BaseModel):
    id: str = Field(min_length=1, max_length=64)


class Coding(BaseModel):
    code: str | None = Field(default=None, max_length=200)
    system: str | None = Field(default=None, max_length=500)
    display: str | None = Field(default=None, max_length=500)


class OverrideReason(BaseModel):
    reason: Coding | None = None
    userComment: str | None = Field(default=None, max_length=4000)


class FeedbackItem(BaseModel):
    card: str = Field(min_length=1, max_length=64)
    outcome: Literal["accepted", "overridden"]
    acceptedSuggestions: list[AcceptedSuggestion] = Field(
        default_factory=list, max_length=20)
    overrideReason: OverrideReason | None = None
    outcomeTimestamp: Moment


class Feedback(BaseModel):
    """The feedback endpoint's body (§Feedback): what the user did with each card."""

    feedback: list[FeedbackItem] = Field(min_length=1, max_length=100)


def site_drug_codes(setting: str | None, planner: Planner) -> dict[tuple[str, str], str]:
    """A site's extra drug codes, ``drug=system|code`` separated by commas (e.g. an RxNorm code
    its EHR sends): the setting ``ERTPLAN_CDS_DRUG_CODES``; a malformed entry is an InputError."""
    codes: dict[tuple[str, str], str] = {}
    for entry in (setting or "").split(","):
        if not entry.strip():
            continue
        drug, _, coding = entry.strip().partition("=")
        system, _, code = coding.partition("|")
        if not (drug and system and code):
            raise InputError("cds-drug-codes", "entries must read drug=system|code", entry)
        planner.monograph(drug)  # an unknown drug is refused here, at start-up
        codes[(system, code)] = drug
    return codes


def fhir_reader(timeout_s: float, max_bytes: int = 4 * 1024 * 1024) -> FhirGet:
    """A :data:`FhirGet` over HTTP(S) with the standard library (one GET per request)."""

    def get(base: str, relative: str, token: str | None) -> Any:
        import http.client
        from urllib.error import URLError
        from urllib.request import Request, urlopen

        headers = {"Accept": "application/fhir+json"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        url = base.rstrip("/") + "/" + relative
        try:
            with urlopen(Request(url, headers=headers), timeout=timeout_s) as response:
                return json.loads(response.read(max_bytes))
        except (URLError, OSError, ValueError, RecursionError,
                http.client.HTTPException) as error:
            raise FhirUnavailable(" ".join(str(error).split())[:200]) from None

    return get


def discovery() -> dict[str, Any]:
    """§Discovery: the two services and their prefetch templates."""
    return {"services": [{"id": service_id, **service, "prefetch": PREFETCH}
                         for service_id, service in SERVICES.items()]}


def _new_uuid() -> str:
    return str(uuid.uuid4())


def _summary(text: str) -> str:
    """`text` if it fits the card summary, else cut at a word with an ellipsis (detail has all)."""
    if len(text) < SUMMARY_LIMIT:
        return text
    return text[:SUMMARY_LIMIT - 2].rsplit(" ", 1)[0] + "…"


# ---- the answer ----

FhirGet = Callable[[str, str, str | None], Any]
"""Reads ``base`` + ``relative URL`` with an optional bearer token; returns parsed JSON."""


class FhirUnavailable(Exception):
    """The client's FHIR server could not be read (network, status, or not JSON)."""


def known_drug(order: Mapping[str, Any], planner: Planner,
               site_codes: Mapping[tuple[str, str], str]) -> Monograph | None:
    """The monograph whose codes (its ATC codes, or a site's) name the order's drug, if any."""
    from ertplan.core.monograph import available_drugs

    coded = medication_codings(order)
    for pair, drug in site_codes.items():
        if pair in coded:
            return planner.monograph(drug)
    for drug in available_drugs():
        monograph = planner.monograph(drug)
        if any((ATC_SYSTEM, code) in coded for code in monograph.codes.atc):
            return monograph
    return None


def answer(request: HookRequest, *, planner: Planner, now: datetime,
           site_codes: Mapping[tuple[str, str], str], fhir_get: FhirGet,
           worksheet_url: str | None = None) -> CdsResponse:
    """The cards for the hook's imiglucerase orders (none for other drugs).

    `worksheet_url` (the web UI's ``/ui/worksheet`` on this server) gives each plan's summary
    card a link to the printable worksheet of the same inputs.
    """
    cards: list[Card] = []
    orders = [(order, monograph) for order in draft_medication_requests(request)
              if (monograph := known_drug(order, planner, site_codes)) is not None]
    if not orders:
        return CdsResponse(cards=[])
    prefetch = request.prefetch or {}
    weight, trouble = _weight(request, prefetch, fhir_get)
    labs = [(name, latest_reading(prefetch.get(name), code))
            for name, code in (("haemoglobin", HAEMOGLOBIN_LOINC),
                               ("platelets", PLATELETS_LOINC))]
    for order, monograph in orders:
        source = Source(label=SOURCE_LABEL.format(drug=monograph.drug))
        if weight is None:
            cards.append(_weight_needed(monograph, trouble, source))
            continue
        try:
            inputs = preparation_inputs(order, weight=weight.text, table=planner.unit_table(),
                                        vial_sizes=planner.default_vial_sizes)
            plan = planner.plan_from_inputs(inputs, drug=monograph.drug, now=now)
        except InputError as error:
            cards.append(Card(
                uuid=_new_uuid(), indicator="warning", source=source,
                summary=_summary(f"ertplan cannot plan this {monograph.drug} order: "
                                 f"{error.field}"),
                detail=f"{error}. Correct the order so that ertplan can plan it."))
            continue
        card = _plan_card(plan, weight, labs, source, monograph)
        if worksheet_url is not None:
            card.links = [_worksheet_link(worksheet_url, inputs)]
        cards.append(card)
        cards.extend(_alert_card(alert) for alert in plan.alerts)
        rounding = _rounding_card(order, plan, monograph)
        if rounding is not None:
            cards.append(rounding)
    return CdsResponse(cards=cards)


def _weight(request: HookRequest, prefetch: Mapping[str, Any],
            fhir_get: FhirGet) -> tuple[Reading | None, str | None]:
    """The latest body weight: from prefetch, else from ``fhirServer``; else why there is none."""
    if prefetch.get("weight") is not None:
        found = latest_reading(prefetch["weight"], WEIGHT_LOINC)
        return found, None if found else "the prefetched weight holds no body weight Observation"
    if request.fhirServer is None:
        return None, "no weight was prefetched and no fhirServer was given"
    query = urlencode({"patient": request.context["patientId"],
                       "code": f"http://loinc.org|{WEIGHT_LOINC}", "_sort": "-date",
                       "_count": "1"})
    token = None if request.fhirAuthorization is None else (
        request.fhirAuthorization.access_token)
    try:
        bundle = fhir_get(request.fhirServer, f"Observation?{query}", token)
    except FhirUnavailable as error:
        return None, f"the FHIR server could not be read ({error})"
    found = latest_reading(bundle, WEIGHT_LOINC)
    return found, None if found else "the FHIR server holds no body weight for the patient"


def _weight_needed(monograph: Monograph, trouble: str | None, source: Source) -> Card:
    return Card(
        uuid=_new_uuid(), indicator="warning", source=source,
        summary=_summary(f"Record a body weight to plan this {monograph.drug} order"),
        detail=(f"ertplan doses {monograph.drug} per kg and found no body weight "
                f"(LOINC {WEIGHT_LOINC}): {trouble}. Record a current weight and sign again."))


def _vials(vials: Sequence[VialCount]) -> str:
    return " + ".join(f"{vial.count} × {vial.units} U" for vial in vials)


def _number(value: float | None, unit: str) -> str:
    # a volume or rate is missing only when no bag could be planned (the dose alone is too large)
    return "none: no bag is planned (see the alerts)" if value is None else f"{value:g} {unit}"


def _plan_card(plan: PreparationPlan, weight: Reading,
               labs: Sequence[tuple[str, Reading | None]], source: Source,
               monograph: Monograph) -> Card:
    beyond = plan.beyond_use
    lines = [
        f"**Dose**: {plan.dose_units:g} U ({plan.dose_per_kg:g} U/kg × {plan.weight_kg:g} kg, "
        f"weight {weight.text}" + (f" of {weight.effective}" if weight.effective else "")
        + f"), {plan.frequency}",
        f"**Vials**: {_vials(plan.vials)} ({plan.vial_units_total} U opened, "
        f"{plan.waste_units:g} U discarded)",
        *(f"**Reconstitute**: {step.count} × {step.vial_units} U vial(s) with "
          f"{step.sterile_water_ml:g} mL sterile water each "
          f"({step.concentration_units_per_ml:g} U/mL)" for step in plan.reconstitution),
        f"**Withdraw**: {plan.withdraw_ml:g} mL; {monograph.dilution.diluent}: "
        f"{_number(plan.sodium_chloride_ml, 'mL')}; final volume "
        f"{_number(plan.final_volume_ml, 'mL')}",
        f"**Infusion**: {plan.infusion.duration_min:g} min at "
        f"{_number(plan.infusion.rate_ml_per_h, 'mL/h')}",
        "**Beyond use**: reconstituted until "
        + (beyond.reconstituted_until.isoformat() if beyond.reconstituted_until
           else beyond.reconstituted_basis)
        + "; diluted until " + (beyond.diluted_until.isoformat() if beyond.diluted_until
                                else beyond.diluted_basis),
        *(f"**Latest {name}**: " + (f"{reading.text}" + (
            f" of {reading.effective}" if reading.effective else "")
            if reading else "none in prefetch") for name, reading in labs),
        plan.verification_note,
    ]
    summary = (f"{plan.drug.capitalize()} {plan.dose_units:g} U: {_vials(plan.vials)} vials, "
               f"{_number(plan.infusion.rate_ml_per_h, 'mL/h')}")
    return Card(uuid=_new_uuid(), indicator="info", source=source, summary=_summary(summary),
                detail="\n\n".join(lines))


def _worksheet_link(worksheet_url: str, inputs: PreparationInputs) -> Link:
    """The worksheet page for the order's inputs, as ertplan read them (the user signs in)."""
    query = {"weight": inputs.weight, "dose": inputs.dose, "every": inputs.every,
             "duration": inputs.duration, "vial_sizes": inputs.vial_sizes}
    return Link(label="Preparation worksheet (ertplan; print, to be verified by a pharmacist)",
                url=f"{worksheet_url}?{urlencode({k: v for k, v in query.items() if v})}",
                type="absolute")


def _alert_card(alert: Alert) -> Card:
    unverified = "" if alert.verified else (
        "\n\nThe fact behind this alert is marked unverified in ertplan's data.")
    return Card(uuid=_new_uuid(), indicator=alert.severity, source=Source(label=alert.source),
                summary=_summary(alert.message),
                detail=f"{alert.message}\n\nertplan alert `{alert.code}`.{unverified}")


def _rounding_card(order: Mapping[str, Any], plan: PreparationPlan,
                   monograph: Monograph) -> Card | None:
    tolerance = monograph.calendar.infusion_tolerance
    doses = rounded_doses_within(plan, tolerance.percent)
    if not doses:
        return None
    suggestions = []
    for alternative in doses:
        rounded = copy.deepcopy(dict(order))
        rounded["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"] = {
            "value": alternative.dose_units, "unit": "U", "system": UCUM_SYSTEM, "code": "[U]"}
        label = (f"Round to {alternative.dose_units} U "
                 f"({alternative.percent_of_prescribed:.1f}% of the order): "
                 f"{_vials(alternative.vials)}")
        suggestions.append(Suggestion(label=label, uuid=_new_uuid(), actions=[Action(
            type="update", description=label, resource=rounded)]))
    return Card(
        uuid=_new_uuid(), indicator="info", selectionBehavior="at-most-one",
        suggestions=suggestions,
        source=Source(label=monograph.cite(tolerance.source)),
        summary=_summary(f"A whole-vial dose within {tolerance.percent:g}% avoids discarding "
                         f"{plan.waste_units:g} U"),
        detail=f"{tolerance.text} The prescriber chooses; nothing is changed without a choice.")
