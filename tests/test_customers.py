import pytest
from sqlalchemy import func, select

from lib.customers import create_customer, get_customer, search_customers
from lib.db import reading
from lib.errors import DuplicateCustomer, InvalidInput
from lib.models import Customer


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
def test_create_customer_rejects_bad_input_and_stores_nothing(engine, field, value, message):
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
        engine, first_name="Ana", phone="612345678", email="ana@correo.example", tax_id="X1234567L"
    )
    values = {"first_name": "Ana María", "phone": "", "email": "", "tax_id": ""}
    values.update(clash)

    with pytest.raises(DuplicateCustomer) as raised:
        create_customer(engine, **values)
    assert raised.value.existing_ids == [first.id]
    assert count_customers(engine) == 1


def test_search_customers_by_name_phone_email_and_document(engine):
    ana = create_customer(
        engine, first_name="Ana", last_name="Peña", phone="612345678", email="ana@correo.example"
    )
    create_customer(
        engine, first_name="Raúl", last_name="Núñez", phone="623456789", tax_id="12345678Z"
    )

    assert [c.id for c in search_customers(engine, "peña")] == [ana.id]
    assert [c.full_name for c in search_customers(engine, "612 345")] == ["Ana Peña"]
    assert [c.full_name for c in search_customers(engine, "ana@correo")] == ["Ana Peña"]
    assert [c.full_name for c in search_customers(engine, "12345678z")] == ["Raúl Núñez"]
    assert [c.full_name for c in search_customers(engine, "")] == ["Raúl Núñez", "Ana Peña"]
