"""The service's settings: the only place that reads the environment (``ERTPLAN_*``)."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Where the records live and how long a sign-in lasts; each can be set as ``ERTPLAN_<NAME>``.

    ``database_url`` None is the SQLite file in the user's data folder; ``vial_sizes`` is the same
    site setting as ``ertplan prepare``'s ``ERTPLAN_VIAL_SIZES`` (e.g. ``400`` or ``200,400``).
    """

    model_config = SettingsConfigDict(env_prefix="ERTPLAN_", extra="ignore")

    database_url: str | None = None
    token_minutes: int = 8 * 60  # one working shift: a house setting, not a clinical number
    vial_sizes: str | None = None
    # CDS Hooks: extra codes naming a drug in orders (``imiglucerase=system|code,...``), and how
    # long to wait for the client's FHIR server when the weight was not prefetched
    cds_drug_codes: str | None = None
    cds_fhir_timeout_s: float = 5.0
    # CDS Hooks §Trusting CDS Clients: each trusted client's JWT issuer (``iss``) and the local
    # path of its JWK Set file, as JSON: ERTPLAN_CDS_CLIENTS='{"https://ehr.example.org": "/etc/
    # ertplan/ehr-jwks.json"}'. None configured: hooks stay open, feedback is refused.
    cds_clients: dict[str, str] = {}
    # the web pages show and read date-times in the clinic's IANA time zone (the records keep
    # them with their offset)
    timezone: str = "UTC"
