import pytest
from sqlalchemy import Engine, func, select

from lib.db import reading, transaction
from lib.errors import InvalidInput, NotFound
from lib.models import Availability, Condition, Vehicle
from lib.vehicles import (
    count_vehicles,
    create_factory_order,
    get_vehicle,
    list_vehicles,
    search_vehicles,
    update_vehicle_identifiers,
)

EUROPEAN_VIN = "WVWZZZ1KZAW000123"  # position 9 is a Z: no check digit


def add_vehicle(engine: Engine, make: str, model: str, **changes: object) -> int:
    values: dict[str, object] = {
        "make": make,
        "model": model,
        "condition": Condition.USED,
        "availability": Availability.IN_STOCK,
        "price_cents": 1_000_000,
    }
    values.update(changes)
    with transaction(engine) as session:
        vehicle = Vehicle(**values)
        session.add(vehicle)
        session.flush()
        return vehicle.id


@pytest.fixture
def stock(engine: Engine) -> dict[str, int]:
    """A small stock: two Golfs, a Polo, a Seat with identifiers, a sold Golf."""
    return {
        "golf": add_vehicle(engine, "Volkswagen", "Golf", year=2019),
        "golf_variant": add_vehicle(engine, "Volkswagen", "Golf Variant"),
        "polo": add_vehicle(engine, "Volkswagen", "Polo"),
        "leon": add_vehicle(
            engine,
            "SEAT",
            "León",
            vin="VSSZZZ5FZKR012345",
            order_number="PED-778812",
            commission_number="C-40917",
        ),
        "sold_golf": add_vehicle(
            engine, "Volkswagen", "Golf", availability=Availability.SOLD
        ),
    }


def ids(found: list) -> list[int]:
    return [vehicle.id for vehicle in found]


def stored(engine: Engine, vehicle_id: int) -> tuple:
    with reading(engine) as session:
        vehicle = session.get(Vehicle, vehicle_id)
        return (
            vehicle.vin,
            vehicle.order_number,
            vehicle.commission_number,
            vehicle.availability,
        )


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("volkswagen", ["golf", "golf_variant", "polo"]),
        ("GOLF", ["golf", "golf_variant"]),
        ("Volkswagen Golf", ["golf", "golf_variant"]),
        ("golf volkswagen", ["golf", "golf_variant"]),
        ("vw golf", []),
        ("VSSZZZ5FZKR012345", ["leon"]),
        ("vsszzz5fz", ["leon"]),
        ("C-40917", ["leon"]),
        ("ped-778812", ["leon"]),
        ("seat león", ["leon"]),
        ("SEAT LEÓN", ["leon"]),
        ("%", []),
        ("_olf", []),
    ],
)
def test_search_matches_make_model_vin_and_numbers(
    engine: Engine, stock: dict[str, int], query: str, expected: list[str]
) -> None:
    found = search_vehicles(engine, query)

    assert ids(found) == [stock[name] for name in expected]


def test_search_leaves_out_sold_unless_asked(
    engine: Engine, stock: dict[str, int]
) -> None:
    available = search_vehicles(engine, "golf")
    everything = search_vehicles(engine, "golf", available_only=False)

    assert stock["sold_golf"] not in ids(available)
    assert ids(everything) == [stock["golf"], stock["sold_golf"], stock["golf_variant"]]


def test_search_limit_is_applied(engine: Engine, stock: dict[str, int]) -> None:
    found = search_vehicles(engine, "", limit=2)

    assert ids(found) == [stock["leon"], stock["golf"]]


def test_search_returns_plain_views(engine: Engine, stock: dict[str, int]) -> None:
    (golf,) = search_vehicles(engine, "golf", limit=1)

    assert (golf.title, golf.year, golf.price_cents) == (
        "Volkswagen Golf",
        2019,
        1_000_000,
    )


def test_list_vehicles_pages_in_sql(engine: Engine) -> None:
    for number in range(120):
        add_vehicle(engine, "Kia", f"Ceed {number:03d}")
    add_vehicle(engine, "Dacia", "Sandero", availability=Availability.SOLD)

    first, total = list_vehicles(engine, page=1, page_size=50)
    third, _ = list_vehicles(engine, page=3, page_size=50)
    beyond, _ = list_vehicles(engine, page=9, page_size=50)
    filtered, filtered_total = list_vehicles(engine, "ceed 11", page=1, page_size=50)

    assert total == 121
    assert first[0].model == "Sandero"
    assert [vehicle.model for vehicle in third] == [
        f"Ceed {number:03d}" for number in range(99, 120)
    ]
    assert beyond == []
    assert filtered_total == 11  # Ceed 011 and Ceed 110 to 119
    assert [vehicle.model for vehicle in filtered][-1] == "Ceed 119"


def test_get_vehicle_and_not_found(engine: Engine, stock: dict[str, int]) -> None:
    leon = get_vehicle(engine, stock["leon"])

    assert (leon.make, leon.model, leon.vin) == ("SEAT", "León", "VSSZZZ5FZKR012345")
    with pytest.raises(NotFound) as missing:
        get_vehicle(engine, 999_999)
    assert missing.value.message == "No existe el vehículo n.º 999999."


def test_count_vehicles_lists_every_availability(
    engine: Engine, stock: dict[str, int]
) -> None:
    assert count_vehicles(engine) == {
        Availability.IN_STOCK: 4,
        Availability.IN_TRANSIT: 0,
        Availability.FACTORY_ORDER: 0,
        Availability.RESERVED: 0,
        Availability.SOLD: 1,
    }


def test_factory_order_is_new_and_on_order(engine: Engine) -> None:
    ordered = create_factory_order(
        engine,
        make=" CUPRA ",
        model="Formentor",
        version="1.5 eTSI 150 CV DSG",
        colour="Gris Magnético",
        price_cents=3_599_000,
        fuel="Gasolina",
        year=2026,
        order_number=" PED-900001 ",
    )

    again = get_vehicle(engine, ordered.id)
    assert again == ordered
    assert (again.make, again.condition, again.availability) == (
        "CUPRA",
        Condition.NEW,
        Availability.FACTORY_ORDER,
    )
    assert (again.order_number, again.vin, again.mileage_km) == ("PED-900001", None, 0)
    assert search_vehicles(engine, "formentor") == [ordered]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"make": ""}, "Indique la marca y el modelo del vehículo."),
        ({"model": "  "}, "Indique la marca y el modelo del vehículo."),
        ({"price_cents": 0}, "El precio debe ser mayor que cero."),
        ({"year": 1850}, "El año debe estar entre 1900"),
        ({"colour": "x" * 61}, "El color no puede tener más de 60 caracteres."),
        ({"order_number": "P" * 41}, "no puede tener más de 40 caracteres"),
    ],
)
def test_factory_order_refuses_bad_input_and_stores_nothing(
    engine: Engine, changes: dict[str, object], message: str
) -> None:
    values: dict[str, object] = {
        "make": "CUPRA",
        "model": "Formentor",
        "version": "",
        "colour": "",
        "price_cents": 3_599_000,
    }
    values.update(changes)

    with pytest.raises(InvalidInput) as refused:
        create_factory_order(engine, **values)

    assert message in refused.value.message
    with reading(engine) as session:
        assert session.scalar(select(func.count()).select_from(Vehicle)) == 0


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        (EUROPEAN_VIN, EUROPEAN_VIN),
        ("1HGCM82633A004352", "1HGCM82633A004352"),
        (EUROPEAN_VIN.lower(), EUROPEAN_VIN),
        ("  WVW ZZZ 1KZ AW000123 ", EUROPEAN_VIN),
        ("", None),
    ],
)
def test_vin_is_normalised_and_check_digit_not_required(
    engine: Engine, stock: dict[str, int], typed: str, kept: str | None
) -> None:
    updated = update_vehicle_identifiers(
        engine,
        stock["golf"],
        vin=typed,
        order_number="PED-1",
        commission_number="C-1",
    )

    assert updated.vin == kept
    assert stored(engine, stock["golf"]) == (
        kept,
        "PED-1",
        "C-1",
        Availability.IN_STOCK,
    )


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        (
            EUROPEAN_VIN[:16],
            "El bastidor debe tener 17 caracteres; «WVWZZZ1KZAW00012» tiene 16.",
        ),
        (EUROPEAN_VIN + "4", "El bastidor debe tener 17 caracteres"),
        ("WVWZZZ1KZAW00012I", "sin I, O ni Q"),
        ("WVWZZZ1KZAW00012O", "sin I, O ni Q"),
        ("wvwzzz1kzaw00012q", "sin I, O ni Q"),
        ("WVWZZZ1KZAW00012-", "solo puede tener letras y cifras"),
        ("WVWZZZ1KZAW00012Ñ", "solo puede tener letras y cifras"),
    ],
)
def test_bad_vin_is_refused_and_nothing_changes(
    engine: Engine, stock: dict[str, int], typed: str, message: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        update_vehicle_identifiers(
            engine,
            stock["golf"],
            vin=typed,
            order_number="PED-1",
            commission_number="C-1",
            availability=Availability.RESERVED,
        )

    assert message in refused.value.message
    assert stored(engine, stock["golf"]) == (None, None, None, Availability.IN_STOCK)


def test_vin_or_commission_number_of_another_vehicle_is_refused(
    engine: Engine, stock: dict[str, int]
) -> None:
    with pytest.raises(InvalidInput) as same_vin:
        update_vehicle_identifiers(
            engine,
            stock["golf"],
            vin="vsszzz5fzkr012345",
            order_number=None,
            commission_number=None,
        )
    with pytest.raises(InvalidInput) as same_commission:
        update_vehicle_identifiers(
            engine,
            stock["golf"],
            vin=None,
            order_number=None,
            commission_number="C-40917",
        )

    assert same_vin.value.message == (
        "El bastidor «VSSZZZ5FZKR012345» ya está asignado a otro vehículo "
        f"(SEAT León, n.º {stock['leon']})."
    )
    assert "El número de comisión «C-40917»" in same_commission.value.message
    assert stored(engine, stock["golf"]) == (None, None, None, Availability.IN_STOCK)


def test_factory_order_and_identifier_changes_record_who(
    engine: Engine, stock: dict[str, int], salesperson
) -> None:
    ordered = create_factory_order(
        engine,
        make="CUPRA",
        model="Born",
        version="",
        colour="",
        price_cents=3_999_000,
        created_by_id=salesperson.id,
    )
    update_vehicle_identifiers(
        engine,
        stock["leon"],
        vin="VSSZZZ5FZKR012345",
        order_number="",
        commission_number="",
        availability=Availability.RESERVED,
        updated_by_id=salesperson.id,
    )

    with reading(engine) as session:
        assert session.get(Vehicle, ordered.id).created_by_id == salesperson.id
        changed = session.get(Vehicle, stock["leon"])
        assert changed.updated_by_id == salesperson.id
        assert changed.updated_at is not None
        untouched = session.get(Vehicle, stock["golf"])
        assert (untouched.updated_by_id, untouched.updated_at) == (None, None)


def test_identifiers_of_the_same_vehicle_can_be_saved_again(
    engine: Engine, stock: dict[str, int]
) -> None:
    updated = update_vehicle_identifiers(
        engine,
        stock["leon"],
        vin="VSSZZZ5FZKR012345",
        order_number="",
        commission_number="C-40917",
        availability=Availability.RESERVED,
    )

    assert (updated.order_number, updated.availability) == (None, Availability.RESERVED)
    assert stored(engine, stock["leon"]) == (
        "VSSZZZ5FZKR012345",
        None,
        "C-40917",
        Availability.RESERVED,
    )


def test_unknown_availability_or_vehicle_is_refused(
    engine: Engine, stock: dict[str, int]
) -> None:
    with pytest.raises(InvalidInput) as unknown:
        update_vehicle_identifiers(
            engine,
            stock["golf"],
            vin=None,
            order_number=None,
            commission_number=None,
            availability="LOST",
        )
    with pytest.raises(NotFound):
        update_vehicle_identifiers(
            engine, 999_999, vin=None, order_number=None, commission_number=None
        )

    assert unknown.value.message == "Indicador del vehículo desconocido."


def test_factory_order_number_is_not_given_twice(engine):
    values = {
        "make": "Tesla",
        "model": "Model 3",
        "version": "",
        "colour": "",
        "price_cents": 4599000,
        "order_number": "PO-1",
    }
    create_factory_order(engine, **values)

    with pytest.raises(InvalidInput, match="número de pedido «PO-1» ya está asignado"):
        create_factory_order(engine, **values)
    assert len(search_vehicles(engine, "PO-1", available_only=False)) == 1
