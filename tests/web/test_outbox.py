"""The outbox page shows what the embedded default wrote, as a recipient would see it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.sending_support import make_domain, make_running_campaign
from tests.support.untranslated import ROOT, untranslated_in_template
from webapp.database import utcnow
from webapp.services.sending.dispatch import dispatch_once
from webapp.services.sending.send import send_claimed_message


@pytest.fixture
def outbox(app: Flask, tmp_path: Path) -> Iterator[Path]:
    previous = app.config["OUTBOX_DIR"]
    app.config["OUTBOX_DIR"] = str(tmp_path)
    yield tmp_path
    app.config["OUTBOX_DIR"] = previous


def test_a_sent_mail_appears_in_the_outbox_with_parts_and_headers(
    outbox: Path, login_as: Callable[[str], FlaskClient]
) -> None:
    _, leads, _messages = make_running_campaign([make_domain("punthelder-seo.nl", 1)], leads=1)
    ((message_id, token),) = dispatch_once(utcnow(), enqueue=False).claimed
    assert send_claimed_message(message_id, token) == "sent"

    client = login_as("manager")
    listing = client.get("/outbox/")
    assert listing.status_code == 200
    assert leads[0].email in listing.text
    assert f"/outbox/{message_id}" in listing.text
    page = client.get(f"/outbox/{message_id}")
    assert page.status_code == 200
    assert "List-Unsubscribe" in page.text
    assert f"Hallo {leads[0].company}, mail 1." in page.text
    assert 'sandbox title="The mail as HTML"' in page.text
    # Looking at it never tracks: no pixel in it, and the page loads no remote image.
    assert "/t/o/" not in page.text and "/t/c/" not in page.text
    assert "img-src data:;" in page.headers["Content-Security-Policy"]


@pytest.mark.parametrize("name", ["../secret_key", "nope", "0" * 31])
def test_outbox_names_that_are_not_message_ids_are_404(
    outbox: Path, login_as: Callable[[str], FlaskClient], name: str
) -> None:
    (outbox.parent / "secret_key.eml").write_text("From: x\n\nsecret")
    assert login_as("marketer").get(f"/outbox/{name}").status_code == 404


def test_the_outbox_reads_in_dutch(
    outbox: Path, dutch: None, login_as: Callable[[str], FlaskClient]
) -> None:
    client = login_as("manager")
    assert "Nog geen mail." in client.get("/outbox/").text

    make_running_campaign([make_domain("punthelder-seo.nl", 1)], leads=1)
    ((message_id, token),) = dispatch_once(utcnow(), enqueue=False).claimed
    assert send_claimed_message(message_id, token) == "sent"
    listing = client.get("/outbox/").text
    assert "Geschreven" in listing and "Onderwerp" in listing
    page = client.get(f"/outbox/{message_id}").text
    assert "Terug naar de outbox" in page and 'title="De mail als HTML"' in page
    assert "Getoond zonder openpixel" in page and "Tekst" in page

    templates = sorted(
        path for area in ("outbox",) for path in (ROOT / "templates" / area).glob("*.html")
    )
    assert [text for path in templates for text in untranslated_in_template(path)] == []
