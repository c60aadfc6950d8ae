"""Schemathesis against the OpenAPI schema: no input gets a 500 or an answer off the schema.

Each operation runs as the role that may call it, so generated bodies reach the routes' rules and
the database, not only the role check. Kept small (few examples per operation) to stay fast.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.service.conftest import Clinic, role_for
from tests.service.test_records import _bag

EXAMPLES_PER_OPERATION = 4
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance,
          content_type_conformance]


def test_no_operation_answers_500_or_off_its_schema(clinic: Clinic) -> None:
    _seed_one_of_each_record(clinic)
    schema = schemathesis.openapi.from_asgi("/openapi.json", clinic.client.app)
    results = list(schema.get_all_operations())
    operations = [result.ok() for result in results if isinstance(result, Ok)]
    assert len(operations) == len(results) > 30
    for operation in operations:
        _fuzz(operation, clinic.tokens[role_for(operation.method.upper(), operation.path)])


def _fuzz(operation: Any, token: str) -> None:
    headers = {"Authorization": f"Bearer {token}"}

    @given(case=operation.as_strategy())
    @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    def call(case: Any) -> None:
        case.call_and_validate(headers=headers, checks=CHECKS)

    call()


def _seed_one_of_each_record(clinic: Clinic) -> None:
    """Record id 1 of every kind exists, so reads return real records to check."""
    bag = _bag(clinic)
    for role, path, body in [
        ("nurse", "/administrations", {"preparation_id": bag["id"],
                                       "started_at": "2026-12-07T09:30:00Z"}),
        ("nurse", "/observations", {"patient_id": 1, "kind": "platelets", "value": 150,
                                    "unit": "10^9/L", "observed_on": "2026-12-01",
                                    "source": "lab"}),
        ("pharmacist", "/vial-stock", {"lot": "L1", "vial_units": 400,
                                       "expiry_date": "2027-01-31", "count": 10}),
    ]:
        assert clinic.post(role, path, body).status_code == 201
