"""The users page (admins only) and the public invitation page, through the real forms."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import PASSWORD, csrf_token_from, log_in
from tests.team_support import link_in, new_system_mail, outbox, path_of, read_eml, system_mails
from webapp.database import utcnow
from webapp.extensions import db
from webapp.models import AuditEvent, Invitation, User
from webapp.services.users import get_user_by_email, issue_token

__all__ = ["outbox"]

HTMX = {"HX-Request": "true"}


def post(client: FlaskClient, url: str, **data: str) -> Any:
    return client.post(url, data={"csrf_token": client.csrf, **data}, headers=HTMX)  # type: ignore[attr-defined]


def invite_through_page(
    admin: FlaskClient, outbox: Path, email: str, role: str = "marketer"
) -> str:
    """Invite on the page; returns the link from the mail."""
    before = system_mails(outbox)
    response = post(admin, "/users/invite", email=email, role=role)
    assert response.status_code == 200, response.text
    return link_in(read_eml(new_system_mail(outbox, before)))


def test_only_admins_see_the_users_page_and_its_link(
    app: Flask, login_as: Callable[[str], FlaskClient]
) -> None:
    admin = login_as("admin")
    page = admin.get("/users")
    assert page.status_code == 200
    assert admin.user.email in page.text  # type: ignore[attr-defined]
    assert 'href="/users"' in admin.get("/").text
    for role in ("marketer", "manager"):
        client = login_as(role)
        assert 'href="/users"' not in client.get("/").text
        assert client.get("/users").status_code == 403
        refused = post(client, "/users/invite", email="x@punthelder.nl", role="admin")
        assert refused.status_code == 403
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Invitation)) == 0


def test_an_admin_invites_and_the_invitee_joins_once(
    app: Flask, outbox: Path, login_as: Callable[[str], FlaskClient]
) -> None:
    admin = login_as("admin")
    link = invite_through_page(admin, outbox, "Nieuw@Punthelder.nl", "manager")
    listing = admin.get("/users").text
    assert "nieuw@punthelder.nl" in listing and 'data-status="invited"' in listing
    # The admin sees the mail in the outbox, marked as system mail.
    outbox_page = admin.get("/outbox/").text
    assert "System mail" in outbox_page and "/outbox/system/" in outbox_page

    invitee = app.test_client()
    form = invitee.get(path_of(link))
    assert form.status_code == 200
    assert form.headers["Cache-Control"] == "no-store"
    assert "nieuw@punthelder.nl" in form.text
    accepted = invitee.post(
        path_of(link),
        data={
            "csrf_token": csrf_token_from(form.text),
            "name": "Nieuwe Collega",
            "password": PASSWORD,
            "password_repeat": PASSWORD,
        },
    )
    assert accepted.status_code == 302 and accepted.location == "/"
    dashboard = invitee.get("/")
    assert dashboard.status_code == 200 and "Welcome, Nieuwe Collega" in dashboard.text
    user = get_user_by_email("nieuw@punthelder.nl")
    assert (user.role, user.name, user.last_login_at is not None) == (
        "manager",
        "Nieuwe Collega",
        True,
    )

    # Single use: the same link, in another browser, says it was accepted already.
    again = app.test_client().get(path_of(link))
    assert again.status_code == 410
    assert 'data-state="accepted"' in again.text
    listing = admin.get("/users").text
    assert 'data-status="invited"' not in listing and "Nieuwe Collega" in listing
    actions = set(db.session.execute(sa.select(AuditEvent.action)).scalars())
    assert {"invitation.sent", "invitation.accepted"} <= actions


def test_a_used_link_posted_again_changes_nothing(
    app: Flask, outbox: Path, login_as: Callable[[str], FlaskClient]
) -> None:
    link = invite_through_page(login_as("admin"), outbox, "twee@punthelder.nl")
    first, second = app.test_client(), app.test_client()
    tokens = [csrf_token_from(c.get(path_of(link)).text) for c in (first, second)]
    data = {"name": "Een", "password": PASSWORD, "password_repeat": PASSWORD}
    assert first.post(path_of(link), data={**data, "csrf_token": tokens[0]}).status_code == 302
    late = second.post(path_of(link), data={**data, "name": "Twee", "csrf_token": tokens[1]})
    assert late.status_code == 410
    assert get_user_by_email("twee@punthelder.nl").name == "Een"
    assert second.get("/").status_code == 302  # not logged in


def test_an_expired_canceled_or_replaced_link_says_why(
    app: Flask, outbox: Path, login_as: Callable[[str], FlaskClient]
) -> None:
    admin = login_as("admin")
    expiring = invite_through_page(admin, outbox, "laat@punthelder.nl")
    invitation = db.session.execute(
        sa.select(Invitation).where(Invitation.email == "laat@punthelder.nl")
    ).scalar_one()
    invitation.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    page = app.test_client().get(path_of(expiring))
    assert page.status_code == 410 and 'data-state="expired"' in page.text
    assert "Ask an admin to send it again" in page.text
    assert 'data-status="expired"' in admin.get("/users").text

    before = system_mails(outbox)
    resent = post(admin, f"/users/invitations/{invitation.id}/resend")
    assert resent.status_code == 200 and "the earlier one no longer works" in resent.text
    fresh = link_in(read_eml(new_system_mail(outbox, before)))
    replaced = app.test_client().get(path_of(expiring))
    assert replaced.status_code == 410 and 'data-state="replaced"' in replaced.text
    assert app.test_client().get(path_of(fresh)).status_code == 200

    canceled = post(admin, f"/users/invitations/{invitation.id}/cancel")
    assert canceled.status_code == 200 and "its link no longer works" in canceled.text
    page = app.test_client().get(path_of(fresh))
    assert page.status_code == 410 and 'data-state="canceled"' in page.text
    assert app.test_client().get("/invite/not-a-link").status_code == 404


def test_inviting_an_existing_user_is_a_422_on_the_address(
    app: Flask, outbox: Path, login_as: Callable[[str], FlaskClient], make_user: Callable[..., Any]
) -> None:
    admin = login_as("admin")
    existing = make_user("manager")
    response = post(admin, "/users/invite", email=existing.email, role="marketer")
    assert response.status_code == 422
    assert (
        'id="email-error"' in response.text and "a user with this address exists" in response.text
    )
    bad_role = post(admin, "/users/invite", email="nieuw@punthelder.nl", role="god")
    assert bad_role.status_code == 422 and 'id="role-error"' in bad_role.text
    assert system_mails(outbox) == []
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Invitation)) == 0


def test_the_invitation_form_asks_for_a_name_and_a_good_password(
    app: Flask, outbox: Path, login_as: Callable[[str], FlaskClient]
) -> None:
    link = invite_through_page(login_as("admin"), outbox, "nieuw@punthelder.nl")
    invitee = app.test_client()
    token = csrf_token_from(invitee.get(path_of(link)).text)
    weak = invitee.post(
        path_of(link),
        data={
            "csrf_token": token,
            "name": "N",
            "password": "password1234",
            "password_repeat": "password1234",
        },
    )
    assert weak.status_code == 422 and 'id="password-error"' in weak.text
    differ = invitee.post(
        path_of(link),
        data={
            "csrf_token": token,
            "name": "N",
            "password": PASSWORD,
            "password_repeat": "x" + PASSWORD,
        },
    )
    assert differ.status_code == 422 and 'id="password_repeat-error"' in differ.text
    assert get_user_by_email("nieuw@punthelder.nl") is None
    no_csrf = invitee.post(
        path_of(link), data={"name": "N", "password": PASSWORD, "password_repeat": PASSWORD}
    )
    assert no_csrf.status_code == 400
    assert get_user_by_email("nieuw@punthelder.nl") is None


def test_deactivation_on_the_page_ends_a_live_session_and_a_token_at_once(
    app: Flask, login_as: Callable[[str], FlaskClient], make_user: Callable[..., Any]
) -> None:
    admin = login_as("admin")
    colleague = make_user("marketer")
    token = issue_token(colleague, name="crm")
    db.session.commit()
    browser = app.test_client()
    log_in(browser, colleague.email)
    assert browser.get("/campaigns/").status_code == 200
    bearer = {"Authorization": f"Bearer {token}"}
    assert app.test_client().get("/api/v1/me", headers=bearer).status_code == 200

    response = post(admin, f"/users/{colleague.id}/active", active="0")
    assert response.status_code == 200 and "Deactivated" in response.text
    assert re.search(rf'id="user-{colleague.id}".*?data-status="deactivated"', response.text, re.S)
    sent_away = browser.get("/campaigns/")
    assert sent_away.status_code == 302 and sent_away.location.startswith("/login")
    assert app.test_client().get("/api/v1/me", headers=bearer).status_code == 401

    back = post(admin, f"/users/{colleague.id}/active", active="1")
    assert back.status_code == 200 and "may log in again" in back.text
    assert browser.get("/campaigns/").status_code == 302  # that session stays ended
    assert app.test_client().get("/api/v1/me", headers=bearer).status_code == 401
    actions = list(db.session.execute(sa.select(AuditEvent.action)).scalars())
    assert "user.deactivated" in actions and "user.reactivated" in actions


def test_roles_change_on_the_page_and_an_admin_never_removes_themselves(
    app: Flask, login_as: Callable[[str], FlaskClient], make_user: Callable[..., Any]
) -> None:
    admin = login_as("admin")
    me = admin.user  # type: ignore[attr-defined]
    colleague = make_user("manager")
    promoted = post(admin, f"/users/{colleague.id}/role", role="admin")
    assert promoted.status_code == 200 and "is now admin" in promoted.text
    # The colleague, now an admin too, demotes me; I am a marketer from the next request on.
    other = app.test_client()
    other.csrf = log_in(other, colleague.email)  # type: ignore[attr-defined]
    assert post(other, f"/users/{me.id}/role", role="marketer").status_code == 200
    assert post(admin, f"/users/{colleague.id}/role", role="marketer").status_code == 403
    # The one admin left cannot deactivate or demote themselves: a clear error, no change.
    for action, data in (("active", {"active": "0"}), ("role", {"role": "manager"})):
        refused = post(other, f"/users/{colleague.id}/{action}", **data)
        assert refused.status_code == 409
        assert "cannot change your own role or deactivate yourself" in refused.text
    db.session.expire_all()
    assert (db.session.get(User, colleague.id).role, db.session.get(User, colleague.id).active) == (
        "admin",
        True,
    )
    changes = list(
        db.session.execute(
            sa.select(AuditEvent.details).where(AuditEvent.action == "user.role_changed")
        ).scalars()
    )
    assert [(c["from"], c["to"]) for c in changes] == [("manager", "admin"), ("admin", "marketer")]


def test_system_mail_in_the_outbox_is_for_admins_only(
    app: Flask, outbox: Path, login_as: Callable[[str], FlaskClient]
) -> None:
    admin = login_as("admin")
    invite_through_page(admin, outbox, "nieuw@punthelder.nl")
    (path,) = system_mails(outbox)
    shown = admin.get(f"/outbox/system/{path.stem}")
    assert shown.status_code == 200
    assert "System mail" in shown.text and "/invite/" in shown.text
    for role in ("marketer", "manager"):
        client = login_as(role)
        assert "nieuw@punthelder.nl" not in client.get("/outbox/").text
        assert client.get(f"/outbox/system/{path.stem}").status_code == 403
        assert client.get(f"/outbox/{path.stem}").status_code == 404


def test_the_users_page_and_the_invitation_read_in_dutch(
    app: Flask, outbox: Path, dutch: None, login_as: Callable[[str], FlaskClient]
) -> None:
    admin = login_as("admin")
    page = admin.get("/users").text
    assert "<h1>Gebruikers</h1>" in page and "Uitnodigen" in page
    link = invite_through_page(admin, outbox, "nieuw@punthelder.nl")
    mail = read_eml(system_mails(outbox)[0])
    assert mail["Subject"] == "Je bent uitgenodigd voor Punthelder Campaigns"
    accept = app.test_client().get(path_of(link)).text
    assert "Welkom bij Punthelder Campaigns" in accept and "Maak mijn account aan" in accept
