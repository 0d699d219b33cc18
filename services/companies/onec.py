"""1C's organisations (CommerceML 2 `Контрагенты`): read from its XML, then found by 1C's Ид or INN, created or
updated through the same checks and audit as an admin's edit; a dealer's debt as 1C keeps it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Company
from services.companies.details import BadValue, audit, checked_all, create_organisation, update_details

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
            values = await checked_all(session, details)
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
