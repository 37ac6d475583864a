"""The outbox and SMTP: a message is stored before the first attempt and sent until accepted.

``[email] timeout`` bounds each SMTP step as a whole (connecting and logging in, each
message, saying goodbye), so a server that trickles its replies cannot hold a run.
"""

from __future__ import annotations

import email.policy
import hashlib
import smtplib
import ssl
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from typing import Any

from ._storage import Storage, Transaction
from .backoff import backoff
from .config import EmailConfig, secret_from_env
from .exceptions import ConfigError, MailError
from .network import Deadline, create_connection, describe, watch
from .types import Delivery, OutboxItem

RETRY_MIN = timedelta(minutes=10)
RETRY_MAX = timedelta(hours=6)
CLAIM = timedelta(minutes=10)


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class InlineImage:
    cid: str  #: referenced from the HTML as ``cid:...``
    content_type: str
    data: bytes


def _no_newlines(value: str, what: str) -> str:
    if "\r" in value or "\n" in value:
        raise MailError(f"{what} contains a line break, which could inject headers: refused")
    return value


def build_message(*, key: str, sender: str, recipients: Sequence[str], subject: str, text: str,
                  html: str | None = None, inline: Sequence[InlineImage] = (),
                  attachments: Sequence[Attachment] = ()) -> EmailMessage:
    """A MIME message: text, HTML alternative with inline images, attachments.

    The Message-ID is derived from ``key``, so the same report always has the same id.

    Raises:
        MailError: a header value would contain CR or LF.
    """
    message = EmailMessage()
    message["Subject"] = _no_newlines(subject, "the subject")
    message["From"] = _no_newlines(sender, "the sender")
    message["To"] = ", ".join(_no_newlines(r, "a recipient") for r in recipients)
    message["Date"] = formatdate(localtime=True)
    domain = parseaddr(sender)[1].rpartition("@")[2] or "sociaalwerk-publisher.invalid"
    # derived from the key alone: a report sent again (after a crash) is recognisably the same
    message["Message-ID"] = f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@{domain}>"
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
        parts = message.get_payload()
        assert isinstance(parts, list)
        html_part = parts[-1]
        assert isinstance(html_part, EmailMessage)
        for image in inline:
            maintype, _, subtype = image.content_type.partition("/")
            html_part.add_related(image.data, maintype=maintype, subtype=subtype, cid=f"<{image.cid}>",
                                  disposition="inline")
    for attachment in attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        message.add_attachment(attachment.data, maintype=maintype, subtype=subtype,
                               filename=attachment.filename)
    return message


class Outbox:
    """Messages stored before sending, delivered until the server accepts them."""

    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    def has(self, key: str) -> bool:
        return self._storage.outbox.has(key)

    def add(self, key: str, kind: str, message: EmailMessage, recipients: Sequence[str], now: datetime,
            transaction: Transaction | None = None) -> bool:
        """Store a message under ``key``; false if that key is already in the outbox.

        With ``transaction``, inside that transaction of the store.
        """
        return self._storage.outbox.add(key, kind, message["Message-ID"], message["Subject"], recipients,
                                        message.as_bytes(policy=email.policy.SMTP), now, transaction)

    def items(self) -> list[OutboxItem]:
        return self._storage.outbox.items()

    def deliver(self, config: EmailConfig, worker: str, now: datetime, *, keys: Sequence[str] | None = None,
                force: bool = False) -> list[Delivery]:
        """Send every pending message that is due (or just ``keys``); one SMTP session for all.

        ``force`` sends pending messages that are still backing off, too.
        """
        store = self._storage.outbox
        due = store.due(now, keys=keys, force=force)
        results: list[Delivery] = []
        if not due:
            return results
        session: smtplib.SMTP | None = None
        try:
            for key in due:
                row = store.claim(key, worker, now, CLAIM)
                if row is None:
                    continue  # another run is sending it
                try:
                    if session is None:
                        session = connect(config)
                    with _step(config, key, session):
                        session.sendmail(parseaddr(config.sender)[1], row.recipients.split("\t"), row.message)
                except MailError as e:
                    self._failed(key, row.attempts, e, now)
                    results.append(Delivery(key, False, str(e)))
                    _close(config, session)  # a broken session is not reused
                    session = None
                    continue
                store.finish(key, state="sent", sent_at=now, last_error=None)
                results.append(Delivery(key, True))
        finally:
            _close(config, session)
        return results

    def _failed(self, key: str, attempts: int, error: MailError, now: datetime) -> None:
        delay = backoff(attempts, RETRY_MIN, RETRY_MAX, jitter=0)
        self._storage.outbox.finish(key, state="failed" if error.permanent else "pending", last_error=str(error),
                     next_attempt_at=now + delay)


def connect(config: EmailConfig) -> smtplib.SMTP:
    """An SMTP session, encrypted as configured (verifying TLS) and logged in.

    Raises:
        ConfigError: e-mail is not configured, or a secret variable is not set.
        MailError: the server cannot be reached or refuses the login.
    """
    if not config.host:
        raise ConfigError("no SMTP server configured", "email.host")
    login = None
    if config.username_env:
        login = (secret_from_env(config.username_env, "email.username_env"),
                 secret_from_env(config.password_env, "email.password_env"))
    context = ssl.create_default_context()
    session: smtplib.SMTP | None = None
    try:
        with _step(config, None):
            if config.security == "ssl":
                session = _WatchedSMTPSSL(config.host, config.port, timeout=config.timeout, context=context)
            else:
                session = _WatchedSMTP(config.host, config.port, timeout=config.timeout)
                if config.security == "starttls":
                    session.starttls(context=context)
            if login:
                try:
                    session.login(*login)
                except smtplib.SMTPAuthenticationError as e:
                    raise MailError(f"the SMTP server refused the login (check ${config.username_env} and"
                                    f" ${config.password_env}): {e.smtp_code}", permanent=False) from e
    except MailError:
        if session is not None:
            session.close()
        raise
    assert session is not None
    return session


class _WatchedSMTP(smtplib.SMTP):
    """SMTP whose socket the deadline in flight watches from before it connects."""

    def _get_socket(self, host: str, port: int, timeout: float) -> Any:
        return create_connection((host, port), timeout, self.source_address)


class _WatchedSMTPSSL(smtplib.SMTP_SSL, _WatchedSMTP):
    """SMTP over TLS from the first byte; the handshake is watched too."""


@contextmanager
def _step(config: EmailConfig, key: str | None, session: smtplib.SMTP | None = None) -> Iterator[None]:
    """One SMTP step within ``[email] timeout`` as a whole; a failure becomes a MailError.

    Raises:
        MailError: the step failed or took too long.
    """
    exchange = Deadline(config.timeout)
    try:
        with exchange:
            if session is not None and session.sock is not None:
                watch(session.sock, config.host)
            yield
    except (smtplib.SMTPException, OSError) as e:
        raise _translate(e, key, exchange) from e


def _translate(e: BaseException, key: str | None, exchange: Deadline) -> MailError:
    if isinstance(e, smtplib.SMTPRecipientsRefused):
        return MailError(f"every recipient was refused: {sorted(e.recipients)}", key, permanent=True)
    if isinstance(e, smtplib.SMTPResponseException):
        permanent = 500 <= e.smtp_code < 600
        text = e.smtp_error.decode(errors="replace") if isinstance(e.smtp_error, bytes) else str(e.smtp_error)
        return MailError(f"SMTP {e.smtp_code}: {text}", key, permanent=permanent)
    return MailError(f"SMTP server: {describe(e, exchange)}", key)


def _close(config: EmailConfig, session: smtplib.SMTP | None) -> None:
    if session is not None:
        try:
            with _step(config, None, session):
                session.quit()
        except MailError:
            session.close()
