"""CDS Hooks 2.0 §Trusting CDS Clients: the client's JWT on every hook call and feedback write.

The client keys are generated here (RSA for RS384, P-384 for ES384); the service trusts the
issuer ``https://ehr.example.org`` with a JWK Set file holding their public halves. Each refusal
is a 401 with a one-line reason; feedback is a write, so it needs a verified client, is stored
with the client's issuer as author, and writes its audit rows in the same transaction.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi.testclient import TestClient
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from sqlalchemy import Engine, select

from ertplan.app import create_app
from ertplan.service.settings import Settings
from ertplan.store.db import session_factory
from ertplan.store.models import AuditEntry, CdsFeedback
from tests.interop.test_cds_service import fixture
from tests.service.conftest import NOW, Clinic

ISSUER = "https://ehr.example.org"
SIGN = "/cds-services/ertplan-order-sign"
SIGN_URL = f"http://testserver{SIGN}"
FEEDBACK_URL = f"{SIGN_URL}/feedback"


@dataclass(frozen=True)
class ClientKeys:
    rsa: rsa.RSAPrivateKey
    ec: ec.EllipticCurvePrivateKey
    jwks: Path


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> ClientKeys:
    """The EHR's key pairs, and its public JWK Set as the file the service is configured with."""
    private_rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_ec = ec.generate_private_key(ec.SECP384R1())
    public = [RSAAlgorithm.to_jwk(private_rsa.public_key(), as_dict=True) | {"kid": "rsa-1"},
              ECAlgorithm.to_jwk(private_ec.public_key(), as_dict=True) | {"kid": "ec-1"}]
    path = tmp_path_factory.mktemp("cds-client") / "ehr-jwks.json"
    path.write_text(json.dumps({"keys": public}))
    return ClientKeys(rsa=private_rsa, ec=private_ec, jwks=path)


def token(keys: ClientKeys, *, aud: str = SIGN_URL, algorithm: str = "RS384",
          key: Any = None, **changes: Any) -> str:
    """A client JWT made at NOW for 5 minutes (no `sub`: the specification lists none), with
    `changes` to its claims (None drops one)."""
    claims: dict[str, Any] = {"iss": ISSUER, "aud": aud,  # the payload of §Trusting CDS Clients
                              "iat": int(NOW.timestamp()), "exp": int(NOW.timestamp()) + 300,
                              "jti": str(uuid.uuid4())}
    claims.update(changes)
    claims = {name: value for name, value in claims.items() if value is not None}
    signing = key if key is not None else (keys.rsa if algorithm == "RS384" else keys.ec)
    return jwt.encode(claims, signing, algorithm=algorithm)


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


@pytest.fixture
def trusting(engine: Engine, keys: ClientKeys) -> Iterator[TestClient]:
    """The API trusting the EHR's JWK Set (ERTPLAN_CDS_CLIENTS)."""
    settings = Settings(database_url=None, cds_clients={ISSUER: str(keys.jwks)})
    with TestClient(create_app(engine=engine, settings=settings, clock=lambda: NOW),
                    raise_server_exceptions=False) as client:
        yield client


def test_an_order_sign_call_with_a_valid_rs384_or_es384_client_jwt_gets_its_cards(
        trusting: TestClient, keys: ClientKeys) -> None:
    for algorithm in ("RS384", "ES384"):
        answer = trusting.post(SIGN, json=fixture("cds-order-sign-imiglucerase"),
                               headers=bearer(token(keys, algorithm=algorithm)))
        assert answer.status_code == 200, answer.text
        assert answer.json()["cards"][0]["summary"].startswith("Imiglucerase 4200 U")


def test_discovery_stays_open_while_a_hook_call_without_a_jwt_is_refused(
        trusting: TestClient) -> None:
    assert trusting.get("/cds-services").status_code == 200
    refused = trusting.post(SIGN, json=fixture("cds-order-sign-imiglucerase"))
    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"] == "Bearer"
    assert "Authorization: Bearer" in refused.json()["detail"]


def _other_rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


REFUSALS: dict[str, tuple[Any, str]] = {
    "signed by another key": (lambda keys: token(keys, key=_other_rsa_key()),
                              "signature does not verify"),
    "HS256 with a shared secret": (lambda keys: token(keys, algorithm="HS256",
                                                      key="a shared secret of 32 bytes!!!!!"),
                                   "'HS256' is not accepted"),
    "HS384, also symmetric": (lambda keys: token(keys, algorithm="HS384",
                                                 key="s" * 48),
                              "'HS384' is not accepted"),
    "alg none, unsigned": (lambda keys: jwt.encode(
        {"iss": ISSUER, "sub": "x", "aud": SIGN_URL, "iat": int(NOW.timestamp()),
         "exp": int(NOW.timestamp()) + 300, "jti": "n"}, "", algorithm="none"),
        "'none' is not accepted"),
    "an unknown issuer": (lambda keys: token(keys, iss="https://rogue.example.org"),
                          "not a trusted CDS client"),
    "another endpoint as audience": (lambda keys: token(keys, aud=f"{SIGN_URL}-other"),
                                     "aud is not this endpoint"),
    "expired a minute ago": (lambda keys: token(keys, iat=int(NOW.timestamp()) - 360,
                                                exp=int(NOW.timestamp()) - 60),
                             "has expired"),
    "issued in the future": (lambda keys: token(keys, iat=int(NOW.timestamp()) + 120),
                             "issued in the future"),
    "exp not a number": (lambda keys: token(keys, exp="tomorrow"), "must be numbers"),
    "without a jti": (lambda keys: token(keys, jti=None), "lacks the jti claim"),
    "not a JWT": (lambda keys: "not-a-jwt", "not a JWT"),
    "signed by another P-384 key": (lambda keys: token(keys, algorithm="ES384",
                                                        key=ec.generate_private_key(
                                                            ec.SECP384R1())),
                                    "signature does not verify"),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_a_hook_call_with_a_bad_client_jwt_is_refused_with_its_reason(
        trusting: TestClient, keys: ClientKeys, case: str) -> None:
    make, reason = REFUSALS[case]
    answer = trusting.post(SIGN, json=fixture("cds-order-sign-imiglucerase"),
                           headers=bearer(make(keys)))
    assert answer.status_code == 401, answer.text
    detail = answer.json()["detail"]
    assert reason in detail
    assert "\n" not in detail


def test_a_replayed_jti_is_refused_while_the_first_use_passed(
        trusting: TestClient, keys: ClientKeys) -> None:
    once = token(keys)
    body = fixture("cds-order-sign-imiglucerase")
    assert trusting.post(SIGN, json=body, headers=bearer(once)).status_code == 200
    replay = trusting.post(SIGN, json=body, headers=bearer(once))
    assert replay.status_code == 401
    assert "replay" in replay.json()["detail"]


def test_feedback_without_any_trusted_client_is_refused_and_stores_nothing(
        clinic: Clinic) -> None:
    # the clinic fixture configures no CDS client: hooks stay open, the write is refused
    assert clinic.client.post(SIGN, json=fixture("cds-order-sign-imiglucerase")).status_code == 200
    refused = clinic.client.post(f"{SIGN}/feedback", json=fixture("cds-feedback"),
                                 headers=bearer("anything"))
    assert refused.status_code == 401
    assert "ERTPLAN_CDS_CLIENTS" in refused.json()["detail"]
    with session_factory(clinic.engine)() as session:
        assert session.scalars(select(CdsFeedback)).all() == []


def test_feedback_with_a_jwt_for_the_hook_url_is_refused_as_another_audience(
        trusting: TestClient, keys: ClientKeys) -> None:
    answer = trusting.post(f"{SIGN}/feedback", json=fixture("cds-feedback"),
                           headers=bearer(token(keys, aud=SIGN_URL)))
    assert answer.status_code == 401
    assert "aud is not this endpoint" in answer.json()["detail"]


def test_feedback_without_a_jwt_is_refused_before_its_body_is_read(
        trusting: TestClient) -> None:
    assert trusting.post(f"{SIGN}/feedback", json={"feedback": "nonsense"}).status_code == 401


def issued_feedback(client: TestClient, keys: ClientKeys) -> dict[str, Any]:
    """The feedback fixture about cards this service really issued to the client: its
    accepted entry names the rounding card of a 68 kg order (4080 U) and that card's first
    suggestion, its overridden entry the plan card (feedback is taken for issued cards only)."""
    body = fixture("cds-order-sign-imiglucerase")
    for entry in body["prefetch"]["weight"]["entry"]:
        entry["resource"]["valueQuantity"]["value"] = 68
    cards = client.post(SIGN, json=body, headers=bearer(token(keys))).json()["cards"]
    rounding = next(card for card in cards if card.get("suggestions"))
    feedback = fixture("cds-feedback")
    feedback["feedback"][0]["card"] = rounding["uuid"]
    feedback["feedback"][0]["acceptedSuggestions"] = [
        {"id": rounding["suggestions"][0]["uuid"]}]
    feedback["feedback"][1]["card"] = cards[0]["uuid"]
    return feedback


def test_feedback_from_a_verified_client_is_stored_with_its_issuer_and_audited(
        trusting: TestClient, keys: ClientKeys, engine: Engine) -> None:
    answer = trusting.post(f"{SIGN}/feedback", json=issued_feedback(trusting, keys),
                           headers=bearer(token(keys, aud=FEEDBACK_URL, algorithm="ES384")))
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"stored": 2}
    with session_factory(engine)() as session:
        stored = session.scalars(select(CdsFeedback).order_by(CdsFeedback.id)).all()
        audit = session.scalars(select(AuditEntry).where(
            AuditEntry.entity == "cds-feedback").order_by(AuditEntry.id)).all()
        assert [(row.issuer, row.outcome) for row in stored] == [
            (ISSUER, "accepted"), (ISSUER, "overridden")]
        assert [(entry.entity_id, entry.action, entry.actor, entry.actor_id, entry.at)
                for entry in audit] == [
            (row.id, "create", f"CDS client {ISSUER}", None, NOW) for row in stored]
        assert audit[1].after is not None
        assert audit[1].after["override_code"] == (
            "patient-declined")


def test_feedback_is_listed_for_admins_only(clinic: Clinic, keys: ClientKeys) -> None:
    settings = Settings(database_url=None, cds_clients={ISSUER: str(keys.jwks)})
    with TestClient(create_app(engine=clinic.engine, settings=settings,
                               clock=lambda: NOW)) as ehr:
        feedback = issued_feedback(ehr, keys)
        stored = ehr.post(f"{SIGN}/feedback", json=feedback,
                          headers=bearer(token(keys, aud=FEEDBACK_URL)))
    assert stored.status_code == 200, stored.text
    assert clinic.get("pharmacist", "/cds-feedback").status_code == 403
    listed = clinic.get("admin", "/cds-feedback").json()
    assert [(entry["outcome"], entry["accepted_suggestions"], entry["override_code"],
             entry["override_comment"], entry["issuer"]) for entry in listed] == [
        ("accepted", [feedback["feedback"][0]["acceptedSuggestions"][0]["id"]], None, None,
         ISSUER),
        ("overridden", [], "patient-declined", "Discussed with the family", ISSUER)]
    assert listed[0]["service_id"] == "ertplan-order-sign"
    assert listed[0]["outcome_at"].startswith("2026-12-07T08:05:00")


def test_feedback_on_a_card_never_issued_is_refused_naming_the_entry(
        trusting: TestClient, keys: ClientKeys) -> None:
    feedback = issued_feedback(trusting, keys)
    forged = fixture("cds-feedback")  # the specification-shaped uuids: never issued here
    answer = trusting.post(f"{SIGN}/feedback", json=forged,
                           headers=bearer(token(keys, aud=FEEDBACK_URL)))
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["body", "feedback", 0, "card"]
    feedback["feedback"][0]["acceptedSuggestions"] = [{"id": str(uuid.uuid4())}]
    answer = trusting.post(f"{SIGN}/feedback", json=feedback,
                           headers=bearer(token(keys, aud=FEEDBACK_URL)))
    assert answer.status_code == 422
    assert "not a suggestion of that card" in answer.json()["detail"][0]["msg"]


def test_feedback_with_an_unknown_outcome_is_refused(trusting: TestClient,
                                                     keys: ClientKeys) -> None:
    body = fixture("cds-feedback")
    body["feedback"][0]["outcome"] = "ignored"
    answer = trusting.post(f"{SIGN}/feedback", json=body,
                           headers=bearer(token(keys, aud=FEEDBACK_URL)))
    assert answer.status_code == 422


def test_a_client_jwk_set_that_cannot_be_read_stops_the_service_at_start(
        engine: Engine, tmp_path: Path) -> None:
    from ertplan.core.errors import InputError

    missing = Settings(database_url=None, cds_clients={ISSUER: str(tmp_path / "none.json")})
    with pytest.raises(InputError, match="cds-clients"):
        create_app(engine=engine, settings=missing)
    symmetric = tmp_path / "oct.json"
    symmetric.write_text(json.dumps({"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}))
    with pytest.raises(InputError, match="no RSA or EC"):
        create_app(engine=engine, settings=Settings(database_url=None,
                                                    cds_clients={ISSUER: str(symmetric)}))
