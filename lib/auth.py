"""Passwords, logins, lockouts and the record of who got in.

Passwords are hashed with Argon2id through argon2-cffi's ``PasswordHasher``
and its default parameters; a hash made with older parameters is replaced at
the next successful login. Only hashes are stored and no password is ever
logged. Every login, failure, lockout and refusal is stored as a
``SecurityEvent`` and logged.

The first start creates a sales manager, ``gerente``, with a one-time
password: nobody knows a password that the code fixes, because there is none.
"""

import logging
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lib.config import Settings, load_settings
from lib.db import reading, transaction
from lib.errors import (
    AccountLocked,
    AuthenticationFailed,
    InvalidInput,
    InvalidState,
    NotAllowed,
    NotFound,
    OfferDeskError,
)
from lib.formatting import day, local
from lib.models import Role, SecurityEvent, User, utcnow
from lib.views import Viewer

logger = logging.getLogger(__name__)

MIN_PASSWORD_LENGTH = 10
WRONG_CREDENTIALS = "Usuario o contraseña incorrectos."
FIRST_MANAGER_USERNAME = "gerente"
FIRST_MANAGER_NAME = "Gerente"

_hasher = PasswordHasher()


class SecurityEventKind:
    """What a ``SecurityEvent`` records."""

    LOGIN = "LOGIN"
    LOGIN_FAILED = "LOGIN_FAILED"
    LOCKOUT = "LOCKOUT"
    LOGIN_WHILE_LOCKED = "LOGIN_WHILE_LOCKED"
    LOGIN_REFUSED = "LOGIN_REFUSED"
    LOGOUT = "LOGOUT"
    SESSION_EXPIRED = "SESSION_EXPIRED"
    PASSWORD_CHANGED = "PASSWORD_CHANGED"
    PASSWORD_CHANGE_FAILED = "PASSWORD_CHANGE_FAILED"
    PASSWORD_ISSUED = "PASSWORD_ISSUED"
    USER_CREATED = "USER_CREATED"
    USER_DEACTIVATED = "USER_DEACTIVATED"
    USER_REACTIVATED = "USER_REACTIVATED"
    USER_EMAIL_SET = "USER_EMAIL_SET"
    ACCESS_DENIED = "ACCESS_DENIED"


@dataclass(frozen=True)
class IssuedPassword:
    """A one-time password just given to a user, to be shown once."""

    username: str
    full_name: str
    role: str
    password: str = field(repr=False)


def hash_password(password: str) -> str:
    """The Argon2id hash of a password, salt and parameters included."""
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True when the password matches the hash."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with parameters other than today's."""
    return _hasher.check_needs_rehash(password_hash)


_DUMMY_HASH: list[str] = []


def _spend_a_verification(password: str) -> None:
    # An unknown user costs as much time as a wrong password, so the answer's
    # delay does not tell which user names exist.
    if not _DUMMY_HASH:
        _DUMMY_HASH.append(hash_password(secrets.token_urlsafe(16)))
    verify_password(_DUMMY_HASH[0], password)


def new_one_time_password() -> str:
    """A random password for a first login; the user must change it then."""
    return secrets.token_urlsafe(12)


def record_event(
    session: Session,
    event: str,
    *,
    user_id: int | None = None,
    username: str = "",
    detail: str = "",
    at: datetime | None = None,
) -> None:
    """Store a security event in the session's transaction and log it."""
    session.add(
        SecurityEvent(
            at=at or utcnow(),
            user_id=user_id,
            username=username[:80],
            event=event,
            detail=detail,
        )
    )
    logger.info(
        "Security event %s for user %s (%s) %s", event, user_id, username, detail
    )


def _locked_message(until: datetime) -> str:
    moment = local(until)
    return (
        "La cuenta está bloqueada por demasiados intentos fallidos hasta las "
        f"{moment:%H:%M} del {day(moment)}. Vuelva a intentarlo después."
    )


def _find_user(session: Session, username: str) -> User | None:
    if not username:
        return None
    statement = select(User).where(func.lower(User.username) == username.lower())
    return session.scalar(statement)


@dataclass(frozen=True)
class _Account:
    id: int
    username: str
    role: str
    active: bool
    password_hash: str | None
    locked_until: datetime | None


def _read_account(engine: Engine, username: str) -> _Account | None:
    with reading(engine) as session:
        user = _find_user(session, username)
        if user is None:
            return None
        return _Account(
            user.id,
            user.username,
            user.role,
            user.active,
            user.password_hash,
            user.locked_until,
        )


def authenticate(
    engine: Engine,
    username: str,
    password: str,
    *,
    now: datetime | None = None,
    settings: Settings | None = None,
) -> Viewer:
    """Check a user name and password; the viewer they open, or a Spanish error.

    An unknown user, a deactivated one and a wrong password all get the same
    message. After ``login_max_failures`` wrong passwords in a row the account
    refuses every password for ``login_lockout_minutes``.
    """
    now = now or utcnow()
    settings = settings or load_settings()
    name = username.strip()
    account = _read_account(engine, name)

    # Argon2 is slow on purpose: it runs before any transaction opens, and
    # every answer spends one, so no answer is quicker than another.
    if account is None or not account.active or not account.password_hash:
        _spend_a_verification(password)
        raise _refuse_unknown(engine, account, name, now, settings)
    if account.locked_until is not None and account.locked_until > now:
        _spend_a_verification(password)
        _record(engine, SecurityEventKind.LOGIN_WHILE_LOCKED, account, now)
        raise AccountLocked(_locked_message(account.locked_until))
    matches = verify_password(account.password_hash, password)
    renewed = None
    if matches and needs_rehash(account.password_hash):
        renewed = hash_password(password)

    with transaction(engine) as session:
        user = session.get(User, account.id, with_for_update=True)
        outcome = _settle_login(session, user, account, matches, renewed, now, settings)
    if isinstance(outcome, OfferDeskError):
        raise outcome
    return outcome


def _refuse_unknown(
    engine: Engine,
    account: _Account | None,
    name: str,
    now: datetime,
    settings: Settings,
) -> OfferDeskError:
    """Fail a name that cannot log in, and lock it as a real account would be.

    Unknown, deactivated and password-less names are counted from the security
    events under their lower-case name, so that after ``login_max_failures``
    tries they answer "locked" like an account: the answers do not tell which
    names exist.
    """
    key = name.lower()[:80]
    lockout = timedelta(minutes=settings.login_lockout_minutes)
    user_id = account.id if account is not None else None
    named = SecurityEvent.username == key
    with transaction(engine) as session:
        locked_at = session.scalar(
            select(func.max(SecurityEvent.at)).where(
                named, SecurityEvent.event == SecurityEventKind.LOCKOUT
            )
        )
        if locked_at is not None and locked_at + lockout > now:
            record_event(
                session,
                SecurityEventKind.LOGIN_WHILE_LOCKED,
                user_id=user_id,
                username=key,
                at=now,
            )
            return AccountLocked(_locked_message(locked_at + lockout))
        since = [SecurityEvent.at > locked_at] if locked_at is not None else []
        failures = 1 + session.scalar(
            select(func.count()).where(
                named, SecurityEvent.event == SecurityEventKind.LOGIN_FAILED, *since
            )
        )
        if failures < settings.login_max_failures:
            record_event(
                session,
                SecurityEventKind.LOGIN_FAILED,
                user_id=user_id,
                username=key,
                detail=(
                    "unknown user" if account is None else "inactive or no password"
                )
                + f", {failures} in a row",
                at=now,
            )
            return AuthenticationFailed(WRONG_CREDENTIALS)
        record_event(
            session,
            SecurityEventKind.LOCKOUT,
            user_id=user_id,
            username=key,
            detail=f"{failures} failures of a name that cannot log in",
            at=now,
        )
    return AccountLocked(_locked_message(now + lockout))


def _record(engine: Engine, event: str, account: _Account, now: datetime) -> None:
    with transaction(engine) as session:
        record_event(
            session, event, user_id=account.id, username=account.username, at=now
        )


def _settle_login(
    session: Session,
    user: User,
    account: _Account,
    matches: bool,
    renewed: str | None,
    now: datetime,
    settings: Settings,
) -> Viewer | OfferDeskError:
    if user.password_hash != account.password_hash or not user.active:
        # Changed, reset or deactivated while the password was being checked.
        record_event(
            session,
            SecurityEventKind.LOGIN_FAILED,
            user_id=user.id,
            username=user.username,
            detail="account changed during login",
            at=now,
        )
        return AuthenticationFailed(WRONG_CREDENTIALS)
    if user.locked_until is not None and user.locked_until > now:
        record_event(
            session,
            SecurityEventKind.LOGIN_WHILE_LOCKED,
            user_id=user.id,
            username=user.username,
            at=now,
        )
        return AccountLocked(_locked_message(user.locked_until))
    if not matches:
        return _count_failure(session, user, now, settings)

    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    if renewed is not None:
        user.password_hash = renewed
        logger.info("Password hash of user %s renewed with today's parameters", user.id)
    record_event(
        session,
        SecurityEventKind.LOGIN,
        user_id=user.id,
        username=user.username,
        detail="password",
        at=now,
    )
    return Viewer(user_id=user.id, role=user.role)


def _count_failure(
    session: Session, user: User, now: datetime, settings: Settings
) -> OfferDeskError:
    user.failed_logins = (user.failed_logins or 0) + 1
    if user.failed_logins < settings.login_max_failures:
        record_event(
            session,
            SecurityEventKind.LOGIN_FAILED,
            user_id=user.id,
            username=user.username,
            at=now,
            detail=f"wrong password, {user.failed_logins} in a row",
        )
        return AuthenticationFailed(WRONG_CREDENTIALS)

    user.locked_until = now + timedelta(minutes=settings.login_lockout_minutes)
    user.failed_logins = 0
    record_event(
        session,
        SecurityEventKind.LOCKOUT,
        user_id=user.id,
        username=user.username,
        at=now,
        detail=f"{settings.login_max_failures} wrong passwords in a row; locked "
        f"until {user.locked_until.isoformat()}",
    )
    logger.warning("User %s locked until %s", user.id, user.locked_until.isoformat())
    return AccountLocked(_locked_message(user.locked_until))


def check_new_password(password: str) -> None:
    """Refuse a new password that is too short."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            f"La nueva contraseña debe tener al menos {MIN_PASSWORD_LENGTH} caracteres."
        )


def change_password(
    engine: Engine,
    user_id: int,
    old_password: str,
    new_password: str,
    *,
    now: datetime | None = None,
) -> None:
    """Replace a user's password, knowing the current one; clears must-change."""
    check_new_password(new_password)
    if new_password == old_password:
        raise InvalidInput("La nueva contraseña debe ser distinta de la actual.")
    now = now or utcnow()
    with reading(engine) as session:
        user = session.get(User, user_id)
        if user is None or not user.active:
            raise NotFound("No existe ese usuario.")
        account = _Account(
            user.id,
            user.username,
            user.role,
            user.active,
            user.password_hash,
            user.locked_until,
        )

    if not account.password_hash or not verify_password(
        account.password_hash, old_password
    ):
        with transaction(engine) as session:
            record_event(
                session,
                SecurityEventKind.PASSWORD_CHANGE_FAILED,
                user_id=account.id,
                username=account.username,
                detail="wrong current password",
                at=now,
            )
        raise InvalidInput("La contraseña actual no es correcta.")
    new_hash = hash_password(new_password)

    with transaction(engine) as session:
        user = session.get(User, user_id, with_for_update=True)
        if user.password_hash != account.password_hash:
            raise InvalidState(
                "La contraseña ha cambiado mientras tanto. Vuelva a entrar."
            )
        user.password_hash = new_hash
        user.must_change_password = False
        record_event(
            session,
            SecurityEventKind.PASSWORD_CHANGED,
            user_id=user.id,
            username=user.username,
            at=now,
        )


@dataclass(frozen=True)
class OneTimeCredentials:
    """A fresh one-time password and its hash, made before any transaction."""

    password: str = field(repr=False)
    password_hash: str = field(repr=False)


def one_time_credentials() -> OneTimeCredentials:
    """A new one-time password, hashed."""
    password = new_one_time_password()
    return OneTimeCredentials(password, hash_password(password))


def issue_password(
    session: Session,
    user: User,
    credentials: OneTimeCredentials,
    *,
    by: str,
    now: datetime | None = None,
) -> IssuedPassword:
    """Give a user a one-time password inside the caller's transaction.

    The account is unlocked and must change the password at its next login.
    ``by`` says who asked, for the security record (never the password).
    """
    user.password_hash = credentials.password_hash
    user.must_change_password = True
    user.failed_logins = 0
    user.locked_until = None
    record_event(
        session,
        SecurityEventKind.PASSWORD_ISSUED,
        user_id=user.id,
        username=user.username,
        detail=f"by {by}",
        at=now,
    )
    return IssuedPassword(
        user.username, user.full_name, user.role, credentials.password
    )


def issue_one_time_password(engine: Engine, user_id: int, *, by: str) -> IssuedPassword:
    """A new one-time password for a user, in a transaction of its own."""
    credentials = one_time_credentials()
    with transaction(engine) as session:
        user = session.get(User, user_id, with_for_update=True)
        if user is None:
            raise NotFound("No existe ese usuario.")
        return issue_password(session, user, credentials, by=by)


def reset_password_by_username(engine: Engine, username: str) -> IssuedPassword:
    """A new one-time password for a user, asked for from the server's console."""
    credentials = one_time_credentials()
    with transaction(engine) as session:
        user = _find_user(session, username.strip())
        if user is None:
            raise NotFound(f"No existe el usuario «{username.strip()}».")
        return issue_password(session, user, credentials, by="console")


def ensure_first_manager(engine: Engine) -> IssuedPassword | None:
    """On a database without any sales manager, create ``gerente``.

    Returns its one-time password to be shown once on the console, or None
    when a manager already exists (or another process created it just now).
    """
    has_manager = select(User.id).where(User.role == Role.MANAGER).limit(1)
    with reading(engine) as session:
        if session.scalar(has_manager):
            return None
    credentials = one_time_credentials()
    try:
        with transaction(engine) as session:
            if session.scalar(has_manager):
                return None
            user = User(
                username=FIRST_MANAGER_USERNAME,
                full_name=FIRST_MANAGER_NAME,
                role=Role.MANAGER,
            )
            session.add(user)
            session.flush()
            record_event(
                session,
                SecurityEventKind.USER_CREATED,
                user_id=user.id,
                username=user.username,
                detail="first start",
            )
            issued = issue_password(session, user, credentials, by="first start")
    except IntegrityError:
        # Two app processes started on one empty database; the other won.
        logger.info("The first sales manager was created by another process")
        return None
    logger.info("First sales manager %s created", issued.username)
    return issued


def first_start(engine: Engine, *, demo_data: bool) -> list[IssuedPassword]:
    """Create the first manager and, if asked, the demo data; announce passwords.

    The one-time passwords go to the console once, as a WARNING, so that the
    terminal that started the app shows them; nothing stores them in clear.
    """
    issued = []
    manager = ensure_first_manager(engine)
    if manager is not None:
        issued.append(manager)
    if demo_data:
        from lib.demo import load_demo_data  # the demo needs this module

        issued += load_demo_data(engine)
    if issued:
        logger.warning("%s", one_time_password_notice(issued))
    return issued


def one_time_password_notice(issued: list[IssuedPassword]) -> str:
    """The console text that hands over one-time passwords, one line per user."""
    width = max(len(item.username) for item in issued)
    lines = [
        "",
        "=" * 72,
        "Contraseñas de un solo uso (se muestran solo esta vez; cada usuario",
        "debe cambiarla al entrar):",
    ]
    lines += [
        f"  {item.username:<{width}}  {item.password}  "
        f"({Role.LABELS.get(item.role, item.role)}: {item.full_name})"
        for item in issued
    ]
    lines += [
        "Si se pierden: python -m lib.cli reset-password USUARIO",
        "=" * 72,
    ]
    return "\n".join(lines)


def _verified(claim: object) -> bool:
    # Some providers send the claim as the string "true".
    return claim is True or str(claim).strip().lower() == "true"


def viewer_for_identity(
    engine: Engine,
    *,
    subject: str,
    email: str,
    email_verified: object = None,
    trust_email: bool = False,
    now: datetime | None = None,
) -> Viewer:
    """Map an OpenID Connect identity to an active user and role.

    A user already linked to the identity's subject is found by it. Otherwise
    an active user with the same email (compared without case) is linked to
    the subject on this first login, but only when the provider says the
    address is verified (or ``trust_email`` says the provider's addresses are
    the company's own). Anyone else is refused and the refusal recorded.
    """
    now = now or utcnow()
    subject = subject.strip()
    email = email.strip().lower()

    with transaction(engine) as session:
        user = None
        if subject:
            statement = select(User).where(User.oidc_subject == subject)
            user = session.scalar(statement.with_for_update())
        if user is None and email and (trust_email or _verified(email_verified)):
            statement = select(User).where(
                func.lower(User.email) == email, User.oidc_subject.is_(None)
            )
            user = session.scalars(statement.with_for_update()).first()
            if user is not None and user.active:
                user.oidc_subject = subject or None
        if user is None or not user.active or not subject:
            record_event(
                session,
                SecurityEventKind.LOGIN_REFUSED,
                user_id=user.id if user is not None else None,
                username=email,
                detail="identity without an active user",
                at=now,
            )
            refused: OfferDeskError | None = AuthenticationFailed(
                f"La cuenta {email or subject} no tiene acceso a Ofertas. "
                "Pida al gerente que le dé de alta con ese correo."
            )
            viewer = None
        else:
            refused = None
            user.last_login_at = now
            record_event(
                session,
                SecurityEventKind.LOGIN,
                user_id=user.id,
                username=user.username,
                detail="oidc",
                at=now,
            )
            viewer = Viewer(user_id=user.id, role=user.role)
    if refused is not None:
        raise refused
    return viewer


def record_access_denied(engine: Engine, viewer: Viewer, what: str) -> None:
    """Store that a user asked for something outside their reach."""
    with transaction(engine) as session:
        record_event(
            session,
            SecurityEventKind.ACCESS_DENIED,
            user_id=viewer.user_id,
            detail=what,
        )
    logger.warning("User %s refused access to %s", viewer.user_id, what)


def require_manager(engine: Engine, viewer: Viewer, what: str, message: str) -> None:
    """Refuse, record and raise ``NotAllowed(message)`` unless a manager asks."""
    if not viewer.sees_all:
        record_access_denied(engine, viewer, what)
        raise NotAllowed(message)


def record_session_end(engine: Engine, user_id: int, event: str) -> None:
    """Store a logout or an expired session."""
    with transaction(engine) as session:
        user = session.get(User, user_id)
        record_event(
            session, event, user_id=user_id, username=user.username if user else ""
        )
