"""Notices from around the cases: the digest (with its chart), comments, 1C's documents, e-mail to people outside
Telegram, and the person told at once when such an e-mail or SMS could not be sent."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from db.models import Outbox, StoredFile, User
from services import outbox
from services.cases.state import Loaded
from services.comments import Entry
from services.digests import Digest
from services.onec_documents.sheet import title as document_title
from tgbot import digest_view
from tgbot.callbacks import CaseCb
from tgbot.notices_base import NoticesBase


class OtherNotices(NoticesBase):
    async def digest(self, user: User, digest: Digest, chart_file_id: int | None) -> None:
        r, lang = self.renderer, user.language
        text = digest_view.digest_text(r, digest, lang)
        plan = await self.channels.plan("digest", user)
        row = None
        if plan.telegram:
            if chart_file_id is not None:
                caption = r.t("Open and overdue work", lang)
                payload = {"file_id": chart_file_id, "caption": caption}
                outbox.enqueue(self.session, chat_id=user.tg_id, method="sendPhoto", payload=payload, now=self.now)
            keyboard = digest_view.digest_keyboard(r, digest, lang)
            markup = keyboard.model_dump(exclude_none=True) if keyboard is not None else None
            row = await self._telegram("digest", user, {"text": text}, markup)
        await self.channels.deliver(plan, {"text": text}, case_id=None, telegram_row=row)

    async def comment_posted(self, loaded: Loaded, entry: Entry, recipients: Sequence[User]) -> None:
        r, case_id, comment = self.renderer, loaded.row.id, entry.comment
        for user in recipients:
            lang = user.language
            case = r.case_name(loaded.state, lang)
            title = (
                r.t("🔒 Internal note on %(case)s", lang, case=case)
                if comment.internal
                else r.t("💬 Comment on %(case)s", lang, case=case)
            )
            reply = CaseCb(action="reply", case_id=case_id, arg=str(comment.id)).pack()
            show = CaseCb(action="show", case_id=case_id).pack()
            keyboard = {
                "inline_keyboard": [
                    [
                        {"text": r.t("↩️ Reply", lang), "callback_data": reply},
                        {"text": r.t("📁 Case", lang), "callback_data": show},
                    ]
                ]
            }
            # Comments go by the person's channels like every other kind (Telegram on unless an admin says
            # otherwise); the recipients were already cut to who may read the comment (no internal note for a
            # dealer), so no channel widens that.
            plan = await self.channels.plan("comment", user)
            variables = {**self._case_vars(loaded, lang), "author": entry.author, "text": r.comment_line(entry, lang)}
            row = None
            if plan.telegram:
                if entry.file is not None:
                    caption = f"{entry.author} · {case}"
                    outbox.files(self.session, user.tg_id, self.now, [(entry.file.id, entry.file.kind, caption)],
                                 case_id=case_id)  # fmt: skip
                # The Telegram message's text is the whole of it, its heading with the comment's line.
                shown = {**variables, "text": f"{title}\n{variables['text']}"}
                row = await self._telegram("comment", user, shown, keyboard, case_id=case_id)
            await self.channels.deliver(plan, variables, case_id=case_id, telegram_row=row)

    async def document_arrived(
        self,
        loaded: Loaded,
        file_id: int,
        kind: str,
        number: str,
        date: str,
        replaced: bool,
        recipients: Sequence[User],
    ) -> None:
        r, case_id = self.renderer, loaded.row.id
        for user in recipients:
            lang = user.language
            document = document_title(r.t, kind, number, date, lang)
            case = r.case_name(loaded.state, lang)
            text = (
                r.t("📄 1C changed %(document)s for %(case)s: here is the new version.", lang, document=document,
                    case=case)
                if replaced
                else r.t("📄 1C sent %(document)s for %(case)s.", lang, document=document, case=case)
            )  # fmt: skip
            get = CaseCb(action="doc", case_id=case_id, arg=str(file_id)).pack()
            show = CaseCb(action="show", case_id=case_id).pack()
            keyboard = {"inline_keyboard": [[{"text": r.t("📥 Get the document", lang), "callback_data": get},
                                             {"text": r.t("📁 Case", lang), "callback_data": show}]]}  # fmt: skip
            plan = await self.channels.plan("notify", user)
            variables = {**self._case_vars(loaded, lang), "text": text}
            row = None
            if plan.telegram:
                row = await self._telegram("notify", user, variables, keyboard, case_id=case_id)
            await self.channels.deliver(plan, variables, case_id=case_id, telegram_row=row)

    def email(
        self,
        to: str,
        subject: str,
        body: str,
        file_ids: list[int],
        *,
        case_id: int | None = None,
        responsible_id: int | None = None,
    ) -> None:
        payload: dict[str, Any] = {"to": to, "subject": subject, "body": body, "file_ids": file_ids}
        if responsible_id is not None:
            payload["responsible_id"] = responsible_id
        row = outbox.enqueue(self.session, chat_id=0, method="email", now=self.now, payload=payload, case_id=case_id)
        row.channel = "email"

    async def delivery_failed(self, row: Outbox, person: User) -> None:
        r, lang, payload = self.renderer, person.language, row.payload
        where = r.t("case #%(id)s", lang, id=row.case_id) if row.case_id else r.t("no case", lang)
        to = payload.get("to") or "—"
        lines = [self._failure_said(row, lang, to=to, case=where)]
        if person.is_admin:  # the one who can set it right gets the sender's own words too
            lines.append(r.t("For the administrator: %(error)s", lang, error=row.error or "?"))
        lines.append(r.t("To: %(to)s", lang, to=to))
        if payload.get("subject"):
            lines.append(r.t("Subject: %(subject)s", lang, subject=payload["subject"]))
        lines += ["", str(payload.get("body") or "")]
        # The letter's own files, exactly those the mailer would have attached, in this chat: the case's
        # «📎 Files» holds every file of the case (the defect's photos too), another number and other files.
        ids = [i for i in payload.get("file_ids", []) if isinstance(i, int)]
        stored = {f.id: f for f in await self.session.scalars(select(StoredFile).where(StoredFile.id.in_(ids)))}
        attached = [stored[i] for i in ids if i in stored]
        if attached:
            refs = [{"kind": f.kind, "name": f.file_name} for f in attached]
            lines += ["", r.t("Attach these files to the e-mail (%(n)s): %(files)s — they are in this chat.", lang,
                              n=len(attached), files=r.files_words(refs, lang))]  # fmt: skip
        keyboard = r.case_button(row.case_id, lang) if row.case_id else None
        outbox.message(self.session, person.tg_id, "\n".join(lines), self.now, keyboard, case_id=row.case_id)
        # Those this chat already has (a card brought them) are not sent again: a file of a case comes once.
        had = await outbox.files_sent(self.session, row.case_id, person.tg_id) if row.case_id else set()
        missing = [(f.id, f.kind, f.file_name) for f in attached if f.id not in had]
        outbox.files(self.session, person.tg_id, self.now, missing, case_id=row.case_id)

    def _failure_said(self, row: Outbox, lang: str | None, *, to: str, case: str) -> str:
        """Why it did not go out, in what it means for the person who must now send it: «SMTP is not configured»
        is the admins' business, not something a shop manager can read or act on."""
        r, error, sms = self.renderer, row.error or "", row.channel == "sms"
        if error == outbox.NO_SMS:
            return r.t("⚠️ The bot has no SMS service set up, so the SMS to %(to)s (%(case)s) was not sent. "
                       "Please send it yourself, the text is below.", lang, to=to, case=case)  # fmt: skip
        if error == outbox.NO_SMTP:
            return r.t("⚠️ The bot has no mail set up, so the e-mail to %(to)s (%(case)s) was not sent. "
                       "Please send it yourself, the text is below.", lang, to=to, case=case)  # fmt: skip
        if error.startswith(outbox.NO_ADDRESS):
            return r.t("⚠️ The e-mail (%(case)s) was not sent: “%(to)s” is not an e-mail address. "
                       "Please send it yourself, the text is below.", lang, to=to, case=case)  # fmt: skip
        if sms:
            return r.t("⚠️ The SMS to %(to)s (%(case)s) could not be delivered. "
                       "Please send it yourself, the text is below.", lang, to=to, case=case)  # fmt: skip
        return r.t("⚠️ The mail server did not take the e-mail to %(to)s (%(case)s). "
                   "Please send it yourself, the text is below.", lang, to=to, case=case)  # fmt: skip
