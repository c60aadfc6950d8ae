"""CDS Hooks 2.0.1 to the letter on what issue 17 found: a coherent update suggestion (§Action),
beyond-use times from the order's start, cards for prescribers that name their order, orders
coded by RxNorm or through ``medicationReference``, and CORS for browser clients (§Cross-Origin
Resource Sharing). Requests are the specification-shaped fixtures (fixtures/SOURCES.md).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from ertplan.app import create_app
from ertplan.service.settings import Settings
from tests.interop.test_cds_service import SELECT, SIGN, checked_cards, fixture
from tests.service.conftest import NOW, Clinic

ORDERED_AT_60_U_PER_KG = 60 * 68  # 4080 U for 68 kg: rounding suggestions of 4000 and 4200 U


def _at_68_kg() -> dict[str, Any]:
    body = fixture("cds-order-sign-imiglucerase")
    for entry in body["prefetch"]["weight"]["entry"]:
        entry["resource"]["valueQuantity"]["value"] = 68
    return body


def _all_doses(resource: dict[str, Any]) -> list[tuple[float, str]]:
    return [(entry[key]["value"], entry[key]["code"])
            for dosage in resource["dosageInstruction"] for entry in dosage["doseAndRate"]
            for key in ("doseQuantity",) if key in entry]


def test_round_to_4000_u_suggests_one_coherent_medication_request(clinic: Clinic) -> None:
    body = _at_68_kg()
    order = body["context"]["draftOrders"]["entry"][0]["resource"]
    # an order carrying its dose twice, as ertplan's own export does: per kg and calculated
    order["dosageInstruction"][0]["doseAndRate"].append({"doseQuantity": {
        "value": ORDERED_AT_60_U_PER_KG, "unit": "U", "system": "http://unitsofmeasure.org",
        "code": "U"}})
    order["text"] = {"status": "generated", "div": '<div xmlns="http://www.w3.org/1999/xhtml">'
                                                   "<p>imiglucerase 60 U/kg</p></div>"}
    cards = checked_cards(clinic.client.post(SIGN, json=body))
    rounding = next(card for card in cards if card.get("suggestions"))
    updates = {suggestion["label"].split(" (")[0]: suggestion["actions"][0]["resource"]
               for suggestion in rounding["suggestions"]}
    resource = updates["Round to 4000 U"]
    assert _all_doses(resource) == [(4000, "U")]  # every dose, none left at 4080 U or 60 U/kg
    text = resource["dosageInstruction"][0]["text"]
    narrative = resource["text"]["div"]
    for words in (text, narrative):
        assert "4000 U" in words
        assert "60 U/kg" not in words
        assert "4080" not in words.replace("4080 U first", "")
    assert resource["text"]["status"] == "generated"
    # the rest of the order is the order as drafted
    assert resource["id"] == order["id"]
    assert resource["dosageInstruction"][0]["timing"] == order["dosageInstruction"][0]["timing"]
    assert resource["medicationCodeableConcept"] == order["medicationCodeableConcept"]


def test_the_suggested_update_validates_as_a_fhir_r4_medication_request(clinic: Clinic) -> None:
    from ertplan.interop.fhir import validate_resource

    cards = checked_cards(clinic.client.post(SIGN, json=_at_68_kg()))
    for card in cards:
        for suggestion in card.get("suggestions") or ():
            validate_resource(suggestion["actions"][0]["resource"])


def test_beyond_use_counts_from_the_orders_start_not_from_the_call(clinic: Clinic) -> None:
    body = fixture("cds-order-sign-imiglucerase")
    repeat = body["context"]["draftOrders"]["entry"][0]["resource"]["dosageInstruction"][0][
        "timing"]["repeat"]
    repeat["boundsPeriod"]["start"] = "2026-12-09T14:30:00+01:00"  # two days after the call
    detail = checked_cards(clinic.client.post(SIGN, json=body))[0]["detail"]
    # reconstituted vials: 12 h from 14:30+01:00 on the 9th
    assert "2026-12-10T02:30:00+01:00" in detail
    assert "2026-12-07T20:00:00" not in detail  # NOW + 12 h, the call's time


def test_without_a_start_time_the_card_gives_durations_not_clock_times(clinic: Clinic) -> None:
    body = fixture("cds-order-sign-imiglucerase")
    repeat = body["context"]["draftOrders"]["entry"][0]["resource"]["dosageInstruction"][0][
        "timing"]["repeat"]
    repeat["boundsPeriod"]["start"] = "2026-12-09"  # a day, no time
    detail = checked_cards(clinic.client.post(SIGN, json=body))[0]["detail"]
    beyond = next(line for line in detail.split("\n\n") if line.startswith("**Beyond use**"))
    assert "from the preparation" in beyond
    assert "12 h from reconstitution" in beyond
    assert not re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d", beyond)


def test_alert_cards_name_their_order_and_carry_no_command_line_options(clinic: Clinic) -> None:
    cards = checked_cards(clinic.client.post(SIGN, json=fixture("cds-order-sign-imiglucerase")))
    alerts = cards[1:]
    assert alerts
    for card in alerts:
        assert "imiglucerase-1" in card["summary"]
        assert "**Order**: MedicationRequest/imiglucerase-1" in card["detail"]
    for card in cards:
        assert not re.search(r"--[a-z]", card["summary"] + card.get("detail", "")), card
        assert "prefetch" not in card.get("detail", "")


def test_an_order_naming_its_drug_through_medication_reference_is_recognised(
        clinic: Clinic) -> None:
    body = fixture("cds-order-sign-imiglucerase")
    order = body["context"]["draftOrders"]["entry"][0]["resource"]
    concept = order.pop("medicationCodeableConcept")
    order["medicationReference"] = {"reference": "Medication/cerezyme"}
    body["context"]["draftOrders"]["entry"].append({
        "fullUrl": "Medication/cerezyme",
        "resource": {"resourceType": "Medication", "id": "cerezyme", "code": concept}})
    cards = checked_cards(clinic.client.post(SIGN, json=body))
    assert cards[0]["summary"].startswith("Imiglucerase 4200 U")


def test_an_order_coded_in_rxnorm_is_recognised(clinic: Clinic) -> None:
    body = fixture("cds-order-sign-imiglucerase")
    order = body["context"]["draftOrders"]["entry"][0]["resource"]
    # the example shape of 2.0.1 §Example prefetch token: an RxNorm-coded MedicationRequest
    order["medicationCodeableConcept"] = {"coding": [{
        "system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "1726266"}]}
    cards = checked_cards(clinic.client.post(SIGN, json=body))
    assert cards[0]["summary"].startswith("Imiglucerase 4200 U")


def test_an_order_select_of_a_total_dose_in_legacy_brackets_is_read(clinic: Clinic) -> None:
    body = fixture("cds-order-select-imiglucerase")
    order = body["context"]["draftOrders"]["entry"][0]["resource"]
    order["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"]["code"] = "[U]"
    cards = checked_cards(clinic.client.post(SELECT, json=body))
    assert cards[0]["summary"].startswith("Imiglucerase 3900 U")


@pytest.fixture
def browser_facing(engine: Engine) -> Any:
    settings = Settings(database_url=None, cds_cors_origins=["https://sandbox.cds-hooks.org"])
    with TestClient(create_app(engine=engine, settings=settings, clock=lambda: NOW)) as client:
        yield client


def test_a_browser_client_of_an_allowed_origin_may_call_the_services(
        browser_facing: TestClient) -> None:
    origin = {"Origin": "https://sandbox.cds-hooks.org"}
    preflight = browser_facing.options(SIGN, headers={
        **origin, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type"})
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == origin["Origin"]
    answer = browser_facing.post(SIGN, json=fixture("cds-order-sign-imiglucerase"),
                                 headers=origin)
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == origin["Origin"]
    discovery = browser_facing.get("/cds-services", headers=origin)
    assert discovery.headers["access-control-allow-origin"] == origin["Origin"]


def test_other_origins_and_the_rest_of_the_api_get_no_cors(browser_facing: TestClient) -> None:
    rogue = browser_facing.get("/cds-services", headers={"Origin": "https://rogue.example"})
    assert "access-control-allow-origin" not in rogue.headers
    api = browser_facing.get("/patients", headers={"Origin": "https://sandbox.cds-hooks.org"})
    assert "access-control-allow-origin" not in api.headers


def test_a_card_links_to_the_smart_launch_when_the_ehr_is_a_smart_issuer(
        engine: Engine) -> None:
    body = fixture("cds-order-sign-imiglucerase")
    body["fhirServer"] = "https://ehr.example.org/fhir"
    settings = Settings(database_url=None, smart_client_id="ertplan",
                        smart_issuers=["https://ehr.example.org/fhir"])
    with TestClient(create_app(engine=engine, settings=settings, clock=lambda: NOW)) as client:
        cards = checked_cards(client.post(SIGN, json=body))
        (smart,) = [link for link in cards[0]["links"] if link["type"] == "smart"]
    assert smart["url"] == "http://testserver/smart/launch"
    assert '"dose": "60.0 U/kg"' in smart["appContext"]
    # an EHR that is not a SMART issuer of the site gets the worksheet link only
    body["fhirServer"] = "https://other.example.org/fhir"
    with TestClient(create_app(engine=engine, settings=settings, clock=lambda: NOW)) as client:
        cards = checked_cards(client.post(SIGN, json=body))
    assert [link["type"] for link in cards[0]["links"]] == ["absolute"]
