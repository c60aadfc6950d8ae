"""SMART App Launch 2.0, EHR launch, against a stand-in EHR on loopback (its SMART configuration,
authorization and token endpoints, and FHIR server): discovery, the code flow with PKCE S256,
``state`` and ``aud``, the token exchange, the patient and weight read with the token, and the
order page opened with the EHR's weight, nothing stored."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient

from ertplan.app import create_app
from ertplan.service.settings import Settings
from tests.interop.test_fhir_store import _store_counts
from tests.service.conftest import NOW, PASSWORD, SITE_PATIENT_SYSTEM, Clinic
from tests.service.test_records import PATIENT, _ok

CLIENT_ID = "ertplan-at-the-clinic"
TOKEN = "ehr-access-token"


class _StandInEhr(BaseHTTPRequestHandler):
    """The EHR: SMART configuration, token endpoint (checks code, verifier, redirect, client),
    and a FHIR server holding one Patient and one weight, readable with the token."""

    challenge: ClassVar[dict[str, str]] = {}  # code -> (challenge) as the authorize step kept it
    seen: ClassVar[list[str]] = []

    def _send(self, code: int, body: Any) -> None:
        content = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        self.seen.append(url.path)
        base = f"http://127.0.0.1:{self.server.server_port}"  # type: ignore[attr-defined]
        if url.path == "/fhir/.well-known/smart-configuration":
            # the shape of SMART App Launch 2.0 §Example Response (smart-configuration)
            self._send(200, {
                "issuer": f"{base}/auth", "authorization_endpoint": f"{base}/auth/authorize",
                "token_endpoint": f"{base}/auth/token",
                "grant_types_supported": ["authorization_code"],
                "scopes_supported": ["launch", "patient/Patient.rs", "patient/Observation.rs"],
                "response_types_supported": ["code"],
                "capabilities": ["launch-ehr", "client-public", "context-ehr-patient",
                                 "permission-patient", "permission-v2"],
                "code_challenge_methods_supported": ["S256"]})
            return
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            self._send(401, {"resourceType": "OperationOutcome"})
            return
        if url.path == "/fhir/Patient/pat-1":
            self._send(200, {"resourceType": "Patient", "id": "pat-1", "identifier": [
                {"system": SITE_PATIENT_SYSTEM, "value": "MRN-0001"}],
                "name": [{"family": "Patient", "given": ["A."]}], "gender": "female",
                "birthDate": "1990-05-01"})
        elif url.path == "/fhir/Observation":
            query = parse_qs(url.query)
            assert query["patient"] == ["pat-1"]
            self._send(200, {"resourceType": "Bundle", "type": "searchset", "entry": [
                {"resource": {"resourceType": "Observation", "status": "final",
                              "code": {"coding": [{"system": "http://loinc.org",
                                                   "code": "29463-7"}]},
                              "effectiveDateTime": "2026-12-05",
                              "valueQuantity": {"value": 72, "unit": "kg",
                                                "system": "http://unitsofmeasure.org",
                                                "code": "kg"}}}]})
        else:
            self._send(404, {"resourceType": "OperationOutcome"})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = parse_qs(self.rfile.read(length).decode())
        form = {key: values[0] for key, values in body.items()}
        self.seen.append(urlsplit(self.path).path)
        challenge = self.challenge.get(form.get("code", ""))
        digest = hashlib.sha256(form.get("code_verifier", "").encode()).digest()
        if (form.get("grant_type") != "authorization_code" or challenge is None
                or base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != challenge
                or form.get("client_id") != CLIENT_ID
                or form.get("redirect_uri") != "http://testserver/smart/callback"):
            self._send(400, {"error": "invalid_grant"})
            return
        self._send(200, {"access_token": TOKEN, "token_type": "Bearer", "expires_in": 300,
                         "scope": "launch patient/Patient.rs patient/Observation.rs",
                         "patient": "pat-1",
                         "appContext": json.dumps({"dose": "50 U/kg", "every": "2 weeks"})})

    def log_message(self, *_args: Any) -> None:
        pass


@pytest.fixture
def ehr() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _StandInEhr)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _StandInEhr.challenge.clear()
    _StandInEhr.seen.clear()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/fhir"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def launching(clinic: Clinic, ehr: str) -> Iterator[TestClient]:
    """The clinic's application, allowing the stand-in EHR as a SMART issuer."""
    settings = Settings(database_url=None, smart_issuers=[ehr], smart_client_id=CLIENT_ID,
                        fhir_patient_system=SITE_PATIENT_SYSTEM)
    with TestClient(create_app(engine=clinic.engine, settings=settings, clock=lambda: NOW),
                    follow_redirects=False) as client:
        yield client


def _authorize(location: str) -> tuple[dict[str, str], str]:
    """What the EHR's authorization server does with the browser: keeps the challenge for the
    code it issues and redirects back with code and state."""
    query = {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}
    _StandInEhr.challenge["code-1"] = query["code_challenge"]
    return query, f"/smart/callback?code=code-1&state={query['state']}"


def test_an_ehr_launch_opens_the_order_page_with_the_ehrs_weight_and_stores_nothing(
        clinic: Clinic, launching: TestClient, ehr: str) -> None:
    stored = _ok(clinic.post("physician", "/patients", PATIENT), 201)
    before = _store_counts(clinic.engine)
    launch = launching.get("/smart/launch", params={"iss": ehr, "launch": "xyz123"})
    assert launch.status_code == 302
    location = launch.headers["location"]
    assert location.startswith(ehr.removesuffix("/fhir") + "/auth/authorize?")
    query, callback = _authorize(location)
    assert query["response_type"] == "code"
    assert query["client_id"] == CLIENT_ID
    assert query["redirect_uri"] == "http://testserver/smart/callback"
    assert query["launch"] == "xyz123"
    assert query["aud"] == ehr
    assert query["code_challenge_method"] == "S256"
    assert set(query["scope"].split()) == {"launch", "patient/Patient.rs",
                                           "patient/Observation.rs"}
    assert len(query["state"]) >= 32
    back = launching.get(callback)
    assert back.status_code == 303, back.text
    page = urlsplit(back.headers["location"])
    assert page.path == f"/ui/patients/{stored['id']}/orders/new"
    assert parse_qs(page.query) == {"weight": ["72 kg"], "dose": ["50 U/kg"],
                                    "every": ["2 weeks"]}
    assert _store_counts(clinic.engine) == before  # nothing stored until the user acts
    # the physician signs in and sees the live plan of the EHR's weight: 50 U/kg x 72 kg
    launching.post("/ui/sign-in", data={"username": "physician", "password": PASSWORD,
                                        "next": back.headers["location"]})
    order_page = launching.get(back.headers["location"])
    assert order_page.status_code == 200
    assert 'value="72 kg"' in order_page.text
    assert "3600" in order_page.text


def test_a_state_used_twice_or_from_another_browser_is_refused(
        clinic: Clinic, launching: TestClient, ehr: str) -> None:
    _ok(clinic.post("physician", "/patients", PATIENT), 201)
    launch = launching.get("/smart/launch", params={"iss": ehr, "launch": "l1"})
    _query, callback = _authorize(launch.headers["location"])
    other_browser = TestClient(launching.app, follow_redirects=False)
    assert other_browser.get(callback).status_code == 400
    assert launching.get(callback).status_code == 303
    assert launching.get(callback).status_code == 400  # single use


def test_an_issuer_off_the_allow_list_is_refused_without_a_network_call(
        launching: TestClient, ehr: str) -> None:
    rogue = ehr.replace("/fhir", "/other")
    answer = launching.get("/smart/launch", params={"iss": rogue, "launch": "l1"})
    assert answer.status_code == 403
    assert _StandInEhr.seen == []


def test_an_ehr_patient_who_differs_from_ours_is_refused(
        clinic: Clinic, launching: TestClient, ehr: str) -> None:
    _ok(clinic.post("physician", "/patients", {**PATIENT, "birth_date": "1991-05-01"}), 201)
    launch = launching.get("/smart/launch", params={"iss": ehr, "launch": "l1"})
    _query, callback = _authorize(launch.headers["location"])
    answer = launching.get(callback)
    assert answer.status_code == 409
    assert "birthDate: '1990-05-01' here, '1991-05-01' in ertplan" in answer.json()["detail"]
