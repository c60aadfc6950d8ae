"""Dependencies of the routes: the database session, the clock, the signed-in user and roles."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Annotated

from fastapi import Depends, HTTPException, Path, Query, Request, status
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.orm import Session

from ertplan.service.planning import Planner
from ertplan.service.schemas import DATABASE_INT_MAX
from ertplan.store import repositories as repo
from ertplan.store.models import User

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/auth/token")


def get_session(request: Request) -> Iterator[Session]:
    """A session for one request; a route commits its change, anything else is rolled back."""
    with request.app.state.sessions() as session:
        yield session


# the two below are async only because they never wait: FastAPI runs a plain def dependency in
# its thread pool, a thread hop per request that costs more than reading the clock


async def get_now(request: Request) -> datetime:
    """The current time from the application's clock (tests pass a fixed one)."""
    now: datetime = request.app.state.clock()
    return now


async def get_planner(request: Request) -> Planner:
    """The application's planner (monographs loaded once)."""
    planner: Planner = request.app.state.planner
    return planner


SessionDep = Annotated[Session, Depends(get_session)]
NowDep = Annotated[datetime, Depends(get_now)]
PlannerDep = Annotated[Planner, Depends(get_planner)]
RecordId = Annotated[int, Path(ge=1, le=DATABASE_INT_MAX, description="the record's id")]
Limit = Annotated[int, Query(ge=1, le=500, description="at most this many records")]
Offset = Annotated[int, Query(ge=0, le=DATABASE_INT_MAX, description="skip this many first")]


def current_user(session: SessionDep, token: Annotated[str, Depends(oauth2_scheme)],
                 now: NowDep) -> User:
    """The active user whose bearer token this is, or 401."""
    from ertplan.service.security import token_digest

    user = repo.user_for_token(session, token_sha256=token_digest(token), now=now)
    if user is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "not signed in, or the token expired",
                            headers={"WWW-Authenticate": "Bearer"})
    return user


CurrentUser = Annotated[User, Depends(current_user)]


def role_problem(user: User, allowed: tuple[str, ...]) -> str | None:
    """Why `user` may not do what needs one of the `allowed` roles, or None if they may."""
    if user.role in allowed:
        return None
    return f"the {user.role} role cannot do this (needs: {', '.join(allowed)})"


def role(*allowed: str) -> Callable[[User], User]:
    """A dependency that lets through only users with one of the `allowed` roles (else 403)."""

    def check(user: CurrentUser) -> User:
        problem = role_problem(user, allowed)
        if problem is not None:
            raise HTTPException(status.HTTP_403_FORBIDDEN, problem)
        return user

    return check


Physician = Annotated[User, Depends(role("physician"))]
Pharmacist = Annotated[User, Depends(role("pharmacist"))]
Nurse = Annotated[User, Depends(role("nurse"))]
Admin = Annotated[User, Depends(role("admin"))]
# weights and lab results are entered by whoever measured them at the bedside or in clinic
Clinician = Annotated[User, Depends(role("physician", "nurse", "pharmacist"))]
