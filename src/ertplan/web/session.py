"""Signing in to the pages: the API's bearer token, kept in an HttpOnly, SameSite=Strict cookie.

A page sign-in issues the same kind of token as ``POST /auth/token`` (random, stored only as its
SHA-256, valid for one shift); the browser keeps it in a cookie that scripts cannot read and that
other sites' pages cannot send (SameSite=Strict, which is also what keeps forms safe from
cross-site posts). Signing out expires the token in the records.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated
from urllib.parse import quote, urlsplit

from fastapi import Depends, Request
from fastapi.responses import Response

from ertplan.service.deps import NowDep, SessionDep, role_problem
from ertplan.service.security import new_token, password_matches, token_digest
from ertplan.store import repositories as repo
from ertplan.store.models import User

COOKIE = "ertplan_session"
SIGN_IN_PATH = "/ui/sign-in"


class SignInRequired(Exception):
    """No valid session cookie: the page answers with a redirect to the sign-in page."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class PageForbidden(Exception):
    """The signed-in user's role may not do this; the message says which roles may."""


def sign_in_location(next_path: str) -> str:
    """The sign-in page that returns to `next_path` (a local path only) afterwards."""
    return f"{SIGN_IN_PATH}?next={quote(safe_next(next_path), safe='/')}"


def safe_next(next_path: str | None) -> str:
    """`next_path` if it is a path of the pages, else the patient list (never another site)."""
    if next_path and next_path.startswith("/ui/") and not next_path.startswith("//"):
        return next_path
    return "/ui/patients"


def page_user(request: Request, session: SessionDep, now: NowDep) -> User:
    """The active user of the session cookie, or :class:`SignInRequired`."""
    token = request.cookies.get(COOKIE)
    user = None if not token else repo.user_for_token(session, token_sha256=token_digest(token),
                                                      now=now)
    if user is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if request.method != "GET":  # after signing in, go back to the page, not the post
            shown = urlsplit(request.headers.get("HX-Current-URL") or "/ui/patients")
            target = shown.path + (f"?{shown.query}" if shown.query else "")
        raise SignInRequired(target)
    return user


PageUser = Annotated[User, Depends(page_user)]


def require_role(user: User, *allowed: str) -> None:
    """Let only `allowed` roles through (as the REST routes do), else :class:`PageForbidden`."""
    problem = role_problem(user, allowed)
    if problem is not None:
        raise PageForbidden(problem)


def authenticate(session: SessionDep, *, username: str, password: str) -> User | None:
    """The active user with this username and password, or None."""
    user = repo.find_user(session, username=username)
    if user is None or not user.active or not password_matches(user.password_hash, password):
        return None
    return user


def start_session(response: Response, request: Request, session: SessionDep, *, user: User,
                  now: datetime) -> None:
    """Issue a token for `user` and set it as the session cookie of `response`."""
    token = new_token()
    minutes = request.app.state.settings.token_minutes
    repo.add_token(session, user=user, token_sha256=token_digest(token), now=now,
                   expires_at=now + timedelta(minutes=minutes))
    session.commit()
    response.set_cookie(COOKIE, token, max_age=minutes * 60, path="/", httponly=True,
                        samesite="strict", secure=request.url.scheme == "https")


def end_session(response: Response, request: Request, session: SessionDep, *,
                now: datetime) -> None:
    """Expire the cookie's token in the records and clear the cookie."""
    token = request.cookies.get(COOKIE)
    if token:
        repo.expire_token(session, token_sha256=token_digest(token), now=now)
        session.commit()
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict",
                           secure=request.url.scheme == "https")
