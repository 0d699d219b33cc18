"""Definition versions in the database. A changed YAML becomes a new version; running cases keep theirs."""

from __future__ import annotations

import logging
import re
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from db.models import Case, Definition
from flows.loader import DefinitionError, LoadedDefinition, load_library, parse_definition
from flows.model import LocalText, ProcessDef, StageColour
from flows.runtime import title_for

log = logging.getLogger(__name__)


def process_named(listed: list[tuple[str, str]], words: str) -> str | None:
    """The process among `listed` (key, title in the reader's language) that `words` name, if they name one only
    (`processes_named`): what may follow `/diagram` and `/export`."""
    named = processes_named(listed, words)
    return named[0] if len(named) == 1 else None


def processes_named(listed: list[tuple[str, str]], words: str) -> list[str]:
    """The processes among `listed` that `words` may name: its key or its whole title (in any case and spacing) is
    that one; else the titles that start with the words; else those holding each typed word (at a word's start:
    «отпуск» finds «отпуска») — «Заявление на отпуск» is «Заявление на отпуск (тест)» when no other title says so."""
    wanted = " ".join(words.split()).casefold()
    if not wanted:
        return []
    for key, title in listed:
        if wanted in (key.casefold(), " ".join(title.split()).casefold()):
            return [key]
    starting = [key for key, title in listed if " ".join(title.split()).casefold().startswith(wanted)]
    if starting:
        return starting
    typed = _WORD.findall(wanted)
    return [key for key, title in listed if typed and all(_has_word(title, word) for word in typed)]


_WORD = re.compile(r"\w+")


def _has_word(title: str, word: str) -> bool:
    return any(part.startswith(word) for part in _WORD.findall(title.casefold()))


class Registry:
    def __init__(self, library: dict[str, LoadedDefinition]) -> None:
        self.library = library
        self.current: dict[str, int] = {}  # process key -> id of its current definition row
        self._specs: dict[int, ProcessDef] = {}
        self._broken: set[int] = set()

    @classmethod
    def from_folder(cls, folder: str) -> Registry:
        return cls(load_library(folder))

    async def sync(self, session: AsyncSession, now: datetime) -> None:
        """Store a library file as a new version only when its text was never stored; it becomes the current one.
        Otherwise the version marked current stays so: a definition an admin loaded in chat, or an earlier version
        made current again in the panel, stays current after a restart; a changed file becomes a new version once."""
        for key, loaded in list(self.library.items()):
            rows = list(
                (
                    await session.execute(
                        select(Definition).where(Definition.process == key).order_by(Definition.version.desc())
                    )
                ).scalars()
            )
            # The file's text is new if no version from this file has it: a reverted file comes back as a new
            # version; a version an admin loaded in chat (another path) stays current until the file changes.
            from_file = [row for row in rows if row.path == loaded.path]
            if not any(row.digest == loaded.digest for row in from_file):
                version = (rows[0].version + 1) if rows else 1
                row = Definition(
                    process=key,
                    version=version,
                    digest=loaded.digest,
                    source=loaded.source,
                    path=loaded.path,
                    created_at=now,
                )
                session.add(row)
                await session.flush()
                rows.insert(0, row)
                log.info("process %s: stored version %s", key, version)
                await self._mark_current(session, row)
            current = next((row for row in rows if row.is_current), None)
            if current is None:  # stored before anything was marked current: the newest was
                current = rows[0]
                await self._mark_current(session, current)
            self._use(current, loaded)

    def _use(self, row: Definition, loaded: LoadedDefinition | None = None) -> None:
        if loaded is None or loaded.digest != row.digest:
            loaded = parse_definition(row.source, row.path)
        self.library[row.process] = loaded
        self.current[row.process] = row.id
        self._specs[row.id] = loaded.spec

    async def refresh(self, session: AsyncSession) -> None:
        """Pick up the versions another worker made current (an admin's upload or rollback reaches every worker)."""
        marked = dict(
            (await session.execute(select(Definition.process, Definition.id).where(Definition.is_current))).all()
        )
        for process, definition_id in marked.items():
            if self.current.get(process) == definition_id or definition_id in self._broken:
                continue
            row = await session.get(Definition, definition_id)
            if row is None:
                continue
            try:
                self._use(row)
            except DefinitionError:
                # Stored by a newer worker with keys this one does not know: keep serving the old version.
                self._broken.add(definition_id)
                log.error("process %s: version %s cannot be read here; staying on the previous", process, row.version)
                continue
            log.info("process %s: now on version %s", process, row.version)

    async def newest(self, session: AsyncSession, process: str) -> Definition | None:
        """The process's newest stored version: the one new cases start with."""
        query = select(Definition).where(Definition.process == process).order_by(Definition.version.desc()).limit(1)
        return (await session.execute(query)).scalar_one_or_none()

    async def current_row(self, session: AsyncSession, process: str) -> Definition | None:
        """The version new cases of the process start with (read from the database: another worker may have made
        another one current)."""
        query = select(Definition).where(Definition.process == process, Definition.is_current)
        return (await session.execute(query)).scalar_one_or_none()

    async def add(self, session: AsyncSession, loaded: LoadedDefinition, now: datetime) -> int:
        """Load a definition an admin uploaded; it becomes the version new cases start with. A text stored before
        (an earlier version sent again) makes that version current, as «back to this version» in the panel does:
        no copy under a new number."""
        query = select(Definition).where(Definition.process == loaded.key, Definition.digest == loaded.digest)
        stored = (await session.execute(query.order_by(Definition.version.desc()).limit(1))).scalar_one_or_none()
        if stored is not None:
            await self._mark_current(session, stored)
            self._use(stored, loaded)
            return stored.id
        newest = await self.newest(session, loaded.key)
        row = Definition(
            process=loaded.key,
            version=(newest.version + 1) if newest else 1,
            digest=loaded.digest,
            source=loaded.source,
            path=f"upload:{loaded.path}",
            created_at=now,
        )
        session.add(row)
        await session.flush()
        await self._mark_current(session, row)
        self._use(row, loaded)
        log.info("process %s: version %s loaded by an admin", loaded.key, row.version)
        return row.id

    async def make_current(self, session: AsyncSession, row: Definition) -> None:
        """An earlier (or later) stored version becomes the one new cases start with; no version is added, and
        running cases keep theirs."""
        loaded = parse_definition(row.source, row.path)
        await self._mark_current(session, row)
        self._use(row, loaded)
        log.info("process %s: version %s made current by an admin", row.process, row.version)

    @staticmethod
    async def _mark_current(session: AsyncSession, row: Definition) -> None:
        # Two statements: the partial unique index allows one current version per process at every moment.
        await session.execute(
            update(Definition)
            .where(Definition.process == row.process, Definition.is_current, Definition.id != row.id)
            .values(is_current=False)
            .execution_options(synchronize_session=False)
        )
        await session.execute(
            update(Definition)
            .where(Definition.id == row.id)
            .values(is_current=True)
            .execution_options(synchronize_session=False)
        )
        set_committed_value(row, "is_current", True)  # as written: not a change for the next flush to write again

    async def spec(self, session: AsyncSession, definition_id: int) -> ProcessDef:
        spec = self._specs.get(definition_id)
        if spec is None:
            row = await session.get(Definition, definition_id)
            if row is None:
                raise KeyError(definition_id)
            spec = parse_definition(row.source, row.path).spec
            self._specs[definition_id] = spec
        return spec

    def latest(self, process: str) -> tuple[int, ProcessDef]:
        definition_id = self.current[process]
        return definition_id, self._specs[definition_id]

    def known(self) -> dict[str, ProcessDef]:
        """Every process new cases can start, by key (a definition being checked may hand off to these)."""
        return {key: self._specs[i] for key, i in self.current.items()}

    def stage_colour(self, spec: ProcessDef, stage: str) -> StageColour | None:
        """A stage's colour mark: its definition's, else the current version's for the same stage key (a case
        started before the colours were written stays on its older version and keeps its mark)."""
        colour = spec.stage_colour(stage)
        current = self.current.get(spec.process)
        if colour is None and current is not None and current in self._specs:
            colour = self._specs[current].stage_colour(stage)
        return colour

    def title_template(self, spec: ProcessDef) -> LocalText | None:
        """The per-language title a case of this version is named by in a language it was stored without
        (`flows.runtime.title_for`): its version's; for a version with one title, the current version's of its
        process when that has one per language — cases started before titles were kept per language (migration
        0029) are on such versions, and their English readers would otherwise read the Russian title."""
        own = spec.start.title
        if isinstance(own, str) and own:
            current = self.current.get(spec.process)
            newer = self._specs[current].start.title if current in self._specs else None
            if isinstance(newer, dict):
                return newer
        return own

    def case_title(self, spec: ProcessDef, case: Case, lang: str | None) -> str:
        """A case row's title for a reader of `lang`, as `CaseState.title_in` says it (lists read rows)."""
        return title_for(case.title, case.titles, lang, spec=spec, data=case.data or {},
                         template=self.title_template(spec))  # fmt: skip

    def current_specs(self) -> list[ProcessDef]:
        """The version of every process that new cases start with (who may start one: `access.startable`)."""
        return [self._specs[i] for i in self.current.values()]

    async def versions(self, session: AsyncSession) -> dict[str, int]:
        """The current version of each process: the one new cases start with."""
        rows = await session.execute(select(Definition.process, Definition.version).where(Definition.is_current))
        return {process: version for process, version in rows.all()}
