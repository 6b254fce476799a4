"""Invitations over the API and the command line, on the same rules as the users page."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask

from tests.support.services import SmtpCapture
from tests.team_support import link_in, mail_server, outbox, path_of, read_eml, system_mails
from webapp.extensions import db
from webapp.models import Invitation
from webapp.services.users import get_user_by_email

__all__ = ["mail_server", "outbox"]


def test_an_admin_invites_over_the_api_and_never_sees_the_link(
    app: Flask, api_client: Callable[[str], Any], mail_server: SmtpCapture
) -> None:
    client, headers = api_client("admin")
    created = client.post(
        "/api/v1/users", json={"email": "Nieuw@Punthelder.nl", "role": "manager"}, headers=headers
    )
    assert created.status_code == 201, created.json
    body = created.json
    assert (body["email"], body["role"], body["status"], body["mail"]) == (
        "nieuw@punthelder.nl",
        "manager",
        "pending",
        "smtp",
    )
    (mail,) = mail_server.wait_for(1)
    token = link_in(mail.message).rsplit("/", 1)[1]
    assert token not in created.text and "nonce" not in body

    listing = client.get("/api/v1/users", headers=headers).json
    assert [i["email"] for i in listing["invitations"]] == ["nieuw@punthelder.nl"]
    assert all("@" in u["email"] for u in listing["items"])  # the users, as before

    resent = client.post(f"/api/v1/invitations/{body['id']}/resend", headers=headers)
    assert resent.status_code == 200
    (_, second) = mail_server.wait_for(2)
    assert link_in(second.message) != link_in(mail.message)
    assert app.test_client().get(path_of(link_in(mail.message))).status_code == 410

    canceled = client.delete(f"/api/v1/invitations/{body['id']}", headers=headers)
    assert canceled.status_code == 200 and canceled.json["status"] == "canceled"
    assert client.get("/api/v1/users", headers=headers).json["invitations"] == []
    again = client.post(f"/api/v1/invitations/{body['id']}/resend", headers=headers)
    assert again.status_code == 409
    assert client.delete("/api/v1/invitations/nope", headers=headers).status_code == 404


def test_bad_invitations_are_422_on_the_field(
    app: Flask, api_client: Callable[[str], Any], make_user: Callable[..., Any], outbox: Path
) -> None:
    client, headers = api_client("admin")
    existing = make_user("marketer")
    for body, field in (
        ({"email": existing.email, "role": "manager"}, "email"),
        ({"email": "geen adres", "role": "manager"}, "email"),
        ({"email": "a@punthelder.nl", "role": "god"}, "role"),
        ({"email": "a@punthelder.nl"}, "role"),
        ({"email": 5, "role": "admin"}, "email"),
        ({"email": "a@punthelder.nl", "role": "admin", "token": "x"}, "token"),
    ):
        response = client.post("/api/v1/users", json=body, headers=headers)
        assert response.status_code == 422, body
        assert field in response.json["error"]["fields"], body
    assert system_mails(outbox) == []


def test_marketers_and_managers_may_not_invite_or_list_users(
    app: Flask, api_client: Callable[[str], Any], outbox: Path
) -> None:
    admin, admin_headers = api_client("admin")
    invited = admin.post(
        "/api/v1/users", json={"email": "x@punthelder.nl", "role": "admin"}, headers=admin_headers
    ).json
    for role in ("marketer", "manager"):
        client, headers = api_client(role)
        assert client.get("/api/v1/users", headers=headers).status_code == 403
        body = {"email": f"{role}@punthelder.nl", "role": "admin"}
        assert client.post("/api/v1/users", json=body, headers=headers).status_code == 403
        resend = client.post(f"/api/v1/invitations/{invited['id']}/resend", headers=headers)
        assert resend.status_code == 403
        cancel = client.delete(f"/api/v1/invitations/{invited['id']}", headers=headers)
        assert cancel.status_code == 403
    assert len(system_mails(outbox)) == 1


def test_a_refused_mail_saves_no_invitation(
    app: Flask, api_client: Callable[[str], Any], mail_server: SmtpCapture
) -> None:
    client, headers = api_client("admin")
    mail_server.reject("weg@punthelder.nl", 550, "5.1.1 no such user")
    response = client.post(
        "/api/v1/users", json={"email": "weg@punthelder.nl", "role": "manager"}, headers=headers
    )
    assert response.status_code == 409
    assert "nothing was saved" in response.json["error"]["message"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Invitation)) == 0


def test_the_command_line_invites_and_prints_the_link_only_without_a_mail_server(
    app: Flask, outbox: Path
) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "invite", "nieuw@punthelder.nl", "--role", "marketer"])
    assert result.exit_code == 0, result.output
    (path,) = system_mails(outbox)
    assert "the mail is in the outbox" in result.output
    assert link_in(read_eml(path)) in result.output
    listing = runner.invoke(args=["users", "list"]).output
    assert "nieuw@punthelder.nl\tmarketer\tinvited" in listing
    again = runner.invoke(args=["users", "invite", "nieuw@punthelder.nl", "--role", "admin"])
    assert again.exit_code != 0 and "already invited" in again.output
    assert runner.invoke(args=["users", "resend-invitation", "nieuw@punthelder.nl"]).exit_code == 0
    assert len(system_mails(outbox)) == 2
    canceled = runner.invoke(args=["users", "cancel-invitation", "nieuw@punthelder.nl"])
    assert canceled.exit_code == 0, canceled.output
    assert runner.invoke(args=["users", "cancel-invitation", "nieuw@punthelder.nl"]).exit_code != 0


def test_the_command_line_mails_without_printing_the_link(
    app: Flask, mail_server: SmtpCapture
) -> None:
    result = app.test_cli_runner().invoke(
        args=["users", "invite", "nieuw@punthelder.nl", "--role", "manager"]
    )
    assert result.exit_code == 0, result.output
    (mail,) = mail_server.wait_for(1)
    assert "mailed to nieuw@punthelder.nl" in result.output
    assert link_in(mail.message) not in result.output and "/invite/" not in result.output


def test_the_command_line_keeps_the_last_active_admin(
    app: Flask, make_user: Callable[..., Any]
) -> None:
    admin = make_user("admin")
    runner = app.test_cli_runner()
    for args in (
        ["users", "deactivate", admin.email],
        ["users", "set-role", admin.email, "manager"],
    ):
        result = runner.invoke(args=args)
        assert result.exit_code != 0
        assert "There must always be an active admin" in result.output
    db.session.expire_all()
    still = get_user_by_email(admin.email)
    assert (still.role, still.active) == ("admin", True)
    second = make_user("admin")
    assert runner.invoke(args=["users", "set-role", second.email, "manager"]).exit_code == 0
    promoted = runner.invoke(args=["users", "set-role", second.email, "admin"])
    assert promoted.exit_code == 0
    assert runner.invoke(args=["users", "deactivate", admin.email]).exit_code == 0
