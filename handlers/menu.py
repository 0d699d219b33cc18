"""The menu: my tasks, start a process, my cases."""

from __future__ import annotations

import logging
from typing import Final

from aiogram import Router
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Case, Task, TaskCard, User
from flows.runtime import START_TASK
from flows.status import CaseStatus, TaskStatus
from handlers.common import MY_CASES, MY_TASKS, NEW_CASE, AfterCommit, MenuButton, Registered, answer, say
from services import outbox
from services import people as people_repo
from services.cases import CaseService
from services.core import Core
from services.queries import case_states, open_tasks_page
from tgbot.callbacks import CaseCb, StartCb
from tgbot.conversation import Conversation
from tgbot.render import renderer_for

log = logging.getLogger(__name__)
router: Final[Router] = Router(name=__name__)
router.message.filter(Registered())
router.callback_query.filter(Registered())

PAGE = 10


@router.message(MenuButton(MY_TASKS))
async def my_tasks(message: Message, session: AsyncSession, core: Core, user: User, roles: set[str]) -> None:
    t = core.translator.t
    rows = list((await session.execute(open_tasks_page(user.id, roles, PAGE + 1))).scalars())
    if not rows:
        say(core, session, message.chat.id, t("You have no open tasks. 🎉", user.language))
        return
    say(
        core,
        session,
        message.chat.id,
        t("Your open tasks: %(n)s", user.language, n=len(rows) if len(rows) <= PAGE else f"{PAGE}+"),
    )
    rows = rows[:PAGE]
    # The page's cases, and everyone their cards name, in a few statements for the whole page.
    states = await case_states(core, session, (r.case_id for r in rows))
    people: set[int] = set()
    for state in states.values():
        people |= {state.initiator_id, state.responsible_id or 0}
        people |= {i for task in state.tasks for i in (task.assignee_id or 0, task.done_by or 0)}
    names = {uid: u.name for uid, u in (await people_repo.users_by_ids(session, people - {0})).items()}
    now = core.clock.now()
    cards = []
    for task_row in rows:
        state = states[task_row.case_id]
        task = next(x for x in state.tasks if x.id == task_row.id)
        text, keyboard = renderer_for(core).task_card(
            state,
            task,
            user.language,
            names=names,
            viewer_id=user.id,
            extra={"case": {"id": state.id, "title": state.title}},
        )
        cards.append((task_row.id, outbox.message(session, message.chat.id, text, now, keyboard)))
    await session.flush()  # one INSERT for the page's messages; the cards need their ids
    session.add_all(TaskCard(task_id=task_id, user_id=user.id, outbox_id=row.id) for task_id, row in cards)


@router.message(MenuButton(NEW_CASE))
async def choose_process(message: Message, session: AsyncSession, core: Core, user: User, roles: set[str]) -> None:
    t = core.translator.t
    specs = core.registry.startable(roles, user.is_admin)
    if not specs:
        say(core, session, message.chat.id, t("None of your roles can start a process.", user.language))
        return
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=core.translator.local(s.title, user.language)[:60],
                    callback_data=StartCb(process=s.process).pack(),
                )
            ]
            for s in specs
        ]
    )
    say(core, session, message.chat.id, t("Which process do you want to start?", user.language), keyboard)


@router.callback_query(StartCb.filter())
async def start_process(
    query: CallbackQuery,
    callback_data: StartCb,
    session: AsyncSession,
    core: Core,
    user: User,
    after_commit: AfterCommit,
) -> None:
    service = CaseService(core, session)
    loaded = await service.start(user, callback_data.process)
    start_task = next((x for x in loaded.state.tasks if x.key == START_TASK and x.status == TaskStatus.OPEN), None)
    conversation = Conversation(core, session, user)
    if start_task is not None and start_task.id is not None:
        task_row = loaded.task_rows[start_task.id]
        await conversation.begin(task_row, "submit")
    else:
        conversation.say(
            core.translator.t(
                "✅ Case %(case)s is registered.",
                user.language,
                case=core.wording.case_name(loaded.state, user.language),
            )
        )
    answer(after_commit, query)


@router.message(MenuButton(MY_CASES))
async def my_cases(message: Message, session: AsyncSession, core: Core, user: User) -> None:
    t = core.translator.t
    involved = select(Task.case_id).where(or_(Task.assignee_id == user.id, Task.done_by == user.id))
    rows = list(
        (
            await session.execute(
                select(Case)
                .where(or_(Case.initiator_id == user.id, Case.id.in_(involved)), Case.status != CaseStatus.CANCELLED)
                .order_by(Case.updated_at.desc())
                .limit(PAGE)
            )
        ).scalars()
    )
    if not rows:
        say(core, session, message.chat.id, t("You have no cases yet.", user.language))
        return
    buttons = []
    for case in rows:
        spec = await core.registry.spec(session, case.definition_id)
        stage = core.wording.stage_title(spec, case.stage, user.language)
        label = f"№{case.id} {case.title or core.translator.local(spec.title, user.language)} — {stage}"
        buttons.append(
            [InlineKeyboardButton(text=label[:64], callback_data=CaseCb(action="show", case_id=case.id).pack())]
        )
    say(core, session, message.chat.id, t("Your cases:", user.language), InlineKeyboardMarkup(inline_keyboard=buttons))
