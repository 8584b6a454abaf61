"""Accounts: what a manager may do to users, and what a salesperson may not."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select

from lib.auth import SecurityEventKind, authenticate, hash_password
from lib.config import Settings
from lib.db import reading, transaction
from lib.errors import AuthenticationFailed, InvalidInput, InvalidState, NotAllowed
from lib.models import Role, SecurityEvent, User
from lib.users import (
    UserAccount,
    add_user,
    create_user,
    get_viewer,
    list_accounts,
    reset_password,
    set_active,
)
from lib.views import Viewer

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
SETTINGS = Settings()


@pytest.fixture
def manager(engine: Engine) -> Viewer:
    made = create_user(
        engine, username="gerente", full_name="Marta Sánchez", role=Role.MANAGER
    )
    return Viewer(user_id=made.id, role=Role.MANAGER)


@pytest.fixture
def seller(engine: Engine, salesperson) -> Viewer:
    return Viewer(user_id=salesperson.id, role=Role.SALES)


def count_users(engine: Engine) -> int:
    with reading(engine) as session:
        return session.scalar(select(func.count(User.id)))


def last_event(engine: Engine) -> tuple[str, int | None, str]:
    with reading(engine) as session:
        event = session.scalars(
            select(SecurityEvent).order_by(SecurityEvent.id.desc())
        ).first()
        return event.event, event.user_id, event.detail


def test_manager_creates_a_user_with_a_one_time_password(
    engine: Engine, manager
) -> None:
    issued = add_user(
        engine,
        viewer=manager,
        username=" Jordi ",
        full_name="Jordi Puig Martí",
        role=Role.SALES,
        email="jordi@concesionario.example",
        phone="910 000 002",
    )

    assert (issued.username, issued.role) == ("jordi", Role.SALES)
    (account,) = [
        a for a in list_accounts(engine, viewer=manager) if a.username == "jordi"
    ]
    assert account.must_change_password is True
    assert account.phone == "+34910000002"
    viewer = authenticate(engine, "jordi", issued.password, now=NOW, settings=SETTINGS)
    assert viewer == Viewer(user_id=account.id, role=Role.SALES)


def test_accounts_never_carry_the_password_hash(engine: Engine, manager) -> None:
    accounts = list_accounts(engine, viewer=manager)

    assert [a.username for a in accounts] == ["gerente"]
    assert "password_hash" not in UserAccount.__dataclass_fields__


def test_salesperson_cannot_create_users_and_is_recorded(
    engine: Engine, seller
) -> None:
    before = count_users(engine)

    with pytest.raises(NotAllowed) as refused:
        add_user(
            engine,
            viewer=seller,
            username="intruso",
            full_name="Intruso",
            role=Role.MANAGER,
        )

    assert refused.value.message == "Solo un gerente puede gestionar los usuarios."
    assert count_users(engine) == before
    assert last_event(engine) == (
        SecurityEventKind.ACCESS_DENIED,
        seller.user_id,
        "create user",
    )


@pytest.mark.parametrize(
    "act",
    [
        lambda engine, viewer: list_accounts(engine, viewer=viewer),
        lambda engine, viewer: reset_password(engine, viewer.user_id, viewer=viewer),
        lambda engine, viewer: set_active(engine, viewer.user_id, False, viewer=viewer),
    ],
    ids=["list", "reset", "deactivate"],
)
def test_salesperson_cannot_manage_accounts(engine: Engine, seller, act) -> None:
    with pytest.raises(NotAllowed):
        act(engine, seller)

    assert last_event(engine)[0] == SecurityEventKind.ACCESS_DENIED


@pytest.mark.parametrize(
    ("username", "full_name", "role", "email", "message"),
    [
        ("", "Sin Usuario", Role.SALES, "", "nombre de acceso y un nombre completo"),
        ("josé", "José Pérez", Role.SALES, "", "letras sin acentos"),
        ("LUCIA", "Otra Lucía", Role.SALES, "", "Ya existe el usuario «lucia»."),
        ("lucia2", "Otra Lucía", Role.SALES, "LUCIA.FERNANDEZ@concesionario.example",
         "Ya hay un usuario con el correo"),
        ("pepe", "Pepe", "ADMIN", "", "Rol desconocido."),
        ("pepe", "Pepe", Role.SALES, "pepe@", "no es válido"),
    ],
)  # fmt: skip
def test_bad_new_user_is_refused_and_nothing_stored(
    engine: Engine, manager, salesperson, username, full_name, role, email, message
) -> None:
    before = count_users(engine)

    with pytest.raises(InvalidInput) as refused:
        add_user(
            engine,
            viewer=manager,
            username=username,
            full_name=full_name,
            role=role,
            email=email,
        )

    assert message in refused.value.message
    assert count_users(engine) == before


def test_reset_unlocks_and_replaces_the_old_password(
    engine: Engine, manager, salesperson
) -> None:
    with transaction(engine) as session:
        user = session.get(User, salesperson.id)
        user.password_hash = hash_password("la-contraseña-vieja")
        user.must_change_password = False
        user.locked_until = NOW + timedelta(minutes=10)

    issued = reset_password(engine, salesperson.id, viewer=manager)

    with pytest.raises(AuthenticationFailed):
        authenticate(engine, "lucia", "la-contraseña-vieja", now=NOW, settings=SETTINGS)
    assert authenticate(engine, "lucia", issued.password, now=NOW, settings=SETTINGS)
    assert last_event(engine)[0] == SecurityEventKind.LOGIN
    with reading(engine) as session:
        assert session.get(User, salesperson.id).must_change_password is True


def test_deactivated_user_cannot_log_in_and_reactivation_restores(
    engine: Engine, manager, salesperson
) -> None:
    issued = reset_password(engine, salesperson.id, viewer=manager)

    account = set_active(engine, salesperson.id, False, viewer=manager)

    assert account.active is False
    assert last_event(engine) == (
        SecurityEventKind.USER_DEACTIVATED,
        salesperson.id,
        f"by user {manager.user_id}",
    )
    with pytest.raises(AuthenticationFailed):
        authenticate(engine, "lucia", issued.password, now=NOW, settings=SETTINGS)
    with pytest.raises(Exception, match="No existe ese usuario"):
        get_viewer(engine, salesperson.id)

    assert set_active(engine, salesperson.id, True, viewer=manager).active is True
    assert authenticate(engine, "lucia", issued.password, now=NOW, settings=SETTINGS)


def test_manager_cannot_deactivate_themselves(engine: Engine, manager) -> None:
    with pytest.raises(InvalidState) as refused:
        set_active(engine, manager.user_id, False, viewer=manager)

    assert refused.value.message == "No puede desactivar su propia cuenta."
    with reading(engine) as session:
        assert session.get(User, manager.user_id).active is True
