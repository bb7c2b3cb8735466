"""One SMTP connection kept open across the emails of a delivery run.

Opening a connection per email (TCP, EHLO, STARTTLS, login, QUIT) costs more than
sending the email itself; a run of thousands of emails reuses one connection and opens
a new one only after an error (the server may have closed it).
"""

from __future__ import annotations

import smtplib
import ssl
from datetime import datetime
from email.message import EmailMessage
from types import TracebackType

from keepwell.core.settings import Settings
from keepwell.notify.email import build_email, email_bytes, envelope_sender
from keepwell.notify.errors import DeliveryError
from keepwell.notify.outbox import Message


class Mailer:
    """Sends emails through the configured SMTP server over one reused connection;
    use as a context manager (the connection is closed at the end)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._smtp: smtplib.SMTP | None = None

    @property
    def server(self) -> str:
        return f"{self.settings.smtp_host}:{self.settings.smtp_port}"

    def _connect(self) -> smtplib.SMTP:
        settings = self.settings
        smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout)
        try:
            if settings.smtp_starttls:
                smtp.starttls(context=ssl.create_default_context())
            if settings.smtp_user:
                secret = settings.smtp_password
                smtp.login(settings.smtp_user, secret.get_secret_value() if secret else "")
        except BaseException:
            smtp.close()
            raise
        return smtp

    def send(self, message: Message, now: datetime) -> None:
        """Send ``message`` to ``message.target``; :class:`DeliveryError` when the server
        cannot be reached or refuses it. A reused connection the server closed meanwhile
        is opened again once; after other errors it is dropped."""
        if "@" not in message.target:
            raise DeliveryError(f"{message.target!r} is not an email address")
        email: EmailMessage | bytes | None = email_bytes(message, self.settings, now)
        if email is None:  # not plain ASCII: the email package encodes and folds it
            email = build_email(message, self.settings, now)
        try:
            try:
                self._send(email, message.target)
            except smtplib.SMTPServerDisconnected:
                self.close()  # an idle connection the server closed: one fresh try
                self._send(email, message.target)
        except (smtplib.SMTPRecipientsRefused, smtplib.SMTPResponseException) as exc:
            if getattr(exc, "smtp_code", 0) == 421:  # the server is closing the connection
                self.close()
            raise DeliveryError(f"SMTP server {self.server} refused the email: {exc}") from exc
        except smtplib.SMTPException as exc:
            self.close()
            raise DeliveryError(f"SMTP server {self.server} refused the email: {exc}") from exc
        except OSError as exc:
            self.close()
            raise DeliveryError(f"cannot reach the SMTP server {self.server}: {exc}") from exc

    def _send(self, email: EmailMessage | bytes, to: str) -> None:
        if self._smtp is None:
            self._smtp = self._connect()
        if isinstance(email, bytes):  # the bytes send_message would have sent
            self._smtp.sendmail(envelope_sender(self.settings.smtp_from), [to], email)
        else:
            self._smtp.send_message(email)

    def close(self) -> None:
        """Close the connection (QUIT), if one is open; never raises."""
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()

    def __enter__(self) -> Mailer:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()
