"""What the parser (integrations/onec/commerceml.py) reads from a CommerceML file and the writer stores.

Products and offers come by the hundred thousand: they are slotted dataclasses (a frozen one pays an
`object.__setattr__` a field), made once by the parser and only read after. Numbers stay Decimal: the writer turns
them into what each database stores.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class Group:
    external_id: str
    name: str
    parent: str | None  # the parent's external id
    position: int


@dataclass(frozen=True, slots=True)
class Property:
    external_id: str
    name: str
    kind: str
    choices: dict[str, str]  # a directory's value id -> its text


@dataclass(slots=True)
class Product:
    external_id: str
    name: str
    article: str | None = None
    barcode: str | None = None
    unit: str | None = None
    description: str | None = None
    group: str | None = None  # the group's external id
    properties: tuple[tuple[str, str], ...] = ()  # (property id, value text or value id)
    requisites: tuple[tuple[str, str], ...] = ()  # ЗначенияРеквизитов: (name, value)
    images: tuple[str, ...] = ()
    deleted: bool = False
    unit_code: str | None = None  # the unit's OKEI code as 1C gave it («796»), sent back with an order's line


@dataclass(frozen=True, slots=True)
class PriceType:
    external_id: str
    name: str
    currency: str


@dataclass(frozen=True, slots=True)
class Warehouse:
    external_id: str
    name: str


@dataclass(slots=True)
class Price:
    price_type: str  # external id
    value: Decimal
    currency: str | None


@dataclass(slots=True)
class Offer:
    """An offer: `external_id` is a product's id, or `product#characteristic` for a variant. What a part of a split
    package leaves out stays None/empty and is not touched (a prices___ file has no stock, a rests___ no prices)."""

    external_id: str
    name: str | None = None
    prices: tuple[Price, ...] | None = None
    quantity: Decimal | None = None  # the total (Количество), when given
    stock: tuple[tuple[str, Decimal], ...] | None = None  # (warehouse id, quantity)
    characteristics: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Organisation:
    """A `Контрагент` of the package's `Контрагенты` (services/companies/ `onec_contragent`): found by 1C's Ид,
    else by INN, and created or updated as 1C's documents' counterparties are (`companies.from_onec`)."""

    onec_id: str
    name: str
    inn: str = ""
    kpp: str = ""
    contacts: str = ""

    def details(self) -> dict[str, str]:
        return {"onec_id": self.onec_id, "name": self.name, "inn": self.inn, "kpp": self.kpp, "contacts": self.contacts}


Record = Group | Property | Product | PriceType | Warehouse | Offer | Organisation

# What a full package sweeps, by what it carried.
SWEEPS = ("groups", "products", "offers", "prices", "stock")
