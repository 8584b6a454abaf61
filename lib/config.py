"""Settings: one object, read from the environment and optional secrets.

Every variable is prefixed ``OFFERDESK_``. Secrets (the SMTP password) have no
default here; they come from the environment or ``.streamlit/secrets.toml``.
"""

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = PROJECT_ROOT / "data"

PREFIX = "OFFERDESK_"


@dataclass(frozen=True)
class Settings:
    """Everything the app can be told from outside."""

    database_url: str = f"sqlite:///{DATA_DIR / 'ofertas.db'}"
    demo_data: bool = True
    mail_backend: str = "file"
    outbox_dir: Path = DATA_DIR / "outbox"
    smtp_host: str = "localhost"
    smtp_port: int = 25
    smtp_security: str = "none"
    smtp_user: str = ""
    smtp_password: str = field(default="", repr=False)
    smtp_timeout: float = 15.0
    # A PEM file of certificates to trust for the mail server (a private CA or
    # a self-signed server); empty means the system's trusted authorities.
    smtp_ca_file: str = ""
    mail_sender: str = "ofertas@concesionario.example"
    dealership_name: str = "Concesionario Demo, S.L."
    dealership_cif: str = "B12345674"
    dealership_address: str = "Avenida de la Industria 12, 28108 Alcobendas (Madrid)"
    dealership_phone: str = "+34 910 000 000"
    # An image file (PNG or JPEG) printed at the top of every offer; optional.
    dealership_logo: str = ""
    offer_validity_days: int = 15
    log_level: str = "INFO"
    login_max_failures: int = 5
    login_lockout_minutes: int = 15
    session_idle_minutes: int = 30
    # Link an OpenID Connect identity by its email even when the provider does
    # not say the address is verified (Microsoft Entra ID sends no such claim).
    # Only for a provider that issues identities for the company's own domain.
    oidc_trust_email: bool = False


def _coerce(name: str, raw: object, default: object) -> object:
    text = str(raw).strip()
    if isinstance(default, bool):
        return text.lower() in {"1", "true", "yes", "si", "sí", "on"}
    if isinstance(default, int):
        return int(text)
    if isinstance(default, float):
        return float(text)
    if isinstance(default, Path):
        return Path(text)
    return text


def load_settings(
    environ: Mapping[str, str] | None = None,
    secrets: Mapping[str, object] | None = None,
) -> Settings:
    """Build the settings: defaults, then secrets, then the environment."""
    environ = os.environ if environ is None else environ
    secrets = secrets or {}
    defaults = Settings()
    values: dict[str, object] = {}
    for name in Settings.__dataclass_fields__:
        default = getattr(defaults, name)
        raw = environ.get(PREFIX + name.upper())
        if raw is None:
            raw = secrets.get(name)
        if raw is not None:
            values[name] = _coerce(name, raw, default)
    settings = Settings(**values)
    if settings.mail_backend not in {"file", "smtp"}:
        raise ValueError(
            "OFFERDESK_MAIL_BACKEND must be file or smtp, "
            f"not {settings.mail_backend!r}"
        )
    if settings.smtp_security not in {"none", "starttls", "ssl"}:
        raise ValueError("OFFERDESK_SMTP_SECURITY must be none, starttls or ssl")
    for name in ("login_max_failures", "login_lockout_minutes", "session_idle_minutes"):
        if getattr(settings, name) < 1:
            raise ValueError(f"OFFERDESK_{name.upper()} must be 1 or more")
    return settings
