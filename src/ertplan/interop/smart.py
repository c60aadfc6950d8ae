"""SMART App Launch 2.0, EHR launch: ertplan opened from the EHR for the patient in context.

The EHR sends the browser to ``/smart/launch?iss=...&launch=...``; ertplan reads the EHR's
endpoints from ``{iss}/.well-known/smart-configuration`` (§Conformance: SMART configuration),
and sends the browser to its authorization endpoint with the code flow: ``response_type=code``,
the site's ``client_id``, ``redirect_uri``, ``launch``, the launch scopes, an unguessable ``state``,
``aud`` (the ``iss``) and PKCE with S256 (§App Launch: Launch App). The callback checks
``state``, exchanges the code with the PKCE verifier (§Obtain access token), reads the Patient and
its latest body weight from the EHR's FHIR server with the token, and sends the browser to
ertplan's order page for that patient with the EHR's weight filled in: nothing is stored until the
user acts. Only issuers on ``ERTPLAN_SMART_ISSUERS`` are used, with ``ERTPLAN_SMART_CLIENT_ID``.
A pending launch lives in this process's memory for :data:`LAUNCH_S` seconds, bound to the browser
by a cookie.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from ertplan.interop.fetch import Unreachable, get_json, is_web_url, post_form

LAUNCH_S = 600.0  # a launch not finished within 10 minutes must start again (a house setting)
MAX_PENDING = 1000
STATE_COOKIE = "ertplan_smart_state"
WEIGHT_LOINC = "29463-7"


class LaunchRefused(Exception):
    """A launch that cannot go on: the reason, and the HTTP status to answer with."""

    def __init__(self, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.status = status


@dataclass(frozen=True)
class Pending:
    """What the callback needs of a launch it did not see: kept server-side under `state`."""

    iss: str
    verifier: str
    token_endpoint: str
    redirect_uri: str
    started: float


@dataclass
class Launches:
    """The launches sent to an authorization server and not yet back."""

    monotonic: Callable[[], float] = time.monotonic
    _pending: OrderedDict[str, Pending] = field(default_factory=OrderedDict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def keep(self, state: str, pending: Pending) -> None:
        with self._lock:
            self._pending[state] = pending
            while len(self._pending) > MAX_PENDING:
                self._pending.popitem(last=False)

    def take(self, state: str) -> Pending | None:
        """The launch of `state`, once (a state is single use), if it has not expired."""
        with self._lock:
            pending = self._pending.pop(state, None)
        if pending is None or self.monotonic() - pending.started > LAUNCH_S:
            return None
        return pending


def pkce_pair() -> tuple[str, str]:
    """A PKCE code verifier and its S256 challenge (RFC 7636 §4.1-4.2).

    >>> verifier, challenge = pkce_pair()
    >>> 43 <= len(verifier) <= 128 and "=" not in challenge
    True
    """
    verifier = secrets.token_urlsafe(64)[:96]
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def issuer_allowed(iss: str, issuers: list[str]) -> bool:
    """Whether `iss` is one of the site's SMART issuers (a trailing slash aside)."""
    return iss.rstrip("/") in {issuer.rstrip("/") for issuer in issuers}


def start(*, iss: str, launch: str, client_id: str, redirect_uri: str, timeout_s: float,
          launches: Launches) -> tuple[str, str]:
    """The authorization URL to send the browser to, and the `state` it carries."""
    try:
        configuration = get_json(f"{iss.rstrip('/')}/.well-known/smart-configuration",
                                 what="the EHR's SMART configuration", timeout_s=timeout_s)
    except Unreachable:
        raise LaunchRefused("the EHR's SMART configuration could not be read", 502) from None
    if not isinstance(configuration, Mapping):
        raise LaunchRefused("the EHR's SMART configuration is not a JSON object", 502)
    authorize = configuration.get("authorization_endpoint")
    token = configuration.get("token_endpoint")
    if not (is_web_url(authorize) and is_web_url(token)):
        raise LaunchRefused("the EHR's SMART configuration has no https authorization and token "
                            "endpoints", 502)
    if "S256" not in (configuration.get("code_challenge_methods_supported") or ()):
        raise LaunchRefused("the EHR does not offer PKCE with S256, which SMART 2.0 requires",
                            502)
    capabilities = configuration.get("capabilities") or ()
    if "launch-ehr" not in capabilities:
        raise LaunchRefused("the EHR does not offer the EHR launch (capability launch-ehr)", 502)
    # SMART 2.0 scopes where the EHR says it grants them, else the 1.0 spelling
    permission = "rs" if "permission-v2" in capabilities else "read"
    scope = f"launch patient/Patient.{permission} patient/Observation.{permission}"
    verifier, challenge = pkce_pair()
    state = secrets.token_urlsafe(32)
    launches.keep(state, Pending(iss=iss, verifier=verifier, token_endpoint=str(token),
                                 redirect_uri=redirect_uri, started=launches.monotonic()))
    query = urlencode({"response_type": "code", "client_id": client_id,
                       "redirect_uri": redirect_uri, "launch": launch, "scope": scope,
                       "state": state, "aud": iss, "code_challenge": challenge,
                       "code_challenge_method": "S256"})
    separator = "&" if "?" in str(authorize) else "?"
    return f"{authorize}{separator}{query}", state


@dataclass(frozen=True, kw_only=True)
class Context:
    """What the launch gave: the EHR's Patient, its latest body weight and the card's order."""

    patient: Mapping[str, Any]
    weight: str | None
    weight_on: str | None
    app_context: Mapping[str, str]


def finish(*, pending: Pending, code: str, client_id: str, timeout_s: float) -> Context:
    """Exchange `code` with the PKCE verifier; read the patient and latest weight with the token."""
    import json

    from ertplan.interop.cds import latest_reading

    try:
        answer = post_form(pending.token_endpoint, {
            "grant_type": "authorization_code", "code": code,
            "redirect_uri": pending.redirect_uri, "client_id": client_id,
            "code_verifier": pending.verifier}, what="the EHR's token endpoint",
            timeout_s=timeout_s)
    except Unreachable:
        raise LaunchRefused("the EHR did not exchange the authorization code", 502) from None
    token = answer.get("access_token") if isinstance(answer, Mapping) else None
    patient_id = answer.get("patient") if isinstance(answer, Mapping) else None
    if not isinstance(token, str) or str(answer.get("token_type", "")).lower() != "bearer":
        raise LaunchRefused("the EHR's token answer has no bearer access_token", 502)
    if not isinstance(patient_id, str) or not patient_id:
        raise LaunchRefused("the EHR gave no patient in the launch context", 502)
    base = pending.iss.rstrip("/")
    try:
        patient = get_json(f"{base}/Patient/{patient_id}", what="the EHR's FHIR server",
                           timeout_s=timeout_s, token=token, accept="application/fhir+json")
        weights = get_json(f"{base}/Observation?" + urlencode({
            "patient": patient_id, "code": f"http://loinc.org|{WEIGHT_LOINC}",
            "_sort": "-date", "_count": "1"}), what="the EHR's FHIR server",
            timeout_s=timeout_s, token=token, accept="application/fhir+json")
    except Unreachable:
        raise LaunchRefused("the EHR's FHIR server could not be read", 502) from None
    if not isinstance(patient, Mapping) or patient.get("resourceType") != "Patient":
        raise LaunchRefused("the EHR's FHIR server answered no Patient", 502)
    reading = latest_reading(weights, WEIGHT_LOINC)
    app_context: dict[str, str] = {}
    raw = answer.get("appContext")  # the CDS card's order, where the EHR passes it on
    try:
        parsed = json.loads(raw) if isinstance(raw, str) else None
    except ValueError:
        parsed = None
    if isinstance(parsed, Mapping):
        app_context = {key: value[:100] for key, value in parsed.items()
                       if key in ("dose", "every", "duration") and isinstance(value, str)}
    return Context(patient=patient, weight=None if reading is None else reading.text,
                   weight_on=None if reading is None else reading.effective,
                   app_context=app_context)
