"""CDS Hooks 2.0.1 §Trusting CDS Clients to the letter: the specification's own example JWT, keys
by URL through ``jku`` (allow-listed, cached, rotated), and the algorithms it allows.

The example token and key set are the specification's (fixtures/SOURCES.md); the key servers are
stand-ins on loopback.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from ertplan.interop.cds_auth import REFETCH_S, load_clients, verify_client
from ertplan.service.errors import NotAuthenticated

FIXTURES = Path(__file__).parent / "fixtures"
EXAMPLE_ISSUER = "https://fhir-ehr.example.com/"
EXAMPLE_AUDIENCE = "https://cds.example.org/cds-services/some-service"
ISSUER = "https://ehr.example.org"
AUDIENCE = "https://ertplan.example.org/cds-services/ertplan-order-sign"
NOW = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)


def test_the_specifications_example_jwt_is_accepted_without_sub_and_with_its_long_lifetime(
        ) -> None:
    # the example's payload has no sub and holds from 2011 to 2015; its jku is not on the
    # allow-list, so the key set given out-of-band (the example's own) verifies it
    clients = load_clients({EXAMPLE_ISSUER: str(FIXTURES / "cds-hooks-2.0.1-example-jwks.json")})
    example = (FIXTURES / "cds-hooks-2.0.1-example-jwt.txt").read_text().strip()
    inside_its_lifetime = datetime(2012, 6, 1, tzinfo=UTC)
    assert verify_client(f"Bearer {example}", audience=EXAMPLE_AUDIENCE, clients=clients,
                         now=inside_its_lifetime) == EXAMPLE_ISSUER
    with pytest.raises(NotAuthenticated, match="replay"):
        verify_client(f"Bearer {example}", audience=EXAMPLE_AUDIENCE, clients=clients,
                      now=inside_its_lifetime)


def test_the_specifications_example_jwt_has_expired_today() -> None:
    clients = load_clients({EXAMPLE_ISSUER: str(FIXTURES / "cds-hooks-2.0.1-example-jwks.json")})
    example = (FIXTURES / "cds-hooks-2.0.1-example-jwt.txt").read_text().strip()
    with pytest.raises(NotAuthenticated, match="expired"):
        verify_client(f"Bearer {example}", audience=EXAMPLE_AUDIENCE, clients=clients, now=NOW)


class _KeyServer(BaseHTTPRequestHandler):
    """A client's JWK Set endpoints on loopback; counts the fetches of each path."""

    sets: ClassVar[dict[str, dict[str, Any]]] = {}
    fetched: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.fetched.append(self.path)
        body = self.sets.get(self.path)
        content = json.dumps(body if body is not None else {"error": "none"}).encode()
        self.send_response(200 if body is not None else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)

    def log_message(self, *_args: Any) -> None:
        pass


@pytest.fixture
def key_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _KeyServer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _KeyServer.sets.clear()
    _KeyServer.fetched.clear()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _public(key: Any, kid: str) -> dict[str, Any]:
    algorithm = RSAAlgorithm if isinstance(key, rsa.RSAPrivateKey) else ECAlgorithm
    jwk: dict[str, Any] = algorithm.to_jwk(key.public_key(), as_dict=True)
    return jwk | {"kid": kid, "use": "sig"}


def _token(key: Any, algorithm: str, kid: str, jku: str | None = None, **claims: Any) -> str:
    payload = {"iss": ISSUER, "aud": AUDIENCE, "iat": int(NOW.timestamp()),
               "exp": int(NOW.timestamp()) + 300, "jti": str(uuid.uuid4()), **claims}
    headers = {"kid": kid, "typ": "JWT", **({"jku": jku} if jku else {})}
    return jwt.encode(payload, key, algorithm=algorithm, headers=headers)


class _Clock:
    def __init__(self) -> None:
        self.seconds = 1000.0

    def __call__(self) -> float:
        return self.seconds


def test_keys_by_jku_are_fetched_once_cached_and_fetched_again_when_the_client_rotates(
        key_server: str) -> None:
    url = f"{key_server}/jwks.json"
    first, second = rsa.generate_private_key(65537, 2048), ec.generate_private_key(ec.SECP384R1())
    _KeyServer.sets["/jwks.json"] = {"keys": [_public(first, "k1")]}
    clock = _Clock()
    clients = load_clients({ISSUER: [url]}, cache_s=300, monotonic=clock)
    for _ in range(2):
        assert verify_client(f"Bearer {_token(first, 'RS384', 'k1', url)}", audience=AUDIENCE,
                             clients=clients, now=NOW) == ISSUER
    assert _KeyServer.fetched == ["/jwks.json"]  # cached
    # the client rotates: k1 is gone, k2 (a P-384 key) signs
    _KeyServer.sets["/jwks.json"] = {"keys": [_public(second, "k2")]}
    clock.seconds += REFETCH_S
    assert verify_client(f"Bearer {_token(second, 'ES384', 'k2', url)}", audience=AUDIENCE,
                         clients=clients, now=NOW) == ISSUER
    assert _KeyServer.fetched == ["/jwks.json", "/jwks.json"]
    # once the cache is stale the retired key no longer verifies
    clock.seconds += 300
    with pytest.raises(NotAuthenticated, match="no key of the issuer"):
        verify_client(f"Bearer {_token(first, 'RS384', 'k1', url)}", audience=AUDIENCE,
                      clients=clients, now=NOW)


def test_a_jku_off_the_allow_list_is_never_fetched(key_server: str) -> None:
    allowed, rogue = f"{key_server}/jwks.json", f"{key_server}/rogue.json"
    key, attacker = rsa.generate_private_key(65537, 2048), rsa.generate_private_key(65537, 2048)
    _KeyServer.sets["/jwks.json"] = {"keys": [_public(key, "k1")]}
    _KeyServer.sets["/rogue.json"] = {"keys": [_public(attacker, "k1")]}
    clients = load_clients({ISSUER: [allowed]}, monotonic=_Clock())
    with pytest.raises(NotAuthenticated, match="signature does not verify"):
        verify_client(f"Bearer {_token(attacker, 'RS256', 'k1', rogue)}", audience=AUDIENCE,
                      clients=clients, now=NOW)
    assert "/rogue.json" not in _KeyServer.fetched


def test_an_unreadable_key_url_refuses_without_saying_why_on_the_network(
        key_server: str) -> None:
    clients = load_clients({ISSUER: [f"{key_server}/missing.json"]}, monotonic=_Clock())
    key = rsa.generate_private_key(65537, 2048)
    with pytest.raises(NotAuthenticated) as refused:
        verify_client(f"Bearer {_token(key, 'RS384', 'k1')}", audience=AUDIENCE,
                      clients=clients, now=NOW)
    assert str(refused.value) == "the CDS client's JWK Set could not be read"


@pytest.mark.parametrize(("algorithm", "make"), [
    ("ES256", lambda: ec.generate_private_key(ec.SECP256R1())),
    ("ES512", lambda: ec.generate_private_key(ec.SECP521R1())),
    ("PS384", lambda: rsa.generate_private_key(65537, 2048)),
    ("RS256", lambda: rsa.generate_private_key(65537, 2048)),
])
def test_other_asymmetric_algorithms_are_accepted(tmp_path: Path, algorithm: str,
                                                  make: Any) -> None:
    key = make()
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps({"keys": [_public(key, "k1")]}))
    clients = load_clients({ISSUER: str(path)})
    assert verify_client(f"Bearer {_token(key, algorithm, 'k1')}", audience=AUDIENCE,
                         clients=clients, now=NOW) == ISSUER


def test_an_audience_list_naming_the_endpoint_is_accepted(tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP384R1())
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps({"keys": [_public(key, "k1")]}))
    clients = load_clients({ISSUER: str(path)})
    token = _token(key, "ES384", "k1", aud=[AUDIENCE], tenant="2ddd6c3a")
    assert verify_client(f"Bearer {token}", audience=AUDIENCE, clients=clients,
                         now=NOW) == ISSUER


def test_a_plain_http_key_url_away_from_loopback_is_refused_at_start() -> None:
    from ertplan.core.errors import InputError

    with pytest.raises(InputError, match="must be https"):
        load_clients({ISSUER: ["http://ehr.example.org/jwks.json"]})
