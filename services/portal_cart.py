"""The portal's cart: a dealer's products and quantities, kept per person until they become an order request or
a reclamation's parts (`services.portal`), priced in the dealer's price type as they are now."""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import CartLine, CatalogProduct, User
from flows.i18n import _
from flows.runtime import CaseState
from flows.values import InvalidAnswer, parse_text
from services import catalogue
from services.people import prompts
from services.portal_catalogue import PortalCatalogue, PortalError, unit_words

MAX_QUANTITY = 100_000
QUANTITY = "cart_quantity"  # `User.prompt` kind: the person's next text is a cart line's quantity
_QUANTITY_LIKE = re.compile(r"\s*[+-]?\d")


@dataclass(frozen=True)
class CartEntry:
    product: CatalogProduct | None  # None: gone from the catalogue since it was added
    external_id: str
    quantity: int
    price: Decimal | None
    line_id: int = 0  # the cart's line: a product gone from the catalogue is taken out by it
    gone_name: str = ""  # the name of a product 1C deactivated (one deleted has none left)

    @property
    def total(self) -> Decimal | None:
        return None if self.price is None else self.price * self.quantity


@dataclass(frozen=True)
class CartView:
    entries: list[CartEntry]

    @property
    def total(self) -> Decimal:
        return sum((e.total or Decimal(0) for e in self.entries), Decimal(0))

    @property
    def version(self) -> str:
        """The cart's contents in a few characters: a cart message's buttons carry it, and a press on a message
        showing other contents than the cart has now (an older one: a newer message shows the cart) is refused."""
        said = ";".join(f"{e.external_id}={e.quantity}" for e in self.entries)
        return f"{zlib.crc32(said.encode()):08x}"


class PortalCart(PortalCatalogue):
    """The catalogue as the person sees it (`PortalCatalogue`) and their cart."""

    @property
    def now(self) -> Any:
        return self.core.clock.now()

    # --- the cart -----------------------------------------------------------------------------------

    async def add(self, product_id: int, quantity: int = 1) -> int:
        """«В заявку»: one more of the product in the cart (or `quantity` more); the new count."""
        product = await catalogue.get_product(self.session, product_id)
        if product is None or not product.active:
            raise PortalError(_("This product is no longer in the catalogue."))
        counts = await into_cart(self.session, self.user.id, {product.external_id: quantity}, self.now)
        await self.session.flush()
        return counts[product.external_id]

    async def add_from_card(self, product_id: int) -> tuple[int, bool]:
        """«🛒 В заявку» on a product's card: one more in the cart, and — when nothing else waits for the person's
        text (no form, no question) — a number typed next is taken as this product's quantity (`offered`): a dealer
        who wants 25 mowers types «25» after the press, as he would in any shop, and was told «not understood».
        Anything else typed next drops the offer and goes its usual way. The new count, and whether it is offered."""
        count = await self.add(product_id)
        offered = self.user.active_task_id is None and (self.user.prompt is None or self.quantity_offered(self.user))
        if offered:
            prompts.offer(self.user, {"kind": QUANTITY, "product": product_id, "ref": 0})
        return count, offered

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

    # --- a quantity typed: «✏️» on a line, then the number as the next message (`User.prompt`) ------------

    async def ask_quantity(self, product_id: int, ref: int) -> CartEntry:
        """«✏️» on a cart's line: its quantity comes as the person's next text. `ref`: the cart message pressed (its
        outbox row, 0 if unknown), whose buttons go once the new cart is shown."""
        line = next((e for e in (await self.cart()).entries if e.product and e.product.id == product_id), None)
        if line is None:
            raise PortalError(_("This product is no longer in your cart."))
        self.user.prompt = {"kind": QUANTITY, "product": product_id, "ref": ref}
        return line

    @staticmethod
    def quantity_pending(user: User | None) -> bool:
        """A cart line's quantity is the person's next text: asked by «✏️», or offered after «🛒 В заявку» while no
        form is open (a form opened since then takes its own answers; `prompts.drop_offered` as it opens)."""
        if user is None or not user.prompt or user.prompt.get("kind") != QUANTITY:
            return False
        return not prompts.offered(user) or user.active_task_id is None

    @staticmethod
    def quantity_offered(user: User | None) -> bool:
        """The quantity is only offered (after «🛒 В заявку»), not asked: a text that is no number is not refused."""
        return prompts.offered(user) and user is not None and (user.prompt or {}).get("kind") == QUANTITY

    @staticmethod
    def reads_as_quantity(text: str) -> bool:
        """A text that starts with a number («25», «25 шт», «2,5»): meant as the quantity offered, and refused
        as one when it is not a good one; any other text is not about the cart."""
        return _QUANTITY_LIKE.match(text) is not None

    def drop_quantity(self) -> None:
        if self.quantity_pending(self.user):
            self.user.prompt = None

    async def type_quantity(self, text: str) -> int:
        """The typed quantity: the line holds it (0 takes it out of the cart); a wrong number changes nothing and
        the question stays. The cart message the question came from (its outbox row, 0 if unknown)."""
        prompt = dict(self.user.prompt or {})
        # «12 шт» as a dealer types it (or «12 pcs»): the product's own unit is taken, another refused naming it.
        product = await self.session.get(CatalogProduct, int(prompt.get("product") or 0))
        units = unit_words(product.unit, self.user.language) if product is not None else ()
        try:
            count = parse_text("number", text, minimum=0, maximum=MAX_QUANTITY, integer=True, units=units)
        except InvalidAnswer as error:
            raise PortalError(error.message, **error.params) from error
        self.user.prompt = None
        await self.set_quantity(int(prompt["product"]), int(count))
        return int(prompt.get("ref") or 0)

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
            gone = product.name if product is not None and live is None else ""
            entries.append(CartEntry(live, line.product, line.quantity, price, line.id, gone))
        return CartView(entries)

    async def clear(self) -> None:
        await self.session.execute(delete(CartLine).where(CartLine.user_id == self.user.id))

    async def drop_line(self, line_id: int) -> None:
        """«🗑» on a line whose product is gone from the catalogue (no ➖ to press): that line out, the rest kept."""
        await self.session.execute(delete(CartLine).where(CartLine.user_id == self.user.id, CartLine.id == line_id))


async def give_back(session: AsyncSession, request: CaseState, now: datetime) -> str | None:
    """An order request cancelled or discarded before it was registered (`Core.draft_dropped`): its positions go
    back to its author's cart, each added to what the cart holds of that product now, so the work of building it
    is not lost. Runs in the cancelling step, which a closed case refuses: never twice for one request."""
    wanted = positions_wanted(request.data)
    if not wanted:
        return None
    await into_cart(session, request.initiator_id, wanted, now)
    return _("Its positions are back in your cart.")


def positions_wanted(data: dict[str, Any]) -> dict[str, int]:
    """An order request's positions as the cart counts them: each product (by its 1C id) and how many."""
    wanted: dict[str, int] = {}
    for position in data.get("positions") or []:
        if not isinstance(position, dict) or not position.get("product"):
            continue
        try:
            count = int(Decimal(str(position.get("quantity"))))
        except (InvalidOperation, ValueError):
            continue
        if count > 0:
            product = str(position["product"])
            wanted[product] = wanted.get(product, 0) + count
    return wanted


async def into_cart(session: AsyncSession, user_id: int, counts: dict[str, int], now: datetime) -> dict[str, int]:
    """Each product (by its 1C id) `count` more in the person's cart, up to the most a line holds, their lines read
    in one query; the new counts. «В заявку» adds one product, a dropped request all its positions."""
    found = await session.execute(
        select(CartLine).where(CartLine.user_id == user_id, CartLine.product.in_(list(counts)))
    )
    lines = {line.product: line for line in found.scalars()}
    for product, count in counts.items():
        line = lines.get(product)
        if line is None:
            line = lines[product] = CartLine(user_id=user_id, product=product, quantity=0, added_at=now)
            session.add(line)
        line.quantity = min(line.quantity + count, MAX_QUANTITY)
    return {product: lines[product].quantity for product in counts}
