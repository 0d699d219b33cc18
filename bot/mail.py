"""E-mail as an outbox channel (a supplier's contact is not in Telegram). SMTP through aiosmtplib."""

from __future__ import annotations

import logging
import mimetypes
from dataclasses import dataclass
from email.message import EmailMessage

import aiosmtplib

from bot.settings import Settings

log = logging.getLogger(__name__)


class MailNotConfigured(Exception):
    pass


@dataclass(frozen=True)
class Attachment:
    name: str
    content: bytes
    mime_type: str | None


class Mailer:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @property
    def configured(self) -> bool:
        return bool(self.settings.smtp_host and self.settings.smtp_from)

    async def send(self, to: str, subject: str, body: str, attachments: list[Attachment]) -> None:
        if not self.configured:
            raise MailNotConfigured("SMTP is not configured (SMTP_HOST, SMTP_FROM)")
        message = EmailMessage()
        message["From"] = self.settings.smtp_from
        message["To"] = to
        message["Subject"] = subject
        message.set_content(body)
        for item in attachments:
            mime = item.mime_type or mimetypes.guess_type(item.name)[0] or "application/octet-stream"
            maintype, _, subtype = mime.partition("/")
            message.add_attachment(
                item.content, maintype=maintype, subtype=subtype or "octet-stream", filename=item.name
            )
        password = self.settings.smtp_password.get_secret_value() if self.settings.smtp_password else None
        await aiosmtplib.send(
            message,
            hostname=self.settings.smtp_host,
            port=self.settings.smtp_port,
            username=self.settings.smtp_user,
            password=password,
            start_tls=self.settings.smtp_starttls or None,
            timeout=30,
        )
        log.info("e-mail sent to %s: %s", to, subject)
