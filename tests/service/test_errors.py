"""The one error handler: every ertplan error becomes a 4xx, and no route answers 500."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.exc import DataError

from ertplan.core.errors import ConflictError, ErtplanError, InputError, MonographError
from ertplan.service.errors import body_location, install_error_handler
from ertplan.store.errors import NotFoundError
from tests.service.conftest import Clinic, role_for


@pytest.mark.parametrize(("error", "status"), [
    (InputError("vials[1].lot", "is empty", ""), 422),
    (NotFoundError("order", 7), 404),
    (ConflictError("order 7 is at version 3, not 2"), 409),
    (MonographError("products[0].units: field required"), 422),
    (ErtplanError("anything else of ours"), 422),
    (DataError("INSERT ...", {}, ValueError("value too long for type character varying(80)")),
     422),
])
def test_each_domain_error_has_its_status(error: Exception, status: int) -> None:
    app = FastAPI()
    install_error_handler(app)

    @app.get("/fails")
    def fails() -> None:
        raise error

    response = TestClient(app).get("/fails")
    assert response.status_code == status
    if status == 422:
        assert response.json()["detail"][0]["loc"][0] == "body"


def test_an_input_error_names_the_field_path() -> None:
    assert body_location("vials[1].expiry_date") == ["body", "vials", 1, "expiry_date"]
    assert body_location("prepared-at") == ["body", "prepared_at"]


GARBAGE: list[Any] = [None, "x", 2**63, {"version": 2**40, "patient_id": 0},
                      {"version": 1, "name": "\x00", "count": -1}]


def test_no_route_answers_500_to_garbage(clinic: Clinic) -> None:
    paths = clinic.client.get("/openapi.json").json()["paths"]
    tried = 0
    for template, methods in paths.items():
        for record_id in ("1", "99999999999"):
            path = template
            for name in ("patient_id", "user_id", "weight_id", "order_id", "preparation_id",
                         "administration_id", "observation_id", "stock_id"):
                path = path.replace("{" + name + "}", record_id)
            for method in methods:
                role = role_for(method.upper(), template)
                for body in GARBAGE:
                    response = clinic.client.request(
                        method.upper(), path, json=body, headers=clinic.headers(role))
                    tried += 1
                    assert response.status_code < 500, (method, path, body, response.text)
    assert tried > 300
