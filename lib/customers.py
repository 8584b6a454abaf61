"""Customers: checked on the way in, found again before a duplicate is made."""

import logging

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import Engine, func, or_, select
from stdnum.es import cif, dni, nie
from stdnum.exceptions import ValidationError

from lib.db import reading, transaction
from lib.errors import DuplicateCustomer, InvalidInput, NotFound
from lib.models import Customer, utcnow
from lib.search import contains, fold, query_terms
from lib.views import CustomerView, Viewer

logger = logging.getLogger(__name__)

# How a customer agreed to be contacted by email, as (key, label) pairs.
CONSENT_METHODS = {
    "IN_PERSON": "En persona",
    "PHONE": "Por teléfono",
    "WRITTEN": "Por escrito",
    "WEB_FORM": "Formulario web",
}


def customer_view(customer: Customer) -> CustomerView:
    """The plain picture of a customer row."""
    return CustomerView(
        id=customer.id,
        first_name=customer.first_name,
        last_name=customer.last_name,
        phone=customer.phone,
        email=customer.email,
        tax_id=customer.tax_id,
        email_consent_at=customer.email_consent_at,
        email_consent_method=customer.email_consent_method or "",
    )


def email_consent_label(customer: CustomerView) -> str:
    """How and when the customer agreed to email, or why they cannot get one."""
    if not customer.email:
        return "Sin correo electrónico"
    if customer.email_consent_at is None:
        return "Sin consentimiento para comunicaciones por correo"
    method = CONSENT_METHODS.get(
        customer.email_consent_method, customer.email_consent_method
    )
    return f"Acepta comunicaciones por correo ({method.lower()})"


def _check_consent_method(method: str) -> str:
    if method not in CONSENT_METHODS:
        raise InvalidInput(
            "Indique cómo dio el cliente su consentimiento: "
            + ", ".join(label.lower() for label in CONSENT_METHODS.values())
            + "."
        )
    return method


def normalise_phone(text: str) -> str | None:
    """A Spanish or international phone as E.164 (``+34612345678``); None if empty."""
    if not text.strip():
        return None
    try:
        parsed = phonenumbers.parse(text, "ES")
    except phonenumbers.NumberParseException as error:
        raise InvalidInput(f"El teléfono «{text}» no es un número válido.") from error
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidInput(f"El teléfono «{text}» no es un número válido.")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def normalise_email(text: str) -> str | None:
    """An email address in its normal form; None if empty."""
    if not text.strip():
        return None
    try:
        checked = validate_email(text.strip(), check_deliverability=False)
    except EmailNotValidError as error:
        raise InvalidInput(f"El correo electrónico «{text}» no es válido.") from error
    return checked.normalized


def normalise_tax_id(text: str) -> str | None:
    """A DNI, NIE or CIF, validated and in its compact form; None if empty."""
    if not text.strip():
        return None
    for kind in (dni, nie, cif):
        try:
            return kind.validate(text)
        except ValidationError:
            continue
    raise InvalidInput(f"«{text}» no es un DNI, NIE ni CIF válido.")


def _matches(
    session: object, phone: str | None, email: str | None, tax_id: str | None
) -> list[Customer]:
    conditions = []
    if email:
        conditions.append(func.lower(Customer.email) == email.lower())
    if phone:
        conditions.append(Customer.phone == phone)
    if tax_id:
        conditions.append(Customer.tax_id == tax_id)
    if not conditions:
        return []
    return list(session.scalars(select(Customer).where(or_(*conditions)).limit(5)))


def create_customer(
    engine: Engine,
    *,
    first_name: str,
    last_name: str = "",
    phone: str = "",
    email: str = "",
    tax_id: str = "",
    created_by_id: int | None = None,
    email_consent: bool = False,
    email_consent_method: str = "",
) -> CustomerView:
    """Check and store a new customer.

    With ``email_consent`` the customer agrees now to be contacted by email,
    given as ``email_consent_method`` (a key of ``CONSENT_METHODS``). Raises
    ``DuplicateCustomer`` naming the existing customers when one has the same
    email, phone or document, so the page can offer them instead.
    """
    first_name, last_name = first_name.strip(), last_name.strip()
    if not first_name:
        raise InvalidInput("El nombre del cliente es obligatorio.")
    normal_phone = normalise_phone(phone)
    normal_email = normalise_email(email)
    normal_tax_id = normalise_tax_id(tax_id)
    if not normal_phone and not normal_email:
        raise InvalidInput(
            "Indique al menos un teléfono o un correo electrónico del cliente."
        )
    if email_consent:
        _check_consent_method(email_consent_method)
        if not normal_email:
            raise InvalidInput(
                "Para registrar el consentimiento por correo, indique el correo "
                "electrónico del cliente."
            )

    with transaction(engine) as session:
        existing = _matches(session, normal_phone, normal_email, normal_tax_id)
        if existing:
            names = ", ".join(customer.full_name for customer in existing)
            raise DuplicateCustomer(
                "Ya existe un cliente con el mismo correo, teléfono o documento: "
                f"{names}.",
                [customer.id for customer in existing],
            )
        customer = Customer(
            search_text=fold(
                first_name, last_name, normal_phone, normal_email, normal_tax_id
            ),
            first_name=first_name,
            last_name=last_name,
            phone=normal_phone,
            email=normal_email,
            tax_id=normal_tax_id,
            created_by_id=created_by_id,
            email_consent_at=utcnow() if email_consent else None,
            email_consent_method=email_consent_method if email_consent else "",
            email_consent_by_id=created_by_id if email_consent else None,
        )
        session.add(customer)
        session.flush()
        logger.info("Customer %s created by %s", customer.id, created_by_id)
        return customer_view(customer)


def search_customers(
    engine: Engine, query: str = "", *, limit: int = 20
) -> list[CustomerView]:
    """Customers whose name, phone, email or document contains every word.

    Case and accents do not matter (``inigo`` finds ``Íñigo``, ``ÁLVAREZ``
    finds ``Álvarez``); a phone matches by its digits, with or without spaces.
    """
    statement = select(Customer).order_by(
        Customer.last_name, Customer.first_name, Customer.id
    )
    for term in query_terms(query):
        statement = statement.where(contains(Customer.search_text, term))

    with reading(engine) as session:
        return [customer_view(row) for row in session.scalars(statement.limit(limit))]


def get_customer(engine: Engine, customer_id: int) -> CustomerView:
    """One customer by id."""
    with reading(engine) as session:
        customer = session.get(Customer, customer_id)
        if customer is None:
            raise NotFound("No existe ese cliente.")
        return customer_view(customer)


def record_email_consent(
    engine: Engine, customer_id: int, method: str, *, viewer: Viewer
) -> CustomerView:
    """Record that a customer agrees, now, to be contacted by email.

    A consent already recorded is kept as it was, with its first date.
    """
    _check_consent_method(method)

    with transaction(engine) as session:
        customer = session.get(Customer, customer_id)
        if customer is None:
            raise NotFound("No existe ese cliente.")
        if not customer.email:
            raise InvalidInput(
                f"{customer.full_name} no tiene correo electrónico: añádalo antes "
                "de registrar su consentimiento."
            )
        if customer.email_consent_at is None:
            customer.email_consent_at = utcnow()
            customer.email_consent_method = method
            customer.email_consent_by_id = viewer.user_id
            logger.info(
                "Customer %s email consent recorded by %s (%s)",
                customer.id,
                viewer.user_id,
                method,
            )
        return customer_view(customer)
