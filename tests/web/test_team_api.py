"""Users and API tokens over the API, and the same from the command line."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask

from tests.conftest import PASSWORD, csrf_token_from
from webapp.extensions import db
from webapp.models import ApiToken
from webapp.services.users import get_user_by_email, issue_token


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_token_records_when_it_was_last_used(app: Flask, make_user: Callable[..., Any]) -> None:
    user = make_user("manager")
    token = issue_token(user, name="reports")
    db.session.commit()
    client = app.test_client()
    listed = client.get("/api/v1/tokens", headers=_bearer(token)).json["items"]
    assert [t["name"] for t in listed] == ["reports"]

    db.session.expire_all()
    api_token = db.session.execute(db.select(ApiToken)).scalar_one()
    assert api_token.last_used_at is not None
    assert "token_hash" not in listed[0] and "token" not in listed[0]


def test_everyone_creates_lists_and_revokes_their_own_tokens(
    app: Flask, api_client: Callable[[str], Any]
) -> None:
    client, headers = api_client("manager")  # read-only, yet their own tokens are theirs
    created = client.post("/api/v1/tokens", json={"name": "spreadsheet"}, headers=headers)
    assert created.status_code == 201
    new_token = created.json["token"]
    assert client.get("/api/v1/me", headers=_bearer(new_token)).status_code == 200
    names = [t["name"] for t in client.get("/api/v1/tokens", headers=headers).json["items"]]
    assert "spreadsheet" in names and all(
        "token" not in t for t in client.get("/api/v1/tokens", headers=headers).json["items"]
    )

    revoked = client.delete(f"/api/v1/tokens/{created.json['id']}", headers=headers)
    assert revoked.status_code == 200
    assert revoked.json["revoked_at"] is not None
    assert client.get("/api/v1/me", headers=_bearer(new_token)).status_code == 401


def test_nobody_revokes_or_sees_someone_elses_token(
    app: Flask, api_client: Callable[[str], Any], make_user: Callable[..., Any]
) -> None:
    client, headers = api_client("admin")
    other = make_user("marketer")
    other_token = issue_token(other, name="theirs")
    db.session.commit()
    their_id = db.session.execute(
        db.select(ApiToken.id).where(ApiToken.user_id == other.id)
    ).scalar_one()
    assert client.delete(f"/api/v1/tokens/{their_id}", headers=headers).status_code == 404
    assert client.get("/api/v1/me", headers=_bearer(other_token)).status_code == 200


def test_a_token_needs_a_name(api_client: Callable[[str], Any]) -> None:
    client, headers = api_client("marketer")
    for body in ({}, {"name": "  "}, {"name": 5}, {"name": "x" * 201}):
        response = client.post("/api/v1/tokens", json=body, headers=headers)
        assert response.status_code == 422, body
        assert "name" in response.json["error"]["fields"]


def test_an_admin_deactivates_a_user_whose_logins_and_tokens_end(
    app: Flask, api_client: Callable[[str], Any], make_user: Callable[..., Any]
) -> None:
    client, headers = api_client("admin")
    user = make_user("marketer")
    token = issue_token(user)
    db.session.commit()
    browser = app.test_client()
    page = browser.get("/login")
    browser.post(
        "/login",
        data={"email": user.email, "password": PASSWORD, "csrf_token": csrf_token_from(page.text)},
    )
    assert browser.get("/").status_code == 200

    response = client.patch(f"/api/v1/users/{user.id}", json={"active": False}, headers=headers)
    assert response.status_code == 200
    assert response.json["active"] is False
    assert browser.get("/").status_code == 302
    assert client.get("/api/v1/me", headers=_bearer(token)).status_code == 401

    # Back again: they may log in, but the old token stays revoked.
    client.patch(f"/api/v1/users/{user.id}", json={"active": True}, headers=headers)
    assert client.get("/api/v1/me", headers=_bearer(token)).status_code == 401


def test_only_admins_manage_users_and_bad_input_is_named(
    app: Flask, api_client: Callable[[str], Any], make_user: Callable[..., Any]
) -> None:
    marketer, marketer_headers = api_client("marketer")
    user = make_user("manager")
    assert marketer.get("/api/v1/users", headers=marketer_headers).status_code == 403
    patch = marketer.patch(
        f"/api/v1/users/{user.id}", json={"role": "admin"}, headers=marketer_headers
    )
    assert patch.status_code == 403

    admin, headers = api_client("admin")
    assert user.email in [
        u["email"] for u in admin.get("/api/v1/users", headers=headers).json["items"]
    ]
    for body, field in (
        ({"role": "god"}, "role"),
        ({"active": "maybe"}, "active"),
        ({"password_hash": "x"}, "password_hash"),
    ):
        response = admin.patch(f"/api/v1/users/{user.id}", json=body, headers=headers)
        assert response.status_code == 422, body
        assert field in response.json["error"]["fields"]
    promoted = admin.patch(f"/api/v1/users/{user.id}", json={"role": "marketer"}, headers=headers)
    assert promoted.json["role"] == "marketer"
    assert (
        admin.patch("/api/v1/users/nope", json={"active": False}, headers=headers).status_code
        == 404
    )


def test_an_admin_cannot_lock_themselves_out(app: Flask, api_client: Callable[[str], Any]) -> None:
    client, headers = api_client("admin")
    me = get_user_by_email(client.get("/api/v1/me", headers=headers).json["email"])
    response = client.patch(f"/api/v1/users/{me.id}", json={"active": False}, headers=headers)
    assert response.status_code == 409


def test_the_command_line_deactivates_lists_and_revokes(
    app: Flask, make_user: Callable[..., Any]
) -> None:
    user = make_user("marketer")
    runner = app.test_cli_runner()
    token = runner.invoke(args=["users", "token", user.email, "--name", "crm"]).output.strip()
    listing = runner.invoke(args=["users", "tokens", user.email]).output
    token_id = listing.split("\t")[0]
    assert "crm" in listing and "never used" in listing

    result = runner.invoke(args=["users", "revoke-token", token_id])
    assert result.exit_code == 0, result.output
    assert app.test_client().get("/api/v1/me", headers=_bearer(token)).status_code == 401
    assert runner.invoke(args=["users", "revoke-token", "nope"]).exit_code != 0

    result = runner.invoke(args=["users", "deactivate", user.email])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert get_user_by_email(user.email).active is False

    weak = runner.invoke(args=["users", "set-password", user.email, "--password", "password1234"])
    assert weak.exit_code != 0 and "well-known" in weak.output
    good = runner.invoke(
        args=["users", "set-password", user.email, "--password", "harbour lights at dusk"]
    )
    assert good.exit_code == 0, good.output
