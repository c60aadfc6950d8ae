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

EXAMPLES_PER_OPERATION = 4
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance,
          content_type_conformance]


def test_no_operation_answers_500_or_off_its_schema(clinic: Clinic) -> None:
    seed = clinic.post("physician", "/patients", {
        "identifier": "MRN-1", "name": "Seeded", "birth_date": "1990-01-01", "sex": "male",
        "gaucher_type": 1})
    assert seed.status_code == 201
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
