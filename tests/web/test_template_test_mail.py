"""A test mail to oneself from the template editor and the API: rendered for the chosen lead as
a real send is (sandbox, follow-up subject, DKIM), marked as a test, delivered to the real SMTP
server, never tracked, never counted, recorded in the audit trail."""

from __future__ import annotations

import base64
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import dkim
import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from tests.factories import make_lead, make_template
from tests.sending_support import make_domain, make_running_campaign
from tests.support.services import SmtpCapture
from tests.support.untranslated import ROOT, untranslated_in_template
from webapp.database import utcnow
from webapp.extensions import db
from webapp.models import AuditEvent, Lead, Message, MessageEvent, SendingDomain, Template

LINK = "https://www.punthelder.nl/rapport"


@pytest.fixture
def smtp_app(app: Flask, smtp_server: SmtpCapture) -> Iterator[Flask]:
    app.config["MAIL_BACKEND"] = "smtp"
    yield app
    app.config["MAIL_BACKEND"] = "outbox"


@pytest.fixture
def dkim_key(tmp_path: Path) -> tuple[str, bytes]:
    """A private key, and the TXT record that publishes its public half."""
    key = tmp_path / "dkim.pem"
    subprocess.run(["openssl", "genrsa", "-out", str(key), "2048"], check=True, capture_output=True)
    public = subprocess.run(
        ["openssl", "rsa", "-in", str(key), "-pubout", "-outform", "DER"],
        check=True,
        capture_output=True,
    ).stdout
    return key.read_text(), b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)


def two_step_template() -> Template:
    template = make_template(steps=2)
    template.steps[
        0
    ].body_html = (
        f'<p>Hallo {{{{ company }}}}, <a href="{LINK}" id="report">bekijk het rapport</a>.</p>'
    )
    template.steps[1].subject = ""  # a follow-up answers mail 1: "Re: <mail 1 subject>"
    db.session.flush()
    return template


def counts() -> tuple[int, int]:
    messages = db.session.scalar(sa.select(sa.func.count()).select_from(Message))
    events = db.session.scalar(sa.select(sa.func.count()).select_from(MessageEvent))
    return int(messages or 0), int(events or 0)


def test_a_test_mail_arrives_rendered_for_the_lead_marked_and_neither_tracked_nor_counted(
    smtp_app: Flask,
    smtp_server: SmtpCapture,
    api_client: Any,
    dkim_key: tuple[str, bytes],
) -> None:
    private_key, record = dkim_key
    domain = make_domain(
        "punthelder-seo.nl",
        smtp_server.port,
        dkim_selector="mail2026",
        dkim_private_key=private_key,
    )
    # A running campaign with one mail already sent, so the figures have something to lose.
    campaign, (lead,), (message,) = make_running_campaign([domain], leads=1)
    message.status, message.sent_at = "sent", utcnow()
    template = two_step_template()
    db.session.commit()
    client, headers = api_client("marketer")
    kpis_before = client.get(f"/api/v1/campaigns/{campaign.id}/kpis", headers=headers).json
    before = counts()

    body = {"lead_id": lead.id, "mail_number": 1, "domain": domain.name, "alias": "victor"}
    response = client.post(f"/api/v1/templates/{template.id}/test-mail", json=body, headers=headers)

    assert response.status_code == 200, response.json
    me = client.get("/api/v1/me", headers=headers).json["email"]
    assert response.json == {
        "sent": True,
        "to": me,
        "subject": f"[TEST] Mail 1 voor {lead.company}",
    }
    (mail,) = smtp_server.wait_for(1)
    assert (mail.mail_from, mail.rcpt_tos) == ("victor@punthelder-seo.nl", [me])
    parsed = mail.message
    assert parsed["Subject"] == f"[TEST] Mail 1 voor {lead.company}"
    assert parsed["X-Campaigns-Test"] == "1"
    assert parsed["From"] == "Victor Jansen <victor@punthelder-seo.nl>"
    assert parsed["To"] == me
    assert parsed["X-Campaign-Message-ID"] is None
    html = parsed.get_body(("html",)).get_content()  # type: ignore[union-attr]
    text = parsed.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert f"Hallo {lead.company}" in html and f"Hallo {lead.company}" in text
    assert f'href="{LINK}"' in html  # the link as written, not a tracked one
    for tracked in ("/t/o/", "/t/c/", "/u/", "<img"):
        assert tracked not in html.replace("example.invalid/u/", "")
    assert "campaigns.test" not in mail.data.decode()  # nothing points at the tracking host
    assert "example.invalid" in parsed["List-Unsubscribe"]

    # Signed with the domain's key, as a real send is.
    def dns(name: bytes, timeout: int = 5) -> bytes:
        assert name == b"mail2026._domainkey.punthelder-seo.nl."
        return record

    assert mail.data.startswith(b"DKIM-Signature:")
    assert dkim.verify(mail.data, dnsfunc=dns)

    # Not counted: no message, no event, the same figures, the lead not marked as mailed.
    db.session.expire_all()
    assert counts() == before
    assert client.get(f"/api/v1/campaigns/{campaign.id}/kpis", headers=headers).json == kpis_before
    stored = db.session.get(Lead, lead.id)
    assert stored is not None and stored.last_emailed_at is None
    sending_domain = db.session.get(SendingDomain, domain.id)
    assert sending_domain is not None and sending_domain.last_sent_at is None
    # Recorded in the audit trail.
    (event,) = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "template.test_mail")
    ).all()
    assert event.subject_type == "template" and event.subject_id == template.id
    assert event.details == {
        "lead_id": lead.id,
        "mail_number": 1,
        "domain": "punthelder-seo.nl",
        "alias": "victor",
        "recipient": me,
    }


def test_a_follow_up_test_mail_answers_mail_one_as_a_real_follow_up_would(
    smtp_app: Flask, smtp_server: SmtpCapture, api_client: Any
) -> None:
    make_domain("punthelder-seo.nl", smtp_server.port)
    lead = make_lead()
    template = two_step_template()
    db.session.commit()
    client, headers = api_client("admin")
    body = {"lead_id": lead.id, "mail_number": 2, "domain": "punthelder-seo.nl"}
    response = client.post(f"/api/v1/templates/{template.id}/test-mail", json=body, headers=headers)
    assert response.status_code == 200, response.json
    assert response.json["subject"] == f"[TEST] Re: Mail 1 voor {lead.company}"
    (mail,) = smtp_server.wait_for(1)
    # Without an alias the domain's first one sends.
    assert mail.mail_from == "christian@punthelder-seo.nl"
    assert "mail 2." in mail.message.get_body(("plain",)).get_content()  # type: ignore[union-attr]


@pytest.fixture
def setting(smtp_app: Flask, smtp_server: SmtpCapture) -> tuple[Template, Lead]:
    make_domain("punthelder-seo.nl", smtp_server.port)
    make_domain("punthelder-marketing.nl", 2525, smtp_host=None)
    paused = make_domain("punthelder-zoekmachine.nl", smtp_server.port)
    paused.paused, paused.paused_reason = True, "too many bounces"
    lead = make_lead()
    template = two_step_template()
    db.session.commit()
    return template, lead


@pytest.mark.parametrize(
    ("change", "field", "reason"),
    [
        ({"lead_id": "no-such-lead"}, "lead_id", "no lead with this id"),
        (
            {"lead_id": ""},
            "lead_id",
            "choose a lead: a test mail shows what one real lead receives",
        ),
        ({"mail_number": 3}, "mail_number", "the template has no mail 3"),
        ({"mail_number": "one"}, "mail_number", "the template has no mail one"),
        ({"domain": "nowhere.nl"}, "domain", "no sending domain with this name"),
        (
            {"domain": "punthelder-marketing.nl"},
            "domain",
            "this domain has no SMTP server set",
        ),
        ({"alias": "someone"}, "alias", "not an alias of this domain"),
        ({"domain": "punthelder-zoekmachine.nl"}, "domain", "this domain is paused"),
    ],
)
def test_bad_input_gets_422_naming_the_field_and_sends_nothing(
    setting: tuple[Template, Lead],
    smtp_server: SmtpCapture,
    api_client: Any,
    change: dict[str, Any],
    field: str,
    reason: str,
) -> None:
    template, lead = setting
    client, headers = api_client("marketer")
    body = {"lead_id": lead.id, "mail_number": 1, "domain": "punthelder-seo.nl"} | change
    response = client.post(f"/api/v1/templates/{template.id}/test-mail", json=body, headers=headers)
    assert response.status_code == 422
    assert response.json["error"]["fields"] == {field: reason}
    assert smtp_server.messages == []
    audited = sa.select(sa.func.count()).where(AuditEvent.action == "template.test_mail")
    assert db.session.scalar(audited) == 0


def test_a_step_the_sandbox_cannot_render_for_the_lead_gets_422_naming_why(
    setting: tuple[Template, Lead], smtp_server: SmtpCapture, api_client: Any
) -> None:
    template, lead = setting
    template.steps[0].body_text = "Beste {{ first_name }}, {{ company }}"
    template.steps[1].body_text = "{{ ''.__class__ }}"
    template.steps[1].body_html = ""
    db.session.commit()
    client, headers = api_client("marketer")
    url = f"/api/v1/templates/{template.id}/test-mail"
    body = {"lead_id": lead.id, "mail_number": 1, "domain": "punthelder-seo.nl"}
    missing = client.post(url, json=body, headers=headers)
    assert missing.status_code == 422
    assert missing.json["error"]["fields"] == {"first_name": "missing or empty for this lead"}
    unsafe = client.post(url, json=body | {"mail_number": 2}, headers=headers)
    assert unsafe.status_code == 422
    assert list(unsafe.json["error"]["fields"]) == ["template"]
    assert "not allowed" in unsafe.json["error"]["fields"]["template"]
    assert smtp_server.messages == []


def test_managers_may_not_send_test_mails(
    setting: tuple[Template, Lead], api_client: Any, login_as: Callable[[str], FlaskClient]
) -> None:
    template, lead = setting
    client, headers = api_client("manager")
    body = {"lead_id": lead.id, "mail_number": 1, "domain": "punthelder-seo.nl"}
    url = f"/api/v1/templates/{template.id}/test-mail"
    assert client.post(url, json=body, headers=headers).status_code == 403
    manager = login_as("manager")
    page = manager.get(f"/templates/{template.id}").text
    assert 'id="test-mail"' not in page


def test_with_the_outbox_backend_the_test_mail_lands_in_the_outbox(
    app: Flask, api_client: Any, tmp_path: Path
) -> None:
    app.config["OUTBOX_DIR"], previous = str(tmp_path), app.config["OUTBOX_DIR"]
    try:
        make_domain("punthelder-seo.nl", 2525, smtp_host=None)
        lead = make_lead()
        template = two_step_template()
        db.session.commit()
        client, headers = api_client("marketer")
        body = {"lead_id": lead.id, "mail_number": 1, "domain": "punthelder-seo.nl"}
        response = client.post(
            f"/api/v1/templates/{template.id}/test-mail", json=body, headers=headers
        )
        assert response.status_code == 200, response.json
        (written,) = tmp_path.glob("*.eml")
        raw = written.read_text()
        assert "X-Campaigns-Test: 1" in raw and "[TEST] Mail 1 voor" in raw
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Message)) == 0
    finally:
        app.config["OUTBOX_DIR"] = previous


def test_the_editor_sends_a_test_mail_and_shows_the_result_in_place(
    setting: tuple[Template, Lead],
    smtp_server: SmtpCapture,
    login_as: Callable[[str], FlaskClient],
) -> None:
    template, lead = setting
    client = login_as("marketer")
    page = client.get(f"/templates/{template.id}").text
    assert 'id="test-mail"' in page
    assert 'value="victor@punthelder-seo.nl"' in page
    form = {
        "csrf_token": client.csrf,  # type: ignore[attr-defined]
        "lead_id": lead.id,
        "preview_mail": "1",
        "sender": "victor@punthelder-seo.nl",
    }
    url = f"/templates/{template.id}/test-mail"
    sent = client.post(url, data=form, headers={"HX-Request": "true"})
    assert sent.status_code == 200
    email = client.user.email  # type: ignore[attr-defined]
    assert f"Sent to {email}: [TEST] Mail 1 voor {lead.company}" in sent.text
    (mail,) = smtp_server.wait_for(1)
    assert mail.rcpt_tos == [email]

    refused = client.post(url, data=form | {"lead_id": ""}, headers={"HX-Request": "true"})
    assert refused.status_code == 422
    assert "The test mail was not sent." in refused.text
    # The editor's stand-in values are no lead: it says to choose one.
    assert "Lead: choose a lead: a test mail shows what one real lead receives" in refused.text
    assert len(smtp_server.messages) == 1

    # The variant chosen for the preview goes with it; mail 1 has none to choose.
    no_variant = client.post(
        url, data=form | {"preview_variant": "B"}, headers={"HX-Request": "true"}
    )
    assert no_variant.status_code == 422
    assert "Variant: this mail has no variants" in no_variant.text
    template.steps[0].variants = [
        {"key": "A", "weight": 1},
        {"key": "B", "subject": "Idee voor {{ company }}", "weight": 1},
    ]
    db.session.commit()
    as_b = client.post(url, data=form | {"preview_variant": "B"}, headers={"HX-Request": "true"})
    assert f"Sent to {email}: [TEST] Idee voor {lead.company}" in as_b.text
    assert len(smtp_server.messages) == 2


def test_the_test_mail_reads_in_dutch(
    setting: tuple[Template, Lead],
    smtp_server: SmtpCapture,
    dutch: None,
    login_as: Callable[[str], FlaskClient],
) -> None:
    template, _lead = setting
    client = login_as("marketer")
    page = client.get(f"/templates/{template.id}").text
    assert "Testmail naar mezelf sturen" in page
    form = {
        "csrf_token": client.csrf,  # type: ignore[attr-defined]
        "lead_id": "",
        "preview_mail": "1",
        "sender": "christian@punthelder-seo.nl",
    }
    refused = client.post(
        f"/templates/{template.id}/test-mail", data=form, headers={"HX-Request": "true"}
    )
    assert "De testmail is niet verstuurd." in refused.text
    assert "Lead: kies een lead: een testmail toont wat één echte lead ontvangt" in refused.text
    for name in ("_test_mail.html", "_test_mail_result.html"):
        assert untranslated_in_template(ROOT / "templates" / "templates" / name) == []


def test_a_test_mail_the_server_refuses_is_a_422_on_the_domain_and_not_audited(
    setting: tuple[Template, Lead], smtp_server: SmtpCapture, api_client: Any
) -> None:
    template, lead = setting
    client, headers = api_client("marketer")
    me = client.get("/api/v1/me", headers=headers).json["email"]
    smtp_server.reject(me, 550, "5.1.1 User unknown")
    body = {"lead_id": lead.id, "mail_number": 1, "domain": "punthelder-seo.nl"}
    response = client.post(f"/api/v1/templates/{template.id}/test-mail", json=body, headers=headers)
    assert response.status_code == 422
    assert response.json["error"]["fields"] == {
        "domain": "the mail server did not take the test mail: 550 5.1.1 User unknown"
    }
    audited = sa.select(sa.func.count()).where(AuditEvent.action == "template.test_mail")
    assert db.session.scalar(audited) == 0
    # The lead is not touched by a refusal that was about the test address.
    stored = db.session.get(Lead, lead.id)
    assert stored is not None and stored.status == "active"


def test_a_test_mail_can_be_sent_as_one_of_the_steps_variants(
    setting: tuple[Template, Lead], smtp_server: SmtpCapture, api_client: Any
) -> None:
    template, lead = setting
    template.steps[0].variants = [
        {"key": "A", "subject": "Vraag over {{ company }}", "weight": 1},
        {"key": "B", "subject": "Idee voor {{ company }}", "body_text": "Een idee.", "weight": 1},
    ]
    db.session.commit()
    client, headers = api_client("marketer")
    url = f"/api/v1/templates/{template.id}/test-mail"
    body = {"lead_id": lead.id, "mail_number": 1, "domain": "punthelder-seo.nl"}

    as_b = client.post(url, json=body | {"variant": "B"}, headers=headers)
    assert as_b.status_code == 200, as_b.json
    assert as_b.json["subject"] == f"[TEST] Idee voor {lead.company}"
    (mail,) = smtp_server.wait_for(1)
    assert str(mail.message["Subject"]) == f"[TEST] Idee voor {lead.company}"
    assert mail.message.get_body(("plain",)).get_content().startswith("Een idee.")  # type: ignore[union-attr]
    # Without a variant the step's own texts go out, as before.
    own = client.post(url, json=body, headers=headers)
    assert own.json["subject"] == f"[TEST] Mail 1 voor {lead.company}"

    unknown = client.post(url, json=body | {"variant": "D"}, headers=headers)
    assert unknown.status_code == 422
    assert unknown.json["error"]["fields"] == {"variant": "one of A, B"}
    plain_step = client.post(url, json=body | {"mail_number": 2, "variant": "A"}, headers=headers)
    assert plain_step.status_code == 422
    assert plain_step.json["error"]["fields"] == {"variant": "this mail has no variants"}
    assert len(smtp_server.messages) == 2
    audited = db.session.scalars(
        sa.select(AuditEvent.details).where(AuditEvent.action == "template.test_mail")
    ).all()
    assert sorted(str(details.get("variant")) for details in audited) == ["B", "None"]
