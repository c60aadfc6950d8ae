"""``POST /auth/token``: sign in with the OAuth2 password form, get a bearer token."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordRequestForm

from ertplan.service.deps import NowDep, SessionDep
from ertplan.service.errors import ERROR_RESPONSES
from ertplan.service.schemas import TokenPublic
from ertplan.service.security import new_token, password_matches, token_digest
from ertplan.store import repositories as repo

router = APIRouter(prefix="/auth", tags=["auth"],
                   responses={401: ERROR_RESPONSES[401]})


@router.post("/token")
def sign_in(form: Annotated[OAuth2PasswordRequestForm, Depends()], session: SessionDep,
            now: NowDep, request: Request) -> TokenPublic:
    """Exchange a username and password for a bearer token valid for one shift."""
    user = repo.find_user(session, username=form.username)
    if user is None or not user.active or not password_matches(user.password_hash,
                                                               form.password):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong username or password",
                            headers={"WWW-Authenticate": "Bearer"})
    token = new_token()
    expires_at = now + timedelta(minutes=request.app.state.settings.token_minutes)
    repo.add_token(session, user=user, token_sha256=token_digest(token), now=now,
                   expires_at=expires_at)
    session.commit()
    return TokenPublic(access_token=token, expires_at=expires_at)
