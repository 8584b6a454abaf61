"""Users: salespeople (comercial) and sales managers (gerente), and their accounts.

Only a manager lists, creates, resets or deactivates accounts; each of those
acts is stored as a ``SecurityEvent``. A new account and a reset one get a
one-time password that the manager sees once and the user must change.
"""

import logging
import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, func, select

from lib.auth import (
    IssuedPassword,
    SecurityEventKind,
    issue_password,
    one_time_credentials,
    record_event,
    require_manager,
)
from lib.customers import normalise_email, normalise_phone
from lib.db import reading, transaction
from lib.errors import InvalidInput, InvalidState, NotFound
from lib.models import Role, User
from lib.views import SalespersonView, Viewer

logger = logging.getLogger(__name__)

USERNAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9._-]{1,79}")


@dataclass(frozen=True)
class UserAccount:
    """A user as the Usuarios page shows it; never the password hash."""

    id: int
    username: str
    full_name: str
    role: str
    email: str
    phone: str
    active: bool
    must_change_password: bool
    last_login_at: datetime | None
    locked_until: datetime | None

    @property
    def role_label(self) -> str:
        return Role.LABELS.get(self.role, self.role)


def _view(user: User) -> SalespersonView:
    return SalespersonView(
        id=user.id, full_name=user.full_name, email=user.email, phone=user.phone
    )


def _account(user: User) -> UserAccount:
    return UserAccount(
        id=user.id,
        username=user.username,
        full_name=user.full_name,
        role=user.role,
        email=user.email,
        phone=user.phone,
        active=user.active,
        must_change_password=user.must_change_password,
        last_login_at=user.last_login_at,
        locked_until=user.locked_until,
    )


def _checked_user(
    *, username: str, full_name: str, role: str, email: str, phone: str
) -> User:
    if role not in Role.LABELS:
        raise InvalidInput("Rol desconocido.")
    username = username.strip().lower()
    if not username or not full_name.strip():
        raise InvalidInput(
            "El usuario necesita un nombre de acceso y un nombre completo."
        )
    if not USERNAME_PATTERN.fullmatch(username):
        raise InvalidInput(
            f"El nombre de acceso «{username}» solo puede tener letras sin acentos, "
            "números, punto, guion y guion bajo, y al menos dos caracteres."
        )
    return User(
        username=username,
        full_name=full_name.strip(),
        role=role,
        email=normalise_email(email) or "",
        phone=normalise_phone(phone) or "",
    )


def _refuse_duplicate(session: object, user: User) -> None:
    taken = select(User.id).where(func.lower(User.username) == user.username)
    if session.scalar(taken):
        raise InvalidInput(f"Ya existe el usuario «{user.username}».")
    if user.email:
        same_email = select(User.id).where(func.lower(User.email) == user.email.lower())
        if session.scalar(same_email):
            raise InvalidInput(f"Ya hay un usuario con el correo {user.email}.")


def create_user(
    engine: Engine,
    *,
    username: str,
    full_name: str,
    role: str = Role.SALES,
    email: str = "",
    phone: str = "",
) -> SalespersonView:
    """Store a new user without a password (they cannot log in yet)."""
    user = _checked_user(
        username=username, full_name=full_name, role=role, email=email, phone=phone
    )
    with transaction(engine) as session:
        _refuse_duplicate(session, user)
        session.add(user)
        session.flush()
        logger.info("User %s created with role %s", user.id, role)
        return _view(user)


def _require_manager(engine: Engine, viewer: Viewer, what: str) -> None:
    require_manager(
        engine, viewer, what, "Solo un gerente puede gestionar los usuarios."
    )


def add_user(
    engine: Engine,
    *,
    viewer: Viewer,
    username: str,
    full_name: str,
    role: str,
    email: str = "",
    phone: str = "",
) -> IssuedPassword:
    """A manager creates an account; its one-time password, to be shown once."""
    _require_manager(engine, viewer, "create user")
    user = _checked_user(
        username=username, full_name=full_name, role=role, email=email, phone=phone
    )
    credentials = one_time_credentials()

    with transaction(engine) as session:
        _refuse_duplicate(session, user)
        session.add(user)
        session.flush()
        record_event(
            session,
            SecurityEventKind.USER_CREATED,
            user_id=user.id,
            username=user.username,
            detail=f"role {role} by user {viewer.user_id}",
        )
        issued = issue_password(session, user, credentials, by=f"user {viewer.user_id}")
    logger.info("User %s created with role %s by %s", username, role, viewer.user_id)
    return issued


def reset_password(engine: Engine, user_id: int, *, viewer: Viewer) -> IssuedPassword:
    """A manager gives a user a new one-time password, to be shown once."""
    _require_manager(engine, viewer, f"reset password of user {user_id}")
    credentials = one_time_credentials()
    with transaction(engine) as session:
        user = session.get(User, user_id, with_for_update=True)
        if user is None:
            raise NotFound("No existe ese usuario.")
        return issue_password(session, user, credentials, by=f"user {viewer.user_id}")


def set_active(
    engine: Engine, user_id: int, active: bool, *, viewer: Viewer
) -> UserAccount:
    """A manager deactivates (or reactivates) an account; never their own."""
    act = "reactivate" if active else "deactivate"
    _require_manager(engine, viewer, f"{act} user {user_id}")
    if user_id == viewer.user_id and not active:
        raise InvalidState("No puede desactivar su propia cuenta.")

    with transaction(engine) as session:
        user = session.get(User, user_id, with_for_update=True)
        if user is None:
            raise NotFound("No existe ese usuario.")
        if user.active != active:
            user.active = active
            record_event(
                session,
                SecurityEventKind.USER_REACTIVATED
                if active
                else SecurityEventKind.USER_DEACTIVATED,
                user_id=user.id,
                username=user.username,
                detail=f"by user {viewer.user_id}",
            )
        return _account(user)


def set_email(engine: Engine, username: str, email: str) -> UserAccount:
    """Give a user an email address, from the server's console.

    With OpenID Connect that address links the user's first login; it is how
    the first start's ``gerente`` gets one.
    """
    normalised = normalise_email(email)
    if normalised is None:
        raise InvalidInput("Indique un correo electrónico.")
    with transaction(engine) as session:
        statement = select(User).where(
            func.lower(User.username) == username.strip().lower()
        )
        user = session.scalar(statement.with_for_update())
        if user is None:
            raise NotFound(f"No existe el usuario «{username.strip()}».")
        same_email = select(User.id).where(
            func.lower(User.email) == normalised.lower(), User.id != user.id
        )
        if session.scalar(same_email):
            raise InvalidInput(f"Ya hay un usuario con el correo {normalised}.")
        user.email = normalised
        record_event(
            session,
            SecurityEventKind.USER_EMAIL_SET,
            user_id=user.id,
            username=user.username,
            detail="by console",
        )
        return _account(user)


def list_accounts(engine: Engine, *, viewer: Viewer) -> list[UserAccount]:
    """Every account, active ones first, by name; managers only."""
    _require_manager(engine, viewer, "list users")
    statement = select(User).order_by(User.active.desc(), User.full_name)
    with reading(engine) as session:
        return [_account(user) for user in session.scalars(statement)]


def get_account(engine: Engine, user_id: int) -> UserAccount:
    """One account by id."""
    with reading(engine) as session:
        user = session.get(User, user_id)
        if user is None:
            raise NotFound("No existe ese usuario.")
        return _account(user)


def list_salespeople(engine: Engine) -> list[SalespersonView]:
    """Every active user, by name."""
    statement = select(User).where(User.active).order_by(User.full_name)
    with reading(engine) as session:
        return [_view(user) for user in session.scalars(statement)]


def get_user(engine: Engine, user_id: int) -> SalespersonView:
    """One user by id."""
    with reading(engine) as session:
        user = session.get(User, user_id)
        if user is None:
            raise NotFound("No existe ese usuario.")
        return _view(user)


def get_viewer(engine: Engine, user_id: int) -> Viewer:
    """The viewer for an active user: their id and role."""
    with reading(engine) as session:
        user = session.get(User, user_id)
        if user is None or not user.active:
            raise NotFound("No existe ese usuario.")
        return Viewer(user_id=user.id, role=user.role)
