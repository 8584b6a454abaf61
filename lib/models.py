"""The domain tables.

Money is stored in integer cents so that lines, taxes and totals add up to
the cent on every database. Times are stored in UTC.
"""

from datetime import UTC, date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """A timestamp that always comes back aware and in UTC (SQLite forgets)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(
        self, value: datetime | None, dialect: object
    ) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(
        self, value: datetime | None, dialect: object
    ) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    pass


class Role:
    """User roles as (key, label) pairs."""

    SALES = "SALES"
    MANAGER = "MANAGER"
    LABELS = {SALES: "Comercial", MANAGER: "Gerente"}


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254), default="")
    phone: Mapped[str] = mapped_column(String(32), default="")
    role: Mapped[str] = mapped_column(String(16), default=Role.SALES)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    password_hash: Mapped[str | None] = mapped_column(String(255), nullable=True)
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    oidc_subject: Mapped[str | None] = mapped_column(
        String(255), nullable=True, unique=True
    )


class Condition:
    """Vehicle conditions as (key, label) pairs."""

    NEW = "NEW"
    KM0 = "KM0"
    DEMO = "DEMO"
    USED = "USED"
    EMPLOYEE = "EMPLOYEE"
    LABELS = {
        NEW: "Nuevo",
        KM0: "KM0",
        DEMO: "Demo",
        USED: "Seminuevo",
        EMPLOYEE: "Vehículo de empleado",
    }


class Availability:
    """Vehicle availability (the indicador del vehículo) as (key, label) pairs."""

    IN_STOCK = "IN_STOCK"
    IN_TRANSIT = "IN_TRANSIT"
    FACTORY_ORDER = "FACTORY_ORDER"
    RESERVED = "RESERVED"
    SOLD = "SOLD"
    LABELS = {
        IN_STOCK: "En stock",
        IN_TRANSIT: "En tránsito",
        FACTORY_ORDER: "Pedido a fábrica",
        RESERVED: "Reservado",
        SOLD: "Vendido",
    }
    ICONS = {
        IN_STOCK: "🟢",
        IN_TRANSIT: "🚚",
        FACTORY_ORDER: "🏭",
        RESERVED: "🟡",
        SOLD: "🔴",
    }


class StockImport(Base):
    """One stock file loaded; the same file is not loaded twice."""

    __tablename__ = "stock_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    file_name: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    imported_rows: Mapped[int] = mapped_column(default=0)
    skipped_rows: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    imported_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id"), nullable=True
    )


class Vehicle(Base):
    __tablename__ = "vehicles"
    __table_args__ = (
        Index("ix_vehicles_make_model", "make", "model"),
        Index("ix_vehicles_availability", "availability"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    make: Mapped[str] = mapped_column(String(80))
    model: Mapped[str] = mapped_column(String(120))
    version: Mapped[str] = mapped_column(String(120), default="")
    colour: Mapped[str] = mapped_column(String(60), default="")
    fuel: Mapped[str] = mapped_column(String(40), default="")
    gear: Mapped[str] = mapped_column(String(40), default="")
    condition: Mapped[str] = mapped_column(String(16), default=Condition.USED)
    availability: Mapped[str] = mapped_column(String(16), default=Availability.IN_STOCK)
    price_cents: Mapped[int] = mapped_column(BigInteger)
    power_hp: Mapped[int | None] = mapped_column(Integer, nullable=True)
    year: Mapped[int | None] = mapped_column(Integer, nullable=True)
    mileage_km: Mapped[int | None] = mapped_column(Integer, nullable=True)
    co2_gkm: Mapped[int | None] = mapped_column(Integer, nullable=True)
    vin: Mapped[str | None] = mapped_column(String(17), nullable=True, index=True)
    order_number: Mapped[str | None] = mapped_column(
        String(40), nullable=True, index=True
    )
    commission_number: Mapped[str | None] = mapped_column(
        String(40), nullable=True, index=True
    )
    stock_import_id: Mapped[int | None] = mapped_column(
        ForeignKey("stock_imports.id"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Who registered a factory order; an imported vehicle's import says who.
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id"), nullable=True
    )
    # The last change of identifiers or availability on the Stock page.
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    updated_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id"), nullable=True
    )

    @property
    def title(self) -> str:
        return " ".join(part for part in (self.make, self.model, self.version) if part)


class Customer(Base):
    __tablename__ = "customers"
    __table_args__ = (Index("ix_customers_name", "last_name", "first_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    first_name: Mapped[str] = mapped_column(String(120))
    last_name: Mapped[str] = mapped_column(String(200), default="")
    phone: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    email: Mapped[str | None] = mapped_column(String(254), nullable=True, index=True)
    tax_id: Mapped[str | None] = mapped_column(String(16), nullable=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id"), nullable=True
    )
    email_consent_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime, nullable=True
    )
    email_consent_method: Mapped[str] = mapped_column(String(40), default="")
    email_consent_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id"), nullable=True
    )
    # Accent-free, lower-case name, phone digits, email and document: what the
    # customer list is searched in, the same way on SQLite and PostgreSQL.
    search_text: Mapped[str] = mapped_column(Text, default="")

    @property
    def full_name(self) -> str:
        return " ".join(part for part in (self.first_name, self.last_name) if part)


class OfferStatus:
    """Offer statuses as (key, label) pairs."""

    FOLLOW_UP = "FOLLOW_UP"
    WON = "WON"
    LOST = "LOST"
    LABELS = {FOLLOW_UP: "en Seguimiento", WON: "Éxito", LOST: "Fracaso"}


class OfferCounter(Base):
    """The last offer number given in a year; numbers are never reused."""

    __tablename__ = "offer_counters"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_value: Mapped[int] = mapped_column(Integer, default=0)


class Offer(Base):
    __tablename__ = "offers"
    __table_args__ = (
        Index("ix_offers_status_created", "status", "created_at", "id"),
        Index("ix_offers_created", "created_at", "id"),
        Index(
            "ix_offers_salesperson_status_created",
            "salesperson_id",
            "status",
            "created_at",
            "id",
        ),
        Index("ix_offers_status_band", "status", "band"),
        Index("ix_offers_temperature", "temperature", "id"),
        Index("ix_offers_status_temperature", "status", "temperature", "id"),
        Index(
            "ix_offers_salesperson_status_temperature",
            "salesperson_id",
            "status",
            "temperature",
            "id",
        ),
        Index("ix_offers_next_contact", "status", "next_contact_on"),
        Index("ix_offers_last_delivered", "last_delivered_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    request_token: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(16), default=OfferStatus.FOLLOW_UP)
    vehicle_id: Mapped[int] = mapped_column(ForeignKey("vehicles.id"), index=True)
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id"), nullable=True, index=True
    )
    salesperson_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    price_cents: Mapped[int] = mapped_column(BigInteger)
    discount_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    options_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    transport_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    registration_tax_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    temperature: Mapped[float] = mapped_column(Float)
    band: Mapped[int] = mapped_column(Integer, default=0)
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    valid_until: Mapped[date | None] = mapped_column(Date, nullable=True)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    delivered_revision: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_delivered_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime, nullable=True
    )
    delivery_count: Mapped[int] = mapped_column(default=0)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    next_contact_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    lost_reason_id: Mapped[int | None] = mapped_column(
        ForeignKey("lost_reasons.id"), nullable=True
    )
    competitor_make: Mapped[str] = mapped_column(String(80), default="")
    competitor_model: Mapped[str] = mapped_column(String(120), default="")
    # Accent-free, lower-case words of the offer, its customer and its vehicle,
    # kept by the services; FTS5 (SQLite) or pg_trgm (PostgreSQL) indexes it.
    search_text: Mapped[str] = mapped_column(Text, default="")

    vehicle: Mapped[Vehicle] = relationship(lazy="joined")
    customer: Mapped[Customer | None] = relationship(lazy="joined")
    salesperson: Mapped[User] = relationship(lazy="joined")


class DeliveryChannel:
    """Delivery channels as (key, label) pairs."""

    EMAIL = "EMAIL"
    PRINT = "PRINT"
    LABELS = {EMAIL: "Correo electrónico", PRINT: "Impresión"}


class DeliveryResult:
    """Delivery results as (key, label) pairs."""

    PENDING = "PENDING"
    SENT = "SENT"
    FAILED = "FAILED"
    LABELS = {PENDING: "En curso", SENT: "Entregada", FAILED: "Fallida"}


class Delivery(Base):
    """One attempt to hand an offer over to its customer."""

    __tablename__ = "deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    offer_id: Mapped[int] = mapped_column(ForeignKey("offers.id"), index=True)
    request_token: Mapped[str] = mapped_column(String(64), unique=True)
    channel: Mapped[str] = mapped_column(String(16))
    recipient: Mapped[str] = mapped_column(String(254), default="")
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    result: Mapped[str] = mapped_column(String(16), default=DeliveryResult.PENDING)
    error: Mapped[str] = mapped_column(Text, default="")
    document_sha256: Mapped[str] = mapped_column(String(64), default="")
    offer_revision: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class LostReason(Base):
    """Why an offer was lost; the dealership edits the list."""

    __tablename__ = "lost_reasons"

    id: Mapped[int] = mapped_column(primary_key=True)
    label: Mapped[str] = mapped_column(String(120), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    # Who added, retired or brought back the reason last, and when.
    changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    changed_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id"), nullable=True
    )


class ActivityKind:
    """Follow-up activity kinds as (key, label) pairs."""

    CALL = "CALL"
    VISIT = "VISIT"
    TEST_DRIVE = "TEST_DRIVE"
    EMAIL = "EMAIL"
    NOTE = "NOTE"
    LABELS = {
        CALL: "Llamada",
        VISIT: "Visita",
        TEST_DRIVE: "Prueba de conducción",
        EMAIL: "Correo",
        NOTE: "Nota",
    }
    ICONS = {CALL: "📞", VISIT: "🤝", TEST_DRIVE: "🚗", EMAIL: "✉️", NOTE: "📝"}


class Activity(Base):
    """One follow-up step on an offer: a call, a visit, a test drive, a note."""

    __tablename__ = "activities"
    __table_args__ = (Index("ix_activities_offer_happened", "offer_id", "happened_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    offer_id: Mapped[int] = mapped_column(ForeignKey("offers.id"))
    kind: Mapped[str] = mapped_column(String(16))
    happened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OfferEventKind:
    """What happened to an offer, as (key, label) pairs."""

    CREATED = "CREATED"
    STATUS = "STATUS"
    REOPENED = "REOPENED"
    CUSTOMER = "CUSTOMER"
    TERMS = "TERMS"
    REASSIGNED = "REASSIGNED"
    VEHICLE = "VEHICLE"
    LABELS = {
        CREATED: "Creada",
        STATUS: "Cambio de estado",
        REOPENED: "Reabierta",
        CUSTOMER: "Cliente añadido",
        TERMS: "Condiciones cambiadas",
        REASSIGNED: "Reasignada",
        VEHICLE: "Datos del vehículo",
    }


class OfferEvent(Base):
    """The history of an offer: what changed, from what, to what, who, when."""

    __tablename__ = "offer_events"
    __table_args__ = (Index("ix_offer_events_offer_at", "offer_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    offer_id: Mapped[int] = mapped_column(ForeignKey("offers.id"))
    kind: Mapped[str] = mapped_column(String(16))
    from_value: Mapped[str] = mapped_column(String(255), default="")
    to_value: Mapped[str] = mapped_column(String(255), default="")
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    note: Mapped[str] = mapped_column(Text, default="")


class OfferCount(Base):
    """How many offers each salesperson has per status and temperature band.

    Kept in the same transaction as every change to an offer, so the KPIs
    and the chart read a few rows instead of counting the offers table.
    """

    __tablename__ = "offer_counts"

    salesperson_id: Mapped[int] = mapped_column(
        ForeignKey("users.id"), primary_key=True, autoincrement=False
    )
    status: Mapped[str] = mapped_column(String(16), primary_key=True)
    band: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    offers: Mapped[int] = mapped_column(BigInteger, default=0)


class SecurityEvent(Base):
    """Logins, lockouts and refused attempts, kept for whoever audits access."""

    __tablename__ = "security_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    username: Mapped[str] = mapped_column(String(80), default="")
    event: Mapped[str] = mapped_column(String(40))
    detail: Mapped[str] = mapped_column(Text, default="")

    # Failures of a name that has no account are counted from here.
    __table_args__ = (Index("ix_security_events_username_at", "username", "at"),)
