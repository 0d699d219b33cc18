"""Answers to a form's questions: text checked against the field's type and rules, a choice picked, a company
found or created, a file received, «done with files», «one more?», «skip», «back», «keep as it is». Each one is
written to the draft and the next question asked (`tgbot.form_base.FormBase.ask`)."""

from __future__ import annotations

import copy
import zlib
from typing import Any

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from flows import forms
from flows import values as field_values
from flows.i18n import _
from flows.model import FieldDef, local
from flows.runtime import EngineError, comment_file_key, is_service_task
from services import access, companies, kept_files, outbox
from services.files import file_ref
from services.wording.hints import Around
from tgbot import form_offers
from tgbot.callbacks import FormCb, button_label
from tgbot.form_base import PICKER_ROW, AnyTask, FormBase, FormError, IncomingFile, step_stamp
from tgbot.stray_files import KEPT

RETYPE = "retype"  # a company field's offer: the name typed again


CREATE = "new"  # a company field's offer: the company created under the name typed


def _name_mark(name: str) -> str:
    return str(zlib.crc32(name.encode()) % 1_000_000)


def retype_of(name: str | None) -> str:
    """«✏️ Type again» under the offer for this name: the name's mark rides along (a button of an offer already left,
    pressed again, is told apart from the newer offer's); none once the name is to be typed again."""
    return f"{RETYPE}{_name_mark(name)}" if name else ""


def create_of(name: str) -> str:
    """«➕ Create» under the offer for this name, its mark along as `retype_of`'s: an older offer's button pressed
    after a newer name was typed created the company under the newer name."""
    return f"{CREATE}{_name_mark(name)}"


COMMENT_ALBUM = "comment_album"  # in a draft: the album (media_group_id) whose first photo was a decision's comment


class FormAnswers(FormBase):
    async def answer_text(self, task: AnyTask, text: str) -> None:
        if await self.reasked(task):
            return
        loaded, fields, _names, draft, step = await self._current(task, None)
        if step is None:
            self.say(self.r.t("The form is complete. Press “Confirm” or correct a field.", self.lang))
            return
        if step.is_file and self._nothing_typed(step, text) and not forms.collected_files(draft, step):
            await self.skip(task, step_stamp(step, draft))  # «нет» at an optional photo: none to send
            return
        if step.is_more or step.is_file:
            raise self._refusal(step)
        assert step.field is not None
        fdef = step.field
        if fdef.type == "company":
            await self._find_company(task, draft, step, text, companies.directory_of(loaded.spec, fdef))
            return
        offers = self.offers(loaded)
        options = dict(await offers.options(step))
        kind = "choice" if fdef.type in ("choice", "directory", "user") else fdef.type
        today = self.today()
        around, lang = offers.around(fields, draft, step), self.r.tr.lang(self.lang)
        # «15.01» typed in December: next January for a plan, this one for an arrival, and after the day another
        # answer sets as the bound (a return after watches lent on 15.01.2027).
        prefer, anchor = forms.date_lean(fdef, *around)
        try:
            value = field_values.parse_text(
                kind,
                text,
                options=options or None,
                today=today,
                minimum=fdef.min,
                maximum=fdef.max,
                integer=fdef.integer,
                negative=fdef.negative,
                prefer=prefer,
                anchor=anchor,
                lang=lang,  # «125,000» and «12/03» are read the way the reader writes them
                units=fdef.units(lang),
            )
            if fdef.contact is not None:  # a number or an address somebody will call or write to
                value = field_values.parse_contact(fdef.contact, value, self.core.calendar.country)
            if fdef.full_name:  # a surname and a first name, not «Иван» alone
                value = field_values.parse_full_name(value)
        except field_values.InvalidAnswer as exc:
            if self._nothing_typed(step, text):  # «нет» where an amount may be left empty: nothing to record
                await self.skip(task, step_stamp(step, draft))
                return
            raise FormError(exc.message, **exc.params) from None
        stored = int(value) if fdef.type == "user" else field_values.to_json(kind, value)
        self._check_rules(fdef, stored, around)
        if options:  # an option typed rather than pressed: the picker shows it as if pressed
            key = ("1" if stored else "0") if fdef.type == "bool" else str(stored)
            self.picked(fields, draft, step, options.get(key, str(stored)))
        forms.answer(draft, step, stored)
        if self._is_comment(task, step):  # words instead of the photo sent before: the photo is no longer the answer
            draft["values"].pop(comment_file_key(task.key), None)
        task.draft = draft
        # «около 12 млн» is recorded as 12 000 000: said above the next question, so the estimate is seen as the
        # amount it became, not taken for a word the bot kept.
        roughly = fdef.type == "money" and field_values.said_roughly(text)
        amount = field_values.format_value("money", stored, lang=lang) if roughly else ""
        await self.ask(task, warning=self.r.t("ℹ️ “%(typed)s” is recorded as %(amount)s.", self.lang,
                                              typed=text.strip(), amount=amount) if roughly else None)  # fmt: skip

    def _check_rules(self, fdef: FieldDef, stored: Any, around: Around) -> None:
        """An answer refused by the field's date rules or its bounds (a prepayment above the order's total); a day off
        with the working day after it, offered at the question asked again."""
        lang = self.r.tr.lang(self.lang)
        calendar = self.core.calendar
        broken = forms.date_rule_problem(fdef, stored, *around, self.today(), lang, calendar=calendar) or (
            forms.bound_problem(fdef, stored, *around, lang)
        )
        if broken is not None:
            day = forms.working_day_after(fdef, stored, calendar) if broken[0] in forms.DAY_OFF_MESSAGES else None
            raise FormError(broken[0], day=day, **broken[1])

    @staticmethod
    def _nothing_typed(step: forms.Step, text: str) -> bool:
        # Not where the case has a value already (a returned request asked again): skipping keeps that value, the
        # opposite of «нет»; the question's «Оставить как есть» is the way to keep it, a new value to change it.
        return (
            step.field is not None and not step.field.required and not step.can_keep
            and field_values.means_nothing(text)
        )  # fmt: skip

    async def pick(self, task: AnyTask, key: str, step_no: int) -> None:
        loaded, fields, _names, draft, step = await self._current(task, step_no)
        if step is None or step.field is None:
            raise EngineError(_("That question was already answered; please use the latest message."))
        if step.field.type == "company":
            if key.startswith(RETYPE):  # «✏️ Type again» under the offer: the question again, nothing created
                # Once: a second tap (or an older offer's button under a newer one) would ask the question again, or
                # drop the name the newer offer is about — its «Create» then had nothing to create.
                query = draft.get("company_query")
                if not query:
                    raise EngineError(_("The name can be typed again now: send it in reply to the question."))
                if key not in (RETYPE, retype_of(query)):  # bare: an offer sent before the mark rode along
                    raise EngineError(_("That question was already answered; please use the latest message."))
                draft.pop("company_query", None)
                task.draft = draft
                await self.ask(task)
                return
            directory = companies.directory_of(loaded.spec, step.field)
            company = await self._company_value(draft, key, directory)
            # The offer («…пока нет. Создать?», «это одна из этих компаний?») reads as the question answered, and a
            # company made by this press says so.
            shown = company["name"]
            if key.startswith(CREATE):
                shown = self.r.t("%(name)s — added to the directory", self.lang, name=shown)
            self.picked(fields, draft, step, shown)
            forms.answer(draft, step, company)
            task.draft = draft
            await self.ask(task)
            return
        offers = self.offers(loaded)
        options = dict(await offers.options(step))
        if key not in options:
            # A date's «Сегодня», the person's own name: worked out again, so a day gone by is not taken as today.
            around = offers.around(fields, draft, step)
            offered = dict(form_offers.offers(self.r, self.user, self.lang, step, around))
            if key.startswith(form_offers.SAME):  # what another item has: read again, as it is now
                same = offers.same_value(step, key)
                if same is None:
                    raise EngineError(_("That option is no longer available."))
                self.picked(fields, draft, step, dict(offers.same_as(step))[key])
                forms.answer(draft, step, same)
                task.draft = draft
                await self.ask(task)
                return
            day = form_offers.pressed_day(step.field, key)
            if key not in offered and day is not None:
                # The day a refusal suggested: checked as a typed one is (a button's data is not to be trusted).
                self._check_rules(step.field, day.isoformat(), around)
                offered[key] = form_offers.suggested_day(self.r, day, self.lang)
            if key not in offered:
                raise EngineError(_("That option is no longer available."))
            self.picked(fields, draft, step, offered[key])
            forms.answer(draft, step, form_offers.offered_value(self.user, step.field, key))
            task.draft = draft
            await self.ask(task)
            return
        value: Any = key
        if step.field.type == "bool":
            value = key == "1"
        elif step.field.type == "user":
            value = int(key)
        self.picked(fields, draft, step, options[key])
        forms.answer(draft, step, value)
        task.draft = draft
        await self.ask(task)

    async def _find_company(
        self, task: AnyTask, draft: dict[str, Any], step: forms.Step, text: str, directory: str
    ) -> None:
        """The companies of the field's directory whose name holds `text` (`companies.directory_of`): another
        business's clients, in a bot that runs several, are not offered."""
        name = " ".join(text.split())
        if len(name) < 2:
            raise FormError(_("Type at least two letters of the company's name."))
        found = [
            c
            for c in await companies.search(self.session, name, directory=directory, own=self.user.organisation_id)
            if access.may_name_company(self.user, c)
        ]
        exact = [c for c in found if c.name.casefold() == name.casefold()]
        if len(exact) == 1:
            forms.answer(draft, step, {"id": exact[0].id, "name": exact[0].name})
            task.draft = draft
            await self.ask(task)
            return
        draft["company_query"] = name
        task.draft = draft
        step_no = step_stamp(step, draft)
        rows = [
            [
                InlineKeyboardButton(
                    text=button_label(c.name),
                    callback_data=FormCb(action="pick", task_id=task.id, arg=f"c{c.id}", step=step_no).pack(),
                )
            ]
            for c in found[:8]
        ]
        rows.append(
            [
                InlineKeyboardButton(
                    text=self.r.t("➕ Create %(name)s", self.lang, name=self.r.name_quoted(name[:40], self.lang)),
                    callback_data=FormCb(action="pick", task_id=task.id, arg=create_of(name), step=step_no).pack(),
                )
            ]
        )
        # A name mistyped is typed again: under «no such company, create it?» there was only «Create».
        rows.append(
            [
                InlineKeyboardButton(
                    text=self.r.t("✏️ Type again", self.lang),
                    callback_data=FormCb(action="pick", task_id=task.id, arg=retype_of(name), step=step_no).pack(),
                )
            ]
        )
        quoted = self.r.name_quoted(name, self.lang)
        text_out = (
            self.r.t("%(name)s: is it one of these? Or create a new company.", self.lang, name=quoted)
            if found
            else self.r.t("There is no company %(name)s yet. Create it?", self.lang, name=quoted)
        )
        self.answered(draft)  # the question, or the offer for a name typed before it: their buttons go
        keyboard = InlineKeyboardMarkup(inline_keyboard=rows).model_dump(exclude_none=True)
        row = outbox.message(self.session, self.user.tg_id, text_out, self.cases.now, keyboard, purpose=outbox.QUESTION)
        # Remembered as the question is: once answered (a company picked or created, the name typed again), its
        # buttons go.
        await self._save(task, draft, row, key=PICKER_ROW)

    async def _company_value(self, draft: dict[str, Any], key: str, directory: str) -> dict[str, Any]:
        if key.startswith(CREATE):
            name = draft.get("company_query")
            if not name:
                raise EngineError(_("Type the company's name first."))
            if key not in (CREATE, create_of(name)):  # bare: an offer sent before the mark rode along
                raise EngineError(_("That question was already answered; please use the latest message."))
            draft.pop("company_query", None)
            company = await companies.create(self.session, name, self.user.id, self.cases.now, directory=directory)
        elif key.startswith("c") and key[1:].isdigit():
            found = await companies.get(self.session, int(key[1:]))
            if (
                found is None
                or not companies.offered(found, directory, self.user.organisation_id)
                or not access.may_name_company(self.user, found)
            ):
                raise EngineError(_("That option is no longer available."))
            company = found
        else:
            raise EngineError(_("That option is no longer available."))
        return {"id": company.id, "name": company.name}

    async def answer_file(self, task: AnyTask, incoming: IncomingFile) -> None:
        if await self.reasked(task):
            return
        _loaded, _fields, _names, draft, step = await self._current(task, None)
        if step is not None and self._is_comment(task, step):
            await self._comment_as_file(task, draft, step, incoming)
            return
        if incoming.album is not None and draft.get(COMMENT_ALBUM) == incoming.album:
            await self._more_of_comment(task, draft, incoming)
            return
        if step is None or step.field is None or not step.is_file:
            await self._keep_for_later(incoming)
            raise self._refusal(step)
        fdef = step.field
        if fdef.type == "photo" and incoming.kind != "photo" and not (incoming.mime_type or "").startswith("image/"):
            raise self._refusal(step)
        if fdef.accept:
            suffix = incoming.name.rsplit(".", 1)[-1].lower() if "." in incoming.name else ""
            if incoming.kind == "photo" or suffix not in [a.lower().lstrip(".") for a in fdef.accept]:
                raise FormError(_("This field takes only %(types)s files."), types=", ".join(fdef.accept))
        stored = await self.core.files.add(
            self.session,
            content=incoming.content,
            name=incoming.name,
            kind=incoming.kind,
            now=self.cases.now,
            case_id=task.case_id,
            user_id=self.user.id,
            mime_type=incoming.mime_type,
            tg_file_id=incoming.tg_file_id,
            tg_unique_id=incoming.tg_unique_id,
        )
        forms.add_file(draft, step, file_ref(stored))
        if not fdef.multiple:
            forms.answer(draft, step, forms.collected_files(draft, step))
        task.draft = draft
        await self.ask(task, album=incoming.album)

    @staticmethod
    def _is_comment(task: AnyTask, step: forms.Step) -> bool:
        """The question is the comment of the outcome chosen (`flows.form_shape.comment_field`)."""
        return not is_service_task(task.key) and step.name == f"{task.key}_comment"

    async def _comment_as_file(
        self, task: AnyTask, draft: dict[str, Any], step: forms.Step, incoming: IncomingFile
    ) -> None:
        """A photo (or a file) sent as a decision's comment — the director's offer marked up by hand: kept as a file
        of the case with the decision (`flows.runtime.comment_file_key`), its caption the comment's words, else
        «(фото)» / «(файл)», so that the card quoting the comment reads something and brings the photo along. Stored
        as no case's file yet: it becomes the case's when the decision is confirmed (`Conversation.confirm`); one he
        thought better of (cancelled, another answer chosen, words typed instead) is deleted with the strays a day
        on (`services.kept_files.drop_stale`)."""
        stored = await self.core.files.add(
            self.session, content=incoming.content, name=incoming.name, kind=incoming.kind, now=self.cases.now,
            case_id=None, user_id=self.user.id, mime_type=incoming.mime_type,
            tg_file_id=incoming.tg_file_id, tg_unique_id=incoming.tg_unique_id,
        )  # fmt: skip
        said = (incoming.caption or "").strip()
        if not said:
            said = self.r.t("(photo)", self.lang) if incoming.kind == "photo" else self.r.t("(file)", self.lang)
        forms.answer(draft, step, said)
        draft["values"][comment_file_key(task.key)] = [file_ref(stored)]
        if incoming.album is not None:
            draft[COMMENT_ALBUM] = incoming.album  # its other pages follow as updates of their own
        task.draft = draft
        await self.ask(task)

    async def _more_of_comment(self, task: AnyTask, draft: dict[str, Any], incoming: IncomingFile) -> None:
        """A later page of an album sent as the comment (a marked-up offer of three pages, sent at once): added to
        the comment's files, silently — Telegram shows the album as one message, and the summary asked after its
        first page stands. Not kept as a file sent when no question asked for one, and the manager gets every page;
        the case's, as the first page, once the decision is confirmed."""
        stored = await self.core.files.add(
            self.session, content=incoming.content, name=incoming.name, kind=incoming.kind, now=self.cases.now,
            case_id=None, user_id=self.user.id, mime_type=incoming.mime_type,
            tg_file_id=incoming.tg_file_id, tg_unique_id=incoming.tg_unique_id,
        )  # fmt: skip
        key = comment_file_key(task.key)
        draft["values"][key] = [*(draft["values"].get(key) or []), file_ref(stored)]
        await self._save(task, draft)

    async def _keep_for_later(self, incoming: IncomingFile) -> None:
        """A file sent to a question for words (the defect photographed before it is described) is kept as one sent
        when no question asked for it: offered at the question for a file, not lost with the refusal."""
        stored = await self.core.files.add(
            self.session, content=incoming.content, name=incoming.name, kind=incoming.kind, now=self.cases.now,
            case_id=None, user_id=self.user.id, mime_type=incoming.mime_type, tg_file_id=incoming.tg_file_id,
            tg_unique_id=incoming.tg_unique_id,
        )  # fmt: skip
        if kept_files.keep(self.user, file_ref(stored), incoming.album, self.cases.now):
            self.say(self.r.t(KEPT, self.lang))

    async def answer_other(self, task: AnyTask) -> None:
        """A message no question takes (a voice message, a sticker, a location): refused with what this one takes."""
        if await self.reasked(task):
            return
        *_form, step = await self._current(task, None)
        raise self._refusal(step)

    def _refusal(self, step: forms.Step | None) -> FormError:
        """What this question takes, in the same words whatever wrong kind of answer came: `answer_text`,
        `answer_file` and `answer_other` accept exactly this."""
        if step is None:
            return FormError(_("The form is complete. Press “Confirm” or correct a field."))
        if step.field is None:
            return FormError(_("Please answer with the buttons: add one more or not."))
        fdef = step.field
        label = local(fdef.label, self.lang)
        if fdef.type == "photo":  # a picture sent as a file is a photo too (`answer_file` checks its type)
            return FormError(
                _("Please send a photo here (a picture sent as a file will do too): %(label)s."), label=label
            )
        if fdef.type == "document" and fdef.accept:  # only files of those types: a photo is no such file
            return FormError(
                _("Please send a file here (%(types)s): %(label)s."), types=", ".join(fdef.accept), label=label
            )
        if fdef.type == "document":
            return FormError(_("Please send a file or a photo here: %(label)s."), label=label)
        if fdef.type in ("choice", "directory", "user", "bool"):
            return FormError(_("Please press a button or answer with text here: %(label)s."), label=label)
        return FormError(_("Please answer with text here: %(label)s."), label=label)

    async def files_done(self, task: AnyTask, step_no: int) -> None:
        _loaded, _fields, _names, draft, step = await self._current(task, step_no)
        if step is None or not step.is_file:
            raise EngineError(_("That question was already answered; please use the latest message."))
        files = forms.collected_files(draft, step)
        if not files and step.field is not None and step.field.required:
            if step.field.type == "photo":  # a photo question asks for a photo, not for «a file»
                raise EngineError(_("Send at least one photo first."))
            raise EngineError(_("Send at least one file first."))
        self.picked(_fields, draft, step, self.r.t("Received: %(n)s", self.lang, n=len(files)))
        forms.answer(draft, step, files or None)
        task.draft = draft
        await self.ask(task)

    async def use_kept(self, task: AnyTask, use: bool, step_no: int) -> None:
        """«Use it» / «Send another» under a question for a file, offering the file(s) the person sent when nothing
        asked for one (`services.kept_files`): taken as if sent now, or forgotten and the question asked plainly."""
        _loaded, fields, _names, draft, step = await self._current(task, step_no)
        if step is None or step.field is None or not step.is_file:
            raise EngineError(_("That question was already answered; please use the latest message."))
        files = kept_files.fitting(kept_files.kept(self.user, self.cases.now), step.field)
        kept_files.forget(self.user)  # used, or declined: offered once
        if use:
            if not files:
                raise EngineError(_("The file you sent earlier is kept no longer; please send it again."))
            files = await kept_files.give_to_case(self.session, files, task.case_id)
            if not files:
                raise EngineError(_("The file you sent earlier is kept no longer; please send it again."))
            for file in files:
                forms.add_file(draft, step, file)
            if not step.field.multiple:
                forms.answer(draft, step, forms.collected_files(draft, step))
            self.picked(fields, draft, step, self.r.t("Received: %(n)s", self.lang, n=len(files)))
        task.draft = draft
        await self.ask(task)

    async def more(self, task: AnyTask, yes: bool, step_no: int) -> None:
        _loaded, fields, _names, draft, step = await self._current(task, step_no)
        if step is None or not step.is_more:
            raise EngineError(_("That question was already answered; please use the latest message."))
        # The press leaves no message of its own in the chat: the question keeps what was answered under it.
        asked = self.r.more_question(fields[step.name], step, self.lang)
        self.picked(fields, draft, step, self.r.more_answer(step, yes, self.lang), asked)
        forms.answer(draft, step, yes)
        task.draft = draft
        await self.ask(task)

    async def skip(self, task: AnyTask, step_no: int) -> None:
        _loaded, _fields, _names, draft, step = await self._current(task, step_no)
        if step is None or step.field is None:
            raise EngineError(_("That question was already answered; please use the latest message."))
        # «Пропустить» pressed on the question after a file came («Получено: 1») means «that's all»: what was
        # received is kept, as «Готово» would, rather than thrown away (no fresh keyboard for every file).
        received = forms.collected_files(draft, step) if step.is_file else []
        if step.field.required and not received:
            raise EngineError(_("This field is required and cannot be skipped."))
        shown = self.r.t("Received: %(n)s", self.lang, n=len(received)) if received else self.r.t("Skipped", self.lang)
        self.picked(_fields, draft, step, shown)
        forms.answer(draft, step, received or None)
        task.draft = draft
        await self.ask(task)

    async def back(self, task: AnyTask, step_no: int) -> None:
        _loaded, fields, _names, _draft, _step = await self._current(task, step_no)
        draft = copy.deepcopy(task.draft or forms.new_draft())
        if not forms.back(fields, draft):
            raise EngineError(_("This is the first question."))
        task.draft = draft
        await self.ask(task)

    async def keep(self, task: AnyTask, step_no: int) -> None:
        """«Keep as it is»: the field keeps the value the case has; on to the next question."""
        loaded, fields, _names, draft, step = await self._current(task, step_no)
        if step is not None and step.current is not None and step.field is not None and not step.whole:
            # The value kept must fit this question's date rules as a typed one does: said here, at the question,
            # not later at the summary with no word of which date is wrong.
            around, lang = self.offers(loaded).around(fields, draft, step), self.r.tr.lang(self.lang)
            broken = forms.date_rule_problem(
                step.field, step.current, *around, self.today(), lang, calendar=self.core.calendar
            ) or forms.bound_problem(step.field, step.current, *around, lang)
            if broken is not None:
                raise FormError(broken[0], **broken[1])
        if step is None or not forms.keep(fields, draft, step):
            raise FormError(_("There is nothing to keep here; please answer the question."))
        # The value kept is the answer, shown under its question as a pressed option is (a picker's by its choice's
        # words): «Сейчас: …» left there without its buttons reads as still asked. A list kept whole has no one line
        # (""): its question only loses its buttons.
        options = dict(await self.offers(loaded).options(step))
        if options or step.whole or step.field is None:
            kept = forms.describe_current(step, self.r.tr.lang(self.lang), options)
        else:  # in the summary's words: «2 шт», a file's name
            kept = self.r.summary_value(step.field, step.current, self.lang, loaded.spec)
        if kept:
            self.picked(fields, draft, step, kept)
        task.draft = draft
        await self.ask(task)
