"""A forgotten password: the same answer for every address, a mail for known ones only
(through a real Redis queue and a real SMTP server), a link that works once for 30 minutes."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import PASSWORD, csrf_token_from, log_in
from tests.support.services import SmtpCapture
from tests.support.two_factor import enrol, fresh_code
from tests.team_support import jobs_through_redis, link_in, mail_server, path_of, run_jobs
from webapp.database import utcnow
from webapp.extensions import db
from webapp.services.team import reset_url
from webapp.services.users import authenticate

__all__ = ["jobs_through_redis", "mail_server"]

NEW_PASSWORD = "lantern over the harbour"


def ask_for_reset(client: FlaskClient, email: str) -> Any:
    page = client.get("/password/forgot")
    return client.post(
        "/password/forgot", data={"email": email, "csrf_token": csrf_token_from(page.text)}
    )


def without_csrf(html: str) -> str:
    """The page with its (per-session) CSRF token left out."""
    return re.sub(r'"X-CSRFToken": "[^"]+"', "", html)


def test_the_login_page_links_to_forgot_password(client: FlaskClient) -> None:
    login = client.get("/login").text
    assert 'href="/password/forgot"' in login
    assert client.get("/password/forgot").status_code == 200


def test_the_answer_is_the_same_for_known_and_unknown_addresses(
    app: Flask,
    make_user: Callable[..., Any],
    mail_server: SmtpCapture,
    jobs_through_redis: None,
) -> None:
    user = make_user("marketer")
    unknown = ask_for_reset(app.test_client(), "niemand@punthelder.nl")
    known = ask_for_reset(app.test_client(), user.email)
    assert unknown.status_code == known.status_code == 200
    assert "If this address belongs to an account" in known.text
    assert without_csrf(unknown.text) == without_csrf(known.text)
    run_jobs(app)  # both jobs, to the end: one mail, for the known address only
    (mail,) = mail_server.messages
    assert mail.rcpt_tos == [user.email]
    assert "/password/reset/" in link_in(mail.message)


def test_a_reset_link_sets_a_new_password_once_and_ends_other_logins(
    app: Flask,
    make_user: Callable[..., Any],
    mail_server: SmtpCapture,
    jobs_through_redis: None,
) -> None:
    user = make_user("manager")
    elsewhere = app.test_client()
    log_in(elsewhere, user.email)
    assert elsewhere.get("/").status_code == 200
    ask_for_reset(app.test_client(), user.email)
    run_jobs(app)
    link = path_of(link_in(mail_server.wait_for(1)[0].message))

    browser = app.test_client()
    form = browser.get(link)
    assert form.status_code == 200 and user.email in form.text
    assert form.headers["Cache-Control"] == "no-store"
    done = browser.post(
        link,
        data={
            "csrf_token": csrf_token_from(form.text),
            "password": NEW_PASSWORD,
            "password_repeat": NEW_PASSWORD,
        },
    )
    assert done.status_code == 302 and done.location == "/"
    assert "Your new password is set" in browser.get("/").text
    assert elsewhere.get("/").status_code == 302  # the other login ended
    db.session.expire_all()
    assert authenticate(user.email, NEW_PASSWORD) is not None
    assert authenticate(user.email, PASSWORD) is None

    used = app.test_client().get(link)
    assert used.status_code == 410 and 'data-state="used"' in used.text


def test_an_expired_reset_link_says_so_and_changes_nothing(
    app: Flask, make_user: Callable[..., Any]
) -> None:
    user = make_user("marketer")
    link = path_of(reset_url(user, utcnow() - timedelta(minutes=31)))
    client = app.test_client()
    page = client.get(link)
    assert page.status_code == 410 and 'data-state="expired"' in page.text
    assert "works for 30 minutes" in page.text
    fresh = app.test_client()
    token = csrf_token_from(fresh.get("/password/forgot").text)
    posted = fresh.post(
        link, data={"csrf_token": token, "password": NEW_PASSWORD, "password_repeat": NEW_PASSWORD}
    )
    assert posted.status_code == 410
    assert authenticate(user.email, PASSWORD) is not None
    assert client.get("/password/reset/forged").status_code == 404


def test_the_new_password_keeps_the_rules(app: Flask, make_user: Callable[..., Any]) -> None:
    user = make_user("marketer")
    link = path_of(reset_url(user, utcnow()))
    client = app.test_client()
    token = csrf_token_from(client.get(link).text)
    for password, repeat, field in (
        ("password1234", "password1234", "password"),
        (NEW_PASSWORD, NEW_PASSWORD + "x", "password_repeat"),
    ):
        response = client.post(
            link, data={"csrf_token": token, "password": password, "password_repeat": repeat}
        )
        assert response.status_code == 422 and f'id="{field}-error"' in response.text
    assert authenticate(user.email, PASSWORD) is not None
    assert client.get(link).status_code == 200  # still unused


def test_asking_for_resets_is_throttled_like_logging_in(
    app: Flask, monkeypatch: pytest.MonkeyPatch, jobs_through_redis: None
) -> None:
    from webapp.web.auth.throttle import reset_throttle

    monkeypatch.setattr(reset_throttle()._limits["account"], "amount", 2)
    client = app.test_client()
    assert ask_for_reset(client, "iemand@punthelder.nl").status_code == 200
    assert ask_for_reset(client, "IEMAND@punthelder.nl ").status_code == 200
    refused = ask_for_reset(client, "iemand@punthelder.nl")
    assert refused.status_code == 429 and "Too many requests" in refused.text
    assert int(refused.headers["Retry-After"]) > 0
    # Another address from the same client is still fine (its own count).
    assert ask_for_reset(client, "ander@punthelder.nl").status_code == 200


def test_a_reset_link_does_not_skip_the_second_factor(
    app: Flask, make_user: Callable[..., Any]
) -> None:
    user = make_user("admin")
    secret, _codes = enrol(user)
    link = path_of(reset_url(user, utcnow()))
    browser = app.test_client()
    form = browser.get(link)
    done = browser.post(
        link,
        data={
            "csrf_token": csrf_token_from(form.text),
            "password": NEW_PASSWORD,
            "password_repeat": NEW_PASSWORD,
        },
    )
    # The mailbox proves the first factor only: the new password is set, the code is asked.
    assert done.status_code == 302 and done.location == "/login/two-factor"
    assert browser.get("/").status_code == 302
    step = browser.get("/login/two-factor")
    assert "Give your code" in step.text
    logged_in = browser.post(
        "/login/two-factor",
        data={"csrf_token": csrf_token_from(step.text), "code": fresh_code(user, secret)},
    )
    assert logged_in.status_code == 302 and logged_in.location == "/"
    assert browser.get("/").status_code == 200
