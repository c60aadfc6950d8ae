"""CDS Hooks 2.0: discovery, the order-select and order-sign services, and feedback.

Requests are JSON fixtures shaped like the specification's examples (tests/interop/fixtures/);
every answer is checked against the card rules of CDS Hooks 2.0 §Card Attributes.
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ertplan.core.monograph import load_monograph, monograph_path
from tests.service.conftest import Clinic
from tests.strategies import doses_units_per_kg, weights_kg

FIXTURES = Path(__file__).parent / "fixtures"
SIGN = "/cds-services/ertplan-order-sign"
SELECT = "/cds-services/ertplan-order-select"
INDICATORS = {"info", "warning", "critical"}
TOLERANCE_PERCENT = load_monograph(
    monograph_path("imiglucerase")).calendar.infusion_tolerance.percent


def fixture(name: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    return body


def checked_cards(answer: Any) -> list[dict[str, Any]]:
    """The cards of a 200 answer, each checked against the specification's card rules."""
    assert answer.status_code == 200, answer.text
    cards: list[dict[str, Any]] = answer.json()["cards"]
    for card in cards:
        assert card["uuid"]
        assert len(card["summary"]) < 140
        assert card["indicator"] in INDICATORS
        assert card["source"]["label"]
        suggestions = card.get("suggestions")
        if suggestions is not None:
            assert card["selectionBehavior"] in ("at-most-one", "any")
            for suggestion in suggestions:
                assert suggestion["uuid"]
                assert suggestion["label"]
                assert all(action["type"] in ("create", "update", "delete")
                           and action["description"] for action in suggestion["actions"])
            if card["selectionBehavior"] == "at-most-one":
                assert all(len(suggestion["actions"]) == 1 for suggestion in suggestions)
        for link in card.get("links") or ():  # §Link: label, url and type are required
            assert link["label"]
            assert link["type"] in ("absolute", "smart")
            assert urlsplit(link["url"]).scheme in ("http", "https")
    return cards


def test_discovery_lists_order_select_and_order_sign_with_weight_and_lab_prefetch(
        clinic: Clinic) -> None:
    services = clinic.client.get("/cds-services").json()["services"]
    assert {service["hook"] for service in services} == {"order-select", "order-sign"}
    for service in services:
        assert service["id"]
        assert service["description"]
        # what the cards use and no more: the Patient is not requested (issue 17)
        assert set(service["prefetch"]) == {"weight", "haemoglobin", "platelets"}
        assert "http://loinc.org|29463-7" in service["prefetch"]["weight"]


def test_order_sign_70_kg_at_60_u_per_kg_every_2_weeks_plans_4200_u_in_eleven_vials(
        clinic: Clinic) -> None:
    cards = checked_cards(clinic.client.post(SIGN, json=fixture("cds-order-sign-imiglucerase")))
    summary = cards[0]
    assert summary["indicator"] == "info"
    assert summary["summary"].startswith("Imiglucerase 4200 U: 10 × 400 U + 1 × 200 U vials")
    detail = summary["detail"]
    for fact in ("4200 U (60 U/kg × 70 kg", "every 14 days", "105 mL", "150 mL",
                 "120 min at 75 mL/h", "2026-12-07T20:00:00+00:00", "12.1 g/dL",
                 "verified by a pharmacist"):
        assert fact in detail, fact
    # the 200 U vial's availability alert becomes its own card, its source the card's label
    alert = next(card for card in cards[1:] if "200 U vial" in card["summary"])
    assert alert["indicator"] == "info"
    assert alert["source"]["label"].startswith("product availability")
    # 4200 U is already whole vials: nothing to round
    assert not any(card.get("suggestions") for card in cards)
    # the summary links to the printable worksheet of the same inputs on this server
    (link,) = summary["links"]
    url = urlsplit(link["url"])
    assert url.path == "/ui/worksheet"
    query = parse_qs(url.query)
    assert (query["weight"], query["dose"]) == (["70 kg"], ["60.0 U/kg"])
    assert query["every"] == ["2.0 week"]


def test_a_dose_too_large_for_one_bag_says_no_bag_rather_than_no_reference(
        clinic: Clinic) -> None:
    body = fixture("cds-order-sign-imiglucerase")
    for entry in body["prefetch"]["weight"]["entry"]:
        entry["resource"]["valueQuantity"]["value"] = 150  # 9000 U: 225 mL of drug alone
    cards = checked_cards(clinic.client.post(SIGN, json=body))
    detail = cards[0]["detail"]
    assert "0.9% sodium chloride injection: none: no bag is planned" in detail  # the data's diluent
    assert "not stated by the references" not in detail
    assert "no bag is planned (see alerts)" in detail  # the diluted bag's beyond-use basis
    assert any(card["indicator"] == "critical" for card in cards[1:])


def test_order_select_3900_u_total_for_65_kg_offers_whole_vial_doses_within_10_percent(
        clinic: Clinic) -> None:
    cards = checked_cards(clinic.client.post(SELECT,
                                             json=fixture("cds-order-select-imiglucerase")))
    assert cards[0]["summary"].startswith("Imiglucerase 3900 U: 10 × 400 U vials")
    rounding = next(card for card in cards if card.get("suggestions"))
    assert rounding["selectionBehavior"] == "at-most-one"
    assert "HOPA" in rounding["source"]["label"]
    doses = []
    for suggestion in rounding["suggestions"]:
        (action,) = suggestion["actions"]
        assert action["type"] == "update"
        resource = action["resource"]
        assert resource["resourceType"] == "MedicationRequest"
        assert resource["id"] == "imiglucerase-2"
        quantity = resource["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"]
        assert quantity["code"] == "U"  # UCUM's enzyme unit (issue 17: not [U])
        doses.append(quantity["value"])
    # 3800 U (97.4 %) and 4000 U (102.6 %) both lie within the 10 % per-infusion tolerance
    assert doses == [3800, 4000]
    # the unselected paracetamol order gets no card
    assert all("paracetamol" not in card["summary"].lower() for card in cards)


def test_orders_for_other_drugs_get_no_cards(clinic: Clinic) -> None:
    assert checked_cards(clinic.client.post(SIGN,
                                            json=fixture("cds-order-sign-other-drug"))) == []


def test_a_site_code_makes_an_order_recognised(engine: Any) -> None:
    from fastapi.testclient import TestClient

    from ertplan.app import create_app
    from ertplan.service.settings import Settings
    from tests.service.conftest import NOW

    body = fixture("cds-order-sign-other-drug")
    settings = Settings(database_url=None, cds_drug_codes="imiglucerase=http://www.whocc.no/atc|N02BE01")
    with TestClient(create_app(engine=engine, settings=settings, clock=lambda: NOW)) as client:
        cards = checked_cards(client.post(SIGN, json=body))
    # 1 U total for 70 kg is far below the labelled range: the plan and its dose alert
    assert cards[0]["summary"].startswith("Imiglucerase 1 U:")
    assert any(card["indicator"] == "warning" for card in cards[1:])


def test_a_malformed_site_code_setting_is_refused_at_start(engine: Any) -> None:
    from ertplan.app import create_app
    from ertplan.core.errors import InputError
    from ertplan.service.settings import Settings

    with pytest.raises(InputError, match="cds-drug-codes"):
        create_app(engine=engine, settings=Settings(database_url=None,
                                                    cds_drug_codes="imiglucerase=A16AB02"))


def test_a_weight_neither_prefetched_nor_readable_is_a_412(clinic: Clinic) -> None:
    # 2.0.1 §Providing FHIR Resources: "the service SHALL respond with an HTTP 412" (issue 17;
    # this was a 200 with a card asking for the weight)
    body = fixture("cds-order-sign-imiglucerase")
    del body["prefetch"]["weight"]
    answer = clinic.client.post(SIGN, json=body)
    assert answer.status_code == 412
    assert "no fhirServer" in answer.json()["detail"]


def test_a_patient_without_a_weight_on_record_gets_a_card_asking_for_one(clinic: Clinic) -> None:
    # 2.0.1 §Prefetch Template: a key whose data does not exist is sent as null
    body = fixture("cds-order-sign-imiglucerase")
    body["prefetch"]["weight"] = None
    (card,) = checked_cards(clinic.client.post(SIGN, json=body))
    assert card["indicator"] == "warning"
    assert "body weight" in card["summary"]
    assert "MedicationRequest/imiglucerase-1" in card["detail"]


class _StandInFhir(BaseHTTPRequestHandler):
    """A FHIR server on loopback holding one body weight, readable with one bearer token."""

    token = "some-opaque-fhir-access-token"
    seen: list[tuple[str, dict[str, list[str]], str | None]] = []  # noqa: RUF012

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        self.seen.append((url.path, parse_qs(url.query), self.headers.get("Authorization")))
        if self.headers.get("Authorization") != f"Bearer {self.token}":
            self._send(401, {"resourceType": "OperationOutcome"})
            return
        weight = fixture("cds-order-sign-imiglucerase")["prefetch"]["weight"]
        weight["entry"] = weight["entry"][:1]
        self._send(200, weight)

    def _send(self, code: int, body: dict[str, Any]) -> None:
        content = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/fhir+json")
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)

    def log_message(self, *_args: Any) -> None:  # keep test output quiet
        pass


@pytest.fixture
def fhir_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _StandInFhir)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _StandInFhir.seen.clear()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/fhir"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def listing(engine: Any, fhir_server: str) -> Iterator[Any]:
    """The API with the stand-in FHIR server on the site's allow-list (no trusted client)."""
    from fastapi.testclient import TestClient

    from ertplan.app import create_app
    from ertplan.service.settings import Settings
    from tests.service.conftest import NOW

    settings = Settings(database_url=None, cds_fhir_servers=[fhir_server])
    with TestClient(create_app(engine=engine, settings=settings, clock=lambda: NOW),
                    raise_server_exceptions=False) as client:
        yield client


def test_without_prefetch_the_weight_is_read_from_the_fhir_server_with_the_bearer_token(
        listing: Any, fhir_server: str) -> None:
    body = fixture("cds-order-sign-no-prefetch")  # its dose still in [U]/kg: read as U/kg
    body["fhirServer"] = fhir_server
    cards = checked_cards(listing.post(SIGN, json=body))
    assert cards[0]["summary"].startswith("Imiglucerase 4200 U: 10 × 400 U + 1 × 200 U vials")
    (path, query, authorization), *labs = _StandInFhir.seen
    assert len(labs) == 2  # haemoglobin and platelets were not prefetched either
    assert path == "/fhir/Observation"
    assert query["patient"] == ["example"]
    assert query["code"] == ["http://loinc.org|29463-7"]
    assert authorization == "Bearer some-opaque-fhir-access-token"


def test_a_fhir_server_refusing_the_token_is_a_412_that_leaks_nothing_of_the_network(
        listing: Any, fhir_server: str) -> None:
    # issue 17: was a card quoting the server's error; 2.0.1 asks for a 412
    body = fixture("cds-order-sign-no-prefetch")
    body["fhirServer"] = fhir_server
    body["fhirAuthorization"]["access_token"] = "expired"
    answer = listing.post(SIGN, json=body)
    assert answer.status_code == 412
    assert answer.json() == {"detail": "the body weight was not prefetched and the fhirServer "
                                       "could not be read"}


def test_a_closed_fhir_server_is_a_412_without_its_network_error(engine: Any) -> None:
    import socket

    from fastapi.testclient import TestClient

    from ertplan.app import create_app
    from ertplan.service.settings import Settings
    from tests.service.conftest import NOW

    with socket.socket() as probe:  # a loopback port nothing listens on once closed
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}/fhir"
    settings = Settings(database_url=None, cds_fhir_servers=[closed])
    body = fixture("cds-order-sign-no-prefetch")
    body["fhirServer"] = closed
    with TestClient(create_app(engine=engine, settings=settings, clock=lambda: NOW)) as client:
        answer = client.post(SIGN, json=body)
    assert answer.status_code == 412
    assert answer.json()["detail"].endswith("the fhirServer could not be read")
    assert "Errno" not in answer.text
    assert "refused" not in answer.text


def test_with_no_trusted_client_a_fhir_server_off_the_allow_list_is_never_called(
        clinic: Clinic, fhir_server: str) -> None:
    body = fixture("cds-order-sign-no-prefetch")
    body["fhirServer"] = fhir_server
    answer = clinic.client.post(SIGN, json=body)
    assert answer.status_code == 412
    assert "allow-list" in answer.json()["detail"]
    assert _StandInFhir.seen == []


def test_an_unreadable_dose_unit_answers_a_card_naming_the_fhir_element(clinic: Clinic) -> None:
    body = fixture("cds-order-sign-imiglucerase")
    order = body["context"]["draftOrders"]["entry"][0]["resource"]
    order["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"]["code"] = "mg/kg"
    (card,) = checked_cards(clinic.client.post(SIGN, json=body))
    assert card["indicator"] == "warning"
    assert "doseQuantity.code" in card["detail"]
    assert "mg/kg" in card["detail"]


@pytest.mark.parametrize(("change", "reason"), [
    (lambda body: body.pop("hookInstance"), "hookInstance"),
    (lambda body: body.update(hook="order-select"), "hook: this service answers order-sign"),
    (lambda body: body["context"].pop("draftOrders"), "context.draftOrders"),
    (lambda body: body["context"].update(patientId=7), "context.patientId"),
    (lambda body: body.update(fhirAuthorization={"access_token": "t", "token_type": "Bearer"}),
     "fhirServer: required"),
    (lambda body: body.update(fhirServer="file:///etc/passwd"), "fhirServer: must be"),
])
def test_a_malformed_request_is_a_400_with_its_reason(clinic: Clinic, change: Any,
                                                      reason: str) -> None:
    body = copy.deepcopy(fixture("cds-order-sign-imiglucerase"))
    change(body)
    answer = clinic.client.post(SIGN, json=body)
    assert answer.status_code == 400
    assert reason in answer.json()["detail"]


def test_a_body_that_is_not_json_is_a_400_and_an_unknown_service_a_404(clinic: Clinic) -> None:
    answer = clinic.client.post(SIGN, content=b"{not json",
                                headers={"Content-Type": "application/json"})
    assert (answer.status_code, answer.json()["detail"]) == (400, "the body is not JSON")
    assert clinic.client.post("/cds-services/nope",
                              json=fixture("cds-order-sign-imiglucerase")).status_code == 404


def test_order_select_needs_its_selections(clinic: Clinic) -> None:
    body = fixture("cds-order-select-imiglucerase")
    del body["context"]["selections"]
    answer = clinic.client.post(SELECT, json=body)
    assert answer.status_code == 400
    assert "context.selections" in answer.json()["detail"]


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(weight_kg=weights_kg, per_kg=doses_units_per_kg,
       period=st.sampled_from([(1, "wk"), (2, "wk"), (14, "d"), (4, "wk")]))
def test_any_order_answers_cards_that_keep_the_rules_and_round_within_tolerance(
        clinic: Clinic, weight_kg: float, per_kg: float, period: tuple[int, str]) -> None:
    body = fixture("cds-order-sign-imiglucerase")
    body["prefetch"]["weight"]["entry"][0]["resource"]["valueQuantity"]["value"] = weight_kg
    order = body["context"]["draftOrders"]["entry"][0]["resource"]
    order["dosageInstruction"][0]["timing"]["repeat"].update(period=period[0],
                                                             periodUnit=period[1])
    order["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"]["value"] = per_kg
    cards = checked_cards(clinic.client.post(SIGN, json=body))
    assert cards[0]["summary"].startswith("Imiglucerase ")
    tolerance = TOLERANCE_PERCENT
    for card in cards:
        for suggestion in card.get("suggestions") or ():
            (action,) = suggestion["actions"]
            quantity = action["resource"]["dosageInstruction"][0]["doseAndRate"][0][
                "doseQuantity"]
            assert abs(quantity["value"] / (per_kg * weight_kg) - 1) * 100 <= tolerance + 1e-7
