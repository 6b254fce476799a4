"""Tracking on the sender's own domain: a mail from a domain with a tracking host carries its
pixel, links and unsubscribe URLs on that host, and on that host the app is those URLs only.

The mails are sent through the real send path to a real SMTP server (aiosmtpd); the URLs
they carry are then requested as an email client would, with that Host.
"""

from __future__ import annotations

import logging
import re
import socket
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from tests.sending_support import make_domain, make_running_campaign
from tests.support.services import SmtpCapture
from tests.web.test_tracking import CHROME, assert_no_cookies
from webapp.database import utcnow
from webapp.extensions import db
from webapp.models import Lead, Message, MessageEvent, SendingDomain, Suppression
from webapp.services import tracking
from webapp.services.domains import update_domain
from webapp.services.sending import dispatch_once, send_claimed_message
from webapp.services.tracking import links
from webapp.services.tracking.buffer import flush_tracking_buffer
from webapp.web.tracking.pixel import PIXEL_GIF

OWN = "punthelder-seo.nl"
OWN_HOST = "t.punthelder-seo.nl"
PLAIN = "punthelder-marketing.nl"  # no tracking host: PUBLIC_BASE_URL
OTHER = "punthelder-zoekmachine.nl"
OTHER_HOST = "t.punthelder-zoekmachine.nl"
LINK = "https://www.punthelder.nl/seo?a=1&b=2"
BODY = (
    f'<html><body><p>Hallo {{{{ company }}}}, <a href="{LINK}">het rapport</a>.</p></body></html>'
)
URL = re.compile(r"""https?://[^\s"'<>]+""")


@pytest.fixture
def hosts(app: Flask) -> Iterator[None]:
    """Every process forgets the tracking hosts of the test before."""
    tracking.forget_tracking_hosts()
    yield
    tracking.forget_tracking_hosts()


@pytest.fixture
def sent(app: Flask, smtp_server: SmtpCapture, hosts: None) -> Iterator[dict[str, EmailMessage]]:
    """One mail from each of three domains, two with a tracking host; keyed by domain."""
    app.config["MAIL_BACKEND"] = "smtp"
    try:
        domains = [
            make_domain(OWN, smtp_server.port, tracking_host=OWN_HOST),
            make_domain(PLAIN, smtp_server.port),
            make_domain(OTHER, smtp_server.port, tracking_host=OTHER_HOST),
        ]
        campaign, _leads, messages = make_running_campaign(domains, leads=3)
        campaign.template.steps[0].body_html = BODY
        db.session.commit()
        for _ in messages:  # one claim per domain and round
            for message_id, claim in dispatch_once(utcnow(), enqueue=False).claimed:
                assert send_claimed_message(message_id, claim) == "sent"
            db.session.execute(sa.update(SendingDomain).values(last_sent_at=None))
            db.session.commit()
        received = smtp_server.wait_for(3)
    finally:
        app.config["MAIL_BACKEND"] = "outbox"
    by_id = {mail.message["X-Campaign-Message-ID"]: mail.message for mail in received}
    yield {message.domain_used: by_id[message.id] for message in messages}


def urls(mail: EmailMessage) -> dict[str, str]:
    """The pixel, the tracked link and the unsubscribe URLs of a mail, by what they are."""
    html = mail.get_body(("html",)).get_content()
    text = mail.get_body(("plain",)).get_content()
    header = str(mail["List-Unsubscribe"])
    found = {
        "pixel": next(u for u in URL.findall(html) if "/t/o/" in u),
        "click": next(u for u in URL.findall(html) if "/t/c/" in u),
        "unsubscribe_html": next(u for u in URL.findall(html) if "/u/" in u),
        "unsubscribe_text": next(u for u in URL.findall(text) if "/u/" in u),
        "list_unsubscribe": re.search(r"<(https?://[^>]+)>", header).group(1),  # type: ignore[union-attr]
    }
    return {name: url.rstrip(".") for name, url in found.items()}


class On:
    """A test client whose requests carry `Host: <host>`, as a mail client's would."""

    def __init__(self, client: FlaskClient, host: str) -> None:
        self.client, self.base_url = client, f"http://{host}"

    def open(self, url: str, **kwargs: Any) -> Any:
        return self.client.open(url, base_url=self.base_url, **kwargs)

    def get(self, url: str, **kwargs: Any) -> Any:
        return self.open(url, method="GET", **kwargs)

    def post(self, url: str, **kwargs: Any) -> Any:
        return self.open(url, method="POST", **kwargs)


def on(app: Flask, host: str) -> On:
    return On(app.test_client(), host)


def path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def message_of(mail: EmailMessage) -> Message:
    message = db.session.get(Message, mail["X-Campaign-Message-ID"])
    assert message is not None
    return message


def events(message: Message, kind: str) -> int:
    flush_tracking_buffer()
    return int(
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(MessageEvent)
            .where(MessageEvent.message_id == message.id, MessageEvent.event_type == kind)
        )
        or 0
    )


# -- what the mails carry -----------------------------------------------------------------


def test_a_domain_with_a_tracking_host_tracks_on_it_and_one_without_on_the_public_url(
    sent: dict[str, EmailMessage],
) -> None:
    own, plain = urls(sent[OWN]), urls(sent[PLAIN])
    for name, url in own.items():
        assert url.startswith(f"http://{OWN_HOST}/"), (name, url)  # PUBLIC_BASE_URL's scheme
    for name, url in plain.items():
        assert url.startswith("http://campaigns.test/"), (name, url)
    assert own["unsubscribe_html"] == own["unsubscribe_text"] == own["list_unsubscribe"]
    assert sent[OWN]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # The mailto form stays on the sending domain, and the inbox can still read it back.
    mailto = re.search(r"<mailto:([^>]+)>", str(sent[OWN]["List-Unsubscribe"]))
    assert mailto is not None and mailto.group(1).startswith(f"unsubscribe@{OWN}?")
    subject = mailto.group(1).split("subject=", 1)[1]
    assert tracking.message_id_from_unsubscribe_subject(subject) == message_of(sent[OWN]).id


def test_the_outbox_view_of_a_tracking_host_link_points_at_its_destination(app: Flask) -> None:
    html = f'<a href="{links.click_url("0" * 32, LINK, OWN_HOST)}">x</a>'
    assert tracking.untracked_html(html) == f'<a href="{LINK.replace("&", "&amp;")}">x</a>'
    assert tracking.untracked_text(links.click_url("0" * 32, LINK, OWN_HOST)) == LINK


# -- the tracking URLs answer on their host ------------------------------------------------


def test_the_pixel_on_the_tracking_host_records_the_open(
    app: Flask, sent: dict[str, EmailMessage]
) -> None:
    message = message_of(sent[OWN])
    response = on(app, OWN_HOST).get(path(urls(sent[OWN])["pixel"]), headers={"User-Agent": CHROME})
    assert (response.status_code, response.data) == (200, PIXEL_GIF)
    assert_no_cookies(response)
    assert events(message, "opened") == 1


def test_a_click_on_the_tracking_host_redirects_and_is_recorded(
    app: Flask, sent: dict[str, EmailMessage]
) -> None:
    message = message_of(sent[OWN])
    response = on(app, OWN_HOST).get(path(urls(sent[OWN])["click"]), headers={"User-Agent": CHROME})
    assert (response.status_code, response.location) == (302, LINK)
    assert_no_cookies(response)
    assert events(message, "clicked") == 1


def test_the_unsubscribe_page_and_its_button_work_on_the_tracking_host(
    app: Flask, sent: dict[str, EmailMessage]
) -> None:
    message = message_of(sent[OWN])
    client = on(app, OWN_HOST)
    url = path(urls(sent[OWN])["unsubscribe_html"])
    page = client.get(url)
    assert page.status_code == 200 and 'id="unsubscribe-button"' in page.text
    assert_no_cookies(page)
    # The page's style sheet is served on this host too; its form posts back to it.
    stylesheet = re.search(r'href="(/static/public\.css[^"]*)"', page.text)
    assert stylesheet is not None
    css = client.get(stylesheet.group(1))
    assert css.status_code == 200 and css.mimetype == "text/css"
    assert_no_cookies(css)
    assert '<form method="post">' in page.text and "csrf" not in page.text

    done = client.post(url, data={"unsubscribe": "yes"})
    assert done.status_code == 200 and 'id="unsubscribe-done"' in done.text
    assert_no_cookies(done)
    lead = db.session.get(Lead, message.lead_id)
    assert lead is not None and lead.status == "suppressed"
    assert db.session.scalar(sa.select(Suppression.email)) == lead.email
    assert events(message, "unsubscribed") == 1


def test_the_one_click_post_of_the_header_works_on_the_tracking_host(
    app: Flask, sent: dict[str, EmailMessage]
) -> None:
    message = message_of(sent[OWN])
    target = urls(sent[OWN])["list_unsubscribe"]
    response = on(app, urlsplit(target).netloc).post(
        path(target), data={"List-Unsubscribe": "One-Click"}
    )
    assert response.status_code == 200
    assert_no_cookies(response)
    assert events(message, "unsubscribed") == 1


# -- nothing else answers there ------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("GET", "/"),
        ("GET", "/login"),
        ("POST", "/login"),
        ("GET", "/login/two-factor"),
        ("GET", "/campaigns/"),
        ("GET", "/leads/"),
        ("GET", "/api/v1/campaigns"),
        ("GET", "/api/v1/domains"),
        ("GET", "/healthz"),
        ("GET", "/static/app.js"),
        ("GET", "/static/app.css"),
        ("GET", "/static/vendor/htmx-2.0.11.min.js"),
        ("GET", "/no/such/page"),
    ],
)
def test_every_other_url_on_a_tracking_host_is_a_plain_404_without_a_cookie(
    app: Flask, hosts: None, method: str, url: str
) -> None:
    make_domain(OWN, 25, tracking_host=OWN_HOST)
    db.session.commit()
    response = on(app, OWN_HOST).open(url, method=method, data={"email": "a@b.nl"})
    assert response.status_code == 404
    assert response.location is None
    assert_no_cookies(response)
    assert "Link not found" in response.text
    assert "password" not in response.text.lower() and "csrf" not in response.text
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


def test_the_same_urls_on_the_dashboard_host_still_answer(app: Flask, hosts: None) -> None:
    make_domain(OWN, 25, tracking_host=OWN_HOST)
    db.session.commit()
    client = app.test_client()
    assert client.get("/login").status_code == 200
    assert client.get("/static/app.js").status_code == 200
    assert client.get("/campaigns/").status_code == 302  # to the login


def test_a_tracking_host_set_through_the_api_is_answered_at_once(
    app: Flask, hosts: None, api_client: Any
) -> None:
    make_domain(OWN, 25)
    db.session.commit()
    assert on(app, OWN_HOST).get("/login").status_code == 200  # any name reaches the app
    client, headers = api_client("admin")
    response = client.patch(
        f"/api/v1/domains/{OWN}", headers=headers, json={"tracking_host": OWN_HOST}
    )
    assert response.status_code == 200, response.json
    assert on(app, OWN_HOST).get("/login").status_code == 404


# -- whose mail a tracking host answers for ------------------------------------------------


def test_a_tracking_host_answers_only_for_the_mail_that_named_it(
    app: Flask, sent: dict[str, EmailMessage]
) -> None:
    """Mail of another domain, with its own host or without one, gets 404 on this host for
    links and unsubscribe, and the pixel's GIF without an open; and this host's tokens get
    the same on the dashboard's address."""
    foreign = [(sent[OTHER], OTHER_HOST), (sent[PLAIN], "campaigns.test")]
    for mail, home in foreign:
        found = urls(mail)
        message = message_of(mail)
        client = on(app, OWN_HOST)
        pixel = client.get(path(found["pixel"]), headers={"User-Agent": CHROME})
        assert (pixel.status_code, pixel.data) == (200, PIXEL_GIF)
        assert client.get(path(found["click"])).status_code == 404
        assert client.get(path(found["unsubscribe_html"])).status_code == 404
        assert client.post(path(found["list_unsubscribe"]), data={}).status_code == 404
        assert (events(message, "opened"), events(message, "clicked")) == (0, 0)
        assert events(message, "unsubscribed") == 0
        # At home the same URLs work.
        assert on(app, home).get(path(found["click"])).status_code == 302
        assert events(message, "clicked") == 1

    own = urls(sent[OWN])
    dashboard = app.test_client()
    assert dashboard.get(path(own["click"])).status_code == 404
    assert dashboard.get(path(own["unsubscribe_html"])).status_code == 404
    dashboard.get(path(own["pixel"]), headers={"User-Agent": CHROME})
    assert events(message_of(sent[OWN]), "opened") == 0


def test_a_tracking_host_given_up_still_answers_for_the_mail_that_named_it(
    app: Flask, sent: dict[str, EmailMessage]
) -> None:
    """Mail already out keeps working while the old name still points here."""
    domain = db.session.scalar(sa.select(SendingDomain).where(SendingDomain.name == OWN))
    assert domain is not None
    update_domain(domain, {"tracking_host": f"links.{OWN}"})
    db.session.commit()
    message = message_of(sent[OWN])
    response = on(app, OWN_HOST).get(path(urls(sent[OWN])["click"]))
    assert (response.status_code, response.location) == (302, LINK)
    assert events(message, "clicked") == 1


def test_the_404_on_a_tracking_host_speaks_the_readers_language(
    app: Flask, hosts: None, dutch: None
) -> None:
    make_domain(OWN, 25, tracking_host=OWN_HOST)
    db.session.commit()
    client = app.test_client()
    client.environ_base.pop("HTTP_ACCEPT_LANGUAGE", None)
    page = On(client, OWN_HOST).get("/login")
    assert page.status_code == 404 and '<html lang="nl">' in page.text
    assert "Link niet gevonden" in page.text and "Log in" not in page.text
    assert_no_cookies(page)


# -- a Host header that names no host ------------------------------------------------------

# Host headers Werkzeug reads as no host at all. Those that normalise to the tracking host
# (space, port, user info, brackets, dots stripped) are tracking-host requests all the same.
MALFORMED_HOSTS = [
    f"{OWN_HOST}:",  # an empty port
    f"{OWN_HOST}:99999",
    f"{OWN_HOST}:abc",
    f"{OWN_HOST} ",
    f"user@{OWN_HOST}",
    f"[{OWN_HOST}]",
    f"{OWN_HOST},{OWN_HOST}",  # two Host headers, as a WSGI server joins them
    f"{OWN_HOST}..",
    "campaigns..test",
    "campaigns.test:",
    "campaigns.test:0",
    "-campaigns.test",
    f"{'a' * 64}.nl",  # a label longer than DNS allows
    "[::1",
    "[fe80::1%eth0]",
    "",
]


def assert_bad_host(response: Any) -> None:
    """The plain 400 of a Host that names no host: no page, no session, no cookie."""
    assert response.status_code == 400, response.text
    assert response.mimetype == "text/plain"
    assert "Host" in response.text
    assert "<" not in response.text  # no template: nothing needed building a URL
    assert_no_cookies(response)
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


@pytest.mark.parametrize("host", MALFORMED_HOSTS)
@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("GET", "/login"),
        ("POST", "/login"),
        ("GET", "/"),
        ("GET", "/api/v1/campaigns"),
        ("GET", "/healthz"),
        ("GET", "/static/app.css"),
        ("GET", "/no/such/page"),
        ("GET", "/u/not-a-token"),
        ("POST", "/u/not-a-token"),
        ("GET", "/t/c/not-a-token"),
    ],
)
def test_a_host_header_that_names_no_host_is_a_plain_400_without_a_session(
    app: Flask, hosts: None, host: str, method: str, url: str
) -> None:
    make_domain(OWN, 25, tracking_host=OWN_HOST)
    db.session.commit()
    response = app.test_client().open(
        url, method=method, data={"email": "a@b.nl"}, environ_overrides={"HTTP_HOST": host}
    )
    assert_bad_host(response)
    assert "Log in" not in response.text


@pytest.mark.parametrize("host", [f"{OWN_HOST}..", f"{OWN_HOST}:", "campaigns.test:"])
def test_a_session_is_neither_read_nor_renewed_on_a_host_that_names_no_host(
    app: Flask, hosts: None, login_as: Any, host: str
) -> None:
    make_domain(OWN, 25, tracking_host=OWN_HOST)
    db.session.commit()
    client = login_as("admin")
    assert client.get("/campaigns/").status_code == 200
    for url in ("/campaigns/", "/api/v1/campaigns", "/account/"):
        assert_bad_host(client.get(url, environ_overrides={"HTTP_HOST": host}))


def test_the_pixel_answers_its_gif_whatever_the_host_header(app: Flask, hosts: None) -> None:
    make_domain(OWN, 25, tracking_host=OWN_HOST)
    db.session.commit()
    for host in MALFORMED_HOSTS:
        response = app.test_client().get(
            "/t/o/not-a-token.gif", environ_overrides={"HTTP_HOST": host}
        )
        assert (response.status_code, response.data) == (200, PIXEL_GIF)
        assert_no_cookies(response)


@pytest.mark.parametrize(
    "host",
    [
        OWN_HOST,
        OWN_HOST.upper(),
        f"{OWN_HOST}.",
        f"{OWN_HOST}:5077",
        f"{OWN_HOST}:80",
        f"{OWN_HOST}.:5077",
        "T.Punthelder-SEO.nl.:65535",
    ],
)
def test_every_spelling_of_the_tracking_host_keeps_its_wall(
    app: Flask, hosts: None, host: str
) -> None:
    make_domain(OWN, 25, tracking_host=OWN_HOST)
    db.session.commit()
    client = app.test_client()
    response = client.get("/login", environ_overrides={"HTTP_HOST": host})
    assert response.status_code == 404 and "Link not found" in response.text
    assert_no_cookies(response)
    css = client.get("/static/public.css", environ_overrides={"HTTP_HOST": host})
    assert css.status_code == 200 and css.mimetype == "text/css"


@pytest.mark.parametrize(
    "host",
    ["campaigns.test", "CAMPAIGNS.TEST.", "campaigns.test:5077", "127.0.0.1:5077", "[::1]:5077"],
)
def test_the_dashboard_answers_on_every_plain_host(app: Flask, hosts: None, host: str) -> None:
    make_domain(OWN, 25, tracking_host=OWN_HOST)
    db.session.commit()
    response = app.test_client().get("/login", environ_overrides={"HTTP_HOST": host})
    assert response.status_code == 200 and 'name="password"' in response.text


def raw_request(base_url: str, request_head: str) -> tuple[int, dict[str, str], str]:
    """Send bytes exactly as written to a real server; its status, headers and body."""
    address = urlsplit(base_url)
    assert address.hostname is not None and address.port is not None
    with socket.create_connection((address.hostname, address.port), timeout=30) as sock:
        sock.sendall(request_head.encode("latin-1"))
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers: dict[str, str] = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers.setdefault(name.strip().lower(), value.strip())
    return int(status_line.split()[1]), headers, body.decode("utf-8", "replace")


@pytest.mark.parametrize(
    "host_lines",
    [
        f"Host: {OWN_HOST} \r\n",
        f"Host: {OWN_HOST}\r\nHost: {OWN_HOST}\r\n",
        f"Host: {OWN_HOST}..\r\n",
        f"Host: {OWN_HOST}:\r\n",
        f"Host: user@{OWN_HOST}\r\n",
        "Host: campaigns..test\r\n",
        "Host: 127.0.0.1:abc\r\n",
    ],
)
def test_a_real_server_answers_a_malformed_host_with_a_400_and_no_traceback(
    app: Flask,
    hosts: None,
    live_server: str,
    caplog: pytest.LogCaptureFixture,
    host_lines: str,
) -> None:
    make_domain(OWN, 25, tracking_host=OWN_HOST)
    db.session.commit()
    with caplog.at_level(logging.WARNING):
        for method, url in (("GET", "/login"), ("GET", "/no/such/page"), ("POST", "/login")):
            status, headers, body = raw_request(
                live_server,
                f"{method} {url} HTTP/1.1\r\n{host_lines}Content-Length: 0\r\n"
                "Connection: close\r\n\r\n",
            )
            assert status == 400, body
            assert headers["content-type"].startswith("text/plain")
            assert "set-cookie" not in headers
            assert "Log in" not in body and "Traceback" not in body
    errors = [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert errors == []
    assert "Traceback" not in caplog.text


def test_a_real_server_still_serves_the_tracking_host_and_the_dashboard(
    app: Flask, hosts: None, live_server: str
) -> None:
    make_domain(OWN, 25, tracking_host=OWN_HOST)
    db.session.commit()
    for host in (OWN_HOST, f"{OWN_HOST.upper()}.", f"{OWN_HOST}:5077"):
        status, headers, body = raw_request(
            live_server, f"GET /login HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
        )
        assert status == 404 and "Link not found" in body
        assert "set-cookie" not in headers
    status, headers, body = raw_request(
        live_server, "GET /login HTTP/1.1\r\nHost: campaigns.test\r\nConnection: close\r\n\r\n"
    )
    assert status == 200 and 'name="password"' in body and "set-cookie" in headers
