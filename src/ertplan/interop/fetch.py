"""JSON over HTTP(S) for the hospital formats: one GET or one form POST, with the standard library.

Used for the EHR's FHIR server (CDS Hooks, SMART), a CDS client's JWK Set and a SMART
authorization server. What went wrong is logged here and raised as :class:`Unreachable`, whose
message says only which kind of thing could not be read: a network error's text (addresses, ports,
resolver messages) never reaches a card, a page or an answer.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode, urlsplit

LOG = logging.getLogger("ertplan.interop")
MAX_BYTES = 4 * 1024 * 1024  # a FHIR search page or a key set; a larger answer is refused
_LOOPBACK = ("127.0.0.1", "::1", "localhost")


class Unreachable(Exception):
    """A URL could not be read as JSON (network, HTTP status, size, or not JSON)."""

    def __init__(self, what: str, status: int | None = None) -> None:
        super().__init__(what)
        self.what = what
        self.status = status


def is_web_url(url: object) -> bool:
    """Whether `url` is an https URL, or http on this machine's loopback (tests, a local proxy).

    >>> is_web_url("https://ehr.example.org/fhir"), is_web_url("http://127.0.0.1:8080/fhir")
    (True, True)
    >>> is_web_url("http://ehr.example.org/fhir"), is_web_url("file:///etc/passwd")
    (False, False)
    """
    if not isinstance(url, str):
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    if parts.scheme == "https":
        return bool(parts.hostname)
    return parts.scheme == "http" and parts.hostname in _LOOPBACK


def get_json(url: str, *, what: str, timeout_s: float, token: str | None = None,
             accept: str = "application/json") -> Any:
    """The JSON at `url` (GET, with an optional bearer token); Unreachable naming `what`."""
    headers = {"Accept": accept}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return _exchange(url, what=what, timeout_s=timeout_s, headers=headers, body=None)


def post_form(url: str, fields: Mapping[str, str], *, what: str, timeout_s: float) -> Any:
    """The JSON answer to a form POST (``application/x-www-form-urlencoded``) to `url`."""
    headers = {"Accept": "application/json",
               "Content-Type": "application/x-www-form-urlencoded"}
    return _exchange(url, what=what, timeout_s=timeout_s, headers=headers,
                     body=urlencode(dict(fields)).encode())


def _exchange(url: str, *, what: str, timeout_s: float, headers: dict[str, str],
              body: bytes | None) -> Any:
    import http.client
    from urllib.error import HTTPError, URLError
    from urllib.request import HTTPRedirectHandler, Request, build_opener

    class NoRedirect(HTTPRedirectHandler):
        """A redirect is an error: it could lead anywhere, past the allow-lists."""

        def redirect_request(self, *_args: Any, **_kwargs: Any) -> None:
            return None

    if not is_web_url(url):
        raise Unreachable(what)
    try:
        opener = build_opener(NoRedirect)
        with opener.open(Request(url, data=body, headers=headers),
                         timeout=timeout_s) as response:
            content = response.read(MAX_BYTES + 1)
        if len(content) > MAX_BYTES:
            raise ValueError(f"answer larger than {MAX_BYTES} bytes")
        return json.loads(content)
    except HTTPError as error:
        error.close()  # its body is not read: close the connection now
        LOG.warning("%s: HTTP %s from %s", what, error.code, url)
        raise Unreachable(what, status=error.code) from None
    except (URLError, OSError, ValueError, RecursionError, http.client.HTTPException) as error:
        LOG.warning("%s: %s (%s)", what, " ".join(str(error).split())[:200], url)
        raise Unreachable(what) from None
