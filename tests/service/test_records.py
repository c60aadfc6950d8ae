"""The clinic's day through the API, on SQLite and PostgreSQL: every record created, read, updated
and listed, each write audited, each role kept to its own work, and the safety rules held."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from ertplan.store.models import AuditEntry
from tests.service.conftest import PASSWORD, Clinic

PATIENT = {"identifier": "MRN-0001", "name": "A. Patient", "birth_date": "1990-05-01",
           "sex": "female", "gaucher_type": 1, "pregnancy_status": "not-pregnant",
           "hypersensitivity": None, "alglucerase_antibodies": "none detected",
           "manifestations": ["splenomegaly"]}
# the monograph's worked example: 70 kg at 60 U/kg every 2 weeks, ten 400 U vials and one 200 U
VIALS = [{"lot": "L400A", "vial_units": 400, "count": 10, "expiry_date": "2027-06-30"},
         {"lot": "L200B", "vial_units": 200, "count": 1, "expiry_date": "2027-06-30"}]


def _audit_rows(clinic: Clinic) -> list[tuple[str, str, int]]:
    with clinic.engine.connect() as connection:
        rows = connection.execute(
            select(AuditEntry.entity, AuditEntry.action, AuditEntry.entity_id)
            .order_by(AuditEntry.id)).all()
    return [tuple(row) for row in rows]  # type: ignore[misc]


def _ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


def _patient_with_weight(clinic: Clinic, weight_kg: float = 70) -> int:
    count = len(_ok_list(clinic.get("viewer", "/patients")))
    patient = _ok(clinic.post("physician", "/patients",
                              {**PATIENT, "identifier": f"MRN-{count + 1:04d}"}), 201)
    _ok(clinic.post("nurse", "/weights", {"patient_id": patient["id"], "weight_kg": weight_kg,
                                          "measured_on": "2026-12-01"}), 201)
    return int(patient["id"])


def _verified_order(clinic: Clinic, dose: float = 60, interval: float = 14) -> dict[str, Any]:
    patient_id = _patient_with_weight(clinic)
    order = _ok(clinic.post("physician", "/orders", {
        "patient_id": patient_id, "dose_units_per_kg": dose, "interval_days": interval,
        "start_date": "2026-12-07"}), 201)
    return _ok(clinic.post("pharmacist", f"/orders/{order['id']}/verify",
                           {"version": order["version"], "override_reason": "reviewed"}))


def _bag(clinic: Clinic, **overrides: Any) -> dict[str, Any]:
    order = _verified_order(clinic)
    body = {"order_id": order["id"], "vials": VIALS, "reconstituted_at": "2026-12-07T08:00:00Z",
            "diluted_at": "2026-12-07T09:00:00Z", **overrides}
    return _ok(clinic.post("pharmacist", "/preparations", body), 201)


def test_a_whole_infusion_day_is_recorded_and_every_write_audited(clinic: Clinic) -> None:
    patient_id = _patient_with_weight(clinic)
    order = _ok(clinic.post("physician", "/orders", {
        "patient_id": patient_id, "dose_units_per_kg": 60, "interval_days": 14,
        "start_date": "2026-12-07"}), 201)
    assert order["status"] == "ordered"
    order = _ok(clinic.post("pharmacist", f"/orders/{order['id']}/verify", {"version": 1}))
    assert (order["status"], order["verified_by_id"], order["override_reason"]) == (
        "verified", 2, None)
    bag = _ok(clinic.post("pharmacist", "/preparations", {
        "order_id": order["id"], "vials": VIALS, "reconstituted_at": "2026-12-07T08:00:00Z",
        "diluted_at": "2026-12-07T09:00:00Z"}), 201)
    # 24 h from dilution at 2-8 °C, 12 h from reconstitution: the core's figures, stored
    assert bag["beyond_use_at"] == "2026-12-08T09:00:00Z"
    assert bag["reconstituted_beyond_use_at"] == "2026-12-07T20:00:00Z"
    assert bag["plan"]["withdraw_ml"] == 105.0
    assert bag["dose_units"] == 4200
    bag = _ok(clinic.post("pharmacist-2", f"/preparations/{bag['id']}/verify", {"version": 1}))
    given = _ok(clinic.post("nurse", "/administrations", {
        "preparation_id": bag["id"], "started_at": "2026-12-07T10:00:00+01:00",
        "premedication": "none", "rate_changes": [
            {"at": "2026-12-07T09:00:00Z", "rate_ml_per_h": 75}]}), 201)
    given = _ok(clinic.post("nurse", f"/administrations/{given['id']}/reactions", {
        "version": 1, "at": "2026-12-07T09:30:00Z", "grade": 1, "description": "pruritus",
        "action_taken": "rate halved, observed"}), 201)
    given = _ok(clinic.post("nurse", f"/administrations/{given['id']}/rate-changes", {
        "version": 2, "at": "2026-12-07T09:31:00Z", "rate_ml_per_h": 37.5}), 201)
    given = _ok(clinic.patch("nurse", f"/administrations/{given['id']}", {
        "version": 3, "ended_at": "2026-12-07T12:00:00Z"}))
    assert [r["rate_ml_per_h"] for r in given["rate_changes"]] == [75.0, 37.5]
    assert given["reactions"][0]["grade"] == 1
    _ok(clinic.post("physician", "/observations", {
        "patient_id": patient_id, "kind": "haemoglobin", "value": 12.1, "unit": "g/dL",
        "observed_on": "2026-12-01", "source": "hospital laboratory"}), 201)
    _ok(clinic.post("pharmacist", "/vial-stock", {"lot": "L400A", "vial_units": 400,
                                                  "expiry_date": "2027-06-30", "count": 40}), 201)
    actions = [(entity, action) for entity, action, _ in _audit_rows(clinic)
               if entity != "user"]
    assert actions == [
        ("patient", "create"), ("weight", "create"), ("order", "create"), ("order", "verify"),
        ("preparation", "create"), ("preparation", "verify"), ("administration", "create"),
        ("administration", "reaction"), ("administration", "rate-change"),
        ("administration", "update"), ("observation", "create"), ("vial-stock", "create")]
    audit = _ok_list(clinic.get("viewer", "/audit", entity="order"))
    assert [entry["action"] for entry in audit] == ["create", "verify"]
    assert audit[1]["actor"] == "pharmacist"
    assert audit[1]["before"]["status"] == "ordered"
    assert audit[1]["after"]["status"] == "verified"


def _ok_list(response: Any) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    body: list[dict[str, Any]] = response.json()
    return body


RESOURCES = [
    # path, writer role, body to create, change to make, field changed
    ("/patients", "physician", PATIENT, {"name": "A. Patient-Smith"}, "name"),
    ("/vial-stock", "pharmacist", {"lot": "L1", "vial_units": 400, "expiry_date": "2027-01-31",
                                   "count": 12}, {"count": 11}, "count"),
]


@pytest.mark.parametrize(("path", "writer", "body", "change", "field"), RESOURCES)
def test_a_record_is_created_read_updated_listed_and_a_stale_update_is_a_409(
        clinic: Clinic, path: str, writer: str, body: dict[str, Any], change: dict[str, Any],
        field: str) -> None:
    created = _ok(clinic.post(writer, path, body), 201)
    assert _ok(clinic.get("viewer", f"{path}/{created['id']}")) == created
    updated = _ok(clinic.patch(writer, f"{path}/{created['id']}", {"version": 1, **change}))
    assert updated["version"] == 2
    assert updated[field] == change[field]
    assert _ok_list(clinic.get("viewer", path)) == [updated]
    stale = clinic.patch(writer, f"{path}/{created['id']}", {"version": 1, **change})
    assert stale.status_code == 409
    assert "version 2, not 1" in stale.json()["detail"]
    assert _ok(clinic.get("viewer", f"{path}/{created['id']}")) == updated


def test_weights_and_observations_are_listed_per_patient_and_corrected(clinic: Clinic) -> None:
    patient_id = _patient_with_weight(clinic)
    other = _ok(clinic.post("physician", "/patients", {**PATIENT, "identifier": "MRN-2"}), 201)
    weights = _ok_list(clinic.get("viewer", "/weights", patient_id=patient_id))
    assert [w["weight_kg"] for w in weights] == [70.0]
    corrected = _ok(clinic.patch("nurse", f"/weights/{weights[0]['id']}",
                                 {"version": 1, "weight_kg": 71.5}))
    assert corrected["weight_kg"] == 71.5
    assert _ok_list(clinic.get("viewer", "/weights", patient_id=other["id"])) == []
    seen = _ok(clinic.post("nurse", "/observations", {
        "patient_id": patient_id, "kind": "antibody", "value_text": "IgG negative",
        "observed_on": "2026-11-20", "source": "reference laboratory"}), 201)
    fixed = _ok(clinic.patch("physician", f"/observations/{seen['id']}",
                             {"version": 1, "value_text": "IgG negative (repeat)"}))
    assert fixed["value_text"] == "IgG negative (repeat)"
    listed = _ok_list(clinic.get("viewer", "/observations", patient_id=patient_id))
    assert listed == [fixed]
    assert _ok(clinic.get("viewer", f"/observations/{seen['id']}")) == fixed
    assert _ok(clinic.get("viewer", f"/weights/{weights[0]['id']}")) == corrected


def test_an_order_is_read_listed_changed_with_a_reason_and_must_be_verified_again(
        clinic: Clinic) -> None:
    order = _verified_order(clinic)
    assert _ok(clinic.get("viewer", f"/orders/{order['id']}")) == order
    assert _ok_list(clinic.get("viewer", "/orders", patient_id=order["patient_id"])) == [order]
    no_reason = clinic.patch("physician", f"/orders/{order['id']}",
                             {"version": 2, "dose_units_per_kg": 45})
    assert no_reason.status_code == 422
    assert no_reason.json()["detail"][0]["loc"] == ["body", "change_reason"]
    changed = _ok(clinic.patch("physician", f"/orders/{order['id']}", {
        "version": 2, "dose_units_per_kg": 45, "change_reason": "response achieved"}))
    assert (changed["status"], changed["verified_by_id"]) == ("ordered", None)
    stopped = _ok(clinic.patch("physician", f"/orders/{order['id']}", {
        "version": 3, "status": "discontinued", "change_reason": "moved to another centre"}))
    assert stopped["status"] == "discontinued"
    again = clinic.patch("physician", f"/orders/{order['id']}",
                         {"version": 4, "dose_units_per_kg": 30, "change_reason": "x"})
    assert again.status_code == 409


def test_preparations_and_administrations_are_read_and_listed(clinic: Clinic) -> None:
    bag = _bag(clinic)
    assert _ok(clinic.get("viewer", f"/preparations/{bag['id']}")) == bag
    assert _ok_list(clinic.get("viewer", "/preparations", order_id=bag["order_id"])) == [bag]
    given = _ok(clinic.post("nurse", "/administrations", {
        "preparation_id": bag["id"], "started_at": "2026-12-07T09:30:00Z"}), 201)
    assert _ok(clinic.get("viewer", f"/administrations/{given['id']}")) == given
    assert _ok_list(clinic.get("viewer", "/administrations",
                               preparation_id=bag["id"])) == [given]


def test_an_order_above_60_u_per_kg_is_not_verified_without_an_override_reason(
        clinic: Clinic) -> None:
    patient_id = _patient_with_weight(clinic)
    order = _ok(clinic.post("physician", "/orders", {
        "patient_id": patient_id, "dose_units_per_kg": 90, "interval_days": 14,
        "start_date": "2026-12-07"}), 201)
    refused = clinic.post("pharmacist", f"/orders/{order['id']}/verify", {"version": 1})
    assert refused.status_code == 422
    detail = refused.json()["detail"][0]
    assert detail["loc"] == ["body", "override_reason"]
    assert "dose-above-range" in detail["msg"]
    assert "exposure-above-range" in detail["msg"]
    verified = _ok(clinic.post("pharmacist", f"/orders/{order['id']}/verify", {
        "version": 1, "override_reason": "severe type 3 disease, documented by Dr. H"}))
    assert verified["override_reason"] == "severe type 3 disease, documented by Dr. H"
    assert verified["alert_codes"] == "dose-above-range,exposure-above-range"
    audit = _ok_list(clinic.get("viewer", "/audit", entity="order", entity_id=order["id"]))
    assert audit[-1]["after"]["override_reason"] == verified["override_reason"]


def test_an_order_whose_dose_needs_more_than_one_bag_needs_an_override(clinic: Clinic) -> None:
    # 250 kg at 60 U/kg is 15000 U = 375 mL of drug: over the 200 mL bag, a critical alert
    patient = _ok(clinic.post("physician", "/patients", PATIENT), 201)
    _ok(clinic.post("nurse", "/weights", {"patient_id": patient["id"], "weight_kg": 250,
                                          "measured_on": "2026-12-01"}), 201)
    order = _ok(clinic.post("physician", "/orders", {
        "patient_id": patient["id"], "dose_units_per_kg": 60, "interval_days": 14,
        "start_date": "2026-12-07"}), 201)
    refused = clinic.post("pharmacist", f"/orders/{order['id']}/verify",
                          {"version": 1, "override_reason": ""})
    assert refused.status_code == 422
    assert "volume-exceeds-max" in refused.json()["detail"][0]["msg"]


def test_a_bag_past_its_beyond_use_time_is_refused_to_the_nurse(clinic: Clinic) -> None:
    bag = _bag(clinic)
    late = clinic.post("nurse", "/administrations", {
        "preparation_id": bag["id"], "started_at": "2026-12-08T09:00:01Z"})
    assert late.status_code == 422
    assert late.json()["detail"][0]["loc"] == ["body", "started_at"]
    assert "beyond-use" in late.json()["detail"][0]["msg"]
    _ok(clinic.post("nurse", "/administrations", {
        "preparation_id": bag["id"], "started_at": "2026-12-08T09:00:00Z"}), 201)


def test_a_preparation_needs_a_verified_order_unexpired_vials_and_the_whole_dose(
        clinic: Clinic) -> None:
    patient_id = _patient_with_weight(clinic)
    unverified = _ok(clinic.post("physician", "/orders", {
        "patient_id": patient_id, "dose_units_per_kg": 60, "interval_days": 14,
        "start_date": "2026-12-07"}), 201)
    body = {"order_id": unverified["id"], "vials": VIALS,
            "reconstituted_at": "2026-12-07T08:00:00Z"}
    refused = clinic.post("pharmacist", "/preparations", body)
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["loc"] == ["body", "order_id"]
    order = _verified_order(clinic)
    expired = [{**VIALS[0], "expiry_date": "2026-12-06"}, VIALS[1]]
    refused = clinic.post("pharmacist", "/preparations", {**body, "order_id": order["id"],
                                                          "vials": expired})
    assert refused.json()["detail"][0]["loc"] == ["body", "vials", 0, "expiry_date"]
    short = [{**VIALS[0], "count": 9}, VIALS[1]]
    refused = clinic.post("pharmacist", "/preparations", {**body, "order_id": order["id"],
                                                          "vials": short})
    assert refused.status_code == 422
    assert "less than the dose of 4200 U" in refused.json()["detail"][0]["msg"]


def test_the_pharmacist_who_made_a_bag_cannot_verify_it(clinic: Clinic) -> None:
    bag = _bag(clinic)
    refused = clinic.post("pharmacist", f"/preparations/{bag['id']}/verify", {"version": 1})
    assert refused.status_code == 422


# (method, path, body) for each write, and the only roles allowed to do it
WRITES: list[tuple[str, str, dict[str, Any], set[str]]] = [
    ("post", "/patients", PATIENT, {"physician"}),
    ("patch", "/patients/1", {"version": 1, "name": "B"}, {"physician"}),
    ("post", "/orders", {"patient_id": 1, "dose_units_per_kg": 60, "interval_days": 14,
                         "start_date": "2026-12-07"}, {"physician"}),
    ("post", "/orders/1/verify", {"version": 1}, {"pharmacist", "pharmacist-2"}),
    ("post", "/preparations", {"order_id": 1, "vials": VIALS,
                               "reconstituted_at": "2026-12-07T08:00:00Z"},
     {"pharmacist", "pharmacist-2"}),
    ("post", "/preparations/1/verify", {"version": 1}, {"pharmacist", "pharmacist-2"}),
    ("post", "/administrations", {"preparation_id": 1, "started_at": "2026-12-07T09:00:00Z"},
     {"nurse"}),
    ("post", "/weights", {"patient_id": 1, "weight_kg": 70, "measured_on": "2026-12-01"},
     {"physician", "nurse", "pharmacist", "pharmacist-2"}),
    ("post", "/observations", {"patient_id": 1, "kind": "platelets", "value": 150,
                               "unit": "10^9/L", "observed_on": "2026-12-01", "source": "lab"},
     {"physician", "nurse", "pharmacist", "pharmacist-2"}),
    ("post", "/vial-stock", {"lot": "L9", "vial_units": 400, "expiry_date": "2027-01-01",
                             "count": 1}, {"pharmacist", "pharmacist-2"}),
    ("post", "/users", {"username": "new", "role": "viewer", "password": "long enough"},
     {"admin"}),
    ("patch", "/users/1", {"version": 1, "active": True}, {"admin"}),
]
ALL_USERS = ("physician", "pharmacist", "pharmacist-2", "nurse", "viewer", "admin")


@pytest.mark.parametrize(("method", "path", "body", "allowed"), WRITES,
                         ids=[f"{m} {p}" for m, p, _, _ in WRITES])
def test_each_role_is_refused_every_write_that_is_not_its_own(
        clinic: Clinic, method: str, path: str, body: dict[str, Any], allowed: set[str]) -> None:
    before = len(_audit_rows(clinic))
    for user in ALL_USERS:
        if user in allowed:
            continue
        response = getattr(clinic, method)(user, path, body)
        assert response.status_code == 403, (user, response.text)
    unsigned = getattr(clinic.client, method)(path, json=body)
    assert unsigned.status_code == 401
    assert len(_audit_rows(clinic)) == before


def test_a_viewer_reads_but_the_admin_alone_lists_users(clinic: Clinic) -> None:
    assert clinic.get("viewer", "/patients").status_code == 200
    assert clinic.get("viewer", "/users").status_code == 403
    assert {u["username"] for u in _ok_list(clinic.get("admin", "/users"))} == set(ALL_USERS)
    assert _ok(clinic.get("nurse", "/users/me"))["role"] == "nurse"


def test_a_password_signs_in_and_a_wrong_one_does_not(clinic: Clinic) -> None:
    token = _ok(clinic.client.post("/auth/token",
                                   data={"username": "nurse", "password": PASSWORD}))
    me = clinic.client.get("/users/me",
                           headers={"Authorization": f"Bearer {token['access_token']}"})
    assert me.json()["username"] == "nurse"
    wrong = clinic.client.post("/auth/token", data={"username": "nurse", "password": "nurse"})
    assert wrong.status_code == 401
    assert clinic.client.get("/users/me", headers={"Authorization": "Bearer forged"}
                             ).status_code == 401


def test_a_deactivated_user_is_signed_out(clinic: Clinic) -> None:
    nurse = _ok(clinic.get("nurse", "/users/me"))
    _ok(clinic.patch("admin", f"/users/{nurse['id']}", {"version": 1, "active": False}))
    assert clinic.get("nurse", "/users/me").status_code == 401


def test_bad_input_is_a_422_with_the_field_path_and_unknown_ids_a_404(clinic: Clinic) -> None:
    bad = clinic.post("physician", "/patients", {**PATIENT, "birth_date": "1990-13-01"})
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["body", "birth_date"]
    nul = clinic.post("physician", "/patients", {**PATIENT, "name": "A\x00B"})
    assert nul.json()["detail"][0]["loc"] == ["body", "name"]
    assert clinic.get("viewer", "/patients/999").status_code == 404
    assert clinic.get("viewer", "/orders/999").json() == {"detail": "order 999 not found"}
    unknown = clinic.post("nurse", "/weights", {"patient_id": 999, "weight_kg": 70,
                                                "measured_on": "2026-12-01"})
    assert unknown.status_code == 422
    assert unknown.json()["detail"][0]["loc"] == ["body", "patient_id"]
    taken = clinic.post("physician", "/patients", PATIENT)
    assert taken.status_code == 201
    assert clinic.post("physician", "/patients", PATIENT).status_code == 409


def test_a_failed_write_leaves_no_audit_row(clinic: Clinic) -> None:
    with clinic.engine.connect() as connection:
        before = connection.scalar(select(func.count()).select_from(AuditEntry))
    clinic.post("physician", "/patients", PATIENT)
    assert clinic.post("physician", "/patients", PATIENT).status_code == 409
    with clinic.engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(AuditEntry)) == (before or 0) + 1
