"""The catalogue, kept in step with the maker's 1C (CommerceML 2: integrations/onec/, read by services/catalogue.py),
and what else goes to and from 1C: the exchange's sessions, the portal's cart, order requests' export to 1C and
the documents 1C sends back for them.

Every row 1C sends keeps 1C's own id (`external_id`, the <Ид>) so a later package updates it instead of adding
another; `import_run` is the import (catalog_imports.id) that last mentioned it: a full package deactivates, at
its end, the products (and removes the prices and stock) that it did not mention."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base


class CatalogGroup(Base):
    __tablename__ = "catalog_groups"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    external_id: Mapped[str] = mapped_column(String(100), unique=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("catalog_groups.id", ondelete="SET NULL"), index=True)
    name: Mapped[str] = mapped_column(String(300))
    position: Mapped[int] = mapped_column(Integer, default=0)  # order within the parent, as 1C lists them
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    import_run: Mapped[int] = mapped_column(Integer, default=0)


class CatalogProperty(Base):
    """A property of the classifier (Свойство): its name, and for a directory its values (value id -> text), so a
    product's property given as a value id reads as the text."""

    __tablename__ = "catalog_properties"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    external_id: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(32), default="Строка")  # 1C's ТипЗначений: Строка, Число, Справочник…
    choices: Mapped[dict[str, Any]]
    import_run: Mapped[int] = mapped_column(Integer, default=0)


class CatalogProduct(Base):
    """A product (Товар) or one of its variants (an offer `product#characteristic` of offers.xml, `variant_of_id`
    pointing at the product). `search_text` is name, article and barcode case-folded in Python (SQLite's lower()
    folds only ASCII), so search is one LIKE per word on both databases. `quantity` is the stock over all
    warehouses (or 1C's bare Количество), so «in stock» needs no join."""

    __tablename__ = "catalog_products"
    __table_args__ = (
        Index("ix_catalog_products_active_name", "active", "name"),
        # PostgreSQL only (migration 0014_search_index): a word anywhere in search_text found by trigrams, not a scan.
        Index(
            "ix_catalog_products_search_trgm",
            "search_text",
            postgresql_using="gin",
            postgresql_ops={"search_text": "gin_trgm_ops"},
        ).ddl_if(dialect="postgresql"),
        # Half-empty pages on PostgreSQL (migration 0017_catalog_fillfactor): offers' updates stay in the page.
        {"postgresql_with": {"fillfactor": 50}},
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    external_id: Mapped[str] = mapped_column(String(100), unique=True)
    variant_of_id: Mapped[int | None] = mapped_column(ForeignKey("catalog_products.id", ondelete="CASCADE"))
    group_id: Mapped[int | None] = mapped_column(ForeignKey("catalog_groups.id", ondelete="SET NULL"), index=True)
    name: Mapped[str] = mapped_column(String(500))
    article: Mapped[str | None] = mapped_column(String(100), index=True)
    barcode: Mapped[str | None] = mapped_column(String(64), index=True)
    unit: Mapped[str | None] = mapped_column(String(32))  # the unit's short name (шт, кг, м)
    unit_code: Mapped[str | None] = mapped_column(String(16))  # its OKEI code as 1C gave it (796), if it did
    description: Mapped[str | None] = mapped_column(Text)
    properties: Mapped[dict[str, Any]]  # property name -> value text (and ЗначенияРеквизитов: requisite -> value)
    images: Mapped[list[Any]]  # paths relative to the exchange directory (services/catalogue.image_path)
    quantity: Mapped[Decimal] = mapped_column(Numeric(14, 3), default=Decimal(0))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    search_text: Mapped[str] = mapped_column(Text, default="")
    import_run: Mapped[int] = mapped_column(Integer, default=0)  # the last import that mentioned it in import.xml
    offer_run: Mapped[int | None] = mapped_column(Integer)  # the last import that gave it as an offer (offers.xml)
    updated_at: Mapped[datetime]


class CatalogPriceType(Base):
    """A price type (ТипЦены): «Оптовая», «Розничная»… A dealer's `companies.price_type` names one (its name or
    its external id)."""

    __tablename__ = "catalog_price_types"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    external_id: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    currency: Mapped[str] = mapped_column(String(8), default="RUB")
    import_run: Mapped[int] = mapped_column(Integer, default=0)


class CatalogPrice(Base):
    __tablename__ = "catalog_prices"
    __table_args__ = (Index("ix_catalog_prices_type_value", "price_type_id", "value"),)
    # A catalog_products id with no foreign key (migration 0020_catalog_offer_fks): its check per row was most of
    # the cost of inserting a price; services.catalogue_import.delete_products removes a product's prices with it.
    product_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    price_type_id: Mapped[int] = mapped_column(
        ForeignKey("catalog_price_types.id", ondelete="CASCADE"), primary_key=True
    )
    value: Mapped[Decimal] = mapped_column(Numeric(14, 2))  # per `unit` of the product
    currency: Mapped[str] = mapped_column(String(8), default="RUB")
    import_run: Mapped[int] = mapped_column(Integer, default=0)


class CatalogWarehouse(Base):
    __tablename__ = "catalog_warehouses"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    external_id: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    import_run: Mapped[int] = mapped_column(Integer, default=0)


class CatalogStock(Base):
    __tablename__ = "catalog_stock"
    # No foreign key, as catalog_prices.product_id (migration 0020_catalog_offer_fks; delete_products keeps it).
    product_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    warehouse_id: Mapped[int] = mapped_column(
        ForeignKey("catalog_warehouses.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    quantity: Mapped[Decimal] = mapped_column(Numeric(14, 3))
    import_run: Mapped[int] = mapped_column(Integer, default=0)


class CatalogImport(Base):
    """One import: from files (`konveyer catalog import`) or from 1C's exchange (one per `mode=import` file, the
    exchange session's token hash in `session`). Its status is what the next `mode=import` call answers, whichever
    worker it reaches."""

    __tablename__ = "catalog_imports"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session: Mapped[str | None] = mapped_column(String(64), index=True)
    filename: Mapped[str] = mapped_column(String(255), default="")
    status: Mapped[str] = mapped_column(String(16), default="running")  # running | done | failed
    only_changes: Mapped[bool] = mapped_column(Boolean, default=False)  # СодержитТолькоИзменения="true"
    counts: Mapped[dict[str, Any]]
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]  # a running import whose worker died stops beating; it is failed then


class ExchangeSession(Base):
    """A session of 1C's exchange (after `mode=checkauth`): the cookie's value is kept only as its hash."""

    __tablename__ = "onec_sessions"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    login: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)
    data: Mapped[dict[str, Any]]  # what the session's calls left for the next (e.g. the sale export's mark)


class CartLine(Base):
    """A product in a person's cart (seed 4): «В заявку» on a product's card adds it; the cart becomes an order
    request when submitted (prices are read then, from the dealer's price type) or a reclamation's parts. The
    product is named by the catalogue's id for it (its 1C Ид), so the cart outlives a catalogue reload."""

    __tablename__ = "cart_lines"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    product: Mapped[str] = mapped_column(String(80))
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    added_at: Mapped[datetime]

    __table_args__ = (UniqueConstraint("user_id", "product"),)


class OrderExport(Base):
    """An order request's way to 1C over the exchange (type=sale): `queried_at` when a `mode=query` last sent it,
    `exported_at` once 1C confirmed that query with `mode=success` (until then every query sends it again); the
    `cancel_` pair the same for its cancellation."""

    __tablename__ = "order_exports"
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)
    queried_at: Mapped[datetime | None]
    exported_at: Mapped[datetime | None] = mapped_column(index=True)
    # The same for its cancellation: an order 1C has, cancelled here, goes to 1C again marked «Отменен».
    cancel_queried_at: Mapped[datetime | None]
    cancel_exported_at: Mapped[datetime | None]


class OneCDocument(Base):
    """A version of a document 1C sent for an order request (an invoice, shipment papers): 1C's `Ид` and
    `НомерВерсии`, its kind, number, date and amount, the digest of its content, and the printable file made of it
    (services/onec_documents/). The same version sent again is found by (case, Ид, digest) and not attached twice."""

    __tablename__ = "onec_documents"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    onec_id: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(32))  # invoice | shipment | upd
    number: Mapped[str] = mapped_column(String(64))
    doc_date: Mapped[str] = mapped_column(String(32))
    version: Mapped[str] = mapped_column(String(64))
    digest: Mapped[str] = mapped_column(String(64))
    amount: Mapped[str] = mapped_column(String(32))
    file_id: Mapped[int | None] = mapped_column(ForeignKey("files.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]

    __table_args__ = (UniqueConstraint("case_id", "onec_id", "digest"),)
