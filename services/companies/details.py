"""An organisation's rows and details: found by name, created, listed; every detail checked (an INN by its check
digits, a KPP by its shape) before anything changes, and every change audited (`organisation.changed`: the field,
what it was, what it became); its credit state; deactivated with its people."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from stdnum.ru import inn

from db.models import AuditEntry, Case, Company, User
from flows.i18n import Name
from flows.model import FieldDef, ProcessDef
from flows.status import CaseStatus
from flows.values import InvalidAnswer, parse_text


def directory_of(spec: ProcessDef, fdef: FieldDef) -> str:
    """The directory of companies a form's company field offers and adds to: its own `directory`, shared by the
    processes of one business that name it (a fulfillment warehouse's quote, contract and requests), else the
    process's own."""
    return fdef.directory or spec.process


def offered(company: Company, directory: str, own: int | None) -> bool:
    """Whether a company field of `directory` offers this company (`search`'s rule, for one picked by its id)."""
    everyones = company.directory is None and company.kind != "dealer"
    return everyones or company.directory == directory or company.id == own


async def search(
    session: AsyncSession, text: str, limit: int = 8, *, directory: str | None = None, own: int | None = None
) -> list[Company]:
    """Active companies whose name holds `text`; `directory`: only those of that directory (`directory_of`), those
    of none (an admin's) and the person's own organisation (`own`) — not another business's clients, nor a dealer
    (an organisation whose people work in the bot, the representative office's or 1C's: named by its own people)."""
    pattern = f"%{text.casefold()}%"
    where: list[ColumnElement[bool]] = [Company.active.is_(True)]
    if directory is not None:
        everyones = and_(Company.directory.is_(None), Company.kind != "dealer")
        where.append(or_(everyones, Company.directory == directory, Company.id == own))
    rows = await session.execute(
        select(Company).where(func.lower(Company.name).like(pattern), *where).order_by(Company.name).limit(limit)
    )
    found = list(rows.scalars())
    if not found:
        # SQLite's lower() folds only ASCII; compare in Python for Cyrillic names there.
        everything = await session.execute(select(Company).where(*where).order_by(Company.name).limit(500))
        found = [c for c in everything.scalars() if text.casefold() in c.name.casefold()][:limit]
    return found


async def get(session: AsyncSession, company_id: int) -> Company | None:
    return await session.get(Company, company_id)


async def create(
    session: AsyncSession,
    name: str,
    user_id: int | None,
    now: datetime,
    data: dict[str, object] | None = None,
    *,
    directory: str | None = None,
) -> Company:
    company = Company(
        name=" ".join(name.split())[:300], data=dict(data or {}), created_by=user_id, created_at=now, updated_at=now,
        directory=directory,
    )  # fmt: skip
    session.add(company)
    await session.flush()
    return company


KINDS = ("dealer", "supplier", "client")
# What an admin may set by `/org_set 5 region=…` (and by the card's buttons): the column each word names.
DETAILS = {
    "name": "name", "inn": "inn", "kpp": "kpp", "region": "region", "price": "price_type", "contacts": "contacts",
}  # fmt: skip
# A dealer's credit state, kept in `data` (where definitions read an organisation's facts): the credit limit and the
# current debt in roubles (no limit: none), and «stop» — shipments stopped. An order request of a stopped dealer, or
# one above what the limit leaves, goes to the representative office whatever its amount (order_request.yaml).
CREDIT = {"limit": "credit_limit", "debt": "debt", "stop": "stop_shipment"}
YES, NO = {"yes", "да", "1", "true", "on", "stop", "стоп"}, {"no", "нет", "0", "false", "off"}
PROMPT = "organisation"  # the kind of `User.prompt` while an admin writes an organisation's detail or name
CHANGED = "organisation.changed"  # the audit entry of every change an admin makes to an organisation
KPP = re.compile(r"\d{4}[0-9A-Z]{2}\d{3}")  # a tax office's code, a reason code (letters allowed), a number


class BadDetails(Exception):
    """An organisation's kind or a detail the admin wrote is not one we know."""


class BadValue(Exception):
    """A detail's value is wrong (an INN whose check digits do not match, a KPP of the wrong shape): the admin
    is told which and asked again."""

    def __init__(self, field: str, **params: object) -> None:
        super().__init__(field)
        self.field = field
        self.params = params  # «duplicate»: the organisation that already has these details (id, name)


def checked(field: str, value: str) -> str | None:
    """A detail's value as kept (None: cleared), or BadValue."""
    value = " ".join(value.split())
    if field == "name":
        if not value:
            raise BadValue(field)
        return value[:300]
    if not value or value in ("-", "—"):
        return None
    if field == "inn":
        if not inn.is_valid(value):
            raise BadValue(field)
        return inn.compact(value)
    if field == "kpp":
        value = value.replace(" ", "").upper()
        if not KPP.fullmatch(value):
            raise BadValue(field)
        return value
    if field in ("limit", "debt"):
        try:  # read as the chat reads an amount: «500 000», «1 234,50 ₽»; never «1e9»
            amount = parse_text("money", value)
        except InvalidAnswer:
            raise BadValue(field) from None
        if amount >= 10**12:
            raise BadValue(field)
        return str(amount.quantize(Decimal("0.01")))
    if field == "stop":
        if value.casefold() not in YES | NO:
            raise BadValue(field)
        return "yes" if value.casefold() in YES else None
    return value[:100] if field in ("region", "price") else value[:1000]


@dataclass(frozen=True)
class Credit:
    """A dealer's credit state as an order request reads it."""

    limit: Decimal | None  # None: no limit set
    debt: Decimal
    stopped: bool
    # The dealer's order requests under way (`pending_orders`): not yet in 1C's debt, already promised.
    pending: Decimal = Decimal(0)
    pending_count: int = 0
    # Of them, the carts made requests whose payment and delivery questions are not answered yet: counted, not sent.
    pending_drafts: int = 0

    @property
    def left(self) -> Decimal | None:
        return None if self.limit is None else self.limit - self.debt - self.pending

    def exceeded_by(self, amount: Decimal) -> bool:
        left = self.left
        return left is not None and amount > left


def credit(company: Company) -> Credit:
    data = company.data or {}
    limit, debt = data.get(CREDIT["limit"]), data.get(CREDIT["debt"])
    return Credit(
        Decimal(str(limit)) if limit is not None else None,
        Decimal(str(debt)) if debt is not None else Decimal(0),
        bool(data.get(CREDIT["stop"])),
    )


# The dealer's order requests (flows/library/order_request.yaml). One under way takes its amount from what the
# limit leaves until 1C's debt holds it (1C books the debt at shipment, which closes the case) or it is paid: else
# a dealer refused one large request passes the same goods as two smaller ones, each below what is left.
ORDER_PROCESS = "order_request"
_PAID = "paid"


async def pending_orders(session: AsyncSession, company_id: int) -> tuple[int, Decimal, int]:
    """How many of the organisation's order requests are under way (sent or being sent, not closed, not paid),
    their amounts' sum, and how many of them are still being sent (at their start form)."""
    rows = await session.execute(
        select(Case.data["amount"].as_string(), Case.status).where(
            Case.company_id == company_id,
            Case.process == ORDER_PROCESS,
            # A request still at its payment and delivery questions counts too: else two carts sent one after the
            # other, each answered later, would each be checked without the other.
            Case.status.in_((CaseStatus.ACTIVE, CaseStatus.DRAFT)),
            Case.stage != _PAID,
        )
    )
    found = [(Decimal(amount), status) for amount, status in rows.all() if amount]
    drafts = sum(1 for _amount, status in found if status == CaseStatus.DRAFT)
    return len(found), sum((amount for amount, _status in found), Decimal(0)), drafts


async def credit_of(session: AsyncSession, company: Company) -> Credit:
    """The organisation's credit state with its order requests under way counted against its limit."""
    count, pending, drafts = await pending_orders(session, company.id)
    return replace(credit(company), pending=pending, pending_count=count, pending_drafts=drafts)


async def listed(session: AsyncSession, kind: str | None = None, *, active_only: bool = False) -> list[Company]:
    query = select(Company).order_by(Company.kind, Company.name)
    if kind is not None:
        query = query.where(Company.kind == kind)
    if active_only:
        query = query.where(Company.active.is_(True))
    return list((await session.execute(query)).scalars())


def audit(session: AsyncSession, company: Company, by: int | None, now: datetime, **data: object) -> None:
    session.add(AuditEntry(case_id=None, actor_id=by, action=CHANGED, data={"organisation": company.id, **data},
                           at=now))  # fmt: skip


async def create_organisation(
    session: AsyncSession,
    kind: str,
    name: str,
    user_id: int | None,
    now: datetime,
    details: dict[str, str],
    via: str | None = None,
) -> Company:
    if kind not in KINDS or not name.strip():
        raise BadDetails(kind)
    values = await checked_all(session, details)  # nothing is created if a detail is wrong
    await _not_twice(session, values, None)
    company = await create(session, name, user_id, now)
    company.kind = kind
    audit(session, company, user_id, now, created={"kind": kind, "name": company.name}, **_via(via))
    await update_details(session, company, details, now, user_id, via=via)
    return company


async def _not_twice(session: AsyncSession, values: dict[str, object], company: Company | None) -> None:
    """An INN (with its KPP: a company's branches share the INN) another organisation already has is refused,
    naming that one: two cards of one company would split its requests, debts and people."""
    given = values.get("inn", company.inn if company is not None else None)
    if not given or ("inn" not in values and "kpp" not in values):
        return
    kpp = values.get("kpp", company.kpp if company is not None else None)
    same = select(Company).where(Company.inn == given, Company.kpp.is_(None) if kpp is None else Company.kpp == kpp)
    if company is not None:
        same = same.where(Company.id != company.id)
    other = (await session.execute(same.limit(1))).scalar_one_or_none()
    if other is not None:
        raise BadValue("duplicate", id=other.id, name=Name(other.name))


def _via(via: str | None) -> dict[str, str]:
    return {"via": via} if via else {}


async def checked_all(session: AsyncSession, details: dict[str, str]) -> dict[str, object]:
    """Every detail's new value (by column), or BadDetails/BadValue before anything changes."""
    values: dict[str, object] = {}
    for key, value in details.items():
        if key == "rep":
            if value not in ("", "0") and not value.isdigit():
                raise BadDetails(key)
            rep_id = int(value) if value.isdigit() and value != "0" else None
            if rep_id is not None and await session.get(User, rep_id) is None:
                raise BadValue("rep")
            values["regional_rep_id"] = rep_id
        elif key in DETAILS:
            values[DETAILS[key]] = checked(key, value)
        elif key in CREDIT:
            kept = checked(key, value)
            values["data." + CREDIT[key]] = (True if kept == "yes" else None) if key == "stop" else kept
        else:
            raise BadDetails(key)
    return values


async def update_details(
    session: AsyncSession,
    company: Company,
    details: dict[str, str],
    now: datetime,
    by: int | None = None,
    via: str | None = None,
) -> list[str]:
    """Set details by their short names (name, inn, kpp, region, price, contacts, rep = the regional
    representative's user id, 0 or empty for nobody; the credit state: limit, debt, stop = yes/no). All are
    checked first (one wrong value changes nothing); each change is audited with what it was and what it became
    (and `via`: who other than a person made it, e.g. 1C). The fields that changed."""
    values = await checked_all(session, details)
    await _not_twice(session, values, company)
    fields = {column: key for key, column in DETAILS.items()} | {"regional_rep_id": "rep"}
    fields |= {"data." + name: key for key, name in CREDIT.items()}
    changed: list[str] = []
    for column, new in values.items():
        if column.startswith("data."):
            data = dict(company.data or {})
            old = data.get(column[5:])
            if new is None:
                data.pop(column[5:], None)
            else:
                data[column[5:]] = new
            company.data = data  # a new dict: the JSON column sees the change
        else:
            old = getattr(company, column)
            setattr(company, column, new)
        if old != new:
            audit(session, company, by, now, field=fields[column], **{"from": old, "to": new}, **_via(via))
            changed.append(fields[column])
    company.updated_at = now
    await session.flush()
    return changed


async def set_active(
    session: AsyncSession, company: Company, active: bool, now: datetime, by: int | None, via: str | None = None
) -> None:
    """An organisation we no longer work with is deactivated: it is offered nowhere any more (forms, approvals),
    and its people, who belong to it alone, are deactivated with it (they see nothing). Reactivating it
    brings the organisation back; its people come back one by one, as an admin decides."""
    if bool(company.active) == active:
        return
    company.active = active
    company.updated_at = now
    people: list[int] = []
    if not active:
        rows = await session.execute(select(User).where(User.organisation_id == company.id, User.active.is_(True)))
        for person in rows.scalars():
            person.active = False
            people.append(person.id)
    audit(session, company, by, now, field="active", **{"from": not active, "to": active}, people=people, **_via(via))
    await session.flush()
