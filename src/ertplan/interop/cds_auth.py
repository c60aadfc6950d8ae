"""CDS Hooks 2.0 §Trusting CDS Clients: the JWT a CDS client sends as ``Authorization: Bearer``.

The client signs a JWT with its private key (RS384 or ES384) whose claims say who it is (``iss``,
``sub``), which endpoint it calls (``aud``), when it was made and until when it holds (``iat``,
``exp``, at most 5 minutes) and a nonce (``jti``). ertplan trusts only the issuers configured in
``ERTPLAN_CDS_CLIENTS``, each with a JWK Set read from a local file at start-up: a ``jku`` header
is never followed (no network fetch). A ``jti`` already seen is refused until its token expires:
the seen nonces live in this process's memory, so a restart forgets them (their tokens then expire
within the 5 minutes anyway) and several worker processes each keep their own.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import jwt

from ertplan.core.errors import InputError
from ertplan.service.errors import NotAuthenticated

ALGORITHMS = ("RS384", "ES384")  # §Trusting CDS Clients: the algorithms a client MUST support
MAX_LIFETIME_S = 5 * 60  # §Trusting CDS Clients: exp "no more than 5 minutes in the future"
LEEWAY_S = 30  # clock skew between the client and ertplan (a house setting)
MAX_ISSUER_CHARS = 100  # the audit log's author "CDS client <issuer>" fits its column
REQUIRED_CLAIMS = ["iss", "sub", "aud", "exp", "iat", "jti"]


@dataclass(frozen=True)
class ClientKey:
    """One public key of a trusted client, with the one algorithm it verifies."""

    algorithm: str
    key_id: str | None
    key: jwt.PyJWK


@dataclass
class TrustedClients:
    """The configured clients' keys by issuer, and the nonces seen while their tokens hold."""

    keys: Mapping[str, list[ClientKey]]
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


def load_clients(setting: Mapping[str, str]) -> TrustedClients:
    """The trusted clients of ``ERTPLAN_CDS_CLIENTS`` (issuer -> JWK Set file); a missing or
    malformed file, or one without an RSA or P-384 key, is an InputError at start-up."""
    keys: dict[str, list[ClientKey]] = {}
    for issuer, path in setting.items():
        if not issuer or len(issuer) > MAX_ISSUER_CHARS:
            raise InputError("cds-clients", f"an issuer has 1 to {MAX_ISSUER_CHARS} characters",
                             issuer)
        try:
            key_set = json.loads(Path(path).read_text())
            usable = [ClientKey(algorithm=algorithm, key_id=raw.get("kid"),
                                key=jwt.PyJWK(raw, algorithm=algorithm))
                      for raw in key_set["keys"]
                      if (algorithm := _algorithm_of(raw)) is not None]
        except (OSError, ValueError, KeyError, TypeError, AttributeError,
                jwt.PyJWTError) as error:
            raise InputError("cds-clients", f"cannot read the JWK Set of {issuer} "
                             f"({' '.join(str(error).split())[:200]})", path) from None
        if not usable:
            raise InputError("cds-clients", f"the JWK Set of {issuer} has no RSA or P-384 key "
                             "for RS384/ES384", path)
        keys[issuer] = usable
    return TrustedClients(keys=keys)


def _algorithm_of(raw: Mapping[str, Any]) -> str | None:
    """The allowed algorithm a JWK verifies (its ``alg`` must agree if it names one), else None."""
    if raw.get("kty") == "RSA":
        kind = "RS384"
    elif raw.get("kty") == "EC" and raw.get("crv") == "P-384":
        kind = "ES384"
    else:
        return None
    return kind if raw.get("alg") in (None, kind) else None


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
                               f"(only {', '.join(ALGORITHMS)})")
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
    if expires - moment > MAX_LIFETIME_S + LEEWAY_S:
        raise NotAuthenticated("the JWT expires more than 5 minutes from now")
    if not isinstance(claims["jti"], str) or not claims["jti"]:
        raise NotAuthenticated("JWT jti must be a non-empty string")
    if not clients.first_use(issuer, claims["jti"], float(expires), moment):
        raise NotAuthenticated("the JWT's jti was used already (a replay)")
    return issuer


def _verified_claims(token: str, header: Mapping[str, Any], algorithm: str,
                     key_set: list[ClientKey], audience: str) -> dict[str, Any]:
    """The claims once the signature verifies with one of the issuer's keys for `algorithm`
    (the one named by ``kid`` if the header names one) and ``aud`` is `audience`."""
    candidates = [known.key for known in key_set if known.algorithm == algorithm
                  and (header.get("kid") is None or known.key_id == header.get("kid"))]
    if not candidates:
        raise NotAuthenticated("no key of the issuer verifies this JWT (kid or algorithm)")
    for key in candidates:
        try:
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
