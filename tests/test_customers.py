import pytest
from sqlalchemy import func, select

from lib.customers import (
    create_customer,
    email_consent_label,
    get_customer,
    record_email_consent,
    search_customers,
)
from lib.db import reading
from lib.errors import DuplicateCustomer, InvalidInput, NotFound
from lib.models import Customer, utcnow
from lib.views import Viewer


def count_customers(engine) -> int:
    with reading(engine) as session:
        return session.scalar(select(func.count(Customer.id)))


def test_create_customer_normalises_phone_email_and_document(engine):
    customer = create_customer(
        engine,
        first_name=" Íñigo ",
        last_name="Muñoz Peñalver",
        phone="612 34 56 78",
        email="Inigo.Munoz@Correo.Example",
        tax_id="12345678-z",
    )

    stored = get_customer(engine, customer.id)
    assert stored.full_name == "Íñigo Muñoz Peñalver"
    assert stored.phone == "+34612345678"
    assert stored.email == "Inigo.Munoz@correo.example"
    assert stored.tax_id == "12345678Z"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("phone", "12345", "no es un número válido"),
        ("email", "no-es-un-correo", "no es válido"),
        ("tax_id", "12345678A", "no es un DNI, NIE ni CIF válido"),
        ("first_name", "   ", "El nombre del cliente es obligatorio"),
    ],
)
def test_create_customer_rejects_bad_input_and_stores_nothing(
    engine, field, value, message
):
    values = {"first_name": "Ana", "phone": "612345678", "email": "", "tax_id": ""}
    values[field] = value

    with pytest.raises(InvalidInput, match=message):
        create_customer(engine, **values)
    assert count_customers(engine) == 0


def test_create_customer_needs_phone_or_email(engine):
    with pytest.raises(InvalidInput, match="al menos un teléfono o un correo"):
        create_customer(engine, first_name="Ana")
    assert count_customers(engine) == 0


@pytest.mark.parametrize(
    "clash",
    [
        {"phone": "+34 612 345 678"},
        {"email": "ANA@correo.example"},
        {"tax_id": "X1234567L", "phone": "699999999"},
    ],
)
def test_create_customer_offers_existing_instead_of_duplicate(engine, clash):
    first = create_customer(
        engine,
        first_name="Ana",
        phone="612345678",
        email="ana@correo.example",
        tax_id="X1234567L",
    )
    values = {"first_name": "Ana María", "phone": "", "email": "", "tax_id": ""}
    values.update(clash)

    with pytest.raises(DuplicateCustomer) as raised:
        create_customer(engine, **values)
    assert raised.value.existing_ids == [first.id]
    assert count_customers(engine) == 1


def test_search_customers_by_name_phone_email_and_document(engine):
    ana = create_customer(
        engine,
        first_name="Ana",
        last_name="Peña",
        phone="612345678",
        email="ana@correo.example",
    )
    create_customer(
        engine,
        first_name="Raúl",
        last_name="Núñez",
        phone="623456789",
        tax_id="12345678Z",
    )

    assert [c.id for c in search_customers(engine, "peña")] == [ana.id]
    assert [c.full_name for c in search_customers(engine, "612 345")] == ["Ana Peña"]
    assert [c.full_name for c in search_customers(engine, "ana@correo")] == ["Ana Peña"]
    assert [c.full_name for c in search_customers(engine, "12345678z")] == [
        "Raúl Núñez"
    ]
    assert [c.full_name for c in search_customers(engine, "")] == [
        "Raúl Núñez",
        "Ana Peña",
    ]


@pytest.mark.parametrize(
    "query",
    ["Íñigo", "ÍÑIGO", "inigo", "iñigo álvarez", "ALVAREZ", "6 1 2 3 4", "12345678z"],
)
def test_search_customers_ignores_case_and_accents(engine, query):
    inigo = create_customer(
        engine,
        first_name="Íñigo",
        last_name="Álvarez Peña",
        phone="612345678",
        tax_id="12345678Z",
    )
    create_customer(engine, first_name="Óscar", last_name="Núñez", phone="623456789")

    assert [c.id for c in search_customers(engine, query)] == [inigo.id]


def test_search_customers_takes_wildcards_literally(engine):
    create_customer(engine, first_name="Ana", email="ana_perez@correo.example")
    create_customer(engine, first_name="Eva", email="evaxperez@correo.example")

    assert [c.full_name for c in search_customers(engine, "a_p")] == ["Ana"]
    assert search_customers(engine, "100%") == []


def test_create_customer_with_consent_stores_when_and_how(engine):
    before = utcnow()

    customer = create_customer(
        engine,
        first_name="Ana",
        email="ana@correo.example",
        email_consent=True,
        email_consent_method="PHONE",
    )

    stored = get_customer(engine, customer.id)
    assert stored.email_consent_method == "PHONE"
    assert before <= stored.email_consent_at <= utcnow()
    assert email_consent_label(stored) == (
        "Acepta comunicaciones por correo (por teléfono)"
    )


def test_create_customer_without_consent_stores_none(engine):
    customer = create_customer(engine, first_name="Ana", email="ana@correo.example")

    stored = get_customer(engine, customer.id)
    assert stored.email_consent_at is None
    assert stored.email_consent_method == ""
    assert email_consent_label(stored) == (
        "Sin consentimiento para comunicaciones por correo"
    )


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {"email": "ana@correo.example", "email_consent_method": ""},
            "Indique cómo dio el cliente su consentimiento",
        ),
        (
            {"email": "ana@correo.example", "email_consent_method": "SMOKE_SIGNAL"},
            "Indique cómo dio el cliente su consentimiento",
        ),
        (
            {"email": "", "phone": "612345678", "email_consent_method": "WRITTEN"},
            "indique el correo electrónico del cliente",
        ),
    ],
)
def test_consent_needs_a_method_and_an_email_and_stores_nothing(
    engine, values, message
):
    with pytest.raises(InvalidInput, match=message):
        create_customer(engine, first_name="Ana", email_consent=True, **values)

    assert count_customers(engine) == 0


def test_record_email_consent_later(engine, salesperson):
    customer = create_customer(engine, first_name="Ana", email="ana@correo.example")
    viewer = Viewer(user_id=salesperson.id, role="SALES")

    recorded = record_email_consent(engine, customer.id, "IN_PERSON", viewer=viewer)

    assert recorded.email_consent_method == "IN_PERSON"
    assert get_customer(engine, customer.id).email_consent_at is not None
    assert consent_recorded_by(engine, customer.id) == salesperson.id


def consent_recorded_by(engine, customer_id: int) -> int | None:
    with reading(engine) as session:
        return session.get(Customer, customer_id).email_consent_by_id


def test_consent_given_on_creation_is_recorded_by_the_creator(engine, salesperson):
    customer = create_customer(
        engine,
        first_name="Ana",
        email="ana@correo.example",
        created_by_id=salesperson.id,
        email_consent=True,
        email_consent_method="WRITTEN",
    )
    without = create_customer(
        engine,
        first_name="Eva",
        email="eva@correo.example",
        created_by_id=salesperson.id,
    )

    assert consent_recorded_by(engine, customer.id) == salesperson.id
    assert consent_recorded_by(engine, without.id) is None


def test_record_email_consent_keeps_the_first(engine, salesperson):
    customer = create_customer(
        engine,
        first_name="Ana",
        email="ana@correo.example",
        email_consent=True,
        email_consent_method="WEB_FORM",
    )
    viewer = Viewer(user_id=salesperson.id, role="SALES")

    again = record_email_consent(engine, customer.id, "PHONE", viewer=viewer)

    assert again.email_consent_method == "WEB_FORM"
    assert again.email_consent_at == get_customer(engine, customer.id).email_consent_at


def test_record_email_consent_refuses_customer_without_email(engine, salesperson):
    customer = create_customer(engine, first_name="Raúl", phone="623456789")
    viewer = Viewer(user_id=salesperson.id, role="SALES")

    with pytest.raises(InvalidInput, match="Raúl no tiene correo electrónico"):
        record_email_consent(engine, customer.id, "PHONE", viewer=viewer)

    assert get_customer(engine, customer.id).email_consent_at is None


def test_record_email_consent_of_unknown_customer(engine, salesperson):
    viewer = Viewer(user_id=salesperson.id, role="SALES")

    with pytest.raises(NotFound, match="No existe ese cliente"):
        record_email_consent(engine, 999999, "PHONE", viewer=viewer)
