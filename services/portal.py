"""The dealer portal in chat (seed 4): the catalogue as a dealer sees it (their own price type only), their cart,
and the cart turned into an order request or into a reclamation's parts.

`Portal` is built per request and holds them in layers: `portal_catalogue` the catalogue as a dealer sees it (the
catalogue itself is `services.catalogue`, 1C fills it; what a dealer may see of it is decided there once: the price
of their organisation's price type and nothing else, and no prices at all for someone without one), `portal_cart`
the cart, and here the cart becoming a case. What an inline query and a card's link say is `portal_query`. A
reclamation is filed from a product's card, so its product is always the catalogue's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Case, CatalogPriceType, Task, status_is
from flows.i18n import _
from flows.model import local
from flows.runtime import START_TASK, CaseState
from flows.status import CaseStatus, TaskStatus
from flows.values import InvalidAnswer, parse_text
from services import access, catalogue, companies
from services.cases.service import CaseService
from services.cases.state import Loaded
from services.portal_cart import CartEntry, CartView, PortalCart, into_cart, positions_wanted
from services.portal_catalogue import PortalError

ORDER_PROCESS = companies.ORDER_PROCESS
RECLAMATION_PROCESS = "reclamation"
PARTS_TASK = "pick_parts"  # the reclamation's task the cart's «В рекламацию» finishes with the parts
MAX_DETAIL = 2000  # a delivery address or a comment from the Mini App


class Portal(PortalCart):
    """Request-scoped, like `Organisations`: the person's catalogue and cart over the update's session."""

    def rights(self, viewer: access.Viewer) -> access.PortalRights:
        """What the portal's buttons offer this person, and whether the catalogue is theirs to browse (the access
        module decides, from the loaded definitions)."""
        current = self.core.registry.current
        order, reclamation = (
            self.core.registry.latest(p)[1] if p in current else None for p in (ORDER_PROCESS, RECLAMATION_PROCESS)
        )
        return access.portal_rights(viewer, order, reclamation)

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
        price_type = await self.price_type_id()  # known already: the cart's prices asked it
        kind = await self.session.get(CatalogPriceType, price_type) if price_type is not None else None
        data: dict[str, Any] = {
            "dealer_name": company.name,
            "price_type": kind.name if kind is not None else "",  # its name: 1C's id of it is for no one to read
            "positions": positions,
            "amount": _money(view.total),
        } | credit_data(await companies.credit_of(self.session, company), view.total, companies.debt_on(company))
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
            raise PortalError(_("“%(name)s” has no price for you: remove it first."), name=entry.product.name)
        return {
            "product": entry.product.external_id,
            "name": entry.product.name,
            "article": entry.product.article or "",
            "quantity": entry.quantity,
            "price": _money(entry.price),
            "total": _money(entry.total),
            # The catalogue's stock (1C's total) when the request is made: the summary and the approver's task
            # say which lines ask more than it, as the cart did.
            "in_stock": _stock(entry.product.quantity),
        } | ({"unit": entry.product.unit} if entry.product.unit else {})  # the stock is said in it («компл», «м»)

    async def repeat_order(self, viewer: access.Viewer, case_id: int) -> None:
        """«🛒 Повторить заказ» on a rejected or cancelled request's card: its positions into this person's cart,
        added to what it holds (the cart then shows today's prices and stock), so nothing is searched for again."""
        access.require(self.rights(viewer).order, _("Only a dealer's staff can order."))
        seen = access.visible_cases(viewer, self.core.registry.current_specs())
        case = await self.session.scalar(select(Case).where(Case.id == case_id, Case.process == ORDER_PROCESS, seen))
        if case is None or not repeatable(case.status, case.result):
            raise PortalError(_("This request is still under way: there is nothing to order again."))
        wanted = positions_wanted(case.data or {})
        if wanted:
            await into_cart(self.session, self.user.id, wanted, self.now)
            await self.session.flush()

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

    async def reclamation_begun(self, cases: CaseService, product_id: int) -> tuple[Task, str] | None:
        """The person's unfinished reclamation of this product, if any, with the product's name as it has it:
        «🛠 Рекламация» pressed twice (a double tap, or the card found again later) goes on with it rather than
        leaving a second one half-filled."""
        product = await catalogue.get_product(self.session, product_id)
        if product is None:
            return None
        for state, task in await cases.drafts(self.user, RECLAMATION_PROCESS):
            if state.data.get("product") == product.external_id and task.id is not None:
                row = await self.session.get(Task, task.id)
                return (row, str(state.data.get("product_name") or product.name)) if row is not None else None
        return None

    async def parts_tasks(self) -> list[Task]:
        """The reclamations waiting for this person's parts (the task the cart's «В рекламацию» finishes)."""
        rows = await self.session.execute(
            select(Task)
            .where(Task.assignee_id == self.user.id, Task.key == PARTS_TASK, status_is(Task.status, TaskStatus.OPEN))
            .order_by(Task.id)
        )
        return list(rows.scalars())

    async def parts_left_in_cart(self, task_id: int) -> tuple[Task, CartView] | None:
        """«Готово» pressed on a reclamation's parts task of this person's while their cart holds products: the task
        and the cart (they may be the very parts meant for it, which «Готово» alone would leave behind); else None.
        The press's task row is read here once, and the button reads it from the session after: no other task pays."""
        task = await self.session.get(Task, task_id)
        if task is None or task.key != PARTS_TASK or task.assignee_id != self.user.id or task.status != TaskStatus.OPEN:
            return None
        view = await self.cart()
        return (task, view) if view.entries else None

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


def credit_data(credit: companies.Credit, amount: Decimal, debt_on: str | None = None) -> dict[str, Any]:
    """The dealer's credit state as the order request reads it (order_request.yaml): taken when the request is
    made, like its prices, so the approvers see what the decision was made on — the debt with the date 1C gave
    it as of."""
    data: dict[str, Any] = {"credit_stop": credit.stopped, "over_credit": credit.exceeded_by(amount)}
    if credit.limit is not None:
        data |= {"credit_limit": _money(credit.limit), "credit_debt": _money(credit.debt)}
        data["credit_left"] = _money(credit.left or Decimal(0))
        if credit.pending_count:
            data |= {"credit_pending": _money(credit.pending), "credit_pending_count": credit.pending_count}
    elif credit.debt or debt_on:
        data["credit_debt"] = _money(credit.debt)
    if debt_on:
        data["credit_debt_on"] = debt_on
    return data


def repeatable(status: str, result: str | None) -> bool:
    """An order request that came to nothing (rejected, cancelled in 1C, or cancelled along the way): its card
    offers to order the same again."""
    return status == CaseStatus.CANCELLED or (status == CaseStatus.DONE and result == "failure")


def _money(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01")))


async def stock_now(session: AsyncSession, cases: Iterable[CaseState]) -> dict[str, str]:
    """The catalogue's stock now of every product the cases' positions name (a list whose entries keep the stock
    at ordering, `in_stock`, as `_position` writes it), by 1C's id, in one query; nothing asked when no case has
    such a list. An approval card's text reads it as `stock`, beside the stock at ordering: 1C's offers.xml may
    have changed it since the dealer sent the request."""
    wanted = [
        item["product"]
        for state in cases
        for name, fdef in state.spec.fields.items()
        if fdef.type == "list" and fdef.fields and "product" in fdef.fields and "in_stock" in fdef.fields
        for item in state.data.get(name) or []
        if isinstance(item, dict) and isinstance(item.get("product"), str)
    ]
    return {key: _stock(quantity) for key, quantity in (await catalogue.totals(session, wanted)).items()}


def _stock(value: Decimal) -> str:
    return f"{value.normalize():f}"
