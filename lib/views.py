"""Plain, read-only pictures of records, handed from services to pages and documents.

They carry no session and no lazy loading, so they can cross a transaction's
end, a cache or a thread safely.
"""

from dataclasses import dataclass
from datetime import date, datetime

from lib.pricing import PriceBreakdown


@dataclass(frozen=True)
class CustomerView:
    id: int
    first_name: str
    last_name: str
    phone: str | None
    email: str | None
    tax_id: str | None
    email_consent_at: datetime | None = None
    email_consent_method: str = ""

    @property
    def full_name(self) -> str:
        return " ".join(part for part in (self.first_name, self.last_name) if part)


@dataclass(frozen=True)
class VehicleView:
    id: int
    make: str
    model: str
    version: str
    colour: str
    fuel: str
    gear: str
    condition: str
    availability: str
    price_cents: int
    power_hp: int | None
    year: int | None
    mileage_km: int | None
    vin: str | None
    order_number: str | None
    commission_number: str | None

    co2_gkm: int | None = None

    @property
    def title(self) -> str:
        return " ".join(part for part in (self.make, self.model, self.version) if part)


@dataclass(frozen=True)
class SalespersonView:
    id: int
    full_name: str
    email: str
    phone: str


@dataclass(frozen=True)
class OfferView:
    id: int
    number: str
    status: str
    created_at: datetime
    last_delivered_at: datetime | None
    delivery_count: int
    temperature: float
    notes: str
    prices: PriceBreakdown
    valid_until: date | None
    revision: int
    delivered_revision: int | None
    next_contact_on: date | None
    closed_at: datetime | None
    lost_reason: str
    competitor: str

    @property
    def changed_since_delivery(self) -> bool:
        """True when the offer was delivered and has changed since."""
        return (
            self.delivered_revision is not None
            and self.revision > self.delivered_revision
        )

    def expired(self, today: date) -> bool:
        """True when the offer is still open past its validity."""
        return (
            self.status == "FOLLOW_UP"
            and self.valid_until is not None
            and self.valid_until < today
        )

    vehicle: VehicleView
    customer: CustomerView | None
    salesperson: SalespersonView


@dataclass(frozen=True)
class Viewer:
    """Who is asking: every read and every act is scoped by it.

    A salesperson (``Role.SALES``) sees and acts on their own offers only; a
    sales manager (``Role.MANAGER``) sees all of them.
    """

    user_id: int
    role: str

    @property
    def sees_all(self) -> bool:
        return self.role == "MANAGER"
