"""SMART App Launch 2.0 EHR launch: ``/smart/launch`` and ``/smart/callback`` (see
:mod:`ertplan.interop.smart`). The callback ends on the order page of the clinic's pages, for the
stored patient the EHR's Patient is (identifier system and value, confirmed by name, sex and birth
date), with the EHR's weight filled in; the pages ask the user to sign in as ever."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import select

from ertplan.interop.smart import (
    STATE_COOKIE,
    Launches,
    LaunchRefused,
    finish,
    issuer_allowed,
    start,
)
from ertplan.service.deps import SessionDep
from ertplan.store.models import Patient

router = APIRouter(prefix="/smart", tags=["smart"], include_in_schema=False)
Text = Annotated[str | None, Query(max_length=2048)]


def _redirect_uri(request: Request) -> str:
    configured: str | None = request.app.state.settings.smart_redirect_uri
    return configured or str(request.url_for("smart_callback"))


@router.get("/launch")
def smart_launch(request: Request, iss: Text = None, launch: Text = None) -> RedirectResponse:
    """The EHR launch: to the EHR's authorization endpoint, for an issuer the site allows."""
    settings = request.app.state.settings
    if not iss or not launch:
        raise HTTPException(400, "an EHR launch needs iss and launch")
    if settings.smart_client_id is None or not issuer_allowed(iss, settings.smart_issuers):
        raise HTTPException(403, "this EHR is not one ertplan may be launched from "
                                 "(ERTPLAN_SMART_ISSUERS, ERTPLAN_SMART_CLIENT_ID)")
    launches: Launches = request.app.state.smart_launches
    try:
        location, state = start(iss=iss, launch=launch, client_id=settings.smart_client_id,
                                redirect_uri=_redirect_uri(request),
                                timeout_s=settings.smart_timeout_s, launches=launches)
    except LaunchRefused as refused:
        raise HTTPException(refused.status, str(refused)) from None
    response = RedirectResponse(location, status_code=302)
    response.set_cookie(STATE_COOKIE, state, httponly=True, samesite="lax", path="/smart",
                        secure=request.url.scheme == "https", max_age=600)
    return response


@router.get("/callback", name="smart_callback")
def smart_callback(request: Request, session: SessionDep, code: Text = None, state: Text = None,
                   error: Text = None) -> RedirectResponse:
    """Back from the authorization server: to the patient's order page with the EHR's weight."""
    from ertplan.interop.fhir import demographic_differences

    settings = request.app.state.settings
    if error:
        raise HTTPException(400, f"the EHR refused the launch ({error[:60]})")
    launches: Launches = request.app.state.smart_launches
    if not code or not state or request.cookies.get(STATE_COOKIE) != state:
        raise HTTPException(400, "this launch's state is missing or is not this browser's")
    pending = launches.take(state)
    if pending is None or settings.smart_client_id is None:
        raise HTTPException(400, "this launch is unknown or has expired: launch again from "
                                 "the EHR")
    try:
        context = finish(pending=pending, code=code, client_id=settings.smart_client_id,
                         timeout_s=settings.smart_timeout_s)
    except LaunchRefused as refused:
        raise HTTPException(refused.status, str(refused)) from None
    system = settings.fhir_patient_system
    values = [item.get("value") for item in context.patient.get("identifier") or ()
              if isinstance(item, dict) and item.get("system") == system]
    identifier = next((value for value in values if isinstance(value, str)), None)
    if identifier is None:
        raise HTTPException(409, f"the EHR's patient has no identifier of this clinic's system "
                                 f"{system}")
    patient = session.scalars(select(Patient).where(Patient.identifier == identifier)).first()
    if patient is None:
        raise HTTPException(404, f"patient {identifier} is not registered in ertplan: register "
                                 "the patient first")
    differences = demographic_differences(context.patient, {
        "name": patient.name, "sex": patient.sex, "birth_date": patient.birth_date})
    if differences:
        raise HTTPException(409, f"the EHR's patient {identifier} differs from ertplan's: "
                                 + "; ".join(differences))
    prefill = {**context.app_context, **({"weight": context.weight} if context.weight else {})}
    response = RedirectResponse(f"/ui/patients/{patient.id}/orders/new?{urlencode(prefill)}",
                                status_code=303)
    response.delete_cookie(STATE_COOKIE, path="/smart")
    return response
