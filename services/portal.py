"""The dealer portal in chat (seed 4): the catalogue as a dealer sees it (their own price type only), their cart,
and the cart turned into an order request or into a reclamation's parts.

The catalogue itself is `services.catalogue` (1C fills it); what a dealer may see of it is decided here once: the
price of their organisation's price type and nothing else, and no prices at all for someone without one. A
reclamation is filed from a product's card, so its product is always the catalogue's.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import CartLine, CatalogPriceType, CatalogProduct, Company, StoredFile, Task, User
from flows.i18n import _
from flows.model import local
from flows.runtime import START_TASK, EngineError
from flows.status import TaskStatus
from flows.values import InvalidAnswer, parse_text
from services import catalogue, companies
from services.cases.service import CaseService
from services.cases.state import Loaded
from services.core import Core

ORDER_PROCESS = "order_request"
RECLAMATION_PROCESS = "reclamation"
PARTS_TASK = "pick_parts"  # the reclamation's task the cart's «В рекламацию» finishes with the parts
MAX_QUANTITY = 100_000
MAX_DETAIL = 2000  # a delivery address or a comment from the Mini App
IMAGE_KIND = "catalog_image"
EXPORT_KIND = "catalog_export"
EXPORT_LIMIT = 20_000  # rows in one file: the whole catalogue of a maker, yet a bounded update


_UNKNOWN = object()  # the price type not looked up yet (None is an answer: no price type)


class PortalError(EngineError):
    """A refusal the person is told in words (an empty cart, a product without a price)."""


@dataclass(frozen=True)
class Filters:
    """What an inline query asks besides words: `!` or «наличие» — in stock only; «от N», «до N» — the price
    range in the dealer's price type; `#группа` — a group (with its subgroups) whose name begins so."""

    words: str
    in_stock: bool = False
    price_min: Decimal | None = None
    price_max: Decimal | None = None
    group: str | None = None


def parse_query(text: str) -> Filters:
    words: list[str] = []
    in_stock, low, high, group = False, None, None, None
    tokens = text.split()
    i = 0
    while i < len(tokens):
        token, folded = tokens[i], catalogue.fold(tokens[i])
        if folded in ("!", "наличие", "в_наличии", "instock"):
            in_stock = True
        elif folded in ("от", "до", "from", "to") and i + 1 < len(tokens) and _amount(tokens[i + 1]) is not None:
            if folded in ("от", "from"):
                low = _amount(tokens[i + 1])
            else:
                high = _amount(tokens[i + 1])
            i += 1
        elif token.startswith("#") and len(token) > 1:
            group = token[1:].replace("_", " ")
        else:
            words.append(token)
        i += 1
    return Filters(" ".join(words), in_stock, low, high, group)


def _amount(text: str) -> Decimal | None:
    try:
        value = Decimal(text.replace(" ", "").replace(",", ".").rstrip("₽"))
    except InvalidOperation:
        return None
    return value if value.is_finite() and value >= 0 else None


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


@dataclass(frozen=True)
class CartEntry:
    product: CatalogProduct | None  # None: gone from the catalogue since it was added
    external_id: str
    quantity: int
    price: Decimal | None

    @property
    def total(self) -> Decimal | None:
        return None if self.price is None else self.price * self.quantity


@dataclass(frozen=True)
class CartView:
    entries: list[CartEntry]

    @property
    def total(self) -> Decimal:
        return sum((e.total or Decimal(0) for e in self.entries), Decimal(0))


@dataclass(frozen=True)
class Export:
    """The catalogue's search as a dealer sees it, for a file: the same offers (their own prices only), the
    warehouses that hold any of them and each offer's stock there."""

    offers: list[Offer]
    warehouses: list[str]
    stock: dict[int, dict[str, Decimal]]
    truncated: bool  # more matched than EXPORT_LIMIT


class Portal:
    """Request-scoped, like `Organisations`: the person's catalogue and cart over the update's session."""

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
        return companies.credit(company), companies.debt_on(company)

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

    # --- the cart -----------------------------------------------------------------------------------

    async def add(self, product_id: int, quantity: int = 1) -> int:
        """«В заявку»: one more of the product in the cart (or `quantity` more); the new count."""
        product = await catalogue.get_product(self.session, product_id)
        if product is None or not product.active:
            raise PortalError(_("This product is no longer in the catalogue."))
        line = await self.session.scalar(
            select(CartLine).where(CartLine.user_id == self.user.id, CartLine.product == product.external_id)
        )
        if line is None:
            line = CartLine(user_id=self.user.id, product=product.external_id, quantity=0, added_at=self.now)
            self.session.add(line)
        line.quantity = min(line.quantity + quantity, MAX_QUANTITY)
        await self.session.flush()
        return line.quantity

    async def set_quantity(self, product_id: int, quantity: int) -> None:
        product = await catalogue.get_product(self.session, product_id)
        if product is None:
            raise PortalError(_("This product is no longer in the catalogue."))
        where = (CartLine.user_id == self.user.id, CartLine.product == product.external_id)
        if quantity <= 0:
            await self.session.execute(delete(CartLine).where(*where))
            return
        line = await self.session.scalar(select(CartLine).where(*where))
        if line is None:
            await self.add(product_id, quantity)
        else:
            line.quantity = min(quantity, MAX_QUANTITY)
        await self.session.flush()

    async def step(self, product_id: int, delta: int) -> None:
        """«➕»/«➖» on the cart: one more or one less (none left: out of the cart)."""
        product = await catalogue.get_product(self.session, product_id)
        if product is None:
            raise PortalError(_("This product is no longer in the catalogue."))
        current = await self.session.scalar(
            select(CartLine.quantity).where(CartLine.user_id == self.user.id, CartLine.product == product.external_id)
        )
        await self.set_quantity(product_id, int(current or 0) + delta)

    async def cart(self) -> CartView:
        lines = list(
            (
                await self.session.execute(
                    select(CartLine).where(CartLine.user_id == self.user.id).order_by(CartLine.added_at, CartLine.id)
                )
            ).scalars()
        )
        products: dict[str, CatalogProduct] = {}
        if lines:
            found = await self.session.execute(
                select(CatalogProduct).where(CatalogProduct.external_id.in_([ln.product for ln in lines]))
            )
            products = {p.external_id: p for p in found.scalars()}
        price_type = await self.price_type_id()
        ids = [p.id for p in products.values()]
        prices = await catalogue.prices(self.session, ids, price_type) if price_type is not None else {}
        entries = []
        for line in lines:
            product = products.get(line.product)
            live = product if product is not None and product.active else None
            price = prices.get(live.id) if live is not None else None
            entries.append(CartEntry(live, line.product, line.quantity, price))
        return CartView(entries)

    async def clear(self) -> None:
        await self.session.execute(delete(CartLine).where(CartLine.user_id == self.user.id))

    # --- the cart becomes a case --------------------------------------------------------------------

    async def submit_order(self, cases: CaseService) -> Loaded:
        """The cart becomes an order request of the dealer's organisation: its positions with the prices of the
        dealer's price type as they are now (the snapshot); the start form then asks payment and delivery."""
        company = await self.organisation()
        view = await self.cart()
        if company is None:
            raise PortalError(_("Only a dealer's staff can order."))
        if not view.entries:
            raise PortalError(_("Your cart is empty: add products from the catalogue first."))
        positions = [self._position(e) for e in view.entries]
        data: dict[str, Any] = {
            "dealer_name": company.name,
            "price_type": company.price_type or "",
            "positions": positions,
            "amount": _money(view.total),
        } | credit_data(companies.credit(company), view.total, companies.debt_on(company))
        loaded = await cases.start(self.user, ORDER_PROCESS, data)
        await self.clear()
        return loaded

    async def submit_order_with(self, cases: CaseService, details: Mapping[str, Any]) -> Loaded:
        """The Mini App's order: the cart becomes the request as in chat, and its start form (payment and
        delivery) is answered at once with the details the page sent — checked as the chat's form checks them."""
        loaded = await self.submit_order(cases)
        spec = loaded.state.spec
        values: dict[str, Any] = {}
        for name in spec.start.form:
            raw = details.get(name)
            text = raw.strip() if isinstance(raw, str) else ""
            if not text:
                continue
            fdef = spec.fields[name]
            if fdef.type == "choice":
                if text not in (fdef.options or {}):
                    label = local(fdef.label, self.user.language)
                    raise PortalError(_("Please choose one of the options: %(field)s"), field=label)
                values[name] = text
                continue
            try:
                values[name] = parse_text(fdef.type, text[:MAX_DETAIL], minimum=fdef.min, maximum=fdef.max)
            except InvalidAnswer as error:
                raise PortalError(error.message, **error.params) from error
        start = next(t for t in loaded.state.tasks if t.key == START_TASK and t.status == TaskStatus.OPEN)
        return await cases.submit(self.user, start.id or 0, "submit", values)

    @staticmethod
    def _position(entry: CartEntry) -> dict[str, Any]:
        if entry.product is None:
            raise PortalError(_("A product in your cart is no longer in the catalogue: remove it first."))
        if entry.price is None or entry.total is None:
            raise PortalError(_("«%(name)s» has no price for you: remove it first."), name=entry.product.name)
        return {
            "product": entry.product.external_id,
            "name": entry.product.name,
            "article": entry.product.article or "",
            "quantity": entry.quantity,
            "price": _money(entry.price),
            "total": _money(entry.total),
        }

    async def start_reclamation(self, cases: CaseService, product_id: int) -> Loaded:
        """«🛠 Рекламация» on a product's card: the reclamation's product is this catalogue product."""
        company = await self.organisation()
        product = await catalogue.get_product(self.session, product_id)
        if product is None:
            raise PortalError(_("This product is no longer in the catalogue."))
        data = {
            "dealer_name": company.name if company else "",
            "product": product.external_id,
            "product_name": product.name,
            "product_article": product.article or "",
        }
        return await cases.start(self.user, RECLAMATION_PROCESS, data)

    async def parts_tasks(self) -> list[Task]:
        """The reclamations waiting for this person's parts (the task the cart's «В рекламацию» finishes)."""
        rows = await self.session.execute(
            select(Task)
            .where(Task.assignee_id == self.user.id, Task.key == PARTS_TASK, Task.status == TaskStatus.OPEN)
            .order_by(Task.id)
        )
        return list(rows.scalars())

    async def parts_to_reclamation(self, cases: CaseService, task_id: int) -> Loaded:
        """The cart's products become the reclamation's parts (at the dealer's prices), finishing its parts task."""
        if task_id not in {t.id for t in await self.parts_tasks()}:
            raise PortalError(_("This reclamation no longer waits for parts."))
        view = await self.cart()
        if not view.entries:
            raise PortalError(_("Your cart is empty: add products from the catalogue first."))
        parts = [{k: v for k, v in self._position(e).items() if k != "total"} for e in view.entries]
        loaded = await cases.submit(self.user, task_id, "done", {"parts": parts})
        await self.clear()
        return loaded

    @property
    def now(self) -> Any:
        return self.core.clock.now()


def credit_data(credit: companies.Credit, amount: Decimal, debt_on: str | None = None) -> dict[str, Any]:
    """The dealer's credit state as the order request reads it (order_request.yaml): taken when the request is
    made, like its prices, so the approvers see what the decision was made on — the debt with the date 1C gave
    it as of."""
    data: dict[str, Any] = {"credit_stop": credit.stopped, "over_credit": credit.exceeded_by(amount)}
    if credit.limit is not None:
        data |= {"credit_limit": _money(credit.limit), "credit_debt": _money(credit.debt)}
        data["credit_left"] = _money(credit.left or Decimal(0))
    elif credit.debt or debt_on:
        data["credit_debt"] = _money(credit.debt)
    if debt_on:
        data["credit_debt_on"] = debt_on
    return data


def _safe(text: str) -> str:
    """A cell that starts like a formula stays text: a product named «=HYPERLINK(…)» must not run."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def export_xlsx(export: Export, headers: list[str], title: str) -> bytes:
    """`headers` name the fixed columns (name, article, barcode, unit, price, total stock), in the reader's
    language; one column per warehouse follows. Prices and quantities are numbers, so Excel can sum them."""
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
                _safe(product.unit or ""),
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


def _money(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01")))


PRODUCT_LINK = re.compile(r"product-(\d+)$")


def product_in_link(url: str | None) -> int | None:
    """The product a card's link names (`…?start=product-17`): the link an inline result's message carries."""
    found = PRODUCT_LINK.search(url or "")
    return int(found.group(1)) if found else None
