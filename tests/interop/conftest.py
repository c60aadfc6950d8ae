"""The API's signed-in clinic, for the CDS Hooks and FHIR routes beside the REST API."""

from tests.service.conftest import clinic, password_hash  # noqa: F401  # fixtures, re-exported
