"""Organisations (dealers, suppliers, client companies): found by name in chat, created on the spot in a form,
kept by admins (`/orgs`, `/org_new`, `/org_set`, the panel)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Company, User
from services.core import Core


async def search(session: AsyncSession, text: str, limit: int = 8) -> list[Company]:
    pattern = f"%{text.casefold()}%"
    rows = await session.execute(
        select(Company).where(func.lower(Company.name).like(pattern)).order_by(Company.name).limit(limit)
    )
    found = list(rows.scalars())
    if not found:
        # SQLite's lower() folds only ASCII; compare in Python for Cyrillic names there.
        everything = await session.execute(select(Company).order_by(Company.name).limit(500))
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
# What an admin may set by `/org_set 5 region=…`: the column each word names.
DETAILS = {"inn": "inn", "kpp": "kpp", "region": "region", "price": "price_type", "contacts": "contacts"}


class BadDetails(Exception):
    """An organisation's kind or a detail the admin wrote is not one we know."""


async def listed(session: AsyncSession, kind: str | None = None) -> list[Company]:
    query = select(Company).order_by(Company.kind, Company.name)
    if kind is not None:
        query = query.where(Company.kind == kind)
    return list((await session.execute(query)).scalars())


async def create_organisation(
    session: AsyncSession, kind: str, name: str, user_id: int | None, now: datetime, details: dict[str, str]
) -> Company:
    if kind not in KINDS or not name.strip():
        raise BadDetails(kind)
    company = await create(session, name, user_id, now)
    company.kind = kind
    await update_details(session, company, details, now)
    return company


async def update_details(session: AsyncSession, company: Company, details: dict[str, str], now: datetime) -> None:
    """Set details by their short names (inn, kpp, region, price, contacts, rep = the regional
    representative's user id)."""
    for key, value in details.items():
        if key == "rep":
            if not value.isdigit():
                raise BadDetails(key)
            company.regional_rep_id = int(value)
        elif key == "name":
            company.name = " ".join(value.split())[:300]
        elif key in DETAILS:
            setattr(company, DETAILS[key], value.strip() or None)
        else:
            raise BadDetails(key)
    company.updated_at = now
    await session.flush()


def parse_details(words: list[str]) -> tuple[list[str], dict[str, str]]:
    """`ООО Сад region=Москва inn=7701234567` → the plain words and the `key=value` details (`_` is a space)."""
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

    async def listed(self, kind: str | None = None) -> list[Company]:
        return await listed(self.session, kind)

    async def get(self, org_id: int) -> Company | None:
        return await get(self.session, org_id)

    async def create(self, by: User, words: list[str]) -> Company:
        """`/org_new dealer ООО Сад region=Москва inn=…`: the kind, the name, the details."""
        plain, details = parse_details(words)
        if not plain:
            raise BadDetails("")
        name, now = " ".join(plain[1:]), self.core.clock.now()
        return await create_organisation(self.session, plain[0], name, by.id, now, details)

    async def edit(self, words: list[str]) -> Company:
        """`/org_set 5 region=Москва price=Опт`."""
        plain, details = parse_details(words)
        company = await get(self.session, int(plain[0])) if plain and plain[0].isdigit() else None
        if company is None or not details:
            raise BadDetails(plain[0] if plain else "")
        await update_details(self.session, company, details, self.core.clock.now())
        return company

    async def person(self, user_id: int | None) -> User | None:
        return await self.session.get(User, user_id) if user_id else None

    async def people(self, org_id: int) -> list[User]:
        rows = await self.session.execute(select(User).where(User.organisation_id == org_id).order_by(User.id))
        return list(rows.scalars())
