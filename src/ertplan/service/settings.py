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
    # CDS Hooks §Trusting CDS Clients: each trusted client's JWT issuer (``iss``) and its JWK
    # Set, a local file or https URLs (the allow-list of its ``jku``), as JSON:
    # ERTPLAN_CDS_CLIENTS='{"https://ehr.example.org": "/etc/ertplan/ehr-jwks.json"}' or
    # '{"https://ehr.example.org": ["https://ehr.example.org/jwks.json"]}'. None configured:
    # hooks stay open, feedback is refused. A key set read by URL is kept this many seconds.
    cds_clients: dict[str, str | list[str]] = {}
    cds_jwks_cache_s: float = 300.0
    # fhirServer base URLs the hooks may read when no client is trusted (JSON list; a call's
    # fhirServer must start with one of them); with trusted clients, their calls' fhirServer
    cds_fhir_servers: list[str] = []
    # browser-based CDS clients: the origins allowed to call /cds-services (JSON list, CORS)
    cds_cors_origins: list[str] = []
    # FHIR: the system of the clinic's patient identifiers (its MRNs), written on export and
    # matched on import and SMART launch together with the identifier's value
    fhir_patient_system: str = "http://ertplan.invalid/fhir/identifier/patient"
    # SMART App Launch 2.0 (EHR launch at /smart/launch): the EHRs' FHIR base URLs (``iss``)
    # ertplan may be launched from (JSON list), ertplan's client id registered with them, and
    # the redirect URI registered with it (default: this server's /smart/callback)
    smart_issuers: list[str] = []
    smart_client_id: str | None = None
    smart_redirect_uri: str | None = None
    smart_timeout_s: float = 10.0
    # the web pages show and read date-times in the clinic's IANA time zone (the records keep
    # them with their offset)
    timezone: str = "UTC"
