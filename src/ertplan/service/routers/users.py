"""``/users``: the admin manages who signs in and with which role; anyone reads themselves."""

from __future__ import annotations

from fastapi import APIRouter, status

from ertplan.service.deps import Admin, CurrentUser, NowDep, SessionDep
from ertplan.service.routers.common import RESPONSES, Limit, Offset, RecordId, refuse_nulls
from ertplan.service.schemas import UserCreate, UserPublic, UserUpdate
from ertplan.service.security import hash_password
from ertplan.store import repositories as repo
from ertplan.store.models import User

router = APIRouter(prefix="/users", tags=["users"], responses=RESPONSES)


@router.post("", status_code=status.HTTP_201_CREATED)
def create_user(body: UserCreate, admin: Admin, session: SessionDep, now: NowDep) -> UserPublic:
    """Create a user with a role (admin only); the password is stored as an argon2 hash."""
    user = repo.add_user(session, actor=admin, username=body.username, role=body.role,
                         password_hash=hash_password(body.password), now=now)
    session.commit()
    return UserPublic.model_validate(user)


@router.get("/me")
def read_me(user: CurrentUser) -> UserPublic:
    """The signed-in user."""
    return UserPublic.model_validate(user)


@router.get("")
def list_users(_admin: Admin, session: SessionDep, limit: Limit = 100,
               offset: Offset = 0) -> list[UserPublic]:
    """Every user (admin only)."""
    users = repo.list_records(session, model=User, limit=limit, offset=offset)
    return [UserPublic.model_validate(user) for user in users]


@router.get("/{user_id}")
def read_user(user_id: RecordId, _admin: Admin, session: SessionDep) -> UserPublic:
    """One user (admin only)."""
    return UserPublic.model_validate(repo.get_record(session, model=User, record_id=user_id))


@router.patch("/{user_id}")
def update_user(user_id: RecordId, body: UserUpdate, admin: Admin, session: SessionDep,
                now: NowDep) -> UserPublic:
    """Change a user's role or deactivate them (admin only)."""
    changes = refuse_nulls(body.changes(), ("role", "active"))
    user = repo.update_record(session, actor=admin, model=User, record_id=user_id,
                              version=body.version, changes=changes, now=now)
    session.commit()
    return UserPublic.model_validate(user)
