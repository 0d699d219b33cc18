"""The case card with what this person may do with it (move it by hand, cancel it)."""

from __future__ import annotations

from typing import Any

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from db.models import User
from flows.items import item_states
from flows.runtime import task_def, waits_for_a_date
from flows.status import CaseStatus
from services import access, queries
from services import people as people_repo
from services.cases import CaseService, Loaded, handoffs
from services.comments import SHOWN, Comments
from services.decisions import Decision, decisions
from services.end_reasons import end_reason
from services.portal import ORDER_PROCESS, repeatable
from services.wording.files import case_file_names
from services.worktime import WorkTime
from tgbot.callbacks import CartCb, CaseCb, ItemCb, button_label
from tgbot.render import Renderer, renderer_for


async def work_lines(service: CaseService, loaded: Loaded, lang: str) -> list[str]:
    """Time spent on the case's timed tasks, per person and task."""
    totals = await WorkTime(service.core, service.session).case_totals(loaded.row.id)
    if not totals:
        return []
    renderer = service.core.wording
    lines = [renderer.t("⏱ Time spent:", lang)]
    for name, stage, key, seconds in totals:
        task_title = renderer.tr.local(task_def(loaded.state.spec, stage, key).title, lang)  # for_each keys too
        lines.append(f"  {name} — {task_title}: {renderer.duration(seconds, lang)}")
    return lines


COMMENT_SHOWN = 120  # characters of a decision's comment on the card: the whole of it is in the history


def decision_lines(
    renderer: Renderer, decided: list[Decision], total: int, names: dict[int, str], lang: str
) -> list[str]:
    """The decisions taken, one line each: what was decided (the outcome's «done» words), who, when, and the
    comment given where the reader may read it (`services.decisions`) — so whoever opens the case reads why it
    went the way it did."""
    if not decided:
        return []
    t = renderer.t
    head = t("Decisions:", lang) if total == len(decided) else t("Decisions (the last %(n)s of %(total)s):", lang,
                                                                  n=len(decided), total=total)  # fmt: skip
    lines = [head]
    for one in decided:
        mark, words = renderer.decision(one.task, one.outcome, lang)
        who, when = names.get(one.by or 0, "?"), renderer.when(one.at, lang)
        said = one.comment if len(one.comment) <= COMMENT_SHOWN else one.comment[: COMMENT_SHOWN - 1].rstrip() + "…"
        if said:
            lines.append(t("• %(mark)s %(decision)s — %(who)s, %(when)s: “%(comment)s”", lang, mark=mark,
                           decision=words, who=who, when=when, comment=said))  # fmt: skip
        else:
            lines.append(t("• %(mark)s %(decision)s — %(who)s, %(when)s", lang, mark=mark, decision=words, who=who,
                           when=when))  # fmt: skip
    return lines


async def item_rows(service: CaseService, user: User, loaded: Loaded) -> list[list[InlineKeyboardButton]]:
    """A button per item the person moves: it brings the item's card (with its moves) into this chat."""
    state, rows = loaded.state, []
    if state.status != CaseStatus.ACTIVE or not state.spec.tracks():
        return []
    roles = await people_repo.roles_of(service.session, user.id)
    renderer = renderer_for(service.core)
    for name in state.spec.tracks():
        if not service.core.engine.may_move_items(state, name, user.id, roles, user.is_admin):
            continue
        for index in range(len(item_states(state.data, name))):
            label = "📦 " + renderer.item_title(state, name, index, user.language)
            data = ItemCb(action="card", case_id=loaded.row.id, list=name, index=index).pack()
            rows.append([InlineKeyboardButton(text=button_label(label), callback_data=data)])
    return rows


async def thread_part(
    service: CaseService, viewer: access.Viewer, loaded: Loaded
) -> tuple[list[str], list[list[InlineKeyboardButton]]]:
    """The thread's last few comments this person may read, and the buttons to write (an internal note only
    for the internal side) and to read the whole thread."""
    t, lang, case_id = service.core.translator.t, viewer.user.language, loaded.row.id
    entries, total = await Comments(service).thread(viewer, case_id, last=SHOWN)
    lines = [t("Comments (%(n)s):", lang, n=total), *(service.core.wording.comment_line(e, lang) for e in entries)]
    comment = CaseCb(action="comment", case_id=case_id).pack()
    write = [InlineKeyboardButton(text=t("💬 Comment", lang), callback_data=comment)]
    if access.sees_internal(viewer):
        note = t("🔒 Internal note", lang)
        write.append(InlineKeyboardButton(text=note, callback_data=CaseCb(action="note", case_id=case_id).pack()))
    rows = [write]
    if total > len(entries):
        label = t("💬 All comments (%(n)s)", lang, n=total)
        rows.append([InlineKeyboardButton(text=label, callback_data=CaseCb(action="thread", case_id=case_id).pack())])
    return (lines if total else []), rows


async def handed_on(
    service: CaseService, viewer: access.Viewer, loaded: Loaded
) -> tuple[handoffs.Linked | None, list[handoffs.Linked]]:
    """The case this one was handed on from and those it handed on to, those of them the person may open."""
    session, registry, row = service.session, service.core.registry, loaded.row
    parent = handoffs.continued_from(row, loaded.state.data)
    continues = await handoffs.opened_by(session, registry, viewer, [parent]) if parent is not None else []
    children = await handoffs.continuations(session, row.id) if handoffs.hands_on(loaded.state.spec) else []
    continued = await handoffs.opened_by(session, registry, viewer, children) if children else []
    return (continues[0] if continues else None), continued


async def case_view(service: CaseService, user: User, loaded: Loaded) -> tuple[str, dict[str, Any] | None]:
    core = service.core
    lang = user.language
    viewer = access.Viewer.of(user, await people_repo.roles_of(service.session, user.id))
    decided, total = await decisions(service.session, loaded.row.id, loaded.state.spec, viewer)
    names = await service.names(loaded.state, [one.by for one in decided])
    until = await queries.waits_until(service.session, loaded.row.id) if waits_for_a_date(loaded.state) else None
    reason = await end_reason(service.session, loaded.row)  # an open case reads nothing
    viewer = access.Viewer.of(user, await people_repo.roles_of(service.session, user.id))
    continues, continued = await handed_on(service, viewer, loaded)
    renderer = renderer_for(core)
    text = renderer.case_card(
        loaded.state, lang, names=names, open_tasks=loaded.state.open_tasks(), waits_until=until, reason=reason,
        decided=decision_lines(renderer, decided, total, names, lang), continues=continues, continued=continued,
    )  # fmt: skip
    extra = await work_lines(service, loaded, lang)
    if extra:
        text = text + "\n\n" + "\n".join(extra)
    thread, comment_rows = await thread_part(service, viewer, loaded)
    if thread:
        text = text + "\n\n" + "\n".join(thread)
    rows: list[list[InlineKeyboardButton]] = []
    moves = await service.allowed_moves(user, loaded)
    for target in moves:
        move = next(m for m in loaded.state.spec.stage(loaded.state.stage).moves if m.to == target)
        label = (
            core.translator.local(move.label, lang)
            if move.label
            else "➡️ " + core.wording.stage_title(loaded.state.spec, target, lang)
        )
        rows.append(
            [
                InlineKeyboardButton(
                    text=button_label(label),
                    callback_data=CaseCb(action="move", case_id=loaded.row.id, arg=target).pack(),
                )
            ]
        )
    state = loaded.state
    rows += await item_rows(service, user, loaded)
    if (
        state.status == CaseStatus.ACTIVE
        and state.stage in {st.key for st in state.spec.stages}
        and access.can_edit(user, state)
    ):
        for name in state.spec.stage(state.stage).editable:
            label = "✏️ " + core.wording.field_label(state.spec, state.spec.fields[name], state.data, lang)
            rows.append(
                [
                    InlineKeyboardButton(
                        text=button_label(label),
                        callback_data=CaseCb(action="edit", case_id=loaded.row.id, arg=name).pack(),
                    )
                ]
            )
    files = core.wording.files(state.spec, state.data, case_file_names(state.spec, state.data), lang)
    if files:
        # The evidence of the case in one press: the card itself shows only how many files there are.
        label = core.translator.t("📎 Files (%(n)s)", lang, n=len(files))
        rows.append(
            [InlineKeyboardButton(text=label, callback_data=CaseCb(action="files", case_id=loaded.row.id).pack())]
        )
    if state.spec.process == ORDER_PROCESS and repeatable(state.status, state.result):
        if access.may_start_for_dealer(viewer, core.registry.known().get(ORDER_PROCESS)):
            label = core.translator.t("🛒 Order again", lang)
            again = CartCb(action="repeat", arg=str(loaded.row.id)).pack()
            rows.append([InlineKeyboardButton(text=label, callback_data=again)])
    # The cases it continues and that continue it, a press away (named on the card above).
    rows += [[renderer.case_link(linked.id, lang)] for linked in ([continues] if continues else []) + continued]
    rows += comment_rows
    # Where the case stands in its process, drawn: the current stage highlighted (`services.diagrams`).
    diagram = core.translator.t("🗺 Diagram", lang)
    rows.append(
        [InlineKeyboardButton(text=diagram, callback_data=CaseCb(action="diagram", case_id=loaded.row.id).pack())]
    )
    if state.status == CaseStatus.ACTIVE:
        muted = await service.muted(user, loaded.row.id, state.initiator_id)
        t = core.translator.t
        own = user.id == state.initiator_id  # someone else's case is followed by choice
        if muted:
            label, action = (t("🔔 Unmute the case", lang) if own else t("🔔 Follow the case", lang)), "unmute"
        else:
            label, action = (t("🔕 Mute the case", lang) if own else t("🔕 Stop following", lang)), "mute"
        rows.append(
            [InlineKeyboardButton(text=label, callback_data=CaseCb(action=action, case_id=loaded.row.id).pack())]
        )
    # A process's own way to drop the case here («✖️ Отменить сделку», «✖️ Отказ»: a final stage that fails, with its
    # reason) is the one offered; a second cancel beside it, which asks no reason, would only make people choose.
    dropped_by_process = any(state.spec.stage(to).final and state.spec.stage(to).result == "failure" for to in moves)
    # Where the stage names who cancels (an order 1C has: the office), they are offered it beside their moves: it
    # carries the reason to everyone on the case and to 1C; its initiator's press asks them.
    stage = next((st for st in state.spec.stages if st.key == state.stage), None)
    decides = stage is not None and stage.cancel is not None and bool(set(stage.cancel.by) & viewer.roles)
    offered = access.can_cancel(user, loaded.row) and not dropped_by_process
    if loaded.state.status == CaseStatus.ACTIVE and (offered or decides):
        rows.append(
            [
                InlineKeyboardButton(
                    text=core.translator.t("✖️ Cancel the case", lang),
                    # The stage the card shows: pressed on an old card, it brings the fresh one instead.
                    callback_data=CaseCb(action="cancel", case_id=loaded.row.id, arg=state.stage).pack(),
                )
            ]
        )
    markup = InlineKeyboardMarkup(inline_keyboard=rows).model_dump(exclude_none=True) if rows else None
    return text, markup
