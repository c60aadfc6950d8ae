"""CDS Hooks 2.0.1 services: ertplan's plan of a draft imiglucerase order, as cards.

The discovery document, the request's checks (a malformed request is :class:`BadRequest`, HTTP
400), the body weight from prefetch or from the client's FHIR server (neither: HTTP 412, as
§Providing FHIR Resources to a CDS Service requires), and the cards. Every number on a card comes
from the core planner (:mod:`ertplan.interop.cds` reads the FHIR order into the same text inputs
as ``ertplan prepare``); this module only words and arranges it, for a prescriber: no
command-line options, no network errors.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
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
    RXNORM_SYSTEM,
    Reading,
    latest_reading,
    medication_codings,
    order_name,
    order_start,
    preparation_inputs,
    resources_in,
    rounded_doses_within,
    with_dose,
)
from ertplan.interop.fetch import Unreachable, get_json
from ertplan.service.errors import BadRequest, PreconditionFailed
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
# what the cards use, and nothing more (2.0.1 §Prefetch Template: the "minimum necessary")
PREFETCH = {
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
    """§Link: a page the clinician can open from the card: the printable worksheet
    (``absolute``), or ertplan launched by the EHR as a SMART app (``smart``)."""

    label: str
    url: str
    type: Literal["absolute", "smart"]
    appContext: str | None = None  # the spec's name; only with type smart


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


FhirGet = Callable[[str, str, str | None], Any]
"""Reads ``base`` + ``relative URL`` with an optional bearer token; returns parsed JSON, or
raises :class:`~ertplan.interop.fetch.Unreachable`."""


def fhir_reader(timeout_s: float) -> FhirGet:
    """A :data:`FhirGet` over HTTP(S) (one GET per request; network errors are logged only)."""

    def get(base: str, relative: str, token: str | None) -> Any:
        return get_json(base.rstrip("/") + "/" + relative, what="the EHR's FHIR server",
                        timeout_s=timeout_s, token=token, accept="application/fhir+json")

    return get


def server_allowed(server: str, allow_list: Sequence[str]) -> bool:
    """Whether the base URL `server` is one of `allow_list` or below one of them.

    >>> server_allowed("https://ehr.example.org/fhir", ["https://ehr.example.org/fhir/"])
    True
    >>> server_allowed("https://ehr.example.org.evil.test/", ["https://ehr.example.org"])
    False
    """
    return any(server.rstrip("/") == listed.rstrip("/")
               or server.startswith(listed.rstrip("/") + "/") for listed in allow_list)


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


_OPTION_ASIDE = re.compile(r"\s*\([^()]*--[a-z][^()]*\)")
_OPTION_SENTENCE = re.compile(r"[^.]*--[a-z][^.]*\.\s*")


def for_prescribers(text: str) -> str:
    """`text` without the command-line advice the core's messages carry for ``ertplan prepare``.

    >>> for_prescribers("Check stock, or plan without it (--vial-sizes 400).")
    'Check stock, or plan without it.'
    >>> for_prescribers("Slower is safer. Give --duration 60min for the fastest.")
    'Slower is safer.'
    """
    return _OPTION_SENTENCE.sub("", _OPTION_ASIDE.sub("", text)).strip()


# ---- the cards issued, for the feedback endpoint ----


@dataclass
class IssuedCards:
    """The cards (and their suggestions) answered to trusted clients, so that feedback is taken
    only for a card this service issued to that client (2.0.1 §Feedback). Kept in this process's
    memory, the last :attr:`limit` cards for :attr:`kept`; a restart forgets them."""

    limit: int = 50_000
    kept: timedelta = timedelta(days=30)
    _cards: OrderedDict[tuple[str, str, str], tuple[datetime, frozenset[str]]] = field(
        default_factory=OrderedDict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, *, issuer: str, service_id: str, cards: Sequence[Card],
               now: datetime) -> None:
        with self._lock:
            for card in cards:
                suggestions = frozenset(suggestion.uuid for suggestion in card.suggestions or ())
                self._cards[(issuer, service_id, card.uuid)] = (now, suggestions)
            while len(self._cards) > self.limit:
                self._cards.popitem(last=False)

    def suggestions(self, *, issuer: str, service_id: str, card: str,
                    now: datetime) -> frozenset[str] | None:
        """The suggestion uuids of an issued card, or None if it was not issued (or is gone)."""
        with self._lock:
            found = self._cards.get((issuer, service_id, card))
        if found is None or now - found[0] > self.kept:
            return None
        return found[1]


# ---- the answer ----


@dataclass(frozen=True, kw_only=True)
class FhirAccess:
    """How a call may reach the client's FHIR server: `get`, when ertplan may call its
    ``fhirServer`` (a trusted client's, or one on the site's allow-list)."""

    get: FhirGet
    allowed: bool


def known_drug(order: Mapping[str, Any], planner: Planner,
               site_codes: Mapping[tuple[str, str], str],
               bundle: object = None) -> Monograph | None:
    """The monograph whose codes (ATC or RxNorm from its data, or a site's) name the order's
    drug, if any; a ``medicationReference`` is followed into `bundle` or the contained resources."""
    from ertplan.core.monograph import available_drugs

    coded = medication_codings(order, bundle)
    for pair, drug in site_codes.items():
        if pair in coded:
            return planner.monograph(drug)
    for drug in available_drugs():
        monograph = planner.monograph(drug)
        known = {(ATC_SYSTEM, code) for code in monograph.codes.atc}
        if monograph.rxnorm is not None:
            known |= {(RXNORM_SYSTEM, code) for code in monograph.rxnorm.codes}
        if known & coded:
            return monograph
    return None


def answer(request: HookRequest, *, planner: Planner, now: datetime,
           site_codes: Mapping[tuple[str, str], str], fhir: FhirAccess,
           worksheet_url: str | None = None, smart_launch_url: str | None = None) -> CdsResponse:
    """The cards for the hook's orders of drugs ertplan has a monograph for (none for others).

    `worksheet_url` (the web UI's ``/ui/worksheet`` on this server) gives each plan's summary
    card a link to the printable worksheet of the same inputs; `smart_launch_url` (when the
    client's EHR may launch ertplan as a SMART app) a ``smart`` link to ertplan's launch.
    PreconditionFailed (412) when the weight is neither prefetched nor readable.
    """
    cards: list[Card] = []
    drafts = request.context["draftOrders"]
    orders = [(order, monograph) for order in draft_medication_requests(request)
              if (monograph := known_drug(order, planner, site_codes, drafts)) is not None]
    if not orders:
        return CdsResponse(cards=[])
    prefetch = request.prefetch or {}
    weight, trouble = _weight(request, prefetch, fhir)
    labs = [(name, _lab(request, prefetch, fhir, name, code))
            for name, code in (("haemoglobin", HAEMOGLOBIN_LOINC),
                               ("platelets", PLATELETS_LOINC))]
    for order, monograph in orders:
        source = Source(label=SOURCE_LABEL.format(drug=monograph.drug))
        name = order_name(order)
        if weight is None:
            cards.append(_weight_needed(monograph, trouble, source, name))
            continue
        start = order_start(order)
        try:
            inputs = preparation_inputs(order, weight=weight.text, table=planner.unit_table(),
                                        vial_sizes=planner.default_vial_sizes)
            if start is not None:
                inputs = replace(inputs, prepared_at=start.isoformat())
            plan = planner.plan_from_inputs(inputs, drug=monograph.drug, now=now)
        except InputError as error:
            cards.append(Card(
                uuid=_new_uuid(), indicator="warning", source=source,
                summary=_summary(f"ertplan cannot plan this {monograph.drug} order: "
                                 f"{error.field}"),
                detail=f"**Order**: {name}\n\n{for_prescribers(str(error))}. Correct the order "
                       "so that ertplan can plan it."))
            continue
        card = _plan_card(plan, weight, labs, source, monograph, name, start)
        card.links = []
        if smart_launch_url is not None:
            card.links.append(_smart_link(smart_launch_url, inputs))
        if worksheet_url is not None:
            card.links.append(_worksheet_link(worksheet_url, inputs))
        card.links = card.links or None
        cards.append(card)
        cards.extend(_alert_card(alert, name, monograph) for alert in plan.alerts)
        rounding = _rounding_card(order, plan, monograph, name)
        if rounding is not None:
            cards.append(rounding)
    return CdsResponse(cards=cards)


def _search(request: HookRequest, fhir: FhirAccess, loinc: str, count: int) -> Any:
    """A search the prefetch did not answer, on the client's FHIR server; PreconditionFailed
    when there is none ertplan may call, or it cannot be read (its error is only logged)."""
    if request.fhirServer is None:
        raise PreconditionFailed("the body weight was not prefetched and no fhirServer was "
                                 "given to read it from")
    if not fhir.allowed:
        raise PreconditionFailed("the body weight was not prefetched, and the fhirServer is not "
                                 "one this ertplan may call (no trusted CDS client, and not on "
                                 "the site's allow-list of FHIR servers)")
    query = urlencode({"patient": request.context["patientId"],
                       "code": f"http://loinc.org|{loinc}", "_sort": "-date",
                       "_count": str(count)})
    token = None if request.fhirAuthorization is None else (
        request.fhirAuthorization.access_token)
    try:
        return fhir.get(request.fhirServer, f"Observation?{query}", token)
    except Unreachable:
        raise PreconditionFailed("the body weight was not prefetched and the fhirServer could "
                                 "not be read") from None


def _answered(prefetch: Mapping[str, Any], key: str) -> bool:
    """Whether the client satisfied the prefetch `key` (an OperationOutcome says it could not)."""
    if key not in prefetch:
        return False
    value = prefetch[key]
    return not (isinstance(value, Mapping) and value.get("resourceType") == "OperationOutcome")


def _weight(request: HookRequest, prefetch: Mapping[str, Any],
            fhir: FhirAccess) -> tuple[Reading | None, str]:
    """The latest body weight, from prefetch or else from ``fhirServer``; None with the reason
    when the patient has none on record."""
    if _answered(prefetch, "weight"):
        found = latest_reading(prefetch["weight"], WEIGHT_LOINC)
    else:
        found = latest_reading(_search(request, fhir, WEIGHT_LOINC, 1), WEIGHT_LOINC)
    return found, "the EHR holds no body weight for the patient"


def _lab(request: HookRequest, prefetch: Mapping[str, Any], fhir: FhirAccess, name: str,
         loinc: str) -> Reading | str:
    """The latest result of a lab shown on the card, or what to say instead (a lab is shown, not
    needed: one that cannot be read leaves the card as it is)."""
    if _answered(prefetch, name):
        return latest_reading(prefetch[name], loinc) or "none on record"
    if request.fhirServer is None or not fhir.allowed:
        return "not sent by the EHR"
    try:
        return latest_reading(_search(request, fhir, loinc, 3), loinc) or "none on record"
    except PreconditionFailed:
        return "could not be read from the EHR"


def _weight_needed(monograph: Monograph, trouble: str, source: Source, name: str) -> Card:
    return Card(
        uuid=_new_uuid(), indicator="warning", source=source,
        summary=_summary(f"Record a body weight to plan this {monograph.drug} order"),
        detail=(f"**Order**: {name}\n\nertplan doses {monograph.drug} per kg and found no body "
                f"weight (LOINC {WEIGHT_LOINC}): {trouble}. Record a current weight and sign "
                "again."))


def _vials(vials: Sequence[VialCount]) -> str:
    return " + ".join(f"{vial.count} × {vial.units} U" for vial in vials)


def _number(value: float | None, unit: str) -> str:
    # a volume or rate is missing only when no bag could be planned (the dose alone is too large)
    return "none: no bag is planned (see the alerts)" if value is None else f"{value:g} {unit}"


def _beyond_use(plan: PreparationPlan, start: datetime | None) -> str:
    """Beyond-use times counted from the order's start when it gives one to the minute; else the
    durations, counted from the preparation, since the card cannot know when that will be."""
    beyond = plan.beyond_use
    if start is None:
        return (f"**Beyond use** (from the preparation): reconstituted vials "
                f"{beyond.reconstituted_basis}; diluted bag {beyond.diluted_basis}")
    return (f"**Beyond use** (if prepared at the order's start, {start.isoformat()}): "
            "reconstituted until "
            + (beyond.reconstituted_until.isoformat() if beyond.reconstituted_until
               else beyond.reconstituted_basis)
            + "; diluted until " + (beyond.diluted_until.isoformat() if beyond.diluted_until
                                    else beyond.diluted_basis))


def _plan_card(plan: PreparationPlan, weight: Reading,
               labs: Sequence[tuple[str, Reading | str]], source: Source,
               monograph: Monograph, name: str, start: datetime | None) -> Card:
    lines = [
        f"**Order**: {name}",
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
        _beyond_use(plan, start),
        *(f"**Latest {lab}**: " + (reading if isinstance(reading, str) else reading.text + (
            f" of {reading.effective}" if reading.effective else "")) for lab, reading in labs),
        plan.verification_note,
    ]
    summary = (f"{plan.drug.capitalize()} {plan.dose_units:g} U: {_vials(plan.vials)} vials, "
               f"{_number(plan.infusion.rate_ml_per_h, 'mL/h')}")
    return Card(uuid=_new_uuid(), indicator="info", source=source, summary=_summary(summary),
                detail="\n\n".join(lines))


def _order_inputs(inputs: PreparationInputs) -> dict[str, str]:
    query = {"weight": inputs.weight, "dose": inputs.dose, "every": inputs.every,
             "duration": inputs.duration, "vial_sizes": inputs.vial_sizes}
    return {key: value for key, value in query.items() if value}


def _worksheet_link(worksheet_url: str, inputs: PreparationInputs) -> Link:
    """The worksheet page for the order's inputs, as ertplan read them (the user signs in)."""
    return Link(label="Preparation worksheet (ertplan; print, to be verified by a pharmacist)",
                url=f"{worksheet_url}?{urlencode(_order_inputs(inputs))}", type="absolute")


def _smart_link(launch_url: str, inputs: PreparationInputs) -> Link:
    """ertplan launched by the EHR as a SMART app (§Link type smart), with the order's dose as
    ``appContext`` for the order page it opens."""
    context = {key: value for key, value in _order_inputs(inputs).items()
               if key in ("dose", "every", "duration")}
    return Link(label="Open the order in ertplan", url=launch_url, type="smart",
                appContext=json.dumps(context, sort_keys=True))


def _alert_card(alert: Alert, name: str, monograph: Monograph) -> Card:
    unverified = "" if alert.verified else (
        "\n\nertplan could not check the source of this alert against the original document.")
    message = for_prescribers(alert.message)
    order = name.removeprefix("MedicationRequest/")
    return Card(uuid=_new_uuid(), indicator=alert.severity, source=Source(label=alert.source),
                summary=_summary(f"{monograph.drug.capitalize()} order {order}: {message}"),
                detail=f"**Order**: {name}\n\n{message}\n\nAlert code: `{alert.code}`."
                       f"{unverified}")


def _rounding_card(order: Mapping[str, Any], plan: PreparationPlan, monograph: Monograph,
                   name: str) -> Card | None:
    tolerance = monograph.calendar.infusion_tolerance
    doses = rounded_doses_within(plan, tolerance.percent)
    if not doses:
        return None
    suggestions = []
    for alternative in doses:
        dosage_text = (f"{alternative.dose_units:g} U intravenously {plan.frequency}, over "
                       f"{plan.infusion.duration_min:g} min (whole vials: "
                       f"{_vials(alternative.vials)})")
        updated = with_dose(order, dose_units=alternative.dose_units, dosage_text=dosage_text,
                            narrative=f"{monograph.drug} {dosage_text}. A whole-vial dose "
                                      f"{alternative.percent_of_prescribed:.1f}% of the "
                                      f"{plan.dose_units:g} U first ordered; every plan must be "
                                      "verified by a pharmacist.")
        label = (f"Round to {alternative.dose_units:g} U "
                 f"({alternative.percent_of_prescribed:.1f}% of the order): "
                 f"{_vials(alternative.vials)}")
        suggestions.append(Suggestion(label=label, uuid=_new_uuid(), actions=[Action(
            type="update", description=f"{label}; {name}", resource=updated)]))
    return Card(
        uuid=_new_uuid(), indicator="info", selectionBehavior="at-most-one",
        suggestions=suggestions,
        source=Source(label=monograph.cite(tolerance.source)),
        summary=_summary(f"A whole-vial dose within {tolerance.percent:g}% avoids discarding "
                         f"{plan.waste_units:g} U"),
        detail=f"**Order**: {name}\n\n{tolerance.text} The prescriber chooses; nothing is "
               "changed without a choice.")
