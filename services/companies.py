"""Client companies: found by name in chat, or created on the spot."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Company


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
