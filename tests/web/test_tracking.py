"""The public tracking routes: pixel, tracked links and unsubscribe, as email clients hit them."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from itsdangerous import URLSafeSerializer
from werkzeug.test import Client

from tests.conftest import new_app
from tests.factories import make_campaign, make_lead, make_message
from tests.support.services import free_port
from tests.support.untranslated import ROOT, untranslated_in_template
from webapp.extensions import db
from webapp.models import Lead, Message, MessageEvent, Suppression
from webapp.services.tracking import links as mail_links
from webapp.services.tracking import tokens
from webapp.services.tracking.buffer import DEFAULT_ATTEMPTS, flush_tracking_buffer
from webapp.web.tracking.pixel import PIXEL_GIF, OpenPixel

UNKNOWN_ID = "f" * 32
CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0"


@pytest.fixture
def message(app: Flask) -> Message:
    """A mail sent an hour ago, with a queued follow-up; committed so requests see it."""
    lead = make_lead()
    campaign = make_campaign(status="running")
    sent = make_message(
        campaign, lead, status="sent", sent_at=datetime.now(UTC) - timedelta(hours=1)
    )
    make_message(campaign, lead, mail_number=2, parent_message_id=sent.id)
    db.session.commit()
    return sent


def _count(event_type: str | None = None) -> int:
    flush_tracking_buffer()  # whatever the requests queued is written first
    query = sa.select(sa.func.count()).select_from(MessageEvent)
    if event_type:
        query = query.where(MessageEvent.event_type == event_type)
    return int(db.session.scalar(query) or 0)


def _state() -> tuple[Any, ...]:
    """Everything an unsubscribe could change."""
    flush_tracking_buffer()
    db.session.expire_all()
    return (
        _count(),
        db.session.scalar(sa.select(sa.func.count()).select_from(Suppression)),
        tuple(db.session.scalars(sa.select(Lead.status).order_by(Lead.id))),
        tuple(db.session.scalars(sa.select(Message.status).order_by(Message.id))),
    )


def _path(url: str) -> str:
    return url.removeprefix("http://campaigns.test")


def _forged(purpose: str, payload: Any, secret: str = "some-other-secret") -> str:
    return URLSafeSerializer(secret, salt=purpose).dumps(payload)


def _bad_tokens(purpose: str, message_id: str) -> dict[str, str]:
    """Tokens every route must refuse: tampered, expired secret, wrong purpose, garbage."""
    good = {
        "open": tokens.open_token(message_id),
        "click": tokens.click_token(message_id, "https://example.nl/"),
        "unsubscribe": tokens.unsubscribe_token(message_id),
    }
    wrong = "open" if purpose != "open" else "unsubscribe"
    payload: Any = [message_id, "https://example.nl/"] if purpose == "click" else message_id
    token = good[purpose]
    return {
        "tampered": token[:-2] + ("AA" if not token.endswith("AA") else "BB"),
        "expired_secret": _forged(purpose, payload, "the-secret-before-rotation"),
        "wrong_purpose": good[wrong],
        "bare_id": message_id,
        "garbage": "%00%ff<script>..",
        "huge": "A" * 50_000,
        "unicode": "\u00f0\u0178\u00a4\u2013\u00ff.\u03a9\u0000",
    }


def assert_no_cookies(response: Any) -> None:
    assert "Set-Cookie" not in response.headers
    assert "Cookie" not in response.headers.get("Vary", "")


# -- open pixel ---------------------------------------------------------------------------


def assert_pixel(response: Any) -> None:
    assert response.status_code == 200
    assert response.mimetype == "image/gif"
    assert response.data == PIXEL_GIF
    assert response.headers["Cache-Control"] == "no-store"
    assert_no_cookies(response)


def test_the_pixel_is_a_transparent_one_by_one_gif() -> None:
    assert PIXEL_GIF[:6] == b"GIF89a"
    assert PIXEL_GIF[6:10] == b"\x01\x00\x01\x00"  # width 1, height 1
    control = PIXEL_GIF.index(b"\x21\xf9\x04")  # graphic control extension
    assert PIXEL_GIF[control + 3] & 0x01  # transparency flag
    assert PIXEL_GIF.endswith(b";") and len(PIXEL_GIF) == 43


def test_a_valid_pixel_records_an_open(client: FlaskClient, message: Message) -> None:
    response = client.get(
        _path(mail_links.open_pixel_url(message.id)), headers={"User-Agent": CHROME}
    )
    assert_pixel(response)
    flush_tracking_buffer()
    db.session.expire_all()
    assert message.status == "opened" and message.open_at is not None
    event = db.session.scalars(sa.select(MessageEvent)).one()
    assert event.event_type == "opened"
    assert event.meta == {"machine": False}
    assert (event.user_agent, event.ip_address) == (CHROME, "127.0.0.0/24")


@pytest.mark.parametrize(
    "kind", ["tampered", "expired_secret", "wrong_purpose", "bare_id", "garbage", "huge", "unicode"]
)
def test_a_bad_pixel_token_still_gets_the_gif_and_records_nothing(
    client: FlaskClient, message: Message, kind: str
) -> None:
    token = _bad_tokens("open", message.id)[kind]
    assert_pixel(client.get(f"/t/o/{token}.gif"))
    assert_pixel(client.get(f"/t/o/{token}"))
    assert _count() == 0


@pytest.mark.parametrize("path", ["/t/o/", "/t/o/.gif", "/t/o/a/b/c.gif", "/t/o/%ff%fe.gif"])
def test_any_pixel_url_gets_the_gif(client: FlaskClient, path: str) -> None:
    assert_pixel(client.get(path))


def test_a_pixel_for_a_message_that_is_gone_gets_the_gif(client: FlaskClient, app: Flask) -> None:
    assert_pixel(client.get(_path(mail_links.open_pixel_url(UNKNOWN_ID))))
    assert _count() == 0


def test_a_head_request_gets_the_gif_headers_and_records_nothing(
    client: FlaskClient, message: Message
) -> None:
    response = client.head(_path(mail_links.open_pixel_url(message.id)))
    assert response.status_code == 200 and response.mimetype == "image/gif"
    assert _count() == 0


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_flasks_own_pixel_route_answers_as_the_middleware_in_front_of_it_does(
    app: Flask, message: Message, method: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`OpenPixel` answers the pixel before Flask routes it; the route behind it (reached by
    an app without the middleware) gives the same answer and records the same open."""
    monkeypatch.setitem(app.config, "OPEN_REPEAT_SECONDS", 0)  # the second is no repeat
    assert isinstance(app.wsgi_app, OpenPixel)
    path = _path(mail_links.open_pixel_url(message.id))
    answers = [
        Client(wsgi).open(path, method=method, headers={"User-Agent": CHROME})
        for wsgi in (app, app.wsgi_app.wsgi_app)
    ]
    front, route = answers
    assert (front.status, front.get_data()) == (route.status, route.get_data())
    assert sorted(front.headers.items()) == sorted(route.headers.items())
    if method == "GET":
        assert_pixel(front)
    flush_tracking_buffer()
    assert _count("opened") == (2 if method == "GET" else 0)


def test_a_machine_open_through_the_pixel_is_flagged(client: FlaskClient, message: Message) -> None:
    client.get(
        _path(mail_links.open_pixel_url(message.id)),
        headers={"User-Agent": "Mozilla/5.0 (via ggpht.com GoogleImageProxy)"},
    )
    flush_tracking_buffer()
    event = db.session.scalars(sa.select(MessageEvent)).one()
    assert event.meta == {"machine": True, "reason": "google_image_proxy"}


def test_the_client_ip_is_taken_through_trusted_proxies_only(
    app: Flask, client: FlaskClient, message: Message, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "OPEN_REPEAT_SECONDS", 0)  # the second is no repeat
    url = _path(mail_links.open_pixel_url(message.id))
    forged = {"X-Forwarded-For": "17.1.1.1, 198.51.100.77", "User-Agent": CHROME}
    client.get(url, headers=forged)  # no trusted proxies: the header is ignored
    app.config["TRUSTED_PROXIES"] = 1
    try:
        client.get(url, headers=forged)
    finally:
        app.config["TRUSTED_PROXIES"] = 0
    flush_tracking_buffer()
    first, second = db.session.scalars(
        sa.select(MessageEvent).order_by(MessageEvent.created_at, MessageEvent.id)
    )
    assert first.ip_address == "127.0.0.0/24"
    # One proxy appended the address it saw; the forged Apple address left of it is ignored.
    assert second.ip_address == "198.51.100.0/24"
    assert second.meta == {"machine": False}


def test_huge_headers_still_get_the_gif(client: FlaskClient, message: Message) -> None:
    response = client.get(
        _path(mail_links.open_pixel_url(message.id)),
        headers={"User-Agent": "U" * 60_000, "X-Forwarded-For": "1," * 30_000},
    )
    assert_pixel(response)
    flush_tracking_buffer()
    assert len(db.session.scalars(sa.select(MessageEvent.user_agent)).one() or "") == 512


@pytest.fixture
def database_down() -> Iterator[Flask]:
    """The app pointed at a port where no database listens."""
    down = new_app(f"postgresql://postgres@127.0.0.1:{free_port()}/campaigns_test_gone")
    yield down
    with down.app_context():
        db.engine.dispose()


def test_the_pixel_answers_with_the_gif_when_the_database_is_down(
    database_down: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    with database_down.app_context():
        url = _path(mail_links.open_pixel_url("0" * 32))
    with caplog.at_level(logging.ERROR):
        response = database_down.test_client().get(url)
        # The open was queued; every attempt to write it fails, and the loss is logged.
        for _ in range(DEFAULT_ATTEMPTS):
            flush_tracking_buffer(database_down)
    assert_pixel(response)
    assert "1 open(s) and 0 click(s) not recorded" in caplog.text


def test_a_click_still_redirects_when_the_database_is_down(database_down: Flask) -> None:
    with database_down.app_context():
        url = _path(mail_links.click_url("0" * 32, "https://example.nl/x"))
    response = database_down.test_client().get(url)
    assert response.status_code == 302
    assert response.location == "https://example.nl/x"
    for _ in range(DEFAULT_ATTEMPTS):  # the queued click is given up, not left behind
        flush_tracking_buffer(database_down)


def test_an_unsubscribe_when_the_database_is_down_is_a_plain_error_page(
    database_down: Flask,
) -> None:
    with database_down.app_context():
        url = _path(mail_links.unsubscribe_url("0" * 32))
    response = database_down.test_client().post(url, data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 500
    assert "Something went wrong" in response.text
    assert_no_cookies(response)


# -- tracked links ------------------------------------------------------------------------


def test_a_click_redirects_to_its_own_link_and_records_it(
    client: FlaskClient, message: Message
) -> None:
    html = mail_links.rewrite_links(
        '<a href="https://example.nl/a">a</a> <a href="https://other.example/b?x=1&amp;y=2">b</a>',
        message.id,
    )
    urls = [part.split('"', 1)[0] for part in html.split('href="')[1:]]
    first = client.get(_path(urls[0]), headers={"User-Agent": CHROME})
    second = client.get(_path(urls[1]), headers={"User-Agent": CHROME})

    assert (first.status_code, first.location) == (302, "https://example.nl/a")
    assert (second.status_code, second.location) == (302, "https://other.example/b?x=1&y=2")
    assert_no_cookies(first)
    flush_tracking_buffer()
    clicks = db.session.scalars(
        sa.select(MessageEvent.meta).where(MessageEvent.event_type == "clicked")
    ).all()
    assert sorted(meta["url"] for meta in clicks) == [
        "https://example.nl/a",
        "https://other.example/b?x=1&y=2",
    ]
    assert all(meta["machine"] is False for meta in clicks)


def test_a_click_token_never_redirects_to_another_link(
    client: FlaskClient, message: Message
) -> None:
    token = tokens.click_token(message.id, "https://example.nl/a")
    payload, signature = token.rsplit(".", 1)
    other = tokens.click_token(message.id, "https://evil.example/")
    # The signature of one link on the payload of another, and the reverse.
    for forged in (other.rsplit(".", 1)[0] + "." + signature, payload + "." + other[-27:]):
        response = client.get(f"/t/c/{forged}")
        assert response.status_code == 404
        assert "Location" not in response.headers
    assert _count() == 0


@pytest.mark.parametrize(
    "kind", ["tampered", "expired_secret", "wrong_purpose", "bare_id", "garbage", "huge", "unicode"]
)
def test_a_bad_click_token_gets_a_plain_404_and_never_a_redirect(
    client: FlaskClient, message: Message, kind: str
) -> None:
    response = client.get(f"/t/c/{_bad_tokens('click', message.id)[kind]}")
    assert response.status_code == 404
    assert "Location" not in response.headers
    assert "Link not found" in response.text
    assert "<nav" not in response.text and "csrf" not in response.text
    assert_no_cookies(response)
    assert _count() == 0


# -- unsubscribe --------------------------------------------------------------------------


def test_the_unsubscribe_page_has_one_button_and_changes_nothing(
    client: FlaskClient, message: Message
) -> None:
    before = _state()
    response = client.get(_path(mail_links.unsubscribe_url(message.id)))
    assert response.status_code == 200
    assert_no_cookies(response)
    page = response.text
    assert "<h1>Unsubscribe</h1>" in page and "Afmelden" not in page  # the browser asks English
    assert page.count("<button") == 1 and page.count("<form") == 1
    assert 'method="post"' in page and "action=" not in page  # posts to the same URL
    assert "<script" not in page and "csrf" not in page and "<nav" not in page
    assert message.lead_id not in page
    assert _state() == before
    client.head(_path(mail_links.unsubscribe_url(message.id)))
    assert _state() == before


def test_the_one_click_post_without_cookies_unsubscribes_once(app: Flask, message: Message) -> None:
    url = _path(mail_links.unsubscribe_url(message.id))
    one_click = {"data": "List-Unsubscribe=One-Click"}
    headers = {"Content-Type": "application/x-www-form-urlencoded"}

    first = app.test_client(use_cookies=False).post(url, headers=headers, **one_click)
    after_first = _state()
    second = app.test_client(use_cookies=False).post(url, headers=headers, **one_click)

    assert first.status_code == second.status_code == 200
    assert first.text == second.text and "You have been unsubscribed" in first.text
    assert_no_cookies(first)
    assert _state() == after_first
    lead = db.session.get(Lead, message.lead_id)
    assert lead is not None and lead.status == "suppressed"
    suppression = db.session.scalars(sa.select(Suppression)).one()
    assert (suppression.email, suppression.reason) == (lead.email, "unsubscribed")
    statuses = db.session.scalars(sa.select(Message.status).order_by(Message.mail_number)).all()
    assert statuses == ["sent", "canceled"]
    assert _count("unsubscribed") == 1


def test_the_button_unsubscribes_and_the_page_then_says_so(
    client: FlaskClient, message: Message
) -> None:
    url = _path(mail_links.unsubscribe_url(message.id))
    response = client.post(url, data={"unsubscribe": "yes"})
    assert response.status_code == 200 and "You have been unsubscribed" in response.text
    again = client.get(url)
    assert "You have been unsubscribed" in again.text and "<button" not in again.text


def test_a_recipient_reads_dutch_unless_their_browser_asks_for_english(
    app: Flask, dutch: None, message: Message
) -> None:
    url = _path(mail_links.unsubscribe_url(message.id))
    plain = app.test_client()
    plain.environ_base.pop("HTTP_ACCEPT_LANGUAGE", None)
    page = plain.get(url)
    assert '<html lang="nl">' in page.text and "<h1>Afmelden</h1>" in page.text
    assert "Wil je geen e-mails meer van ons ontvangen?" in page.text
    assert "Unsubscribe" not in page.text
    assert "Accept-Language" in page.headers["Vary"]
    assert_no_cookies(page)

    english = app.test_client()
    english.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en-GB,en;q=0.9"
    page = english.get(url)
    assert '<html lang="en">' in page.text and "<h1>Unsubscribe</h1>" in page.text
    assert "Afmelden" not in page.text

    done = plain.post(url, data={"unsubscribe": "yes"})
    assert "Je bent afgemeld" in done.text and "Je ontvangt geen e-mails meer van ons." in done.text
    missing = plain.get("/u/not-a-token")
    assert missing.status_code == 404 and "Link niet gevonden" in missing.text
    assert "Deze link is niet (meer) geldig." in missing.text


def test_the_recipient_pages_have_no_text_outside_the_catalog() -> None:
    pages = sorted(str(path) for path in (ROOT / "templates" / "tracking").glob("*.html"))
    assert [text for page in pages for text in untranslated_in_template(Path(page))] == []


def test_a_multipart_one_click_post_works_too(client: FlaskClient, message: Message) -> None:
    url = _path(mail_links.unsubscribe_url(message.id))
    response = client.post(
        url, data={"List-Unsubscribe": "One-Click"}, content_type="multipart/form-data"
    )
    assert response.status_code == 200
    assert _count("unsubscribed") == 1


@pytest.mark.parametrize(
    "kind", ["tampered", "expired_secret", "wrong_purpose", "bare_id", "garbage", "huge", "unicode"]
)
def test_a_bad_unsubscribe_token_gets_404_and_changes_nothing(
    client: FlaskClient, message: Message, kind: str
) -> None:
    before = _state()
    token = _bad_tokens("unsubscribe", message.id)[kind]
    for response in (client.get(f"/u/{token}"), client.post(f"/u/{token}", data="x=1")):
        assert response.status_code == 404
        assert_no_cookies(response)
    assert _state() == before


def test_a_large_body_is_refused_before_it_is_read(client: FlaskClient, message: Message) -> None:
    before = _state()
    url = _path(mail_links.unsubscribe_url(message.id))
    response = client.post(url, data=b"List-Unsubscribe=One-Click&" + b"x" * 100_000)
    assert response.status_code == 413
    assert len(response.data) < 2048
    assert_no_cookies(response)
    assert _state() == before


# -- no session, no cookies, no CSRF, no login --------------------------------------------


def test_tracking_routes_ignore_a_logged_in_session_and_set_no_cookie(
    login_as: Any, message: Message
) -> None:
    client = login_as("admin")
    requests = [
        ("GET", _path(mail_links.open_pixel_url(message.id))),
        ("GET", _path(mail_links.click_url(message.id, "https://example.nl/"))),
        ("GET", "/t/c/nonsense"),
        ("GET", _path(mail_links.unsubscribe_url(message.id))),
        ("POST", "/t/o/x.gif"),
        ("PUT", _path(mail_links.unsubscribe_url(message.id))),
        ("GET", "/t/nothing/here"),
        ("GET", "/u/"),
        ("OPTIONS", _path(mail_links.unsubscribe_url(message.id))),
        ("POST", _path(mail_links.unsubscribe_url(message.id))),
    ]
    for method, url in requests:
        response = client.open(url, method=method)
        assert response.status_code < 500, (method, url)
        assert_no_cookies(response)
        assert b"csrf" not in response.data
    # The unsubscribe POST carried no CSRF token and still worked.
    assert _count("unsubscribed") == 1
    # And the dashboard session itself was not touched.
    assert client.get("/").status_code == 200


def test_wrong_methods_get_405_with_the_allowed_ones(client: FlaskClient, message: Message) -> None:
    response = client.put(_path(mail_links.unsubscribe_url(message.id)))
    assert response.status_code == 405
    assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD", "POST", "OPTIONS"}
    assert client.delete("/t/c/abc").status_code == 405


@pytest.mark.parametrize("buffered", [True, False])
def test_replaying_one_pixel_token_writes_one_open_and_keeps_the_first_open_time(
    database_url: str, message: Message, buffered: bool
) -> None:
    app = new_app(database_url, TRACKING_BUFFER=buffered)
    client = app.test_client()
    url = _path(mail_links.open_pixel_url(message.id))
    answers = [client.get(url, headers={"User-Agent": CHROME}) for _ in range(1000)]
    assert all(a.status_code == 200 and a.data == PIXEL_GIF for a in answers)
    with app.app_context():
        flush_tracking_buffer()
        assert _count("opened") == 1
        opened = db.session.get(Message, message.id)
        assert opened is not None and opened.status == "opened"
        first = db.session.scalars(sa.select(MessageEvent.created_at)).one()
        assert opened.open_at == first
        db.session.remove()
        db.engine.dispose()
