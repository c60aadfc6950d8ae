"""The pages' routes without a browser: sign-in, roles, refused input, the same plans as the API."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ertplan.documents import barcode_payload
from ertplan.web.session import COOKIE, safe_next
from tests.service.conftest import PASSWORD, Clinic

PATIENT = {"identifier": "MRN-0001", "name": "Ada Lovelace", "birth_date": "1984-03-15",
           "sex": "female", "gaucher_type": 1, "pregnancy_status": "not-pregnant",
           "manifestations": ["splenomegaly"], "lactating": False,
           "hypersensitivity_history": False, "prior_alglucerase_reaction": False}
# the monograph's worked example: 70 kg at 60 U/kg every 2 weeks, ten 400 U vials and one 200 U
VIALS = [{"lot": "L400A", "vial_units": 400, "count": 10, "expiry_date": "2027-06-30"},
         {"lot": "L200B", "vial_units": 200, "count": 1, "expiry_date": "2027-06-30"}]


def _as(clinic: Clinic, role: str) -> Any:
    """The test client with `role`'s token as the session cookie (the API's token, as a page
    sign-in issues it)."""
    clinic.client.cookies.set(COOKIE, clinic.tokens[role])
    return clinic.client


def _errors(html: str) -> list[str]:
    return [unescape(re.sub(r"<[^>]+>", "", line)).strip() for line in html.splitlines()
            if 'class="error"' in line]


def _ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


def _patient(clinic: Clinic, weight_kg: float | None = 70) -> int:
    count = len(clinic.get("viewer", "/patients").json())
    patient = _ok(clinic.post("physician", "/patients",
                              {**PATIENT, "identifier": f"MRN-{count + 1:04d}"}), 201)
    if weight_kg is not None:
        _ok(clinic.post("nurse", "/weights", {"patient_id": patient["id"],
                                              "weight_kg": weight_kg,
                                              "measured_on": "2026-12-01"}), 201)
    return int(patient["id"])


def _bag(clinic: Clinic) -> int:
    """A bag of 70 kg at 60 U/kg every 2 weeks, through the API."""
    patient_id = _patient(clinic)
    order = _ok(clinic.post("physician", "/orders", {
        "patient_id": patient_id, "dose_units_per_kg": 60, "interval_days": 14,
        "start_date": "2026-12-07"}), 201)
    _ok(clinic.post("pharmacist", f"/orders/{order['id']}/verify",
                    {"version": order["version"], "override_reason": None}))
    preparation = _ok(clinic.post("pharmacist", "/preparations", {
        "order_id": order["id"], "vials": VIALS, "reconstituted_at": "2026-12-07T08:00:00Z"}),
        201)
    return int(preparation["id"])


# ---- signing in ---------------------------------------------------------------------------------

def test_pages_send_a_visitor_without_a_session_to_the_sign_in_page(clinic: Clinic) -> None:
    client = clinic.client
    answer = client.get("/ui/worksheet?weight=70kg&dose=60U/kg", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == (
        "/ui/sign-in?next=/ui/worksheet%3Fweight%3D70kg%26dose%3D60U/kg")
    # htmx cannot follow a 303 into the page: it is told where to go instead
    answer = client.post("/ui/fragments/preview", data={"weight": "70 kg"}, headers={
        "HX-Request": "true", "HX-Current-URL": "http://testserver/ui/patients/3/orders/new"},
        follow_redirects=False)
    assert answer.status_code == 401
    assert answer.headers["HX-Redirect"] == "/ui/sign-in?next=/ui/patients/3/orders/new"
    assert client.get("/", follow_redirects=False).headers["location"] == "/ui/patients"
    # the sign-in page and htmx itself are served to anyone
    sign_in = client.get("/ui/sign-in")
    assert sign_in.status_code == 200
    assert sign_in.headers["X-Frame-Options"] == "DENY"  # no other site may frame a page
    htmx = client.get("/ui/static/htmx.min.js")
    assert htmx.status_code == 200
    assert "javascript" in htmx.headers["content-type"]


def test_signing_in_sets_a_strict_httponly_cookie_and_signing_out_ends_it(clinic: Clinic) -> None:
    client = clinic.client
    answer = client.post("/ui/sign-in", data={"username": "nurse", "password": PASSWORD,
                                              "next": "/ui/worksheet"}, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/ui/worksheet"
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=")
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    token = client.cookies[COOKIE]
    assert client.get("/ui/patients").status_code == 200
    # the cookie holds an API token: it also works as a bearer token, until signed out
    assert client.get("/users/me", headers={"Authorization": f"Bearer {token}"}).status_code \
        == 200
    assert client.post("/ui/sign-out", follow_redirects=False).status_code == 303
    client.cookies.set(COOKIE, token)  # a copy of the old cookie no longer signs in
    assert client.get("/ui/patients", follow_redirects=False).status_code == 303
    assert client.get("/users/me", headers={"Authorization": f"Bearer {token}"}).status_code \
        == 401


@pytest.mark.parametrize(("username", "password"), [("nurse", "wrong password"),
                                                    ("nobody", PASSWORD), ("", "")])
def test_a_wrong_username_or_password_is_refused_on_the_page(clinic: Clinic, username: str,
                                                             password: str) -> None:
    answer = clinic.client.post("/ui/sign-in", data={"username": username,
                                                     "password": password})
    assert answer.status_code == 401
    assert "<li>wrong username or password</li>" in answer.text  # the page's error summary
    assert COOKIE not in answer.headers.get("set-cookie", "")


@pytest.mark.parametrize("target", ["//evil.example/ui/", "https://evil.example/ui/",
                                    "/patients", "", None])
def test_after_signing_in_only_a_page_of_ertplan_is_a_destination(target: str | None) -> None:
    assert safe_next(target) == "/ui/patients"
    assert safe_next("/ui/orders/3") == "/ui/orders/3"


def test_a_role_that_may_not_act_gets_a_page_saying_which_roles_may(clinic: Clinic) -> None:
    answer = _as(clinic, "nurse").get("/ui/patients/new")
    assert answer.status_code == 403
    assert "the nurse role cannot do this (needs: physician)" in answer.text
    answer = _as(clinic, "viewer").post("/ui/patients", data={"identifier": "X"})
    assert answer.status_code == 403


# ---- refused input is named, never a crash -----------------------------------------------------

def test_a_refused_patient_is_shown_again_with_each_field_named(clinic: Clinic) -> None:
    answer = _as(clinic, "physician").post("/ui/patients", data={
        "identifier": "MRN-9", "name": "", "birth_date": "15/03/1984", "sex": "female",
        "gaucher_type": "4"})
    assert answer.status_code == 422
    messages = _errors(answer.text)
    assert any(text.startswith("name: ") for text in messages)
    assert any(text.startswith("birth date: ") for text in messages)
    assert any(text.startswith("gaucher type: Input should be 1, 2 or 3") for text in messages)
    assert 'value="MRN-9"' in answer.text  # what was typed stays
    assert clinic.get("viewer", "/patients").json() == []


def test_unknown_records_and_odd_paths_are_pages_not_crashes(clinic: Clinic) -> None:
    client = _as(clinic, "viewer")
    for path, status in (("/ui/patients/999", 404), ("/ui/orders/999", 404),
                         ("/ui/preparations/999", 404), ("/ui/administrations/999", 404),
                         ("/ui/patients/abc", 422), ("/ui/nowhere", 404),
                         (f"/ui/patients/{2**40}", 422)):
        answer = client.get(path)
        assert answer.status_code == status, path
        assert answer.headers["content-type"].startswith("text/html"), path
    # the API keeps its JSON answers
    answer = clinic.get("viewer", "/patients/999")
    assert answer.status_code == 404
    assert answer.json() == {"detail": "patient 999 not found"}


# ---- the preview is the API's plan --------------------------------------------------------------

def test_the_preview_of_70_kg_at_60_u_per_kg_is_the_apis_plan(clinic: Clinic) -> None:
    typed = {"weight": "70 kg", "dose": "60 U/kg", "every": "2 weeks"}
    fragment = _as(clinic, "physician").post("/ui/fragments/preview", data=typed)
    assert fragment.status_code == 200
    plan = _ok(clinic.post("viewer", "/plans/preparation", typed))
    assert plan["dose_units"] == 4200
    assert f'data-dose-units="{plan["dose_units"]}"' in fragment.text
    # ten 400 U vials and one 200 U vial at 40 U/mL: 105 mL, saline to 150 mL, 75 mL/h over 2 h
    text = re.sub(r"<[^>]+>", "", fragment.text)
    assert "10 × 400 U + 1 × 200 U" in text
    assert "105 mL" in text
    assert "to 150 mL" in text
    assert "75 mL/h" in text
    # only the information that the 200 U vial is not marketed everywhere: nothing to override
    assert "vial-size-unavailable" in text
    assert "Needs an override reason" not in text


def test_the_preview_names_the_field_it_cannot_read(clinic: Clinic) -> None:
    fragment = _as(clinic, "physician").post("/ui/fragments/preview", data={
        "weight": "70 kg", "dose": "60 mg/kg", "every": "2 weeks"})
    assert fragment.status_code == 200  # htmx swaps the message in
    assert _errors(fragment.text) == [
        "dose: must be enzyme units per kg such as 60 U/kg (got '60 mg/kg')"]


def test_the_worksheet_preview_plans_its_query_and_stores_nothing(clinic: Clinic) -> None:
    client = _as(clinic, "nurse")
    answer = client.get("/ui/worksheet?weight=70kg&dose=60U/kg&every=2w&duration=60min")
    assert answer.status_code == 200
    text = re.sub(r"<[^>]+>", "", answer.text)
    assert "Preparation worksheet" in text
    assert "4,200 U" in text
    assert "150 mL/h" in text  # 150 mL over 60 min
    assert "must be verified by a pharmacist" in text
    refused = client.get("/ui/worksheet?weight=70kg&dose=60U/kg&every=5w")
    assert refused.status_code == 200  # a plan with an alert is still a plan
    assert "interval-outside-range" in refused.text
    refused = client.get("/ui/worksheet?weight=70&dose=60U/kg&every=2w")
    assert refused.status_code == 422
    assert _errors(refused.text)[0].startswith("weight: ")
    assert client.get("/ui/worksheet").status_code == 200  # the empty form
    # nothing stored: the audit holds only the creation of the test's users
    assert {entry["entity"] for entry in clinic.get("viewer", "/audit").json()} == {"user"}


# ---- orders, verification, preparation, administration ----------------------------------------

def test_an_order_typed_with_a_new_weight_records_the_weight_then_the_order(
        clinic: Clinic) -> None:
    patient_id = _patient(clinic, weight_kg=None)
    client = _as(clinic, "physician")
    refused = client.post(f"/ui/patients/{patient_id}/orders", data={
        "weight": "45 m", "dose": "60 U/kg", "every": "2 weeks", "start_date": "2026-12-07"})
    assert refused.status_code == 422
    assert _errors(refused.text)[0].startswith("weight: must be a mass")
    assert clinic.get("viewer", "/weights").json() == []  # nothing half-stored
    answer = client.post(f"/ui/patients/{patient_id}/orders", data={
        "weight": "99.2 lb", "dose": "60 U/kg", "every": "2 weeks", "start_date": "2026-12-07"},
        follow_redirects=False)
    assert answer.status_code == 303
    [weight] = clinic.get("viewer", "/weights").json()
    assert weight["weight_kg"] == pytest.approx(45.0, abs=0.01)
    [order] = clinic.get("viewer", "/orders").json()
    assert (order["dose_units_per_kg"], order["interval_days"], order["status"]) == (
        60, 14, "ordered")
    assert answer.headers["location"] == f"/ui/orders/{order['id']}"


def test_verification_above_the_label_needs_the_reason_and_is_audited(clinic: Clinic) -> None:
    patient_id = _patient(clinic)
    order = _ok(clinic.post("physician", "/orders", {
        "patient_id": patient_id, "dose_units_per_kg": 80, "interval_days": 14,
        "start_date": "2026-12-07"}), 201)
    client = _as(clinic, "pharmacist")
    page = client.get(f"/ui/orders/{order['id']}")
    assert "These alerts need a stated reason: dose-above-range, exposure-above-range" in page.text
    refused = client.post(f"/ui/orders/{order['id']}/verify", data={"version": "1"})
    assert refused.status_code == 422
    assert _errors(refused.text) == [
        "override reason: required to verify an order whose plan or patient screening carries "
        "warning or critical alerts (dose-above-range, exposure-above-range)"]
    stale = client.post(f"/ui/orders/{order['id']}/verify",
                        data={"version": "7", "override_reason": "agreed"})
    assert stale.status_code == 422
    assert "is at version 1, not 7" in stale.text
    client.post(f"/ui/orders/{order['id']}/verify",
                data={"version": "1", "override_reason": "agreed with the centre"})
    stored = clinic.get("viewer", f"/orders/{order['id']}").json()
    assert stored["status"] == "verified"
    assert stored["override_reason"] == "agreed with the centre"
    audit = clinic.get("viewer", "/audit", entity="order", entity_id=order["id"]).json()
    assert [(entry["action"], entry["actor"]) for entry in audit] == [
        ("create", "physician"), ("verify", "pharmacist")]


def test_a_preparation_refuses_an_expired_lot_by_its_row(clinic: Clinic) -> None:
    patient_id = _patient(clinic)
    order = _ok(clinic.post("physician", "/orders", {
        "patient_id": patient_id, "dose_units_per_kg": 60, "interval_days": 14,
        "start_date": "2026-12-07"}), 201)
    client = _as(clinic, "pharmacist")
    client.post(f"/ui/orders/{order['id']}/verify", data={"version": "1"})
    answer = client.post(f"/ui/orders/{order['id']}/preparations", data={
        "vial_rows": "2", "vials-0-vial_units": "400", "vials-0-count": "10",
        "vials-0-lot": "L400A", "vials-0-expiry_date": "2027-06-30",
        "vials-1-vial_units": "200", "vials-1-count": "1", "vials-1-lot": "L200B",
        "vials-1-expiry_date": "2026-11-30", "reconstituted_at": "2026-12-07T08:30"})
    assert answer.status_code == 422
    assert 'id="vials-1-expiry-date-error"' in answer.text
    assert "the lot expired before reconstitution" in answer.text
    assert clinic.get("viewer", "/preparations").json() == []


def test_the_worksheet_pdf_and_the_label_are_the_documents_of_the_bag(clinic: Clinic) -> None:
    preparation_id = _bag(clinic)
    client = _as(clinic, "nurse")
    pdf = client.get(f"/ui/preparations/{preparation_id}/worksheet.pdf")
    assert pdf.status_code == 200
    assert pdf.content.startswith(b"%PDF")
    label = client.get(f"/ui/preparations/{preparation_id}/label.svg")
    assert label.headers["content-type"].startswith("image/svg+xml")
    assert barcode_payload(preparation_id) in label.text
    assert "Ada Lovelace" in label.text


@pytest.mark.parametrize(("typed", "expected"), [
    ("", "barcode: scan or type the barcode on the bag's label before the start"),
    ("ERTPLAN-PREP-0000042", "barcode: is not an ertplan preparation barcode"),
    ("ERTPLAN-PREP-99999999999", "barcode: this is the label of preparation 99999999999, not of "
     "preparation 1: do not start, check the bag"),
    ("ERTPLAN-PREP-000002", "barcode: this is the label of preparation 2 for Ada Lovelace "
     "(MRN-0002), not of preparation 1"),
])
def test_a_bag_whose_barcode_is_not_this_preparations_is_not_started(
        clinic: Clinic, typed: str, expected: str) -> None:
    first = _bag(clinic)
    other = _patient(clinic)
    # a second bag, of another patient (MRN-0002)
    order = _ok(clinic.post("physician", "/orders", {
        "patient_id": other, "dose_units_per_kg": 60, "interval_days": 14,
        "start_date": "2026-12-07"}), 201)
    _ok(clinic.post("pharmacist", f"/orders/{order['id']}/verify", {"version": 1}))
    _ok(clinic.post("pharmacist", "/preparations", {
        "order_id": order["id"], "vials": VIALS, "reconstituted_at": "2026-12-07T08:00:00Z"}),
        201)
    answer = _as(clinic, "nurse").post(f"/ui/preparations/{first}/administrations", data={
        "barcode": typed, "started_at": "2026-12-07T09:00"})
    assert answer.status_code == 422
    assert _errors(answer.text)[0].startswith(expected)
    assert clinic.get("viewer", "/administrations").json() == []


def test_a_reaction_is_recorded_with_its_signs_and_the_monographs_handling(
        clinic: Clinic) -> None:
    preparation_id = _bag(clinic)
    client = _as(clinic, "nurse")
    started = client.post(f"/ui/preparations/{preparation_id}/administrations", data={
        "barcode": barcode_payload(preparation_id) + "\r\n", "started_at": "2026-12-07T09:00"},
        follow_redirects=False)
    assert started.status_code == 303
    page = started.headers["location"]
    refused = client.post(f"{page}/reactions", data={
        "version": "1", "reaction_at": "2026-12-07T09:40", "grade": "2",
        "action_taken": "paused"})
    assert refused.status_code == 422
    assert _errors(refused.text)[0].startswith("sign: give at least one observed sign")
    answer = client.post(f"{page}/reactions", data={
        "version": "1", "signs": ["urticaria", "dyspnoea"], "reaction_at": "2026-12-07T09:40",
        "grade": "2", "action_taken": "paused, then slowed"})
    assert answer.status_code == 200
    text = re.sub(r"<[^>]+>", "", answer.text)
    # 150 mL over the default 120 min is 75 mL/h; already the longest labelled duration
    assert "Grade 2 (moderate)" in text
    assert "antihistamines and/or corticosteroids" in text
    assert "no-slower-rate-in-label" in text
    [administration] = clinic.get("viewer", "/administrations").json()
    [reaction] = administration["reactions"]
    assert reaction["description"] == "signs: urticaria, dyspnoea"
    assert reaction["grade"] == 2


# ---- whatever is typed, the preview answers with a plan or a message ---------------------------

def _typed(*spellings: str) -> st.SearchStrategy[str]:
    """What a physician may type: a usual spelling, an odd one, or any text at all."""
    return st.one_of(st.sampled_from(spellings), st.text(max_size=30))


@given(weight=_typed("70 kg", "154 lb", "0.4 kg", "400 kg", "70", "-5 kg", "1e400 kg"),
       dose=_typed("60 U/kg", "2.5U/kg", "61 U/kg", "60 mg/kg", "0 U/kg", "nan U/kg"),
       every=_typed("2 weeks", "14 d", "1 w", "3 d", "0 d", "5 weeks", "fortnightly"))
@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_typed_order_gets_a_plan_or_a_named_message_never_a_crash(
        clinic: Clinic, weight: str, dose: str, every: str) -> None:
    fragment = _as(clinic, "physician").post("/ui/fragments/preview", data={
        "weight": weight, "dose": dose, "every": every})
    assert fragment.status_code == 200
    planned = "data-dose-units=" in fragment.text
    named = re.search(r'class="error">(weight|dose|every|times per week|duration|vial sizes|'
                      r'form)[: ]', fragment.text)
    assert planned != bool(named), fragment.text


def test_every_template_and_static_file_is_in_the_package_data() -> None:
    # pyproject ships web/templates/*.html and web/static/*: nothing may hide in a subfolder
    import ertplan.web

    root = Path(ertplan.web.__file__).parent
    templates = [path for path in (root / "templates").rglob("*") if path.is_file()]
    static = [path for path in (root / "static").rglob("*") if path.is_file()]
    assert all(path.parent == root / "templates" and path.suffix == ".html"
               for path in templates)
    assert all(path.parent == root / "static" for path in static)
    assert {path.name for path in static} >= {"htmx.min.js", "htmx.LICENSE.txt", "ertplan.css"}


def test_a_changed_order_needs_its_reason_and_goes_back_to_the_pharmacist(
        clinic: Clinic) -> None:
    patient_id = _patient(clinic)
    order = _ok(clinic.post("physician", "/orders", {
        "patient_id": patient_id, "dose_units_per_kg": 60, "interval_days": 14,
        "start_date": "2026-12-07"}), 201)
    _ok(clinic.post("pharmacist", f"/orders/{order['id']}/verify", {"version": 1}))
    client = _as(clinic, "physician")
    form = client.get(f"/ui/orders/{order['id']}/change")
    assert 'value="60 U/kg"' in form.text
    assert 'value="14 days"' in form.text
    typed = {"version": "2", "weight": "70 kg", "dose": "45 U/kg", "every": "2 weeks",
             "start_date": "2026-12-07"}
    refused = client.post(f"/ui/orders/{order['id']}/change", data=typed)
    assert refused.status_code == 422
    assert _errors(refused.text)[0].startswith("change reason: ")
    answer = client.post(f"/ui/orders/{order['id']}/change",
                         data={**typed, "change_reason": "response reached the goals"},
                         follow_redirects=False)
    assert answer.status_code == 303
    stored = clinic.get("viewer", f"/orders/{order['id']}").json()
    assert (stored["dose_units_per_kg"], stored["status"], stored["verified_by_id"]) == (
        45, "ordered", None)
    assert len(clinic.get("viewer", "/weights").json()) == 1  # 70 kg: no new weight


def test_the_calendar_keeps_the_orders_rhythm_and_lists_the_dates_from_today(
        clinic: Clinic) -> None:
    # every 14 days from Monday 2026-11-02: 11-02, 11-16, 11-30 are past on 2026-12-07
    patient_id = _patient(clinic, weight_kg=45)
    _ok(clinic.post("physician", "/orders", {
        "patient_id": patient_id, "dose_units_per_kg": 60, "interval_days": 14,
        "start_date": "2026-11-02"}), 201)
    page = _as(clinic, "viewer").get(f"/ui/patients/{patient_id}")
    dates = re.findall(r"<tr><td>(\d{4}-\d\d-\d\d)</td><td>([\d,]+)</td>", page.text)
    # 45 kg × 60 U/kg = 2700 U, given as whole vials alternating 2800 U and 2600 U from the
    # start (ertplan calendar --start 2026-11-02): the 4th infusion is a 2600 U one
    assert dates[:3] == [("2026-12-14", "2,600"), ("2026-12-28", "2,800"),
                         ("2027-01-11", "2,600")]
    assert "The 3 infusion date(s) before today are not listed." in page.text


def test_a_weight_typed_back_as_the_form_showed_it_is_not_recorded_again(
        clinic: Clinic) -> None:
    patient_id = _patient(clinic, weight_kg=None)
    client = _as(clinic, "physician")
    typed = {"dose": "60 U/kg", "every": "2 weeks", "start_date": "2026-12-07"}
    client.post(f"/ui/patients/{patient_id}/orders", data={**typed, "weight": "154 lb"})
    form = client.get(f"/ui/patients/{patient_id}/orders/new")
    shown = re.search(r'name="weight" type="text"\s+value="([^"]+)"', form.text)
    assert shown is not None
    assert shown.group(1) == "69.85 kg"  # 154 lb is 69.853... kg
    client.post(f"/ui/patients/{patient_id}/orders", data={**typed, "weight": shown.group(1)})
    assert len(clinic.get("viewer", "/weights").json()) == 1
    assert len(clinic.get("viewer", "/orders").json()) == 2


def test_a_name_the_pdf_font_cannot_print_is_a_named_refusal_not_a_crash(clinic: Clinic) -> None:
    preparation_id = _bag(clinic)
    [patient] = clinic.get("viewer", "/patients").json()
    _ok(clinic.patch("physician", f"/patients/{patient['id']}",
                     {"version": patient["version"], "name": "山田 太郎"}))
    client = _as(clinic, "viewer")
    answer = client.get(f"/ui/preparations/{preparation_id}/worksheet.pdf")
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("text/html")
    assert "patient_name: has characters the worksheet&#39;s font" in answer.text
    # the page itself still shows the worksheet, for the browser to print
    assert "山田 太郎" in client.get(f"/ui/preparations/{preparation_id}").text


def test_the_cds_cards_worksheet_link_opens_the_same_plan(clinic: Clinic) -> None:
    from tests.interop.test_cds_service import fixture

    cards = clinic.client.post("/cds-services/ertplan-order-sign",
                               json=fixture("cds-order-sign-imiglucerase")).json()["cards"]
    (link,) = cards[0]["links"]
    url = urlsplit(link["url"])
    page = _as(clinic, "pharmacist").get(f"{url.path}?{url.query}")
    assert page.status_code == 200
    text = re.sub(r"<[^>]+>", "", page.text)
    # the card's 70 kg at 60 U/kg every 2 weeks: 4200 U, 105 mL, 150 mL at 75 mL/h
    for fact in ("4,200 U", "10 × 400 U + 1 × 200 U", "105 mL", "to 150 mL", "75 mL/h"):
        assert fact in text, fact
