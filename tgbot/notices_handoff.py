"""A case another one's step started (seed 3: the quote agreed starts the contract, the signed contract the receiving
request): the message that tells its initiator, who started nothing by hand, why it is there and what comes next."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from db.models import User
from flows.runtime import Notify
from services import access, outbox
from services import people as people_repo
from services.cases.state import Loaded
from tgbot.notices_base import NoticesBase


class HandOffNotices(NoticesBase):
    async def continued(
        self, loaded: Loaded, parent: Loaded, user: User, notices: Sequence[Notify], waits_until: datetime | None = None
    ) -> None:
        r, state, lang = self.renderer, loaded.state, user.language
        lines = [f"🔔 {r.case_name(state, lang)}"]
        roles = await people_repo.roles_of(self.session, user.id)
        # Named only to someone who may open it (whoever leads it may have no part in it): never a number refused.
        if await access.can_see(self.session, access.Viewer.of(user, roles), parent.row, parent.state.spec):
            lines.append(
                r.t(
                    "↪️ Continues case #%(parent)s (“%(process)s”): %(stage)s.",
                    lang,
                    parent=parent.row.id,
                    process=r.tr.local(parent.state.spec.title, lang),
                    stage=r.stage_title(parent.state.spec, parent.state.stage, lang),
                )
            )
        extra = self._extra(loaded, lang)
        lines += [r.kept_template(n.text, state.spec, state.data, lang, extra) for n in notices]
        # Their own task's card comes right after and says it; someone else's work is named with its deadline.
        waiting = r.waiting_for(state, await self._names(loaded), lang, until=waits_until,
                                skip=lambda t: t.is_for(user.id, roles))  # fmt: skip
        if waiting or not notices:
            stage = r.t("Stage: %(stage)s", lang, stage=r.stage_title(state.spec, state.stage, lang))
            lines.append(f"{stage}. {waiting}" if waiting else f"{stage}.")
        for notice in notices:
            await self._send_files(loaded, user, notice.attach)
        keyboard = r.case_button(loaded.row.id, lang)
        outbox.message(self.session, user.tg_id, "\n".join(lines), self.now, keyboard, case_id=loaded.row.id)
