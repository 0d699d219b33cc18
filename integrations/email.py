"""E-mail as an outbox channel (a supplier's contact is not in Telegram). SMTP through aiosmtplib."""

from __future__ import annotations

import logging
import mimetypes
from dataclasses import dataclass
from email.message import EmailMessage

import aiosmtplib

log = logging.getLogger(__name__)


class MailNotConfigured(Exception):
    pass


@dataclass(frozen=True)
class Attachment:
    name: str
    content: bytes
    mime_type: str | None


@dataclass(frozen=True)
class SmtpConfig:
    host: str | None
    port: int = 587
    user: str | None = None
    password: str | None = None
    sender: str | None = None
    starttls: bool = True


class Mailer:
    def __init__(self, config: SmtpConfig) -> None:
        self.config = config

    @property
    def configured(self) -> bool:
        return bool(self.config.host and self.config.sender)

    async def send(
        self, to: str, subject: str, body: str, attachments: list[Attachment], *, html: str | None = None
    ) -> None:
        if not self.configured:
            raise MailNotConfigured("SMTP is not configured (SMTP_HOST, SMTP_FROM)")
        message = EmailMessage()
        message["From"] = self.config.sender
        message["To"] = to
        message["Subject"] = subject
        message.set_content(body)
        if html:  # the text and the HTML as alternatives: a mail reader shows the one it can
            message.add_alternative(html, subtype="html")
        for item in attachments:
            mime = item.mime_type or mimetypes.guess_type(item.name)[0] or "application/octet-stream"
            maintype, _, subtype = mime.partition("/")
            message.add_attachment(
                item.content, maintype=maintype, subtype=subtype or "octet-stream", filename=item.name
            )
        await aiosmtplib.send(
            message,
            hostname=self.config.host,
            port=self.config.port,
            username=self.config.user,
            password=self.config.password,
            start_tls=self.config.starttls or None,
            timeout=30,
        )
        log.info("e-mail sent to %s: %s", to, subject)
