"""Passwords, logins, lockouts, password changes, first start, OIDC identities."""

import functools
import logging
from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine, select

from lib.auth import (
    FIRST_MANAGER_USERNAME,
    MIN_PASSWORD_LENGTH,
    WRONG_CREDENTIALS,
    SecurityEventKind,
    authenticate,
    change_password,
    first_start,
    hash_password,
    issue_one_time_password,
    needs_rehash,
    reset_password_by_username,
    verify_password,
    viewer_for_identity,
)
from lib.config import Settings
from lib.db import reading, transaction
from lib.errors import AccountLocked, AuthenticationFailed, InvalidInput
from lib.models import Role, SecurityEvent, User
from lib.views import Viewer

PASSWORD = "caballo-grapa-bateria"
NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
SETTINGS = Settings(login_max_failures=3, login_lockout_minutes=15)


def stored_user(engine: Engine, username: str) -> User:
    with reading(engine) as session:
        user = session.scalar(select(User).where(User.username == username))
        session.expunge(user)
        return user


def events(engine: Engine, kind: str | None = None) -> list[SecurityEvent]:
    statement = select(SecurityEvent).order_by(SecurityEvent.id)
    if kind is not None:
        statement = statement.where(SecurityEvent.event == kind)
    with reading(engine) as session:
        found = list(session.scalars(statement))
        session.expunge_all()
        return found


# Argon2 is slow on purpose; a test that only needs a stored password reuses one.
cached_hash = functools.cache(hash_password)


def set_password(engine: Engine, username: str, password: str, **changes) -> None:
    """Store a password the way a finished password change leaves it."""
    with transaction(engine) as session:
        user = session.scalar(select(User).where(User.username == username))
        user.password_hash = cached_hash(password)
        user.must_change_password = False
        for name, value in changes.items():
            setattr(user, name, value)


@pytest.fixture
def lucia(engine: Engine, salesperson) -> str:
    set_password(engine, "lucia", PASSWORD)
    return "lucia"


def test_hash_is_argon2id_and_never_the_password() -> None:
    stored = hash_password(PASSWORD)

    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored
    assert hash_password(PASSWORD) != stored  # salted
    assert verify_password(stored, PASSWORD) is True
    assert verify_password(stored, PASSWORD.upper()) is False
    assert verify_password("not a hash", PASSWORD) is False


def test_stored_hash_is_argon2_and_not_the_password(engine: Engine, lucia) -> None:
    stored = stored_user(engine, lucia).password_hash

    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored


def test_login_opens_a_viewer_with_the_role(engine: Engine, lucia) -> None:
    viewer = authenticate(engine, "Lucia ", PASSWORD, now=NOW, settings=SETTINGS)

    user = stored_user(engine, lucia)
    assert viewer == Viewer(user_id=user.id, role=Role.SALES)
    assert user.last_login_at == NOW
    assert [(e.event, e.user_id, e.detail) for e in events(engine)] == [
        (SecurityEventKind.LOGIN, user.id, "password")
    ]


@pytest.mark.parametrize("username", ["lucia", "nadie"])
def test_unknown_user_and_wrong_password_get_the_same_message(
    engine: Engine, lucia, username: str
) -> None:
    with pytest.raises(AuthenticationFailed) as refused:
        authenticate(engine, username, "no-es-esta", now=NOW, settings=SETTINGS)

    assert (
        refused.value.message
        == WRONG_CREDENTIALS
        == "Usuario o contraseña incorrectos."
    )
    assert [(e.event, e.username) for e in events(engine)] == [
        (SecurityEventKind.LOGIN_FAILED, username)
    ]


def test_lockout_engages_at_the_set_count(engine: Engine, lucia) -> None:
    for attempt in range(SETTINGS.login_max_failures - 1):
        with pytest.raises(AuthenticationFailed) as refused:
            authenticate(engine, lucia, "mal", now=NOW, settings=SETTINGS)
        assert not isinstance(refused.value, AccountLocked), attempt
    assert stored_user(engine, lucia).locked_until is None

    with pytest.raises(AccountLocked) as locked:
        authenticate(engine, lucia, "mal", now=NOW, settings=SETTINGS)

    # 09:00 UTC is 10:00 in Madrid; locked for 15 minutes.
    assert locked.value.message == (
        "La cuenta está bloqueada por demasiados intentos fallidos hasta las "
        "10:15 del 03/12/2026. Vuelva a intentarlo después."
    )
    assert stored_user(engine, lucia).locked_until == NOW + timedelta(minutes=15)
    assert [e.event for e in events(engine)] == [
        SecurityEventKind.LOGIN_FAILED,
        SecurityEventKind.LOGIN_FAILED,
        SecurityEventKind.LOCKOUT,
    ]


def answers(engine: Engine, username: str, times: int, at: datetime) -> list[str]:
    """The messages of ``times`` wrong passwords in a row for ``username``."""
    said = []
    for _ in range(times):
        with pytest.raises(AuthenticationFailed) as refused:
            authenticate(engine, username, "mal", now=at, settings=SETTINGS)
        said.append(refused.value.message)
    return said


def test_a_name_without_account_locks_like_an_account(engine: Engine, lucia) -> None:
    real = answers(engine, lucia, SETTINGS.login_max_failures + 1, NOW)
    unknown = answers(engine, "Nadie", SETTINGS.login_max_failures + 1, NOW)

    assert unknown == real
    assert real[-2].startswith("La cuenta está bloqueada")
    assert [e.event for e in events(engine) if e.username == "nadie"] == [
        SecurityEventKind.LOGIN_FAILED,
        SecurityEventKind.LOGIN_FAILED,
        SecurityEventKind.LOCKOUT,
        SecurityEventKind.LOGIN_WHILE_LOCKED,
    ]
    later = NOW + timedelta(minutes=SETTINGS.login_lockout_minutes, seconds=1)
    assert answers(engine, "nadie", 1, later) == [WRONG_CREDENTIALS]
    assert answers(engine, lucia, 1, later) == [WRONG_CREDENTIALS]


def test_locked_account_refuses_even_the_right_password(engine: Engine, lucia) -> None:
    set_password(engine, lucia, PASSWORD, locked_until=NOW + timedelta(minutes=15))

    with pytest.raises(AccountLocked) as locked:
        authenticate(
            engine, lucia, PASSWORD, now=NOW + timedelta(minutes=14), settings=SETTINGS
        )

    assert "bloqueada" in locked.value.message
    assert events(engine)[-1].event == SecurityEventKind.LOGIN_WHILE_LOCKED
    assert stored_user(engine, lucia).last_login_at is None


def test_right_password_works_again_after_the_wait(engine: Engine, lucia) -> None:
    for _ in range(SETTINGS.login_max_failures - 1):
        with pytest.raises(AuthenticationFailed):
            authenticate(engine, lucia, "mal", now=NOW, settings=SETTINGS)
    with pytest.raises(AccountLocked):
        authenticate(engine, lucia, "mal", now=NOW, settings=SETTINGS)

    later = NOW + timedelta(minutes=SETTINGS.login_lockout_minutes, seconds=1)
    viewer = authenticate(engine, lucia, PASSWORD, now=later, settings=SETTINGS)

    user = stored_user(engine, lucia)
    assert viewer.user_id == user.id
    assert (user.failed_logins, user.locked_until, user.last_login_at) == (
        0,
        None,
        later,
    )


def test_a_success_resets_the_count_of_failures(engine: Engine, lucia) -> None:
    for _ in range(SETTINGS.login_max_failures - 1):
        with pytest.raises(AuthenticationFailed):
            authenticate(engine, lucia, "mal", now=NOW, settings=SETTINGS)
    authenticate(engine, lucia, PASSWORD, now=NOW, settings=SETTINGS)

    with pytest.raises(AuthenticationFailed) as refused:
        authenticate(engine, lucia, "mal", now=NOW, settings=SETTINGS)

    assert not isinstance(refused.value, AccountLocked)
    assert stored_user(engine, lucia).failed_logins == 1


def test_deactivated_user_gets_the_same_message(engine: Engine, lucia) -> None:
    set_password(engine, lucia, PASSWORD, active=False)

    with pytest.raises(AuthenticationFailed) as refused:
        authenticate(engine, lucia, PASSWORD, now=NOW, settings=SETTINGS)

    assert refused.value.message == WRONG_CREDENTIALS
    assert events(engine)[-1].event == SecurityEventKind.LOGIN_FAILED


def test_user_without_password_cannot_log_in(engine: Engine, salesperson) -> None:
    with pytest.raises(AuthenticationFailed) as refused:
        authenticate(engine, "lucia", "", now=NOW, settings=SETTINGS)

    assert refused.value.message == WRONG_CREDENTIALS


def test_hash_made_with_old_parameters_is_renewed_at_login(
    engine: Engine, lucia
) -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    set_password(engine, lucia, PASSWORD, password_hash=weak)
    assert needs_rehash(weak) is True

    authenticate(engine, lucia, PASSWORD, now=NOW, settings=SETTINGS)

    renewed = stored_user(engine, lucia).password_hash
    assert renewed != weak
    assert needs_rehash(renewed) is False
    assert verify_password(renewed, PASSWORD) is True


def test_change_password_clears_must_change(engine: Engine, salesperson) -> None:
    issued = issue_one_time_password(engine, salesperson.id, by="test")
    assert stored_user(engine, "lucia").must_change_password is True

    change_password(engine, salesperson.id, issued.password, PASSWORD, now=NOW)

    user = stored_user(engine, "lucia")
    assert user.must_change_password is False
    assert verify_password(user.password_hash, PASSWORD) is True
    assert events(engine)[-1].event == SecurityEventKind.PASSWORD_CHANGED
    with pytest.raises(AuthenticationFailed):
        authenticate(engine, "lucia", issued.password, now=NOW, settings=SETTINGS)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (PASSWORD, "corta", f"al menos {MIN_PASSWORD_LENGTH} caracteres"),
        (PASSWORD, PASSWORD, "distinta de la actual"),
        (
            "no-es-la-actual",
            "otra-contraseña-larga",
            "La contraseña actual no es correcta.",
        ),
    ],
)
def test_change_password_refusals_change_nothing(
    engine: Engine, lucia, old: str, new: str, message: str
) -> None:
    before = stored_user(engine, lucia).password_hash

    with pytest.raises(InvalidInput) as refused:
        change_password(engine, stored_user(engine, lucia).id, old, new, now=NOW)

    assert message in refused.value.message
    assert stored_user(engine, lucia).password_hash == before


def test_no_password_reaches_the_log_or_the_events(
    engine: Engine, lucia, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with pytest.raises(AuthenticationFailed):
        authenticate(engine, lucia, "intento-secreto", now=NOW, settings=SETTINGS)
    authenticate(engine, lucia, PASSWORD, now=NOW, settings=SETTINGS)
    change_password(
        engine, stored_user(engine, lucia).id, PASSWORD, "nueva-secreta-123"
    )

    recorded = caplog.text + " ".join(e.detail + e.username for e in events(engine))
    assert "Security event LOGIN " in caplog.text
    for secret in ("intento-secreto", PASSWORD, "nueva-secreta-123"):
        assert secret not in recorded


def test_first_start_creates_gerente_and_prints_its_password_once(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="lib.auth")

    issued = first_start(engine, demo_data=False)
    again = first_start(engine, demo_data=False)

    assert [(i.username, i.role) for i in issued] == [
        (FIRST_MANAGER_USERNAME, Role.MANAGER)
    ]
    assert again == []
    password = issued[0].password
    assert len(password) >= 16
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert warnings[0].count(password) == 1
    assert "gerente" in warnings[0]
    manager = stored_user(engine, FIRST_MANAGER_USERNAME)
    assert manager.role == Role.MANAGER
    assert manager.must_change_password is True
    assert password not in manager.password_hash
    viewer = authenticate(engine, "gerente", password, now=NOW, settings=SETTINGS)
    assert viewer.sees_all is True


def test_first_start_with_demo_data_gives_each_salesperson_a_password(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="lib.auth")

    issued = first_start(engine, demo_data=True)

    assert [(i.username, i.role) for i in issued] == [
        ("gerente", Role.MANAGER),
        ("lucia", Role.SALES),
        ("jordi", Role.SALES),
        ("ainhoa", Role.SALES),
    ]
    assert len({i.password for i in issued}) == 4
    (notice,) = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert all(i.password in notice for i in issued)
    assert "python -m lib.cli reset-password USUARIO" in notice
    assert first_start(engine, demo_data=True) == []
    jordi = authenticate(
        engine, "jordi", issued[2].password, now=NOW, settings=SETTINGS
    )
    assert jordi.role == Role.SALES


def test_reset_by_username_unlocks_and_issues_a_one_time_password(
    engine: Engine, lucia
) -> None:
    set_password(engine, lucia, PASSWORD, locked_until=NOW + timedelta(minutes=10))

    issued = reset_password_by_username(engine, "LUCIA")

    user = stored_user(engine, lucia)
    assert (user.locked_until, user.must_change_password) == (None, True)
    assert verify_password(user.password_hash, issued.password) is True
    assert events(engine)[-1].detail == "by console"


@pytest.fixture
def linked(engine: Engine, salesperson) -> str:
    """Lucía, known by email, not yet linked to an identity."""
    return salesperson.email


def test_identity_is_linked_by_email_on_first_login(
    engine: Engine, linked: str
) -> None:
    viewer = viewer_for_identity(
        engine, subject="sub-123", email=linked.upper(), email_verified=True, now=NOW
    )

    user = stored_user(engine, "lucia")
    assert viewer == Viewer(user_id=user.id, role=Role.SALES)
    assert user.oidc_subject == "sub-123"
    assert events(engine)[-1].detail == "oidc"


def test_linked_identity_is_found_by_subject_after_an_email_change(
    engine: Engine, linked: str
) -> None:
    first = viewer_for_identity(
        engine, subject="sub-123", email=linked, email_verified=True, now=NOW
    )

    again = viewer_for_identity(engine, subject="sub-123", email="otra@correo.example")

    assert again == first


@pytest.mark.parametrize(
    "identity",
    [
        {"subject": "sub-999", "email": "desconocido@correo.example"},
        {"subject": "sub-123", "email": "lucia.fernandez@concesionario.example",
         "email_verified": False},
        {"subject": "", "email": "lucia.fernandez@concesionario.example",
         "email_verified": True},
        {"subject": "sub-123", "email": "lucia.fernandez@concesionario.example"},
        {"subject": "sub-123", "email": "lucia.fernandez@concesionario.example",
         "email_verified": "false"},
    ],
)  # fmt: skip
def test_unknown_or_unverified_identity_is_refused_and_recorded(
    engine: Engine, linked: str, identity: dict
) -> None:
    with pytest.raises(AuthenticationFailed) as refused:
        viewer_for_identity(engine, now=NOW, **identity)

    assert "no tiene acceso a Ofertas" in refused.value.message
    assert events(engine)[-1].event == SecurityEventKind.LOGIN_REFUSED
    assert stored_user(engine, "lucia").oidc_subject is None


@pytest.mark.parametrize("claim", [True, "true", "TRUE"])
def test_identity_with_a_verified_claim_links(
    engine: Engine, linked: str, claim
) -> None:
    viewer_for_identity(
        engine, subject="sub-123", email=linked, email_verified=claim, now=NOW
    )

    assert stored_user(engine, "lucia").oidc_subject == "sub-123"


def test_identity_without_a_claim_links_when_the_provider_is_trusted(
    engine: Engine, linked: str
) -> None:
    viewer = viewer_for_identity(
        engine, subject="entra-77", email=linked, trust_email=True, now=NOW
    )

    assert viewer.user_id == stored_user(engine, "lucia").id
    assert stored_user(engine, "lucia").oidc_subject == "entra-77"


def test_identity_of_a_deactivated_user_is_refused(engine: Engine, linked: str) -> None:
    viewer_for_identity(
        engine, subject="sub-123", email=linked, email_verified=True, now=NOW
    )
    set_password(engine, "lucia", PASSWORD, active=False)

    with pytest.raises(AuthenticationFailed):
        viewer_for_identity(engine, subject="sub-123", email=linked, now=NOW)

    assert events(engine)[-1].event == SecurityEventKind.LOGIN_REFUSED


def test_settings_refuse_a_zero_lockout() -> None:
    from lib.config import load_settings

    with pytest.raises(ValueError, match="LOGIN_MAX_FAILURES"):
        load_settings(environ={"OFFERDESK_LOGIN_MAX_FAILURES": "0"})
    with pytest.raises(ValueError, match="LOGIN_LOCKOUT_MINUTES"):
        load_settings(environ={"OFFERDESK_LOGIN_LOCKOUT_MINUTES": "0"})
    assert load_settings(environ={}).session_idle_minutes == 30
