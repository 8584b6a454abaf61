"""Users: salespeople and sales managers."""

import logging

from sqlalchemy import Engine, select

from lib.db import reading, transaction
from lib.errors import InvalidInput, NotFound
from lib.models import Role, User
from lib.views import SalespersonView, Viewer

logger = logging.getLogger(__name__)


def _view(user: User) -> SalespersonView:
    return SalespersonView(id=user.id, full_name=user.full_name, email=user.email, phone=user.phone)


def create_user(
    engine: Engine,
    *,
    username: str,
    full_name: str,
    role: str = Role.SALES,
    email: str = "",
    phone: str = "",
) -> SalespersonView:
    """Store a new user and return it."""
    if role not in Role.LABELS:
        raise InvalidInput("Rol desconocido.")
    if not username.strip() or not full_name.strip():
        raise InvalidInput("El usuario necesita un nombre de acceso y un nombre completo.")

    with transaction(engine) as session:
        if session.scalar(select(User.id).where(User.username == username.strip())):
            raise InvalidInput(f"Ya existe el usuario «{username}».")
        user = User(
            username=username.strip(),
            full_name=full_name.strip(),
            role=role,
            email=email.strip(),
            phone=phone.strip(),
        )
        session.add(user)
        session.flush()
        logger.info("User %s created with role %s", user.id, role)
        return _view(user)


def list_salespeople(engine: Engine) -> list[SalespersonView]:
    """Every active user, by name."""
    with reading(engine) as session:
        users = session.scalars(select(User).where(User.active).order_by(User.full_name))
        return [_view(user) for user in users]


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
