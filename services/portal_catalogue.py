"""The catalogue as a dealer sees it (the portal's base, `services.portal`): their dealer and its credit, search,
a product's card, the groups, and the search as an Excel file.

What a dealer may see of the catalogue (`services.catalogue`, 1C fills it) is decided here once: the price of their
organisation's price type and nothing else, and no prices at all for someone without one.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import CartLine, CatalogPriceType, CatalogProduct, Company, StoredFile, User
from flows.i18n import _
from flows.runtime import EngineError
from flows.units import unit_text
from services import catalogue, companies
from services.core import Core
from services.portal_query import Filters, parse_query

IMAGE_KIND = "catalog_image"
EXPORT_KIND = "catalog_export"
EXPORT_LIMIT = 20_000  # rows in one file: the whole catalogue of a maker, yet a bounded update


_UNKNOWN = object()  # the price type not looked up yet (None is an answer: no price type)

def unit_words(unit: str | None, lang: str | None) -> tuple[str, ...]:
    """The units a quantity of the product may be typed with, the reader's first (the one a refusal names)."""
    if not unit:
        return ()
    return tuple(dict.fromkeys([unit_text(unit, lang), unit, unit_text(unit, "en"), unit_text(unit, "en", 2)]))


class PortalError(EngineError):
    """A refusal the person is told in words (an empty cart, a product without a price)."""


@dataclass(frozen=True)
class Offer:
    """A product as this dealer sees it."""

    product: CatalogProduct
    price: Decimal | None


@dataclass(frozen=True)
class Card:
    offer: Offer
    stock: list[catalogue.StockLine]
    group: list[str]
    image_file_id: int | None  # a stored copy of its first image, sent as the card's photo
    in_cart: int
    dealer: bool = False  # the reader is a dealer's: no price means theirs is not set (they are told whom to ask)


@dataclass(frozen=True)
class Export:
    """The catalogue's search as a dealer sees it, for a file: the same offers (their own prices only), the
    warehouses that hold any of them and each offer's stock there."""

    offers: list[Offer]
    warehouses: list[str]
    stock: dict[int, dict[str, Decimal]]
    truncated: bool  # more matched than EXPORT_LIMIT


class PortalCatalogue:
    """The request-scoped base of `Portal`: the person, their dealer and the catalogue as they see it."""

    def __init__(self, core: Core, session: AsyncSession, user: User) -> None:
        self.core = core
        self.session = session
        self.user = user
        self._price_type: object = _UNKNOWN

    # --- the catalogue as this person sees it -------------------------------------------------------

    async def organisation(self) -> Company | None:
        org = self.user.organisation_id
        return await self.session.get(Company, org) if org is not None else None

    async def credit(self) -> tuple[companies.Credit | None, str | None]:
        """This person's dealer's credit state and the date 1C gave its debt as of (None, None: no dealer)."""
        company = await self.organisation()
        if company is None:
            return None, None
        return await companies.credit_of(self.session, company), companies.debt_on(company)

    async def price_type_id(self) -> int | None:
        """The dealer's own price type; None for anyone without one (they see no prices at all). One query (the
        inline search asks it on every keystroke), kept for the rest of the update."""
        if self._price_type is not _UNKNOWN:
            return self._price_type  # type: ignore[return-value]
        org = self.user.organisation_id
        found = None
        if org is not None:
            rows = await self.session.execute(
                select(CatalogPriceType.id)
                .join(
                    Company,
                    or_(
                        Company.price_type == CatalogPriceType.external_id, Company.price_type == CatalogPriceType.name
                    ),
                )
                .where(Company.id == org)
                .order_by(Company.price_type != CatalogPriceType.external_id)  # an exact id wins over a name
                .limit(1)
            )
            found = rows.scalar_one_or_none()
        self._price_type = found
        return found

    async def search(self, text: str, offset: int) -> tuple[list[Offer], int | None]:
        return await self.find(parse_query(text), offset)

    async def find(
        self, filters: Filters, offset: int, *, group_id: int | None = None, limit: int = catalogue.PAGE
    ) -> tuple[list[Offer], int | None]:
        """The search with its filters given apart (the Mini App picks the group from a list, by id)."""
        price_type = await self.price_type_id()
        if filters.group:
            group_id = await self._group(filters.group)
            if group_id is None:
                return [], None
        ranged = price_type is not None
        page = await catalogue.search(
            self.session,
            filters.words,
            group_id=group_id,
            in_stock=filters.in_stock,
            price_type_id=price_type,
            price_min=filters.price_min if ranged else None,
            price_max=filters.price_max if ranged else None,
            offset=offset,
            limit=limit,
        )
        return [Offer(hit.product, hit.price) for hit in page.hits], page.next_offset

    async def groups(self) -> list[tuple[int, str, int]]:
        """The catalogue's groups as a tree read top-down: (id, name, depth), from one read of them all."""
        children: dict[int | None, list[Any]] = {}
        for group in await catalogue.all_groups(self.session):
            children.setdefault(group.parent_id, []).append(group)
        tree: list[tuple[int, str, int]] = []
        seen: set[int] = set()  # a loop in 1C's data must not hang the page

        def walk(parent: int | None, depth: int) -> None:
            for group in children.get(parent, []):
                if group.id not in seen:
                    seen.add(group.id)
                    tree.append((group.id, group.name, depth))
                    walk(group.id, depth + 1)

        walk(None, 0)
        return tree

    async def export(self, text: str) -> Export:
        """What `search(text)` finds (same words, filters and prices) in one read of up to EXPORT_LIMIT rows,
        with stock by warehouse."""
        offers, more = await self.find(parse_query(text), 0, limit=EXPORT_LIMIT)
        stock = await catalogue.stocks(self.session, [o.product.id for o in offers])
        names = sorted({name for lines in stock.values() for name in lines})
        return Export(offers, names, stock, more is not None)

    async def _group(self, name: str) -> int | None:
        wanted = catalogue.fold(name)
        todo = await catalogue.groups(self.session)
        while todo:
            group = todo.pop(0)
            if catalogue.fold(group.name).startswith(wanted):
                return group.id
            todo.extend(await catalogue.groups(self.session, group.id))
        return None

    async def card(self, product_id: int) -> Card:
        product = await catalogue.get_product(self.session, product_id)
        if product is None or not product.active:
            raise PortalError(_("This product is no longer in the catalogue."))
        price_type = await self.price_type_id()
        price = await catalogue.price(self.session, product.id, price_type) if price_type is not None else None
        path = [g.name for g in await catalogue.group_path(self.session, product.group_id)] if product.group_id else []
        in_cart = await self.session.scalar(
            select(CartLine.quantity).where(CartLine.user_id == self.user.id, CartLine.product == product.external_id)
        )
        return Card(
            Offer(product, price),
            await catalogue.stock(self.session, product.id),
            path,
            await self._image(product),
            int(in_cart or 0),
            self.user.organisation_id is not None,
        )

    async def _image(self, product: CatalogProduct) -> int | None:
        """The product's first image as a stored file (kept once per image, so a card sent again reuses it)."""
        for relative in product.images or []:
            path = catalogue.image_path(self.core.config.data_dir, str(relative))
            if path is None or not path.is_file():
                continue
            known = await self.session.scalar(
                select(StoredFile.id).where(StoredFile.kind == IMAGE_KIND, StoredFile.file_name == str(relative))
            )
            if known is not None:
                return int(known)
            stored = await self.core.files.add(
                self.session,
                content=path.read_bytes(),
                name=str(relative),
                kind=IMAGE_KIND,
                now=self.core.clock.now(),
                case_id=None,
                user_id=None,
            )
            return stored.id
        return None


def _safe(text: str) -> str:
    """A cell that starts like a formula stays text: a product named «=HYPERLINK(…)» must not run."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def export_xlsx(export: Export, headers: list[str], title: str, lang: str | None = None) -> bytes:
    """`headers` name the fixed columns (name, article, barcode, unit, price, total stock), in the reader's
    language (`lang`, the units' too); one column per warehouse follows. Prices and quantities are numbers, so Excel
    can sum them."""
    # openpyxl (with numpy) is ~25 MB of a process that rarely makes a sheet: loaded on the first one.
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = title[:31]
    sheet.append(headers + [_safe(w) for w in export.warehouses])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for offer in export.offers:
        product, stock = offer.product, export.stock.get(offer.product.id, {})
        sheet.append(
            [
                _safe(product.name),
                _safe(product.article or ""),
                _safe(product.barcode or ""),
                _safe(unit_text(product.unit, lang)),
                float(offer.price) if offer.price is not None else None,
                float(product.quantity),
            ]
            + [float(stock[w]) if w in stock else None for w in export.warehouses]
        )
    sheet.column_dimensions["A"].width = 50
    sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()

