"""The menu's three lists: a page of my open tasks, the processes I may start, my cases.

Who sees what comes from `services.access`; the chat words and sends the lists (`tgbot.menu_view`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import and_, func, literal, or_, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from db.models import Case, Outbox, Setting, Task, User, status_is
from flows.model import ProcessDef
from flows.runtime import CONTINUED_AT, CaseState, TaskState
from flows.status import CaseStatus
from services import access, outbox_own_id
from services import people as people_repo
from services.access import Viewer
from services.cases import load_work
from services.core import Core
from services.digests.subscriptions import key_of as digest_key
from services.portal import stock_now
from services.queries import my_tasks_page
from services.waiting_moves import waiting_cases

PAGE = 10
# “My cases” lists the open cases (a request still being filled in among them: it is the person's own) and, apart,
# the finished ones; a cancelled case is in neither.
OPEN = (CaseStatus.DRAFT, CaseStatus.ACTIVE)
CLOSED = (CaseStatus.DONE,)


@dataclass(frozen=True)
class Walk:
    """How «my cases» is read for a person with a part in many cases. The person's whole set (every case they
    started, were given a task in or finished one in) sorted for its newest ten is a read that grows with the set:
    a service manager of the big company's 100,000 cases had a part in 41,600 of them (150 ms a press). Such a
    person has a part in a good share of the newest cases too, so their list is found by walking the cases from
    the newest (`ix_cases_search_stale`, by (updated_at, id) first), a batch at a time, each tested through its own
    tasks (`access.own_case`), until the page is full. Who walks: a person given at least `from_rows` tasks (counted
    up to that bound, through the assignee index: a quiet person's count reads next to nothing). A walk that meets
    no page in
    `depth` cases (a long-gone part in old cases) is given up for the set's read. The first batch is `batch` cases
    (0: twice the page), each next one twice the one before, up to `largest`."""

    from_rows: int = 2000
    depth: int = 2048
    batch: int = 0
    largest: int = 256


WALK = Walk()


@dataclass(frozen=True)
class Pick:
    """A press on a «Which process?» list: `go` — the person's newest list, nothing chosen from it yet; `chosen` —
    `process` was chosen from it already; `stale` — a newer list replaced it (`process`: what was chosen from that
    one, if anything). Only `go` starts a case: a list keeps its buttons on a phone that has not yet shown them taken
    away, and each press started one more case."""

    verdict: Literal["go", "chosen", "stale"]
    process: str = ""
    ref: int = 0  # `go`: the list pressed


def remember_choice(user: User, pick: Pick) -> None:
    """The list a `go` was pressed on is remembered as chosen from, on the person's row. Set once the start's own rows
    are written (`tgbot.buttons.CardButtons.start`), it goes with the first question's statement or the update's last
    (services/outbox_answer.py `_POINTER`, in the same transaction as the case): set at the press, the start's first
    read flushed it as an UPDATE of the person's row of its own."""
    user.picker_ref, user.picker_chosen = pick.ref, pick.process


_NEVER = datetime.max.replace(tzinfo=UTC)  # sorts a task without a due date last


@dataclass
class TaskPage:
    """A page of open tasks with their cases and the names their cards show."""

    entries: list[tuple[CaseState, TaskState]] = field(default_factory=list)
    names: dict[int, str] = field(default_factory=dict)
    more: bool = False  # there are more than a page of them
    drafts: list[tuple[CaseState, TaskState]] = field(default_factory=list)  # unfinished start forms
    # The catalogue's stock now of the products the cases' positions name, by 1C's id (`portal.stock_now`): an
    # order's approval card says it beside the stock when the dealer ordered.
    stock: dict[str, str] = field(default_factory=dict)
    # The person's cases that wait for their hand move, with no task (`services.waiting_moves`), and each one's title
    # as the reader reads it; `more_waiting`: more than a page of them.
    waiting: list[tuple[Case, ProcessDef]] = field(default_factory=list)
    waiting_titles: dict[int, str] = field(default_factory=dict)
    more_waiting: bool = False


class Menu:
    def __init__(self, core: Core, session: AsyncSession) -> None:
        self.core = core
        self.session = session

    async def my_tasks(self, viewer: Viewer, page: int = PAGE, *, waiting: bool = True) -> TaskPage:
        """Tasks held by the person or waiting in one of their roles' pools, the soonest due first, and the
        person's unfinished requests: one statement for all of them with what their cards show of their cases
        (`my_tasks_page`); names only if a card names someone other than the reader (almost never: the page holds
        their own tasks and their pools'). With `waiting`, one statement more: the cases they lead that wait for
        their hand move, which no task says (`waiting_moves`)."""
        query = my_tasks_page(viewer.user.id, viewer.roles, page + 1, access.visible_tasks(viewer))
        rows = (await self.session.execute(query)).all()
        states: dict[int, CaseState] = {}
        entries: list[tuple[CaseState, TaskState]] = []
        drafts: list[tuple[CaseState, TaskState]] = []
        for row in rows:
            task = TaskState(
                key=row.key, stage=row.stage, visit=row.visit, kind=row.kind, role=row.role,
                assignee_id=row.assignee_id, status=row.status, due_at=row.due_at, created_at=row.created_at,
                outcome=row.outcome, done_by=row.done_by, done_at=row.done_at, id=row.id,
            )  # fmt: skip
            state = states.get(row.case_id)
            if state is None:
                spec = await self.core.registry.spec(self.session, row.definition_id)
                state = states[row.case_id] = CaseState(
                    spec=spec,
                    initiator_id=row.initiator_id, stage=row.case_stage, status=row.case_status, data=row.data,
                    responsible_id=row.responsible_id, visit=row.case_visit, result=row.result, title=row.title,
                    titles=row.titles, id=row.case_id, title_template=self.core.registry.title_template(spec),
                )  # fmt: skip
            state.tasks.append(task)  # the case's tasks on this page only: the cards show nothing else of them
            # A request another case handed on is work given to them (its number told), not their own draft.
            (drafts if row.draft and CONTINUED_AT not in (row.data or {}) else entries).append((state, task))
        entries.sort(key=lambda e: (e[1].due_at is None, e[1].due_at or _NEVER, e[1].id or 0))
        drafts.sort(key=lambda e: e[1].id or 0)
        entries, more = entries[:page], len(entries) > page
        await load_work(self.session, [state for state, _task in entries])
        named = {i for _s, t in entries for i in (t.assignee_id, t.done_by) if i and i != viewer.user.id}
        names = {uid: u.name for uid, u in (await people_repo.users_by_ids(self.session, named)).items()}
        stock = await stock_now(self.session, [state for state, _task in entries])
        tasks = TaskPage(entries=entries, names=names, more=more, drafts=drafts, stock=stock)
        if waiting:
            tasks.waiting, tasks.more_waiting = await waiting_cases(self.core, self.session, viewer, page)
            tasks.waiting_titles = self.titles(tasks.waiting, viewer.user.language)
        return tasks

    def titles(self, cases: list[tuple[Case, ProcessDef]], lang: str | None) -> dict[int, str]:
        """Each case's title as a reader of `lang` reads it in a list (`Registry.case_title`), else its process's."""
        registry, local = self.core.registry, self.core.translator.local
        return {case.id: registry.case_title(spec, case, lang) or local(spec.title, lang) for case, spec in cases}

    def startable(self, viewer: Viewer) -> list[ProcessDef]:
        # A process started elsewhere (the order request: from the cart) is not offered here.
        return [s for s in access.startable(viewer, self.core.registry.current_specs()) if s.start.menu]

    def process(self, process: str) -> ProcessDef | None:
        """The current version of `process`, if it is still loaded (a list's button may outlive it)."""
        return self.core.registry.known().get(process)

    def list_sent(self, viewer: Viewer, sent: Outbox) -> int | None:
        """The person's newest «Which process?» list is the message `sent` now (its outbox row's id kept on their
        row, written with the update: with the message itself, `outbox_own_id.id_goes_to`). The list it replaces, when
        nothing was chosen from it: its buttons are to be taken away."""
        user = viewer.user
        replaced = user.picker_ref if user.picker_ref and not user.picker_chosen else None
        outbox_own_id.id_goes_to(self.session, sent, user, "picker_ref")
        user.picker_chosen = None
        return replaced

    def pick(self, viewer: Viewer, ref: int, process: str) -> Pick:
        """`process` pressed on the list `ref` (0: a list sent before lists were remembered): whether it starts a case
        (`Pick`). A `go` is remembered as the list's choice by whoever starts the case (`remember_choice`), with the
        start's writes. The person's updates are handled one at a time, so a double tap's second press reads the
        first one's choice."""
        user = viewer.user
        if user.picker_ref is None:  # no list sent since lists were remembered: this old one is the newest
            return Pick("go", process, ref)
        if user.picker_ref != ref:  # what the newest list was used for, if it was: no «choose below»
            return Pick("stale", user.picker_chosen or "")
        if user.picker_chosen:
            return Pick("chosen", user.picker_chosen)
        return Pick("go", process, ref)

    async def my_cases(
        self, viewer: Viewer, page: int = PAGE, walk: Walk = WALK, *, closed: bool = False
    ) -> list[tuple[Case, ProcessDef]]:
        """The person's cases, open ones (`closed`: the finished ones instead), the latest changed first: those they
        started or took part in (see `Walk` for the two ways they are found) and those of the processes they are told
        about or get a digest of (`access.told_processes`), each process read apart through its index and the pages
        merged."""
        wanted = CLOSED if closed else OPEN
        walking = access.is_active(viewer.user) and await self._many_own(viewer, walk)  # else nothing is own
        cases = await self._walked(viewer, page, walk, wanted) if walking else None
        if cases is None:
            query = (
                select(Case)
                .where(access.own_cases(viewer), Case.status.in_(wanted))
                .order_by(Case.updated_at.desc(), Case.id.desc())
                .limit(page)
            )
            cases = list((await self.session.execute(query)).scalars())
        told = self._told_page(viewer, sorted(await self._told(viewer)), wanted, page)
        if told is not None:
            seen = {case.id for case in cases}
            cases += [case for case in (await self.session.execute(told)).scalars() if case.id not in seen]
        cases = sorted(cases, key=lambda case: (case.updated_at, case.id), reverse=True)[:page]
        return [(case, await self.core.registry.spec(self.session, case.definition_id)) for case in cases]

    @staticmethod
    def _told_page(viewer: Viewer, processes: list[str], wanted: tuple[CaseStatus, ...], page: int) -> Any:
        """The newest `page` cases of the processes the person is told of, in one statement: each process and status
        a range of `ix_cases_process_status_updated` from its end (`page` rows at most), the ranges joined by UNION
        ALL and the page cut from them — a director told of every process made a read per process and status. (An
        IN over the processes would read every case of them to sort them for ten.) None: no such process. A case is
        one process in one status, so no case is in two ranges."""
        ranges = [
            select(Case)
            .where(access.told_cases(viewer, process), Case.status == status)
            .order_by(Case.updated_at.desc(), Case.id.desc())
            .limit(page)
            .subquery()
            for process in processes
            for status in wanted
            if status is not CaseStatus.DRAFT  # someone else's request still being filled in is no one's case yet
        ]
        if not ranges:
            return None
        # Each range read from its own subquery: SQLite takes no ORDER BY or LIMIT in a member of a UNION itself.
        told = union_all(*(select(*r.c) for r in ranges)).subquery() if len(ranges) > 1 else ranges[0]
        case = aliased(Case, told)
        return select(case).order_by(told.c.updated_at.desc(), told.c.id.desc()).limit(page)

    async def _told(self, viewer: Viewer) -> set[str]:
        """`access.told_processes` of the person: their digest's subscription read by its key (no digest, no row)."""
        if not access.is_active(viewer.user):
            return set()
        setting = await self.session.get(Setting, digest_key(viewer.user.id))
        digest = setting is not None and bool((setting.value or {}).get("on"))
        return access.told_processes(viewer, self.core.registry.current_specs(), digest=digest)

    async def _many_own(self, viewer: Viewer, walk: Walk) -> bool:
        """Whether the person was given at least `walk.from_rows` tasks, counted through the assignee index and only
        up to that bound, so a busy person's count costs about what a quiet one's does. (A task keeps the one it was
        given to when done, and only they may finish it: the tasks finished are among these. The cases a person
        started are not counted: the set's read reads them through the initiator index anyway, and counting them
        first read the same rows twice for every shop manager.)"""
        bound = walk.from_rows
        mine = select(literal(1)).where(Task.assignee_id == viewer.user.id).limit(bound).subquery()
        return int((await self.session.execute(select(func.count()).select_from(mine))).scalar_one()) >= bound

    async def _walked(
        self, viewer: Viewer, page: int, walk: Walk, wanted: tuple[CaseStatus, ...] = ()
    ) -> list[Case] | None:
        """The newest cases, a batch at a time (`Walk.batch`), each marked whether it is the person's own (one scan
        of the index, each case tested as it comes: `access.own_case`); the page's cases then read whole. None when
        `walk.depth` cases held no page (the set's read is the shorter then). Tested in the scan, not cut first
        and joined back to the cases: PostgreSQL joined a batch of 640 through a scan of the whole table. Batches
        stop growing at `walk.largest`, a statement's read kept small."""
        mine = access.own_case(viewer)
        found: list[int] = []
        after: tuple[Any, int] | None = None
        walked, size = 0, walk.batch or 2 * page
        while walked < walk.depth:
            batch = select(Case.id, Case.updated_at, mine.label("mine")).where(
                ~status_is(Case.status, CaseStatus.CANCELLED)
            )
            if wanted:
                batch = batch.where(Case.status.in_(wanted))
            if after is not None:
                # (updated_at, id) below the last one seen, spelt so the index's range is `updated_at <= …`
                batch = batch.where(
                    Case.updated_at <= after[0],
                    or_(Case.updated_at < after[0], and_(Case.updated_at == after[0], Case.id < after[1])),
                )
            rows = (
                await self.session.execute(batch.order_by(Case.updated_at.desc(), Case.id.desc()).limit(size))
            ).all()
            found += [row.id for row in rows if row.mine]
            walked += len(rows)
            if len(found) >= page or len(rows) < size:
                break
            after = (rows[-1].updated_at, rows[-1].id)
            size = min(2 * size, walk.largest, walk.depth - walked)
        else:
            return None
        chosen = found[:page]
        loaded = {
            case.id: case for case in (await self.session.execute(select(Case).where(Case.id.in_(chosen)))).scalars()
        }
        return [loaded[case_id] for case_id in chosen]
