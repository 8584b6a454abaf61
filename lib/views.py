"""Plain, read-only pictures of records, handed from services to pages and documents.

They carry no session and no lazy loading, so they can cross a transaction's
end, a cache or a thread safely.
"""

from dataclasses import dataclass
from datetime import datetime

from lib.pricing import PriceBreakdown


@dataclass(frozen=True)
class CustomerView:
    id: int
    first_name: str
    last_name: str
    phone: str | None
    email: str | None
    tax_id: str | None

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
    vehicle: VehicleView
    customer: CustomerView | None
    salesperson: SalespersonView
