"""Logins: failed ones throttled, sessions that really end, the client address as trusted."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import PASSWORD, csrf_token_from, new_app
from tests.support.services import RedisServer
from webapp.extensions import db
from webapp.services.users import set_password, update_user


def _try_login(client: FlaskClient, email: str, password: str, **environ: Any) -> Any:
    page = client.get("/login", environ_base=environ)
    return client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": csrf_token_from(page.text)},
        environ_base=environ,
    )


def _session_cookie(client: FlaskClient) -> str:
    cookie = client.get_cookie("session")
    assert cookie is not None
    return cookie.value


def _replay(app: Flask, cookie: str, **environ: Any) -> Any:
    """The overview requested by someone else holding a copy of the cookie."""
    other = app.test_client()
    other.set_cookie("session", cookie)
    return other.get("/", environ_base=environ)


def test_failed_logins_lock_the_account_and_the_right_password_is_refused_too(
    app: Flask, make_user: Callable[..., Any]
) -> None:
    user = make_user("marketer")
    client = app.test_client()
    statuses = [
        _try_login(client, user.email, f"wrong-guess-{n:04d}").status_code for n in range(200)
    ]

    assert statuses.count(401) == app.config["LOGIN_FAILURES_PER_ACCOUNT"]
    assert statuses.count(429) == 200 - app.config["LOGIN_FAILURES_PER_ACCOUNT"]
    right = _try_login(client, user.email, PASSWORD)
    assert right.status_code == 429
    assert "Too many failed logins" in right.text
    assert int(right.headers["Retry-After"]) > 0
    assert client.get("/").status_code == 302  # still not logged in


def test_the_lock_is_per_account_not_for_everyone(
    app: Flask, make_user: Callable[..., Any]
) -> None:
    victim, other = make_user("marketer"), make_user("manager")
    for n in range(app.config["LOGIN_FAILURES_PER_ACCOUNT"]):
        # Each guess from another address, so only the account's count is reached.
        _try_login(app.test_client(), victim.email, f"guess-{n:04d}xx", REMOTE_ADDR=f"10.1.0.{n}")
    assert _try_login(app.test_client(), victim.email, PASSWORD).status_code == 429
    assert _try_login(app.test_client(), other.email, PASSWORD).status_code == 302


def test_one_address_trying_many_accounts_is_throttled_whatever_it_claims_to_forward(
    app: Flask, make_user: Callable[..., Any]
) -> None:
    user = make_user("marketer")
    limit = app.config["LOGIN_FAILURES_PER_CLIENT"]
    for n in range(limit):
        # TRUSTED_PROXIES is 0: a made-up X-Forwarded-For must not make a new client.
        response = _try_login(
            app.test_client(),
            f"nobody-{n}@example.nl",
            "wrong-password-here",
            REMOTE_ADDR="192.0.2.7",
            HTTP_X_FORWARDED_FOR=f"198.51.100.{n}",
        )
        assert response.status_code == 401
    refused = _try_login(app.test_client(), user.email, PASSWORD, REMOTE_ADDR="192.0.2.7")
    assert refused.status_code == 429
    # Someone else, from another address, logs in as usual.
    assert (
        _try_login(app.test_client(), user.email, PASSWORD, REMOTE_ADDR="192.0.2.8").status_code
        == 302
    )


def test_failed_logins_are_counted_in_redis_across_processes(
    app: Flask, database_url: str, redis_server: RedisServer, make_user: Callable[..., Any]
) -> None:
    user = make_user("marketer")
    first = new_app(database_url, REDIS_URL=redis_server.url)
    second = new_app(database_url, REDIS_URL=redis_server.url)
    try:
        with first.app_context():
            for n in range(first.config["LOGIN_FAILURES_PER_ACCOUNT"]):
                assert (
                    _try_login(first.test_client(), user.email, f"guess-{n:04d}xx").status_code
                    == 401
                )
        with second.app_context():
            assert _try_login(second.test_client(), user.email, PASSWORD).status_code == 429
    finally:
        first.extensions["login_throttle"].storage.reset()


def test_a_copied_cookie_stops_working_at_logout(app: Flask, make_user: Callable[..., Any]) -> None:
    user = make_user("marketer")
    client = app.test_client()
    assert _try_login(client, user.email, PASSWORD).status_code == 302
    cookie = _session_cookie(client)
    assert _replay(app, cookie).status_code == 200  # the copy works while logged in

    csrf = csrf_token_from(client.get("/").text)
    assert client.post("/logout", data={"csrf_token": csrf}).status_code == 302

    replayed = _replay(app, cookie)
    assert replayed.status_code == 302
    assert "/login" in replayed.headers["Location"]


def test_a_password_change_ends_every_login(app: Flask, make_user: Callable[..., Any]) -> None:
    user = make_user("marketer")
    client = app.test_client()
    _try_login(client, user.email, PASSWORD)
    assert client.get("/").status_code == 200

    set_password(user, "a-brand-new-passphrase")
    db.session.commit()

    assert client.get("/").status_code == 302
    assert _try_login(app.test_client(), user.email, PASSWORD).status_code == 401
    assert _try_login(app.test_client(), user.email, "a-brand-new-passphrase").status_code == 302


def test_deactivation_ends_logins_and_stays_ended_after_reactivation(
    app: Flask, make_user: Callable[..., Any]
) -> None:
    user = make_user("marketer")
    client = app.test_client()
    _try_login(client, user.email, PASSWORD)
    cookie = _session_cookie(client)

    update_user(user, active=False)
    db.session.commit()
    assert client.get("/").status_code == 302
    update_user(user, active=True)
    db.session.commit()

    assert _replay(app, cookie).status_code == 302


def test_session_protection_ignores_a_client_sent_forwarded_for(
    app: Flask, make_user: Callable[..., Any]
) -> None:
    user = make_user("marketer")
    client = app.test_client()
    _try_login(client, user.email, PASSWORD, REMOTE_ADDR="203.0.113.10")
    cookie = _session_cookie(client)
    assert _replay(app, cookie, REMOTE_ADDR="203.0.113.10").status_code == 200

    # A thief elsewhere claims to forward for the victim's address: not believed.
    stolen = _replay(app, cookie, REMOTE_ADDR="198.51.100.66", HTTP_X_FORWARDED_FOR="203.0.113.10")
    assert stolen.status_code == 302


def test_session_protection_reads_the_address_through_trusted_proxies(
    database_url: str, app: Flask, make_user: Callable[..., Any]
) -> None:
    user = make_user("marketer")
    behind_proxy = new_app(database_url, TRUSTED_PROXIES=1)
    proxy = {"REMOTE_ADDR": "10.0.0.2"}
    with behind_proxy.app_context():
        client = behind_proxy.test_client()
        _try_login(client, user.email, PASSWORD, **proxy, HTTP_X_FORWARDED_FOR="203.0.113.10")
        cookie = _session_cookie(client)
        # The proxy appends the real address; whatever the client put in front is ignored.
        same = _replay(behind_proxy, cookie, **proxy, HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.10")
        assert same.status_code == 200
        elsewhere = _replay(
            behind_proxy, cookie, **proxy, HTTP_X_FORWARDED_FOR="203.0.113.10, 198.51.100.66"
        )
        assert elsewhere.status_code == 302
