"""The API's signed-in clinic, for commands that read or write the same records (ertplan fhir)."""

from tests.service.conftest import clinic, password_hash  # noqa: F401  # fixtures, re-exported
