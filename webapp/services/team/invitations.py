"""Invitations: an admin asks an address to join with a role; the invitee sets a password.

The link in the mail works once, for INVITATION_DAYS, and only while it is the newest
one sent: a resend draws a new nonce, a cancel or an acceptance closes the invitation.
A link that no longer works says why (`LinkState`).
"""

from __future__ import annotations

import hmac
import re
import secrets
import smtplib
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from flask_babel import gettext as _

from webapp.extensions import db
from webapp.models import Invitation, User
from webapp.models.users import ROLES
from webapp.services.audit import AuditAction, record_action
from webapp.services.errors import Conflict, NotFound
from webapp.services.system_mail import Delivered
from webapp.services.team.links import read_invitation_token
from webapp.services.team.mails import send_invitation_mail
from webapp.services.users import UserError, create_user, get_user_by_email, normalise_email

# How long an invitation link works (a resend starts the days again).
INVITATION_DAYS = 7
MAX_NAME_LENGTH = 200
_ADDRESS = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")


class LinkState(StrEnum):
    """What an invitation link is worth now."""

    OPEN = "open"
    INVALID = "invalid"  # not a link of ours, or its invitation is gone
    ACCEPTED = "accepted"
    CANCELED = "canceled"
    REPLACED = "replaced"  # a newer mail was sent; only its link works
    EXPIRED = "expired"


@dataclass(frozen=True)
class InvitationLink:
    state: LinkState
    invitation: Invitation | None = None


class MailNotSent(Conflict):
    """The mail server refused the mail or could not be reached; nothing was saved."""

    def __init__(self, error: Exception) -> None:
        reason = str(error) or type(error).__name__
        super().__init__(
            _(
                "The mail could not be sent (%(reason)s), so nothing was saved. "
                "Check the mail settings and try again.",
                reason=reason,
            ),
            code="mail_not_sent",
        )


def _new_nonce() -> str:
    return secrets.token_urlsafe(24)


def _checked_address(email: str) -> str:
    email = normalise_email(email)
    if not email:
        raise UserError("email", _("enter an email address"))
    if len(email) > 320 or not _ADDRESS.fullmatch(email):
        raise UserError("email", _("not an email address"))
    return email


def _mail(invitation: Invitation, inviter: User | None) -> Delivered:
    try:
        return send_invitation_mail(invitation, inviter)
    except (smtplib.SMTPException, OSError) as error:
        raise MailNotSent(error) from None


def open_invitation_for(email: str) -> Invitation | None:
    """The invitation still open (perhaps expired) for this address."""
    return db.session.execute(
        db.select(Invitation).where(
            Invitation.email == normalise_email(email),
            Invitation.accepted_at.is_(None),
            Invitation.canceled_at.is_(None),
        )
    ).scalar_one_or_none()


def invite(
    email: str, role: str, inviter: User | None, now: datetime
) -> tuple[Invitation, Delivered]:
    """Invite an address with a role and mail it the link; the caller commits.

    An address that has a user, or an invitation still running, is refused on `email`.
    An expired invitation for the address is closed and replaced.
    """
    email = _checked_address(email)
    if role not in ROLES:
        raise UserError("role", _("must be one of %(choices)s", choices=", ".join(ROLES)))
    if get_user_by_email(email) is not None:
        raise UserError("email", _("a user with this address exists"))
    earlier = open_invitation_for(email)
    if earlier is not None:
        if not earlier.expired(now):
            raise UserError("email", _("this address is already invited; resend that invitation"))
        earlier.canceled_at = now
        db.session.flush()  # before the new row: one open invitation per address
    invitation = Invitation(
        email=email,
        role=role,
        invited_by_id=inviter.id if inviter is not None else None,
        nonce=_new_nonce(),
        sent_at=now,
        expires_at=now + timedelta(days=INVITATION_DAYS),
    )
    db.session.add(invitation)
    db.session.flush()
    record_action(
        AuditAction.INVITATION_SENT,
        "invitation",
        invitation.id,
        inviter.id if inviter is not None else None,
        {"email": email, "role": role},
    )
    return invitation, _mail(invitation, inviter)


def get_invitation(invitation_id: str) -> Invitation:
    invitation = db.session.get(Invitation, invitation_id)
    if invitation is None:
        raise NotFound(_("no such invitation"))
    return invitation


def list_open_invitations() -> list[Invitation]:
    """Invitations neither accepted nor canceled (expired ones too), newest first."""
    return list(
        db.session.execute(
            db.select(Invitation)
            .where(Invitation.accepted_at.is_(None), Invitation.canceled_at.is_(None))
            .order_by(Invitation.created_at.desc(), Invitation.id.desc())
        ).scalars()
    )


def _still_open(invitation: Invitation) -> None:
    if invitation.accepted_at is not None:
        raise Conflict(_("This invitation was accepted already."), code="accepted")
    if invitation.canceled_at is not None:
        raise Conflict(_("This invitation was canceled."), code="canceled")


def resend_invitation(invitation: Invitation, acting: User | None, now: datetime) -> Delivered:
    """Mail a new link, valid INVITATION_DAYS from now; every earlier link stops working."""
    _still_open(invitation)
    invitation.nonce = _new_nonce()
    invitation.sent_at = now
    invitation.expires_at = now + timedelta(days=INVITATION_DAYS)
    db.session.flush()
    record_action(
        AuditAction.INVITATION_RESENT,
        "invitation",
        invitation.id,
        acting.id if acting is not None else None,
        {"email": invitation.email},
    )
    return _mail(invitation, acting)


def cancel_invitation(invitation: Invitation, acting: User | None, now: datetime) -> Invitation:
    """Close the invitation: its link stops working and says it was canceled."""
    if invitation.canceled_at is not None:
        return invitation
    _still_open(invitation)
    invitation.canceled_at = now
    db.session.flush()
    record_action(
        AuditAction.INVITATION_CANCELED,
        "invitation",
        invitation.id,
        acting.id if acting is not None else None,
        {"email": invitation.email},
    )
    return invitation


def read_invitation_link(token: str, now: datetime, lock: bool = False) -> InvitationLink:
    """What this link is worth now, and its invitation when it is ours."""
    found = read_invitation_token(token)
    if found is None:
        return InvitationLink(LinkState.INVALID)
    invitation_id, nonce = found
    query = db.select(Invitation).where(Invitation.id == invitation_id)
    if lock:
        query = query.with_for_update()  # two tabs accepting at once: one waits, then fails
    invitation = db.session.execute(query).scalar_one_or_none()
    if invitation is None:
        return InvitationLink(LinkState.INVALID)
    if invitation.accepted_at is not None:
        return InvitationLink(LinkState.ACCEPTED, invitation)
    if invitation.canceled_at is not None:
        return InvitationLink(LinkState.CANCELED, invitation)
    if not hmac.compare_digest(invitation.nonce.encode(), nonce.encode()):
        return InvitationLink(LinkState.REPLACED, invitation)
    if invitation.expired(now):
        return InvitationLink(LinkState.EXPIRED, invitation)
    return InvitationLink(LinkState.OPEN, invitation)


class LinkClosed(Conflict):
    """The invitation link no longer works; `state` says why."""

    def __init__(self, state: LinkState) -> None:
        super().__init__(_("This invitation link no longer works."), code=f"invitation_{state}")
        self.state = state


def accept_invitation(
    token: str, name: str, password: str, password_repeat: str, now: datetime
) -> User:
    """Make the invited user with the name and password they chose; the link is used up.

    Raises LinkClosed when the link no longer works, UserError naming a field otherwise.
    """
    link = read_invitation_link(token, now, lock=True)
    invitation = link.invitation
    if link.state != LinkState.OPEN or invitation is None:
        raise LinkClosed(link.state)
    name = " ".join(name.split())
    if not name:
        raise UserError("name", _("enter your name"))
    if len(name) > MAX_NAME_LENGTH:
        raise UserError("name", _("must be at most %(max)s characters", max=MAX_NAME_LENGTH))
    if password != password_repeat:
        raise UserError("password_repeat", _("the two passwords differ"))
    user = create_user(invitation.email, password, invitation.role, name=name)
    user.last_login_at = now
    invitation.accepted_at = now
    invitation.user_id = user.id
    db.session.flush()
    record_action(
        AuditAction.INVITATION_ACCEPTED,
        "invitation",
        invitation.id,
        user.id,
        {"email": user.email, "role": user.role},
    )
    return user


def invitation_to_dict(invitation: Invitation, now: datetime) -> dict[str, object]:
    """The API's view of an invitation: never its link or nonce."""

    def iso(moment: datetime | None) -> str | None:
        return moment.isoformat() if moment is not None else None

    if invitation.accepted_at is not None:
        status = "accepted"
    elif invitation.canceled_at is not None:
        status = "canceled"
    else:
        status = "expired" if invitation.expired(now) else "pending"
    return {
        "id": invitation.id,
        "email": invitation.email,
        "role": invitation.role,
        "status": status,
        "invited_by": invitation.invited_by.email if invitation.invited_by else None,
        "created_at": iso(invitation.created_at),
        "sent_at": iso(invitation.sent_at),
        "expires_at": iso(invitation.expires_at),
        "accepted_at": iso(invitation.accepted_at),
        "canceled_at": iso(invitation.canceled_at),
    }
