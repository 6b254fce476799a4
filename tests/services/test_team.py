"""Invitations and password resets: links that work once, expire, and say why they stopped;
and a team that always keeps an active admin."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from tests.conftest import PASSWORD
from tests.team_support import link_in, new_system_mail, outbox, read_eml, system_mails
from webapp.database import utcnow
from webapp.extensions import db
from webapp.models import AuditEvent, Invitation
from webapp.services.errors import Conflict
from webapp.services.team import (
    INVITATION_DAYS,
    RESET_MINUTES,
    LinkClosed,
    LinkState,
    ResetClosed,
    ResetState,
    accept_invitation,
    cancel_invitation,
    invite,
    read_invitation_link,
    read_reset_link,
    resend_invitation,
    reset_password,
    send_password_reset,
)
from webapp.services.users import UserError, authenticate, get_user_by_email, update_user

__all__ = ["outbox"]

NEW_PASSWORD = "lantern over the harbour"


def token_of(path: Path) -> str:
    return link_in(read_eml(path)).rsplit("/", 1)[1]


def invited(outbox: Path, email: str = "nieuw@punthelder.nl", role: str = "marketer") -> str:
    before = system_mails(outbox)
    invite(email, role, None, utcnow())
    db.session.commit()
    return token_of(new_system_mail(outbox, before))


def actions() -> list[str]:
    return list(db.session.execute(sa.select(AuditEvent.action).order_by(AuditEvent.id)).scalars())


def test_an_invitation_mail_is_dutch_by_default_with_a_link_for_seven_days(
    app: Flask, outbox: Path, dutch: None, make_user: Callable[..., Any]
) -> None:
    admin = make_user("admin")
    now = utcnow()
    invitation, delivered = invite(" Nieuw@Punthelder.nl ", "manager", admin, now)
    db.session.commit()
    assert delivered.via == "outbox"
    assert invitation.email == "nieuw@punthelder.nl"
    assert invitation.expires_at == now + timedelta(days=INVITATION_DAYS)
    mail = read_eml(system_mails(outbox)[0])
    assert mail["Subject"] == "Je bent uitgenodigd voor Punthelder Campaigns"
    assert "als manager" in mail.get_body(("plain",)).get_content()
    assert link_in(mail).startswith("http://campaigns.test/invite/")
    assert actions() == ["invitation.sent"]


def test_an_invitation_is_accepted_once(app: Flask, outbox: Path) -> None:
    token = invited(outbox)
    assert read_invitation_link(token, utcnow()).state == LinkState.OPEN
    user = accept_invitation(token, " Nieuwe  Collega ", PASSWORD, PASSWORD, utcnow())
    db.session.commit()
    assert (user.name, user.role, user.email) == (
        "Nieuwe Collega",
        "marketer",
        "nieuw@punthelder.nl",
    )
    assert authenticate(user.email, PASSWORD) is not None
    assert read_invitation_link(token, utcnow()).state == LinkState.ACCEPTED
    with pytest.raises(LinkClosed) as closed:
        accept_invitation(token, "Iemand", NEW_PASSWORD, NEW_PASSWORD, utcnow())
    assert closed.value.state == LinkState.ACCEPTED
    assert actions() == ["invitation.sent", "invitation.accepted"]


def test_an_invitation_expires_after_its_days(app: Flask, outbox: Path) -> None:
    token = invited(outbox)
    invitation = db.session.execute(sa.select(Invitation)).scalar_one()
    just_before = invitation.expires_at - timedelta(seconds=1)
    assert read_invitation_link(token, just_before).state == LinkState.OPEN
    with pytest.raises(LinkClosed) as closed:
        accept_invitation(token, "Te Laat", PASSWORD, PASSWORD, invitation.expires_at)
    assert closed.value.state == LinkState.EXPIRED


def test_a_resend_makes_a_new_link_and_the_old_one_dies(app: Flask, outbox: Path) -> None:
    old = invited(outbox)
    invitation = db.session.execute(sa.select(Invitation)).scalar_one()
    later = utcnow() + timedelta(days=6)
    before = system_mails(outbox)
    resend_invitation(invitation, None, later)
    db.session.commit()
    new = token_of(new_system_mail(outbox, before))
    assert new != old
    assert read_invitation_link(old, later).state == LinkState.REPLACED
    # The days start again from the resend.
    assert read_invitation_link(new, later + timedelta(days=INVITATION_DAYS - 1)).state == "open"
    assert accept_invitation(new, "Nieuw", PASSWORD, PASSWORD, later).role == "marketer"


def test_a_canceled_invitation_link_says_so(app: Flask, outbox: Path) -> None:
    token = invited(outbox)
    invitation = db.session.execute(sa.select(Invitation)).scalar_one()
    cancel_invitation(invitation, None, utcnow())
    db.session.commit()
    assert read_invitation_link(token, utcnow()).state == LinkState.CANCELED
    with pytest.raises(Conflict):
        resend_invitation(invitation, None, utcnow())
    # The address may be invited again, with a link of its own.
    assert invited(outbox) != token


@pytest.mark.parametrize(
    "token", ["", "nonsense", "a" * 400, "eyJ.abc.def", "WyJhIiwiYiJd.forged-signature"]
)
def test_a_link_that_is_not_ours_is_invalid(app: Flask, token: str) -> None:
    assert read_invitation_link(token, utcnow()).state == LinkState.INVALID
    assert read_reset_link(token, utcnow()).state == ResetState.INVALID


def test_an_address_with_a_user_or_an_open_invitation_is_refused_on_the_field(
    app: Flask, outbox: Path, make_user: Callable[..., Any]
) -> None:
    user = make_user("manager")
    with pytest.raises(UserError) as refused:
        invite(user.email.upper(), "marketer", None, utcnow())
    assert refused.value.field == "email"
    invited(outbox)
    with pytest.raises(UserError) as again:
        invite("nieuw@punthelder.nl", "manager", None, utcnow())
    assert again.value.field == "email"
    for email, role, field in (("geen-adres", "marketer", "email"), ("a@b.nl", "god", "role")):
        with pytest.raises(UserError) as bad:
            invite(email, role, None, utcnow())
        assert bad.value.field == field


def test_an_expired_invitation_is_replaced_by_a_new_one(app: Flask, outbox: Path) -> None:
    old = invited(outbox)
    later = utcnow() + timedelta(days=INVITATION_DAYS, minutes=1)
    before = system_mails(outbox)
    invite("nieuw@punthelder.nl", "admin", None, later)
    db.session.commit()
    assert read_invitation_link(old, later).state == LinkState.CANCELED
    new = token_of(new_system_mail(outbox, before))
    assert read_invitation_link(new, later).state == LinkState.OPEN


def test_accepting_keeps_the_password_rules_and_asks_the_password_twice(
    app: Flask, outbox: Path
) -> None:
    token = invited(outbox)
    for name, password, repeat, field in (
        ("", PASSWORD, PASSWORD, "name"),
        ("Nieuw", "short", "short", "password"),
        ("Nieuw", "nieuw@punthelder.nl", "nieuw@punthelder.nl", "password"),
        ("Nieuw", PASSWORD, PASSWORD + "!", "password_repeat"),
    ):
        with pytest.raises(UserError) as refused:
            accept_invitation(token, name, password, repeat, utcnow())
        assert refused.value.field == field
        db.session.rollback()
    assert read_invitation_link(token, utcnow()).state == LinkState.OPEN


def test_a_reset_link_is_mailed_only_to_an_active_user(
    app: Flask, outbox: Path, make_user: Callable[..., Any]
) -> None:
    assert send_password_reset("niemand@punthelder.nl", utcnow()) is None
    user = make_user("manager")
    update_user(user, active=False)
    db.session.commit()
    assert send_password_reset(user.email, utcnow()) is None
    assert system_mails(outbox) == []
    other = make_user("marketer")
    assert send_password_reset(other.email, utcnow()) is not None
    (path,) = system_mails(outbox)
    assert read_eml(path)["To"] == other.email
    assert "/password/reset/" in link_in(read_eml(path))


def test_a_reset_link_works_once_and_ends_every_login(
    app: Flask, outbox: Path, make_user: Callable[..., Any]
) -> None:
    user = make_user("marketer")
    session_before = user.session_token
    send_password_reset(user.email, utcnow())
    token = token_of(system_mails(outbox)[0])
    reset_password(token, NEW_PASSWORD, NEW_PASSWORD, utcnow())
    db.session.commit()
    assert authenticate(user.email, NEW_PASSWORD) is not None
    assert get_user_by_email(user.email).session_token != session_before
    assert read_reset_link(token, utcnow()).state == ResetState.USED
    with pytest.raises(ResetClosed):
        reset_password(token, "another long password", "another long password", utcnow())
    assert "user.password_reset" in actions()


def test_a_reset_link_expires_after_thirty_minutes(
    app: Flask, outbox: Path, make_user: Callable[..., Any]
) -> None:
    user = make_user("marketer")
    sent = utcnow()
    send_password_reset(user.email, sent)
    token = token_of(system_mails(outbox)[0])
    assert RESET_MINUTES == 30
    assert read_reset_link(token, sent + timedelta(minutes=29)).state == ResetState.OPEN
    with pytest.raises(ResetClosed) as closed:
        reset_password(token, NEW_PASSWORD, NEW_PASSWORD, sent + timedelta(minutes=31))
    assert closed.value.state == ResetState.EXPIRED


def test_any_new_password_ends_an_earlier_reset_link(
    app: Flask, outbox: Path, make_user: Callable[..., Any]
) -> None:
    from webapp.services.users import set_password

    user = make_user("marketer")
    send_password_reset(user.email, utcnow())
    token = token_of(system_mails(outbox)[0])
    set_password(user, NEW_PASSWORD)
    db.session.commit()
    assert read_reset_link(token, utcnow()).state == ResetState.USED
    update_user(user, active=False)
    db.session.commit()
    assert read_reset_link(token, utcnow()).state == ResetState.INACTIVE


def test_the_last_active_admin_cannot_be_demoted_or_deactivated(
    app: Flask, make_user: Callable[..., Any]
) -> None:
    admin = make_user("admin")
    for change in ({"role": "marketer"}, {"active": False}):
        with pytest.raises(Conflict) as refused:
            update_user(admin, **change)
        assert refused.value.code == "last_admin"
        db.session.rollback()
        db.session.refresh(admin)
        assert (admin.role, admin.active) == ("admin", True)
    # A deactivated admin does not count; a second active one does.
    spare = make_user("admin")
    update_user(spare, active=False)
    db.session.commit()
    with pytest.raises(Conflict):
        update_user(admin, role="manager")
    db.session.rollback()
    update_user(spare, active=True)
    update_user(admin, role="manager")
    db.session.commit()
    assert [a for a in actions() if a.startswith("user.")] == [
        "user.deactivated",
        "user.reactivated",
        "user.role_changed",
    ]
