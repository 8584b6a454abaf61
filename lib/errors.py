"""Errors a salesperson can read.

Every error raised on purpose by a service derives from ``OfferDeskError`` and
carries a message in Spanish, ready for ``st.error``.
"""


class OfferDeskError(Exception):
    """Base of every error whose message is meant for the user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(OfferDeskError):
    """The record asked for does not exist."""


class InvalidInput(OfferDeskError):
    """What the user typed cannot be stored as it is."""


class InvalidState(OfferDeskError):
    """The act does not apply to the record in its current state."""


class DuplicateCustomer(OfferDeskError):
    """A customer with the same email, phone or document already exists."""

    def __init__(self, message: str, existing_ids: list[int]) -> None:
        super().__init__(message)
        self.existing_ids = existing_ids


class DeliveryFailed(OfferDeskError):
    """The offer could not be handed over; the attempt is recorded."""


class StockImportError(OfferDeskError):
    """A stock file cannot be imported at all."""


class AuthenticationFailed(OfferDeskError):
    """The user name and password do not open a session."""


class AccountLocked(AuthenticationFailed):
    """Too many failed logins: the account waits before it accepts another."""


class NotAllowed(OfferDeskError):
    """The user's role does not allow this act."""
