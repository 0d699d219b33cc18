"""Effect handlers: one per kind of effect the engine returns, found through a registry. A new kind of
effect is a new function decorated with `@handles(Kind)`; nothing else changes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from db.models import Company, User
from flows.items import parse_item_task
from flows.runtime import (
    START_TASK,
    CancelWait,
    CaseClosed,
    DeadlineMoved,
    Effect,
    FieldCorrected,
    Notify,
    NotifyCases,
    SendEmail,
    SetTimer,
    StageEntered,
    StartCase,
    TaskClosed,
    TaskCreated,
    TaskState,
    UpdateCompany,
    stage_waits_until,
)
from flows.status import CaseStatus, TaskStatus
from services import access, following, reports
from services import people as people_repo
from services.cases.state import Loaded

if TYPE_CHECKING:
    from services.cases.service import CaseService

E = TypeVar("E")
EffectHandler = Callable[["CaseService", Loaded, Any, "int | None"], Awaitable[None]]
HANDLERS: dict[type, EffectHandler] = {}


def handles(kind: type[E]) -> Callable[[EffectHandler], EffectHandler]:
    def register(handler: EffectHandler) -> EffectHandler:
        if kind in HANDLERS:
            raise RuntimeError(f"two handlers for {kind.__name__}")
        HANDLERS[kind] = handler
        return handler

    return register


def in_order(effects: list[Effect]) -> list[Effect]:
    """A step's effects in the order they are applied: the cases it starts last, so that what happened to this case
    (its close above all) is read before the news of the case it handed on to."""
    return sorted(effects, key=lambda effect: isinstance(effect, StartCase))


async def apply_effect(service: CaseService, loaded: Loaded, effect: Effect, actor_id: int | None) -> None:
    handler = HANDLERS.get(type(effect))
    if handler is None:
        raise RuntimeError(f"no handler for the effect {type(effect).__name__}")
    await handler(service, loaded, effect, actor_id)


@handles(TaskCreated)
async def task_created(service: CaseService, loaded: Loaded, effect: TaskCreated, actor_id: int | None) -> None:
    task = effect.task
    if task.key == START_TASK and loaded.interactive:
        return  # the initiator is already in the conversation that started the case
    if loaded.asked_in_chat == (task.key, task.stage) and task.assignee_id == actor_id:
        return  # a move's or a change's form, asked in the chat of the person who pressed it
    if parse_item_task(task.key) is not None:
        # The form of an item's move: asked in the conversation of the person who pressed the button, or, given
        # after its approval, offered to them by the approval's notice (`services.cases.items.item_approval`).
        return
    if task.assignee_id is not None:
        assignee = await service.people.user(task.assignee_id)
        recipients = [assignee] if assignee else []
    else:
        recipients = await pool(service, loaded, task)
        if len(recipients) == 1:
            # A released task offered anew (a new one was given before its row was written: `_give_pools_of_one`).
            task.assignee_id = recipients[0].id
            trow = loaded.task_rows[task.id or 0]
            trow.assignee_id, trow.claimed_at = task.assignee_id, None
        elif not recipients:
            await service.notifier.nobody_has_role(loaded, task)
            return
    await service.notifier.task_given(loaded, task, recipients)


async def pool(service: CaseService, loaded: Loaded, task: TaskState) -> list[User]:
    """Who a role's task is offered to: the role's members, but not another dealer's staff with the same role
    (they are not told of, nor given, this organisation's task)."""
    assert task.role is not None
    members = await service.people.members(task.role)
    return await access.reachable(service.session, members, loaded.row.company_id)


def offered(loaded: Loaded, task: TaskState) -> bool:
    """Whether `task_created` offers this task to its role's pool (not the start form of a chat that is already
    asking it, nor an item's move form, nor a task that already has its person)."""
    if task.key == START_TASK and loaded.interactive:
        return False
    return parse_item_task(task.key) is None and task.assignee_id is None


@handles(TaskClosed)
async def task_closed(service: CaseService, loaded: Loaded, effect: TaskClosed, actor_id: int | None) -> None:
    # The engine sets a task's timers (reminders, overdue) only when it has a deadline; without one there is
    # nothing to cancel, and a stray timer of a closed task would find it done and do nothing anyway.
    if effect.task.due_at is not None:
        service.store.cancel_timers(task_id=effect.task.id)
    await service.task_changed(loaded, effect.task)


@handles(DeadlineMoved)
async def deadline_moved(service: CaseService, loaded: Loaded, effect: DeadlineMoved, actor_id: int | None) -> None:
    # The old reminders and the overdue timer go; the engine's SetTimer effects that follow set the new ones.
    service.store.cancel_timers(task_id=effect.task.id)
    await service.task_changed(loaded, effect.task)  # the cards show the new deadline
    if effect.field is None:
        return  # an escalation's extension: its holder is told with its reason (`services.escalations`)
    # The field the deadline reads was changed on the case (the warehouse date): whoever is to do the task hears
    # it as a message of its own — an edited card alone rings no phone. Not the one who changed it.
    for person in await holders(service, loaded, effect.task):
        if person.id != actor_id and person.active:
            await service.notifier.deadline_followed(loaded, effect.task, person, effect.field)


async def holders(service: CaseService, loaded: Loaded, task: TaskState) -> list[User]:
    """Whoever is to do the task: the one who holds it, or its role's pool while nobody has taken it."""
    if task.assignee_id is not None:
        holder = await service.people.user(task.assignee_id)
        return [holder] if holder is not None else []
    return await pool(service, loaded, task)


@handles(FieldCorrected)
async def field_corrected(service: CaseService, loaded: Loaded, effect: FieldCorrected, actor_id: int | None) -> None:
    """A field was corrected where the case, or one of its items, stands: whoever follows the case hears it as a
    message of its own (an edited card rings no phone) — the tracking number the manager gave the client was wrong,
    the warehouse date moved. Not the one who corrected it. An item's history has it here (the case's has it from
    its answer's `before`), and its cards show the new value."""
    if effect.item is not None:
        from services.cases.items import item_cards  # items.py registers handlers here: import it late

        name, index = effect.item
        detail = {"list": name, "index": index, "field": effect.field, "from": effect.before, "to": effect.after}
        service.store.audit(loaded, actor_id, "item.corrected", detail)
        cards = item_cards(loaded, name, index)
        if cards:
            await service.notifier.item_changed(loaded, name, index, cards)
    # Whoever is to do a task whose deadline reads the field hears that message instead (`deadline_moved`): it says
    # the new value too, and what it means for their own work — the new deadline; two messages would say it twice.
    moved = [e.task for e in loaded.step_effects if isinstance(e, DeadlineMoved) and e.field == effect.field]
    told = {person.id for task in moved for person in await holders(service, loaded, task)}
    followers, muted = await case_followers(service, loaded)
    initiator = loaded.state.initiator_id
    heard = [
        p for p in dict.fromkeys([initiator, *followers])
        if p != actor_id and p not in told and not (p == initiator and muted)
    ]  # fmt: skip
    people = [p for p in (await service.people.users(heard)).values() if p.active]
    reached = await access.reachable(service.session, people, loaded.row.company_id)
    if reached:
        await service.notifier.field_corrected(loaded, effect, reached)


@handles(SetTimer)
async def set_timer(service: CaseService, loaded: Loaded, effect: SetTimer, actor_id: int | None) -> None:
    payload: dict[str, Any] = {}
    if effect.stage is not None:
        payload = {"stage": effect.stage, "visit": effect.visit}
    if effect.item is not None:
        payload.update({"list": effect.item[0], "index": effect.item[1]})
    service.store.set_timer(loaded.row.id, effect.task.id if effect.task else None, effect.kind, effect.due_at,
                            payload)


@handles(CancelWait)
async def cancel_wait(service: CaseService, loaded: Loaded, effect: CancelWait, actor_id: int | None) -> None:
    service.store.cancel_timers(case_id=loaded.row.id, kind="wait")


async def audience(service: CaseService, loaded: Loaded, effect: Notify) -> dict[int, User]:
    """Who a notice reaches: the members of its roles and its people, those who may hear of this case."""
    users = {}
    for role in effect.roles:
        for member in await service.people.members(role):
            users[member.id] = member
    users.update(await service.people.users(effect.user_ids))
    allowed = await access.reachable(service.session, users.values(), loaded.row.company_id)
    return {u.id: u for u in allowed}


async def noticed(service: CaseService, loaded: Loaded) -> set[int]:
    """The people a notice of the process's own text reaches in this step («Заявка одобрена и передаётся в 1С»)."""
    if loaded.noticed is None:
        loaded.noticed = set()
        for effect in loaded.step_effects:
            if isinstance(effect, Notify) and effect.kind == "text":
                loaded.noticed.update(await audience(service, loaded, effect))
    return loaded.noticed


@handles(Notify)
async def notify(service: CaseService, loaded: Loaded, effect: Notify, actor_id: int | None) -> None:
    users = await audience(service, loaded, effect)
    if effect.kind == "text" and loaded.hears_cancel:
        # A process's words on its cancel (a prepayment to return) to someone who hears of the cancel anyway (the
        # payment task they held is off): one message says both (`Cancelling.close_cancelled`).
        for person_id in loaded.hears_cancel & set(users):
            loaded.cancel_words.setdefault(person_id, []).append(effect)
            users.pop(person_id)
    if effect.kind == "text" and loaded.registered:
        users.pop(loaded.registering or 0, None)  # said in the message that the case is registered
    if (effect.item is not None or effect.answered) and actor_id is not None:
        # An item's notice is news of someone's move, a task's `on_done` of someone's answer: not to whoever made it
        # (whatever his role).
        users.pop(actor_id, None)
    answering = loaded.answering
    if effect.kind == "text" and effect.item is None and answering in users:
        # Said in the answer to what they just did — unless the case ended (its closing notice says it) or the step
        # gives them a card, which is their answer: the news comes before the work it explains, as it did.
        if loaded.state.status == CaseStatus.ACTIVE and not await _gives_a_card(service, answering):
            users.pop(answering)
            loaded.own_words.append(effect)
    if effect.kind == "escalation" and effect.task is not None:
        # Who it went to is who may act on its buttons (`access.may_act_on_escalation`).
        service.store.audit(
            loaded, None, access.ESCALATED, {"task": effect.task.key, "to": sorted(users)}, task_id=effect.task.id
        )
    if effect.kind == "text" and loaded.continued_to is not None:
        users.pop(loaded.continued_to, None)  # said in the message that the case continues another
    await service.notifier.notify(loaded, effect, list(users.values()))


async def _gives_a_card(service: CaseService, person_id: int) -> bool:
    """Whether this step gives the person a task of theirs (or their role's): its card is the answer they read."""
    created = [t for t in service.store.created.values() if t.status == TaskStatus.OPEN]
    if not created:
        return False
    roles = await people_repo.roles_of(service.session, person_id)
    return any(t.is_for(person_id, roles) for t in created)


async def case_followers(service: CaseService, loaded: Loaded) -> tuple[list[int], bool]:
    """Who follows the case besides its initiator, and whether the initiator muted it: read with the case when the
    store could (`services.following.audience` otherwise)."""
    read = service.store.audience(loaded.row.id)
    if read is not None:
        return read
    return await following.audience(service.session, loaded.row.id, loaded.state.initiator_id)


@handles(StageEntered)
async def stage_entered(service: CaseService, loaded: Loaded, effect: StageEntered, actor_id: int | None) -> None:
    from services.cases.calls import child_moved  # calls.py registers handlers here: import it late

    service.store.audit(loaded, actor_id, "stage.entered", {"from": effect.previous, "to": effect.stage})
    state = loaded.state
    if effect.previous is not None and effect.stage == state.stage:
        await child_moved(service, loaded, actor_id)
    if (
        effect.previous is None
        or effect.stage != state.stage  # passed through on the way: only where the step left the case is news
        or state.status != CaseStatus.ACTIVE  # a closed case is told as closed
    ):
        return
    until = stage_waits_until(state, service.now, service.core.calendar)
    followers, muted = await case_followers(service, loaded)
    told = [state.initiator_id, *followers]
    for person_id in dict.fromkeys(told):
        if person_id == actor_id:
            continue  # they moved it themselves and were just told where it stands
        roles = await people_repo.roles_of(service.session, person_id)
        if any(t.assignee_id == person_id or t.role in roles for t in state.open_tasks()):
            continue  # a card of the new stage comes to them anyway (their task, or their role's pool) and says it all
        if person_id == state.initiator_id and muted:
            continue  # they asked for quiet on this case
        if person_id in await noticed(service, loaded):
            continue  # the process's own words on this move come to them: one message per event, not two
        if person_id not in followers and not state.spec.stage(state.stage).news:
            continue  # the company's own work: no news to the initiator, who hears where it leads (and the outcome)
        person = await service.people.user(person_id)
        if person is not None and person.active:
            await service.notifier.stage_changed(loaded, person, until)


@handles(StartCase)
async def start_case(service: CaseService, loaded: Loaded, effect: StartCase, actor_id: int | None) -> None:
    initiator = await service.people.user(effect.initiator_id)
    if initiator is not None:
        # A case no one started by hand is one no one knows of: its initiator (whose case it is) is told which case
        # it continues and what comes next (`StepWrites.save`), after this case's own news (`in_order`).
        child = await service.start(initiator, effect.process, effect.data, parent=loaded, continues=loaded)
        service.store.audit(loaded, actor_id, "case.handoff", {"process": effect.process, "case": child.row.id})


@handles(NotifyCases)
async def notify_cases(service: CaseService, loaded: Loaded, effect: NotifyCases, actor_id: int | None) -> None:
    """Each person responsible for cases at a stage gets the list of their own (only those they may see)."""
    notice = effect.notify
    cases = await reports.cases_at(service.session, notice.process, notice.stage)
    by_person: dict[int, list[Any]] = {}
    for case in cases:
        by_person.setdefault(case.responsible_id or case.initiator_id, []).append(case)
    people = await service.people.users(by_person)
    specs = service.core.registry.current_specs()
    for user_id, own in by_person.items():
        user = people.get(user_id)
        if user is None:
            continue
        viewer = access.Viewer.of(user, await people_repo.roles_of(service.session, user.id))
        scope = access.visible_cases(viewer, specs)
        visible = await reports.cases_at(service.session, notice.process, notice.stage, scope=scope)
        allowed = {c.id for c in visible}
        listed = []
        for case in own:
            if case.id not in allowed:
                continue
            spec = await service.core.registry.spec(service.session, case.definition_id)
            stage = service.core.wording.stage_title(spec, case.stage, user.language)
            title = service.core.registry.case_title(spec, case, user.language)
            listed.append({"id": case.id, "title": title, "stage": stage})
        if listed:
            await service.notifier.cases_listed(loaded, notice.text, user, listed)


@handles(SendEmail)
async def send_email(service: CaseService, loaded: Loaded, effect: SendEmail, actor_id: int | None) -> None:
    files = [ref["id"] for name in effect.attach for ref in (loaded.state.data.get(name) or [])]
    # If it cannot be sent, the person whose step sent it (else the case's initiator) must do it by hand.
    responsible = actor_id if actor_id is not None else loaded.state.initiator_id
    service.notifier.email(
        effect.to, effect.subject, effect.body, files, case_id=loaded.row.id, responsible_id=responsible
    )
    service.store.audit(loaded, actor_id, "email.queued", {"to": effect.to, "subject": effect.subject})


@handles(UpdateCompany)
async def update_company(service: CaseService, loaded: Loaded, effect: UpdateCompany, actor_id: int | None) -> None:
    company = await service.session.get(Company, effect.company_id)
    if company is not None:
        company.data = {**company.data, **effect.values}
        company.updated_at = service.now


@handles(CaseClosed)
async def case_closed(service: CaseService, loaded: Loaded, effect: CaseClosed, actor_id: int | None) -> None:
    from services.cases.calls import return_to_parent  # calls.py registers handlers here: import it late
    from services.cases.items import refresh_item_cards  # so does items.py

    service.store.audit(loaded, actor_id, "case.closed", {"status": effect.status, "result": effect.result})
    loaded.closed_by = actor_id
    # Whoever started the case and whoever led it (a deal's manager who took the lead) hear how it ended, unless
    # they cancelled it themselves.
    told = dict.fromkeys(p for p in (loaded.state.initiator_id, loaded.state.responsible_id) if p is not None)
    for person_id in told:
        if person_id in loaded.told_cancelled:
            continue
        if actor_id != person_id or effect.status == CaseStatus.DONE:
            person = await service.people.user(person_id)
            if person is not None:
                await service.notifier.notify(loaded, Notify(kind="closed", user_ids=(person.id,)), [person])
    await refresh_item_cards(service, loaded)
    await return_to_parent(service, loaded, effect, actor_id)
