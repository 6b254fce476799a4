"""A mail shown inside the dashboard never tracks: no open pixel, no tracked link
(docs/rules.md, decision 8)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.sending_support import make_domain, make_running_campaign
from webapp.database import utcnow
from webapp.extensions import db
from webapp.services import tracking
from webapp.services.sending import dispatch_once, read_outbox_mail, send_claimed_message
from webapp.services.tracking import links, tokens

MESSAGE_ID = "0190f0e0a1b2c3d4e5f60718293a4b5c"
LIVE = re.compile(r"/t/[oc]/")


@pytest.fixture
def outbox(app: Flask, tmp_path: Path) -> Iterator[Path]:
    previous = app.config["OUTBOX_DIR"]
    app.config["OUTBOX_DIR"] = str(tmp_path)
    yield tmp_path
    app.config["OUTBOX_DIR"] = previous


def test_a_sent_mail_read_back_for_the_outbox_page_has_no_tracking_url(outbox: Path) -> None:
    campaign, _leads, messages = make_running_campaign(
        [make_domain("punthelder-seo.nl", 1)], leads=1
    )
    campaign.template.steps[0].body_html = (
        '<html><body><p>Hallo {{ company }}, <a href="https://www.punthelder.nl/seo?a=1&amp;b=2">'
        "bekijk het rapport</a>.</p></body></html>"
    )
    db.session.commit()
    ((message_id, claim),) = dispatch_once(utcnow(), enqueue=False).claimed
    assert send_claimed_message(message_id, claim) == "sent"
    # What went out is tracked: the pixel and the tracked link are in the written mail.
    raw = (outbox / f"{messages[0].id}.eml").read_text()
    assert "/t/o/" in raw and "/t/c/" in raw

    mail = read_outbox_mail(str(outbox), messages[0].id)

    assert mail is not None
    assert LIVE.search(mail.html) is None and LIVE.search(mail.text) is None
    assert 'href="https://www.punthelder.nl/seo?a=1&amp;b=2"' in mail.html
    assert "<img" not in mail.html  # the pixel was the only image
    assert "bekijk het rapport" in mail.html and "/u/" in mail.html  # the rest is intact


def test_every_form_of_a_tracking_url_is_neutralised(app: Flask) -> None:
    pixel = links.open_pixel_url(MESSAGE_ID)
    open_token = tokens.open_token(MESSAGE_ID)
    click = links.click_url(MESSAGE_ID, "https://example.nl/a?b=1&c=2")
    forged = "http://campaigns.test/t/c/" + tokens.click_token(MESSAGE_ID, "https://x.nl/")[:-3]
    unsubscribe = links.unsubscribe_url(MESSAGE_ID)
    html = (
        f"<p><a href=\"{click}\">rapport</a> <a href='{forged}'>vals</a>"
        f' <a href="{unsubscribe}">afmelden</a></p>'
        '<img src="https://cdn.example.nl/logo.png" alt="logo">'
        # The pixel of an earlier base URL, a protocol-relative one, a bare path, one in
        # CSS, one written with character references.
        f'<img alt="" src="https://old-host.example/app/t/o/{open_token}.gif">'
        f'<IMG SRC="//campaigns.test/t/o/{open_token}.gif">'
        f'<img src="/t/o/{open_token}">'
        f"<td style=\"background:url('/t/o/{open_token}.gif')\">x</td>"
        f'<img src="https:&#47;&#47;campaigns.test&#47;t&#47;o&#47;{open_token}.gif">'
        f"{pixel}"
    )

    shown = tracking.untracked_html(html)

    assert LIVE.search(shown) is None
    assert '<a href="https://example.nl/a?b=1&amp;c=2">rapport</a>' in shown
    assert "<a href='about:blank'>vals</a>" in shown
    assert f'<a href="{unsubscribe}">afmelden</a>' in shown  # shows a page, records nothing
    assert '<img src="https://cdn.example.nl/logo.png" alt="logo">' in shown
    assert shown.lower().count("<img") == 1
    assert "url('about:blank')" in shown


def test_the_text_part_loses_its_tracking_urls_too(app: Flask) -> None:
    click = links.click_url(MESSAGE_ID, "https://example.nl/a?b=1&c=2")
    text = f"Bekijk {click} of {links.open_pixel_url(MESSAGE_ID)}."
    assert tracking.untracked_text(text) == "Bekijk https://example.nl/a?b=1&c=2 of about:blank."


def test_a_mail_without_tracking_is_left_exactly(app: Flask) -> None:
    html = '<p>Hallo <a href="https://www.punthelder.nl/t/">team</a> <img src="x.png"></p>'
    assert tracking.untracked_html(html) == html


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    html=st.lists(
        st.sampled_from(
            [
                "<img src=",
                "<img",
                ">",
                '"',
                "'",
                "/t/",
                "o/",
                "c/",
                "/",
                "t",
                "x.gif",
                "a",
                " ",
                "http:",
                "//h",
                "&#47;",
                "<a href=",
                "(",
                ")",
            ]
        ),
        max_size=40,
    ).map("".join)
)
def test_whatever_the_markup_no_tracking_url_survives(app: Flask, html: str) -> None:
    assert LIVE.search(tracking.untracked_html(html)) is None
    assert LIVE.search(tracking.untracked_text(html)) is None
