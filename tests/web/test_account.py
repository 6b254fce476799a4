"""The account page: every role changes its own password and keeps its own API tokens."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import PASSWORD, csrf_token_from, log_in
from webapp.extensions import db
from webapp.models import ApiToken, AuditEvent

ROLES = ("admin", "marketer", "manager")
NEW_PASSWORD = "lantern over the canal"


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _change(client: FlaskClient, current: str, new: str, again: str | None = None) -> Any:
    return client.post(
        "/account/password",
        data={
            "current_password": current,
            "new_password": new,
            "new_password_again": new if again is None else again,
        },
        headers={"HX-Request": "true", "X-CSRFToken": client.csrf},  # type: ignore[attr-defined]
    )


def _two_logins(app: Flask, user: Any) -> tuple[FlaskClient, FlaskClient]:
    here, elsewhere = app.test_client(), app.test_client()
    here.csrf = log_in(here, user.email)  # type: ignore[attr-defined]
    elsewhere.csrf = log_in(elsewhere, user.email)  # type: ignore[attr-defined]
    return here, elsewhere


def _new_token(client: FlaskClient, name: str) -> tuple[Any, str]:
    response = client.post(
        "/account/tokens",
        data={"name": name},
        headers={"HX-Request": "true", "X-CSRFToken": client.csrf},  # type: ignore[attr-defined]
    )
    match = re.search(r'id="new-token-value" value="(cdt_[^"]+)"', response.text)
    return response, match.group(1) if match else ""


@pytest.mark.parametrize("role", ROLES)
def test_every_role_finds_its_account_in_the_user_menu(
    role: str, login_as: Callable[[str], FlaskClient]
) -> None:
    client = login_as(role)
    assert 'href="/account/" id="account-link"' in client.get("/").text
    page = client.get("/account/")
    assert page.status_code == 200
    user = client.user  # type: ignore[attr-defined]
    assert f'<td id="account-email">{user.email}</td>' in page.text
    assert f'data-role="{role}"' in page.text
    for section in ("account-language", "account-password", "account-tokens"):
        assert f'id="{section}"' in page.text
    assert client.get("/account").status_code in (301, 308)  # the address without the slash


def test_a_password_change_needs_the_current_one_and_ends_the_other_logins_only(
    app: Flask, make_user: Callable[..., Any]
) -> None:
    user = make_user("manager")  # read-only, yet their password is theirs
    here, elsewhere = _two_logins(app, user)

    wrong = _change(here, "not my password at all", NEW_PASSWORD)
    assert wrong.status_code == 422
    assert 'id="current_password-error"' in wrong.text
    assert "not your current password" in wrong.text
    assert elsewhere.get("/").status_code == 200  # nothing changed

    changed = _change(here, PASSWORD, NEW_PASSWORD)
    assert changed.status_code == 200
    assert 'id="password-message"' in changed.text
    assert here.get("/").status_code == 200  # this login stays
    assert elsewhere.get("/").status_code == 302  # every other one ended
    assert elsewhere.get("/").location.startswith("/login")

    fresh = app.test_client()
    page = fresh.get("/login")
    old = fresh.post(
        "/login",
        data={"email": user.email, "password": PASSWORD, "csrf_token": csrf_token_from(page.text)},
    )
    assert old.status_code == 401
    log_in(fresh, user.email, NEW_PASSWORD)

    event = db.session.scalars(sa.select(AuditEvent)).one()
    assert (event.action, event.user_id, event.subject_id) == (
        "user.password_changed",
        user.id,
        user.id,
    )
    assert event.details == {}


def test_the_new_password_keeps_the_rules_and_is_typed_twice(
    login_as: Callable[[str], FlaskClient],
) -> None:
    client = login_as("marketer")
    for new, again, field, words in (
        ("short", None, "new_password", "at least 12 characters"),
        ("password1234", None, "new_password", "well-known"),
        (NEW_PASSWORD, "lantern over the canaL", "new_password_again", "does not match"),
        (PASSWORD, None, "new_password", "must differ from the current password"),
    ):
        response = _change(client, PASSWORD, new, again)
        assert response.status_code == 422, new
        assert f'id="{field}-error"' in response.text, new
        assert words in response.text, new
    assert client.get("/").status_code == 200
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == 0


def test_wrong_current_passwords_are_throttled_like_failed_logins(
    app: Flask, login_as: Callable[[str], FlaskClient]
) -> None:
    client = login_as("admin")
    limit = app.config["LOGIN_FAILURES_PER_ACCOUNT"]
    statuses = [
        _change(client, f"guess number {n:04d}", NEW_PASSWORD).status_code for n in range(limit + 3)
    ]
    assert statuses == [422] * limit + [429] * 3
    right = _change(client, PASSWORD, NEW_PASSWORD)
    assert right.status_code == 429  # the right one too, until the window passes
    assert int(right.headers["Retry-After"]) > 0
    assert "Too many wrong passwords" in right.text
    # The same count as the login page's: guessing here does not open another way in.
    browser = app.test_client()
    page = browser.get("/login")
    login = browser.post(
        "/login",
        data={
            "email": client.user.email,  # type: ignore[attr-defined]
            "password": PASSWORD,
            "csrf_token": csrf_token_from(page.text),
        },
    )
    assert login.status_code == 429


@pytest.mark.parametrize("role", ROLES)
def test_a_new_token_is_shown_once_listed_with_its_last_use_and_revoked_at_once(
    role: str, app: Flask, login_as: Callable[[str], FlaskClient]
) -> None:
    client = login_as(role)
    created, token = _new_token(client, "Spreadsheet sync")
    assert created.status_code == 200
    assert token, created.text
    assert "you will not see it again" in created.text
    assert 'data-copy="#new-token-value"' in created.text

    page = client.get("/account/").text
    assert token not in page  # shown in that one answer only
    row = re.search(r'<tr id="token-([0-9a-f]+)">(.*?)</tr>', page, re.S)
    assert row is not None and "Spreadsheet sync" in row.group(2)
    assert "never" in row.group(2)

    api = app.test_client()
    assert api.get("/api/v1/me", headers=_bearer(token)).status_code == 200
    row = re.search(r'<tr id="token-[0-9a-f]+">(.*?)</tr>', client.get("/account/").text, re.S)
    assert row is not None and "never" not in row.group(1)

    token_id = db.session.scalars(sa.select(ApiToken.id)).one()
    revoked = client.post(
        f"/account/tokens/{token_id}/revoke",
        headers={"HX-Request": "true", "X-CSRFToken": client.csrf},  # type: ignore[attr-defined]
    )
    assert revoked.status_code == 200
    assert "Revoked “Spreadsheet sync”" in revoked.text
    assert f'id="token-{token_id}"' not in revoked.text
    assert api.get("/api/v1/me", headers=_bearer(token)).status_code == 401

    user_id = client.user.id  # type: ignore[attr-defined]
    events = db.session.execute(
        sa.select(AuditEvent.action, AuditEvent.user_id, AuditEvent.details).order_by(
            AuditEvent.created_at, AuditEvent.id
        )
    ).all()
    assert [tuple(e) for e in events] == [
        ("user.token_created", user_id, {"token": "Spreadsheet sync"}),
        ("user.token_revoked", user_id, {"token": "Spreadsheet sync"}),
    ]
    assert all(token not in str(e.details) for e in events)


def test_a_token_needs_a_name_and_nobody_revokes_someone_elses(
    app: Flask, login_as: Callable[[str], FlaskClient]
) -> None:
    owner, other = login_as("marketer"), login_as("admin")
    for name in ("", "   ", "x" * 201):
        response, token = _new_token(owner, name)
        assert response.status_code == 422, name
        assert 'id="name-error"' in response.text and not token
    _response, token = _new_token(owner, "crm")
    token_id = db.session.scalars(sa.select(ApiToken.id)).one()
    refused = other.post(
        f"/account/tokens/{token_id}/revoke",
        headers={"HX-Request": "true", "X-CSRFToken": other.csrf},  # type: ignore[attr-defined]
    )
    assert refused.status_code == 404
    assert app.test_client().get("/api/v1/me", headers=_bearer(token)).status_code == 200


def test_the_account_forms_need_the_csrf_token(
    app: Flask, login_as: Callable[[str], FlaskClient]
) -> None:
    client = login_as("marketer")
    data = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    data["new_password_again"] = NEW_PASSWORD
    assert client.post("/account/password", data=data).status_code == 400
    refused = client.post("/account/tokens", data={"name": "x"}, headers={"HX-Request": "true"})
    assert refused.status_code == 400
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken)) == 0
    # Without htmx too: the plain forms carry their token and work.
    page = client.get("/account/").text
    form = {**data, "csrf_token": csrf_token_from(page)}
    assert client.post("/account/password", data=form).status_code == 200
    assert client.get("/").status_code == 200


def test_a_manager_may_switch_language_from_the_account_page(
    login_as: Callable[[str], FlaskClient],
) -> None:
    client = login_as("manager")
    response = client.post(
        "/account/language", data={"csrf_token": client.csrf, "locale": "nl", "next": "/account/"}
    )
    assert response.status_code == 302 and response.location == "/account/"
    assert "Je account" in client.get("/account/").text
