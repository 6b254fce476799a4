"""Two-factor sign-in through the pages: the second step of a login, set-up, switching off,
and admins who have to use it."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pyotp
import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import PASSWORD, csrf_token_from, log_in
from tests.support.two_factor import enrol, fresh_code, wrong_code
from webapp.extensions import db
from webapp.models import AuditEvent, User
from webapp.services import two_factor
from webapp.services.users import issue_token


def password_step(client: FlaskClient, email: str, next_url: str = "") -> Any:
    page = client.get("/login")
    return client.post(
        "/login",
        data={
            "email": email,
            "password": PASSWORD,
            "next": next_url,
            "csrf_token": csrf_token_from(page.text),
        },
    )


def code_step(client: FlaskClient, code: str) -> Any:
    page = client.get("/login/two-factor")
    assert page.status_code == 200, page.location
    return client.post(
        "/login/two-factor", data={"code": code, "csrf_token": csrf_token_from(page.text)}
    )


def logged_in(client: FlaskClient) -> bool:
    return client.get("/").status_code == 200


def log_out(client: FlaskClient) -> None:
    csrf = csrf_token_from(client.get("/").text)
    assert client.post("/logout", data={"csrf_token": csrf}).status_code == 302


@pytest.fixture
def enrolled(app: Flask, make_user: Callable[..., Any]) -> tuple[User, str, list[str]]:
    """A marketer with two-factor on: the user, the app's secret, the recovery codes."""
    user = make_user("marketer")
    secret, codes = enrol(user)
    return user, secret, codes


def test_a_password_alone_is_not_a_login_the_code_makes_it_one(
    app: Flask, enrolled: tuple[User, str, list[str]]
) -> None:
    user, secret, _codes = enrolled
    client = app.test_client()
    response = password_step(client, user.email, next_url="/campaigns/")
    assert response.status_code == 302
    assert response.location == "/login/two-factor"
    assert not logged_in(client)
    db.session.refresh(user)
    assert user.last_login_at is None

    page = client.get("/login/two-factor")
    assert "Type the 6-digit code your authenticator app shows" in page.text
    assert 'autocomplete="one-time-code"' in page.text

    response = code_step(client, fresh_code(user, secret))
    assert response.status_code == 302
    assert response.location == "/campaigns/"  # where the login was going
    assert logged_in(client)
    db.session.refresh(user)
    assert user.last_login_at is not None


def test_a_wrong_code_is_refused_clearly_and_counts_as_a_failed_login(
    app: Flask, enrolled: tuple[User, str, list[str]]
) -> None:
    user, secret, _codes = enrolled
    client = app.test_client()
    password_step(client, user.email)
    limit = app.config["LOGIN_FAILURES_PER_ACCOUNT"]
    for _attempt in range(limit - 1):
        response = code_step(client, wrong_code(secret))
        assert response.status_code == 401
        assert "That code is not right" in response.text
        assert 'role="alert"' in response.text
    assert not logged_in(client)

    # The right password again does not start the count afresh: one more wrong code
    # reaches the limit, and then the right code waits too.
    assert password_step(client, user.email).location == "/login/two-factor"
    assert code_step(client, wrong_code(secret)).status_code == 401
    refused = code_step(client, fresh_code(user, secret))
    assert refused.status_code == 429
    assert "Too many failed logins" in refused.text
    assert int(refused.headers["Retry-After"]) > 0
    assert not logged_in(client)
    assert password_step(client, user.email).status_code == 429


def test_a_code_is_not_taken_twice(app: Flask, enrolled: tuple[User, str, list[str]]) -> None:
    user, secret, _codes = enrolled
    code = fresh_code(user, secret)
    first = app.test_client()
    password_step(first, user.email)
    assert code_step(first, code).status_code == 302

    # Someone who saw the code (over a shoulder, in a phished page) and has the password.
    second = app.test_client()
    password_step(second, user.email)
    replayed = code_step(second, code)
    assert replayed.status_code == 401
    assert "That code was used already" in replayed.text
    assert not logged_in(second)


def test_a_recovery_code_signs_in_once(app: Flask, enrolled: tuple[User, str, list[str]]) -> None:
    user, _secret, codes = enrolled
    client = app.test_client()
    password_step(client, user.email)
    response = code_step(client, codes[0])
    assert response.status_code == 302
    assert "You used a recovery code; 9 are left" in client.get("/").text
    log_out(client)

    password_step(client, user.email)
    again = code_step(client, codes[0])
    assert again.status_code == 401
    assert "not one of your recovery codes, or it was used already" in again.text
    assert not logged_in(client)
    used = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "user.recovery_code_used")
    ).one()
    assert used.user_id == user.id and used.details == {"remaining": 9}


def test_the_half_way_state_expires(
    app: Flask, enrolled: tuple[User, str, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    user, secret, _codes = enrolled
    client = app.test_client()
    password_step(client, user.email)
    csrf = csrf_token_from(client.get("/login/two-factor").text)
    # The minutes a sign-in may wait for its code have passed.
    monkeypatch.setitem(app.config, "TWO_FACTOR_PENDING_SECONDS", 0)

    response = client.post(
        "/login/two-factor", data={"code": fresh_code(user, secret), "csrf_token": csrf}
    )
    assert response.status_code == 302
    assert response.location == "/login"
    assert "Your sign-in took too long or was ended. Log in again." in client.get("/login").text
    assert not logged_in(client)
    db.session.refresh(user)
    assert user.last_login_at is None
    # Gone for good: even with time to spare again, the code step sends to the login.
    monkeypatch.setitem(app.config, "TWO_FACTOR_PENDING_SECONDS", 300)
    assert client.get("/login/two-factor").location == "/login"


def test_the_half_way_state_ends_when_the_user_s_logins_end(
    app: Flask, enrolled: tuple[User, str, list[str]]
) -> None:
    user, secret, _codes = enrolled
    client = app.test_client()
    password_step(client, user.email)
    csrf = csrf_token_from(client.get("/login/two-factor").text)
    two_factor.reset(user)  # an operator, meanwhile: it also ends every login
    db.session.commit()
    response = client.post(
        "/login/two-factor", data={"code": fresh_code(user, secret), "csrf_token": csrf}
    )
    assert response.location == "/login"
    assert not logged_in(client)


def test_the_code_step_without_a_password_step_is_the_login_page(client: FlaskClient) -> None:
    assert client.get("/login/two-factor").location == "/login"
    csrf = csrf_token_from(client.get("/login").text)
    response = client.post("/login/two-factor", data={"code": "123456", "csrf_token": csrf})
    assert response.location == "/login"
    assert "took too long" not in client.get("/login").text  # there was nothing to expire


def test_csrf_holds_on_every_two_factor_form(
    app: Flask, enrolled: tuple[User, str, list[str]], login_as: Callable[[str], FlaskClient]
) -> None:
    user, secret, codes = enrolled
    client = app.test_client()
    password_step(client, user.email)
    assert client.post("/login/two-factor", data={"code": codes[0]}).status_code == 400
    assert code_step(client, fresh_code(user, secret)).status_code == 302
    for url, data in (
        ("/account/two-factor/disable", {"password": PASSWORD, "code": codes[1]}),
        ("/account/two-factor/recovery-codes", {"code": codes[1]}),
    ):
        assert client.post(url, data=data).status_code == 400
    other = login_as("manager")
    other.get("/account/two-factor")
    assert other.post("/account/two-factor/enable", data={"code": "123456"}).status_code == 400
    db.session.refresh(user)
    assert user.two_factor_enabled and two_factor.remaining_recovery_codes(user) == 10


def secret_on(page: str) -> str:
    match = re.search(r'<code id="two-factor-secret" class="secret-key">([A-Z2-7 ]+)</code>', page)
    assert match, "no secret on the page"
    return match.group(1).replace(" ", "")


def test_set_up_shows_a_qr_code_and_the_key_and_needs_a_first_code(
    app: Flask, login_as: Callable[[str], FlaskClient]
) -> None:
    client = login_as("manager")  # every role, managers too
    elsewhere = app.test_client()
    log_in(elsewhere, client.user.email)  # type: ignore[attr-defined]
    assert 'href="/account/two-factor"' in client.get("/").text  # in the user menu

    page = client.get("/account/two-factor").text
    assert 'src="data:image/svg+xml;charset=utf-8,' in page  # drawn here, nothing loaded
    secret = secret_on(page)
    assert secret_on(client.get("/account/two-factor").text) == secret  # same after reload

    wrong = client.post(
        "/account/two-factor/enable", data={"code": wrong_code(secret), "csrf_token": client.csrf}
    )
    assert wrong.status_code == 422
    assert "That code is not right" in wrong.text and 'aria-invalid="true"' in wrong.text

    done = client.post(
        "/account/two-factor/enable",
        data={"code": pyotp.TOTP(secret).now(), "csrf_token": client.csrf},
    )
    assert done.status_code == 200
    codes = re.search(r'<pre id="recovery-codes"[^>]*>([^<]*)</pre>', done.text)
    assert codes and len(codes.group(1).split()) == 10
    assert 'download="punthelder-campaigns-recovery-codes.txt"' in done.text
    assert done.headers["Cache-Control"] == "no-store"

    assert logged_in(client)  # this browser stays logged in
    assert not logged_in(elsewhere)  # the others are logged out
    manage = client.get("/account/two-factor").text
    assert "10 unused recovery codes left." in manage
    assert secret not in manage and codes.group(1).split()[0] not in manage  # shown once


def test_switching_off_takes_the_password_and_a_code(
    app: Flask, enrolled: tuple[User, str, list[str]]
) -> None:
    user, secret, codes = enrolled
    client = app.test_client()
    password_step(client, user.email)
    code_step(client, fresh_code(user, secret))
    elsewhere = app.test_client()
    password_step(elsewhere, user.email)
    code_step(elsewhere, codes[0])
    csrf = csrf_token_from(client.get("/account/two-factor").text)

    wrong_password = client.post(
        "/account/two-factor/disable",
        data={"password": "not my password", "code": codes[1], "csrf_token": csrf},
    )
    assert wrong_password.status_code == 422
    assert "That is not your password." in wrong_password.text
    wrong = client.post(
        "/account/two-factor/disable",
        data={"password": PASSWORD, "code": wrong_code(secret), "csrf_token": csrf},
    )
    assert wrong.status_code == 422
    assert 'id="disable-code-error"' in wrong.text and "That code is not right" in wrong.text
    db.session.refresh(user)
    assert user.two_factor_enabled

    off = client.post(
        "/account/two-factor/disable",
        data={"password": PASSWORD, "code": codes[1], "csrf_token": csrf},
    )
    assert off.status_code == 302 and off.location == "/account/two-factor"
    assert "Two-factor sign-in is off." in client.get("/").text
    assert not logged_in(elsewhere)
    db.session.refresh(user)
    assert not user.two_factor_enabled
    actions = db.session.scalars(sa.select(AuditEvent.action)).all()
    assert "user.two_factor_disabled" in actions
    log_out(client)
    assert password_step(client, user.email).location == "/"  # a password is enough again


def test_new_recovery_codes_from_the_page(
    app: Flask, enrolled: tuple[User, str, list[str]]
) -> None:
    user, secret, codes = enrolled
    client = app.test_client()
    password_step(client, user.email)
    code_step(client, codes[0])
    csrf = csrf_token_from(client.get("/account/two-factor").text)
    assert "9 unused recovery codes left." in client.get("/account/two-factor").text

    wrong = client.post(
        "/account/two-factor/recovery-codes", data={"code": codes[0], "csrf_token": csrf}
    )
    assert wrong.status_code == 422
    assert 'id="regenerate-code-error"' in wrong.text

    response = client.post(
        "/account/two-factor/recovery-codes",
        data={"code": fresh_code(user, secret), "csrf_token": csrf},
    )
    assert response.status_code == 200
    assert "New recovery codes" in response.text
    assert logged_in(client)
    assert "10 unused recovery codes left." in client.get("/account/two-factor").text
    log_out(client)
    password_step(client, user.email)
    assert code_step(client, codes[1]).status_code == 401  # the old ones are gone


def test_admins_who_must_use_it_are_sent_to_set_it_up_and_nowhere_else(
    app: Flask,
    make_user: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(app.config, "REQUIRE_TWO_FACTOR_FOR_ADMINS", True)
    admin = make_user("admin")
    token = issue_token(admin)
    db.session.commit()
    client = app.test_client()
    response = password_step(client, admin.email, next_url="/campaigns/")
    assert response.location == "/account/two-factor"

    setup = client.get("/account/two-factor")
    assert setup.status_code == 200
    assert "Admins must use two-factor sign-in here" in setup.text
    assert 'href="/leads/"' not in setup.text  # no navigation to pages it cannot open
    csrf = csrf_token_from(setup.text)
    for url in ("/", "/campaigns/", "/domains/", "/leads/import"):
        assert client.get(url).location == "/account/two-factor", url
    htmx = client.get("/leads/", headers={"HX-Request": "true"})
    assert htmx.status_code == 403 and htmx.headers["HX-Redirect"] == "/account/two-factor"
    write = client.post(
        "/suppressions/", data={"csrf_token": csrf, "kind": "email", "value": "a@b.nl"}
    )
    assert write.location == "/account/two-factor"
    # API tokens are a factor of their own: the API keeps working.
    api = app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 200
    # Other roles are not asked.
    assert logged_in(_logged_in_as(app, make_user("marketer")))

    secret = secret_on(setup.text)
    done = client.post(
        "/account/two-factor/enable",
        data={"code": pyotp.TOTP(secret).now(), "csrf_token": csrf},
    )
    assert done.status_code == 200
    assert logged_in(client)
    assert client.get("/campaigns/").status_code == 200


def test_an_admin_who_must_use_it_can_still_log_out(
    app: Flask, make_user: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "REQUIRE_TWO_FACTOR_FOR_ADMINS", True)
    admin = make_user("admin")
    client = app.test_client()
    password_step(client, admin.email)
    csrf = csrf_token_from(client.get("/account/two-factor").text)
    assert client.post("/logout", data={"csrf_token": csrf}).location == "/login"
    assert client.get("/").location.startswith("/login")


def _logged_in_as(app: Flask, user: User) -> FlaskClient:
    client = app.test_client()
    log_in(client, user.email)
    return client


def test_api_tokens_work_without_a_code(app: Flask, enrolled: tuple[User, str, list[str]]) -> None:
    user, _secret, _codes = enrolled
    token = issue_token(user)
    db.session.commit()
    response = app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200


def test_the_code_step_in_dutch(
    app: Flask, dutch: None, enrolled: tuple[User, str, list[str]]
) -> None:
    user, secret, _codes = enrolled
    client = app.test_client()
    password_step(client, user.email)
    page = client.get("/login/two-factor").text
    assert "Tweestapsverificatie" in page
    wrong = code_step(client, wrong_code(secret))
    assert "Die code klopt niet" in wrong.text
