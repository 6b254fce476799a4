"""System mail leaves through Flask-Mail on MAIL_SERVER, or lands in the outbox marked as
system mail, never among campaign mail."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from flask import Flask

from tests.support.services import SmtpCapture
from tests.team_support import mail_server, outbox, parts, read_eml, system_mails
from webapp.services.sending import list_outbox, read_outbox_mail
from webapp.services.system_mail import send_system_mail

__all__ = ["mail_server", "outbox"]

LINK = "http://campaigns.test/invite/secret-link"


def our_log(caplog: pytest.LogCaptureFixture) -> str:
    """What the app itself logged (the test's SMTP server logs the whole conversation)."""
    return "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("webapp"))


def test_with_a_mail_server_the_mail_goes_through_smtp_with_both_parts(
    app: Flask,
    mail_server: SmtpCapture,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    app.config["MAIL_DEBUG"] = 1  # asked for, yet the conversation (with the link) stays unprinted
    delivered = send_system_mail(
        "nieuw@punthelder.nl", "Welkom", f"Hallo, {LINK}", f"<p><a href='{LINK}'>Hallo</a></p>"
    )
    assert delivered.via == "smtp"
    (received,) = mail_server.wait_for(1)
    assert received.rcpt_tos == ["nieuw@punthelder.nl"]
    assert received.mail_from == "systeem@punthelder.nl"
    mail = received.message
    assert mail["Subject"] == "Welkom"
    assert mail["Message-ID"].endswith("@punthelder.nl>")
    text, html = parts(mail)
    assert LINK in text and LINK in html
    # Nothing went to the outbox, and no log line holds the link.
    assert system_mails(Path(app.config["OUTBOX_DIR"])) == []
    del app.config["MAIL_DEBUG"]
    assert "system mail sent" in our_log(caplog) and LINK not in our_log(caplog)
    assert LINK not in capfd.readouterr().err


def test_without_a_mail_server_it_lands_in_the_outbox_marked_as_system_mail(
    app: Flask, outbox: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    delivered = send_system_mail("nieuw@punthelder.nl", "Welkom", f"Hallo, {LINK}")
    assert delivered.via == "outbox" and delivered.name
    (path,) = system_mails(outbox)
    assert path.stem == delivered.name
    assert read_eml(path)["To"] == "nieuw@punthelder.nl"
    assert read_eml(path)["From"] == "Punthelder Campaigns <noreply@campaigns.test>"
    # Campaign mail readers never meet it; the page that asks for it sees it marked.
    assert list(outbox.glob("*.eml")) == []
    assert list_outbox(str(outbox)) == []
    (entry,) = list_outbox(str(outbox), include_system=True)
    assert entry.system and entry.subject == "Welkom"
    assert read_outbox_mail(str(outbox), delivered.name) is None
    shown = read_outbox_mail(str(outbox), delivered.name, system=True)
    assert shown is not None and LINK in shown.text and shown.entry.system
    assert LINK not in our_log(caplog)


def test_a_refusing_mail_server_is_an_error_for_the_caller(
    app: Flask, mail_server: SmtpCapture
) -> None:
    import smtplib

    mail_server.reject("weg@punthelder.nl", 550, "5.1.1 no such user")
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        send_system_mail("weg@punthelder.nl", "Welkom", "Hallo")
