"""The outbox's other channels: e-mail (SMTP), SMS (the gateway, with its own limits and delivery reports) and
render jobs (a document written to the file store after the step's commit). Claimed before the request like
every row: sent at most once."""

from __future__ import annotations

import logging
from datetime import timedelta

import aiosmtplib
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from db.models import Outbox, StoredFile
from flows.status import OutboxStatus
from integrations.email import Attachment
from services import outbox
from services.delivery.base import MAX_ATTEMPTS, SMS_MAX_ATTEMPTS, SMS_MAX_PAUSE, SenderBase, _Outcome
from services.files import NOT_RENDERED, RENDER_FAILED_SIZE, render_failed, rendered
from services.sms import SmsRefused, SmsTemporary, SmsUncertain, awaiting_report, record_reports

log = logging.getLogger(__name__)


class ChannelsMixin(SenderBase):
    async def _render(self, row: Outbox) -> _Outcome:
        """A render job: the document is written to the file store and its file row completed, in a transaction of
        their own under the path's hold (`FileStore.fill`), as an upload's; a failure is for the admins (the row
        fails with the error, its messages too), as a missing template was when documents were rendered inside the
        step. The database failing the write is not the document's fault: the job is tried again later."""
        file_id = int(row.payload["file_id"])
        if self.documents is None:
            return self._outcome(row, OutboxStatus.PENDING, delay=5.0, attempt_back=True,
                                 error="no document renderer in this process")  # fmt: skip
        try:
            content = await self.documents(row.payload)
            name = str(row.payload.get("name") or row.payload.get("template") or "document")
            async with self.sessionmaker() as session, session.begin():
                await self.files.fill(session, file_id, content, name)
        except DBAPIError as exc:
            log.warning("outbox: render job %s not written: %s", row.id, exc)
            status = OutboxStatus.PENDING if row.attempts < MAX_ATTEMPTS else OutboxStatus.FAILED
            outcome = self._outcome(row, status, delay=min(300.0, 5.0 * 2.0**row.attempts), error=str(exc))
            if status == OutboxStatus.FAILED:
                outcome.rendered = (file_id, NOT_RENDERED, RENDER_FAILED_SIZE)
            return outcome
        except Exception as exc:
            log.exception("outbox: render job %s failed", row.id)
            outcome = self._outcome(row, OutboxStatus.FAILED, error=f"{type(exc).__name__}: {exc}")
            outcome.rendered = (file_id, NOT_RENDERED, RENDER_FAILED_SIZE)
            return outcome
        return self._outcome(row, OutboxStatus.SENT)

    async def _deliver_email(self, row: Outbox) -> _Outcome:
        payload = row.payload
        if self.mailer is None or not self.mailer.configured:
            return self._outcome(row, OutboxStatus.FAILED, error=outbox.NO_SMTP)
        if "@" not in str(payload.get("to", "")):
            return self._outcome(row, OutboxStatus.FAILED, error=f"{outbox.NO_ADDRESS}: {payload.get('to')!r}")
        attachments = []
        ids = [i for i in payload.get("file_ids", []) if isinstance(i, int)]
        if ids:
            async with self.sessionmaker() as session:
                for stored in (await session.scalars(select(StoredFile).where(StoredFile.id.in_(ids)))).all():
                    if not rendered(stored) and not render_failed(stored):
                        return self._outcome(row, OutboxStatus.PENDING, delay=1.0, attempt_back=True)
                    path = self.files.path(stored)
                    if path.exists():
                        attachments.append(Attachment(stored.file_name, path.read_bytes(), stored.mime_type))
        try:
            await self.mailer.send(
                str(payload["to"]),
                str(payload.get("subject", "")),
                str(payload.get("body", "")),
                attachments,
                html=str(payload["html"]) if payload.get("html") else None,
            )
        except aiosmtplib.SMTPTimeoutError as exc:
            return self._outcome(row, OutboxStatus.UNCERTAIN, error=str(exc))  # it may have been accepted
        except (aiosmtplib.SMTPConnectError, aiosmtplib.SMTPServerDisconnected, OSError) as exc:
            status = OutboxStatus.PENDING if row.attempts < MAX_ATTEMPTS else OutboxStatus.FAILED
            return self._outcome(row, status, delay=min(300.0, 5.0 * 2.0**row.attempts), error=str(exc))
        except aiosmtplib.SMTPException as exc:
            return self._outcome(row, OutboxStatus.FAILED, error=str(exc))
        self.stats["sent"] += 1
        return self._outcome(row, OutboxStatus.SENT)

    async def _deliver_sms(self, row: Outbox) -> _Outcome:
        """One SMS, claimed before the request like every row: sent at most once. The gateway down for a while
        (or unreachable) delays it with a growing pause, for up to a few hours, before it fails for good; a
        request that may have been carried out is `uncertain`, never sent again."""
        if self.sms is None or not self.sms.configured:
            return self._outcome(row, OutboxStatus.FAILED, error=outbox.NO_SMS)
        try:
            external_id = await self.sms.send(str(row.payload["to"]), str(row.payload.get("text", "")))
        except SmsTemporary as exc:
            self.stats["network_retries"] += 1
            status = OutboxStatus.PENDING if row.attempts < SMS_MAX_ATTEMPTS else OutboxStatus.FAILED
            delay = min(SMS_MAX_PAUSE, self.sms_retry_base * 2.0 ** (row.attempts - 1))
            return self._outcome(row, status, delay=delay, error=str(exc))
        except SmsUncertain as exc:
            self.stats["uncertain"] += 1
            return self._outcome(row, OutboxStatus.UNCERTAIN, error=str(exc))
        except SmsRefused as exc:
            self.stats["failed"] += 1
            return self._outcome(row, OutboxStatus.FAILED, error=str(exc))
        self.stats["sent"] += 1
        return self._outcome(row, OutboxStatus.SENT, external_id=external_id)

    async def poll_sms_reports(self, older_than: timedelta = timedelta(minutes=10)) -> int:
        """Delivery reports that never came by the gateway's callback, asked for by status."""
        if self.sms is None or not self.sms.configured:
            return 0
        async with self.sessionmaker() as session, session.begin():
            waiting = await awaiting_report(session, self.clock.now() - older_than)
            if not waiting:
                return 0
            return await record_reports(session, await self.sms.status(waiting))
