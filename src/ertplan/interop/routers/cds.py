"""CDS Hooks 2.0: ``/cds-services`` (discovery, the two hooks, feedback) and ``/cds-feedback``.

The hooks answer cards from the core planner (see :mod:`ertplan.interop.cds_service`); a malformed
request is a 400 with its reason, an order for another drug an empty card list. With trusted clients
configured (``ERTPLAN_CDS_CLIENTS``), the hooks and feedback need a client JWT (401 otherwise,
see :mod:`ertplan.interop.cds_auth`); with none, the hooks (which store nothing) stay open and
feedback, a write, is refused. Discovery is always open, as the specification allows.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Request, Response, status
from pydantic import BaseModel

from ertplan.interop.cds_auth import TrustedClients, verify_client
from ertplan.interop.cds_service import (
    SERVICES,
    CdsResponse,
    Feedback,
    FhirAccess,
    HookRequest,
    IssuedCards,
    answer,
    discovery,
    fhir_reader,
    parse_request,
    server_allowed,
)
from ertplan.service.deps import Admin, Limit, NowDep, Offset, PlannerDep, SessionDep
from ertplan.service.errors import ERROR_RESPONSES, Message, NotAuthenticated
from ertplan.store import repositories as repo
from ertplan.store.models import CdsFeedback

router = APIRouter(tags=["cds-hooks"])

ServiceId = Annotated[str, Path(max_length=100, description="a service id from discovery")]
_HOOK_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": CdsResponse, "description": "the cards (none for orders of other drugs)"},
    400: {"model": Message, "description": "the request does not follow CDS Hooks"},
    401: {"model": Message, "description": "no valid JWT of a trusted CDS client"},
    404: {"model": Message, "description": "no service with that id"},
    412: {"model": Message, "description": "the body weight was neither prefetched nor "
                                           "readable from the client's fhirServer"},
}


def _inline_schema(model: type[BaseModel]) -> dict[str, Any]:
    """`model`'s JSON schema with its definitions written in place (OpenAPI has no ``$defs``)."""
    schema = model.model_json_schema()
    definitions = schema.pop("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return inline(definitions[node["$ref"].rsplit("/", 1)[1]])
            return {key: inline(value) for key, value in node.items()}
        if isinstance(node, list):
            return [inline(item) for item in node]
        return node

    inlined: dict[str, Any] = inline(schema)
    return inlined


_HOOK_BODY = {"requestBody": {"required": True, "content": {
    "application/json": {"schema": _inline_schema(HookRequest)}}}}


class FeedbackStored(BaseModel):
    stored: int


class FeedbackPublic(BaseModel):
    id: int
    service_id: str
    issuer: str
    card_uuid: str
    outcome: str
    accepted_suggestions: list[str]
    override_code: str | None
    override_system: str | None
    override_display: str | None
    override_comment: str | None
    outcome_at: datetime
    received_at: datetime

    model_config = {"from_attributes": True}


def _endpoint(request: Request) -> str:
    """The URL the client called, which its JWT's ``aud`` must name (query left out)."""
    return str(request.url.replace(query=None, fragment=None))


def _client(request: Request, clients: TrustedClients) -> str:
    """The verified issuer of the request's client JWT, or NotAuthenticated (HTTP 401)."""
    return verify_client(request.headers.get("authorization"), audience=_endpoint(request),
                         clients=clients, now=request.app.state.clock())


def feedback_author(request: Request) -> str:
    """The verified issuer of the client writing feedback; with no client trusted, 401 always
    (no anonymous write). A dependency, so it is checked before the body (401 before 422)."""
    clients: TrustedClients = request.app.state.cds_clients
    if not clients.configured:
        raise NotAuthenticated("no CDS client is trusted (ERTPLAN_CDS_CLIENTS): feedback is "
                               "refused")
    return _client(request, clients)


FeedbackAuthor = Annotated[str, Depends(feedback_author)]


def _service(service_id: str) -> str:
    if service_id not in SERVICES:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no CDS service {service_id!r}")
    return service_id


@router.get("/cds-services")
def cds_discovery() -> dict[str, Any]:
    """CDS Hooks discovery: the ``order-select`` and ``order-sign`` services and their prefetch
    templates (Patient, latest body weight, recent haemoglobin and platelets)."""
    return discovery()


@router.post("/cds-services/{service_id}", response_class=Response,
             responses=_HOOK_RESPONSES, openapi_extra=_HOOK_BODY)
async def cds_call(service_id: ServiceId, request: Request, now: NowDep,
                   planner: PlannerDep) -> Response:
    """Call a service: cards with the plan of each draft imiglucerase order, one card per alert,
    and whole-vial doses within the per-infusion tolerance as ``update`` suggestions."""
    from starlette.concurrency import run_in_threadpool

    clients: TrustedClients = request.app.state.cds_clients
    issuer = _client(request, clients) if clients.configured else None
    hook = parse_request(await request.body(), _service(service_id))
    settings = request.app.state.settings
    server = hook.fhirServer or ""
    listed = server_allowed(server, settings.cds_fhir_servers)
    # a trusted client's fhirServer is called; else only one the site allow-lists
    allowed = listed or (issuer is not None and not settings.cds_fhir_servers)
    base = str(request.base_url).rstrip("/")
    smart = (settings.smart_client_id is not None
             and server_allowed(server, settings.smart_issuers))
    # planning and the FHIR reads block: off the event loop, like FastAPI's sync routes
    cards = await run_in_threadpool(
        answer, hook, planner=planner, now=now, site_codes=request.app.state.cds_codes,
        fhir=FhirAccess(get=fhir_reader(settings.cds_fhir_timeout_s), allowed=allowed),
        worksheet_url=f"{base}/ui/worksheet",
        smart_launch_url=f"{base}/smart/launch" if smart else None)
    if issuer is not None:
        issued: IssuedCards = request.app.state.cds_issued
        issued.record(issuer=issuer, service_id=service_id, cards=cards.cards, now=now)
    return Response(content=cards.model_dump_json(exclude_none=True),
                    media_type="application/json")


@router.post("/cds-services/{service_id}/feedback",
             responses={401: {"model": Message,
                              "description": "no valid JWT of a trusted CDS client (always, "
                                             "when none is configured)"},
                         404: {"model": Message, "description": "no service with that id"},
                         422: {"description": "a card this service did not issue to the client, "
                                              "or a suggestion not on it"}})
def cds_feedback(service_id: ServiceId, body: Feedback, issuer: FeedbackAuthor,
                 request: Request, session: SessionDep, now: NowDep) -> FeedbackStored:
    """CDS Hooks feedback: what the user did with each card (accepted, or overridden and why).

    A write: only a trusted CDS client's verified JWT may make it; each entry is stored with the
    client's issuer as its author and an audit row, in one transaction.
    """
    _service(service_id)
    issued: IssuedCards = request.app.state.cds_issued
    for index, item in enumerate(body.feedback):
        _check_issued(issued, issuer, service_id, item, index, now)
    for item in body.feedback:
        reason = item.overrideReason
        coding = None if reason is None else reason.reason
        repo.add_record(session, actor=None, client=issuer, now=now, record=CdsFeedback(
            service_id=service_id, issuer=issuer, card_uuid=item.card, outcome=item.outcome,
            accepted_suggestions=[accepted.id for accepted in item.acceptedSuggestions],
            override_code=None if coding is None else coding.code,
            override_system=None if coding is None else coding.system,
            override_display=None if coding is None else coding.display,
            override_comment=None if reason is None else reason.userComment,
            outcome_at=item.outcomeTimestamp, received_at=now))
    session.commit()
    return FeedbackStored(stored=len(body.feedback))


def _check_issued(issued: IssuedCards, issuer: str, service_id: str, item: Any, index: int,
                  now: datetime) -> None:
    """Feedback names a card this service issued to this client, and only its suggestions;
    an ``accepted`` outcome names at least one (2.0.1 §Feedback); else 422 naming the entry."""
    from ertplan.core.errors import InputError

    where = f"feedback[{index}]"
    suggestions = issued.suggestions(issuer=issuer, service_id=service_id, card=item.card,
                                     now=now)
    if suggestions is None:
        raise InputError(f"{where}.card", "is not a card this service issued to this client",
                         item.card)
    if item.outcome == "accepted" and not item.acceptedSuggestions:
        raise InputError(f"{where}.acceptedSuggestions", "is required for an accepted outcome")
    for number, accepted in enumerate(item.acceptedSuggestions):
        if accepted.id not in suggestions:
            raise InputError(f"{where}.acceptedSuggestions[{number}].id",
                             "is not a suggestion of that card", accepted.id)


@router.get("/cds-feedback", responses=ERROR_RESPONSES)
def list_cds_feedback(_admin: Admin, session: SessionDep, limit: Limit = 100,
                      offset: Offset = 0) -> list[FeedbackPublic]:
    """Feedback from CDS clients, oldest first (admins only)."""
    found = repo.list_records(session, model=CdsFeedback, limit=limit, offset=offset)
    return [FeedbackPublic.model_validate(entry) for entry in found]
