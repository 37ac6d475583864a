"""The outbox and SMTP: stored before sending, sent exactly once, never header-injected."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from sociaalwerk_publisher._storage import open_storage
from sociaalwerk_publisher.config import EmailConfig
from sociaalwerk_publisher.exceptions import ConfigError, MailError
from sociaalwerk_publisher.mail import Attachment, InlineImage, Outbox, build_message

from .images import png
from .smtp import SmtpServer

NOW = datetime(2026, 12, 1, 7, tzinfo=timezone.utc)


def email_config(server: SmtpServer) -> EmailConfig:
    return EmailConfig(host="127.0.0.1", port=server.port, security="none",
                       sender="Sociaal Werk Nederland <publisher@sociaalwerk.example>",
                       recipients=("communicatie@sociaalwerk.example", "bestuur@sociaalwerk.example"))


def message(key: str = "report:2026-11-01:2026-11-30:nl"):
    return build_message(
        key=key, sender="Sociaal Werk Nederland <publisher@sociaalwerk.example>",
        recipients=["communicatie@sociaalwerk.example"], subject="Persaandacht — november 2026",
        text="Tekst", html='<p>HTML <img src="cid:trend@swp"></p>',
        inline=[InlineImage("trend@swp", "image/png", png())],
        attachments=[Attachment("vermeldingen.csv", "text/csv", "datum;titel\r\n".encode("utf-8-sig"))],
    )


def test_a_message_has_text_html_an_inline_chart_and_a_csv() -> None:
    msg = message()
    assert msg.get_content_type() == "multipart/mixed"
    types = [part.get_content_type() for part in msg.walk()]
    assert types == ["multipart/mixed", "multipart/alternative", "text/plain", "multipart/related",
                     "text/html", "image/png", "text/csv"]
    image = next(p for p in msg.walk() if p.get_content_type() == "image/png")
    assert image["Content-ID"] == "<trend@swp>"


def test_the_message_id_is_stable_for_the_same_report() -> None:
    assert message()["Message-ID"] == message()["Message-ID"] != message("other")["Message-ID"]


@pytest.mark.parametrize("field", ["subject", "sender", "recipient"])
def test_line_breaks_in_header_values_are_refused(field: str) -> None:
    values = {"subject": "s", "sender": "a@b.nl", "recipients": ["c@d.nl"]}
    evil = "x\r\nBcc: victim@example.com"
    if field == "recipient":
        values["recipients"] = [evil]
    else:
        values[field] = evil
    with pytest.raises(MailError, match="line break"):
        build_message(key="k", text="t", **values)  # type: ignore[arg-type]


def test_a_stored_message_is_sent_once(tmp_path: Path, smtp: SmtpServer) -> None:
    outbox = Outbox(open_storage(f"sqlite:///{tmp_path / 'a.db'}"))
    config = email_config(smtp)
    assert outbox.add("k1", "report", message("k1"), config.recipients, NOW)
    assert not outbox.add("k1", "report", message("k1"), config.recipients, NOW)  # once per key
    assert [d.ok for d in outbox.deliver(config, "w", NOW)] == [True]
    assert outbox.deliver(config, "w", NOW) == []
    (received,) = smtp.received
    assert received.recipients == list(config.recipients)
    assert received.message["Subject"] == "Persaandacht — november 2026"
    (item,) = outbox.items()
    assert (item.state, item.attempts, item.sent_at) == ("sent", 1, NOW)


def test_smtp_down_then_up_loses_nothing_and_sends_once(tmp_path: Path) -> None:
    server = SmtpServer()  # not started: the port refuses connections
    outbox = Outbox(open_storage(f"sqlite:///{tmp_path / 'a.db'}"))
    config = email_config(server)
    outbox.add("k1", "report", message("k1"), config.recipients, NOW)
    (failed,) = outbox.deliver(config, "w", NOW)
    assert not failed.ok and failed.error == "SMTP server: cannot reach 127.0.0.1: connection refused"
    assert outbox.items()[0].state == "pending"
    assert outbox.deliver(config, "w", NOW + timedelta(minutes=1)) == []  # backing off
    server.start()
    try:
        (sent,) = outbox.deliver(config, "w", NOW + timedelta(hours=1))
        assert sent.ok
        assert outbox.deliver(config, "w", NOW + timedelta(days=1)) == []
        assert len(server.received) == 1
    finally:
        server.stop()


def test_a_missing_password_variable_is_a_config_error() -> None:
    from sociaalwerk_publisher.mail import connect

    with pytest.raises(ConfigError, match="SWP_NOT_SET is not set"):
        connect(EmailConfig(host="127.0.0.1", port=9, security="none", username_env="SWP_NOT_SET",
                            password_env="SWP_NOT_SET_EITHER", sender="a@b.nl", recipients=("c@d.nl",)))
