"""CDS Hooks 2.0.1 §Trusting CDS Clients: the JWT a CDS client sends as ``Authorization: Bearer``.

The client signs a JWT with its private key; the payload names the issuer (``iss``), the endpoint
called (``aud``, a string or a list), when it was made and until when it holds (``iat``, ``exp``)
and a nonce (``jti``); the specification requires nothing more (no ``sub``, no cap on the
lifetime). ertplan trusts only the issuers configured in ``ERTPLAN_CDS_CLIENTS`` (the allow-list of
``iss``), each with its JWK Set given out-of-band as a local file, or by https URL: those URLs are
the issuer's allow-list of ``jku``. A JWT whose ``jku`` is on that list is verified with the keys
found there (fetched, cached for ``ERTPLAN_CDS_JWKS_CACHE_S`` seconds, fetched again at once,
though not more than every :data:`REFETCH_S` seconds, when a ``kid`` is not among them: the
client's keys can rotate); any other ``jku`` is never followed, and the issuer's configured keys
are used instead. Any asymmetric algorithm whose key type fits is accepted (the specification
recommends ES384 and RS384); ``none`` and the symmetric HS* are refused (§JWT Signing Algorithm).
A ``jti`` already seen is refused while its token holds: the seen nonces live in this process's
memory, so a restart forgets them and several worker processes each keep their own.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import jwt

from ertplan.core.errors import InputError
from ertplan.interop.fetch import Unreachable, get_json, is_web_url
from ertplan.service.errors import NotAuthenticated

# §JWT Signing Algorithm: never `none`, never symmetric; the asymmetric algorithms of RFC 7518
RSA_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512")
EC_CURVES = {"ES256": "P-256", "ES384": "P-384", "ES512": "P-521"}
ALGORITHMS = (*RSA_ALGORITHMS, *EC_CURVES)
LEEWAY_S = 30  # clock skew between the client and ertplan (a house setting)
REFETCH_S = 10.0  # an unknown kid fetches a URL's key set again at most this often
MAX_ISSUER_CHARS = 100  # the audit log's author "CDS client <issuer>" fits its column
REQUIRED_CLAIMS = ["iss", "aud", "exp", "iat", "jti"]  # §Trusting CDS Clients, the payload


def _usable(raw: object) -> bool:
    """Whether a JWK is a public signing key of a type an accepted algorithm verifies."""
    if not isinstance(raw, Mapping) or raw.get("use", "sig") != "sig":
        return False
    return raw.get("kty") == "RSA" or (raw.get("kty") == "EC"
                                       and raw.get("crv") in EC_CURVES.values())


def _fits(raw: Mapping[str, Any], algorithm: str) -> bool:
    """Whether the JWK `raw` verifies `algorithm` (its own ``alg``, if it names one, agrees)."""
    if raw.get("alg") not in (None, algorithm):
        return False
    if algorithm in RSA_ALGORITHMS:
        return raw.get("kty") == "RSA"
    return raw.get("kty") == "EC" and raw.get("crv") == EC_CURVES.get(algorithm)


def _keys_of(document: object, where: str) -> list[Mapping[str, Any]]:
    keys = document.get("keys") if isinstance(document, Mapping) else None
    if not isinstance(keys, list):
        raise ValueError(f"{where} is not a JWK Set (no keys list)")
    return [raw for raw in keys if _usable(raw)]


@dataclass
class RemoteKeySet:
    """A client's JWK Set at an https URL: fetched when first needed, cached, fetched again."""

    url: str
    lifetime_s: float
    timeout_s: float
    monotonic: Callable[[], float] = time.monotonic
    _keys: list[Mapping[str, Any]] = field(default_factory=list)
    _fetched_at: float | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def keys(self, *, missing_kid: str | None = None) -> list[Mapping[str, Any]]:
        """The cached keys; fetched again once stale, or when `missing_kid` is not among them."""
        with self._lock:
            now = self.monotonic()
            stale = self._fetched_at is None or now - self._fetched_at >= self.lifetime_s
            rotated = (missing_kid is not None and self._fetched_at is not None
                       and now - self._fetched_at >= REFETCH_S
                       and all(raw.get("kid") != missing_kid for raw in self._keys))
            if stale or rotated:
                try:
                    self._keys = _keys_of(get_json(
                        self.url, what="a CDS client's JWK Set", timeout_s=self.timeout_s),
                        self.url)
                    self._fetched_at = now
                except (Unreachable, ValueError):
                    if self._fetched_at is None:
                        raise NotAuthenticated("the CDS client's JWK Set could not be read"
                                               ) from None
                    # keep the last good keys a while rather than refuse every client call
            return list(self._keys)


@dataclass
class ClientKeys:
    """One trusted issuer's keys: those given as files, and the URLs its ``jku`` may name."""

    files: list[Mapping[str, Any]]
    urls: dict[str, RemoteKeySet]


@dataclass
class TrustedClients:
    """The configured clients by issuer, and the nonces seen while their tokens hold."""

    keys: Mapping[str, ClientKeys]
    _seen: dict[tuple[str, str], float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def configured(self) -> bool:
        """Whether any client is trusted (none: nothing can prove who it is)."""
        return bool(self.keys)

    def first_use(self, issuer: str, jti: str, expires: float, now: float) -> bool:
        """Record the nonce `jti` of `issuer` until `expires`; False if it was seen already."""
        with self._lock:
            for seen, until in list(self._seen.items()):
                if until + LEEWAY_S < now:  # expired tokens are refused anyway: forget them
                    del self._seen[seen]
            if (issuer, jti) in self._seen:
                return False
            self._seen[(issuer, jti)] = expires
            return True


def load_clients(setting: Mapping[str, str | Sequence[str]], *, cache_s: float = 300.0,
                 timeout_s: float = 5.0,
                 monotonic: Callable[[], float] = time.monotonic) -> TrustedClients:
    """The trusted clients of ``ERTPLAN_CDS_CLIENTS``: issuer -> one or more JWK Set sources,
    each a local file (read now: a missing or malformed file, or one without a usable key, is an
    InputError at start-up) or an https URL (read when first needed)."""
    clients: dict[str, ClientKeys] = {}
    for issuer, sources in setting.items():
        if not issuer or len(issuer) > MAX_ISSUER_CHARS:
            raise InputError("cds-clients", f"an issuer has 1 to {MAX_ISSUER_CHARS} characters",
                             issuer)
        listed = [sources] if isinstance(sources, str) else list(sources)
        if not listed:
            raise InputError("cds-clients", f"{issuer}: give a JWK Set file or URL")
        keys = ClientKeys(files=[], urls={})
        for source in listed:
            if source.startswith(("https://", "http://")):
                if not is_web_url(source):
                    raise InputError("cds-clients", f"{issuer}: a JWK Set URL must be https",
                                     source)
                keys.urls[source] = RemoteKeySet(source, lifetime_s=cache_s,
                                                 timeout_s=timeout_s, monotonic=monotonic)
                continue
            try:
                usable = _keys_of(json.loads(Path(source).read_text()), source)
                for raw in usable:  # the key material itself must load
                    jwt.PyJWK(dict(raw))
            except (OSError, ValueError, TypeError, jwt.PyJWTError) as error:
                raise InputError("cds-clients", f"cannot read the JWK Set of {issuer} "
                                 f"({' '.join(str(error).split())[:200]})", source) from None
            if not usable:
                raise InputError("cds-clients", f"the JWK Set of {issuer} has no RSA or EC "
                                 "(P-256, P-384, P-521) signing key", source)
            keys.files.extend(usable)
        clients[issuer] = keys
    return TrustedClients(keys=clients)


def verify_client(authorization: str | None, *, audience: str, clients: TrustedClients,
                  now: datetime) -> str:
    """The verified issuer of the client JWT in `authorization` (the header), or NotAuthenticated
    naming the first thing wrong: signature, algorithm, issuer, audience, times, or a replay."""
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise NotAuthenticated("a CDS client must send its JWT as Authorization: Bearer")
    try:
        header = jwt.get_unverified_header(token)
        unverified = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise NotAuthenticated("the bearer token is not a JWT") from None
    algorithm = header.get("alg")
    if algorithm not in ALGORITHMS:
        raise NotAuthenticated(f"JWT algorithm {str(algorithm)[:20]!r} is not accepted "
                               "(an asymmetric one: RS*, PS* or ES*)")
    issuer = unverified.get("iss")
    if not isinstance(issuer, str) or issuer not in clients.keys:
        raise NotAuthenticated(f"JWT issuer {str(issuer)[:100]!r} is not a trusted CDS client")
    claims = _verified_claims(token, header, algorithm, clients.keys[issuer], audience)
    moment = now.timestamp()
    expires, issued = claims["exp"], claims["iat"]
    if not all(isinstance(value, int | float) and not isinstance(value, bool)
               and math.isfinite(value) for value in (expires, issued)):
        raise NotAuthenticated("JWT exp and iat must be numbers of seconds")
    if expires + LEEWAY_S < moment:
        raise NotAuthenticated("the JWT has expired")
    if issued - LEEWAY_S > moment:
        raise NotAuthenticated("the JWT is issued in the future")
    if not isinstance(claims["jti"], str) or not claims["jti"]:
        raise NotAuthenticated("JWT jti must be a non-empty string")
    if not clients.first_use(issuer, claims["jti"], float(expires), moment):
        raise NotAuthenticated("the JWT's jti was used already (a replay)")
    return issuer


def _candidates(header: Mapping[str, Any], algorithm: str,
                client: ClientKeys) -> list[Mapping[str, Any]]:
    """The keys that may verify the JWT: those at its ``jku`` if that URL is on the issuer's
    allow-list, else the issuer's files and URLs; narrowed to its ``kid`` when it names one."""
    kid = header.get("kid")
    jku = header.get("jku")
    remote = [client.urls[jku]] if isinstance(jku, str) and jku in client.urls else None
    sources = remote if remote is not None else list(client.urls.values())
    found = [] if remote is not None else list(client.files)
    for key_set in sources:
        found += key_set.keys()
    if kid is not None and all(raw.get("kid") != kid for raw in found):
        found = [] if remote is not None else list(client.files)
        for key_set in sources:  # the client may have rotated its keys since the last fetch
            found += key_set.keys(missing_kid=str(kid))
    return [raw for raw in found
            if _fits(raw, algorithm) and (kid is None or raw.get("kid") == kid)]


def _verified_claims(token: str, header: Mapping[str, Any], algorithm: str,
                     client: ClientKeys, audience: str) -> dict[str, Any]:
    """The claims once the signature verifies with one of the issuer's keys for `algorithm`
    and ``aud`` names `audience`."""
    candidates = _candidates(header, algorithm, client)
    if not candidates:
        raise NotAuthenticated("no key of the issuer verifies this JWT (kid or algorithm)")
    for raw in candidates:
        try:
            key = jwt.PyJWK(dict(raw), algorithm=algorithm)
            claims: dict[str, Any] = jwt.decode(
                token, key=key, algorithms=[algorithm], audience=audience,
                options={"require": REQUIRED_CLAIMS, "verify_exp": False, "verify_iat": False,
                         "verify_nbf": False})
            return claims
        except jwt.InvalidSignatureError:
            continue
        except jwt.InvalidAudienceError:
            raise NotAuthenticated(f"JWT aud is not this endpoint ({audience})") from None
        except jwt.MissingRequiredClaimError as error:
            raise NotAuthenticated(f"the JWT lacks the {error.claim} claim") from None
        except jwt.PyJWTError as error:
            raise NotAuthenticated(f"the JWT is refused: {' '.join(str(error).split())[:100]}"
                                   ) from None
    raise NotAuthenticated("the JWT's signature does not verify with the issuer's keys")
