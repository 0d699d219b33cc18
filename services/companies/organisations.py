"""Organisations as an admin keeps them in chat and the panel: `/org` and its card's buttons, `/org_new`, `/org_set`,
the panel's form."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import AuditEntry, Company, User
from services import people as people_repo
from services.companies.details import (
    CHANGED,
    CREDIT,
    DETAILS,
    KINDS,
    PROMPT,
    BadDetails,
    Credit,
    create_organisation,
    credit_of,
    get,
    listed,
    set_active,
    update_details,
)

if TYPE_CHECKING:  # the import reads organisations without the bot's Core (and aiogram behind its i18n)
    from services.core import Core


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
        return await create_organisation(self.session, self.kind_named(plain[0]), name, by.id, now, details)

    def kind_named(self, word: str) -> str:
        """The kind as an admin types it: its key or the word people read (дилер, Поставщик…), in any language and
        case; anything else is passed on as typed, to be refused with the usage."""
        from services.i18n import LANGUAGES  # here: the import of organisations goes without aiogram (above)
        from services.wording.names import ORGANISATION_KINDS

        typed = word.casefold()
        for kind, label in ORGANISATION_KINDS.items():
            if typed == kind or typed in {self.core.translator.t(label, lang).casefold() for lang in LANGUAGES}:
                return kind
        return word

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

    async def credit(self, org: Company) -> Credit:
        """Its credit state, its order requests under way counted against the limit."""
        return await credit_of(self.session, org)

    async def person(self, user_id: int | None) -> User | None:
        return await self.session.get(User, user_id) if user_id else None

    async def by_region(self, region: str | None) -> list[User]:
        """Who works a dealer's cases by its region (`access.organisation_scope`): the active people of that region —
        its regional representatives, whether or not one is named on the card."""
        if not region:
            return []
        rows = await self.session.execute(
            select(User).where(User.region == region, User.active.is_(True)).order_by(User.id)
        )
        return list(rows.scalars())

    async def people(self, org_id: int) -> list[User]:
        rows = await self.session.execute(select(User).where(User.organisation_id == org_id).order_by(User.id))
        return list(rows.scalars())
