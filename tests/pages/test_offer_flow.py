"""Both paths of the seed page, every delivery option, and No se ha encontrado."""

from sqlalchemy import func, select

from lib.db import reading
from lib.models import Availability, Customer, Delivery, DeliveryResult, Vehicle
from lib.offers import get_offer, list_offers

from .conftest import outbox_messages, stored_offer


def texts(at) -> str:
    """Everything the page shows as text, in one string."""
    parts = [element.value for element in at.markdown]
    parts += [element.value for element in at.success]
    parts += [element.value for element in at.info]
    parts += [element.value for element in at.warning]
    parts += [element.value for element in at.error]
    parts += [element.value for element in at.caption]
    parts += [element.value for element in at.text]
    return "\n".join(str(part) for part in parts)


def go_to_resumen(at, query: str = "León", temperature: int = 70):
    at.text_input(key="nueva_query").input(query).run()
    at.slider(key="nueva_temperature").set_value(temperature).run()
    at.button(key="nueva_continue").click().run()
    assert at.title[0].value == "Resumen de la oferta"
    return at


def pick_customer(at, prefix: str, query: str, customer_id: int):
    at.button(key=f"{prefix}_pick_customer").click().run()
    at.text_input(key=f"{prefix}_customer_query").input(query).run()
    at.radio(key=f"{prefix}_customer_choice").set_value(customer_id).run()
    at.button(key=f"{prefix}_choose_customer").click().run()
    return at


def deliver_now(at, prefix: str, offer_id: int, channel: str):
    key = f"{prefix}_delivery_{offer_id}"
    at.button(key=f"{key}_open").click().run()
    at.button(key=f"{key}_now").click().run()
    at.radio(key=f"{key}_channel").set_value(channel).run()
    at.button(key=f"{key}_send").click().run()
    return at


def only_offer(engine):
    offers = list_offers(engine).offers
    assert len(offers) == 1
    return offers[0]


def test_resumen_select_customer_create_and_email(
    app, app_db, stock_vehicle, known_customer, tmp_path
):
    go_to_resumen(app)
    pick_customer(app, "resumen", "Muñoz", known_customer.id)
    assert "Íñigo Muñoz Peñalver" in texts(app)

    app.button(key="resumen_create").click().run()
    offer = only_offer(app_db)
    assert f"Oferta {offer.number} · en Seguimiento" in texts(app)
    assert offer.customer.id == known_customer.id
    assert offer.temperature == 0.7

    deliver_now(app, "resumen", offer.id, "EMAIL")
    assert not app.exception
    assert (
        "Correo para inigo.munoz@correo.example preparado. Guardado como Oferta_"
    ) in texts(app)
    assert "no ha salido de esta máquina." in texts(app)
    assert "Oferta enviada" not in texts(app)
    messages = outbox_messages(tmp_path)
    assert len(messages) == 1
    assert messages[0]["To"].addresses[0].display_name == "Íñigo Muñoz Peñalver"
    delivered = get_offer(app_db, offer.id)
    assert delivered.delivery_count == 1
    assert delivered.last_delivered_at is not None


def test_resumen_no_se_ha_encontrado_creates_customer_and_prints(
    app, app_db, stock_vehicle, tmp_path
):
    go_to_resumen(app)
    app.button(key="resumen_pick_customer").click().run()
    app.text_input(key="resumen_customer_query").input("Zoë").run()
    assert "Ningún cliente coincide con la búsqueda." in texts(app)
    app.button(key="resumen_not_found").click().run()
    app.text_input(key="resumen_first_name").input("Zoë")
    app.text_input(key="resumen_last_name").input("Vidal i Roca")
    app.text_input(key="resumen_phone").input("656 78 90 12")
    app.text_input(key="resumen_email").input("zoe.vidal@correo.example")
    app.text_input(key="resumen_tax_id").input("45678901G")
    app.button(key="FormSubmitter:resumen_customer_form-Guardar cliente").click().run()
    assert not app.error, [e.value for e in app.error]
    assert "Zoë Vidal i Roca" in texts(app)

    app.button(key="resumen_create").click().run()
    offer = only_offer(app_db)
    assert offer.customer.tax_id == "45678901G"
    assert offer.customer.phone == "+34656789012"

    deliver_now(app, "resumen", offer.id, "PRINT")
    assert "PDF listo para imprimir." in texts(app)
    download = app.get("download_button")
    assert [button.proto.label for button in download] == ["Descargar PDF"]
    assert outbox_messages(tmp_path) == []
    assert get_offer(app_db, offer.id).last_delivered_at is not None


def test_no_se_ha_encontrado_rejects_bad_phone_and_stores_nothing(
    app, app_db, stock_vehicle
):
    go_to_resumen(app)
    app.button(key="resumen_pick_customer").click().run()
    app.button(key="resumen_not_found").click().run()
    app.text_input(key="resumen_first_name").input("Raúl")
    app.text_input(key="resumen_phone").input("12345")
    app.button(key="FormSubmitter:resumen_customer_form-Guardar cliente").click().run()

    assert [e.value for e in app.error] == [
        "El teléfono «12345» no es un número válido."
    ]
    assert not app.exception
    with reading(app_db) as session:
        assert session.scalar(select(func.count(Customer.id))) == 0


def test_no_se_ha_encontrado_offers_existing_customer(
    app, app_db, stock_vehicle, known_customer
):
    go_to_resumen(app)
    app.button(key="resumen_pick_customer").click().run()
    app.button(key="resumen_not_found").click().run()
    app.text_input(key="resumen_first_name").input("Iñigo")
    app.text_input(key="resumen_email").input("INIGO.MUNOZ@correo.example")
    app.button(key="FormSubmitter:resumen_customer_form-Guardar cliente").click().run()
    assert "Ya existe un cliente con el mismo correo" in texts(app)

    app.button(key=f"resumen_use_{known_customer.id}").click().run()
    app.button(key="resumen_create").click().run()

    assert only_offer(app_db).customer.id == known_customer.id
    with reading(app_db) as session:
        assert session.scalar(select(func.count(Customer.id))) == 1


def test_crear_oferta_twice_stores_one_offer(app, app_db, stock_vehicle):
    go_to_resumen(app)
    token = app.session_state["offer_draft"]["token"]

    app.button(key="resumen_create").click().run()
    # A second click that reached the server with the same draft.
    app.session_state["offer_draft"] = {
        "token": token,
        "vehicle_id": stock_vehicle.id,
        "discount_cents": 0,
        "temperature": 0.7,
        "notes": "",
        "customer_id": None,
    }
    del app.session_state["resumen_offer_id"]
    app.run()
    app.button(key="resumen_create").click().run()

    assert list_offers(app_db).total == 1


def test_factory_order_is_registered_once_and_offered(app, app_db, stock_vehicle):
    app.radio(key="nueva_source").set_value("Pedido a fábrica").run()
    app.text_input(key="nueva_factory_make").input("Škoda")
    app.text_input(key="nueva_factory_model").input("Elroq")
    app.text_input(key="nueva_factory_price").input("34.000,00")
    submit = "FormSubmitter:nueva_factory_form-Registrar pedido a fábrica"
    app.button(key=submit).click().run()
    app.button(key=submit).click().run()

    assert not app.exception, app.exception
    # Only what a new vehicle still needs: its CO2, for the registration tax.
    assert [e.value for e in app.error] == [
        "Indique las emisiones de CO2 (g/km) del vehículo nuevo: sin ellas no se "
        "puede calcular el impuesto de matriculación."
    ]
    assert "Pedido a fábrica registrado: 🏭 Škoda Elroq" in texts(app)
    with reading(app_db) as session:
        ordered = session.scalars(select(Vehicle).where(Vehicle.model == "Elroq")).all()
        assert [(v.availability, v.price_cents) for v in ordered] == [
            (Availability.FACTORY_ORDER, 3_400_000)
        ]
    app.number_input(key="nueva_co2").set_value(0).run()
    app.button(key="nueva_continue").click().run()
    assert app.title[0].value == "Resumen de la oferta"
    assert "Škoda Elroq" in texts(app)


def test_no_entregar_ahora_lands_on_ofertas(
    app, app_db, stock_vehicle, known_customer, tmp_path
):
    go_to_resumen(app)
    pick_customer(app, "resumen", "Muñoz", known_customer.id)
    app.button(key="resumen_create").click().run()
    offer = only_offer(app_db)

    app.button(key=f"resumen_delivery_{offer.id}_open").click().run()
    app.button(key=f"resumen_delivery_{offer.id}_later").click().run()

    assert app.title[0].value == "Ofertas"
    assert f"La oferta {offer.number} no se ha entregado" in texts(app)
    table = app.dataframe[0].value
    assert list(table["Número"]) == [offer.number]
    assert list(table["Estado"]) == ["en Seguimiento"]
    assert list(table["Última entrega"]) == [""]
    assert outbox_messages(tmp_path) == []
    with reading(app_db) as session:
        assert session.scalar(select(func.count(Delivery.id))) == 0


def test_ofertas_add_customer_then_print(
    app, app_db, seller, stock_vehicle, known_customer
):
    offer = stored_offer(app_db, seller, stock_vehicle, temperature=0.4)
    app.switch_page("pages/ofertas.py").run()
    table = app.dataframe[0].value
    assert list(table["Cliente"]) == ["Sin cliente"]
    assert list(table["Temperatura"]) == ["🌤️ 40\xa0%"]
    assert list(table["Vehículo"]) == ["🟢 En stock"]
    assert list(table["Bastidor"]) == ["VSSZZZKJZRR012345"]

    app.selectbox(key="ofertas_selected").set_value(offer.id).run()
    assert "Esta oferta no tiene cliente" in texts(app)
    pick_customer(app, "ofertas", "Peñalver", known_customer.id)
    assert get_offer(app_db, offer.id).customer.id == known_customer.id

    deliver_now(app, "ofertas", offer.id, "PRINT")
    assert "PDF listo para imprimir." in texts(app)
    assert [b.proto.label for b in app.get("download_button")] == ["Descargar PDF"]
    delivered = get_offer(app_db, offer.id)
    assert delivered.delivery_count == 1
    with reading(app_db) as session:
        results = list(session.scalars(select(Delivery.result)))
    assert results == [DeliveryResult.SENT]


def test_ofertas_email_without_address_is_not_offered(
    app, app_db, seller, stock_vehicle
):
    from lib.customers import create_customer

    customer = create_customer(app_db, first_name="Begoña", phone="634567890")
    offer = stored_offer(
        app_db, seller, stock_vehicle, temperature=0.4, customer_id=customer.id
    )
    app.switch_page("pages/ofertas.py").run()
    app.selectbox(key="ofertas_selected").set_value(offer.id).run()
    key = f"ofertas_delivery_{offer.id}"
    app.button(key=f"{key}_open").click().run()
    app.button(key=f"{key}_now").click().run()

    assert app.radio(key=f"{key}_channel").options == ["Imprimir"]
    assert "Begoña no tiene correo electrónico: imprima la oferta." in texts(app)
    assert app.button(key=f"{key}_send").label == "Imprimir oferta"
    assert get_offer(app_db, offer.id).delivery_count == 0


def test_resumen_shows_the_remarks_that_will_print(app, app_db, stock_vehicle):
    app.text_input(key="nueva_query").input("León").run()
    app.text_area(key="nueva_notes").input("Incluye alfombrillas y revisión").run()

    go_to_resumen(app)

    assert "**Observaciones para el cliente**" in texts(app)
    assert "Incluye alfombrillas y revisión" in texts(app)


def test_resumen_price_lines_read_as_in_the_pdf_with_amounts_to_the_right(
    app, app_db, stock_vehicle
):
    go_to_resumen(app)

    table = next(
        element.value
        for element in app.markdown
        if element.value.startswith("| Concepto")
    )
    # Amounts keep a no-break space before the euro sign.
    assert table.replace("\xa0", " ").splitlines() == [
        "| Concepto | Importe |",
        "| :-- | --: |",
        "| Precio del vehículo (IVA incluido) | 23.450,00 € |",
        "| Opciones y accesorios | 0,00 € |",
        "| Descuento | 0,00 € |",
        "| Transporte y preentrega | 0,00 € |",
        "| Base imponible | 19.380,17 € |",
        "| IVA 21 % | 4.069,83 € |",
        "| Impuesto de matriculación (0,00 %) | 0,00 € |",
        "| **Total** | **23.450,00 €** |",
    ]
