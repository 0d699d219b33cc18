"""Organisations (dealers, suppliers, client companies): found by name in chat, created on the spot in a form,
kept by admins (`/org` and its card's buttons, `/org_new`, `/org_set`, the panel's form). Every detail is checked
(an INN by its check digits, a KPP by its shape) before anything changes, and every change is audited
(`organisation.changed`: the field, what it was, what it became)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from stdnum.ru import inn

from db.models import AuditEntry, Company, User
from services import people as people_repo

if TYPE_CHECKING:  # the import reads organisations without the bot's Core (and aiogram behind its i18n)
    from services.core import Core


async def search(session: AsyncSession, text: str, limit: int = 8) -> list[Company]:
    pattern = f"%{text.casefold()}%"
    rows = await session.execute(
        select(Company)
        .where(func.lower(Company.name).like(pattern), Company.active.is_(True))
        .order_by(Company.name)
        .limit(limit)
    )
    found = list(rows.scalars())
    if not found:
        # SQLite's lower() folds only ASCII; compare in Python for Cyrillic names there.
        everything = await session.execute(
            select(Company).where(Company.active.is_(True)).order_by(Company.name).limit(500)
        )
        found = [c for c in everything.scalars() if text.casefold() in c.name.casefold()][:limit]
    return found


async def get(session: AsyncSession, company_id: int) -> Company | None:
    return await session.get(Company, company_id)


async def create(
    session: AsyncSession, name: str, user_id: int | None, now: datetime, data: dict[str, object] | None = None
) -> Company:
    company = Company(
        name=" ".join(name.split())[:300], data=dict(data or {}), created_by=user_id, created_at=now, updated_at=now
    )
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

    def __init__(self, field: str) -> None:
        super().__init__(field)
        self.field = field


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
        try:
            amount = Decimal(value.replace(" ", "").replace("\u00a0", "").replace(",", ".").rstrip("₽"))
        except InvalidOperation:
            raise BadValue(field) from None
        if not amount.is_finite() or amount < 0 or amount >= 10**12:
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

    @property
    def left(self) -> Decimal | None:
        return None if self.limit is None else self.limit - self.debt

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
    await _checked_all(session, details)  # nothing is created if a detail is wrong
    company = await create(session, name, user_id, now)
    company.kind = kind
    audit(session, company, user_id, now, created={"kind": kind, "name": company.name}, **_via(via))
    await update_details(session, company, details, now, user_id, via=via)
    return company


def _via(via: str | None) -> dict[str, str]:
    return {"via": via} if via else {}


async def _checked_all(session: AsyncSession, details: dict[str, str]) -> dict[str, object]:
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
    values = await _checked_all(session, details)
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


ONEC = "1C"  # `via` of the changes 1C's documents make


@dataclass
class FromOneC:
    """What 1C's `Контрагенты` did to our organisations; `skipped`: a line per one left alone, with why."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: list[str] = field(default_factory=list)


def _local(tag: object) -> str:
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def _at(node: Any, *path: str) -> str:
    """The text at a path of local names below an XML element ("" if absent), its spaces collapsed."""
    for name in path:
        node = next((child for child in node if _local(child.tag) == name), None)
        if node is None:
            return ""
    return " ".join((node.text or "").split())


def onec_contragent(node: Any) -> dict[str, str] | None:
    """What 1C says of an organisation, from a CommerceML 2 `Контрагент` element (lxml's, in the
    urn:1C.ru:commerceml_2 namespace or in none): {onec_id, name, inn, kpp, contacts}, as `from_onec` takes it. The
    details may sit in the element itself or, from 2.08, in its `РеквизитыЮрЛица`/`РеквизитыФизЛица`; the contacts
    are the address (of registration, else the legal one, else `Адрес`) and the contact lines. None for the seller
    (that is us) and for one with neither an Ид, an INN nor a name."""
    if _at(node, "Роль") == "Продавец":
        return None

    def detail(*names: str) -> str:
        for name in names:
            for holder in ((), ("РеквизитыЮрЛица",), ("РеквизитыФизЛица",)):
                value = _at(node, *holder, name)
                if value:
                    return value
        return ""

    lines = []
    address = ""
    for kind in ("АдресРегистрации", "ЮридическийАдрес", "Адрес"):
        address = detail(kind) or _at(node, kind, "Представление")
        for holder in ("РеквизитыЮрЛица", "РеквизитыФизЛица"):
            address = address or _at(node, holder, kind, "Представление")
        if address:
            break
    if address:
        lines.append(f"Адрес: {address}")
    for contacts in (c for c in node if _local(c.tag) == "Контакты"):
        for contact in contacts:
            kind, value = _at(contact, "Тип"), _at(contact, "Значение")
            if value:
                lines.append(f"{kind}: {value}" if kind else value)
    item = {
        "onec_id": _at(node, "Ид"),
        "name": _at(node, "Наименование") or detail("ОфициальноеНаименование", "ПолноеНаименование"),
        "inn": detail("ИНН"),
        "kpp": detail("КПП"),
        "contacts": "; ".join(lines),  # one line: a detail is kept with its spaces collapsed
    }
    return item if item["onec_id"] or item["inn"] or item["name"] else None


async def from_onec(session: AsyncSession, contragents: list[dict[str, str]], now: datetime) -> FromOneC:
    """1C's organisations (`onec_id`, `name`, `inn`, `kpp`, `contacts`), each found by 1C's `Ид`, else by INN:
    a new one becomes a dealer without people; a known one's details are updated through the same checks and
    audit as an admin's edit (audited as made by 1C). One whose details fail the checks (an INN whose check
    digits do not match) is skipped with a line saying so; the others go on."""
    result = FromOneC()
    for found in contragents:
        onec_id, name = found.get("onec_id") or None, found.get("name", "")
        details = {key: found[key] for key in ("name", "inn", "kpp", "contacts") if found.get(key)}
        who = f"«{name or '?'}»" + (f" (Ид {onec_id})" if onec_id else "")
        try:
            values = await _checked_all(session, details)
        except BadValue as bad:
            result.skipped.append(f"{who}: {bad.field.upper()} {details.get(bad.field, '')} is not valid, skipped")
            continue
        company = await _onec_match(session, onec_id, values.get("inn"))  # type: ignore[arg-type]
        if company is None:
            if not name:
                result.skipped.append(f"{who}: no name, skipped")
                continue
            company = await create_organisation(session, "dealer", name, None, now, details, via=ONEC)
            company.onec_id = onec_id
            await _onec_debt(session, company, found, now, result, who)
            result.created += 1
            continue
        changed = await update_details(session, company, details, now, None, via=ONEC)
        changed += await _onec_debt(session, company, found, now, result, who)
        if onec_id and company.onec_id != onec_id:
            company.onec_id = onec_id
            changed.append("onec_id")
        if changed:
            result.updated += 1
        else:
            result.unchanged += 1
    await session.flush()
    return result


DEBT_ON = "debt_on"  # in `data`: the date (YYYY-MM-DD) the debt is as of, when 1C gave it


async def _onec_debt(
    session: AsyncSession, company: Company, found: dict[str, str], now: datetime, result: FromOneC, who: str
) -> list[str]:
    """The dealer's debt as 1C keeps it (its mutual settlements), with the date it is as of: kept through the same
    checks and audit as an admin's (marked as 1C's). An older figure than the one kept (files can come out of
    order) is left alone; an advance (a negative balance) is no debt."""
    raw = (found.get("debt") or "").strip()
    if not raw:
        return []
    as_of = found.get("debt_on") or now.date().isoformat()
    kept = str((company.data or {}).get(DEBT_ON) or "")
    if kept and as_of < kept:
        return []
    value = raw.replace(" ", "").replace("\u00a0", "").replace(",", ".")
    if value.startswith("-"):
        value = "0"
    try:
        changed = await update_details(session, company, {"debt": value}, now, None, via=ONEC)
    except BadValue:
        result.skipped.append(f"{who}: debt {raw} is not a sum, skipped")
        return []
    if kept != as_of:
        company.data = {**(company.data or {}), DEBT_ON: as_of}
        audit(session, company, None, now, field="debt_on", **{"from": kept or None, "to": as_of}, via=ONEC)
        changed.append("debt_on")
    return changed


def debt_on(company: Company | None) -> str | None:
    """The date the dealer's debt is as of (1C's), if 1C gave it."""
    return str((company.data or {}).get(DEBT_ON) or "") or None if company is not None else None


async def _onec_match(session: AsyncSession, onec_id: str | None, inn_value: str | None) -> Company | None:
    if onec_id:
        company = await session.scalar(select(Company).where(Company.onec_id == onec_id))
        if company is not None:
            return company
    if inn_value:
        # An organisation another 1C Ид already holds is a different one (a branch with the same INN).
        rows = await session.scalars(select(Company).where(Company.inn == inn_value).order_by(Company.id))
        return next((c for c in rows if c.onec_id is None or c.onec_id == onec_id), None)
    return None


async def set_active(session: AsyncSession, company: Company, active: bool, now: datetime, by: int | None) -> None:
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
    audit(session, company, by, now, field="active", **{"from": not active, "to": active}, people=people)
    await session.flush()


def parse_details(words: list[str]) -> tuple[list[str], dict[str, str]]:
    """`ООО Сад region=Москва inn=7701234560` → the plain words and the `key=value` details (`_` is a space)."""
    plain: list[str] = []
    details: dict[str, str] = {}
    for word in words:
        key, sep, value = word.partition("=")
        if sep and key:
            details[key.casefold()] = value.replace("_", " ")
        else:
            plain.append(word)
    return plain, details


class Organisations:
    """Organisations as an admin keeps them in chat and the panel (request-scoped, like `Team`)."""

    def __init__(self, core: Core, session: AsyncSession) -> None:
        self.core = core
        self.session = session

    async def listed(self, kind: str | None = None, *, active_only: bool = False) -> list[Company]:
        return await listed(self.session, kind, active_only=active_only)

    async def get(self, org_id: int) -> Company | None:
        return await get(self.session, org_id)

    async def create(self, by: User, words: list[str]) -> Company:
        """`/org_new dealer ООО Сад region=Москва inn=…`: the kind, the name, the details."""
        plain, details = parse_details(words)
        if not plain:
            raise BadDetails("")
        name, now = " ".join(plain[1:]), self.core.clock.now()
        return await create_organisation(self.session, plain[0], name, by.id, now, details)

    async def edit(self, by: User, words: list[str]) -> Company:
        """`/org_set 5 region=Москва price=Опт`."""
        plain, details = parse_details(words)
        company = await get(self.session, int(plain[0])) if plain and plain[0].isdigit() else None
        if company is None or not details:
            raise BadDetails(plain[0] if plain else "")
        await update_details(self.session, company, details, self.core.clock.now(), by.id)
        return company

    async def set_field(self, by: User, org_id: int, field: str, value: str) -> Company:
        """One detail from the card's buttons (the admin's next message is its value)."""
        company = await self._found(org_id)
        await update_details(self.session, company, {field: value}, self.core.clock.now(), by.id)
        return company

    async def set_active(self, by: User, org_id: int, active: bool) -> Company:
        company = await self._found(org_id)
        await set_active(self.session, company, active, self.core.clock.now(), by.id)
        return company

    async def representatives(self) -> list[User]:
        """Whom the card offers as the responsible regional representative: the active members of the role."""
        return [u for u in await people_repo.members(self.session, "regional_rep") if u.active]

    async def history(self, org_id: int) -> list[AuditEntry]:
        # Filtered here, not in SQL: JSON paths differ between SQLite and PostgreSQL, and an organisation's
        # changes are few.
        rows = await self.session.execute(
            select(AuditEntry).where(AuditEntry.action == CHANGED, AuditEntry.case_id.is_(None)).order_by(AuditEntry.id)
        )
        return [a for a in rows.scalars() if (a.data or {}).get("organisation") == org_id]

    # --- the card's buttons: the admin's next message is the value --------------------------------------

    @staticmethod
    def ask(by: User, org_id: int, field: str | None = None, kind: str | None = None) -> None:
        """A detail of an organisation (`field`), or a new organisation's name (`kind`), comes next."""
        if field is not None and field not in DETAILS and field not in CREDIT:
            raise BadDetails(field)
        if kind is not None and kind not in KINDS:
            raise BadDetails(kind)
        by.prompt = {"kind": PROMPT, "org": org_id, "field": field, "org_kind": kind}

    @staticmethod
    def pending(by: User) -> bool:
        return bool(by.prompt and by.prompt.get("kind") == PROMPT)

    @staticmethod
    def drop(by: User) -> None:
        by.prompt = None

    async def answer(self, by: User, text: str) -> Company:
        """The value came: checked (a wrong one keeps the question open: BadValue), kept, audited."""
        prompt = dict(by.prompt or {})
        if prompt.get("org_kind"):
            company = await create_organisation(
                self.session, str(prompt["org_kind"]), text, by.id, self.core.clock.now(), {}
            )
        else:
            company = await self.set_field(by, int(prompt["org"]), str(prompt["field"]), text)
        by.prompt = None
        return company

    async def _found(self, org_id: int) -> Company:
        company = await get(self.session, org_id)
        if company is None:
            raise BadDetails(str(org_id))
        return company

    async def person(self, user_id: int | None) -> User | None:
        return await self.session.get(User, user_id) if user_id else None

    async def people(self, org_id: int) -> list[User]:
        rows = await self.session.execute(select(User).where(User.organisation_id == org_id).order_by(User.id))
        return list(rows.scalars())
