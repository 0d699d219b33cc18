"""The panel's cases: the list (filtered by process, status, stage, words, overdue), a case with its current step,
deadline and holder, its data with the photos and documents, its history in sentences and its comments; what an
admin does to a case here (a failed step retried, a task reassigned, the case cancelled with a reason) goes through
`services.admin_actions`, as in chat. A case's stored files are served only inside the panel's session."""

from __future__ import annotations

import mimetypes
from collections import Counter
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote, urlencode

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from admin.pages import PanelPages
from admin.processes import svg_document
from admin.words import CASE_STATUS
from db.models import AuditEntry, StoredFile
from flows.context import case_labels
from flows.i18n import _
from flows.items import item_state
from flows.model import FILE_TYPES, FieldDef, ProcessDef
from flows.runtime import EARLIER, EngineError, comment_file_key
from services import comments, panel_queries
from services.admin_actions import AdminActions
from services.cases import CaseService
from services.diagrams import current_stage, process_graph, render_async
from services.end_reasons import end_reason

PAGE = 50
# Shown inline (and served `inline`) only for raster formats a browser cannot run code from; SVG and
# everything else is a download, so a file someone sent the bot cannot script the panel.
INLINE_IMAGES = {"image/jpeg", "image/png", "image/gif", "image/webp"}


class CasePages(PanelPages):
    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/", self.cases),
            web.get("/cases/{case_id:\\d+}", self.case),
            web.get("/cases/{case_id:\\d+}/diagram.svg", self.case_diagram),
            web.post("/cases/{case_id:\\d+}/retry", self.retry, name="case-retry"),
            web.post("/cases/{case_id:\\d+}/cancel", self.cancel, name="case-cancel"),
            web.post("/cases/{case_id:\\d+}/tasks/{task_id:\\d+}/reassign", self.reassign, name="task-reassign"),
            web.get("/files/{file_id:\\d+}", self.file),
        ]

    async def cases(self, request: web.Request) -> web.Response:
        process = request.query.get("process") or None
        status = request.query.get("status") or None
        if status not in (None, panel_queries.ATTENTION, *CASE_STATUS):
            status = None  # a value no list offers (an old or edited link) filters nothing
        text = request.query.get("q", "").strip()[:200] or None
        # A stage is a process's stage («office_letter:writing»): two processes may each have a stage `approval`.
        of_process, _sep, stage = (request.query.get("stage") or "").rpartition(":")
        stage_process = of_process or process or ""  # an old link's bare key: within the chosen process, if any
        if process and stage_process != process:
            stage = ""  # a stage of another process than the one now chosen: the process wins
        overdue = request.query.get("overdue") == "1"
        number = request.query.get("page", "")
        page_no = min(int(number), 10_000) if number.isdigit() and int(number) > 0 else 1
        now = self.core.clock.now()
        async with self.core.sessionmaker() as session:
            page = await panel_queries.find_cases(
                self.core,
                session,
                process=process,
                status=status,
                text=text,
                lang=self.lang,
                limit=PAGE,
                offset=(page_no - 1) * PAGE,
                stage=stage or None,
                stage_process=stage_process or None,
                overdue_at=now if overdue else None,
            )
            await session.commit()  # the search rows a text search brought up to date (services/case_search.py)
        items = []
        for case in page.cases:
            spec = page.specs[case.definition_id]
            work = page.work[case.id]
            holders = list(dict.fromkeys(self.words.holder(t, page.names) for t in work.tasks))
            deadline = work.deadline
            items.append(
                {
                    "case": case,
                    "title": self.core.registry.case_title(spec, case, self.lang),
                    "process": self.core.translator.local(spec.title, self.lang),
                    "stage": self.words.stage(spec, case.stage),
                    "status": self.words.case_status(case.status),
                    "active": case.status == "active",
                    "deadline": deadline,
                    "overdue": deadline is not None and deadline < now,
                    "holders": holders,
                    "attention": case.attention,
                    # The stage's colour from the definition: a coloured row (a cancelled case keeps none).
                    "colour": self.core.registry.stage_colour(spec, case.stage) if case.status != "cancelled" else None,
                }
            )
        processes = [
            (key, self.core.translator.local(loaded.spec.title, self.lang))
            for key, loaded in sorted(self.core.registry.library.items())
        ]
        stages = self._stage_choices(process)
        statuses = [(key, self.words.case_status(key)) for key in CASE_STATUS]
        statuses.append((panel_queries.ATTENTION, self.core.translator.t("⚠️ Needs attention", self.lang)))
        return self.panel.render(
            request,
            "cases.html",
            items=items,
            processes=processes,
            statuses=statuses,
            process=process,
            status=status,
            q=text or "",
            stages=stages,
            stage=f"{stage_process}:{stage}" if stage and stage_process else stage,
            overdue=overdue,
            newer=_page_link(request, page_no - 1) if page_no > 1 else None,
            older=_page_link(request, page_no + 1) if page.more else None,
            indexing=page.indexing,
        )

    def _stage_choices(self, process: str | None) -> list[tuple[str, str]]:
        """The stages to filter by, the chosen process's or every process's, each as «process:stage» by its title;
        a title or a key two processes share is told apart by the process's title."""
        local = self.core.translator.local
        found = [
            (key, st.key, self.words.stage(loaded.spec, st.key), local(loaded.spec.title, self.lang))
            for key, loaded in sorted(self.core.registry.library.items())
            if process in (None, key)
            for st in loaded.spec.stages
        ]
        titles = Counter(title for _p, _k, title, _pt in found)
        keys = Counter(stage for _p, stage, _t, _pt in found)
        choices = [
            (f"{key}:{stage}", f"{title} ({of})" if titles[title] > 1 or keys[stage] > 1 else title)
            for key, stage, title, of in found
        ]
        return sorted(choices, key=lambda choice: choice[1])

    async def case(self, request: web.Request, code: int = 200, **refused: Any) -> web.Response:
        """A case; after a refused cancel or reassignment, with the refusal by its form and what was typed kept."""
        case_id = int(request.match_info["case_id"])
        now = self.core.clock.now()
        async with self.core.sessionmaker() as session:
            detail = await panel_queries.case_detail(self.core, session, case_id)
            if detail is None:
                raise web.HTTPNotFound(text=_("There is no such case."))
            # Whom each open task of a role may be reassigned to (the same rule as the chat's escalation).
            candidates = await self._actions(session).open_task_candidates(case_id)
            thread = await comments.case_thread(session, case_id)  # the panel is the admins': internal notes too
            reason = await end_reason(session, detail.case)  # the chat's card and a dealer's /orders say the same
        case, spec, names = detail.case, detail.spec, detail.names
        by_id = {t.id: t for t in detail.tasks}
        tasks = []
        for t in detail.tasks:
            known = detail.spec_of_stage(t.stage)  # a task of a version the case was moved from: worded by it
            tasks.append({
                "id": t.id,
                "open": t.status == "open",
                "candidates": [(u.id, u.name) for u in candidates.get(t.id, [])],
                "title": self.words.task_title(known, t.stage, t.key, case.data),
                "stage": self.words.stage(known, t.stage),
                "holder": self.words.holder(t, names),
                "due": t.due_at,
                "overdue": t.status == "open" and t.due_at is not None and t.due_at < now,
                "status": self.words.task_status(t.status),
                "outcome": self.words.outcome(known, t.stage, t.key, t.outcome, mark=True),
            })  # fmt: skip
        in_force = detail.spec_by_entry()

        def spec_of(entry: AuditEntry) -> ProcessDef:
            # A task the move kept was moved onto the new version's stage: worded by a version that knows it.
            task = by_id.get(entry.task_id) if entry.task_id is not None else None
            then = in_force[entry.id]
            if task is not None and not any(s.key == task.stage for s in then.stages):
                return detail.spec_of_stage(task.stage)
            return then

        history = [
            {
                "at": a.at,
                "text": self.words.history(a, spec_of(a), by_id, names, case.data),
                "files": _comment_files(a, by_id),
            }
            for a in one_per_move(detail.audit)
        ]
        return self.panel.render(
            request,
            "case.html",
            code,
            case=case,
            title=self.core.registry.case_title(spec, case, self.lang),
            spec_title=self.core.translator.local(spec.title, self.lang),
            stage=self.words.stage(spec, case.stage),
            status=self.words.case_status(case.status),
            end_reason=reason,
            initiator=self.core.wording.initiator(case.data, names.get(case.initiator_id, "?"), self.lang),
            fields=self._fields(spec, case.data, names),
            tasks=tasks,
            history=history,
            closed=case.status in ("done", "cancelled"),
            comments=[{"text": self.core.wording.comment_line(e, self.lang), "entry": e} for e in thread],
            files=[
                _file_view(f.id, self._photo_name(f.kind, f.file_name, number), f.mime_type) | {"size": f.size}
                for number, f in _numbered_photos(detail.files)
            ],
            **refused,
        )

    async def case_diagram(self, request: web.Request) -> web.Response:
        """The case's process (its version) drawn with the stage the case stands at highlighted."""
        case_id = int(request.match_info["case_id"])
        async with self.core.sessionmaker() as session:
            detail = await panel_queries.case_detail(self.core, session, case_id)
        if detail is None:
            raise web.HTTPNotFound(text=_("There is no such case."))
        current = current_stage(detail.case.status, detail.case.stage)
        svg = await render_async(process_graph(self.core, detail.spec, self.lang, current=current), "svg")
        return svg_document(svg)

    async def retry(self, request: web.Request) -> web.Response:
        """A failed step of the case goes back in line (the admin fixed its data or its definition)."""
        case_id = int(request.match_info["case_id"])
        async with self.core.sessionmaker() as session, session.begin():
            retried = await self._actions(session).retry(case_id)
        if not retried:  # no failed step: said so, and nothing written to the case's history
            return self.panel.refused(request, EngineError(_("Nothing to retry in this case.")), f"cases/{case_id}")
        raise web.HTTPSeeOther(f"/admin/cases/{case_id}")

    async def cancel(self, request: web.Request) -> web.Response:
        """The case stops, with the admin's reason in its history (the chat's cancel, for the panel)."""
        case_id = int(request.match_info["case_id"])
        reason = str((await request.post()).get("reason", ""))
        try:
            async with self.core.sessionmaker() as session, session.begin():
                await self._actions(session).cancel(case_id, reason)
        except EngineError as exc:  # the reason typed stays in the form, to be shortened or said otherwise
            return await self.case(request, 409, cancel_error=self.panel.said(exc), reason=reason)
        self.core.outbox_written()
        raise web.HTTPSeeOther(f"/admin/cases/{case_id}")

    async def reassign(self, request: web.Request) -> web.Response:
        """An open task goes to another person of its role (chosen from those who may hold it)."""
        case_id, task_id = int(request.match_info["case_id"]), int(request.match_info["task_id"])
        to = str((await request.post()).get("to", ""))
        try:
            async with self.core.sessionmaker() as session, session.begin():
                await self._actions(session).reassign(task_id, int(to) if to.isdigit() else 0)
        except EngineError as exc:  # said by the task's form, the person chosen still chosen
            refusal = {"task": task_id, "text": self.panel.said(exc), "to": int(to) if to.isdigit() else None}
            return await self.case(request, 409, reassign_error=refusal)
        self.core.outbox_written()
        raise web.HTTPSeeOther(f"/admin/cases/{case_id}")

    def _actions(self, session: AsyncSession) -> AdminActions:
        """What an admin does to cases, acting as the panel (this request's session and CSRF token were checked)."""
        return AdminActions(CaseService(self.core, session), None)

    def _photo_name(self, kind: str | None, name: str, number: int) -> str:
        """A photo as the panel names it («Фото 2»); a document by the name it came with."""
        return self.panel.t("Photo %(n)s", n=number) if kind == "photo" else name

    def _fields(self, spec: ProcessDef, data: dict[str, Any], names: dict[int, str]) -> list[dict[str, Any]]:
        """The case's data, one row per field and one block per list entry; files as links and images."""
        rows: list[dict[str, Any]] = []
        for name, fdef in case_labels(spec, spec.fields, data).items():  # named as the case reads them
            value = data.get(name)
            if name not in data or fdef.hidden:  # kept for other systems (1C's id of a product), as in chat
                continue
            label = self.core.translator.local(fdef.label, self.lang)
            if fdef.type == "list" and fdef.fields:
                items = value if isinstance(value, list) else []
                entries = []
                for index, item in enumerate(items):
                    if isinstance(item, dict):
                        # What the entry has: not «Поставщик: —» for an item in stock, nor a tracking number for
                        # one not sent yet (its stage has not asked it).
                        shown = [
                            self._entry_value(fdef, key, item, spec, names)
                            for key, sub in fdef.fields.items()
                            if item.get(key) not in (None, "", [], {}) and not sub.hidden
                        ]
                        # Headed by the entry's line as chat says it (`line:`): what the definition keeps from the
                        # fields below (the stock when it was ordered) is said there, as the dealer was told it.
                        line = self.core.wording.entry_line(spec, fdef, item, data, self.lang)
                        if line.strip():  # a row the line already is would say it twice («№1», «Производство: №1»)
                            shown = [row for row in shown if row.get("text") != line.strip()]
                        entries.append({"line": line, "rows": self._item_stage(spec, name, data, index) + shown})
                # What the order comes to, under its entries, as the chat's card says it (a cancelled item left out).
                said = self.core.wording.list_total(spec, fdef, items, data, self.lang)
                total = [line for text in said for line in text.splitlines() if line.strip()]
                rows.append({"label": label, "entries": entries, "total": total})
            else:
                row = self._value(fdef, value, spec, names)
                notes = [n for n in (data.get(EARLIER) or {}).get(name) or [] if isinstance(n, dict)]
                if notes and "text" in row:  # a value a later answer replaced stays in view
                    wording = self.core.wording
                    before = ", ".join(
                        wording.summary_value(fdef, n.get("value"), self.lang, spec) for n in notes[::-1]
                    )
                    row["text"] += " · " + wording.t("earlier: %(values)s", self.lang, values=before)
                rows.append(row)
        return rows

    def _item_stage(self, spec: ProcessDef, name: str, data: dict[str, Any], index: int) -> list[dict[str, Any]]:
        """Where an entry of a tracked list stands on its track (a deal's items: which one holds the order back,
        which is cancelled), as the first row of its block; nothing before the items begin."""
        track = spec.fields[name].track
        state = item_state(data, name, index)
        if track is None or state is None:
            return []
        try:
            title = self.core.translator.local(track.stage(str(state.get("stage") or "")).title, self.lang)
        except KeyError:
            return []
        return [{"label": self.panel.t("Stage"), "text": title}]

    def _entry_value(
        self, fdef: FieldDef, key: str, item: dict[str, Any], spec: ProcessDef, names: dict[int, str]
    ) -> dict[str, Any]:
        """A list entry's field as chat's summary says it (`Wording.entry_value`: a number in the entry's own unit,
        1C's «компл» read «set»), its files as links and images."""
        sub = (fdef.fields or {})[key]
        if sub.type in FILE_TYPES:
            return self._value(sub, item[key], spec, names)
        text = self.core.wording.entry_value(fdef, key, item, self.lang, spec, names)
        return {"label": self.core.translator.local(sub.label, self.lang), "text": text}

    def _value(self, fdef: FieldDef, value: Any, spec: ProcessDef, names: dict[int, str]) -> dict[str, Any]:
        label = self.core.translator.local(fdef.label, self.lang)
        if fdef.type in ("photo", "document") and value:
            refs = value if isinstance(value, list) else [value]
            stored = [ref for ref in refs if isinstance(ref, dict) and isinstance(ref.get("id"), int)]
            files = [
                _file_view(ref["id"], self._photo_name(ref.get("kind"), str(ref.get("name", "file")), n),
                           ref.get("mime"))
                for n, ref in _numbered_photos(stored)
            ]  # fmt: skip
            return {"label": label, "files": files}
        return {"label": label, "text": self.core.wording.format_field(fdef, value, self.lang, spec, names)}

    async def file(self, request: web.Request) -> web.StreamResponse:
        """A stored file of a case, only inside a session (the auth middleware has checked it)."""
        file_id = int(request.match_info["file_id"])
        async with self.core.sessionmaker() as session:
            stored = await session.get(StoredFile, file_id)
        if stored is None:
            raise web.HTTPNotFound(text=_("There is no such file."))
        root = self.core.files.root
        path = self.core.files.path(stored).resolve()
        if not path.is_relative_to(root) or not path.is_file():  # a path in the table never leaves the store
            raise web.HTTPNotFound(text=_("The file is missing from the store."))
        view = _file_view(stored.id, stored.file_name, stored.mime_type)
        disposition = "inline" if view["image"] else "attachment"
        return web.FileResponse(
            path,
            headers={
                "Content-Type": view["mime"] if view["image"] else (stored.mime_type or "application/octet-stream"),
                "Content-Disposition": f"{disposition}; filename*=UTF-8''{quote(stored.file_name)}",
                # Even opened directly, a file is a sandboxed document: no scripts, no access to the panel.
                "Content-Security-Policy": "sandbox; default-src 'none'; img-src 'self'",
                "Cache-Control": "private, max-age=3600",
            },
        )


def _numbered_photos(files: Sequence[Any]) -> list[tuple[int, Any]]:
    """Each file with its number among the photos (0 for a document, 1 for a lone photo too): a photo's stored name
    is Telegram's id (photo_AQAD….jpg), so photos are shown as «Фото 1», «Фото 2»."""
    numbered, photos = [], 0
    for f in files:
        kind = f.get("kind") if isinstance(f, dict) else f.kind
        photos += kind == "photo"
        numbered.append((photos if kind == "photo" else 0, f))
    return numbered


def _file_view(file_id: int, name: str, mime: str | None) -> dict[str, Any]:
    mime = mime or mimetypes.guess_type(name)[0] or "application/octet-stream"
    return {"id": file_id, "name": name, "mime": mime, "image": mime in INLINE_IMAGES}


def _comment_files(entry: AuditEntry, tasks: dict[int, Any]) -> list[int]:
    """The photo (or file) a decision's comment was given as (`flows.runtime.comment_file_key`): linked from the
    decision's line in the history, where the director's marked-up offer is read as his remark."""
    task = tasks.get(entry.task_id) if entry.task_id is not None else None
    if entry.action != "task.done" or task is None:
        return []
    refs = ((entry.data or {}).get("values") or {}).get(comment_file_key(task.key))
    return [ref["id"] for ref in refs or [] if isinstance(ref, dict) and isinstance(ref.get("id"), int)]


def one_per_move(audit: Sequence[AuditEntry]) -> list[AuditEntry]:
    """A stage moved by hand is audited twice in its step — the person's move and the stage entered — and is one
    event for whoever reads the history: the move is kept (it says it was done by hand), the stage's entry goes."""
    moved = {(a.at, (a.data or {}).get("to")) for a in audit if a.action == "case.move"}
    return [a for a in audit if not (a.action == "stage.entered" and (a.at, (a.data or {}).get("to")) in moved)]


def _page_link(request: web.Request, number: int) -> str:
    """The list's address with its filters and search kept, on page `number`."""
    query = {k: v for k, v in request.query.items() if k != "page"}
    if number > 1:
        query["page"] = str(number)
    return "?" + urlencode(query) if query else "./"
