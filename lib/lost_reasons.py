"""Why offers are lost: a list the dealership keeps."""

import logging
from dataclasses import dataclass

from sqlalchemy import Engine, func, select

from lib.auth import require_manager
from lib.db import reading, transaction
from lib.errors import InvalidInput, NotFound
from lib.models import LostReason, utcnow
from lib.views import Viewer

logger = logging.getLogger(__name__)

# The list a new database starts with (its migration writes the same).
DEFAULT_LOST_REASONS = (
    "Compró otra marca",
    "Compró otro modelo de la marca en otro concesionario",
    "Financiación denegada",
    "Plazo de entrega",
    "Valoración del vehículo usado",
    "Precio",
    "No contesta",
    "Aplaza la compra",
)


@dataclass(frozen=True)
class LostReasonView:
    id: int
    label: str
    active: bool


def list_lost_reasons(
    engine: Engine, *, include_inactive: bool = False
) -> list[LostReasonView]:
    """The reasons in the dealership's order; retired ones only when asked."""
    statement = select(LostReason).order_by(LostReason.position, LostReason.id)
    if not include_inactive:
        statement = statement.where(LostReason.active)
    with reading(engine) as session:
        return [
            LostReasonView(id=reason.id, label=reason.label, active=reason.active)
            for reason in session.scalars(statement)
        ]


def _label(text: str) -> str:
    label = " ".join(text.split())
    if not label:
        raise InvalidInput("Escriba el motivo.")
    if len(label) > 120:
        raise InvalidInput("El motivo no puede pasar de 120 caracteres.")
    return label


MANAGERS_ONLY = "Solo un gerente puede cambiar la lista de motivos."


def require_reason_manager(engine: Engine, viewer: Viewer) -> None:
    """Refuse and record anyone but a manager who would change the list."""
    require_manager(engine, viewer, "lost reasons", MANAGERS_ONLY)


def add_lost_reason(engine: Engine, text: str, *, viewer: Viewer) -> LostReasonView:
    """Add a reason at the end of the list."""
    require_reason_manager(engine, viewer)
    label = _label(text)
    with transaction(engine) as session:
        existing = next(
            (
                reason
                for reason in session.scalars(select(LostReason))
                if reason.label.casefold() == label.casefold()
            ),
            None,
        )
        if existing is not None:
            if existing.active:
                raise InvalidInput(f"Ya existe el motivo «{label}».")
            existing.active = True
            existing.changed_at, existing.changed_by_id = utcnow(), viewer.user_id
            reason = existing
        else:
            position = session.scalar(
                select(func.coalesce(func.max(LostReason.position), 0))
            )
            reason = LostReason(
                label=label,
                active=True,
                position=position + 1,
                changed_at=utcnow(),
                changed_by_id=viewer.user_id,
            )
            session.add(reason)
            session.flush()
    logger.info("Lost reason %s added by %s", reason.id, viewer.user_id)
    return LostReasonView(id=reason.id, label=reason.label, active=True)


def retire_lost_reason(engine: Engine, reason_id: int, *, viewer: Viewer) -> None:
    """Take a reason off the list; offers already lost for it keep it."""
    require_reason_manager(engine, viewer)
    with transaction(engine) as session:
        reason = session.get(LostReason, reason_id)
        if reason is None:
            raise NotFound("No existe ese motivo.")
        reason.active = False
        reason.changed_at, reason.changed_by_id = utcnow(), viewer.user_id
    logger.info("Lost reason %s retired by %s", reason_id, viewer.user_id)
