"""The process library as an admin works with it: which processes there are (and their versions), and a
definition file sent in — checked, and with /load made the version new cases start with."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Definition, User
from flows.i18n import _
from flows.loader import DefinitionError, Problem, language_gaps, parse_definition
from flows.model import LocalText
from flows.runtime import EngineError
from services.core import Core

CHECKED = "checked_definition"  # `User.prompt` kind: a definition the admin checked, kept for «Load»


@dataclass
class Upload:
    key: str
    version: int | None  # the version it became, when loaded; None when only checked
    title: LocalText = ""  # the process's title, for the admin (never its key)
    digest: str = ""  # of the text checked: «Load» under the answer loads that text and no other
    same: bool = False  # loaded, but the text is the current version's own: nothing new was stored (`version` is it)
    # What `konveyer check` warns of (texts an English reader would get in Russian): it loads all the same.
    warnings: list[Problem] = field(default_factory=list)


class ProcessLibrary:
    def __init__(self, core: Core, session: AsyncSession) -> None:
        self.core = core
        self.session = session

    async def processes(self, lang: str | None) -> list[tuple[str, int | None, str]]:
        """Every process: key, current version, title."""
        versions = await self.core.registry.versions(self.session)
        return [
            (key, versions.get(key), self.core.translator.local(loaded.spec.title, lang))
            for key, loaded in sorted(self.core.registry.library.items())
        ]

    def problems(self, error: DefinitionError, lang: str | None, limit: int = 30) -> str:
        """The checker's findings as `file:line: message`, in the admin's language."""
        return self.said(error.problems, lang, limit)

    def said(self, problems: list[Problem], lang: str | None, limit: int = 30) -> str:
        """Findings (mistakes or warnings) as `file:line: message`, in the admin's language."""
        locale = self.core.translator.lang(lang)
        gettext = lambda message: self.core.translator.i18n.gettext(message, locale=locale)  # noqa: E731
        return "\n".join(p.translated(gettext) for p in problems[:limit])

    def warnings(self, upload: Upload, lang: str | None) -> str:
        """What `konveyer check` warns of in a definition sent in, said below the chat's answer as the panel does
        (an English reader would get these texts in Russian); empty when there is nothing to warn of."""
        if not upload.warnings:
            return ""
        heading = self.core.translator.t(_("Warnings — the definition loads all the same:"), lang)
        return f"\n\n⚠️ {heading}\n{self.said(upload.warnings, lang)}"

    async def upload(self, content: bytes, name: str, *, load: bool) -> Upload:
        """Check a definition (raises `flows.loader.DefinitionError` with every problem); `load` makes it current."""
        # Checked against the processes already loaded too: a hand-off to a process that does not exist is refused.
        source = content.decode("utf-8", errors="replace")
        loaded = parse_definition(source, name, known=self.core.registry.known())
        warnings = language_gaps(loaded)
        if not load:
            digest = hashlib.sha256(content).hexdigest()[:16]
            return Upload(loaded.key, None, loaded.spec.title, digest, warnings=warnings)
        registry = self.core.registry
        current = await registry.current_row(self.session, loaded.key)
        if current is not None and current.digest == loaded.digest:  # the chat's /load and the panel's «Load» alike
            return Upload(loaded.key, current.version, loaded.spec.title, same=True, warnings=warnings)
        await registry.add(self.session, loaded, self.core.clock.now())
        version = (await registry.versions(self.session)).get(loaded.key)
        return Upload(loaded.key, version, loaded.spec.title, warnings=warnings)

    async def check(self, content: bytes, name: str, admin: User) -> Upload:
        """Check a definition and keep it on the admin, so that «Load» under the answer loads it without the file
        being sent again (a later question or check takes its place)."""
        upload = await self.upload(content, name, load=False)
        source = content.decode("utf-8", errors="replace")
        admin.prompt = {"kind": CHECKED, "name": name, "source": source, "digest": upload.digest}
        return upload

    async def load_checked(self, admin: User, digest: str) -> Upload:
        """«Load» under a checked definition: the text checked becomes the version new cases start with (checked
        again: the other processes may have changed since)."""
        kept = admin.prompt or {}
        if kept.get("kind") != CHECKED or kept.get("digest") != digest:
            raise EngineError(
                _("This check is no longer kept: send the file again (with the caption /load to load it).")
            )
        admin.prompt = None
        return await self.upload(str(kept["source"]).encode("utf-8"), str(kept["name"]), load=True)


async def stored_warnings(session: AsyncSession, process: str, version: int) -> list[Problem]:
    """What `konveyer check` warns of in a stored version, read from its own text: the page a loaded upload leads
    to says them, as the check before it did (they are no reason to refuse a definition)."""
    query = select(Definition.source, Definition.path).where(
        Definition.process == process, Definition.version == version
    )
    row = (await session.execute(query)).one_or_none()
    if row is None:
        return []
    # Stored, so it was checked as a whole; its own words are all a warning is about (no other process needed).
    return language_gaps(parse_definition(row.source, row.path.removeprefix("upload:")))
